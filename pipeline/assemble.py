"""Assemble: merge one shop's post-filtered items into the combined dataset file.

The shop's items are read first (one shop, held by image URL); then the dataset streams through: its
samples are copied as they are (ids kept), except a sample of this shop whose item now says something
else, which is updated in place (same id and image, the item's label fields), and, with `drop_gone`,
a sample of this shop that the items no longer hold, which is dropped (`gone`). Items whose image URL
is not in the dataset are appended. New ids are uuid5 of the URL, so assembling the same file twice
leaves the dataset byte-identical.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from pipeline.jsonio import read_valid_with_text
from pipeline.records import LABEL_FIELDS, PostfilteredItem, Sample
from pipeline.stage import Carried, Rejected


class AssembleConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    dataset: Path
    source_tag: str = Field(min_length=1)
    drop_gone: bool = False  # drop this shop's samples that its items no longer hold


def sample_id(url: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, url))


def to_sample(item: PostfilteredItem, source: str) -> Sample:
    identifier = sample_id(item.url)
    return Sample(
        id=identifier,
        image=f"{item.folder_name}/{identifier}.png",
        url=item.url,
        label_short=item.label_short,
        label_long=item.label_long,
        description=item.description,
        material=item.material,
        material_finish=item.material_finish,
        source=source,
        grounding=item.grounding,
        # How the labels were made (e.g. "rules:json"), for the report; absent when unknown.
        **({"label_method": item.label_method} if item.label_method else {}),
    )


def updated(sample: Sample, item: PostfilteredItem) -> Sample:
    """The sample with the item's label fields; its id, image path and other fields stay."""
    return Sample.model_validate({**sample.to_json(), **{name: getattr(item, name) for name in LABEL_FIELDS}})


class Assemble:
    """Carries the existing samples through (updating or dropping this shop's), then yields the new ones;
    `existing`, `updated`, `gone` and `added` count each."""

    def __init__(self, config: AssembleConfig):
        self.config = config
        self.existing = 0
        self.updated = 0
        self.gone = 0
        self.added = 0

    def notes(self) -> dict[str, int]:
        """The counts the summary adds to read, kept and dropped."""
        notes = {"existing": self.existing, "added": self.added}
        if self.updated or self.gone:
            notes |= {"updated": self.updated, "gone": self.gone}
        return notes | {"dataset size": self.existing + self.updated + self.added}

    def __call__(self, items: Iterable[PostfilteredItem]) -> Iterator[Sample | Carried | Rejected]:
        incoming: dict[str, PostfilteredItem] = {}
        for item in items:
            if item.url in incoming:
                yield Rejected("duplicate_url", item)
            else:
                incoming[item.url] = item
        seen: set[str] = set()
        if self.config.dataset.exists():
            # Existing samples are validated, then written back exactly as they were read.
            for sample, text in read_valid_with_text(self.config.dataset, Sample):
                if sample.url in seen:
                    yield Rejected("duplicate_url_in_dataset", sample)
                    continue
                seen.add(sample.url)
                yield from self.merged(sample, text, incoming.pop(sample.url, None))
        for item in incoming.values():
            self.added += 1
            yield to_sample(item, self.config.source_tag)

    def merged(
        self, sample: Sample, text: str, item: PostfilteredItem | None
    ) -> Iterator[Sample | Carried | Rejected]:
        """An existing sample, given this shop's item for its image URL (None when there is none)."""
        ours = sample.source == self.config.source_tag
        if item is None and ours and self.config.drop_gone:
            self.gone += 1
            yield Rejected("gone", sample)
            return
        if item is not None and ours and (new := updated(sample, item)) != sample:
            self.updated += 1
            yield new
            return
        if item is not None:
            yield Rejected("duplicate_url", item)  # already in the dataset, as it is
        self.existing += 1
        yield Carried(text)
