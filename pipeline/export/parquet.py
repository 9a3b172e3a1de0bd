"""A parquet file of `url`, `caption` and `id` to hand a large download to img2dataset
(`--input_format parquet --url_col url --caption_col caption --save_additional_columns '["id"]'`),
whose Spark and Ray distributors spread it over many machines. No images are needed."""

from __future__ import annotations

from typing import Any

from pipeline.export.base import FormatWriter, Item

ROWS_PER_GROUP = 50_000


class Img2DatasetParquet(FormatWriter):
    name = "img2dataset"
    needs_images = False

    def start(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.schema = pa.schema([("url", pa.string()), ("caption", pa.string()), ("id", pa.string())])
        self.writer = self.stack.enter_context(pq.ParquetWriter(self.folder / "ilid.parquet", self.schema))
        self.rows: dict[str, list[Any]] = {"url": [], "caption": [], "id": []}

    def add(self, item: Item) -> None:
        self.rows["url"].append(item.sample.url)
        self.rows["caption"].append(item.caption)
        self.rows["id"].append(item.sample.id)
        if len(self.rows["id"]) >= ROWS_PER_GROUP:
            self.flush()

    def flush(self) -> None:
        import pyarrow as pa

        if self.rows["id"]:
            self.writer.write_table(pa.table(self.rows, schema=self.schema))
            self.rows = {"url": [], "caption": [], "id": []}

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        if kind is None:
            self.flush()
        super().__exit__(kind, error, traceback)
