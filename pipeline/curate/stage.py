"""The curate stage: judge every downloaded sample, then write the kept ones through the stage runner.

The first pass reads the dataset and the download manifest beside it (source size and the sha256 of
the source bytes per id), applies the per-image rules and hashes each distinct source once; the
clusters are then found over all hashes together. The second pass is `run_file_stage`, which writes
the kept samples atomically and counts every drop by its reason; the first runs as the stage starts,
so both hold the runner's lock on the output. Beside the output go
`<output>.clusters.jsonl` (one cluster of copies per line), `<output>.manifest.jsonl` (the kept
samples' manifest entries, so that `stats`, `report` and `export` find the source sizes there too)
and `<output>.phash.jsonl` (each source's pHash, so a rerun hashes only new images).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from pipeline.curate.config import CurateConfig
from pipeline.curate.hashing import file_sha256, perceptual_hashes
from pipeline.curate.rules import Candidate, Cluster, find_clusters, size_problem
from pipeline.errors import IlidError
from pipeline.jsonio import RecordWriter, journal_entries, open_journal, read_valid
from pipeline.manifest import manifest_for, read_manifest, source_size
from pipeline.paths import safe_image_path
from pipeline.progress import progress
from pipeline.records import Sample
from pipeline.stage import Rejected, StageSummary, run_file_stage


class Pending(NamedTuple):
    """What the clustering needs of a sample that passed the per-image rules (not the whole record)."""

    position: int
    id: str
    label: str
    image: str
    path: Path
    sha256: str


class Curator:
    """Judges the dataset once (`judge`), then acts as the stage that drops what was judged."""

    def __init__(self, config: CurateConfig):
        self.config = config
        self.manifest = read_manifest(config.dataset)
        self.verdicts: list[str | None] = []
        self.clusters: list[Cluster] = []
        self.kept: set[str] = set()  # the ids written to the output
        self.without_manifest = 0

    def judge(self) -> None:
        config, rules = self.config, self.config.rules
        if not config.images.is_dir():
            raise IlidError(f"{config.images}: no such images folder (give the download's --folder)")
        pending: list[Pending] = []
        for position, sample in enumerate(read_valid(config.dataset, Sample)):
            self.verdicts.append(None)
            path = safe_image_path(config.images, sample.image)
            if path is None or not path.is_file():
                self.verdicts[position] = "missing_image"
                continue
            entry = self.manifest.get(sample.id)
            size = source_size(entry)
            if size is None:
                # Not downloaded by ilid (or by an older version): the file's own bytes stand in.
                self.without_manifest += 1
            else:
                problem = size_problem(*size, rules.min_side, rules.max_aspect)
                if problem:
                    self.verdicts[position] = problem
                    continue
            sha256 = (entry or {}).get("sha256") or file_sha256(path)
            pending.append(Pending(position, sample.id, sample.label_short, sample.image, path, sha256))
        self.clusters = find_clusters(self.candidates(pending), rules.near_distance, rules.placeholder_min)
        position_of = {item.id: item.position for item in pending}
        for cluster in self.clusters:
            for member, reason in cluster.reasons().items():
                self.verdicts[position_of[member]] = reason

    def candidates(self, pending: list[Pending]) -> list[Candidate]:
        """One pHash per distinct source (exact copies share it); unreadable files are dropped."""
        first_path: dict[str, Path] = {}
        for item in pending:
            first_path.setdefault(item.sha256, item.path)
        phash_of = self.hash_sources(first_path)
        candidates = []
        for item in pending:
            phash = phash_of[item.sha256]
            if phash is None:
                self.verdicts[item.position] = "unreadable_image"
                continue
            candidates.append(Candidate(item.id, item.label, item.image, item.sha256, phash))
        return candidates

    def hash_sources(self, first_path: dict[str, Path]) -> dict[str, int | None]:
        """pHashes by source sha256, journaled as they are computed to `<output>.phash.jsonl`, so an
        interrupted or repeated run hashes only what is new."""
        journal_path = Path(f"{self.config.output}.phash.jsonl")
        known: dict[str, int | None] = {}
        for entry in journal_entries(journal_path):
            if isinstance(entry.get("sha256"), str) and "phash" in entry:
                known[entry["sha256"]] = int(entry["phash"], 16) if entry["phash"] else None
        todo = [sha256 for sha256 in first_path if sha256 not in known]
        with open_journal(journal_path) as journal:
            hashed = progress(
                perceptual_hashes(first_path[key] for key in todo), "curate: hashing", len(todo)
            )
            for sha256, phash in zip(todo, hashed, strict=True):
                known[sha256] = phash
                text = f"{phash:016x}" if phash is not None else None
                journal.write(orjson.dumps({"sha256": sha256, "phash": text}) + b"\n")
        return {sha256: known[sha256] for sha256 in first_path}

    def __call__(self, samples: Iterable[Sample]) -> Iterator[Sample | Rejected]:
        """Judges first (under the runner's lock: a second run on this output stops before hashing)."""
        self.judge()
        if not self.manifest:
            print(
                f"curate: no manifest at {self.config.manifest}: exact copies are found from the files on "
                "disk, and the size and aspect rules are skipped",
                file=sys.stderr,
            )
        for sample, verdict in zip(samples, self.verdicts, strict=False):
            if verdict:
                yield Rejected(verdict, sample)
            else:
                self.kept.add(sample.id)
                yield sample

    def committed(self, summary: StageSummary) -> None:
        """The curated dataset is in place: its clusters and its samples' manifest entries beside it."""
        with RecordWriter(self.config.clusters) as writer:
            writer.write_all(cluster.to_json() for cluster in self.clusters)
        with RecordWriter(manifest_for(self.config.output)) as writer:
            writer.write_all(entry for key, entry in self.manifest.items() if key in self.kept)

    def notes(self) -> dict[str, Any]:
        notes: dict[str, Any] = {"clusters": len(self.clusters)}
        if self.without_manifest:
            notes["without manifest entry"] = self.without_manifest
        return notes


def run_curate(config: CurateConfig) -> StageSummary:
    curator = Curator(config)
    return run_file_stage(
        "curate",
        curator,
        config.dataset,
        Sample,
        config.output,
        rejects_path=config.rejects,
        notes=curator.notes,
        companions=[config.clusters, manifest_for(config.output)],
        after_commit=curator.committed,
    )
