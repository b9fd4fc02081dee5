"""The Python API used as a careless programmer would (a helper's review, 2026-11-28):
numpy scalars, wrong types, bytes-like inputs, pickled errors and odd palettes get
gcp's own errors or the right result, never an exception from inside."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import gcp
from gcp import container, imageio, palettes
from gcp.errors import BackendError, PaletteError, ParameterError, QualityError

IMAGE = np.random.default_rng(5).integers(0, 256, (32, 32, 3), dtype=np.uint8)


def test_a_quality_error_pickles_and_copies_with_its_values():
    """A worker process sends its error back pickled: QualityError's own arguments must
    rebuild it (before, unpickling raised TypeError and broke a process pool)."""
    with pytest.raises(QualityError) as caught:
        gcp.encode(IMAGE, 2, min_psnr=40)
    for again in (pickle.loads(pickle.dumps(caught.value)), copy.copy(caught.value)):
        assert type(again) is QualityError and str(again) == str(caught.value)
        assert (again.psnr, again.min_psnr, again.colours, again.field) == (
            caught.value.psnr, 40, 2, "min_psnr")


@pytest.mark.parametrize("k", [8, 16, 64, 256])
def test_numpy_integers_are_taken_as_the_same_numbers(k):
    """An np.int32 k once overflowed the fit's sums in int32 and gave other bytes; a
    uint8 or int16 one raised numpy's OverflowError."""
    expected = gcp.encode(IMAGE, k)
    for kind in (np.int32, np.int64, np.uint16, np.int16):
        assert gcp.encode(IMAGE, kind(k), effort=np.int8(5), max_iter=np.uint16(300)) == expected
    if k < 256:
        assert gcp.encode(IMAGE, np.uint8(k)) == expected


@pytest.mark.parametrize("options", [
    {"k": True}, {"k": 16.0}, {"k": "16"}, {"k": None}, {"k": [16]}, {"k": np.array([16])},
    {"k": 1 + 0j}, {"effort": True}, {"effort": [5]}, {"effort": 5.0}, {"max_iter": True},
    {"max_iter": 1.5}, {"max_iter": None}, {"max_iter": "10"}, {"tol": None}, {"tol": "0.1"},
    {"tol": [0.1]}, {"tol": True}, {"method": ["lzma"]}, {"algorithm": ["kmeans"]},
    {"device": 1}, {"device": b"0"}, {"device": [0]}, {"max_pixels": "10"},
    {"max_pixels": 1.5}, {"target_psnr": "30"}, {"min_psnr": [30]},
])
def test_an_argument_of_the_wrong_type_is_a_parameter_error(options):
    with pytest.raises(ParameterError) as caught:
        gcp.encode(IMAGE, **{"k": 4, **options})
    assert caught.value.field == next(iter(options))


def test_numbers_numpy_and_python_take_are_taken():
    """operator.index for whole numbers (0-d integer arrays too), any real for tol."""
    from fractions import Fraction

    expected = gcp.encode(IMAGE, 4, tol=0.001)
    assert gcp.encode(IMAGE, np.array(4), tol=Fraction(1, 1000)) == expected
    assert gcp.encode(IMAGE, 4, tol=np.array(1e-3), dither=np.bool_(False)) == expected


@pytest.mark.parametrize("flag", ["no", 1, None, [True]])
def test_dither_is_a_bool(flag):
    with pytest.raises(ParameterError) as caught:
        gcp.encode(IMAGE, 4, dither=flag)
    assert caught.value.field == "dither"


def test_a_quality_error_keeps_its_notes_through_pickling():
    with pytest.raises(QualityError) as caught:
        gcp.encode(IMAGE, 2, min_psnr=40)
    caught.value.add_note("while encoding tile 3")
    assert pickle.loads(pickle.dumps(caught.value)).__notes__ == ["while encoding tile 3"]


@pytest.mark.parametrize("target", [3100.0, 1e300, np.float64(1e300)])
def test_a_target_of_thousands_of_db_is_reported_unreached(target):
    with np.errstate(all="raise"):  # no numpy warning on the way either
        _, report = gcp.encode_report(IMAGE, 4, target_psnr=target)
    assert not report.reached and report.colours == 4


@pytest.mark.parametrize("image", [[[1, 2], [3]], [[[1, 2, 3]], [[1, 2]]]])
def test_a_ragged_list_is_a_parameter_error(image):
    with pytest.raises(ParameterError):
        gcp.encode(image, 4)
    with pytest.raises(ParameterError):
        gcp.encode(IMAGE, 4, palette=[[1, 2, 3], [1, 2]])


def test_a_width_the_format_cannot_hold_is_refused_before_anything_is_allocated():
    """2^32 columns (a zero-stride view: no memory) with the pixel limit raised."""
    image = np.broadcast_to(np.zeros((1, 1, 1), np.uint8), (1, container.MAX_DIMENSION + 1, 1))
    with pytest.raises(ParameterError, match="widths and heights"):
        gcp.encode(image, 2, max_pixels=1 << 40)


def test_a_report_with_a_given_palette_counts_the_palette_and_no_target():
    palette = np.array([[0, 0, 0], [255, 255, 255], [255, 0, 0]], np.uint8)
    _, report = gcp.encode_report(IMAGE, 16, palette=palette, target_psnr=60)
    assert (report.colours, report.max_colours, report.target_psnr) == (3, 3, None)
    assert report.describe().startswith("colours 3 of 3, PSNR")
    assert "target" not in report.describe()


@pytest.mark.parametrize("options", [{"k": 256}, {"method": "cm"}, {"backend": "opencl"}])
def test_a_device_named_that_cannot_be_opened_is_an_error_everywhere(options):
    """It was an error with backend="opencl" alone; elsewhere a warning and numpy, or
    cm's slow reference."""
    with pytest.raises(BackendError):
        gcp.encode(IMAGE, **{"k": 4, **options}, device="no-such-device-anywhere")


def test_gpl_values_with_thousands_of_digits_are_palette_errors():
    """int() of over 4,300 digits raises its own ValueError; leading zeros are still one
    byte's value."""
    zeros = b"GIMP Palette\n" + b"0" * 4400 + b"1 2 3\n"
    assert palettes.read_gpl(zeros).tolist() == [[1, 2, 3]]
    assert palettes.palette_from_file_bytes(zeros).tolist() == [[1, 2, 3]]
    for value in (b"0256", b"9" * 5000):
        with pytest.raises(PaletteError, match="over 255"):
            palettes.read_gpl(b"GIMP Palette\n" + value + b" 2 3\n")


@pytest.mark.parametrize("palette, name", [
    (np.array([[300, 2, -1]]), "p"), (np.array([[1.7, 2.2, 255.9]]), "p"),
    ([[256, 0, 0]], "p"), (np.zeros((0, 3), np.uint8), "p"), (np.zeros((300, 3), np.uint8), "p"),
    (np.zeros((2, 4), np.uint8), "p"), ([[1, 2, 3], [1, 2]], "p"),
    (np.zeros((2, 3), np.uint8), b"x"), (np.zeros((2, 3), np.uint8), None),
])
def test_write_gpl_wraps_nothing_and_writes_only_what_read_gpl_takes(palette, name):
    with pytest.raises(ParameterError):
        palettes.write_gpl(palette, name)


@pytest.mark.parametrize("palette", [[[0, 0, 0], [255, 255, 255]], np.array([[1, 2, 3]]),
                                     np.array([[7, 8, 9]], np.uint16)])
def test_write_gpl_takes_integers_of_any_type_within_a_byte(palette):
    assert palettes.read_gpl(palettes.write_gpl(palette)).tolist() == np.asarray(palette).tolist()


def test_image_and_palette_readers_take_any_bytes_like_object():
    png = imageio.encode_image(IMAGE, ".png")
    gpl = palettes.write_gpl(IMAGE[0, :5])
    for data in (memoryview(png), np.frombuffer(png, np.uint8), bytearray(png)):
        assert np.array_equal(imageio.decode_image(data), IMAGE)
    assert np.array_equal(palettes.read_gpl(memoryview(gpl)), IMAGE[0, :5])
    assert np.array_equal(palettes.palette_from_file_bytes(memoryview(gpl)), IMAGE[0, :5])
    for reader in (imageio.decode_image, palettes.read_gpl, palettes.palette_from_file_bytes):
        with pytest.raises(TypeError, match="is bytes"):  # as gcp.decode documents
            reader(png.decode("latin-1"))


def test_encode_image_takes_a_grey_plane_and_refuses_other_arrays():
    grey = IMAGE[:, :, 0]
    assert np.array_equal(imageio.decode_image(imageio.encode_image(grey, ".png"))[:, :, 0],
                          grey)
    for image in (IMAGE.astype(np.float64), np.zeros((4, 4, 5), np.uint8), np.zeros(4, np.uint8)):
        with pytest.raises(ParameterError):
            imageio.encode_image(image, ".png")
