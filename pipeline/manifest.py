"""The download manifest beside a dataset: per id, the source image's size and the sha256 of its bytes.

`ilid download` writes `<downloaded>.manifest.jsonl`; `ilid curate` writes the kept samples' entries
to `<curated>.manifest.jsonl`, so `stats`, `report` and `export` find them beside either file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.jsonio import journal_entries


def manifest_for(dataset: Path) -> Path:
    return Path(f"{dataset}.manifest.jsonl")


def read_manifest(dataset: Path) -> dict[str, dict[str, Any]]:
    """Manifest entries by id; empty when no manifest lies beside the dataset."""
    path = manifest_for(dataset)
    if not path.exists():
        return {}
    return {entry["id"]: entry for entry in journal_entries(path) if "id" in entry}


def source_size(entry: dict[str, Any] | None) -> tuple[int, int] | None:
    if entry and isinstance(entry.get("width"), int) and isinstance(entry.get("height"), int):
        return entry["width"], entry["height"]
    return None
