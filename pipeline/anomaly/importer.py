"""`ilid import`: each image of a published anomaly-detection layout becomes a dataset sample.

Images go through the download stage's fit, pad and PNG code (or keep their size); a mask is
binarized and given the image's exact geometry: resized nearest-neighbour to the same fitted size and
padded by the same edge-replication rule. A padded margin of the image repeats the edge pixel beside
it, so the mask's margin repeats the mask's edge: every mask pixel then says whether the image pixel
at the same place shows the defect, and nearest-neighbour copies keep the values 0 and 255.
"""

from __future__ import annotations

import io
import uuid
from collections import Counter, deque
from collections.abc import Generator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from PIL import ExifTags, Image

from pipeline.anomaly.base import Entry, Layout, MaskRejected, binary, read_mask
from pipeline.anomaly.config import ImportConfig
from pipeline.anomaly.registry import layout_for
from pipeline.download.imaging import (
    ImageRejected,
    encode_png,
    fit_size,
    pad_replicating_edges,
    prepare_image,
)
from pipeline.jsonio import RecordWriter, write_bytes
from pipeline.postfilter import folder_name_for
from pipeline.progress import progress
from pipeline.records import AnomalySample
from pipeline.stage import Rejected, RejectSink, StageSummary, stage_run


def fit_mask(mask: Image.Image, width: int, height: int) -> Image.Image:
    """The binary mask in the geometry `prepare_image` gives its image (see the module's docstring)."""
    fitted = fit_size(mask.width, mask.height, width, height)
    if mask.size != fitted:
        mask = mask.resize(fitted, Image.Resampling.NEAREST)
    return pad_replicating_edges(mask.convert("RGB"), width, height).convert("L")


def header_size(data: bytes) -> tuple[int, int]:
    """The image's size as it is shown: EXIF orientations 5 to 8 turn it a quarter, as `prepare_image`
    turns the pixels."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            turned = image.getexif().get(ExifTags.Base.Orientation) in (5, 6, 7, 8)
            return (height, width) if turned else (width, height)
    except Exception:  # prepare_image names the problem
        return 1, 1


def words(name: str) -> str:
    return name.replace("_", " ").strip()


def caption(layout: Layout, entry: Entry, defect: str | None) -> dict[str, Any]:
    """label_short, label_long, description, material and finish, from the same facts."""
    category = layout.category(entry.category)
    label_long = f"{category.object} with {words(defect)}" if defect else f"defect-free {category.object}"
    article = "an" if label_long[0] in "aeiou" else "a"
    description = f"An inspection image of {article} {label_long}"
    if category.material:
        description += f", made of {category.material}"
    description += f", from the {entry.split} split of {layout.title}."
    return {
        "label_short": category.object,
        "label_long": label_long,
        "description": description,
        "material": category.material,
        "material_finish": category.finish,
    }


@dataclass(frozen=True)
class Imported:
    sample: AnomalySample
    written: bool  # False: its image (and mask) were on disk from an earlier run


class Importer:
    def __init__(self, config: ImportConfig):
        self.config = config
        self.layout = layout_for(config.format)

    def sample(self, entry: Entry, defect: str | None, has_mask: bool) -> AnomalySample:
        url = f"{self.config.tag}:{entry.relative}"
        identifier = str(uuid.uuid5(uuid.NAMESPACE_URL, url))
        labels = caption(self.layout, entry, defect)
        folder = folder_name_for(labels["label_short"]) or "unnamed"
        return AnomalySample(
            id=identifier,
            image=f"{folder}/{identifier}.png",
            url=url,
            source=self.config.tag,
            split=entry.split,
            defect=defect,
            mask=f"{folder}/{identifier}_mask.png" if defect and has_mask else None,
            **labels,
        )

    def process(self, entry: Entry) -> Imported | Rejected:
        config = self.config
        where = {"image": entry.relative}
        values = None
        if entry.mask is not None:
            try:
                values = read_mask(entry.mask)
            except MaskRejected as error:
                return Rejected(error.reason, {**where, "detail": str(error)})
        sample = self.sample(entry, self.layout.defect(entry, values), values is not None)
        image_path = config.images / sample.image
        mask_path = config.images / sample.mask if sample.mask else None
        if not config.replace and image_path.exists() and (mask_path is None or mask_path.exists()):
            return Imported(sample, written=False)
        try:
            data = entry.image.read_bytes()
        except OSError as error:
            return Rejected("not_readable", {**where, "detail": error.strerror})
        width, height = header_size(data) if config.keep_size else (config.width, config.height)
        try:
            prepared = prepare_image(data, width, height, config.max_pixels)
        except ImageRejected as error:
            return Rejected(error.reason, {**where, "detail": str(error)})
        if values is not None and values.shape != (prepared.source_height, prepared.source_width):
            mask_height, mask_width = values.shape
            detail = (
                f"image {prepared.source_width}x{prepared.source_height}, mask {mask_width}x{mask_height}"
            )
            return Rejected("mask_size_mismatch", {**where, "detail": detail})
        write_bytes(image_path, prepared.png)
        if mask_path is not None and values is not None:
            write_bytes(mask_path, encode_png(fit_mask(binary(values), width, height)))
        return Imported(sample, written=True)

    def results(self) -> Generator[Imported | Rejected, None, None]:
        """Results in the layout's order, with a bounded number of images in flight."""
        limit = self.config.workers * 4
        with ThreadPoolExecutor(self.config.workers, thread_name_prefix="import") as pool:
            pending: deque[Future[Imported | Rejected] | Rejected] = deque()
            try:
                for entry in self.layout.planned(self.config.root, self.config.seed):
                    pending.append(entry if isinstance(entry, Rejected) else pool.submit(self.process, entry))
                    while len(pending) >= limit or (pending and isinstance(pending[0], Rejected)):
                        yield resolve(pending.popleft())
                while pending:
                    yield resolve(pending.popleft())
            finally:
                for future in pending:
                    if isinstance(future, Future):
                        future.cancel()


def resolve(item: Future[Imported | Rejected] | Rejected) -> Imported | Rejected:
    return item if isinstance(item, Rejected) else item.result()


def run_import(config: ImportConfig) -> StageSummary:
    """Under the stage runner (the dataset file and the images folder locked): writes the samples
    atomically, the rejects when asked, and `<output>.stats.json`."""
    summary = StageSummary(f"import {config.format}", str(config.root), str(config.output))
    importer = Importer(config)
    counts: Counter[str] = Counter()
    with (
        stage_run(summary, folders=[config.images], companions=[config.rejects]),
        RejectSink(config.rejects) as rejects,
        RecordWriter(config.output) as writer,
        closing(importer.results()) as results,
    ):
        for result in progress(results, f"import {config.format}", unit="images"):
            summary.read += 1
            if isinstance(result, Rejected):
                summary.dropped[result.reason] += 1
                rejects.write(result)
                continue
            writer.write(result.sample)
            summary.kept += 1
            counts["written" if result.written else "present"] += 1
            counts["masks"] += result.sample.mask is not None
        summary.notes.update({name: counts[name] for name in ("written", "present", "masks")})
    return summary
