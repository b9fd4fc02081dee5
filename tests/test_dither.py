"""Floyd-Steinberg dithering (gcp/dither.py) and its place in the encoder."""

from __future__ import annotations

import numpy as np
import pytest

import gcp
from gcp import codec, dither
from gcp.dither import ERROR_FILTER, floyd_steinberg
from tests.conftest import requires_opencl

RNG = np.random.default_rng(99)


def reference_floyd_steinberg(image, palette):
    """The textbook loop, pixel by pixel in reading order, in plain Python integers: values
    in 1/16ths of a level, ERROR_SHARE of the error passed on in 1/256ths, each push
    rounded to the nearest 1/16th (halves up), the first of the nearest colours."""
    height, width, channels = image.shape
    values = [[[int(v) * 16 for v in image[y, x]] for x in range(width)] for y in range(height)]
    colours = [[int(v) * 16 for v in colour] for colour in palette]
    weights = [round(dither.ERROR_SHARE * weight * 256) for _, _, weight in ERROR_FILTER]
    labels = np.empty((height, width), np.uint8)
    for y in range(height):
        for x in range(width):
            current = [min(max(v, 0), 255 * 16) for v in values[y][x]]
            distances = [sum((v - c) ** 2 for v, c in zip(current, colour, strict=True))
                         for colour in colours]
            chosen = distances.index(min(distances))
            labels[y, x] = chosen
            error = [v - c for v, c in zip(current, colours[chosen], strict=True)]
            for (dy, dx, _), weight in zip(ERROR_FILTER, weights, strict=True):
                if y + dy < height and 0 <= x + dx < width:
                    for c in range(channels):
                        values[y + dy][x + dx][c] += (error[c] * weight + 128) // 256
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
    # The first is 2 from all four: colour 0. Its error, -2 levels (-32/16), pushes
    # round(-32 * 90 / 256) = -11/16 on, which makes the second 99.3, nearest to 98:
    # colour 1, the first of the two 98s.
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


def opencl_backend():
    """The CPU device the encoder dithers on, where there is one; else the default."""
    from gcp.backends import dither_opencl, opencl

    return dither_opencl.cpu_backend() or opencl.OpenCLBackend.for_device(None)


def dither_cases(count: int, seed: int):
    """Random images and palettes: every channel count, thin shapes, palettes of 1 to 256
    colours, some with repeated colours (ties) or crowded into a corner of the cube."""
    rng = np.random.default_rng(seed)
    shapes = [(1, 1), (1, 37), (41, 1), (2, 29), (23, 17)]
    for case in range(count):
        height, width = shapes[case % len(shapes)]
        channels = 1 + case % 4
        k = int(rng.choice([1, 2, 3, 16, 17, 64, 256]))
        image = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
        palette = rng.integers(0, 256, (k, channels), dtype=np.uint8)
        if case % 3 == 0:
            palette[rng.integers(0, k, k // 2)] = palette[0]
        if case % 5 == 1:
            palette = (palette // 8 + 100).astype(np.uint8)
        yield image, palette


@requires_opencl
@pytest.mark.parametrize("launch_pixels", [1, 50, 1 << 20])
def test_the_opencl_kernel_gives_the_reference_labels(launch_pixels, monkeypatch):
    from gcp.backends import dither_opencl

    monkeypatch.setattr(dither_opencl, "LAUNCH_PIXELS", launch_pixels)  # rows carried over
    backend = opencl_backend()
    for image, palette in dither_cases(60, seed=launch_pixels):
        told = []
        labels = dither_opencl.floyd_steinberg(backend, image, palette, told.append)
        assert np.array_equal(labels, floyd_steinberg(image, palette)), (image.shape, palette)
        assert told[-1] == 1.0 and told == sorted(told)


@requires_opencl
@pytest.mark.parametrize("share", [dither.ERROR_SHARE, 1.0])
def test_the_opencl_kernel_follows_the_share(share, monkeypatch):
    from gcp.backends import dither_opencl

    monkeypatch.setattr(dither, "ERROR_SHARE", share)
    image, palette = RNG.integers(0, 256, (19, 23, 3), dtype=np.uint8), RNG.integers(
        0, 256, (7, 3), dtype=np.uint8)
    assert np.array_equal(dither_opencl.floyd_steinberg(opencl_backend(), image, palette),
                          reference_floyd_steinberg(image, palette))


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_each_grid_cell_lists_the_nearest_colours_of_its_points(channels):
    """The kernel's search reads only its cell's candidates: for random points of random
    cells, every colour at the least distance is listed."""
    from gcp.backends import dither_opencl

    rng = np.random.default_rng(channels)
    for k in (1, 5, 64, 256):
        palette = rng.integers(0, 256, (k, channels), dtype=np.uint8)
        palette[rng.integers(0, k, k // 4)] = palette[-1]
        shift, side, offsets, candidates = dither_opencl.candidate_cells(palette)
        colours = palette.astype(np.int64) << dither.FRACTION_BITS
        points = rng.integers(0, dither.TOP + 1, (500, channels))
        points[:50] = dither.TOP  # the top of the range: the last cell
        for point in points:
            cell = 0
            for value in point:
                cell = cell * side + (int(value) >> shift)
            listed = set(candidates[offsets[cell]:offsets[cell + 1]].tolist())
            distances = ((colours - point) ** 2).sum(1)
            assert set(np.flatnonzero(distances == distances.min()).tolist()) <= listed


@requires_opencl
@pytest.mark.parametrize("shape", [(96, 80), (1, 5000), (3000, 1)])
def test_the_encoder_dithers_on_opencl_to_the_bytes_numpy_gives(shape, monkeypatch):
    """Dithering on a CPU device (the fit's, or one opened for a large or thin image) and
    with numpy write the same file; without a CPU device numpy dithers."""
    from gcp.backends import dither_opencl

    monkeypatch.setattr(dither_opencl, "MIN_PIXELS_TO_OPEN_DEVICE", 1)
    monkeypatch.setattr(dither_opencl, "MIN_PIXELS_ON_OPEN_DEVICE", 1)
    used = []
    real = dither_opencl.floyd_steinberg
    monkeypatch.setattr(dither_opencl, "floyd_steinberg",
                        lambda *arguments: used.append(1) or real(*arguments))
    image = RNG.integers(0, 256, (*shape, 3), dtype=np.uint8)
    for k in (16, 200):
        expected = gcp.encode(image, k, dither=True, backend="numpy")
        used.clear()
        assert gcp.encode(image, k, dither=True) == expected
        assert used == ([1] if dither_opencl.cpu_backend() is not None else [])


def test_a_dithered_encode_skips_the_fit_s_assignment(monkeypatch):
    """Dithering makes its own labels: the fit's nearest-colour labels are not computed
    (only where they decide exactness, a refit, or alpha's stored colours)."""
    image = RNG.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    expected = gcp.encode(image, 8, dither=True)
    calls = []
    real = codec._assign
    monkeypatch.setattr(codec, "_assign", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert gcp.encode(image, 8, dither=True) == expected
    assert calls == []
    gcp.encode(image, 8)
    assert calls == [1]


@pytest.mark.parametrize(("dither", "backend", "most", "opened"), [
    (True, "auto", 16, True), (False, "auto", 16, False), (True, "numpy", 16, False),
    (True, "auto", 200, False),  # the fit's own device is opened instead
])
def test_the_command_opens_the_dithering_device_while_the_image_is_read(
        tmp_path, monkeypatch, dither, backend, most, opened):
    from gcp import cli
    from gcp.backends import dither_opencl

    started = []

    class Thread:  # runs nothing: records what the command would start
        def __init__(self, target, args, daemon):
            self.target = target

        def start(self):
            started.append(self.target)

    monkeypatch.setattr(cli.threading, "Thread", Thread)
    monkeypatch.setattr(dither_opencl, "MIN_PIXELS_TO_OPEN_DEVICE", 1)
    path = tmp_path / "in.png"
    path.write_bytes(gcp.imageio.encode_image(RNG.integers(0, 256, (8, 8, 3), np.uint8), ".png"))
    cli._read_and_warm_up(str(path), max_pixels=1 << 20, backend=backend, device=None,
                          most=most, method="lzma", dither=dither)
    assert (dither_opencl.warm_up in started) == opened


def test_small_images_dither_with_numpy_even_where_the_fit_s_device_is_open(monkeypatch):
    """The kernel's search grid costs more than numpy's whole dithering of a small image."""
    from gcp.backends import dither_opencl

    monkeypatch.setattr(dither_opencl, "floyd_steinberg", None)  # fails if called
    image = RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert gcp.decode(gcp.encode(image, 200, dither=True)).shape == (64, 64, 3)


@requires_opencl
def test_an_image_past_the_device_s_buffers_dithers_with_numpy(monkeypatch):
    from gcp.backends import dither_opencl

    backend = opencl_backend()
    image = RNG.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    palette = RNG.integers(0, 256, (9, 3), dtype=np.uint8)
    monkeypatch.setattr(dither_opencl, "MIN_PIXELS_ON_OPEN_DEVICE", 1)
    monkeypatch.setattr(backend, "max_buffer_bytes", image.nbytes - 1)
    monkeypatch.setattr(dither_opencl, "floyd_steinberg", None)  # fails if called
    assert np.array_equal(codec._dithered_labels(image, palette, backend, "auto", None, None),
                          floyd_steinberg(image, palette))
