"""The records that flow between stages; the only place a field is named.

Field names are ILID's. Every model accepts the files the original ILID scripts wrote, and keeps
fields it does not know (a spider's schema.org extras, say) so that a round trip loses nothing.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

LABEL_FIELDS = ("label_short", "label_long", "description", "material", "material_finish")


class Record(BaseModel):
    model_config = ConfigDict(extra="allow")

    # Optional fields left out of the output while unset, so files keep the shape ILID's tools expect.
    omit_when_none: ClassVar[frozenset[str]] = frozenset()

    def to_json(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        for name in self.omit_when_none:
            if data.get(name) is None:
                data.pop(name, None)
        return data


class WebText(BaseModel):
    """What a spider read on a product page: its title and its description snippets."""

    model_config = ConfigDict(extra="allow")

    label: str
    data: list[str]


class RawItem(Record):
    """A spider's output: `url` is the product's *image* URL, as in ILID."""

    omit_when_none: ClassVar[frozenset[str]] = frozenset({"page", "source", "crawled_at"})

    url: str
    web: WebText
    page: str | None = None
    source: str | None = None
    crawled_at: str | None = None


class LabeledItem(RawItem):
    """A raw item plus the model's answer; items skipped by `--debug` sampling carry no labels."""

    omit_when_none: ClassVar[frozenset[str]] = RawItem.omit_when_none | {
        "label_error",
        "label_method",
        "grounding",
    }

    response: list[str] | str | None = None
    label_short: str | None = None
    label_long: str | None = None
    description: str | None = None
    material: str | None = None
    material_finish: str | None = None
    label_error: str | None = None
    label_method: str | None = None
    # Materials and finishes the product text did not support, nulled by grounding: field -> value.
    grounding: dict[str, str] | None = None


class PostfilteredItem(LabeledItem):
    label_short: str
    label_long: str
    folder_name: str = Field(min_length=1)


class Sample(Record):
    """One sample of the combined dataset (`ilid.json`)."""

    omit_when_none: ClassVar[frozenset[str]] = frozenset({"grounding"})

    id: str
    image: str
    url: str
    label_short: str
    label_long: str
    description: str | None = None
    material: str | None = None
    material_finish: str | None = None
    source: str
    grounding: dict[str, str] | None = None


RECORD_KINDS: dict[str, type[Record]] = {
    "raw": RawItem,
    "labeled": LabeledItem,
    "postfiltered": PostfilteredItem,
    "dataset": Sample,
}


def guess_kind(record: dict[str, Any]) -> str:
    """The most specific record kind whose tell-tale key the record has."""
    if "id" in record and "image" in record:
        return "dataset"
    if "folder_name" in record:
        return "postfiltered"
    if any(name in record for name in (*LABEL_FIELDS, "response")):
        return "labeled"
    return "raw"


class AnomalySample(Sample):
    """A sample imported from an anomaly-detection dataset (`ilid import`): its split, its defect type
    (null when defect-free) and its mask's image path (null without a defect)."""

    split: str = Field(pattern="^(train|test)$")
    defect: str | None = None
    mask: str | None = None
