"""Post-filter: clean the model's fields, drop what is too short, derive folder names (ILID's rules).

Characters outside `[\\w\\s\\-_.]` are removed and whitespace squashed; a field shorter than the
minimum becomes null; labels, material and finish are lower-cased. An item without labels (labeling
failed or was skipped) or whose label becomes too short is dropped with that reason, where ILID's
script crashed. `folder_name` is the short label without dots, words joined by `_`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from pydantic import BaseModel, ConfigDict, Field

from pipeline.records import LabeledItem, PostfilteredItem
from pipeline.stage import Rejected
from pipeline.text import squash_spaces

_NOT_FIELD_CHARACTER = re.compile(r"[^\w\s\-.]")
_NOT_FOLDER_CHARACTER = re.compile(r"[^\w\s\-]")


class PostfilterConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    min_field_length: int = Field(default=4, ge=0)


def folder_name_for(label_short: str) -> str:
    return "_".join(_NOT_FOLDER_CHARACTER.sub("", label_short).split())


class Postfilter:
    def __init__(self, config: PostfilterConfig):
        self.config = config

    def clean(self, value: str | None) -> str | None:
        if value is None:
            return None
        value = squash_spaces(_NOT_FIELD_CHARACTER.sub("", value))
        return value if len(value) >= self.config.min_field_length else None

    def __call__(self, items: Iterable[LabeledItem]) -> Iterator[PostfilteredItem | Rejected]:
        for item in items:
            if item.label_short is None or item.label_long is None:
                reason = "label_failed" if item.label_error or item.response else "not_labeled"
                yield Rejected(reason, item)
                continue
            label_short = self.clean(item.label_short)
            label_long = self.clean(item.label_long)
            if label_short is None or label_long is None:
                yield Rejected("label_too_short", item)
                continue
            label_short, label_long = label_short.lower(), label_long.lower()
            folder_name = folder_name_for(label_short)
            if not folder_name:
                yield Rejected("empty_folder_name", item)
                continue
            material = self.clean(item.material)
            finish = self.clean(item.material_finish)
            fields = item.model_dump()
            fields.update(
                label_short=label_short,
                label_long=label_long,
                description=self.clean(item.description),
                material=material.lower() if material else None,
                material_finish=finish.lower() if finish else None,
                folder_name=folder_name,
            )
            yield PostfilteredItem.model_validate(fields)
