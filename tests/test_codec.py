"""The public API on real and edge-case images: round trips, limits, determinism."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import gcp
from gcp import quantizer
from gcp.backends import numpy_backend
from tests.conftest import colour_count, psnr

RNG = np.random.default_rng(12345)


def round_trip(image, k=16, **options):
    data = gcp.encode(image, k, **options)
    return data, gcp.decode(data)


@pytest.mark.parametrize("name", ["astronaut", "coffee", "camera", "logo", "color"])
@pytest.mark.parametrize("k", [4, 16])
def test_real_image_round_trip_keeps_shape_and_at_most_k_colours(real_images, name, k):
    image = real_images[name]
    data, decoded = round_trip(image, k)
    assert decoded.shape == image.shape and decoded.dtype == np.uint8
    assert colour_count(decoded) <= k
    assert gcp.read_info(data).palette_size <= k


def test_quality_on_a_photo_at_k16(real_images):
    # pngquant 2.17 (16 --nofs) reaches 27.00 dB on this image; OpenCV k-means 27.46 dB
    # (benchmarks/quality.py). gcp's own figure is higher; this guards regressions.
    _, decoded = round_trip(real_images["astronaut"], 16)
    assert psnr(real_images["astronaut"], decoded) > 27.4


def test_more_colours_give_a_closer_image(real_images):
    image = real_images["coffee"]
    quality = [psnr(image, round_trip(image, k)[1]) for k in (2, 8, 32)]
    assert quality[0] < quality[1] < quality[2]


def test_encoding_twice_gives_identical_bytes(real_images):
    image = real_images["astronaut"]
    assert gcp.encode(image, 16, seed=3) == gcp.encode(image, 16, seed=3)


def test_another_seed_may_give_another_file_but_the_same_shape(real_images):
    image = real_images["coffee"]
    assert gcp.decode(gcp.encode(image, 8, seed=1)).shape == image.shape


@pytest.mark.parametrize("shape", [(1, 1, 3), (1, 37, 3), (41, 1, 3), (3, 5, 1), (2, 2, 4)])
def test_tiny_and_thin_images_are_lossless_when_colours_fit(shape):
    image = RNG.integers(0, 256, shape, dtype=np.uint8)
    data, decoded = round_trip(image, 256)
    assert np.array_equal(decoded, image)
    assert gcp.read_info(data).exact


def test_image_with_no_more_than_k_colours_is_stored_exactly():
    palette = RNG.integers(0, 256, (12, 3), dtype=np.uint8)
    image = palette[RNG.integers(0, 12, (60, 70))]
    data, decoded = round_trip(image, 12)
    assert np.array_equal(decoded, image)
    info = gcp.read_info(data)
    assert info.exact and info.palette_size == 12


def test_single_colour_image():
    image = np.full((30, 40, 3), 77, np.uint8)
    data, decoded = round_trip(image, 16)
    assert np.array_equal(decoded, image)
    assert gcp.read_info(data).palette_size == 1


def test_k_1_gives_one_colour_the_mean(real_images):
    image = real_images["coffee"]
    _, decoded = round_trip(image, 1)
    assert colour_count(decoded) == 1
    mean = image.reshape(-1, 3).mean(0)
    assert np.all(np.abs(decoded[0, 0].astype(float) - mean) <= 1.0)


def test_k_256_on_a_photo(real_images):
    image = real_images["astronaut"]
    _, decoded = round_trip(image, 256)
    assert colour_count(decoded) <= 256
    assert psnr(image, decoded) > psnr(image, round_trip(image, 16)[1]) + 5


def test_grey_stays_one_channel(real_images):
    image = real_images["camera"]
    assert image.shape[2] == 1
    data, decoded = round_trip(image, 8)
    assert decoded.shape == image.shape
    assert gcp.read_info(data).channels == 1


def test_two_dimensional_array_is_read_as_grey():
    image = RNG.integers(0, 4, (9, 11), dtype=np.uint8) * 60
    decoded = gcp.decode(gcp.encode(image, 4))
    assert np.array_equal(decoded[:, :, 0], image)


def test_rgba_keeps_its_alpha(real_images):
    image = real_images["logo"].copy()  # opaque as shipped: give it a clear band
    assert image.shape[2] == 4
    image[:100, :, 3] = 0
    image[100:150, :, 3] = 128
    _, decoded = round_trip(image, 16)
    assert decoded.shape == image.shape
    assert np.all(decoded[:100, :, 3] < 16)
    assert np.all(np.abs(decoded[100:150, :, 3].astype(int) - 128) < 16)
    assert np.mean(decoded[150:, :, 3] > 240) > 0.99


def test_grey_alpha_two_channels():
    image = np.dstack([RNG.integers(0, 256, (20, 20)), RNG.integers(0, 2, (20, 20)) * 255])
    image = image.astype(np.uint8)
    _, decoded = round_trip(image, 8)
    assert decoded.shape == (20, 20, 2)


@pytest.mark.parametrize("method", ["rle", "lzma", "cm"])
def test_every_method_decodes_to_the_same_pixels(real_images, method):
    image = real_images["color"]
    reference = gcp.decode(gcp.encode(image, 16, method="lzma"))
    data = gcp.encode(image, 16, method=method)
    assert gcp.read_info(data).method == method
    assert np.array_equal(gcp.decode(data), reference)


def test_lzma_is_smaller_than_plain_runs(real_images):
    image = real_images["astronaut"]
    assert len(gcp.encode(image, 16)) < 0.7 * len(gcp.encode(image, 16, method="rle"))


@pytest.mark.parametrize(("options", "field"), [
    (dict(k=0), "k"), (dict(k=257), "k"), (dict(method="zip"), "method"),
    (dict(effort=0), "effort"), (dict(effort=10), "effort"), (dict(max_iter=0), "max_iter"),
    (dict(tol=-1.0), "tol"), (dict(backend="cuda"), "backend"),
])
def test_bad_options_raise_parameter_error(options, field):
    with pytest.raises(gcp.ParameterError) as raised:
        gcp.encode(np.zeros((2, 2, 3), np.uint8), **options)
    assert raised.value.field == field


@pytest.mark.parametrize("image", [
    np.zeros((0, 5, 3), np.uint8), np.zeros((5, 0, 3), np.uint8), np.zeros((2, 2, 5), np.uint8),
    np.zeros((2, 2, 3), np.float32), np.zeros(5, np.uint8),
], ids=["no-rows", "no-columns", "5-channels", "float", "1-d"])
def test_bad_images_raise_parameter_error(image):
    with pytest.raises(gcp.ParameterError):
        gcp.encode(image)


def test_encoder_refuses_images_over_the_pixel_limit():
    with pytest.raises(gcp.LimitError):
        gcp.encode(np.zeros((10, 10, 3), np.uint8), max_pixels=99)


def test_decoder_refuses_files_over_the_pixel_limit():
    data = gcp.encode(np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(gcp.LimitError):
        gcp.decode(data, max_pixels=99)
    assert gcp.decode(data, max_pixels=100).shape == (10, 10, 3)


def test_read_info_reports_sizes(real_images):
    image = real_images["astronaut"]
    data = gcp.encode(image, 16)
    info = gcp.read_info(data)
    assert (info.width, info.height, info.channels) == (512, 512, 3)
    assert info.file_size == len(data)
    assert info.raw_size == 512 * 512 * 3
    assert info.compression_ratio == pytest.approx(info.raw_size / len(data))
    assert info.bits_per_pixel == pytest.approx(8 * len(data) / (512 * 512))
    assert info.palette.shape == (info.palette_size, 3)
    assert info.as_dict()["palette_hex"][0].startswith("#")


def test_gcp_error_is_a_value_error():
    assert issubclass(gcp.GcpError, ValueError)
    assert issubclass(gcp.FormatError, gcp.GcpError)


def noisy_photo_like(height=400, width=400, noise=30):
    """uint8 (height, width, 3): smooth colour ramps plus noise; at the default size
    about 150k distinct colours, more than any effort 5 histogram holds."""
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    base = np.stack([200 * x + 30 * y, 120 + 100 * np.sin(5 * y), 60 + 150 * x * y], axis=2)
    noisy = base + np.random.default_rng(5).normal(0, noise, base.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def full_update(pixels, palette):
    """uint8 palette after one Lloyd update of ``palette`` (K, C) on every pixel (N, C)."""
    labels = numpy_backend.nearest_two(pixels.astype(float), palette)[0]
    counts = np.bincount(labels, minlength=len(palette))
    sums = np.stack([np.bincount(labels, pixels[:, c].astype(float), minlength=len(counts))
                     for c in range(pixels.shape[1])], axis=1)
    return quantizer.palette_from_sums(counts, sums)


def test_an_image_the_fit_sees_whole_gets_a_finer_histogram_at_few_colours():
    """At effort 5 an image no larger than the sample is fitted on up to
    whole_fine_points points at up to whole_fine_colours colours; above, on fine_points."""
    pixels = noisy_photo_like().reshape(-1, 3)
    level = quantizer.EFFORT_LEVELS[5]
    assert quantizer.samples_whole(len(pixels), level.sample_size)
    few = level.whole_fine_colours
    assert level.fine_points < quantizer.fit_palette(pixels, few).points \
        <= level.whole_fine_points
    assert quantizer.fit_palette(pixels, few + 1).points <= level.fine_points


def test_an_image_the_fit_sees_whole_gets_a_full_update_from_some_colours_on():
    """From whole_refine_colours colours on, every colour of a whole image's palette moves
    once to the mean of its pixels; below, each colour averages thousands of pixels and the
    fit's palette is stored."""
    image = noisy_photo_like()
    pixels = image.reshape(-1, 3)
    level = quantizer.EFFORT_LEVELS[5]
    for k in (level.whole_refine_colours - 1, 64):
        fit = quantizer.fit_palette(pixels, k)
        updated = full_update(pixels, fit.palette)
        assert not np.array_equal(updated, fit.palette)
        stored = gcp.read_info(gcp.encode(image, k, backend="numpy")).palette
        assert np.array_equal(stored, updated if k >= level.whole_refine_colours
                              else fit.palette)


def test_a_sampled_image_keeps_the_fitted_palette(monkeypatch):
    """An image larger than the sample is not updated on every pixel at effort 5 (that pass
    is what a 16.8-MP image cannot afford); the stored palette is the fit's."""
    image = noisy_photo_like(96, 96)
    pixels = image.reshape(-1, 3)
    level = dataclasses.replace(quantizer.EFFORT_LEVELS[5], sample_size=4096)
    monkeypatch.setitem(quantizer.EFFORT_LEVELS, 5, level)
    assert not quantizer.samples_whole(len(pixels), level.sample_size)
    fit = quantizer.fit_palette(pixels, 64)
    assert fit.points <= 4096
    assert not np.array_equal(full_update(pixels, fit.palette), fit.palette)
    stored = gcp.read_info(gcp.encode(image, 64, backend="numpy")).palette
    assert np.array_equal(stored, fit.palette)
