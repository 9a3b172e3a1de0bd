"""The download stage: fetch every sample's image and write it where the dataset says.

Workers run in a thread pool (network waits and Pillow's decode/resize/encode release the GIL), with
a bounded number of samples in flight so memory does not grow with the dataset. Images already on
disk are skipped without a request, and each written image is journaled to the manifest at once, so
a killed run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.download.fetch import FetchConfig, Fetcher, FetchFailed
from pipeline.download.imaging import ImageRejected, prepare_image
from pipeline.errors import IlidError
from pipeline.jsonio import (
    JsonReader,
    RecordWriter,
    journal_entries,
    open_journal,
    read_valid,
    read_valid_with_text,
    write_bytes,
)
from pipeline.progress import progress
from pipeline.records import Sample
from pipeline.stage import StageSummary, finish


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
        return Path(f"{self.downloaded}.manifest.jsonl")

    @property
    def failures(self) -> Path:
        return Path(f"{self.downloaded}.failures.jsonl")


def safe_image_path(folder: Path, image: str) -> Path | None:
    """`folder/image`, or None when `image` is absolute or would land outside `folder`."""
    relative = Path(image)
    if not image or "\x00" in image or relative.is_absolute() or ".." in relative.parts:
        return None
    target = (folder / relative).resolve()
    return target if target.is_relative_to(folder.resolve()) else None


@dataclass
class Outcome:
    sample: Sample
    status: str  # "written", "present" or a failure reason
    served_by: str | None = None
    http_status: int | None = None
    detail: str = ""
    width: int | None = None
    height: int | None = None
    sha256: str | None = None


class Downloader:
    def __init__(self, config: DownloadConfig):
        self.config = config
        self.fetcher = Fetcher(config.fetch, pool_size=config.workers)

    def candidate_urls(self, url: str) -> Iterator[str]:
        yield url
        if self.config.fallback:
            yield self.config.fallback.replace("{url}", url)

    def process(self, sample: Sample) -> Outcome:
        target = safe_image_path(self.config.folder, sample.image)
        if target is None:
            return Outcome(sample, "unsafe_image_path", detail=sample.image[:120])
        if target.exists() and not self.config.replace:
            return Outcome(sample, "present")
        failure: FetchFailed | None = None
        for url in self.candidate_urls(sample.url):
            try:
                fetched = self.fetcher.fetch(url)
            except FetchFailed as error:
                failure = error
                if error.gone:
                    continue
                break
            try:
                prepared = prepare_image(
                    fetched.content, self.config.width, self.config.height, self.config.max_pixels
                )
            except ImageRejected as error:
                return Outcome(sample, error.reason, served_by=url, http_status=200, detail=str(error))
            write_bytes(target, prepared.png)
            return Outcome(
                sample,
                "written",
                served_by=url,
                width=prepared.source_width,
                height=prepared.source_height,
                sha256=hashlib.sha256(fetched.content).hexdigest(),
            )
        assert failure is not None
        return Outcome(sample, failure.reason, http_status=failure.status, detail=str(failure))

    def outcomes(self, samples: Iterator[Sample]) -> Iterator[Outcome]:
        """Outcomes as they complete, with at most a few times `workers` samples in flight."""
        limit = self.config.workers * 4
        with ThreadPoolExecutor(self.config.workers, thread_name_prefix="download") as pool:
            pending: set[Future[Outcome]] = set()
            try:
                for sample in samples:
                    pending.add(pool.submit(self.process, sample))
                    if len(pending) >= limit:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        yield from (future.result() for future in done)
                for future in as_completed(list(pending)):
                    pending.discard(future)
                    yield future.result()
            finally:
                for future in pending:
                    future.cancel()


def count_records(path: Path) -> int:
    return sum(1 for _ in JsonReader(path))


def read_journal(path: Path) -> dict[str, dict[str, Any]]:
    """Manifest entries by id."""
    return {entry["id"]: entry for entry in journal_entries(path) if "id" in entry}


def run_download(config: DownloadConfig) -> StageSummary:
    started = time.monotonic()
    summary = StageSummary("download", str(config.dataset), str(config.downloaded))
    total = count_records(config.dataset)
    downloader = Downloader(config)
    failures: list[dict[str, Any]] = []
    config.manifest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open_journal(config.manifest) as journal:
            bar = progress(
                downloader.outcomes(read_valid(config.dataset, Sample)), "download", total, "images"
            )
            for outcome in bar:
                summary.read += 1
                if outcome.status in ("written", "present"):
                    summary.notes[outcome.status] = summary.notes.get(outcome.status, 0) + 1
                    if outcome.status == "written":
                        journal.write(orjson.dumps(manifest_entry(outcome)) + b"\n")
                        journal.flush()
                    continue
                summary.dropped[outcome.status] += 1
                failures.append(
                    {
                        "id": outcome.sample.id,
                        "url": outcome.sample.url,
                        "reason": outcome.status,
                        "status": outcome.http_status,
                        "detail": outcome.detail,
                    }
                )
    finally:
        downloader.fetcher.close()
    write_results(config, summary, failures)
    return finish(summary, started)


def manifest_entry(outcome: Outcome) -> dict[str, Any]:
    return {
        "id": outcome.sample.id,
        "image": outcome.sample.image,
        "url": outcome.served_by,
        "width": outcome.width,
        "height": outcome.height,
        "sha256": outcome.sha256,
    }


def write_results(config: DownloadConfig, summary: StageSummary, failures: list[dict[str, Any]]) -> None:
    """The downloaded dataset and the compacted manifest, both in input order, and the failures."""
    journal = read_journal(config.manifest)
    manifest: list[dict[str, Any]] = []
    with RecordWriter(config.downloaded) as downloaded:
        for sample, text in read_valid_with_text(config.dataset, Sample):
            target = safe_image_path(config.folder, sample.image)
            if target is not None and target.exists():
                downloaded.write_text(text.encode())
                if sample.id in journal:
                    manifest.append(journal[sample.id])
    summary.kept = downloaded.count
    with RecordWriter(config.manifest) as writer:
        writer.write_all(manifest)
    with RecordWriter(config.failures) as writer:
        writer.write_all(failures)
    if failures:
        print(f"download: failures listed in {config.failures}", file=sys.stderr)
