"""The stage contract and its one runner: stream records in, yield kept records or `Rejected` ones.

A stage is any callable `items -> iterator of (output record | Rejected | Carried)`: a `Stage[In, Out]`.
`run_file_stage` does everything else, the same way for every stage: it locks the output (and any
folder the stage writes), removes the temporary files a killed run of it left, reads and validates the
input, writes kept records atomically, the rejects (with their reason) when asked, the counts to
`<output>.stats.json`, shows progress and prints one summary line. SIGTERM ends it as Ctrl-C does:
the previous output stays, the temporary files go, the locks are released. A non-empty input that
leaves an empty output raises `NothingKept` after the summary (the CLI exits with code 1).

Stages that do not read a JSON file give the same guarantees with `stage_run` around their own loop,
and those whose output is a folder built whole (export, mvtec-layout) with `folder_stage`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from pipeline.errors import NothingKept
from pipeline.folder_output import building, check_replaceable, move_into_place, restore_moved_aside
from pipeline.interrupts import sigterm_as_interrupt
from pipeline.jsonio import InvalidRecord, JsonReader, RecordWriter, plain, read_records, write_json
from pipeline.lock import locked, remove_stale_temp_files, remove_stale_temp_files_within
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


In = TypeVar("In", bound=BaseModel)  # the input file's record model
Out = TypeVar("Out", bound=BaseModel | dict[str, Any])  # what the output file holds
Stage = Callable[[Iterable[In]], Iterator[Out | Rejected | Carried]]
PathLike = str | os.PathLike[str]


def fail_if_nothing_kept(summary: StageSummary, written: int) -> None:
    """Raises `NothingKept` when records were read and the output holds none."""
    if summary.read and not written:
        raise NothingKept(summary)


@contextlib.contextmanager
def stage_run(
    summary: StageSummary,
    *,
    folders: Iterable[PathLike] = (),
    companions: Iterable[PathLike | None] = (),
    written: Callable[[], int] | None = None,
) -> Iterator[StageSummary]:
    """The runner's guarantees around a stage's own loop, the `with` block, which fills `summary`.

    `summary.output` is locked, then `folders` (where the stage writes files of its own, an images
    folder), waiting for another run when `--wait` says so. The temporary files a killed run left
    are removed: the output's, its stats file's, the `companions`' (files the stage writes beside
    its output: rejects, a manifest) and any within `folders`. SIGTERM raises `Terminated` as Ctrl-C
    raises `KeyboardInterrupt`. When the block ends normally the stats file is written and the
    summary printed; once the locks are released, `NothingKept` is raised if records were read and
    the output holds none (`written`, else `summary.kept`).
    """
    output = summary.output
    folders = list(folders)
    with sigterm_as_interrupt(), locked([output, *folders]):
        started = time.monotonic()  # after any wait for the lock
        for path in (output, stats_path(output), *companions):
            if path is not None:
                remove_stale_temp_files(path)
        for folder in folders:
            remove_stale_temp_files_within(folder)
        yield summary
        finish(summary, started)
    fail_if_nothing_kept(summary, written() if written else summary.kept)


@contextlib.contextmanager
def folder_stage(summary: StageSummary, *, companions: Iterable[PathLike | None] = ()) -> Iterator[Path]:
    """`stage_run` for a stage whose output, `summary.output`, is a folder written whole: yields an
    empty temporary folder beside it to build the output in, which replaces the output when the
    block ends normally and is removed otherwise. A folder already there is replaced only when it
    is empty or an earlier output of the same command (see `pipeline.folder_output`)."""
    out = Path(summary.output)
    with stage_run(summary, companions=companions):
        restore_moved_aside(out)
        check_replaceable(out, stats_path(out), summary.stage)
        with building(out) as temporary:
            yield temporary
            write_json(stats_path(out), summary.to_json())  # before `out` appears: it marks the output
            move_into_place(temporary, out)


def run_file_stage(
    name: str,
    stage: Stage[In, Out],
    input_path: PathLike,
    model: type[In],
    output_path: PathLike,
    *,
    rejects_path: PathLike | None = None,
    skip_invalid: bool = False,
    notes: Callable[[], dict[str, Any]] | None = None,
    also_lock: Iterable[PathLike] = (),
    companions: Iterable[PathLike] = (),
    after_commit: Callable[[StageSummary], None] | None = None,
) -> StageSummary:
    """Runs `stage` from `input_path` to `output_path`; returns the summary it printed.

    Another run holding the output is waited for when `--wait` says so, else refused at once.
    `also_lock` names folders the stage writes files into (download's images), locked after the
    output and cleared of a killed run's temporary files; `companions` are files the stage writes
    itself beside its output (a manifest), whose stale temporary files are removed too. `notes` adds
    the stage's own counts to the summary; `after_commit` runs once the output is in place, before
    the summary.
    """
    summary = StageSummary(name, str(input_path), str(output_path))
    reader = JsonReader(input_path)
    rejects = RejectSink(rejects_path)

    def valid_records() -> Iterator[In]:
        for record in stream_progress(
            read_records(input_path, model, skip_invalid=skip_invalid, reader=reader), reader, name
        ):
            summary.read += 1
            if isinstance(record, InvalidRecord):
                summary.dropped["invalid_record"] += 1
                rejects.write(Rejected(record.reason, record.value))
                continue
            yield record

    with stage_run(
        summary,
        folders=also_lock,
        companions=[rejects_path, *companions],
        written=lambda: writer.count,
    ):
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
        if after_commit:
            after_commit(summary)
        if notes:
            summary.notes.update(notes())
    return summary
