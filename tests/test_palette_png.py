"""Palette PNGs (gcp/palette_png.py): what `gcp decode` writes for a colour image's PNG."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest

import gcp
from gcp import batch, imageio, palette_png

Image = pytest.importorskip("PIL.Image", reason="Pillow is in the test extra")
RNG = np.random.default_rng(8)


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of each chunk, every CRC checked."""
    assert png[:8] == palette_png.PNG_SIGNATURE
    found, at = [], 8
    while at < len(png):
        length, kind = struct.unpack(">I4s", png[at:at + 8])
        data = png[at + 8:at + 8 + length]
        assert struct.unpack(">I", png[at + 8 + length:at + 12 + length])[0] == \
            zlib.crc32(kind + data)
        found.append((kind, data))
        at += 12 + length
    assert at == len(png)
    return found


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 16, 17, 256])
@pytest.mark.parametrize("channels", [2, 3, 4])
@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (5, 7), (3, 33), (70, 13)])
def test_opencv_and_pillow_read_back_the_palettes_colours(size, channels, shape):
    palette = RNG.integers(0, 256, (size, channels), dtype=np.uint8)
    indices = RNG.integers(0, size, shape, dtype=np.uint8)
    png = palette_png.encode(palette, indices)
    expected = palette[indices]
    if channels == 2:  # grey + alpha is written as RGBA
        expected = expected[:, :, [0, 0, 0, 1]]
    assert np.array_equal(imageio.decode_image(png), expected)
    with Image.open(io.BytesIO(png)) as image:
        assert image.mode == "P"
        assert np.array_equal(np.asarray(image), indices)
        assert np.array_equal(np.asarray(image.convert("RGBA" if channels != 3 else "RGB")),
                              expected)


@pytest.mark.parametrize(("size", "depth"), [(1, 1), (2, 1), (3, 2), (4, 2), (5, 4), (16, 4),
                                             (17, 8), (256, 8)])
def test_the_indices_take_the_fewest_bits_that_hold_the_palette(size, depth):
    palette = RNG.integers(0, 256, (size, 3), dtype=np.uint8)
    indices = np.full((3, 5), size - 1, np.uint8)
    found = chunks(palette_png.encode(palette, indices))
    assert [kind for kind, _ in found] == [b"IHDR", b"PLTE", b"IDAT", b"IEND"]
    assert struct.unpack(">IIBBBBB", found[0][1]) == (5, 3, depth, 3, 0, 0, 0)
    assert found[1][1] == palette.tobytes()
    scanlines = zlib.decompress(found[2][1])
    row_bytes = -(-5 * depth // 8)
    assert len(scanlines) == 3 * (1 + row_bytes)
    assert all(scanlines[row * (1 + row_bytes)] == palette_png.FILTER_NONE for row in range(3))


def test_alpha_is_a_trns_chunk_of_every_colour():
    """Every colour's alpha, opaque ones too: a reader then gives four channels, as the
    .gcp decodes to, even where every colour is opaque."""
    palette = np.array([[9, 8, 7, 255], [1, 2, 3, 255]], np.uint8)
    found = dict(chunks(palette_png.encode(palette, np.zeros((2, 2), np.uint8))))
    assert found[b"tRNS"] == bytes([255, 255])
    assert found[b"PLTE"] == bytes([9, 8, 7, 1, 2, 3])
    assert imageio.decode_image(palette_png.encode(palette, np.eye(2, dtype=np.uint8))).shape \
        == (2, 2, 4)


def test_a_large_image_is_coded_in_several_idat_chunks(monkeypatch):
    """Rows are packed and compressed a step at a time, bands side by side, and the stream
    cut into IDAT chunks; they join to one stream."""
    monkeypatch.setattr(palette_png, "STEP_BYTES", 64)
    monkeypatch.setattr(palette_png, "IDAT_BYTES", 100)
    palette = RNG.integers(0, 256, (16, 3), dtype=np.uint8)
    indices = RNG.integers(0, 16, (40, 50), dtype=np.uint8)
    png = palette_png.encode(palette, indices)
    found = chunks(png)
    assert sum(kind == b"IDAT" for kind, _ in found) > 2
    assert np.array_equal(imageio.decode_image(png), palette[indices])
    # The bands, deflated side by side, make one zlib stream whose Adler-32 checks out.
    scanlines = zlib.decompress(b"".join(data for kind, data in found if kind == b"IDAT"))
    rows = np.frombuffer(scanlines, np.uint8).reshape(40, 26)
    assert (rows[:, 0] == palette_png.FILTER_NONE).all()
    assert np.array_equal(rows[:, 1:] >> 4, indices[:, 0::2])
    assert np.array_equal(rows[:, 1:26] & 15, indices[:, 1::2])


@pytest.mark.parametrize(("size", "channels"), [(0, 3), (257, 3), (4, 1), (4, 5)])
def test_what_a_palette_png_cannot_hold_is_refused(size, channels):
    with pytest.raises(ValueError, match="palette PNG"):
        palette_png.encode(np.zeros((size, channels), np.uint8), np.zeros((2, 2), np.uint8))


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_a_decode_to_png_is_the_decoded_image(channels):
    """Colour and alpha images are written as palette PNGs, grey ones as grey PNGs: each
    reads back as what ``gcp.decode`` gives (grey + alpha widened to RGBA)."""
    image = RNG.integers(0, 256, (21, 30, channels), dtype=np.uint8)
    image[:, 10:] = image[:1, 10:]
    data = gcp.encode(image, 7, backend="numpy")
    png = batch.decode_file_bytes(data, extension=".png")
    colour_type = struct.unpack(">IIBBBBB", chunks(png)[0][1])[3]
    assert colour_type == (0 if channels == 1 else palette_png.COLOUR_TYPE_PALETTE)
    decoded = gcp.decode(data)
    expected = decoded[:, :, [0, 0, 0, 1]] if channels == 2 else decoded
    assert np.array_equal(imageio.decode_image(png), expected)
