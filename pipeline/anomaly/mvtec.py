"""MVTec AD's layout, and every dataset published in it (MPDD, WFDD, GLASS's MAD sets, HSS-IAD...).

`ROOT/<category>/train/good/*.png`, `ROOT/<category>/test/<defect or good>/*.png`, masks at
`ROOT/<category>/ground_truth/<defect>/<name>_mask.png`, as anomalib's MVTec datamodule reads them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pipeline.anomaly.base import Entry, Layout, mismatch, orphan_masks
from pipeline.anomaly.table import MVTEC, Category, category_for
from pipeline.stage import Rejected

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}
EXPECTED = "<category>/train/good/*.png and <category>/test/<defect>/*.png"


def images_in(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


class MVTec(Layout):
    name = "mvtec"
    title = "MVTec AD"

    def categories(self, root: Path) -> list[Path]:
        found = (
            sorted(path for path in root.iterdir() if (path / "train").is_dir() or (path / "test").is_dir())
            if root.is_dir()
            else []
        )
        if not found:
            raise mismatch(self.name, root, EXPECTED)
        return found

    def entries(self, root: Path) -> Iterator[Entry | Rejected]:
        for folder in self.categories(root):
            category = folder.name
            truth = folder / "ground_truth"
            masks = {
                f"{state.name}/{path.name}": path
                for state in sorted(truth.iterdir() if truth.is_dir() else [])
                if state.is_dir()
                for path in images_in(state)
            }
            for split in ("train", "test"):
                states = sorted(p for p in (folder / split).glob("*") if p.is_dir())
                for state in states:
                    for image in images_in(state):
                        relative = image.relative_to(root).as_posix()
                        if state.name == "good":
                            yield Entry(category, split, relative, image, None, None)
                            continue
                        mask = masks.pop(f"{state.name}/{image.stem}_mask.png", None)
                        if mask is None:
                            yield Rejected("missing_mask", {"image": relative})
                            continue
                        yield Entry(category, split, relative, image, mask, state.name)
            yield from orphan_masks(masks, root)

    def category(self, name: str) -> Category:
        return category_for(MVTEC, name)
