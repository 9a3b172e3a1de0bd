"""VisA's published layout: `ROOT/<object>/Data/Images/{Normal,Anomaly}/*.JPG`, class-id masks at
`ROOT/<object>/Data/Masks/Anomaly/*.png`, and the 1cls split in `ROOT/split_csv/1cls.csv`
(`object,split,label,image,mask`, paths below ROOT), as VisA's prepare_data.py and anomalib read it.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from pipeline.anomaly.base import Entry, Layout, mismatch, orphan_masks
from pipeline.anomaly.table import VISA, VISA_DEFECT_CLASSES, Category, category_for
from pipeline.errors import IlidError
from pipeline.paths import safe_image_path
from pipeline.stage import Rejected

SAFE_NAME = re.compile(r"[\w][\w.-]*")  # an object folder's name: one path component, not `..`
SPLIT_CSV = Path("split_csv") / "1cls.csv"
COLUMNS = ["object", "split", "label", "image", "mask"]
EXPECTED = "split_csv/1cls.csv and <object>/Data/Images/{Normal,Anomaly}/*.JPG"


class VisA(Layout):
    name = "visa"
    title = "VisA"

    def rows(self, root: Path) -> Iterator[tuple[int, dict[str, str]]]:
        path = root / SPLIT_CSV
        if not path.is_file():
            raise mismatch(self.name, root, EXPECTED)
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            if [name.strip() for name in header] != COLUMNS:
                raise IlidError(f"{path}: line 1: expected the header {','.join(COLUMNS)}, found {header}")
            for line, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) != len(COLUMNS):
                    raise IlidError(f"{path}: line {line}: expected {len(COLUMNS)} fields, found {len(row)}")
                yield line, dict(zip(COLUMNS, (value.strip() for value in row), strict=True))

    def entries(self, root: Path) -> Iterator[Entry | Rejected]:
        masks = {
            path.relative_to(root).as_posix(): path
            for path in sorted(root.glob("*/Data/Masks/Anomaly/*"))
            if path.is_file()
        }
        for line, row in self.rows(root):
            if row["split"] not in ("train", "test") or row["label"] not in ("normal", "anomaly"):
                yield Rejected("bad_split_row", {"line": line, **row})
                continue
            image = safe_image_path(root, row["image"])
            if not SAFE_NAME.fullmatch(row["object"]) or image is None:
                yield Rejected("path_outside_root", {"line": line, **row})
                continue
            if not image.is_file():
                yield Rejected("missing_image", {"line": line, **row})
                continue
            if row["label"] == "normal":
                yield Entry(row["object"], row["split"], row["image"], image, None, None)
                continue
            mask = masks.pop(row["mask"], None)
            if mask is None:
                yield Rejected("missing_mask", {"line": line, **row})
                continue
            yield Entry(row["object"], row["split"], row["image"], image, mask, None)
        yield from orphan_masks(masks, root)

    def category(self, name: str) -> Category:
        return category_for(VISA, name)

    def defect(self, entry: Entry, mask: np.ndarray | None) -> str | None:
        """The classes the mask's ids name in VisA's table, joined with `and`."""
        if mask is None:
            return None
        classes = VISA_DEFECT_CLASSES.get(entry.category, {})
        names = []
        for value in np.unique(mask):
            if value:
                names.append(classes.get(int(value), "defect"))
        names = list(dict.fromkeys(names))
        if "other" in names:
            names[names.index("other")] = "other defect"
        return " and ".join(names) or "defect"
