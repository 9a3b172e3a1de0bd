"""Where the downloaded samples go, so that a download leaves a folder industrial-clip loads as is.

industrial-clip reads `<root>/ilid/ilid.json` and `<root>/ilid/images/<image>`, and stops at the first
listed image that is missing. So the samples whose image is on disk are written as `ilid.json` beside
the images folder (`--folder data/ilid/images` -> `data/ilid/ilid.json`), and the full metadata, dead
URLs included, stays in the `--dataset` file: the download refuses to write over it (ILID's own
download.py did, by default, and the samples of dead URLs were gone for good).
"""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import IlidError

LOADER_FILE = "ilid.json"


def default_downloaded(folder: Path) -> Path:
    return folder.parent / LOADER_FILE


def check_keeps_dataset(dataset: Path, downloaded: Path) -> None:
    if dataset.resolve() == downloaded.resolve():
        raise IlidError(
            f"--dataset {dataset}: the downloaded samples would overwrite it and the samples of dead "
            f"URLs would be lost; keep the full metadata under another name (e.g. "
            f"{dataset.with_name(dataset.stem + '_full.json')}) or give another --dataset-downloaded"
        )
