"""`ilid validate`: counts of valid and invalid records, and the first errors."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click

from pipeline.jsonio import InvalidRecord, JsonReader, read_records
from pipeline.records import RECORD_KINDS, guess_kind


def first_record_kind(path: Path) -> str:
    for _, value in JsonReader(path):
        return guess_kind(value) if isinstance(value, dict) else "raw"
    return "raw"


def validate_file(path: Path, kind: str | None, show: int) -> bool:
    """Prints what it found; True when every record is valid."""
    kind = kind or first_record_kind(path)
    valid = 0
    problems: Counter[str] = Counter()
    for record in read_records(path, RECORD_KINDS[kind], skip_invalid=True):
        if isinstance(record, InvalidRecord):
            if sum(problems.values()) < show:
                click.echo(f"{path}: record {record.index + 1}: {record.problem}", err=True)
            problems[record.field] += 1
            continue
        valid += 1
    invalid = sum(problems.values())
    by_field = ", ".join(f"{field} {count}" for field, count in problems.most_common())
    click.echo(
        f"{path}: {valid + invalid:,} {kind} records, {valid:,} valid, {invalid:,} invalid"
        + (f" ({by_field})" if by_field else "")
    )
    return invalid == 0
