"""The numpy reference backend: exact nearest-colour assignment in float32 matrix form.

For uint8 colours every quantity below is an integer under 2**24, which float32 holds
exactly, so ``|p|^2 - 2 x.p`` ranks palette rows exactly as the integer squared distance
does; ``argmin`` keeps the first of equal values, so ties go to the lowest index.
"""

from __future__ import annotations

import numpy as np

# Pixels per matrix product: (CHUNK, 256) float32 distances stay within 64 MiB.
CHUNK_PIXELS = 1 << 16


class NumpyPixelSet:
    def __init__(self, pixels: np.ndarray) -> None:
        self.pixels = pixels

    def assign(self, palette: np.ndarray) -> np.ndarray:
        return assign_labels(self.pixels, palette)

    def cluster_sums(self, labels: np.ndarray, palette_size: int
                     ) -> tuple[np.ndarray, np.ndarray]:
        return cluster_sums(self.pixels, labels, palette_size)


class NumpyBackend:
    name = "numpy"
    device = "numpy on the CPU"

    def load(self, pixels: np.ndarray) -> NumpyPixelSet:
        return NumpyPixelSet(pixels)


def assign_labels(pixels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """uint8 (N, C) pixels and (K, C) palette to uint8 (N,) nearest-row labels."""
    colours = palette.astype(np.float32)
    doubled = -2 * colours.T  # (C, K)
    norms = (colours * colours).sum(1)  # (K,)
    labels = np.empty(len(pixels), np.uint8)
    for start in range(0, len(pixels), CHUNK_PIXELS):
        block = pixels[start:start + CHUNK_PIXELS].astype(np.float32)
        distances = block @ doubled
        distances += norms
        labels[start:start + CHUNK_PIXELS] = distances.argmin(1)
    return labels


def cluster_sums(pixels: np.ndarray, labels: np.ndarray, palette_size: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Pixel count (K,) and channel sums (K, C), int64, of each label.

    One integer histogram of (label, value) pairs per channel: exact, and faster than a
    float-weighted bincount per channel.
    """
    shifted = labels.astype(np.int32) << 8
    values = np.arange(256, dtype=np.int64)
    sums = np.empty((palette_size, pixels.shape[1]), np.int64)
    for channel in range(pixels.shape[1]):
        histogram = np.bincount(shifted | pixels[:, channel], minlength=palette_size * 256)
        histogram = histogram[: palette_size * 256].reshape(palette_size, 256)
        sums[:, channel] = histogram @ values
    return histogram.sum(1), sums
