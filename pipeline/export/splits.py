"""Deterministic splits: a sample's split is a hash of its group and the seed, never of its position.

The group is a curate cluster (its smallest id), so a photo and its near-duplicates always land in
the same split and a model is never tested on a copy of a training image; a sample outside every
cluster is a group of its own. The same dataset, seed and fractions give the same splits whatever
the order of the input, and adding samples never moves the ones already assigned.
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

from pipeline.errors import IlidError
from pipeline.jsonio import journal_entries

SPLIT_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def parse_split(spec: str) -> dict[str, float]:
    """`train=0.9,val=0.05,test=0.05` -> {"train": 0.9, ...}; the fractions add up to 1."""
    fractions: dict[str, float] = {}
    for part in spec.split(","):
        name, _, value = part.partition("=")
        name = name.strip()
        try:
            fraction = float(value)
        except ValueError:
            raise IlidError(f"--split {spec!r}: {part.strip()!r} is not NAME=FRACTION") from None
        if not SPLIT_NAME.match(name) or name in fractions:
            raise IlidError(f"--split {spec!r}: {name!r} is not a new split name (letters, digits, - and _)")
        if not 0 < fraction <= 1:
            raise IlidError(f"--split {spec!r}: the fraction of {name!r} is not in (0, 1]")
        fractions[name] = fraction
    if not math.isclose(sum(fractions.values()), 1.0, abs_tol=1e-6):
        raise IlidError(f"--split {spec!r}: the fractions add up to {sum(fractions.values()):g}, not 1")
    return fractions


def read_clusters(path: Path) -> dict[str, str]:
    """Each id of `curate`'s `<OUT>.clusters.jsonl` (kept and dropped) -> its cluster's smallest id."""
    if not path.is_file():
        raise IlidError(f"{path}: no such clusters file")
    groups: dict[str, str] = {}
    for number, entry in enumerate(journal_entries(path), start=1):
        kept, dropped = entry.get("kept"), entry.get("dropped", [])
        ids = ([kept] if kept is not None else []) + (dropped if isinstance(dropped, list) else [None])
        if not ids or not all(isinstance(id_, str) for id_ in ids):
            raise IlidError(f"{path}: cluster {number}: 'kept' and 'dropped' must be ids")
        group = min(ids)
        for id_ in ids:
            groups.setdefault(id_, group)
    return groups


class Splitter:
    def __init__(self, fractions: dict[str, float], seed: int, groups: dict[str, str]):
        self.groups = groups
        self.seed = seed
        self.bounds: list[tuple[float, str]] = []
        total = 0.0
        for name, fraction in fractions.items():
            total += fraction
            self.bounds.append((total, name))

    def assign(self, sample_id: str) -> str:
        group = self.groups.get(sample_id, sample_id)
        digest = hashlib.sha256(f"{self.seed}\0{group}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") / 2**64
        for bound, name in self.bounds:
            if point < bound:
                return name
        return self.bounds[-1][1]
