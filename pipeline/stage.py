"""The stage contract: stream records in, yield kept records or `Rejected` ones, count every drop.

A stage is any callable `items -> iterator of (output record | Rejected)`. `run_file_stage` reads and
validates the input, writes kept records atomically, the rejects (with their reason) when asked, and
the counts to `<output>.stats.json`.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from pipeline.jsonio import InvalidRecord, JsonReader, RecordWriter, plain, read_records, write_json
from pipeline.progress import stream_progress


@dataclass
class Rejected:
    """A record that leaves the pipeline, and why."""

    reason: str
    record: BaseModel | dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"reason": self.reason, "record": plain(self.record)}


@dataclass
class Carried:
    """A record written through as the JSON text it was read as (an existing dataset sample):
    neither read nor kept."""

    text: str


@dataclass
class StageSummary:
    stage: str
    input: str
    output: str
    read: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    notes: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def line(self) -> str:
        dropped = sum(self.dropped.values())
        reasons = ", ".join(f"{reason} {count:,}" for reason, count in self.dropped.most_common())
        text = f"{self.stage}: read {self.read:,}, kept {self.kept:,}, dropped {dropped:,}"
        if reasons:
            text += f" ({reasons})"
        for key, value in self.notes.items():
            text += f", {key} {value:,}" if isinstance(value, int) else f", {key} {value}"
        return f"{text} -> {self.output} [{self.seconds:.1f}s]"

    def to_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "input": self.input,
            "output": self.output,
            "read": self.read,
            "kept": self.kept,
            "dropped": dict(self.dropped.most_common()),
            **self.notes,
            "seconds": round(self.seconds, 3),
        }


def stats_path(output: str | os.PathLike[str]) -> Path:
    return Path(f"{output}.stats.json")


def finish(summary: StageSummary, started: float) -> StageSummary:
    """Stamps the time, writes `<output>.stats.json` and prints the one-line summary."""
    summary.seconds = time.monotonic() - started
    write_json(stats_path(summary.output), summary.to_json())
    print(summary.line(), file=sys.stderr)
    return summary


class RejectSink:
    """Where dropped records go: a file when `--rejects` is given, else only the counts."""

    def __init__(self, path: str | os.PathLike[str] | None):
        self._writer = RecordWriter(path) if path else None

    def __enter__(self) -> RejectSink:
        if self._writer:
            self._writer.__enter__()
        return self

    def write(self, rejected: Rejected) -> None:
        if self._writer:
            self._writer.write(rejected.to_json())

    def __exit__(self, *exc_info: Any) -> None:
        if self._writer:
            self._writer.__exit__(*exc_info)


Stage = Callable[[Iterable[Any]], Iterator[Any]]


def run_file_stage(
    name: str,
    stage: Stage,
    input_path: str | os.PathLike[str],
    model: type[BaseModel],
    output_path: str | os.PathLike[str],
    *,
    rejects_path: str | os.PathLike[str] | None = None,
    skip_invalid: bool = False,
    notes: Callable[[], dict[str, Any]] | None = None,
) -> StageSummary:
    started = time.monotonic()
    summary = StageSummary(name, str(input_path), str(output_path))
    reader = JsonReader(input_path)
    rejects = RejectSink(rejects_path)

    def valid_records() -> Iterator[BaseModel]:
        for record in stream_progress(
            read_records(input_path, model, skip_invalid=skip_invalid, reader=reader), reader, name
        ):
            summary.read += 1
            if isinstance(record, InvalidRecord):
                summary.dropped["invalid_record"] += 1
                rejects.write(Rejected(record.reason, record.value))
                continue
            yield record

    with rejects, RecordWriter(output_path) as writer:
        for result in stage(valid_records()):
            if isinstance(result, Rejected):
                summary.dropped[result.reason] += 1
                rejects.write(result)
            elif isinstance(result, Carried):
                writer.write_text(result.text.encode())
            else:
                writer.write(result)
                summary.kept += 1
    if notes:
        summary.notes.update(notes())
    return finish(summary, started)
