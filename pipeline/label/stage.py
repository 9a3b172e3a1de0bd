"""The label stage: batches of items through a backend, each finished batch checkpointed.

Items are sorted by text length so that a batch wastes little padding; finished batches are appended
to `OUT.partial.jsonl` (flushed), so Ctrl-C loses at most the batch in flight and a rerun labels only
what is missing. The output is written atomically, in input order, once every item is done.
"""

from __future__ import annotations

import hashlib
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from pipeline.errors import IlidError
from pipeline.jsonio import RecordWriter, journal_entries, open_journal, read_valid
from pipeline.label.answer import parse_answer
from pipeline.label.backends import Backend, Generation, backend_class
from pipeline.label.backends.openai import SERVER_ADVICE, WHITESPACE_RUNAWAY
from pipeline.label.config import LabelConfig
from pipeline.label.grounding import ground, grounding_counts
from pipeline.progress import progress
from pipeline.records import LabeledItem, RawItem
from pipeline.stage import StageSummary, finish

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


def write_labeled(
    items: list[RawItem], done: dict[int, dict[str, Any]], output: Path
) -> tuple[Counter, Counter]:
    """The output in input order (items not sampled as they came); counts of outcomes and of errors."""
    outcomes: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    with RecordWriter(output) as writer:
        for index, item in enumerate(items):
            record = done.get(index)
            if record is None:
                outcomes["not sampled"] += 1
                writer.write(item)
                continue
            if record.get("label_error"):
                outcomes["failed"] += 1
                errors[record["label_error"]] += 1
            else:
                outcomes["valid" if record["label_method"].endswith(":json") else "fallback-parsed"] += 1
            writer.write(record)
    return outcomes, errors


def run_label(
    input_path: Path,
    output_path: Path,
    config: LabelConfig,
    backend: Backend | None = None,
    reuse: Path | None = None,
) -> StageSummary:
    """With `reuse`, a previous labeled file: items whose text it answered are not labeled again."""
    started = time.monotonic()
    summary = StageSummary("label", str(input_path), str(output_path))
    items = list(read_valid(input_path, RawItem))
    checkpoint = checkpoint_path(output_path)
    answers = read_answers(reuse) if reuse is not None and reuse.exists() else {}
    reused = len(answered(items, answers))
    done = answered(items, {**answers, **read_checkpoint(checkpoint)})
    pending = sorted(
        (i for i in selected_indices(len(items), config) if i not in done),
        key=lambda i: len(items[i].web.label) + sum(map(len, items[i].web.data)),
    )
    if pending:
        backend = backend or backend_class(config.backend)(config)
        batch_size = config.batch_size or backend.default_batch_size
        tokens = label_pending(items, pending, backend, batch_size, checkpoint, done, config.grounding)
        if tokens:
            summary.notes["generated tokens"] = tokens
    runaways = [index for index in sorted(done) if done[index].get("label_error") == WHITESPACE_RUNAWAY]
    if runaways:  # asked once more, at the end, with a remedy the server takes per request
        summary.notes["whitespace runaway"] = len(runaways)
        print(f"label: {len(runaways)} answers ran into whitespace: {SERVER_ADVICE}", file=sys.stderr)
        backend = backend or backend_class(config.backend)(config)
        remedied = getattr(backend, "remedied", lambda: None)()
        if remedied is not None:
            summary.notes["whitespace runaway retried"] = len(runaways)
            batch_size = config.batch_size or remedied.default_batch_size
            tokens = label_pending(items, runaways, remedied, batch_size, checkpoint, done, config.grounding)
            summary.notes["generated tokens"] = summary.notes.get("generated tokens", 0) + tokens
    outcomes, errors = write_labeled(items, done, output_path)
    summary.read = summary.kept = len(items)
    summary.notes.update({name: outcomes[name] for name in OUTCOMES if outcomes[name]})
    if config.grounding:
        summary.notes.update(grounding_counts(done.values()))
    if reused:
        summary.notes["reused"] = reused
    checkpoint.unlink(missing_ok=True)
    if errors:
        reasons = ", ".join(f"{reason} {count}" for reason, count in errors.most_common(3))
        print(
            f"label: {outcomes['failed']} answers failed ({reasons}); label_error says why", file=sys.stderr
        )
    return finish(summary, started)
