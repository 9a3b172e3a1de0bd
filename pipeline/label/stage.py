"""The label stage: batches of items through a backend, each finished batch checkpointed.

Items are sorted by text length so that a batch wastes little padding; finished batches are appended
to `OUT.partial.jsonl` (flushed), so Ctrl-C loses at most the batch in flight and a rerun labels only
what is missing. The stage runner writes the output atomically, in input order, once every item is
done, and removes the checkpoint once the output is in place.
"""

from __future__ import annotations

import hashlib
import random
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from pipeline.errors import IlidError
from pipeline.jsonio import journal_entries, open_journal, read_valid
from pipeline.label.answer import parse_answer
from pipeline.label.backends import Backend, Generation, backend_class
from pipeline.label.backends.openai import SERVER_ADVICE, WHITESPACE_RUNAWAY
from pipeline.label.config import LabelConfig
from pipeline.label.grounding import ground, grounding_counts
from pipeline.progress import progress
from pipeline.records import LabeledItem, RawItem
from pipeline.stage import StageSummary, run_file_stage

OUTCOMES = ("valid", "fallback-parsed", "failed", "not sampled")


def checkpoint_path(output: Path) -> Path:
    return Path(f"{output}.partial.jsonl")


def text_key(item: RawItem) -> str:
    """What an answer depends on: the product's title and snippets. Checkpoint entries and reused
    answers are found by it, so an unchanged product is never labeled twice."""
    return hashlib.blake2b(orjson.dumps([item.web.label, item.web.data]), digest_size=16).hexdigest()


def answered(items: list[RawItem], answers: dict[str, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The items (by input index) whose text has an answer: the answer's record with the item's own
    fields (its image URL, page, provenance) on top."""
    done: dict[int, dict[str, Any]] = {}
    for index, item in enumerate(items):
        if (record := answers.get(text_key(item))) is not None:
            done[index] = {**record, **item.to_json()}
    return done


def read_checkpoint(path: Path) -> dict[str, dict[str, Any]]:
    """Finished answers by text key; entries torn by a kill are ignored."""
    return {
        entry["key"]: entry["item"]
        for entry in journal_entries(path)
        if isinstance(entry.get("key"), str) and isinstance(entry.get("item"), dict)
    }


def read_answers(path: Path) -> dict[str, dict[str, Any]]:
    """The answers of a previous labeled file (`--reuse`) by text key; items it left unlabeled or
    failed on are labeled again."""
    return {
        text_key(item): item.to_json()
        for item in read_valid(path, LabeledItem)
        if item.label_method is not None and item.label_error is None
    }


def labeled_item(item: RawItem, generation: Generation, backend: str, grounding: bool) -> LabeledItem:
    parsed = parse_answer(generation.text)
    fields = parsed.fields or dict.fromkeys(
        ("label_short", "label_long", "description", "material", "material_finish")
    )
    removed: dict[str, str] = {}
    if grounding:
        fields, removed = ground(item, fields)
    return LabeledItem.model_validate(
        {
            **item.to_json(),
            "response": generation.text.split("\n"),
            **fields,
            "label_error": parsed.error and (generation.error or parsed.error),
            "label_method": f"{backend}:{parsed.method}" if parsed.method else None,
            "grounding": removed or None,
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
    grounding: bool,
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
                done[index] = labeled_item(items[index], generation, backend.name, grounding).to_json()
                entry = {"key": text_key(items[index]), "item": done[index]}
                journal.write(orjson.dumps(entry) + b"\n")
                generated_tokens += generation.tokens
            journal.flush()
            bar.update(len(batch))
            bar.set_postfix_str(f"{generated_tokens / max(time.monotonic() - began, 1e-9):,.0f} tokens/s")
    return generated_tokens


class Labeler:
    """The label stage for the runner: holds the items (it sorts them by length), labels what the
    checkpoint and `reuse` (a previous labeled file) lack, retries whitespace runaways once, and yields
    every item in input order (items not sampled as they came)."""

    def __init__(
        self,
        output_path: Path,
        config: LabelConfig,
        backend: Backend | None = None,
        reuse: Path | None = None,
    ):
        self.checkpoint = checkpoint_path(output_path)
        self.config = config
        self.backend = backend
        self.reuse = reuse
        self.tokens = 0
        self.reused = 0
        self.runaways = 0
        self.retried = 0
        self.grounded: dict[str, int] = {}
        self.outcomes: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()

    def loaded_backend(self) -> Backend:
        if self.backend is None:
            self.backend = backend_class(self.config.backend)(self.config)
        return self.backend

    def __call__(self, records: Iterable[RawItem]) -> Iterator[RawItem | dict[str, Any]]:
        items = list(records)
        answers = read_answers(self.reuse) if self.reuse is not None and self.reuse.exists() else {}
        self.reused = sum(text_key(item) in answers for item in items)
        done = answered(items, {**answers, **read_checkpoint(self.checkpoint)})
        pending = sorted(
            (i for i in selected_indices(len(items), self.config) if i not in done),
            key=lambda i: len(items[i].web.label) + sum(map(len, items[i].web.data)),
        )
        if pending:
            backend = self.loaded_backend()
            batch_size = self.config.batch_size or backend.default_batch_size
            self.tokens += label_pending(
                items, pending, backend, batch_size, self.checkpoint, done, self.config.grounding
            )
        self.retry_runaways(items, done)
        if self.config.grounding:
            self.grounded = grounding_counts(done.values())
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

    def retry_runaways(self, items: list[RawItem], done: dict[int, dict[str, Any]]) -> None:
        """Answers that ran into whitespace are asked once more, at the end, with a remedy the server
        takes per request (when the backend knows one)."""
        runaways = [index for index in sorted(done) if done[index].get("label_error") == WHITESPACE_RUNAWAY]
        if not runaways:
            return
        self.runaways = len(runaways)
        print(f"label: {len(runaways)} answers ran into whitespace: {SERVER_ADVICE}", file=sys.stderr)
        remedied = getattr(self.loaded_backend(), "remedied", lambda: None)()
        if remedied is None:
            return
        self.retried = len(runaways)
        batch_size = self.config.batch_size or remedied.default_batch_size
        self.tokens += label_pending(
            items, runaways, remedied, batch_size, self.checkpoint, done, self.config.grounding
        )

    def notes(self) -> dict[str, int]:
        notes = {"generated tokens": self.tokens} if self.tokens else {}
        if self.runaways:
            notes["whitespace runaway"] = self.runaways
        if self.retried:
            notes["whitespace runaway retried"] = self.retried
        notes |= {name: self.outcomes[name] for name in OUTCOMES if self.outcomes[name]}
        notes |= self.grounded
        if self.reused:
            notes["reused"] = self.reused
        return notes

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
    reuse: Path | None = None,
    *,
    rejects: Path | None = None,
    skip_invalid: bool = False,
) -> StageSummary:
    """With `reuse`, a previous labeled file: items whose text it answered are not labeled again."""
    labeler = Labeler(output_path, config, backend, reuse)
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
