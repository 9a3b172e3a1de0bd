"""What every published layout gives: the entries of a dataset tree, and how to read its masks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
from PIL import Image, UnidentifiedImageError

from pipeline.anomaly.table import Category
from pipeline.download.imaging import ImageRejected
from pipeline.errors import IlidError
from pipeline.stage import Rejected


class MaskRejected(ImageRejected):
    """A mask that cannot be read; `reason` is the summary's key."""


@dataclass(frozen=True)
class Entry:
    """One image of a dataset tree, as its layout names it."""

    category: str  # the folder or object name as published: metal_nut, candle, kolektorsdd
    split: str  # train or test
    relative: str  # the image's path below ROOT, with /
    image: Path
    mask: Path | None
    defect: str | None  # the published defect type; None when defect-free or when the mask decides


def describe_folder(root: Path, limit: int = 6) -> str:
    """What a folder holds, for the error of a layout that does not match: `a/, b/, c.png (+4 more)`."""
    if not root.is_dir():
        return "no such folder" if not root.exists() else "a file, not a folder"
    names = sorted(f"{path.name}/" if path.is_dir() else path.name for path in root.iterdir())
    if not names:
        return "an empty folder"
    shown = ", ".join(names[:limit])
    return shown + (f" (+{len(names) - limit} more)" if len(names) > limit else "")


def mismatch(name: str, root: Path, expected: str) -> IlidError:
    return IlidError(f"{root}: not a {name} layout: expected {expected}; found {describe_folder(root)}")


def read_mask(path: Path) -> np.ndarray:
    """The mask's pixel values as a 2-D array (class ids for VisA, 0/255 or 0/1 elsewhere)."""
    try:
        with Image.open(path) as image:
            image.load()
            values = np.asarray(image)
    except UnidentifiedImageError:
        raise MaskRejected("mask_not_decodable", "unknown image format") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise MaskRejected("mask_not_decodable", str(error)[:120]) from None
    return values.max(axis=2) if values.ndim == 3 else values


def binary(values: np.ndarray) -> Image.Image:
    """Any nonzero value is the defect: 255; the rest 0 (as VisA's prepare_data.py binarizes)."""
    return Image.fromarray(np.where(values != 0, 255, 0).astype(np.uint8), "L")


class Layout:
    """A published dataset layout: its entries (or rejects), and what its categories and masks mean."""

    name: ClassVar[str]
    title: ClassVar[str]  # how descriptions name the dataset

    def entries(self, root: Path) -> Iterator[Entry | Rejected]:
        raise NotImplementedError

    def planned(self, root: Path, seed: int) -> Iterator[Entry | Rejected]:
        """The entries with their train/test split; layouts without a published split override it."""
        return self.entries(root)

    def category(self, name: str) -> Category:
        raise NotImplementedError

    def defect(self, entry: Entry, mask: np.ndarray | None) -> str | None:
        """The defect type, or None for a defect-free image."""
        return entry.defect


def orphan_masks(masks: dict[str, Path], root: Path) -> Iterator[Rejected]:
    """A reject for each mask no image claimed."""
    for path in sorted(masks.values()):
        yield Rejected("mask_without_image", {"mask": path.relative_to(root).as_posix()})
