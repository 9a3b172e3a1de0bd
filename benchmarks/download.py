"""Download 300 generated product photos from a local server (its own process) with 50 ms latency.

Baseline: ILID's method re-implemented (sequential requests, full decode, area resize, edge padding,
PNG at OpenCV's default level 1). Then `ilid download` with its defaults. Then the CPU cost per image
at zero latency, and the PNG compression levels measured on the written images.
"""

from __future__ import annotations

import io
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from pathlib import Path

import numpy as np
import requests
from PIL import Image, ImageDraw, ImageFilter

from benchmarks.common import ratio_line, timed
from pipeline.download.config import DownloadConfig
from pipeline.download.imaging import prepare_image
from pipeline.download.stage import run_download
from pipeline.jsonio import write_records

COUNT = 300
LATENCY = 0.05


def product_photo(rng: random.Random) -> bytes:
    """A photo-like JPEG: shaded background, a few metallic shapes, sensor noise."""
    width, height = rng.randint(250, 1600), rng.randint(250, 1600)
    gradient = np.linspace(rng.randint(180, 255), rng.randint(120, 200), height)[:, None, None]
    pixels = np.broadcast_to(gradient, (height, width, 3)).astype(np.float32)
    image = Image.fromarray(pixels.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(2, 5)):
        x, y = rng.randint(0, width - 10), rng.randint(0, height - 10)
        box = (
            x,
            y,
            min(width, x + rng.randint(40, width // 2 + 40)),
            min(height, y + rng.randint(40, height // 2 + 40)),
        )
        shade = rng.randint(60, 200)
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=(shade, shade, shade + 10))
    image = image.filter(ImageFilter.GaussianBlur(1.5))
    noisy = np.asarray(image, np.int16) + np.random.default_rng(rng.randint(0, 10**6)).integers(
        -6, 7, (height, width, 3)
    )
    buffer = io.BytesIO()
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def original_method_image(data: bytes, width: int = 512, height: int = 512) -> bytes:
    """ILID's transform: full decode, area resize of the long side to the box, edge padding, PNG."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = image.size
    aspect = w / h
    new_w, new_h = (int(height * aspect), height) if h > w else (width, int(width / aspect))
    image = image.resize((new_w, new_h), Image.Resampling.BOX)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    padded = np.pad(
        np.asarray(image), ((top, height - new_h - top), (left, width - new_w - left), (0, 0)), "edge"
    )
    buffer = io.BytesIO()
    Image.fromarray(padded).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def cpu_per_image(transform, photos: list[bytes]) -> float:
    """CPU milliseconds per image, the best of three passes (this machine's timings are noisy)."""
    passes = []
    for _ in range(3):
        started = time.process_time()
        for photo in photos:
            transform(photo)
        passes.append((time.process_time() - started) / len(photos) * 1000)
    return min(passes)


def original_method(urls: list[str], folder: Path) -> int:
    written = 0
    for index, url in enumerate(urls):
        response = requests.get(url)
        if response.status_code != 200 or not response.headers["content-type"].startswith("image"):
            continue
        (folder / f"{index}.png").write_bytes(original_method_image(response.content))
        written += 1
    return written


def png_levels(images: list[Path]) -> None:
    decoded = [Image.open(path).convert("RGB") for path in images[:60]]
    print("PNG compression level on 60 written 512x512 images:")
    choices = [(level, zlib.Z_DEFAULT_STRATEGY) for level in (0, 1, 3, 6, 9)] + [
        (1, zlib.Z_RLE),
        (6, zlib.Z_RLE),
    ]
    for level, strategy in choices:
        started = time.process_time()
        sizes = []
        for image in decoded:
            buffer = io.BytesIO()
            image.save(buffer, "PNG", compress_level=level, compress_type=strategy)
            sizes.append(buffer.tell())
        per_image = (time.process_time() - started) / len(decoded) * 1000
        name = f"level {level}{' + Z_RLE' if strategy == zlib.Z_RLE else ''}"
        print(f"  {name:15s} {per_image:6.1f} ms/image, {sum(sizes) / len(sizes) / 1024:7.1f} KiB/image")


def main() -> None:
    rng = random.Random(0)
    photos = [product_photo(rng) for _ in range(COUNT)]
    work = Path(tempfile.mkdtemp(prefix="ilid-bench-download-"))
    try:
        photo_folder = work / "photos"
        photo_folder.mkdir()
        for index, photo in enumerate(photos):
            (photo_folder / f"{index}.jpg").write_bytes(photo)
        server = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).with_name("photo_server.py")),
                str(photo_folder),
                str(LATENCY),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            base = server.stdout.readline().strip()
            urls = [f"{base}/img/{index}.jpg" for index in range(COUNT)]
            (work / "baseline").mkdir()
            baseline_s, _ = timed(lambda: original_method(urls, work / "baseline"))
            samples = []
            for url in urls:
                identifier = str(uuid.uuid5(uuid.NAMESPACE_URL, url))
                samples.append(
                    {
                        "id": identifier,
                        "image": f"part/{identifier}.png",
                        "url": url,
                        "label_short": "part",
                        "label_long": "part",
                        "source": "bench",
                    }
                )
            write_records(work / "dataset.json", samples)
            config = DownloadConfig(
                dataset=work / "dataset.json", folder=work / "images", downloaded=work / "downloaded.json"
            )
            ours_s, summary = timed(lambda: run_download(config))
        finally:
            server.kill()
        assert summary.kept == COUNT, summary.line()
        print(
            f"{COUNT} images, {LATENCY * 1000:.0f} ms latency: baseline {COUNT / baseline_s:.1f} images/s, "
            f"ilid {COUNT / ours_s:.1f} images/s"
        )
        print(ratio_line("download", baseline_s, ours_s, target=8))

        cpu_baseline = cpu_per_image(original_method_image, photos)
        cpu_ours = cpu_per_image(lambda photo: prepare_image(photo, 512, 512, 50_000_000), photos)
        print(
            f"CPU per image (decode, resize, encode): baseline {cpu_baseline:.1f} ms, ilid {cpu_ours:.1f} ms "
            f"-> {cpu_baseline / cpu_ours:.2f}x"
        )
        png_levels(sorted((work / "images").rglob("*.png")))
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
