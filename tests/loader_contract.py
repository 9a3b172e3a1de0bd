"""What kenomo/industrial-clip's ILID loader requires of a folder, re-implemented for the tests.

`industrial_clip/datasets/ilid.py` reads `<root>/ilid/ilid.json` whole as one JSON array, and builds
a dassl `Datum` per sample with a non-empty label from `<root>/ilid/images/<image>`; `Datum` asserts
that the file exists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson


def load_industrial_clip(root: Path, label_tag: str = "label_short") -> list[dict[str, Any]]:
    dataset_dir = root / "ilid"
    dataset = orjson.loads((dataset_dir / "ilid.json").read_bytes())
    assert isinstance(dataset, list)
    for item in dataset:
        if item[label_tag]:
            assert (dataset_dir / "images" / item["image"]).is_file(), item["image"]
    return dataset
