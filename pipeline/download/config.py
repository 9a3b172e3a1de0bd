"""What the download stage is told, and the one place its defaults live (the CLI reads them here).

Kept apart from the stage, the fetcher and the imaging code, so that reading a default imports neither
requests nor Pillow.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.errors import IlidError
from pipeline.httputil import DEFAULT_USER_AGENT
from pipeline.manifest import manifest_for

# Decoding, converting and resizing an image peaks near 15 bytes a pixel (RGBA: the decoded image,
# the composite over white, the RGB copy): 64 M pixels in flight keep a download near 1 GB whatever
# the images, while sixteen 2000 x 2000 photos still decode side by side.
PIXELS_IN_FLIGHT = 64_000_000


class FetchConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    timeout: float = Field(default=20.0, gt=0, description="seconds for a whole attempt")
    retries: int = Field(default=3, ge=0)
    backoff: float = Field(default=1.0, ge=0, description="first retry's wait; doubles each time")
    per_host: int = Field(default=8, ge=1)
    max_bytes: int = Field(default=20_000_000, gt=0)
    max_redirects: int = Field(default=5, ge=0)
    user_agent: str = DEFAULT_USER_AGENT
    respect_noai: bool = True


class DownloadConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    dataset: Path
    folder: Path
    downloaded: Path
    width: int = Field(default=512, gt=0, le=8192)
    height: int = Field(default=512, gt=0, le=8192)
    replace: bool = False
    workers: int = Field(default=16, ge=1, le=256)
    max_pixels: int = Field(default=50_000_000, gt=0)
    pixels_in_flight: int = Field(default=PIXELS_IN_FLIGHT, gt=0)
    fallback: str | None = None
    fetch: FetchConfig = FetchConfig()

    @field_validator("fallback")
    @classmethod
    def _has_placeholder(cls, value: str | None) -> str | None:
        if value is not None and "{url}" not in value:
            raise IlidError(f"--fallback {value!r}: the template needs a {{url}} placeholder")
        return value

    @property
    def manifest(self) -> Path:
        return manifest_for(self.downloaded)

    @property
    def failures(self) -> Path:
        return Path(f"{self.downloaded}.failures.jsonl")
