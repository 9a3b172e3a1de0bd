"""Curate: the near-duplicate search, and how its default distance was chosen.

1. Speed: multi-index hashing over 1,000,000 random 64-bit hashes (with planted near copies) against
   brute force (every pair, numpy row by row) on 20,000, extrapolated quadratically to 1,000,000,
   at the default `--near-distance`.
2. Calibration of `--near-distance`: pHashes (imagehash, on the 512 x 512 padded PNG the download
   stage writes) of product photos (the demo catalog's 35 drawn product photos, 100 noisy photo-like
   pictures, matplotlib's sample photograph) against the same photo re-encoded, resized, brightened or
   cropped; for each distance, the share of copies found and of distinct pairs wrongly matched.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import imagehash
import numpy as np
from matplotlib import cbook
from PIL import Image, ImageEnhance

from benchmarks.common import ratio_line, timed
from benchmarks.download import product_photo
from pipeline.curate.config import DEFAULT_NEAR_DISTANCE as DISTANCE
from pipeline.curate.nearindex import brute_force_pairs, near_pairs
from pipeline.demo.catalog import PRODUCTS, image_bytes
from pipeline.download.imaging import prepare_image

COUNT = 1_000_000
BASELINE_COUNT = 20_000


def planted_hashes(count: int, rng: np.random.Generator) -> np.ndarray:
    """Random hashes, one in a hundred a copy of another with up to 12 bits flipped."""
    hashes = rng.integers(0, 2**64 - 1, count, dtype=np.uint64, endpoint=True)
    copies = rng.integers(0, count, (count // 100, 2))
    for source, target in copies:
        flips = rng.choice(64, rng.integers(0, 13), replace=False)
        hashes[target] = hashes[source] ^ np.uint64(sum(1 << int(bit) for bit in flips))
    return hashes


def speed() -> None:
    rng = np.random.default_rng(0)
    small = planted_hashes(BASELINE_COUNT, rng)
    brute_s, expected = timed(lambda: brute_force_pairs(small, DISTANCE))
    index_small_s, found = timed(lambda: near_pairs(small, DISTANCE))
    assert all(np.array_equal(a, b) for a, b in zip(expected, found, strict=True)), "index != brute force"
    print(f"{BASELINE_COUNT:,} hashes: brute force {brute_s:.1f}s, index {index_small_s:.2f}s, same pairs")
    big = planted_hashes(COUNT, rng)
    index_s, (left, _, _) = timed(lambda: near_pairs(big, DISTANCE))
    extrapolated = brute_s * (COUNT / BASELINE_COUNT) ** 2
    print(f"{COUNT:,} hashes within {DISTANCE} bits: {len(left):,} pairs in {index_s:.0f}s")
    name = f"near-duplicate search, {COUNT:,} hashes (brute force extrapolated)"
    print(ratio_line(name, extrapolated, index_s))


def encode(image: Image.Image, format: str = "JPEG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return buffer.getvalue()


def copies(photo: bytes) -> dict[str, bytes]:
    image = Image.open(io.BytesIO(photo)).convert("RGB")
    width, height = image.size
    margin_x, margin_y = width * 3 // 100, height * 3 // 100
    return {
        "png": encode(image, "PNG"),
        "jpeg q50": encode(image, quality=50),
        "half size": encode(image.resize((width // 2, height // 2)), quality=85),
        "brighter 10%": encode(ImageEnhance.Brightness(image).enhance(1.1), quality=90),
        "crop 3%": encode(image.crop((margin_x, margin_y, width - margin_x, height - margin_y)), quality=90),
    }


def phash(data: bytes) -> int:
    padded = prepare_image(data, 512, 512, 10**9).png
    return int(str(imagehash.phash(Image.open(io.BytesIO(padded)))), 16)


def calibration() -> None:
    rng = random.Random(0)
    own = [(index, product) for index, product in enumerate(PRODUCTS) if product.photo == "own"]
    photos = [image_bytes(product, index)[0] for index, product in own]
    photos += [product_photo(rng) for _ in range(100)]
    photos.append(Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).read_bytes())
    originals = [phash(photo) for photo in photos]
    same: dict[str, list[int]] = {}
    for original, photo in zip(originals, photos, strict=True):
        for name, copy in copies(photo).items():
            same.setdefault(name, []).append((original ^ phash(copy)).bit_count())
    distinct = [(a ^ b).bit_count() for i, a in enumerate(originals) for b in originals[i + 1 :]]
    every_copy = np.array([d for found in same.values() for d in found])
    print(f"\npHash distance of {len(photos)} photos to copies, and of {len(distinct):,} distinct pairs")
    print("distance  " + "  ".join(f"{name:>12}" for name in same) + "  all copies  distinct pairs")
    for distance in (0, 2, 4, 6, 8, 10, 12, 14, 16):
        shares = "  ".join(f"{np.mean(np.array(found) <= distance):12.0%}" for found in same.values())
        wrong = int(np.sum(np.array(distinct) <= distance))
        print(f"{distance:8d}  {shares}  {np.mean(every_copy <= distance):10.0%}  {wrong:13,d}")


if __name__ == "__main__":
    calibration()
    speed()
