"""Floyd-Steinberg error diffusion onto a fixed palette (``gcp encode --dither``).

Each pixel takes the palette colour nearest to its value plus the error pushed onto it by
earlier pixels, and pushes ERROR_SHARE (0.8) of its own error on: 7/16 of that to the
right, 3/16 down-left, 5/16 down, 1/16 down-right. Values are clamped to 0..255 before the
choice, as Pillow does. Passing on all of the error (the textbook's 1) lets it build up
into grain in flat areas; 0.8 gave a higher PSNR, and a higher one after blurring both
images too, while gradients still keep their local mean (benchmarks/dither_share.py).

The arithmetic is integers, so that every order of its sums and every device gives the
same labels: a value is held in 1/16ths of a level (``FRACTION_BITS``), a push is the
error times its weight in 1/256ths (``PUSH_WEIGHTS``), rounded to the nearest 1/16th
(halves up), and the nearest colour is the least squared distance in those units, the
first of equals. ``backends/dither.cl`` is the same machine as one OpenCL work-item going
through the pixels in reading order (``dither_opencl.py``).

Here, in numpy: pixel (x, y) depends only on pixels of smaller x + 2y, so every
anti-diagonal x + 2y = t can be done at once, in W + 2H steps rather than W * H. To make
each diagonal a contiguous slice, a band of rows is stored skewed: pixel (x, y) of the
band at ``skewed[x + 2y, y]``. Its four neighbours are then at (t + 1, y), (t + 1, y + 1),
(t + 2, y + 1) and (t + 3, y + 1), and cells with x outside the image are padding that
takes pushed error and is never read back. The band holds one row more than it dithers,
which collects the error pushed onto the next band's first row.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

# (dy, dx, weight) of Floyd and Steinberg's error filter.
ERROR_FILTER = ((0, 1, 7 / 16), (1, -1, 3 / 16), (1, 0, 5 / 16), (1, 1, 1 / 16))
# The share of a pixel's error passed on to its neighbours.
ERROR_SHARE = 0.8
FRACTION_BITS = 4   # a value is held in 1/16ths of a level: 0 to 255 * 16
PUSH_SHIFT = 8      # a push is error * weight / 256, rounded
# Keeps a push's dividend positive, so that a shift rounds it as floor division does
# (|error * weight| stays under 2^20: 4080 * 256).
PUSH_OFFSET = 1 << 30
TOP = 255 << FRACTION_BITS
# Most cells of a skewed band ((W + 2 rows + 1) x (rows + 1)): 4 Mi, 64 MiB at 4 channels,
# unless one row alone needs more. More rows per band means fewer, longer diagonal steps.
BAND_CELLS = 1 << 22
_REPORT_EVERY = 512  # diagonal steps between progress reports


def push_weights(share: float | None = None) -> tuple[int, ...]:
    """ERROR_FILTER's weights times ``share`` (ERROR_SHARE) in 1/256ths, rounded: 90, 38,
    64 and 13 for 0.8."""
    share = ERROR_SHARE if share is None else share
    return tuple(round(share * weight * (1 << PUSH_SHIFT)) for _, _, weight in ERROR_FILTER)


def pushed(error: np.ndarray | int, weight: int) -> np.ndarray | int:
    """``error`` (1/16ths of a level) times ``weight`` / 256, rounded to the nearest, halves
    up: ``floor((error * weight + 128) / 256)``, the shift taken on a positive number."""
    half = 1 << (PUSH_SHIFT - 1)
    return ((error * weight + half + PUSH_OFFSET) >> PUSH_SHIFT) - (PUSH_OFFSET >> PUSH_SHIFT)


def floyd_steinberg(image: np.ndarray, palette: np.ndarray,
                    progress: Callable[[float], None] | None = None) -> np.ndarray:
    """Labels uint8 (H, W) of ``image`` uint8 (H, W, C) dithered onto ``palette`` (K, C).

    ``progress``, if given, is called now and then with the fraction done, rising, and
    with 1.0 at the end (the caller reports the start).
    Deterministic: the same image and palette always give the same labels.
    """
    height, width, _ = image.shape
    nearest = _NearestColour(palette)
    skewed_filter = _skewed_filter(push_weights())
    labels = np.empty((height, width), np.uint8)
    band_rows = _band_rows(width, height)
    first_row = image[0].astype(np.int32) << FRACTION_BITS
    for top in range(0, height, band_rows):
        rows = min(band_rows, height - top)
        skewed = _skew_band(image, top, rows, first_row)
        skewed_labels = np.zeros(skewed.shape[:2], np.uint8)
        for t in range(width + 2 * (rows - 1)):
            _diffuse_diagonal(skewed, skewed_labels, t, width, rows, nearest, skewed_filter)
            if progress is not None and t % _REPORT_EVERY == _REPORT_EVERY - 1:
                progress((top + rows * t / (width + 2 * rows)) / height)
        for y in range(rows):
            labels[top + y] = skewed_labels[2 * y:2 * y + width, y]
        first_row = skewed[2 * rows:2 * rows + width, rows]  # the next band's, with its error
    if progress is not None:
        progress(1.0)
    return labels


def _band_rows(width: int, height: int) -> int:
    """The most rows r (1 to ``height``) whose skewed band, (W + 2r + 1) x (r + 1) cells,
    stays within BAND_CELLS: the root of 2r^2 + (W + 3) r + (W + 1 - BAND_CELLS) = 0."""
    linear, constant = width + 3, width + 1 - BAND_CELLS
    rows = (math.isqrt(linear * linear - 8 * constant) - linear) // 4 if constant < 0 else 0
    return max(1, min(height, rows))


def _skewed_filter(weights: tuple[int, ...]) -> tuple[tuple[int, int, int], ...]:
    """ERROR_FILTER in a skewed band, (dt, dy, weight): dt = dx + 2 dy, the weights
    ``push_weights``'."""
    return tuple((dx + 2 * dy, dy, weight)
                 for (dy, dx, _), weight in zip(ERROR_FILTER, weights, strict=True))


def _skew_band(image: np.ndarray, top: int, rows: int, first_row: np.ndarray) -> np.ndarray:
    """int32 (W + 2 rows + 1, rows + 1, C), in 1/16ths of a level: rows ``top`` to
    ``top + rows`` of ``image`` (the one after the band too, if there is one) skewed, the
    first being ``first_row``."""
    height, width, channels = image.shape
    skewed = np.zeros((width + 2 * rows + 1, rows + 1, channels), np.int32)
    skewed[:width, 0] = first_row
    for y in range(1, min(rows + 1, height - top)):
        skewed[2 * y:2 * y + width, y] = image[top + y]
        skewed[2 * y:2 * y + width, y] <<= FRACTION_BITS
    return skewed


def _diffuse_diagonal(skewed: np.ndarray, skewed_labels: np.ndarray, t: int, width: int,
                      rows: int, nearest: _NearestColour, skewed_filter: tuple) -> None:
    """Choose the colours of diagonal ``t`` of a skewed band and push their error on."""
    first = max(0, (t - width + 2) // 2)  # the band's rows that diagonal t crosses
    end = min(rows - 1, t // 2) + 1
    if first >= end:  # in an image one pixel wide, every other diagonal is empty
        return
    current = np.clip(skewed[t, first:end], 0, TOP)
    chosen = nearest(current)
    skewed_labels[t, first:end] = chosen
    error = current - nearest.colours[chosen]
    for dt, dy, weight in skewed_filter:
        skewed[t + dt, first + dy:end + dy] += pushed(error, weight)


class _NearestColour:
    """Index of the nearest palette colour (first of equals) for int32 (n, C) values in
    1/16ths of a level.

    Ranks colours by |c|^2 - 2 v.c, the squared distance less |v|^2, which is the same for
    every colour, as one matrix product in float64: every term is an integer below 2^27,
    so the sums are exact in any order and ties fall as in a plain loop over distances.
    """

    def __init__(self, palette: np.ndarray) -> None:
        self.colours = palette.astype(np.int32) << FRACTION_BITS
        wide = self.colours.astype(np.float64)
        self.minus_twice_transposed = np.ascontiguousarray(-2 * wide.T)
        self.squared_norms = (wide * wide).sum(1)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        scores = values.astype(np.float64) @ self.minus_twice_transposed
        scores += self.squared_norms
        return scores.argmin(1)
