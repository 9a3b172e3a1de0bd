"""`ilid export FORMAT`: the dataset in the layouts trainers read. One module per format."""

from __future__ import annotations

from pipeline.export.base import FormatWriter
from pipeline.export.csv_table import OpenClipCsv
from pipeline.export.imagefolder import ImageFolder
from pipeline.export.industrial_clip import IndustrialClip
from pipeline.export.parquet import Img2DatasetParquet
from pipeline.export.shards import WebDatasetShards

FORMATS: dict[str, type[FormatWriter]] = {
    writer.name: writer
    for writer in (IndustrialClip, WebDatasetShards, ImageFolder, OpenClipCsv, Img2DatasetParquet)
}
