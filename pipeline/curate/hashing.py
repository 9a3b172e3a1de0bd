"""Image fingerprints: sha256 of bytes (exact copies) and imagehash's 64-bit DCT hash (near copies)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from pathlib import Path

import imagehash
from PIL import Image, UnidentifiedImageError


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def perceptual_hash(path: Path) -> int | None:
    """imagehash's pHash as an unsigned 64-bit integer; None when the file is not a readable image."""
    try:
        with Image.open(path) as image:
            return int(str(imagehash.phash(image)), 16)
    except (OSError, UnidentifiedImageError, ValueError):
        return None


def perceptual_hashes(paths: Iterable[Path], workers: int | None = None) -> Iterator[int | None]:
    """pHashes in input order; Pillow decodes and resizes without the GIL, so threads overlap.
    Paths are taken a chunk at a time, so memory does not grow with their number."""
    remaining = iter(paths)
    with ThreadPoolExecutor(workers or os.cpu_count() or 1, thread_name_prefix="phash") as pool:
        while chunk := list(islice(remaining, 1024)):
            yield from pool.map(perceptual_hash, chunk)
