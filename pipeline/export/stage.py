"""The export run: read the dataset once, caption and split each sample, feed the format's writers.

The stage runner's `folder_stage` builds the export in a temporary folder beside `--out` and renames
it into place at the end, so `--out` is either the previous complete export or the new one, never half
of one; a folder that is not a previous export is never replaced.
"""

from __future__ import annotations

import os
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

from pipeline.errors import IlidError
from pipeline.export import FORMATS
from pipeline.export.base import FormatWriter, Item, locate_image
from pipeline.export.captions import Captioner
from pipeline.export.config import ExportConfig
from pipeline.export.splits import Splitter, parse_split, read_clusters
from pipeline.jsonio import JsonReader, read_valid
from pipeline.progress import stream_progress
from pipeline.records import Sample
from pipeline.stage import StageSummary, folder_stage


def run_export(config: ExportConfig) -> StageSummary:
    writer_class = FORMATS.get(config.format)
    if writer_class is None:
        raise IlidError(f"unknown export format {config.format!r} (one of: {', '.join(FORMATS)})")
    if writer_class.needs_images:
        if config.images is None:
            raise IlidError(f"export {config.format}: --images is needed (the downloaded images folder)")
        if not config.images.is_dir():
            raise IlidError(f"--images {config.images}: no such folder")
    captioner = Captioner(config.captions)
    splitter = None
    if config.split:
        clusters = config.clusters_file()
        splitter = Splitter(
            parse_split(config.split), config.seed, read_clusters(clusters) if clusters else {}
        )
    summary = StageSummary("export", str(config.dataset), str(config.out))
    with folder_stage(summary) as temporary:
        write_export(config, writer_class, captioner, splitter, temporary, summary)
    return summary


def write_export(
    config: ExportConfig,
    writer_class: type[FormatWriter],
    captioner: Captioner,
    splitter: Splitter | None,
    temporary: Path,
    summary: StageSummary,
) -> None:
    placed: Counter[str] = Counter()
    per_split: Counter[str] = Counter()
    with ExitStack() as stack:
        writers: dict[str | None, FormatWriter] = {}

        def writer(name: str | None) -> FormatWriter:
            """The split's writer, opened at its first sample: a split with none has no folder (an
            empty split folder is one `datasets` refuses to load)."""
            if name not in writers:
                folder, final = (temporary / name, config.out / name) if name else (temporary, config.out)
                writers[name] = stack.enter_context(writer_class(folder, final, config.shard_size, placed))
            return writers[name]

        if not splitter:
            writer(None)
        images_root = str(config.images.resolve()) if writer_class.needs_images and config.images else None
        reader = JsonReader(config.dataset)
        for index, sample in enumerate(
            stream_progress(read_valid(config.dataset, Sample, reader), reader, "export")
        ):
            summary.read += 1
            caption = captioner.caption(sample.to_json(), f"{config.dataset}: record {index}")
            if caption is None:
                summary.dropped["no_caption"] += 1
                continue
            image = None
            if images_root is not None:
                image = locate_image(images_root, sample.image)
                if image is None:
                    summary.dropped["unsafe_image_path"] += 1
                    continue
                if not os.path.isfile(image):
                    summary.dropped["image_missing"] += 1
                    continue
            split = splitter.assign(sample.id) if splitter else None
            writer(split).add(Item(sample, caption, image))
            summary.kept += 1
            if split:
                per_split[split] += 1
    summary.notes.update({"format": config.format, **{f"split {k}": v for k, v in per_split.items()}})
    summary.notes.update(placed)
