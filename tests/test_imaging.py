import io

import numpy as np
import pytest
from PIL import Image

from pipeline.download.imaging import ImageRejected, fit_size, prepare_image
from tests.images import BLUE, GREEN, RED, banded, encode, exif_rotated_jpeg, png_bomb


def decode(prepared) -> np.ndarray:
    image = Image.open(io.BytesIO(prepared.png))
    assert (image.format, image.mode, image.size) == ("PNG", "RGB", (512, 512))
    return np.asarray(image)


def close(pixel, color, tolerance=12) -> bool:
    return bool(np.all(np.abs(pixel.astype(int) - np.array(color)) <= tolerance))


@pytest.mark.parametrize(
    ("size", "box", "expected"),
    [
        ((400, 200), (512, 512), (512, 256)),
        ((100, 300), (512, 512), (171, 512)),
        ((3, 2), (512, 512), (512, 341)),
        ((1000, 10), (512, 256), (512, 5)),
        ((200, 400), (300, 100), (50, 100)),
    ],
)
def test_fit_size_keeps_aspect_inside_the_box(size, box, expected):
    assert fit_size(*size, *box) == expected


def test_landscape_is_centred_and_padding_repeats_edge_rows():
    pixels = decode(prepare_image(encode(banded(400, 200), "PNG"), 512, 512, 10**8))
    top, content = 128, 256  # 400x200 -> 512x256, centred
    assert np.array_equal(pixels[:top], np.repeat(pixels[top : top + 1], top, axis=0))
    assert np.array_equal(
        pixels[top + content :], np.repeat(pixels[top + content - 1 : top + content], top, axis=0)
    )
    # proportions survive: red quarter, green half, blue quarter of the content rows
    assert close(pixels[top + 30, 256], RED) and close(pixels[256, 256], GREEN)
    assert close(pixels[top + content - 30, 256], BLUE)
    assert close(pixels[5, 5], RED) and close(pixels[506, 506], BLUE)


def test_portrait_padding_repeats_edge_columns():
    pixels = decode(prepare_image(encode(banded(100, 300), "JPEG", quality=95), 512, 512, 10**8))
    left = (512 - 171) // 2
    assert np.array_equal(pixels[:, :left], np.repeat(pixels[:, left : left + 1], left, axis=1))


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("jpeg", encode(banded(640, 480), "JPEG")),
        ("progressive jpeg", encode(banded(640, 480), "JPEG", progressive=True)),
        ("cmyk jpeg", encode(banded(640, 480).convert("CMYK"), "JPEG")),
        ("webp", encode(banded(640, 480), "WEBP")),
        ("grayscale png", encode(banded(640, 480).convert("L"), "PNG")),
        ("palette png", encode(banded(640, 480).convert("P"), "PNG")),
        ("16-bit png", encode(Image.fromarray(np.full((48, 64), 40000, np.uint16)), "PNG")),
        ("tiny", encode(banded(3, 2), "PNG")),
        ("panorama", encode(banded(1600, 250), "JPEG")),
    ],
)
def test_every_mode_becomes_8_bit_rgb(name, data):
    pixels = decode(prepare_image(data, 512, 512, 10**8))
    assert pixels.dtype == np.uint8


def test_sixteen_bit_gray_is_scaled_not_clipped():
    data = encode(Image.fromarray(np.full((48, 64), 32768, np.uint16)), "PNG")
    assert close(decode(prepare_image(data, 512, 512, 10**8))[256, 256], (128, 128, 128), 2)


def test_alpha_is_composited_over_white():
    image = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (25, 25, 75, 75))
    pixels = decode(prepare_image(encode(image, "PNG"), 512, 512, 10**8))
    assert close(pixels[10, 10], (255, 255, 255), 0) and close(pixels[256, 256], RED, 0)


def test_exif_orientation_is_applied():
    # stored 300x100 (landscape), orientation 6: shown rotated 90 degrees clockwise, i.e. portrait
    prepared = prepare_image(exif_rotated_jpeg(300, 100, 6), 512, 512, 10**8)
    assert (prepared.source_width, prepared.source_height) == (100, 300)
    pixels = decode(prepared)
    # rotated clockwise, the red top band is now on the right, blue on the left
    assert close(pixels[256, 256 + 60], RED, 30) and close(pixels[256, 256 - 60], BLUE, 30)


def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(ImageRejected) as caught:
        prepare_image(png_bomb(), 512, 512, 50_000_000)
    assert caught.value.reason == "too_many_pixels"


@pytest.mark.parametrize("data", [b"", b"<html>not an image</html>", encode(banded(64, 64), "JPEG")[:200]])
def test_corrupt_bytes_are_rejected_with_a_reason(data):
    with pytest.raises(ImageRejected) as caught:
        prepare_image(data, 512, 512, 10**8)
    assert caught.value.reason == "not_decodable"
