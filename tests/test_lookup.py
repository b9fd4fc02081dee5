"""gcp.lookup: OpenCV's table lookups give what numpy's indexing gives."""

from __future__ import annotations

import numpy as np
import pytest

from gcp import lookup


def numpy_squared_error(pixels: np.ndarray, palette: np.ndarray, labels: np.ndarray) -> int:
    difference = pixels.astype(np.int64) - palette.astype(np.int64)[labels]
    return int((difference * difference).sum())


@pytest.mark.parametrize("band_pixels", [1 << 18, 7])
def test_palette_lookup_matches_numpy_indexing_for_every_channel_count(monkeypatch,
                                                                       band_pixels):
    monkeypatch.setattr(lookup, "_LOOKUP_PIXELS", band_pixels)  # 7: one row per band
    rng = np.random.default_rng(band_pixels)
    for channels in (1, 2, 3, 4):
        palette = rng.integers(0, 256, (7, channels), dtype=np.uint8)
        indices = rng.integers(0, 7, (5, 9), dtype=np.uint8)
        assert np.array_equal(lookup.colours_of(palette, indices), palette[indices])


@pytest.mark.parametrize("count", [0, 1, 6, 7, 8, 20])
def test_relabelling_matches_indexing_across_bands(monkeypatch, count):
    monkeypatch.setattr(lookup, "_RELABEL_BAND", 7)
    rng = np.random.default_rng(count)
    place = rng.permutation(5).astype(np.uint8)
    labels = rng.integers(0, 5, count, dtype=np.uint8)
    relabelled = lookup.relabelled(labels, place)
    assert relabelled.dtype == np.uint8 and relabelled.shape == (count,)
    np.testing.assert_array_equal(relabelled, place[labels])


def test_relabelling_a_whole_palette_of_256():
    rng = np.random.default_rng(256)
    place = rng.permutation(256).astype(np.uint8)
    labels = rng.integers(0, 256, 100_000, dtype=np.uint8)
    np.testing.assert_array_equal(lookup.relabelled(labels, place), place[labels])


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("count", [0, 1, 9, 10, 11, 35])
def test_squared_error_is_numpys_exactly_across_bands(monkeypatch, channels, count):
    monkeypatch.setattr(lookup, "_ERROR_BAND", 10)
    rng = np.random.default_rng(10 * channels + count)
    pixels = rng.integers(0, 256, (count, channels), dtype=np.uint8)
    palette = rng.integers(0, 256, (256, channels), dtype=np.uint8)
    labels = rng.integers(0, 256, count, dtype=np.uint8)
    assert lookup.squared_error(pixels, palette, labels) == numpy_squared_error(
        pixels, palette, labels)


def test_squared_error_counts_a_full_band_of_one_difference_exactly():
    """A band's 2^22 values (2^20 pixels of 4 channels) all 255 from their colour: the
    histogram's float32 count must hold 2^22 and one more band adds to it exactly."""
    count = (1 << 20) + 3
    pixels = np.full((count, 4), 255, np.uint8)
    palette = np.zeros((1, 4), np.uint8)
    labels = np.zeros(count, np.uint8)
    assert lookup.squared_error(pixels, palette, labels) == count * 4 * 255 ** 2


def test_squared_error_of_a_non_contiguous_view():
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (40, 3), dtype=np.uint8)
    pixels = image[::2]
    palette = rng.integers(0, 256, (16, 3), dtype=np.uint8)
    labels = rng.integers(0, 16, len(pixels), dtype=np.uint8)
    assert lookup.squared_error(pixels, palette, labels) == numpy_squared_error(
        pixels, palette, labels)


@pytest.mark.parametrize("shape", [(0, 3), (1, 1, 1), (7, 3, 2), (5, 9, 4), (35,)])
def test_squared_difference_is_numpys_exactly_across_bands(monkeypatch, shape):
    monkeypatch.setattr(lookup, "_ERROR_BAND", 10)
    rng = np.random.default_rng(len(shape) * 100 + sum(shape))
    first = rng.integers(0, 256, shape, dtype=np.uint8)
    second = rng.integers(0, 256, shape, dtype=np.uint8)
    expected = int(((first.astype(np.int64) - second) ** 2).sum())
    assert lookup.squared_difference(first, second) == expected


def test_squared_difference_of_views_and_a_full_band_of_255():
    """Non-contiguous views are read as they are; a band of 2^20 values all 255 apart,
    and one value more, add up exactly."""
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)
    other = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)
    expected = int(((image[::2, 1::3].astype(np.int64) - other[1::2, 2::3]) ** 2).sum())
    assert lookup.squared_difference(image[::2, 1::3], other[1::2, 2::3]) == expected
    count = (1 << 20) + 1
    assert lookup.squared_difference(np.full(count, 255, np.uint8),
                                     np.zeros(count, np.uint8)) == count * 255 ** 2
