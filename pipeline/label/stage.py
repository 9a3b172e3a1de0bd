"""The label stage: batches of items through a backend, each finished batch checkpointed.

Items are sorted by text length so that a batch wastes little padding; finished batches are appended
to `OUT.partial.jsonl` (flushed), so Ctrl-C loses at most the batch in flight and a rerun labels only
what is missing. The stage runner writes the output atomically, in input order, once every item is
done, and removes the checkpoint once the output is in place.
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from pipeline.errors import IlidError
from pipeline.jsonio import journal_entries, open_journal
from pipeline.label.answer import parse_answer
from pipeline.label.backends import Backend, Generation, backend_class
from pipeline.label.config import LabelConfig
from pipeline.progress import progress
from pipeline.records import LabeledItem, RawItem
from pipeline.stage import StageSummary, run_file_stage

OUTCOMES = ("valid", "fallback-parsed", "failed", "not sampled")


def checkpoint_path(output: Path) -> Path:
    return Path(f"{output}.partial.jsonl")


def read_checkpoint(path: Path, items: list[RawItem]) -> dict[int, dict[str, Any]]:
    """Finished items by input index; entries for another input, or torn by a kill, are ignored."""
    done: dict[int, dict[str, Any]] = {}
    for entry in journal_entries(path):
        index = entry.get("index")
        if isinstance(index, int) and 0 <= index < len(items) and items[index].url == entry.get("url"):
            done[index] = entry["item"]
    return done


def labeled_item(item: RawItem, generation: Generation, backend: str) -> LabeledItem:
    parsed = parse_answer(generation.text)
    fields = parsed.fields or dict.fromkeys(
        ("label_short", "label_long", "description", "material", "material_finish")
    )
    return LabeledItem.model_validate(
        {
            **item.to_json(),
            "response": generation.text.split("\n"),
            **fields,
            "label_error": parsed.error,
            "label_method": f"{backend}:{parsed.method}" if parsed.method else None,
        }
    )


def selected_indices(count: int, config: LabelConfig) -> list[int]:
    """All items, or with `--debug F` a random fraction F of them (seeded)."""
    if not config.debug:
        return list(range(count))
    chooser = random.Random(config.seed)
    return [index for index in range(count) if chooser.random() < config.debug]


def label_pending(
    items: list[RawItem],
    pending: list[int],
    backend: Backend,
    batch_size: int,
    checkpoint: Path,
    done: dict[int, dict[str, Any]],
) -> int:
    """Labels the pending items batch by batch, journaling each batch; returns the tokens generated."""
    generated_tokens = 0
    began = time.monotonic()
    with (
        open_journal(checkpoint) as journal,
        progress(None, f"label ({backend.name})", total=len(pending), unit="items") as bar,
    ):
        for start in range(0, len(pending), batch_size):
            batch = pending[start : start + batch_size]
            generations = backend.label([items[i] for i in batch])
            if len(generations) != len(batch):
                raise IlidError(f"backend {backend.name} answered {len(generations)} of {len(batch)} items")
            for index, generation in zip(batch, generations, strict=True):
                done[index] = labeled_item(items[index], generation, backend.name).to_json()
                entry = {"index": index, "url": items[index].url, "item": done[index]}
                journal.write(orjson.dumps(entry) + b"\n")
                generated_tokens += generation.tokens
            journal.flush()
            bar.update(len(batch))
            bar.set_postfix_str(f"{generated_tokens / max(time.monotonic() - began, 1e-9):,.0f} tokens/s")
    return generated_tokens


class Labeler:
    """The label stage for the runner: holds the items (it sorts them by length), labels what the
    checkpoint lacks, and yields every item in input order (items not sampled as they came)."""

    def __init__(self, output_path: Path, config: LabelConfig, backend: Backend | None = None):
        self.checkpoint = checkpoint_path(output_path)
        self.config = config
        self.backend = backend
        self.tokens = 0
        self.outcomes: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()

    def __call__(self, records: Iterable[RawItem]) -> Iterator[RawItem | dict[str, Any]]:
        items = list(records)
        done = read_checkpoint(self.checkpoint, items)
        pending = sorted(
            (i for i in selected_indices(len(items), self.config) if i not in done),
            key=lambda i: len(items[i].web.label) + sum(map(len, items[i].web.data)),
        )
        if pending:
            backend = self.backend or backend_class(self.config.backend)(self.config)
            batch_size = self.config.batch_size or backend.default_batch_size
            self.tokens = label_pending(items, pending, backend, batch_size, self.checkpoint, done)
        for index, item in enumerate(items):
            record = done.get(index)
            if record is None:
                self.outcomes["not sampled"] += 1
                yield item
                continue
            if record.get("label_error"):
                self.outcomes["failed"] += 1
                self.errors[record["label_error"]] += 1
            else:
                self.outcomes["valid" if record["label_method"].endswith(":json") else "fallback-parsed"] += 1
            yield record

    def notes(self) -> dict[str, int]:
        notes = {"generated tokens": self.tokens} if self.tokens else {}
        return notes | {name: self.outcomes[name] for name in OUTCOMES if self.outcomes[name]}

    def committed(self, summary: StageSummary) -> None:
        """The output is in place: the checkpoint has served, and failed answers are pointed out."""
        self.checkpoint.unlink(missing_ok=True)
        if self.errors:
            reasons = ", ".join(f"{reason} {count}" for reason, count in self.errors.most_common(3))
            print(
                f"label: {self.outcomes['failed']} answers failed ({reasons}); label_error says why",
                file=sys.stderr,
            )


def run_label(
    input_path: Path,
    output_path: Path,
    config: LabelConfig,
    backend: Backend | None = None,
    *,
    rejects: Path | None = None,
    skip_invalid: bool = False,
) -> StageSummary:
    labeler = Labeler(output_path, config, backend)
    return run_file_stage(
        "label",
        labeler,
        input_path,
        RawItem,
        output_path,
        rejects_path=rejects,
        skip_invalid=skip_invalid,
        notes=labeler.notes,
        after_commit=labeler.committed,
    )
