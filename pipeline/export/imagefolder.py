"""A Hugging Face imagefolder: images beside `metadata.jsonl`, for `load_dataset("imagefolder", ...)`.

Each metadata line holds `file_name` (the image's path relative to the metadata file), `text` (the
caption) and the sample's fields. The sample's own `image` field is left out: `datasets` makes the
`image` column (an `Image` feature) from `file_name`. Split folders named train, val or test become
the dataset's splits.
"""

from __future__ import annotations

from pipeline.export.base import FormatWriter, Item
from pipeline.jsonio import RecordWriter


class ImageFolder(FormatWriter):
    name = "hf"

    def start(self) -> None:
        self.metadata = self.stack.enter_context(RecordWriter(self.folder / "metadata.jsonl"))

    def add(self, item: Item) -> None:
        assert item.image is not None
        relative = f"images/{item.sample.image}"
        self.place_image(item.image, relative)
        row = {key: value for key, value in item.sample.to_json().items() if key != "image"}
        self.metadata.write({**row, "file_name": relative, "text": item.caption})
