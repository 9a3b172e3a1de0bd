"""WebDataset tar shards `shard-000000.tar`, ... as open_clip's `--dataset-type webdataset` reads them.

Each sample is `<key>.png` (the image bytes as on disk), `<key>.txt` (the caption) and `<key>.json`
(every field). `sizes.json` maps each shard's file name to its sample count: open_clip's
`get_dataset_size` sums it for the shards it is given, so `--train-num-samples` can be left out.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

from pipeline.export.base import FormatWriter, Item
from pipeline.jsonio import write_json


def sample_key(sample_id: str) -> str:
    """WebDataset splits a member name at its first dot: keys have none (nor slashes)."""
    return sample_id.replace(".", "_").replace("/", "_")


class WebDatasetShards(FormatWriter):
    name = "webdataset"

    def start(self) -> None:
        import webdataset

        pattern = str(self.folder / "shard-%06d.tar")
        self.writer = self.stack.enter_context(
            # A whole-second mtime: a float one costs each member an extra pax header (twice the time).
            webdataset.ShardWriter(
                pattern, maxcount=self.shard_size, maxsize=float("inf"), verbose=0, mtime=int(time.time())
            )
        )
        self.sizes: Counter[str] = Counter()

    def add(self, item: Item) -> None:
        assert item.image is not None
        extension = os.path.splitext(item.image)[1].lower().lstrip(".") or "png"
        with open(item.image, "rb") as handle:
            data = handle.read()
        self.writer.write(
            {
                "__key__": sample_key(item.sample.id),
                extension: data,
                "txt": item.caption,
                "json": item.sample.to_json(),
            }
        )
        self.sizes[Path(self.writer.fname).name] += 1

    def finish(self) -> None:
        write_json(self.folder / "sizes.json", dict(sorted(self.sizes.items())))
