"""Pre-filter: ILID's cleaning of raw spider items, in its order, without its blind spots.

Steps: drop duplicate image URLs (first wins); drop items whose label is blank; drop blank snippets
and items left with none; whitespace (escape sequences included) becomes single spaces; remove the
user's trade-name regex (case-insensitive); remove digit runs. Whitespace is normalised before
emptiness is judged, and an item that the removals leave without a label or data is dropped.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator

from pydantic import BaseModel, ConfigDict, field_validator

from pipeline.errors import IlidError
from pipeline.records import RawItem
from pipeline.stage import Rejected
from pipeline.text import squash_spaces

_DIGITS = re.compile(r"\d+")


class PrefilterConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    regex: str | None = None
    keep_numbers: bool = False

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value:
            try:
                re.compile(value)
            except re.error as error:
                raise IlidError(f"--regex {value!r}: not a valid regular expression: {error}") from None
        return value or None


class Prefilter:
    def __init__(self, config: PrefilterConfig):
        self.config = config
        self._trade_names = re.compile(config.regex, re.IGNORECASE) if config.regex else None

    def clean(self, text: str) -> str:
        if self._trade_names:
            text = self._trade_names.sub("", text)
        if not self.config.keep_numbers:
            text = _DIGITS.sub("", text)
        return squash_spaces(text)

    def __call__(self, items: Iterable[RawItem]) -> Iterator[RawItem | Rejected]:
        # 16-byte digests instead of the URLs themselves keep the memory per item small and fixed.
        seen: set[bytes] = set()
        for item in items:
            digest = hashlib.blake2b(item.url.encode(), digest_size=16).digest()
            if digest in seen:
                yield Rejected("duplicate_url", item)
                continue
            seen.add(digest)

            label = squash_spaces(item.web.label)
            if not label:
                yield Rejected("empty_label", item)
                continue
            data = [snippet for snippet in map(squash_spaces, item.web.data) if snippet]
            if not data:
                yield Rejected("empty_data", item)
                continue

            label = self.clean(label)
            if not label:
                yield Rejected("label_emptied_by_cleaning", item)
                continue
            data = [snippet for snippet in map(self.clean, data) if snippet]
            if not data:
                yield Rejected("data_emptied_by_cleaning", item)
                continue
            yield item.model_copy(update={"web": item.web.model_copy(update={"label": label, "data": data})})
