"""The no-GPU fallback labeler: deterministic and extractive, no model at all.

Long label: the cleaned title. Short label: its core phrase (cut before "with", "for", commas, ...),
at most 4 words, keeping the last ones where English puts the noun. Material and finish: the first
phrases of a vocabulary of industrial materials and finishes found in the title and text.
Description: the first sentence of the text, at most 30 words. Numbers and codes are left out.
Answers are ILID's JSON, so the rest of the pipeline cannot tell them apart, but `label_method`
records `rules:json`.
"""

from __future__ import annotations

import json
import re

from pipeline.label.answer import FULL_LIMITS
from pipeline.label.backends import Generation
from pipeline.label.config import LabelConfig
from pipeline.records import RawItem

MATERIALS = [
    "stainless steel",
    "spring steel",
    "tool steel",
    "carbon steel",
    "chrome steel",
    "case-hardened steel",
    "cast iron",
    "grey cast iron",
    "zinc die-cast",
    "die-cast zinc",
    "die-cast aluminium",
    "aluminium",
    "aluminum",
    "brass",
    "bronze",
    "copper",
    "titanium",
    "steel",
    "polyamide",
    "nylon",
    "polypropylene",
    "polyethylene",
    "polyurethane",
    "pom",
    "ptfe",
    "peek",
    "pvc",
    "abs",
    "rubber",
    "nbr",
    "epdm",
    "silicone",
    "plastic",
    "thermoplastic",
    "glass fibre reinforced",
    "wood",
    "ceramic",
    "felt",
    "acrylic glass",
]
FINISHES = [
    "powder coated",
    "powder-coated",
    "zinc plated",
    "zinc-plated",
    "galvanised",
    "galvanized",
    "hot-dip galvanised",
    "chrome plated",
    "chrome-plated",
    "nickel plated",
    "anodised",
    "anodized",
    "black oxide",
    "burnished",
    "brushed",
    "polished",
    "matt",
    "glossy",
    "painted",
    "lacquered",
    "oiled",
    "greased",
    "blank",
    "natural",
    "black",
    "white",
    "grey",
    "gray",
    "red",
    "blue",
    "yellow",
    "green",
    "orange",
    "silver",
    "transparent",
]
CUT_BEFORE = re.compile(
    r"\s+(?:with|for|and|incl\.?|including|according|made of|in)\s+|\s*[,;:(\[/]\s*|\s+-\s+", re.I
)
CODES = re.compile(r"\b[\w.-]*\d[\w.-]*\b")
UNITS = re.compile(r"(?<![\w-])(?:mm|cm|µm|kg|nm|kn|bar|kw|rpm|°c)(?![\w-])", re.I)  # unambiguous only


def without_codes(text: str) -> str:
    """Text without words that hold a digit (ids, codes, sizes), their units, or quotes."""
    text = CODES.sub(" ", text.replace('"', " ").replace("\\", " "))
    return re.sub(r"\s+([,.;:])", r"\1", " ".join(UNITS.sub(" ", text).split()))


def fit_words(text: str, most: int, field: str) -> str | None:
    """At most `most` whole words, within the answer schema's character limit for `field`."""
    limit, words = FULL_LIMITS[field], text.split()[:most]
    kept = words[0][:limit] if words else ""  # a first word longer than the limit is cut
    for word in words[1:]:
        if len(kept) + 1 + len(word) > limit:
            break
        kept = f"{kept} {word}"
    return kept or None


def first_phrase(text: str, vocabulary: list[str]) -> str | None:
    lowered = text.lower()
    found = [
        (match.start(), -len(term), term)
        for term in vocabulary
        for match in [re.search(rf"(?<![\w-]){re.escape(term)}(?![\w-])", lowered)]
        if match
    ]
    return min(found)[2] if found else None


def short_label(title: str) -> str:
    core = CUT_BEFORE.split(title, maxsplit=1)[0].strip() or title
    return " ".join(core.split()[-4:])


def first_sentence(texts: list[str]) -> str | None:
    joined = without_codes(" ".join(texts))
    return fit_words(re.split(r"(?<=[.!?])\s", joined, maxsplit=1)[0].rstrip(".!?"), 30, "description")


def rules_answer(item: RawItem) -> dict[str, str | None]:
    title = without_codes(item.web.label)
    text = " ".join([title, *item.web.data])
    return {
        "label_long": fit_words(title, 12, "label_long"),
        "label_short": fit_words(short_label(title), 4, "label_short") if title else None,
        "description": first_sentence(item.web.data),
        "material": first_phrase(text, MATERIALS),
        "material_finish": first_phrase(text, FINISHES),
    }


class RulesBackend:
    name = "rules"
    default_batch_size = 256

    def __init__(self, config: LabelConfig):
        self.config = config

    def label(self, items: list[RawItem]) -> list[Generation]:
        return [Generation(json.dumps(rules_answer(item), ensure_ascii=False), 0) for item in items]
