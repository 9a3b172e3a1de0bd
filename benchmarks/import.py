"""`ilid import mvtec` on a generated MVTec AD tree of 1024 x 1024 PNGs, against a plain loop.

The tree: `--count` images (2,000 by default) over two categories, a tenth of them defective test
images with masks. Baseline: the loop anyone would write first, in the same run over the same files:
open, convert to RGB, resize to 512 x 512 (bicubic), save as PNG with Pillow's defaults. ilid: the
import stage as `ilid import mvtec` runs it (fit, pad, PNG, masks, records, a thread per core).
Prints images/s for both and the ratio.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from pipeline.anomaly.importer import ImportConfig, run_import

SIZE = 1024
DISTINCT = 8  # distinct photos, written under many names: decoding costs the same, generating less


def inspection_photo(rng: random.Random) -> tuple[bytes, bytes]:
    """A photo-like PNG (shaded background, a part, sensor noise) and the PNG of a defect mask."""
    gradient = np.linspace(rng.randint(150, 220), rng.randint(60, 140), SIZE)[:, None, None]
    pixels = np.broadcast_to(gradient, (SIZE, SIZE, 3)).astype(np.float32)
    image = Image.fromarray(pixels.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    centre, radius = SIZE // 2, rng.randint(250, 400)
    draw.ellipse((centre - radius,) * 2 + (centre + radius,) * 2, fill=(rng.randint(90, 200),) * 3)
    draw.ellipse((centre - 80,) * 2 + (centre + 80,) * 2, fill=(30, 30, 30))
    image = image.filter(ImageFilter.GaussianBlur(2))
    noise = np.random.default_rng(rng.randint(0, 1 << 30)).normal(0, 4, (SIZE, SIZE, 3))
    image = Image.fromarray(np.clip(np.asarray(image) + noise, 0, 255).astype(np.uint8))
    mask = Image.new("L", (SIZE, SIZE), 0)
    left, top = rng.randint(200, 700), rng.randint(200, 700)
    ImageDraw.Draw(mask).rectangle((left, top, left + 60, top + 25), fill=255)
    return encode(image), encode(mask)


def encode(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def build_tree(root: Path, count: int) -> list[Path]:
    rng = random.Random(0)
    photos = [inspection_photo(rng) for _ in range(DISTINCT)]
    paths = []
    for index in range(count):
        image, mask = photos[index % DISTINCT]
        category = ("bottle", "metal_nut")[index % 2]
        defective = index % 10 == 9
        folder = root / category / ("test/scratch" if defective else "train/good")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{index:05d}.png"
        path.write_bytes(image)
        if defective:
            truth = root / category / "ground_truth" / "scratch"
            truth.mkdir(parents=True, exist_ok=True)
            (truth / f"{index:05d}_mask.png").write_bytes(mask)
        paths.append(path)
    return paths


def plain_loop(paths: list[Path], out: Path) -> float:
    out.mkdir(parents=True)
    started = time.perf_counter()
    for index, path in enumerate(paths):
        Image.open(path).convert("RGB").resize((512, 512), Image.Resampling.BICUBIC).save(
            out / f"{index}.png"
        )
    return time.perf_counter() - started


def ilid_import(root: Path, out: Path) -> float:
    config = ImportConfig(format="mvtec", root=root, output=out / "ds.json", images=out / "images")
    started = time.perf_counter()
    summary = run_import(config)
    seconds = time.perf_counter() - started
    assert summary.notes["written"] == sum(1 for _ in root.rglob("*.png")) - summary.notes["masks"]
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="Images in the generated tree.")
    count = parser.parse_args().count
    work = Path(tempfile.mkdtemp(prefix="ilid-import-bench-"))
    try:
        paths = build_tree(work / "mvtec", count)
        baseline = plain_loop(paths, work / "plain")
        ours = ilid_import(work / "mvtec", work / "ilid")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"import mvtec, {count:,} images of {SIZE}x{SIZE} -> 512x512, {os.cpu_count()} cores:")
    print(f"  plain decode-resize-encode loop: {count / baseline:,.1f} images/s ({baseline:.1f}s)")
    print(f"  ilid import mvtec:               {count / ours:,.1f} images/s ({ours:.1f}s)")
    print(f"  ratio: {baseline / ours:.2f}x")


if __name__ == "__main__":
    main()
