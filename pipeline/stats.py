"""`ilid stats`: what a dataset holds, in numbers and in plots.

Counts per source, unique values per field, and the top-40 word frequencies of `label_short`,
`label_long` and `material` as log-scale bar charts (as ILID's README shows them); plus a funnel of
read -> kept per stage when the stages' `.stats.json` files lie beside the dataset.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from pipeline.jsonio import read_valid, write_json
from pipeline.label.grounding import GROUNDED_FIELDS
from pipeline.records import LABEL_FIELDS, Sample

WORD_FIELDS = ("label_short", "label_long", "material")
STAGE_ORDER = ("crawl", "prefilter", "label", "postfilter", "assemble", "download")
TOP_WORDS = 40


def collect(dataset: Path) -> dict[str, Any]:
    sources: Counter[str] = Counter()
    values: dict[str, set[str]] = {name: set() for name in LABEL_FIELDS}
    words: dict[str, Counter[str]] = {name: Counter() for name in WORD_FIELDS}
    missing: Counter[str] = Counter()
    grounding: dict[str, Counter[str]] = {}
    count = 0
    for sample in read_valid(dataset, Sample):
        count += 1
        sources[sample.source] += 1
        for name in LABEL_FIELDS:
            value = getattr(sample, name)
            if value is None:
                missing[name] += 1
            else:
                values[name].add(value)
        count_grounding(grounding.setdefault(sample.source, Counter()), sample)
        for name in WORD_FIELDS:
            words[name].update(re.findall(r"[\w-]+", (getattr(sample, name) or "").lower()))
    return {
        "samples": count,
        "sources": dict(sources.most_common()),
        "unique": {name: len(found) for name, found in values.items()},
        "missing": {name: missing[name] for name in LABEL_FIELDS},
        "top_words": {name: words[name].most_common(TOP_WORDS) for name in WORD_FIELDS},
        "grounding": grounding_rates(grounding),
    }


def count_grounding(counts: Counter[str], sample: Sample) -> None:
    """Counts a sample's materials and finishes kept, and those grounding nulled."""
    for name in GROUNDED_FIELDS:
        if getattr(sample, name) is not None:
            counts[f"{name} kept"] += 1
        elif name in (sample.grounding or {}):
            counts[f"{name} nulled"] += 1


def grounding_rates(counts: dict[str, Counter[str]]) -> dict[str, dict[str, float | None]]:
    """Per source and field, the share of the model's values the product text supported."""
    rates: dict[str, dict[str, float | None]] = {}
    for source, found in counts.items():
        rates[source] = {}
        for name in GROUNDED_FIELDS:
            kept, nulled = found[f"{name} kept"], found[f"{name} nulled"]
            rates[source][name] = round(kept / (kept + nulled), 3) if kept + nulled else None
    return rates


def funnel(folder: Path) -> list[tuple[str, int, int]]:
    """(stage, read, kept) summed over the `.stats.json` files in `folder`, in pipeline order."""
    totals: dict[str, list[int]] = {}
    for path in folder.glob("*.stats.json"):
        try:
            stats = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError:
            continue
        stage = str(stats.get("stage", "")).split()[0]
        if stage in STAGE_ORDER:
            read_kept = totals.setdefault(stage, [0, 0])
            read_kept[0] += int(stats.get("read", 0))
            read_kept[1] += int(stats.get("added", stats.get("kept", 0)))
    return [(stage, *totals[stage]) for stage in STAGE_ORDER if stage in totals]


def plot_words(words: list[tuple[str, int]], field: str, path: Path) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(12, 4.5), dpi=100)
    if words:
        names, counts = zip(*words, strict=True)
        axes.bar(range(len(names)), counts, color="#3b6ea5")
        axes.set_xticks(range(len(names)), names, rotation=75, ha="right", fontsize=8)
        axes.set_yscale("log")
        axes.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        axes.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axes.set_ylabel("occurrences (log)")
    axes.set_title(f"Top {TOP_WORDS} words in {field}")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def plot_funnel(stages: list[tuple[str, int, int]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 0.6 * len(stages) + 1.2), dpi=100)
    names = [stage for stage, _, _ in stages][::-1]
    axes.barh(names, [read for _, read, _ in stages][::-1], color="#c9d6e8", label="read")
    axes.barh(names, [kept for _, _, kept in stages][::-1], color="#3b6ea5", label="kept")
    for row, (_, read, kept) in enumerate(stages[::-1]):
        axes.text(max(read, kept), row, f"  {kept:,} / {read:,}", va="center", fontsize=9)
    axes.set_title("Items per stage: kept of read")
    axes.legend(loc="lower right")
    axes.margins(x=0.2)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def run_stats(dataset: Path, out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    stats = collect(dataset)
    for field in WORD_FIELDS:
        plot_words(stats["top_words"][field], field, out / f"words_{field}.png")
    stages = funnel(dataset.parent)
    if stages:
        plot_funnel(stages, out / "funnel.png")
        stats["funnel"] = [{"stage": s, "read": r, "kept": k} for s, r, k in stages]
    write_json(out / "stats.json", stats)
    sources = ", ".join(f"{name} {count:,}" for name, count in stats["sources"].items())
    unique = ", ".join(f"{name} {count:,}" for name, count in stats["unique"].items())
    print(
        f"stats: {stats['samples']:,} samples ({sources}); unique values: {unique} -> {out}", file=sys.stderr
    )
    grounded = "; ".join(
        f"{source} " + ", ".join(f"{name} {rate:.0%}" for name, rate in rates.items() if rate is not None)
        for source, rates in stats["grounding"].items()
        if any(rate is not None for rate in rates.values())
    )
    if grounded:
        print(f"stats: grounded (values the product text supports): {grounded}", file=sys.stderr)
    return stats
