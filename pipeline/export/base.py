"""What every export format shares: one writer per output folder (one per split), fed sample by sample."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import ClassVar

from pipeline.records import Sample


@dataclass
class Item:
    """A sample on its way out: its caption, and its image on disk (None for formats without images)."""

    sample: Sample
    caption: str
    image: str | None


class FormatWriter:
    """Writes one folder of a format. `folder` is where files go now (inside the export's temporary
    folder); `final` is where that folder will be once the export is complete, for formats that
    write absolute paths."""

    name: ClassVar[str]
    needs_images: ClassVar[bool] = True

    def __init__(self, folder: Path, final: Path, shard_size: int, placed: Counter[str]):
        self.folder = folder
        self.root = str(folder)
        self.final = final
        self.shard_size = shard_size
        self.placed = placed  # "linked" / "copied" counts, shared by every writer of the export
        self.stack = ExitStack()

    def start(self) -> None:
        """Opens the files; called once before the first `add`."""

    def add(self, item: Item) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """Writes what can only be written once every sample is in (an index, sizes)."""

    def __enter__(self) -> FormatWriter:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stack.__exit__(kind, error, traceback)
        if kind is None:
            self.finish()

    def place_image(self, source: str, relative: str) -> None:
        """A hard link to `source` at `folder/relative` (no bytes copied; a later `download --replace`
        writes a new file and leaves the export's alone), or a copy across file systems."""
        target = os.path.join(self.root, relative)
        try:
            link_or_copy(source, target, self.placed)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            link_or_copy(source, target, self.placed)


def link_or_copy(source: str, target: str, placed: Counter[str]) -> None:
    try:
        os.link(source, target)
        placed["linked"] += 1
    except FileExistsError:
        pass  # two samples sharing one image file
    except FileNotFoundError:
        raise
    except OSError:  # another file system, or links not allowed
        shutil.copyfile(source, target)
        placed["copied"] += 1


def locate_image(root: str, image: str) -> str | None:
    """`root/image` with its links resolved, or None when `image` is empty, absolute, climbs out of
    `root`, or leads out of it through a symbolic link. `root` is resolved already. The path string is
    checked first, and only then resolved: this runs once per sample."""
    if not image or "\x00" in image or image.startswith("/") or ".." in image.split("/"):
        return None
    path = os.path.realpath(os.path.join(root, image))
    return path if path == root or path.startswith(root + os.sep) else None
