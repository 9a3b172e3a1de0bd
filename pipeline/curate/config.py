"""What the curate stage is told, and the one place its defaults live (the CLI reads them here)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from pipeline.manifest import manifest_for

# Chosen in benchmarks/curate.py on 135 product photos and their copies: the largest distance at which
# no two different pictures matched (bar two demo drawings of one bar at two lengths); it finds 81% of
# the copies (every PNG re-encode, 87% of JPEG q50, 89% of half-size ones). See the README.
DEFAULT_NEAR_DISTANCE = 6


class CurateRules(BaseModel):
    model_config = ConfigDict(frozen=True)

    near_distance: int = Field(default=DEFAULT_NEAR_DISTANCE, ge=0, le=32)
    placeholder_min: int = Field(default=3, ge=2)
    min_side: int = Field(default=128, ge=1)
    max_aspect: float = Field(default=4.0, ge=1.0)


class CurateConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    dataset: Path
    images: Path
    output: Path
    rules: CurateRules = CurateRules()
    rejects: Path | None = None

    @property
    def manifest(self) -> Path:
        return manifest_for(self.dataset)

    @property
    def clusters(self) -> Path:
        return clusters_for(self.output)


def clusters_for(dataset: Path) -> Path:
    return Path(f"{dataset}.clusters.jsonl")
