"""`ilid stats`: what a dataset holds, in numbers and in plots.

Counts per source, unique values per field; the top-40 words of `label_short` and `label_long`
(stopwords left out) and the top-40 whole values of `material` and `material_finish`, as bar charts
with each count written on its bar; the source images' aspect ratios when the download manifest lies
beside the dataset; and a funnel of read -> kept per stage, with the drop reasons, when the stages'
`.stats.json` files lie beside the dataset.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from pipeline.jsonio import read_valid, write_json
from pipeline.label.grounding import GROUNDED_FIELDS, grounding_outcomes
from pipeline.manifest import read_manifest, source_size
from pipeline.records import LABEL_FIELDS, Sample

WORD_FIELDS = ("label_short", "label_long")
VALUE_FIELDS = ("material", "material_finish")
STAGE_ORDER = ("crawl", "prefilter", "label", "postfilter", "assemble", "download", "curate")
TOP_WORDS = 40
# Function words that would top every label_long chart and say nothing about the parts.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "with",
        "without",
    ]
)


def collect(dataset: Path) -> tuple[dict[str, Any], list[float]]:
    """The dataset's numbers, and width / height of each sample's source image where the download
    manifest beside the dataset gives its size."""
    manifest = read_manifest(dataset)
    ratios: list[float] = []
    sources: Counter[str] = Counter()
    values: dict[str, set[str]] = {name: set() for name in LABEL_FIELDS}
    words: dict[str, Counter[str]] = {name: Counter() for name in WORD_FIELDS}
    whole: dict[str, Counter[str]] = {name: Counter() for name in VALUE_FIELDS}
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
        grounding.setdefault(sample.source, Counter()).update(grounding_outcomes(dict(sample)))
        for name in WORD_FIELDS:
            found = re.findall(r"[\w-]+", (getattr(sample, name) or "").lower())
            words[name].update(word for word in found if word not in STOPWORDS)
        for name in VALUE_FIELDS:
            value = (getattr(sample, name) or "").strip().lower()
            if value:
                whole[name][value] += 1
        size = source_size(manifest.get(sample.id))
        if size and size[1]:
            ratios.append(size[0] / size[1])
    stats = {
        "samples": count,
        "sources": dict(sources.most_common()),
        "unique": {name: len(found) for name, found in values.items()},
        "missing": {name: missing[name] for name in LABEL_FIELDS},
        "top_words": {name: words[name].most_common(TOP_WORDS) for name in WORD_FIELDS},
        "top_values": {name: whole[name].most_common(TOP_WORDS) for name in VALUE_FIELDS},
        "grounding": grounding_rates(grounding),
    }
    return stats, ratios


def grounding_rates(counts: dict[str, Counter[str]]) -> dict[str, dict[str, float | None]]:
    """Per source and field, the share of the model's values the product text supported."""
    rates: dict[str, dict[str, float | None]] = {}
    for source, found in counts.items():
        rates[source] = {}
        for name in GROUNDED_FIELDS:
            kept, nulled = found[f"{name} kept"], found[f"{name} nulled"]
            rates[source][name] = round(kept / (kept + nulled), 3) if kept + nulled else None
    return rates


@dataclass
class StageCounts:
    stage: str
    read: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)


def funnel(folder: Path) -> list[StageCounts]:
    """Read, kept and drops by reason, summed over the `.stats.json` files in `folder`, in pipeline order."""
    totals: dict[str, StageCounts] = {}
    for path in folder.glob("*.stats.json"):
        try:
            stats = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError:
            continue
        stage = (str(stats.get("stage", "")).split() or [""])[0]
        if stage in STAGE_ORDER:
            counts = totals.setdefault(stage, StageCounts(stage))
            counts.read += int(stats.get("read", 0))
            counts.kept += int(stats.get("added", stats.get("kept", 0)))
            dropped = stats.get("dropped")
            if isinstance(dropped, dict):
                counts.dropped.update({str(k): int(v) for k, v in dropped.items()})
    return [totals[stage] for stage in STAGE_ORDER if stage in totals]


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_counts(counts: list[tuple[str, int]], title: str, unit: str, path: Path) -> None:
    """A bar per word or value, its count (of `unit`) written on it; the axis counts in whole numbers."""
    from matplotlib.ticker import MaxNLocator

    plt = pyplot()
    figure, axes = plt.subplots(figsize=(12, 4.5), dpi=100)
    if counts:
        names, values = zip(*counts, strict=True)
        bars = axes.bar(range(len(names)), values, color="#3b6ea5")
        axes.bar_label(bars, fmt="%d", fontsize=7, padding=1)
        axes.set_xticks(range(len(names)), names, rotation=75, ha="right", fontsize=8)
        axes.margins(y=0.12)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel(unit)
    axes.set_title(title)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def plot_funnel(stages: list[StageCounts], path: Path) -> None:
    """Kept and dropped per stage; the drop reasons written beside each bar; the legend below."""
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(11, 0.62 * len(stages) + 1.6), dpi=100)
    rows = stages[::-1]
    names = [row.stage for row in rows]
    kept = [row.kept for row in rows]
    dropped = [max(0, row.read - row.kept) for row in rows]
    axes.barh(names, kept, color="#3b6ea5", label="kept")
    axes.barh(names, dropped, left=kept, color="#e3a6a1", label="dropped")
    widest = max((row.read for row in rows), default=0) or 1
    for index, row in enumerate(rows):
        reasons = ", ".join(f"{reason} {count:,}" for reason, count in row.dropped.most_common(6))
        if len(row.dropped) > 6:
            reasons += ", ..."
        text = f"  {row.kept:,} of {row.read:,} kept" + (f"; dropped: {reasons}" if reasons else "")
        axes.text(max(row.read, row.kept) + widest * 0.01, index, text, va="center", fontsize=8)
    axes.set_xlim(0, widest * 2.7)
    axes.set_title("Items per stage: kept of read, and why the others were dropped")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def plot_aspect(ratios: list[float], path: Path) -> None:
    """A histogram of source aspect ratios on a log axis (2:1 and 1:2 lie equally far from square)."""
    from matplotlib.ticker import FixedLocator, MaxNLocator

    plt = pyplot()
    figure, axes = plt.subplots(figsize=(8, 3.8), dpi=100)
    bins = np.geomspace(1 / 8, 8, 25)
    axes.hist(np.clip(ratios, bins[0], bins[-1]), bins=bins, color="#3b6ea5", edgecolor="white")
    axes.set_xscale("log")
    ticks = [1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8]
    axes.xaxis.set_major_locator(FixedLocator(ticks))
    axes.set_xticklabels(["1:8", "1:4", "1:2", "1:1", "2:1", "4:1", "8:1"])
    axes.xaxis.set_minor_locator(FixedLocator([]))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("source width : height")
    axes.set_ylabel("images")
    axes.set_title(f"Aspect ratio of the {len(ratios):,} source images")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def write_aspect(ratios: list[float], out: Path, stats: dict[str, Any]) -> None:
    """The aspect-ratio histogram, when the download manifest lies beside the dataset."""
    if ratios:
        plot_aspect(ratios, out / "aspect_ratio.png")
        stats["aspect_ratio"] = {
            "images": len(ratios),
            "median": round(float(np.median(ratios)), 3),
            "wider than 2:1": sum(r > 2 for r in ratios),
            "taller than 1:2": sum(r < 0.5 for r in ratios),
        }


def run_stats(dataset: Path, out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    stats, ratios = collect(dataset)
    for name in WORD_FIELDS:
        words = stats["top_words"][name]
        title = f"Top {TOP_WORDS} words in {name} (stopwords left out)"
        plot_counts(words, title, "occurrences", out / f"words_{name}.png")
    for name in VALUE_FIELDS:
        values = stats["top_values"][name]
        plot_counts(values, f"Top {TOP_WORDS} values of {name}", "samples", out / f"values_{name}.png")
    write_aspect(ratios, out, stats)
    stages = funnel(dataset.parent)
    if stages:
        plot_funnel(stages, out / "funnel.png")
        stats["funnel"] = [
            {
                "stage": row.stage,
                "read": row.read,
                "kept": row.kept,
                "dropped": dict(row.dropped.most_common()),
            }
            for row in stages
        ]
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
