"""Generated test images in every mode and format a shop may serve."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def banded(width: int, height: int) -> Image.Image:
    """Top quarter red, middle half green, bottom quarter blue: edges and proportions are checkable."""
    image = Image.new("RGB", (width, height), GREEN)
    image.paste(RED, (0, 0, width, height // 4))
    image.paste(BLUE, (0, height - height // 4, width, height))
    return image


def encode(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header claims a huge image: decoding it would need tens of GB."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + chunk(b"IEND", b"")
    )


def exif_rotated_jpeg(width: int, height: int, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(banded(width, height), "JPEG", quality=95, exif=exif.tobytes())
