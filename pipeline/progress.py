"""Progress bars for long work: items/s and an ETA, on stderr, quiet when stderr is not a terminal."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

from pipeline.jsonio import JsonReader

T = TypeVar("T")


def progress(
    items: Iterable[T] | None, description: str, total: int | None = None, unit: str = "items"
) -> tqdm:
    """A bar over a known number of items (None: a bar updated by hand)."""
    return tqdm(items, desc=description, total=total, unit=f" {unit}", file=sys.stderr, disable=None)


def stream_progress(items: Iterable[T], reader: JsonReader, description: str) -> Iterator[T]:
    """A bar over a file read as a stream: the bytes read give the ETA, the count gives items/s."""
    bar = tqdm(
        total=reader.size,
        desc=description,
        unit="B",
        unit_scale=True,
        file=sys.stderr,
        disable=None,
        bar_format="{desc}: {percentage:3.0f}%|{bar:20}| {postfix} [{elapsed}<{remaining}]",
    )
    started = time.monotonic()
    count = 0
    shown = 0
    try:
        for item in items:
            count += 1
            yield item
            if count % 500 == 0:
                bar.update(reader.bytes_read - shown)
                shown = reader.bytes_read
                rate = count / max(time.monotonic() - started, 1e-9)
                bar.set_postfix_str(f"{count:,} items, {rate:,.0f} items/s", refresh=False)
        bar.update(reader.bytes_read - shown)
        bar.set_postfix_str(f"{count:,} items", refresh=False)
    finally:
        bar.close()
