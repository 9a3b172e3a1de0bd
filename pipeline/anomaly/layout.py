"""`ilid mvtec-layout`: VisA, KolektorSDD and KolektorSDD2 written in MVTec AD's layout.

`DIR/<category>/train/good`, `test/good`, `test/<defect>`, `ground_truth/<defect>/<mask>`, masks binary
0/255: what anomalib's MVTec datamodule, PatchCore and GLASS's loaders read. The stage runner's
`folder_stage` builds the tree in a temporary folder beside DIR and renames it into place when
complete, so a failed run leaves no half tree.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from pipeline.anomaly.base import Entry, Layout, binary, read_mask
from pipeline.anomaly.config import LayoutConfig
from pipeline.anomaly.registry import layout_for
from pipeline.download.imaging import ImageRejected, decoding
from pipeline.errors import IlidError
from pipeline.jsonio import write_bytes
from pipeline.progress import progress
from pipeline.stage import Rejected, RejectSink, StageSummary, folder_stage


@dataclass(frozen=True)
class Naming:
    """How a layout's files are named in the MVTec tree."""

    defect_folder: str  # VisA's prepare_data.py: `bad`; the KolektorSDD preprocessing: `defect`
    keep_names: bool  # VisA keeps its file names and formats; Kolektor's become PNG
    with_folder: bool = False  # KolektorSDD's names repeat in every kosNN folder: kos01_Part0.png


NAMINGS: dict[str, Naming] = {
    "visa": Naming("bad", keep_names=True),
    "kolektorsdd": Naming("defect", keep_names=False, with_folder=True),
    "kolektorsdd2": Naming("defect", keep_names=False),
}


def parse_size(text: str) -> tuple[int, int]:
    """`500x1240` -> (500, 1240)."""
    width, _, height = text.lower().partition("x")
    try:
        size = int(width), int(height)
    except ValueError:
        raise IlidError(f"--resize {text!r}: expected WIDTHxHEIGHT, e.g. 500x1240") from None
    if not all(0 < side <= 8192 for side in size):
        raise IlidError(f"--resize {text!r}: each side must be between 1 and 8192")
    return size


def decode(data: bytes) -> Image.Image:
    with decoding():
        image = Image.open(io.BytesIO(data))
        image.load()
    return image


def encode(image: Image.Image, suffix: str) -> bytes:
    buffer = io.BytesIO()
    if suffix.lower() in (".jpg", ".jpeg"):
        image.convert("RGB").save(buffer, format="JPEG", quality=95)
    else:
        image.save(buffer, format="PNG")
    return buffer.getvalue()


class TreeWriter:
    def __init__(self, config: LayoutConfig, layout: Layout, naming: Naming, folder: Path):
        self.config = config
        self.layout = layout
        self.naming = naming
        self.folder = folder

    def names(self, entry: Entry) -> tuple[str, str]:
        """The image's and its mask's file names."""
        source = Path(entry.relative)
        if self.naming.keep_names:
            return source.name, entry.mask.name if entry.mask is not None else ""
        stem = f"{source.parent.name}_{source.stem}" if self.naming.with_folder else source.stem
        return f"{stem}.png", f"{stem}_mask.png"

    def write(self, entry: Entry) -> str:
        """Writes the image (and its mask), returns where it went: `train/good`, `test/bad`, ..."""
        values = read_mask(entry.mask) if entry.mask is not None else None
        defect = self.layout.defect(entry, values)
        if defect and entry.split == "train":
            raise ImageRejected("defective_train_image")
        state = self.naming.defect_folder if defect else "good"
        image_name, mask_name = self.names(entry)
        data = entry.image.read_bytes()
        image = decode(data)
        if defect and values is not None and values.shape != (image.height, image.width):
            raise ImageRejected("mask_size_mismatch")
        category = self.folder / entry.category
        target = category / entry.split / state / image_name
        if self.config.resize:
            image = image.resize(self.config.resize, Image.Resampling.BICUBIC)
        if self.config.resize or Path(image_name).suffix.lower() != entry.image.suffix.lower():
            data = encode(image, target.suffix)
        write_bytes(target, data)
        if defect and values is not None:
            mask = binary(values)
            if self.config.resize:
                mask = mask.resize(self.config.resize, Image.Resampling.NEAREST)
            write_bytes(category / "ground_truth" / state / mask_name, encode(mask, ".png"))
        return f"{entry.split}/{state}"


def run_mvtec_layout(config: LayoutConfig) -> StageSummary:
    naming = NAMINGS.get(config.format)
    if naming is None:
        raise IlidError(f"mvtec-layout {config.format!r}: one of {', '.join(NAMINGS)} (mvtec is the layout)")
    layout = layout_for(config.format)
    summary = StageSummary(f"mvtec-layout {config.format}", str(config.root), str(config.out))
    with (
        folder_stage(summary, companions=[config.rejects]) as temporary,
        RejectSink(config.rejects) as rejects,
    ):
        writer = TreeWriter(config, layout, naming, temporary)
        for entry in progress(layout.planned(config.root, config.seed), "mvtec-layout", unit="images"):
            summary.read += 1
            if isinstance(entry, Rejected):
                summary.dropped[entry.reason] += 1
                rejects.write(entry)
                continue
            try:
                placed = writer.write(entry)
            except ImageRejected as error:  # a mask's MaskRejected too
                summary.dropped[error.reason] += 1
                rejects.write(Rejected(error.reason, {"image": entry.relative, "detail": str(error)}))
                continue
            except OSError as error:
                summary.dropped["not_readable"] += 1
                rejects.write(Rejected("not_readable", {"image": entry.relative, "detail": str(error)}))
                continue
            summary.kept += 1
            summary.notes[placed] = summary.notes.get(placed, 0) + 1
    return summary
