"""What `ilid export` is asked to do; its defaults live here alone (the CLI reads them)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from pipeline.curate.config import clusters_for


class ExportConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    format: str
    dataset: Path
    out: Path
    images: Path | None = None
    captions: tuple[str, ...] = ("label_long",)
    split: str | None = None
    seed: int = 0
    clusters: Path | None = None
    shard_size: int = Field(default=10_000, gt=0)

    def clusters_file(self) -> Path | None:
        """`--clusters`, else curate's `<dataset>.clusters.jsonl` when it exists."""
        if self.clusters is not None:
            return self.clusters
        default = clusters_for(self.dataset)
        return default if default.is_file() else None
