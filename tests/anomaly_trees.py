"""Small trees in the published layouts of MVTec AD, VisA, KolektorSDD and KolektorSDD2.

Every image is grey with a red block where its defect is; the mask marks exactly that block, so a test
can check that a written mask still lies over the defect.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

GREY, RED = (128, 128, 128), (220, 20, 20)


def photo(width: int, height: int, block: tuple[int, int, int, int] | None = None) -> Image.Image:
    image = Image.new("RGB", (width, height), GREY)
    if block:
        image.paste(RED, block)
    return image


def mask_image(
    width: int, height: int, block: tuple[int, int, int, int] | None, value: int = 255
) -> Image.Image:
    values = np.zeros((height, width), np.uint8)
    if block:
        left, top, right, bottom = block
        values[top:bottom, left:right] = value
    return Image.fromarray(values, "L")


def save(image: Image.Image, path: Path, **options) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **options)
    return path


# An oblong image whose defect touches its bottom edge: fitting it into a square pads above and below,
# so the bottom margin repeats the defect's last row.
EDGE_BLOCK = (40, 20, 64, 32)


def mvtec_tree(root: Path, size: tuple[int, int] = (64, 32)) -> Path:
    """bottle and metal_nut, with train/good, test/good, test/scratch (+ masks), and faults: an image
    without its mask, a mask without its image, an unreadable image."""
    width, height = size
    for category in ("bottle", "metal_nut"):
        base = root / category
        for index in range(2):
            save(photo(width, height), base / "train" / "good" / f"{index:03d}.png")
        save(photo(width, height), base / "test" / "good" / "000.png")
        for index in range(2):
            save(photo(width, height, EDGE_BLOCK), base / "test" / "scratch" / f"{index:03d}.png")
            save(
                mask_image(width, height, EDGE_BLOCK),
                base / "ground_truth" / "scratch" / f"{index:03d}_mask.png",
            )
    metal = root / "metal_nut"
    save(photo(width, height, EDGE_BLOCK), metal / "test" / "color" / "000.png")  # no mask
    save(mask_image(width, height, EDGE_BLOCK), metal / "ground_truth" / "flip" / "000_mask.png")  # no image
    (metal / "test" / "good" / "001.png").write_bytes(b"not a png at all")
    return root


VISA_BLOCK = (10, 10, 30, 20)
VISA_SECOND = (40, 30, 50, 40)


def visa_tree(root: Path) -> Path:
    """candle: 3 normal (2 train, 1 test), 2 anomalies (class 1; classes 1 and 5), a split csv."""
    rows = []
    base = root / "candle" / "Data"
    for index in range(3):
        name = f"{index:04d}.JPG"
        save(photo(60, 48), base / "Images" / "Normal" / name, format="JPEG", quality=95)
        split = "train" if index < 2 else "test"
        rows.append(["candle", split, "normal", f"candle/Data/Images/Normal/{name}", ""])
    for index, blocks in enumerate([[(VISA_BLOCK, 1)], [(VISA_BLOCK, 1), (VISA_SECOND, 5)]]):
        name = f"{index:03d}"
        image = photo(60, 48)
        values = np.zeros((48, 60), np.uint8)
        for (left, top, right, bottom), value in blocks:
            image.paste(RED, (left, top, right, bottom))
            values[top:bottom, left:right] = value
        save(image, base / "Images" / "Anomaly" / f"{name}.JPG", format="JPEG", quality=95)
        save(Image.fromarray(values, "L"), base / "Masks" / "Anomaly" / f"{name}.png")
        rows.append(
            [
                "candle",
                "test",
                "anomaly",
                f"candle/Data/Images/Anomaly/{name}.JPG",
                f"candle/Data/Masks/Anomaly/{name}.png",
            ]
        )
    split_csv = root / "split_csv" / "1cls.csv"
    split_csv.parent.mkdir(parents=True)
    with split_csv.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["object", "split", "label", "image", "mask"])
        writer.writerows(rows)
    return root


KSDD_BLOCK = (5, 40, 15, 60)


def kolektorsdd_tree(root: Path, folders: int = 3, parts: int = 4) -> Path:
    """kos01.. with grey JPEG parts; Part1 of every folder is defective, the rest have empty masks."""
    for folder in range(1, folders + 1):
        base = root / f"kos{folder:02d}"
        for part in range(parts):
            block = KSDD_BLOCK if part == 1 else None
            save(photo(20, 100, block).convert("L"), base / f"Part{part}.jpg", format="JPEG", quality=95)
            save(mask_image(20, 100, block), base / f"Part{part}_label.bmp")
    return root


def kolektorsdd2_tree(root: Path) -> Path:
    """train: 2 defect-free, 1 defective; test: 1 defect-free, 1 defective."""
    layout = {"train": [None, None, KSDD_BLOCK], "test": [None, KSDD_BLOCK]}
    number = 10000
    for split, blocks in layout.items():
        for block in blocks:
            save(photo(20, 100, block), root / split / f"{number}.png")
            save(mask_image(20, 100, block), root / split / f"{number}_GT.png")
            number += 1
    return root
