"""Given palettes: the GIMP palette reader and writer, palettes from files, channel
matching, and gcp.encode(..., palette=...)."""

from __future__ import annotations

import numpy as np
import pytest

import gcp
from gcp import imageio, palettes
from gcp.backends.numpy_backend import assign_labels
from gcp.errors import FormatError, LimitError, PaletteError, ParameterError

# Deliberately not in ascending order: the order must survive.
RGB = np.array([[255, 0, 0], [0, 0, 0], [0, 0, 255], [255, 255, 255]], np.uint8)


def gpl(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def noise(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, np.uint8)


# --- read_gpl -------------------------------------------------------------------------


def test_read_gpl_takes_header_comments_names_and_keeps_order():
    data = gpl("GIMP Palette", "Name: Test colours", "Columns: 4", "# a comment", "",
               "255   0   0\tRed", "  0 0 0", "# between", "0\t0 255 Blue with spaces",
               "255 255 255 White")
    assert np.array_equal(palettes.read_gpl(data), RGB)
    assert palettes.read_gpl(data).dtype == np.uint8


def test_read_gpl_takes_crlf_and_a_byte_order_mark():
    data = b"\xef\xbb\xbfGIMP Palette\r\nName: x\r\n1 2 3\r\n"
    assert palettes.read_gpl(data).tolist() == [[1, 2, 3]]


def test_read_gpl_keeps_repeated_colours():
    data = gpl("GIMP Palette", "0 0 0", "9 9 9", "0 0 0")
    assert palettes.read_gpl(data).tolist() == [[0, 0, 0], [9, 9, 9], [0, 0, 0]]


@pytest.mark.parametrize(("data", "words"), [
    (gpl("JASC-PAL", "0 0 0"), "first line"),
    (b"", "first line"),
    (gpl("GIMP Palette", "0 0"), "line 2"),
    (gpl("GIMP Palette", "0 0 0", "red green blue"), "line 3"),
    (gpl("GIMP Palette", "0 0 0", "0 256 0"), "over 255"),
    (gpl("GIMP Palette", "-1 0 0"), "line 2"),
    (gpl("GIMP Palette", "0 0 0", "Name: late"), "line 3"),  # a header line after colours
    (gpl("GIMP Palette", "Name: none", "# only comments"), "no colours"),
    (gpl("GIMP Palette", *["1 2 3"] * 257), "more than 256"),
])
def test_read_gpl_refuses_malformed_files(data, words):
    with pytest.raises(PaletteError, match=words):
        palettes.read_gpl(data, "p.gpl")


def test_read_gpl_takes_exactly_256_colours():
    data = gpl("GIMP Palette", *(f"{i} {i} {i}" for i in range(256)))
    assert len(palettes.read_gpl(data)) == 256


def test_read_gpl_limits_are_checked_before_splitting():
    too_long = b"GIMP Palette\n" + b"#" * palettes.MAX_GPL_BYTES
    with pytest.raises(PaletteError, match="over 1048576 bytes"):
        palettes.read_gpl(too_long)
    too_many_lines = b"GIMP Palette\n" + b"\n" * palettes.MAX_GPL_LINES
    with pytest.raises(PaletteError, match="lines"):
        palettes.read_gpl(too_many_lines)


def test_write_gpl_round_trips_in_order():
    palette = noise((256, 3), seed=3)
    palette[10] = palette[200]  # a repeat is written and read back too
    data = palettes.write_gpl(palette, "my\npalette")
    assert data.startswith(b"GIMP Palette\nName: my palette\n")
    assert np.array_equal(palettes.read_gpl(data), palette)


def test_write_gpl_refuses_other_shapes():
    with pytest.raises(ValueError):
        palettes.write_gpl(np.zeros((4, 4), np.uint8))


def test_to_rgb_widens_grey_and_drops_alpha_saying_when_it_mattered():
    grey_alpha = np.array([[10, 255], [20, 255]], np.uint8)
    rgb, lost = palettes.to_rgb(grey_alpha)
    assert rgb.tolist() == [[10, 10, 10], [20, 20, 20]] and not lost
    rgba = np.array([[1, 2, 3, 255], [4, 5, 6, 0]], np.uint8)
    rgb, lost = palettes.to_rgb(rgba)
    assert rgb.tolist() == [[1, 2, 3], [4, 5, 6]] and lost
    assert palettes.to_rgb(RGB)[0].tolist() == RGB.tolist()


# --- palettes from images and files -------------------------------------------------------


def test_image_palette_is_first_appearance_order_rows_top_to_bottom():
    image = np.array([[[9, 9, 9], [1, 1, 1]], [[5, 5, 5], [9, 9, 9]], [[1, 1, 1], [0, 0, 0]]],
                     np.uint8)
    assert palettes.image_palette(image).tolist() == [[9, 9, 9], [1, 1, 1], [5, 5, 5],
                                                      [0, 0, 0]]


def test_image_palette_keeps_channels_and_alpha_tells_colours_apart():
    image = np.array([[[1, 2, 3, 255], [1, 2, 3, 0], [1, 2, 3, 255]]], np.uint8)
    assert palettes.image_palette(image).tolist() == [[1, 2, 3, 255], [1, 2, 3, 0]]
    grey = np.array([[[7], [3], [7]]], np.uint8)
    assert palettes.image_palette(grey).tolist() == [[7], [3]]


def test_image_palette_refuses_over_256_colours():
    image = np.arange(257 * 3, dtype=np.int64).reshape(1, 257, 3).astype(np.uint8)
    image[0, :, 0] = np.arange(257) % 256
    image[0, :, 1] = np.arange(257) // 256
    with pytest.raises(PaletteError, match="257 colours"):
        palettes.image_palette(image)


def test_palette_from_each_kind_of_file():
    image = np.repeat(RGB[None], 3, axis=0)  # (3, 4, 3): the four colours in each row
    png = imageio.encode_image(image, ".png")
    assert np.array_equal(palettes.palette_from_file_bytes(png), RGB)
    from_gcp = gcp.encode(image, palette=RGB[::-1].copy(), backend="numpy")
    assert np.array_equal(palettes.palette_from_file_bytes(from_gcp), RGB[::-1])
    assert np.array_equal(palettes.palette_from_file_bytes(palettes.write_gpl(RGB)), RGB)


def test_palette_from_file_bytes_refuses_other_files():
    with pytest.raises(PaletteError, match=r"neither a \.gcp file"):
        palettes.palette_from_file_bytes(b"just some text\n", "notes.txt")
    broken = bytearray(gcp.encode(noise((4, 4, 3)), 4, backend="numpy"))
    broken[-1] ^= 1
    with pytest.raises(FormatError):
        palettes.palette_from_file_bytes(bytes(broken))
    with pytest.raises(PaletteError, match="colours"):
        palettes.palette_from_file_bytes(imageio.encode_image(noise((32, 32, 3)), ".png"))


def test_palette_from_an_image_respects_the_pixel_limit():
    png = imageio.encode_image(np.zeros((10, 10, 3), np.uint8), ".png")
    with pytest.raises(LimitError):
        palettes.palette_from_file_bytes(png, max_pixels=99)


# --- match_channels -----------------------------------------------------------------------


def test_grey_image_with_a_colour_palette_becomes_rgb():
    image = np.array([[[0], [200]]], np.uint8)
    wide, palette = palettes.match_channels(image, RGB)
    assert wide.tolist() == [[[0, 0, 0], [200, 200, 200]]] and palette is RGB


def test_an_all_grey_rgb_palette_stays_grey_for_a_grey_image():
    image = np.array([[[0], [200]]], np.uint8)
    grey_rgb = np.array([[0, 0, 0], [128, 128, 128]], np.uint8)
    same, palette = palettes.match_channels(image, grey_rgb)
    assert same is image and palette.tolist() == [[0], [128]]


def test_rgba_image_with_an_rgb_palette_gets_opaque_palette_colours():
    image = noise((2, 3, 4))
    same, palette = palettes.match_channels(image, RGB)
    assert same is image
    assert palette.tolist() == [[*colour, 255] for colour in RGB.tolist()]


def test_rgb_image_with_a_transparent_palette_gains_alpha():
    image = noise((2, 3, 3))
    rgba = np.array([[1, 2, 3, 0], [4, 5, 6, 255]], np.uint8)
    wide, palette = palettes.match_channels(image, rgba)
    assert palette is rgba and wide.shape == (2, 3, 4)
    assert np.array_equal(wide[:, :, :3], image) and (wide[:, :, 3] == 255).all()


def test_an_opaque_rgba_palette_stays_rgb_for_an_rgb_image():
    image = noise((2, 3, 3))
    opaque = np.array([[1, 2, 3, 255], [4, 5, 6, 255]], np.uint8)
    same, palette = palettes.match_channels(image, opaque)
    assert same is image and palette.tolist() == [[1, 2, 3], [4, 5, 6]]


def test_rgb_image_with_a_grey_palette_uses_it_as_rgb():
    image = noise((2, 3, 3))
    same, palette = palettes.match_channels(image, np.array([[0], [255]], np.uint8))
    assert same is image and palette.tolist() == [[0, 0, 0], [255, 255, 255]]


# --- gcp.encode(..., palette=...) ---------------------------------------------------------


def test_encode_stores_the_palette_in_its_order_and_assigns_nearest(real_images):
    image = real_images["coffee"]
    data = gcp.encode(image, palette=RGB, backend="numpy")
    header = gcp.read_info(data)
    assert np.array_equal(header.palette, RGB) and not header.exact
    labels = assign_labels(image.reshape(-1, 3), RGB)
    assert np.array_equal(gcp.decode(data).reshape(-1, 3), RGB[labels])


def test_encode_with_a_repeated_colour_keeps_it_and_uses_the_first():
    palette = np.array([[0, 0, 0], [250, 250, 250], [0, 0, 0]], np.uint8)
    image = np.zeros((4, 4, 3), np.uint8)
    image[0] = 255
    header, stored, indices = gcp.codec.decode_indices(
        gcp.encode(image, palette=palette, backend="numpy"))
    assert np.array_equal(stored, palette)
    assert set(np.unique(indices).tolist()) == {0, 1}  # index 2 unused: ties go low
    assert not header.exact


def test_encode_with_a_palette_is_exact_only_when_every_pixel_is_reproduced():
    image = np.repeat(RGB[None], 5, axis=0)
    extra = np.concatenate([RGB, [[7, 7, 7]]]).astype(np.uint8)
    exact = gcp.read_info(gcp.encode(image, palette=extra, backend="numpy"))
    assert exact.exact and exact.palette_size == 5
    image[2, 2] = [1, 0, 0]
    assert not gcp.read_info(gcp.encode(image, palette=extra, backend="numpy")).exact


def test_encode_with_a_palette_ignores_k_and_the_fit_options(real_images):
    image = real_images["camera"]
    grey = np.array([[0], [85], [170], [255]], np.uint8)
    plain = gcp.encode(image, palette=grey, backend="numpy")
    assert gcp.encode(image, 3, seed=5, algorithm="kmedoids", palette=grey,
                      backend="numpy") == plain


def test_encode_with_a_palette_dithers(real_images):
    image = real_images["camera"]
    grey = np.array([[0], [255]], np.uint8)
    plain = gcp.decode(gcp.encode(image, palette=grey, backend="numpy"))
    dithered = gcp.decode(gcp.encode(image, palette=grey, dither=True, backend="numpy"))
    assert set(np.unique(dithered).tolist()) <= {0, 255}
    # dithering keeps local means: column means are far closer to the original's
    original_means = image[:, :, 0].mean(0)
    assert (np.abs(dithered[:, :, 0].mean(0) - original_means).mean()
            < np.abs(plain[:, :, 0].mean(0) - original_means).mean() / 2)


def test_encode_with_a_palette_on_rgba_warns_when_transparency_is_lost(caplog):
    image = np.full((2, 2, 4), 255, np.uint8)
    gcp.encode(image, palette=RGB, backend="numpy")
    assert "transparent" not in caplog.text
    image[0, 0, 3] = 0
    data = gcp.encode(image, palette=RGB, backend="numpy")
    assert "transparent pixels become opaque" in caplog.text
    assert gcp.read_info(data).channels == 4
    assert (gcp.decode(data)[:, :, 3] == 255).all()


@pytest.mark.parametrize("palette", [
    np.zeros((0, 3), np.uint8), np.zeros((257, 3), np.uint8), np.zeros((4, 5), np.uint8),
    np.zeros(3, np.uint8), np.zeros((4, 3), np.int32),
])
def test_encode_refuses_a_bad_palette_array(palette):
    with pytest.raises(ParameterError):
        gcp.encode(noise((4, 4, 3)), palette=palette, backend="numpy")


def test_encode_with_a_palette_gives_the_same_bytes_on_both_backends(real_images):
    from tests.conftest import opencl_device_or_none

    if opencl_device_or_none() is None:
        pytest.skip("no OpenCL device")
    image = real_images["astronaut"]
    palette = noise((40, 3), seed=8)
    assert (gcp.encode(image, palette=palette, backend="opencl")
            == gcp.encode(image, palette=palette, backend="numpy"))
