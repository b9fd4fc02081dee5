"""Floyd-Steinberg dithering (gcp/dither.py) and its place in the encoder."""

from __future__ import annotations

import numpy as np
import pytest

import gcp
from gcp import dither
from gcp.dither import ERROR_FILTER, floyd_steinberg

RNG = np.random.default_rng(99)


def reference_floyd_steinberg(image, palette):
    """The textbook loop, pixel by pixel in reading order, passing on ERROR_SHARE of the
    error; exact (float64) distances."""
    height, width, _ = image.shape
    values = image.astype(np.float32)
    colours = palette.astype(np.float32)
    labels = np.empty((height, width), np.uint8)
    for y in range(height):
        for x in range(width):
            current = np.clip(values[y, x], 0, 255)
            distances = ((current[None].astype(np.float64) - colours) ** 2).sum(1)
            chosen = int(distances.argmin())
            labels[y, x] = chosen
            error = current - colours[chosen]
            for dy, dx, weight in ERROR_FILTER:
                if y + dy < height and 0 <= x + dx < width:
                    values[y + dy, x + dx] += np.float32(dither.ERROR_SHARE * weight) * error
    return labels


@pytest.mark.parametrize("share", [dither.ERROR_SHARE, 1.0])
@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (7, 1), (6, 11)])
def test_diagonal_order_equals_the_textbook_loop(channels, shape, share, monkeypatch):
    monkeypatch.setattr(dither, "ERROR_SHARE", share)
    image = RNG.integers(0, 256, (*shape, channels), dtype=np.uint8)
    palette = RNG.integers(0, 256, (5, channels), dtype=np.uint8)
    assert np.array_equal(floyd_steinberg(image, palette),
                          reference_floyd_steinberg(image, palette))


@pytest.mark.parametrize("band_cells", [1, 40, 200])
def test_bands_of_rows_join_as_the_textbook_loop(band_cells, monkeypatch):
    """Error pushed onto the next band's first row carries over exactly (1 cell: a band
    of one row each)."""
    monkeypatch.setattr(dither, "BAND_CELLS", band_cells)
    image = RNG.integers(0, 256, (23, 13, 3), dtype=np.uint8)
    palette = RNG.integers(0, 256, (6, 3), dtype=np.uint8)
    assert np.array_equal(floyd_steinberg(image, palette),
                          reference_floyd_steinberg(image, palette))


@pytest.mark.parametrize(("width", "height"), [(4096, 4096), (100, 2_600_000), (1, 10**8),
                                               (5, 3), (1 << 23, 32)])
def test_a_band_is_as_tall_as_its_cell_budget_allows(width, height):
    """A narrow image must not get a band of millions of rows: its skew adds 2 cells a row."""
    rows = dither._band_rows(width, height)

    def cells(band_rows):
        return (width + 2 * band_rows + 1) * (band_rows + 1)

    assert 1 <= rows <= height
    assert rows == 1 or cells(rows) <= dither.BAND_CELLS
    assert rows == height or cells(rows + 1) > dither.BAND_CELLS


def test_ties_go_to_the_first_of_equal_colours():
    image = np.array([[[100], [100]]], np.uint8)
    palette = np.array([[102], [98], [98], [102]], np.uint8)
    # The first is 2 from all four: colour 0. Its error -2 makes the second 99.125, nearest
    # to 98: colour 1, the first of the two 98s.
    assert floyd_steinberg(image, palette).tolist() == [[0, 1]]


def test_dithering_keeps_the_local_mean_of_a_gradient():
    ramp = np.tile(np.linspace(0, 255, 64).astype(np.uint8), (32, 1))[:, :, None]
    plain = gcp.decode(gcp.encode(ramp, 2))[:, :, 0].astype(float)
    dithered = gcp.decode(gcp.encode(ramp, 2, dither=True))[:, :, 0].astype(float)
    # Where the ramp lies between the two palette colours, dithering can match its
    # column means; plain nearest-colour cannot.
    low, high = np.unique(plain)
    inside = (ramp[0, :, 0] > low + 8) & (ramp[0, :, 0] < high - 8)

    def column_error(image):
        return np.abs(image.mean(0) - ramp[:, :, 0].mean(0))[inside].mean()

    assert column_error(dithered) < column_error(plain) / 3


def test_dithered_file_decodes_with_at_most_k_colours(real_images):
    image = real_images["astronaut"][:128, :128]
    data = gcp.encode(image, 8, dither=True)
    decoded = gcp.decode(data)
    assert len(np.unique(decoded.reshape(-1, 3), axis=0)) <= 8
    assert data == gcp.encode(image, 8, dither=True)  # deterministic


def test_exact_images_are_not_dithered():
    image = np.zeros((4, 4, 3), np.uint8)
    image[::2] = 200
    assert np.array_equal(gcp.decode(gcp.encode(image, 4, dither=True)), image)


def test_progress_reports_each_stage_in_order():
    seen = []
    image = RNG.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    gcp.encode(image, 4, dither=True, progress=lambda stage, done: seen.append((stage, done)))
    stages = list(dict.fromkeys(stage for stage, _ in seen))
    assert stages == ["fit", "assign", "dither", "encode"]
    assert all(0.0 <= done <= 1.0 for _, done in seen)
    dither = [done for stage, done in seen if stage == "dither"]
    assert dither[0] == 0.0 and dither[-1] == 1.0 and dither == sorted(set(dither))
