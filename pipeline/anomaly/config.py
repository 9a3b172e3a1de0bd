"""What `ilid import` and `ilid mvtec-layout` are asked to do; their defaults live here alone (the CLI
reads them)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class ImportConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    format: str
    root: Path
    output: Path
    images: Path
    source_tag: str = Field(default="", description="Defaults to the format's name.")
    width: int = Field(default=512, gt=0, le=8192)
    height: int = Field(default=512, gt=0, le=8192)
    keep_size: bool = False
    seed: int = 0
    replace: bool = False
    max_pixels: int = Field(default=50_000_000, gt=0)
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, le=64)
    rejects: Path | None = None

    @property
    def tag(self) -> str:
        return self.source_tag or self.format


class LayoutConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    format: str
    root: Path
    out: Path
    seed: int = 0
    resize: tuple[int, int] | None = None
    rejects: Path | None = None
