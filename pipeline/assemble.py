"""Assemble: merge one shop's post-filtered items into the combined dataset file.

The dataset streams through: its samples are copied as they are (ids kept), then the new items are
appended unless their image URL is already present. New ids are uuid5 of the URL, so assembling the
same file twice leaves the dataset byte-identical.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from pipeline.jsonio import read_valid_with_text
from pipeline.records import PostfilteredItem, Sample
from pipeline.stage import Carried, Rejected


class AssembleConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    dataset: Path
    source_tag: str = Field(min_length=1)


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
        # How the labels were made (e.g. "rules:json"), for the report; absent when unknown.
        **({"label_method": item.label_method} if item.label_method else {}),
    )


class Assemble:
    """Carries the existing samples through, then yields the new ones; `existing` and `added` count each."""

    def __init__(self, config: AssembleConfig):
        self.config = config
        self.existing = 0
        self.added = 0

    def notes(self) -> dict[str, int]:
        """The counts the summary adds to read, kept and dropped."""
        return {"existing": self.existing, "added": self.added, "dataset size": self.existing + self.added}

    def __call__(self, items: Iterable[PostfilteredItem]) -> Iterator[Sample | Carried | Rejected]:
        seen: set[str] = set()
        if self.config.dataset.exists():
            # Existing samples are validated, then written back exactly as they were read.
            for sample, text in read_valid_with_text(self.config.dataset, Sample):
                if sample.url in seen:
                    yield Rejected("duplicate_url_in_dataset", sample)
                    continue
                seen.add(sample.url)
                self.existing += 1
                yield Carried(text)
        for item in items:
            if item.url in seen:
                yield Rejected("duplicate_url", item)
                continue
            seen.add(item.url)
            self.added += 1
            yield to_sample(item, self.config.source_tag)
