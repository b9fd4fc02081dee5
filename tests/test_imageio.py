"""Image files in and out: channel order, bit depth, palettes, limits."""

from __future__ import annotations

import numpy as np
import pytest

from gcp import imageio
from gcp.errors import ImageError, LimitError
from tests.conftest import REAL_IMAGES

PIL = pytest.importorskip("PIL.Image", reason="Pillow writes the odd PNG kinds these tests read")


def png_bytes(image) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_rgb_order_is_kept():
    image = np.zeros((2, 3, 3), np.uint8)
    image[0, 0] = [255, 0, 0]
    back = imageio.decode_image(imageio.encode_image(image, ".png"))
    assert back[0, 0].tolist() == [255, 0, 0]


def test_rgba_round_trip():
    image = np.random.default_rng(0).integers(0, 256, (4, 5, 4), dtype=np.uint8)
    assert np.array_equal(imageio.decode_image(imageio.encode_image(image, ".png")), image)


def test_grey_png_is_one_channel():
    assert imageio.decode_image(REAL_IMAGES["camera"].read_bytes()).shape == (512, 512, 1)


def test_sixteen_bit_is_rounded_to_eight():
    data = png_bytes(PIL.fromarray(np.full((2, 2), 257 * 200 + 100, np.uint16)))
    image = imageio.decode_image(data)
    assert image.dtype == np.uint8 and image[0, 0, 0] == 200


def test_palette_png_reads_as_its_colours():
    indexed = PIL.fromarray(np.array([[0, 1], [1, 0]], np.uint8), "P")
    indexed.putpalette([10, 20, 30, 200, 100, 0])
    image = imageio.decode_image(png_bytes(indexed))
    assert image[0, 0, :3].tolist() == [10, 20, 30] and image[0, 1, :3].tolist() == [200, 100, 0]


def test_grey_alpha_png_stays_two_channels():
    pixels = np.dstack([np.full((2, 2), 90, np.uint8), np.full((2, 2), 40, np.uint8)])
    image = imageio.decode_image(png_bytes(PIL.fromarray(pixels, "LA")))
    assert image.shape == (2, 2, 2) and image[0, 0].tolist() == [90, 40]


def test_grey_alpha_is_written_as_rgba_png():
    image = np.dstack([np.full((2, 2), 90, np.uint8), np.full((2, 2), 40, np.uint8)])
    back = imageio.decode_image(imageio.encode_image(image, ".png"))
    assert back[0, 0].tolist() == [90, 90, 90, 40]


def test_jpeg_is_read():
    image = np.full((8, 8, 3), 128, np.uint8)
    assert imageio.decode_image(imageio.encode_image(image, ".jpg")).shape == (8, 8, 3)


def test_png_size_is_checked_before_decoding():
    data = bytearray(imageio.encode_image(np.zeros((4, 4, 3), np.uint8), ".png"))
    data[16:24] = (100_000).to_bytes(4, "big") * 2  # IHDR claims 100000 x 100000
    with pytest.raises(LimitError):
        imageio.decode_image(bytes(data))


def test_bmp_size_is_checked_before_decoding():
    data = imageio.encode_image(np.zeros((30, 40, 3), np.uint8), ".bmp")
    assert imageio.declared_size(data) == (40, 30)
    with pytest.raises(LimitError):
        imageio.decode_image(data, max_pixels=1000)


@pytest.mark.parametrize("data", [b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\0" * 30])
def test_unreadable_input_is_an_image_error(data):
    with pytest.raises(ImageError):
        imageio.decode_image(data)


def test_truncated_png_is_an_image_error():
    data = REAL_IMAGES["astronaut"].read_bytes()
    with pytest.raises(ImageError):
        imageio.decode_image(data[: len(data) // 2])
