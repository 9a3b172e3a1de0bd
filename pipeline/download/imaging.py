"""Turn downloaded bytes into ILID's image: fit inside W x H, pad by repeating the edge, 8-bit RGB PNG.

Decoding is guarded: the pixel count is checked from the header before any pixel is decoded, so a
decompression bomb costs nothing. Large JPEGs are decoded at a reduced DCT scale (`draft`) when the
target is much smaller, which makes them several times cheaper without visible loss. Resizing is
bicubic, the filter CLIP's own preprocessing uses (a quarter cheaper than Lanczos, measured).
A `PixelBudget` shared by the workers bounds the pixels decoded at once, so a batch of huge images
waits its turn instead of multiplying memory by the number of workers.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import io
import threading
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Measured in benchmarks/download.py on 512x512 product photos: zlib level 1 with the run-length
# strategy writes files ~4% larger than level 6 at a quarter of its encode time (and 13% smaller
# than level 1's default strategy at the same speed); level 9 costs 15x for 4% less. See the README.
PNG_COMPRESS_LEVEL = 1
PNG_COMPRESS_TYPE = zlib.Z_RLE
EXIF_ORIENTATION = 0x0112
ROTATED_ORIENTATIONS = {5, 6, 7, 8}


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
MMAP_THRESHOLD_BYTES = 8 << 20


def return_freed_images_to_the_system() -> None:
    """Has glibc serve allocations of 8 MB or more (a huge image's 16 MB blocks; an ordinary photo
    stays below) straight from the system, and give them back when freed. By default glibc raises that
    threshold after the first large free, and each worker thread's heap then keeps the peak of the
    largest image it decoded: measured, eight 7000 x 7000 PNGs peaked at 6.6 GB, 1.0 GB with this."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        if libc is not None and hasattr(libc, "mallopt"):
            libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    except OSError:  # not glibc: nothing to tune
        pass


class PixelBudget:
    """Pixels being decoded across threads, at most `limit`; one image larger than the whole budget
    runs alone."""

    def __init__(self, limit: int):
        self.limit = limit
        self._used = 0
        self._free = threading.Condition()

    @contextlib.contextmanager
    def hold(self, pixels: int) -> Iterator[None]:
        weight = min(pixels, self.limit)
        with self._free:
            self._free.wait_for(lambda: self._used + weight <= self.limit)
            self._used += weight
        try:
            yield
        finally:
            with self._free:
                self._used -= weight
                self._free.notify_all()


class ImageRejected(Exception):
    """The bytes are not an image this stage will write; `reason` is the summary's key."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class PreparedImage:
    png: bytes
    source_width: int
    source_height: int


def fit_size(width: int, height: int, box_width: int, box_height: int) -> tuple[int, int]:
    """The largest size with the image's aspect ratio inside the box (up- or down-scaling)."""
    scale = min(box_width / width, box_height / height)
    return max(1, min(box_width, round(width * scale))), max(1, min(box_height, round(height * scale)))


def to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB from any mode: alpha over white, palette, grayscale, CMYK and 16/32-bit alike."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or values.max(initial=0) > 255 else 255.0
        gray = np.clip(values / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(gray, "L").convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


def pad_replicating_edges(image: Image.Image, width: int, height: int) -> Image.Image:
    """Centres the image on a W x H canvas whose margins repeat the nearest edge pixels.

    A fitted image touches the canvas on one axis, so only one pair of margins exists: each is the
    edge row (or column) stretched with NEAREST, which is exact replication.
    """
    canvas = Image.new("RGB", (width, height))
    top, left = (height - image.height) // 2, (width - image.width) // 2
    canvas.paste(image, (left, top))
    bottom, right = height - image.height - top, width - image.width - left
    nearest = Image.Resampling.NEAREST
    if top:
        canvas.paste(image.crop((0, 0, image.width, 1)).resize((image.width, top), nearest), (left, 0))
    if bottom:
        edge = image.crop((0, image.height - 1, image.width, image.height))
        canvas.paste(edge.resize((image.width, bottom), nearest), (left, top + image.height))
    if left:
        canvas.paste(image.crop((0, 0, 1, image.height)).resize((left, image.height), nearest), (0, top))
    if right:
        edge = image.crop((image.width - 1, 0, image.width, image.height))
        canvas.paste(edge.resize((right, image.height), nearest), (left + image.width, top))
    return canvas


def prepare_image(
    data: bytes, width: int, height: int, max_pixels: int, budget: PixelBudget | None = None
) -> PreparedImage:
    """Decodes `data` and returns the W x H RGB PNG; raises `ImageRejected` with a reason. With a
    `budget`, decoding waits until the image's pixels fit in it."""
    with decoding():
        image = Image.open(io.BytesIO(data))
        source_width, source_height = image.size
        if source_width * source_height > max_pixels:
            raise ImageRejected("too_many_pixels", f"{source_width}x{source_height}")
        jpeg = image.format == "JPEG"
        if jpeg:  # its EXIF comes before the pixels, and its reduced decode is known up front
            fitted, upright = _orient_and_draft(image, width, height)
    with budget.hold(image.width * image.height) if budget else contextlib.nullcontext():
        with decoding():
            if not jpeg:  # a PNG's EXIF may follow its pixels: reading it decodes them
                fitted, upright = _orient_and_draft(image, width, height)
            image.load()
        return _convert(image, fitted, upright, width, height)


def _orient_and_draft(image: Image.Image, width: int, height: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """The fitted size and the upright source size; a JPEG is set to decode at a reduced scale."""
    orientation = image.getexif().get(EXIF_ORIENTATION, 1)
    rotated = orientation in ROTATED_ORIENTATIONS
    upright = (image.height, image.width) if rotated else image.size
    fitted = fit_size(*upright, width, height)
    if image.format == "JPEG":
        image.draft("RGB", fitted[::-1] if rotated else fitted)
    return fitted, upright


@contextlib.contextmanager
def decoding() -> Iterator[None]:
    """Pillow's complaints about the bytes as `ImageRejected`, its bomb warning as an error."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageRejected("too_many_pixels", str(error)[:120]) from None
    except UnidentifiedImageError:
        raise ImageRejected("not_decodable", "unknown image format") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageRejected("not_decodable", str(error)[:120]) from None


def _convert(
    image: Image.Image, fitted: tuple[int, int], upright: tuple[int, int], width: int, height: int
) -> PreparedImage:
    ImageOps.exif_transpose(image, in_place=True)
    image = to_rgb(image)
    if image.size != fitted:
        image = image.resize(fitted, Image.Resampling.BICUBIC, reducing_gap=3.0)
    return PreparedImage(encode_png(pad_replicating_edges(image, width, height)), *upright)


def encode_png(image: Image.Image) -> bytes:
    """The image as PNG bytes, at the compression measured above."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL, compress_type=PNG_COMPRESS_TYPE)
    return buffer.getvalue()
