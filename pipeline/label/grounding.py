"""Grounding: a material or finish stays only if the product's own text supports it.

A value is supported when one of its content words, or an equivalent from `data/equivalents.txt`
(aluminium/aluminum, stainless/inox/Edelstahl, zinc-plated/verzinkt, black/schwarz, ...), appears in
`web.label` or `web.data`. Words are compared lower-cased, diacritics folded (ü and ue alike), with
simple plural and -ed/-ing endings cut; a word of five letters or more also counts inside a longer
one, as German compounds hold it ("Messingmutter" supports brass). Unsupported values become null and
the record keeps them under `grounding` (`{"material": "titanium"}`).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any

from pipeline.records import RawItem

GROUNDED_FIELDS = ("material", "material_finish")
# Words that say what kind of value it is rather than which one.
GENERIC_WORDS = (
    "a",
    "an",
    "and",
    "or",
    "of",
    "with",
    "the",
    "in",
    "on",
    "made",
    "material",
    "finish",
    "finished",
    "surface",
    "colour",
    "color",
    "coloured",
    "colored",
    "treated",
    "plated",
    "coated",
)
COMPOUND_PART = 5  # a word this long also counts inside a longer word


def fold(text: str) -> str:
    """Lower-case ASCII: diacritics dropped, ß as ss, German ae/oe/ue spelled as the plain vowel."""
    text = unicodedata.normalize("NFKD", text.lower().replace("ß", "ss"))
    text = "".join(char for char in text if not unicodedata.combining(char))
    return re.sub(r"([aou])e", r"\1", text)


def stem(word: str) -> str:
    """The word without a plural or -ed/-ing ending: coatings, coated -> coat; brasses -> brass."""
    if word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("es") and word[:-2].endswith(("ss", "x", "z", "ch", "sh")):
        return word[:-2]
    for ending, shortest in (("ing", 6), ("ed", 5), ("s", 4)):
        if word.endswith(ending) and len(word) >= shortest:
            return stem(word[: -len(ending)]) if ending == "s" else word[: -len(ending)]
    return word


GENERIC = frozenset(map(stem, GENERIC_WORDS))


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", fold(text))


@cache
def equivalents() -> tuple[tuple[tuple[str, ...], ...], ...]:
    """The shipped groups, each a tuple of phrases, each phrase a tuple of folded words."""
    text = resources.files("pipeline.label").joinpath("data/equivalents.txt").read_text(encoding="utf-8")
    groups = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            groups.append(tuple(tuple(words(phrase)) for phrase in line.split(",") if words(phrase)))
    return tuple(groups)


class ProductText:
    """The words of one product's title and text, for asking whether a phrase appears there."""

    def __init__(self, item: RawItem):
        self.words = set(words(" ".join([item.web.label, *item.web.data])))
        self.stems = {stem(word) for word in self.words}

    def has_word(self, word: str) -> bool:
        if stem(word) in self.stems:
            return True
        return len(word) >= COMPOUND_PART and any(word in found for found in self.words)

    def has_phrase(self, phrase: tuple[str, ...]) -> bool:
        return all(self.has_word(word) for word in phrase)


def supported(value: str, text: ProductText) -> bool:
    """Whether a content word of `value`, or an equivalent of a phrase in it, appears in `text`."""
    value_words = words(value)
    content = [word for word in value_words if stem(word) not in GENERIC] or value_words
    if any(text.has_word(word) for word in content):
        return True
    named = {stem(word) for word in value_words}
    return any(
        text.has_phrase(phrase)
        for group in equivalents()
        if any({stem(word) for word in member} <= named for member in group)
        for phrase in group
    )


def ground(item: RawItem, fields: dict[str, str | None]) -> tuple[dict[str, str | None], dict[str, str]]:
    """`fields` with unsupported materials and finishes as null, and what was removed."""
    text = ProductText(item)
    removed = {
        name: value
        for name in GROUNDED_FIELDS
        if (value := fields.get(name)) is not None and not supported(value, text)
    }
    return {**fields, **dict.fromkeys(removed)}, removed


def grounding_outcomes(record: Mapping[str, Any]) -> Iterator[str]:
    """Per grounded field of a labeled record or sample: "NAME kept" when it holds a value, "NAME
    nulled" when grounding removed it."""
    removed = record.get("grounding") or {}
    for name in GROUNDED_FIELDS:
        if record.get(name) is not None:
            yield f"{name} kept"
        elif name in removed:
            yield f"{name} nulled"


def grounding_counts(records: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Per grounded field, how many labeled records kept a value and how many had it nulled."""
    counts = Counter(outcome for record in records for outcome in grounding_outcomes(record))
    return {
        f"{name} {outcome}": counts[f"{name} {outcome}"]
        for name in GROUNDED_FIELDS
        for outcome in ("kept", "nulled")
    }
