"""Floyd-Steinberg error diffusion onto a fixed palette (``gcp encode --dither``).

Each pixel takes the palette colour nearest to its value plus the error pushed onto it by
earlier pixels, and pushes its own error on: 7/16 to the right, 3/16 down-left, 5/16 down,
1/16 down-right. Values are clamped to 0..255 before the choice, as Pillow does.

Pixel (x, y) depends only on pixels of smaller x + 2y, so every anti-diagonal
x + 2y = t can be done at once, in numpy, in W + 2H steps rather than W * H.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# (dy, dx, weight) of Floyd and Steinberg's error filter.
ERROR_FILTER = ((0, 1, 7 / 16), (1, -1, 3 / 16), (1, 0, 5 / 16), (1, 1, 1 / 16))
_REPORT_EVERY = 512  # diagonals between progress reports


def floyd_steinberg(image: np.ndarray, palette: np.ndarray,
                    progress: Callable[[float], None] | None = None) -> np.ndarray:
    """Labels uint8 (H, W) of ``image`` uint8 (H, W, C) dithered onto ``palette`` (K, C).

    ``progress``, if given, is called now and then with the fraction done (0 to 1).
    Deterministic: the same image and palette always give the same labels.
    """
    height, width, _ = image.shape
    values = image.astype(np.float32)
    colours = palette.astype(np.float32)
    labels = np.empty((height, width), np.uint8)
    diagonals = width + 2 * (height - 1)
    for t in range(diagonals):
        rows = np.arange(max(0, (t - width + 2) // 2), min(height - 1, t // 2) + 1)
        columns = t - 2 * rows
        current = np.clip(values[rows, columns], 0, 255)
        chosen = _nearest(current, colours)
        labels[rows, columns] = chosen
        error = current - colours[chosen]
        for dy, dx, weight in ERROR_FILTER:
            target_rows, target_columns = rows + dy, columns + dx
            inside = (target_rows < height) & (target_columns >= 0) & (target_columns < width)
            values[target_rows[inside], target_columns[inside]] += weight * error[inside]
        if progress is not None and t % _REPORT_EVERY == 0:
            progress(t / diagonals)
    return labels


def _nearest(values: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """Index of the nearest colour (first of equals) for float (n, C) values."""
    distances = ((values[:, None, :] - colours[None, :, :]) ** 2).sum(2)
    return distances.argmin(1)
