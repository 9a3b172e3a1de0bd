"""The download stage: fetch every sample's image and write it where the dataset says.

Workers run in a thread pool (network waits and Pillow's decode/resize/encode release the GIL), with
a bounded window of samples in flight so memory does not grow with the dataset, and a pixel budget
shared by the workers so huge images do not either. Samples come back out in input order, for the
stage runner to write. Images already on disk are skipped without a request. Each image's manifest
entry is journaled before the image itself is renamed into place, so whatever kills a run, every
image on disk has its entry (one that has none, left by another tool, is fetched again); the journal
is compacted into the manifest when the run completes.
"""

from __future__ import annotations

import hashlib
import sys
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from pipeline.download.config import DownloadConfig
from pipeline.download.fetch import Fetcher, FetchFailed
from pipeline.download.imaging import (
    ImageRejected,
    PixelBudget,
    prepare_image,
    return_freed_images_to_the_system,
)
from pipeline.jsonio import RecordWriter, open_journal, write_bytes
from pipeline.manifest import read_manifest
from pipeline.paths import image_path_problem
from pipeline.records import Sample
from pipeline.stage import Rejected, StageSummary, run_file_stage

WINDOW_PER_WORKER = 32  # samples in flight (submitted, not yet written out) per worker


@dataclass
class Outcome:
    sample: Sample
    status: str  # "written", "present" or a failure reason
    served_by: str | None = None
    http_status: int | None = None
    detail: str = ""


def manifest_entry(sample: Sample, served_by: str, width: int, height: int, source: bytes) -> dict[str, Any]:
    return {
        "id": sample.id,
        "image": sample.image,
        "url": served_by,
        "width": width,
        "height": height,
        "sha256": hashlib.sha256(source).hexdigest(),
    }


class Downloader:
    def __init__(self, config: DownloadConfig, journal: IO[bytes], journaled: set[str]):
        self.config = config
        self.journaled = journaled  # ids whose image has a manifest entry
        self.fetcher = Fetcher(config.fetch, pool_size=config.workers)
        self.budget = PixelBudget(config.pixels_in_flight)
        return_freed_images_to_the_system()
        self._journal = journal
        self._journal_lock = threading.Lock()

    def candidate_urls(self, url: str) -> Iterator[str]:
        yield url
        if self.config.fallback:
            yield self.config.fallback.replace("{url}", url)

    def process(self, sample: Sample) -> Outcome:
        problem = image_path_problem(self.config.folder, sample.image)
        if problem:
            return Outcome(sample, "unsafe_image_path", detail=f"{sample.image[:120]!r}: {problem}")
        target = (self.config.folder / sample.image).resolve()
        if target.is_file() and not self.config.replace and sample.id in self.journaled:
            return Outcome(sample, "present")  # an image on disk without its entry is fetched again
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
                    fetched.content,
                    self.config.width,
                    self.config.height,
                    self.config.max_pixels,
                    self.budget,
                )
            except ImageRejected as error:
                return Outcome(
                    sample, error.reason, served_by=fetched.url, http_status=200, detail=str(error)
                )
            entry = manifest_entry(
                sample, fetched.url, prepared.source_width, prepared.source_height, fetched.content
            )
            try:
                self.journal(entry)
                write_bytes(target, prepared.png)
            except OSError as error:
                return Outcome(
                    sample, "write_failed", served_by=fetched.url, detail=error.strerror or str(error)
                )
            return Outcome(sample, "written", served_by=fetched.url)
        assert failure is not None
        return Outcome(sample, failure.reason, http_status=failure.status, detail=str(failure))

    def journal(self, entry: dict[str, Any]) -> None:
        """Appends a manifest entry at once (before its image lands, so no image lacks one)."""
        line = orjson.dumps(entry) + b"\n"
        with self._journal_lock:
            self._journal.write(line)
            self._journal.flush()

    def outcomes(self, samples: Iterable[Sample]) -> Iterator[Outcome]:
        """Outcomes in input order, with at most `WINDOW_PER_WORKER` samples a worker in flight."""
        window = self.config.workers * WINDOW_PER_WORKER
        pool = ThreadPoolExecutor(self.config.workers, thread_name_prefix="download")
        pending: deque[Future[Outcome]] = deque()
        try:
            for sample in samples:
                pending.append(pool.submit(self.process, sample))
                while pending and (pending[0].done() or len(pending) >= window):
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except BaseException:
            # Interrupted: what has not started is dropped, what runs is cut short; images already
            # written keep their manifest entries.
            self.fetcher.stop()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


class DownloadStage:
    """The download stage for the runner: samples whose image is on disk are kept, in input order;
    the others are rejected with the reason, and listed in `<OUT>.failures.jsonl` too."""

    def __init__(self, config: DownloadConfig):
        self.config = config
        self.kept_ids: list[str] = []
        self.failures: list[dict[str, Any]] = []
        self.counts = {"written": 0, "present": 0}

    def __call__(self, samples: Iterable[Sample]) -> Iterator[Sample | Rejected]:
        journaled = set(read_manifest(self.config.downloaded))
        with open_journal(self.config.manifest) as journal:
            downloader = Downloader(self.config, journal, journaled)
            try:
                for outcome in downloader.outcomes(samples):
                    if outcome.status in self.counts:
                        self.counts[outcome.status] += 1
                        self.kept_ids.append(outcome.sample.id)
                        yield outcome.sample
                        continue
                    self.failures.append(
                        {
                            "id": outcome.sample.id,
                            "url": outcome.sample.url,
                            "reason": outcome.status,
                            "status": outcome.http_status,
                            "detail": outcome.detail,
                        }
                    )
                    yield Rejected(outcome.status, outcome.sample)
            finally:
                downloader.fetcher.close()

    def notes(self) -> dict[str, int]:
        return {status: count for status, count in self.counts.items() if count}

    def committed(self, summary: StageSummary) -> None:
        """The downloaded dataset is in place: compact the manifest to its samples, in its order,
        and list the failures."""
        journal = read_manifest(self.config.downloaded)
        with RecordWriter(self.config.manifest) as writer:
            writer.write_all(journal[i] for i in self.kept_ids if i in journal)
        with RecordWriter(self.config.failures) as writer:
            writer.write_all(self.failures)
        if self.failures:
            print(f"download: failures listed in {self.config.failures}", file=sys.stderr)


def run_download(
    config: DownloadConfig, *, rejects: Path | None = None, skip_invalid: bool = False
) -> StageSummary:
    stage = DownloadStage(config)
    return run_file_stage(
        "download",
        stage,
        config.dataset,
        Sample,
        config.downloaded,
        rejects_path=rejects,
        skip_invalid=skip_invalid,
        notes=stage.notes,
        also_lock=[config.folder],
        companions=[config.manifest, config.failures],
        after_commit=stage.committed,
    )
