"""open_clip's CSV (`--dataset-type csv`): tab-separated, columns `filepath` and `title`.

open_clip opens `filepath` as given, relative to the directory training starts in, so the paths are
absolute: the images' place once the export is complete. Captions are quoted where they hold a tab,
a quote or a line break (pandas reads them back as written).
"""

from __future__ import annotations

import csv

from pipeline.export.base import FormatWriter, Item


class OpenClipCsv(FormatWriter):
    name = "csv"

    def start(self) -> None:
        handle = self.stack.enter_context((self.folder / "ilid.csv").open("w", newline="", encoding="utf-8"))
        self.writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        self.writer.writerow(["filepath", "title"])
        self.final_root = str(self.final.resolve())

    def add(self, item: Item) -> None:
        assert item.image is not None
        relative = f"images/{item.sample.image}"
        self.place_image(item.image, relative)
        self.writer.writerow([f"{self.final_root}/{relative}", item.caption])
