"""Floyd-Steinberg error diffusion onto a fixed palette (``gcp encode --dither``).

Each pixel takes the palette colour nearest to its value plus the error pushed onto it by
earlier pixels, and pushes ERROR_SHARE (0.8) of its own error on: 7/16 of that to the
right, 3/16 down-left, 5/16 down, 1/16 down-right. Values are clamped to 0..255 before the
choice, as Pillow does. Passing on all of the error (the textbook's 1) lets it build up
into grain in flat areas; 0.8 gave a higher PSNR, and a higher one after blurring both
images too, while gradients still keep their local mean (benchmarks/dither_share.py).

Pixel (x, y) depends only on pixels of smaller x + 2y, so every anti-diagonal
x + 2y = t can be done at once, in numpy, in W + 2H steps rather than W * H. To make each
diagonal a contiguous slice, a band of rows is stored skewed: pixel (x, y) of the band at
``skewed[x + 2y, y]``. Its four neighbours are then at (t + 1, y), (t + 1, y + 1),
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
# Most cells of a skewed band ((W + 2 rows + 1) x (rows + 1)): 4 Mi, 64 MiB at 4 channels,
# unless one row alone needs more. More rows per band means fewer, longer diagonal steps.
BAND_CELLS = 1 << 22
_REPORT_EVERY = 512  # diagonal steps between progress reports


def floyd_steinberg(image: np.ndarray, palette: np.ndarray,
                    progress: Callable[[float], None] | None = None) -> np.ndarray:
    """Labels uint8 (H, W) of ``image`` uint8 (H, W, C) dithered onto ``palette`` (K, C).

    ``progress``, if given, is called now and then with the fraction done, rising, and
    with 1.0 at the end (the caller reports the start).
    Deterministic: the same image and palette always give the same labels.
    """
    height, width, _ = image.shape
    nearest = _NearestColour(palette)
    skewed_filter = _skewed_filter(ERROR_SHARE)
    labels = np.empty((height, width), np.uint8)
    band_rows = _band_rows(width, height)
    first_row = image[0].astype(np.float32)
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


def _skewed_filter(share: float) -> tuple[tuple[int, int, np.float32], ...]:
    """ERROR_FILTER in a skewed band, (dt, dy, float32 weight): dt = dx + 2 dy, the weight
    times ``share``."""
    return tuple((dx + 2 * dy, dy, np.float32(share * weight))
                 for dy, dx, weight in ERROR_FILTER)


def _skew_band(image: np.ndarray, top: int, rows: int, first_row: np.ndarray) -> np.ndarray:
    """float32 (W + 2 rows + 1, rows + 1, C): rows ``top`` to ``top + rows`` of ``image``
    (the one after the band too, if there is one) skewed, the first being ``first_row``."""
    height, width, channels = image.shape
    skewed = np.zeros((width + 2 * rows + 1, rows + 1, channels), np.float32)
    skewed[:width, 0] = first_row
    for y in range(1, min(rows + 1, height - top)):
        skewed[2 * y:2 * y + width, y] = image[top + y]
    return skewed


def _diffuse_diagonal(skewed: np.ndarray, skewed_labels: np.ndarray, t: int, width: int,
                      rows: int, nearest: _NearestColour, skewed_filter: tuple) -> None:
    """Choose the colours of diagonal ``t`` of a skewed band and push their error on."""
    first = max(0, (t - width + 2) // 2)  # the band's rows that diagonal t crosses
    end = min(rows - 1, t // 2) + 1
    current = np.clip(skewed[t, first:end], 0, 255)
    chosen = nearest(current)
    skewed_labels[t, first:end] = chosen
    error = current - nearest.colours[chosen]
    for dt, dy, weight in skewed_filter:
        skewed[t + dt, first + dy:end + dy] += weight * error


class _NearestColour:
    """Index of the nearest palette colour (first of equals) for float32 (n, C) values.

    Ranks colours by |c|^2 - 2 v.c, the squared distance less |v|^2, which is the same for
    every colour, as one matrix product. In float64 this is exact for values of 2^-14 and
    more (a 24-bit mantissa times an 8-bit integer), so ties fall as they do in a plain
    loop over exact distances.
    """

    def __init__(self, palette: np.ndarray) -> None:
        self.colours = palette.astype(np.float32)
        wide = palette.astype(np.float64)
        self.minus_twice_transposed = np.ascontiguousarray(-2 * wide.T)
        self.squared_norms = (wide * wide).sum(1)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        scores = values.astype(np.float64) @ self.minus_twice_transposed
        scores += self.squared_norms
        return scores.argmin(1)
