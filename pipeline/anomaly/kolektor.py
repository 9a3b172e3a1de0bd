"""KolektorSDD (`ROOT/kosNN/PartK.jpg` with `PartK_label.bmp`) and KolektorSDD2
(`ROOT/{train,test}/NNNNN.png` with `NNNNN_GT.png`): an image is defective when its mask has any
nonzero pixel, as anomalib's Kolektor datamodule decides.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from pipeline.anomaly.base import Entry, Layout, MaskRejected, mismatch, orphan_masks, read_mask
from pipeline.anomaly.table import KOLEKTORSDD, KOLEKTORSDD2, Category
from pipeline.stage import Rejected


class MaskDecides(Layout):
    def defect(self, entry: Entry, mask: np.ndarray | None) -> str | None:
        return "defect" if mask is not None and bool(mask.any()) else None


class KolektorSDD(MaskDecides):
    name = "kolektorsdd"
    title = "KolektorSDD"

    def entries(self, root: Path) -> Iterator[Entry | Rejected]:
        folders = sorted(p for p in root.glob("kos*") if p.is_dir()) if root.is_dir() else []
        if not any(folder.glob("*.jpg") for folder in folders):
            raise mismatch(self.name, root, "kosNN/PartK.jpg with kosNN/PartK_label.bmp")
        for folder in folders:
            masks = {path.name: path for path in sorted(folder.glob("*_label.bmp"))}
            for image in sorted(folder.glob("*.jpg")):
                relative = image.relative_to(root).as_posix()
                mask = masks.pop(f"{image.stem}_label.bmp", None)
                if mask is None:
                    yield Rejected("missing_mask", {"image": relative})
                    continue
                yield Entry(self.name, "", relative, image, mask, None)
            yield from orphan_masks(masks, root)

    def planned(self, root: Path, seed: int) -> Iterator[Entry | Rejected]:
        """KolektorSDD publishes no split. As the published KolektorSDD-to-MVTec preprocessing: every
        defective part to test, as many defect-free parts to test, the rest to train; but the
        defect-free parts are shuffled with `seed`, so the split is the same on every run."""
        defective: list[Entry] = []
        clean: list[Entry] = []
        for entry in self.entries(root):
            if isinstance(entry, Rejected):
                yield entry
                continue
            assert entry.mask is not None
            try:
                mask = read_mask(entry.mask)
            except MaskRejected as error:
                yield Rejected(error.reason, {"image": entry.relative, "detail": str(error)})
                continue
            (defective if self.defect(entry, mask) else clean).append(entry)
        random.Random(seed).shuffle(clean)
        held_out = len(defective)
        for entry in sorted(defective + clean[:held_out], key=lambda entry: entry.relative):
            yield dataclasses.replace(entry, split="test")
        for entry in sorted(clean[held_out:], key=lambda entry: entry.relative):
            yield dataclasses.replace(entry, split="train")

    def category(self, name: str) -> Category:
        return KOLEKTORSDD


class KolektorSDD2(MaskDecides):
    name = "kolektorsdd2"
    title = "KolektorSDD2"

    def entries(self, root: Path) -> Iterator[Entry | Rejected]:
        splits = [root / "train", root / "test"]
        if not any(folder.is_dir() and any(folder.glob("*_GT.png")) for folder in splits):
            raise mismatch(self.name, root, "train/NNNNN.png and test/NNNNN.png with NNNNN_GT.png")
        for folder in splits:
            masks = {path.name: path for path in sorted(folder.glob("*_GT.png"))}
            for image in sorted(folder.glob("*.png")):
                if image.name.endswith("_GT.png"):
                    continue
                relative = image.relative_to(root).as_posix()
                mask = masks.pop(f"{image.stem}_GT.png", None)
                if mask is None:
                    yield Rejected("missing_mask", {"image": relative})
                    continue
                yield Entry(self.name, folder.name, relative, image, mask, None)
            yield from orphan_masks(masks, root)

    def category(self, name: str) -> Category:
        return KOLEKTORSDD2
