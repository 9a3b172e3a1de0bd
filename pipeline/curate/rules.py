"""Curate's rules: per image (too small, odd aspect) and per cluster of copies (duplicates, placeholders).

Clusters are built greedily in dataset order: the first image not yet placed leads a cluster and takes
every unplaced image within the near distance of its hash, so every member is close to the one kept
and no two kept images are near each other (a cluster is never a chain of small steps).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline.curate.nearindex import near_pairs


def size_problem(width: int, height: int, min_side: int, max_aspect: float) -> str | None:
    """`too_small` or `aspect` for a source image of this size, or None when it is fine."""
    short, long = sorted((width, height))
    if short < min_side:
        return "too_small"
    if long > max_aspect * short:
        return "aspect"
    return None


@dataclass
class Candidate:
    """An image that passed the per-image rules: its sample, source fingerprint and pHash."""

    id: str
    label: str
    image: str
    sha256: str
    phash: int


@dataclass
class Cluster:
    kept: str | None
    dropped: list[str]
    reason: str
    distances: list[int]
    images: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    exact: set[str] = field(default_factory=set)  # dropped ids with the kept image's very bytes

    def reasons(self) -> dict[str, str]:
        """The drop reason of each dropped id (a cluster may mix exact and near copies)."""
        if self.reason == "placeholder":
            return dict.fromkeys(self.dropped, "placeholder")
        return {
            member: "duplicate_image" if member in self.exact else "near_duplicate" for member in self.dropped
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "kept": self.kept,
            "dropped": self.dropped,
            "reason": self.reason,
            "distances": self.distances,
            "images": self.images,
            "labels": self.labels,
        }


def _grouped(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR lists: the positions of `keys` per key value, in position order (order, starts)."""
    order = np.argsort(keys, kind="stable")
    starts = np.concatenate(([0], np.cumsum(np.bincount(keys, minlength=size))))
    return order, starts


def find_clusters(candidates: list[Candidate], near_distance: int, placeholder_min: int) -> list[Cluster]:
    """Clusters of two or more copies; singletons are not listed."""
    if not candidates:
        return []
    hashes = np.array([candidate.phash for candidate in candidates], dtype=np.uint64)
    values, value_of = np.unique(hashes, return_inverse=True)
    left, right, _ = near_pairs(values, near_distance)
    members, member_starts = _grouped(value_of, len(values))
    neighbours, neighbour_starts = _grouped(np.concatenate((left, right)), len(values))
    other_end = np.concatenate((right, left))
    placed = np.zeros(len(candidates), dtype=bool)
    clusters = []
    for leader in range(len(candidates)):
        if placed[leader]:
            continue
        placed[leader] = True
        value = value_of[leader]
        near_values = other_end[neighbours[neighbour_starts[value] : neighbour_starts[value + 1]]]
        if member_starts[value + 1] - member_starts[value] == 1 and not len(near_values):
            continue
        pool = [members[member_starts[value] : member_starts[value + 1]]]
        pool += [members[member_starts[v] : member_starts[v + 1]] for v in near_values]
        group = np.unique(np.concatenate(pool))
        group = group[~placed[group]]
        if not len(group):
            continue
        placed[group] = True
        clusters.append(make_cluster(candidates, leader, group.tolist(), placeholder_min))
    return clusters


def make_cluster(
    candidates: list[Candidate], leader: int, others: list[int], placeholder_min: int
) -> Cluster:
    """A placeholder when products with at least `placeholder_min` different short labels share the
    image (it cannot show all of them): all go. Otherwise the first is kept and its copies dropped."""
    head = candidates[leader]
    everyone = [head, *(candidates[index] for index in others)]
    labels = {candidate.id: candidate.label for candidate in everyone}
    images = {candidate.id: candidate.image for candidate in everyone}
    distinct_labels = {candidate.label.strip().lower() for candidate in everyone}
    if len(distinct_labels) >= placeholder_min:
        distances = [bin(head.phash ^ candidate.phash).count("1") for candidate in everyone]
        return Cluster(None, [c.id for c in everyone], "placeholder", distances, images, labels)
    copies = everyone[1:]
    distances = [bin(head.phash ^ candidate.phash).count("1") for candidate in copies]
    exact = {candidate.id for candidate in copies if candidate.sha256 == head.sha256}
    reason = "duplicate_image" if len(exact) == len(copies) else "near_duplicate"
    return Cluster(head.id, [c.id for c in copies], reason, distances, images, labels, exact)
