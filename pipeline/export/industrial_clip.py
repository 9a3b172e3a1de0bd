"""kenomo/industrial-clip's layout: `ilid/ilid.json` (one JSON array, read whole) and `ilid/images/<image>`.

Its loader (`industrial_clip/datasets/ilid.py`) joins `images/` and each sample's `image`, and dassl's
`Datum` asserts that the file exists, so only samples with an image are listed. The samples keep all
their fields: the loader picks its label field (`DATASET.LABEL_TAG`, `label_short` by default).
"""

from __future__ import annotations

from pipeline.export.base import FormatWriter, Item
from pipeline.jsonio import RecordWriter


class IndustrialClip(FormatWriter):
    name = "industrial-clip"

    def start(self) -> None:
        self.records = self.stack.enter_context(RecordWriter(self.folder / "ilid" / "ilid.json"))

    def add(self, item: Item) -> None:
        assert item.image is not None
        self.place_image(item.image, f"ilid/images/{item.sample.image}")
        self.records.write(item.sample)
