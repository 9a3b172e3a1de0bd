"""Append-only JSON Lines journals (checkpoints, manifests) that survive a run killed mid-line."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson


def open_journal(path: str | os.PathLike[str]) -> IO[bytes]:
    """An append-only JSON Lines journal (a checkpoint, a manifest), opened on a fresh line even
    after a line torn by a killed run."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    journal = path.open("ab+")
    if journal.tell():
        journal.seek(-1, os.SEEK_END)
        if journal.read(1) != b"\n":
            journal.write(b"\n")
    return journal


def journal_entries(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """The objects of a journal; a line torn by a killed run is skipped."""
    path = Path(path)
    if not path.exists():
        return
    for line in path.read_bytes().splitlines():
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(entry, dict):
            yield entry
