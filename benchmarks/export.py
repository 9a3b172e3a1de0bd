"""`ilid export` images/s per format against a plain copy of the same image files, in the same run.

The images are 512 x 512 PNGs as the download writes them (a few distinct photo-like ones, written
under every sample's path: copying cost depends on bytes, not content). The baseline copies every
listed file into a fresh folder (`shutil.copyfile`, what `cp -r images/` does); each export reads the
dataset, captions and checks every sample, and writes its format into a temporary folder it renames.
The files are read once before timing, so every variant reads from the page cache; the file system
is synced between variants, so none pays for the writeback of the one before. The libraries the
formats import (webdataset imports torch) are imported first and timed on their own: a one-off cost
per run, printed apart from the throughput.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import random
import shutil
import tempfile
import uuid
from pathlib import Path

from benchmarks.common import MATERIALS, PARTS, timed
from benchmarks.download import product_photo
from pipeline.download.imaging import prepare_image
from pipeline.export.stage import ExportConfig, run_export
from pipeline.jsonio import write_records


def build(root: Path, count: int) -> tuple[Path, Path, list[Path]]:
    rng = random.Random(0)
    photos = [prepare_image(product_photo(rng), 512, 512, 50_000_000).png for _ in range(8)]
    images, samples, files = root / "images", [], []
    for index in range(count):
        part = rng.choice(PARTS)
        identifier = str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://shop.example/{index}.jpg"))
        image = f"{part.replace(' ', '_')}/{identifier}.png"
        path = images / image
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(photos[index % len(photos)])
        files.append(path)
        samples.append(
            {
                "id": identifier,
                "image": image,
                "url": f"https://shop.example/{index}.jpg",
                "label_short": part,
                "label_long": f"{part} for machines",
                "description": "A part.",
                "material": rng.choice(MATERIALS),
                "material_finish": None,
                "source": "shop",
            }
        )
    dataset = root / "dataset.json"
    write_records(dataset, samples)
    return dataset, images, files


def plain_copy(files: list[Path], images: Path, target: Path) -> None:
    for path in files:
        destination = target / path.relative_to(images)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ilid-bench-export-") as temporary:
        root = Path(temporary)
        dataset, images, files = build(root, args.images)
        megabytes = sum(path.stat().st_size for path in files) / 2**20
        for path in files:
            path.read_bytes()
        for module in ("webdataset", "pyarrow.parquet", "pandas"):
            seconds, _ = timed(lambda module=module: importlib.import_module(module))
            print(f"import {module}: {seconds:.2f}s (once per run)")
        copy_s, _ = timed(lambda: plain_copy(files, images, root / "copy"))
        os.sync()  # the copy's writeback is not charged to the exports that follow
        print(f"{args.images:,} PNGs, {megabytes:,.0f} MiB; plain copy {args.images / copy_s:,.0f} images/s")
        for name in ("industrial-clip", "webdataset", "hf", "csv", "img2dataset"):
            config = ExportConfig(format=name, dataset=dataset, images=images, out=root / "out" / name)
            with contextlib.redirect_stderr(io.StringIO()):
                seconds, summary = timed(lambda config=config: run_export(config))
            assert summary.kept == args.images, summary.line()
            os.sync()
            rate = args.images / seconds
            note = "  (no images: the parquet only)" if name == "img2dataset" else ""
            print(f"export {name:15s} {rate:8,.0f} images/s = {copy_s / seconds:5.2f}x the copy{note}")


if __name__ == "__main__":
    main()
