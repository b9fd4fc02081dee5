"""The numpy reference backend: exact nearest-colour assignment in float32 matrix form.

For uint8 colours every quantity below is an integer under 2**24, which float32 holds
exactly, so ``|p|^2 - 2 x.p`` ranks palette rows exactly as the integer squared distance
does; ``argmin`` keeps the first of equal values, so ties go to the lowest index.
"""

from __future__ import annotations

import numpy as np

from .colour_table import KeyedColours

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
    # 16.8 MP at k = 16 took 0.36 s, at 256 4.8 s (2 cores): about a nanosecond a pair.
    seconds_per_pair = 1.2e-9
    # By distinct colour, 2 cores: 3-8 ms at 0.016-0.26 MP, 12-25 ms at 1 MP, 130-190 ms
    # at 16.8 MP (RGB).
    table_seconds_per_pixel = 8e-9

    def load(self, pixels: np.ndarray) -> NumpyPixelSet:
        return NumpyPixelSet(pixels)

    @staticmethod
    def colour_index(pixels: np.ndarray) -> KeyedColours:
        return KeyedColours(pixels)

    @staticmethod
    def nearest_two(points: np.ndarray, centres: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return nearest_two(points, centres)


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


# Entries of the float32 distance block worked on at a time (256 KiB: cache-sized).
DISTANCE_BLOCK = 1 << 16


def nearest_two(points: np.ndarray, centres: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The K-Means fit's search: each point's nearest centre and the squared distances to
    it and to the next nearest.

    ``points`` (M, C) and ``centres`` (K, C), 1 <= K <= 256, are taken as float32. Returns
    labels intp (M,), nearest and second float32 (M,); second is inf when K = 1 and equals
    nearest when two centres tie. A distance is ((p0 - c0)^2 + (p1 - c1)^2) + ... in
    float32, each step rounded, which the OpenCL kernel repeats bit for bit; ties go to the
    lowest index.
    """
    points = np.ascontiguousarray(points, np.float32)
    centres = np.ascontiguousarray(centres, np.float32)
    count, channels = points.shape
    labels = np.empty(count, np.intp)
    nearest = np.empty(count, np.float32)
    second = np.full(count, np.inf, np.float32)
    rows = max(1, DISTANCE_BLOCK // len(centres))
    block = np.empty((rows, len(centres)), np.float32)
    difference = np.empty_like(block)
    for start in range(0, count, rows):
        part = points[start:start + rows]
        distances, scratch = block[:len(part)], difference[:len(part)]
        np.subtract.outer(part[:, 0], centres[:, 0], out=distances)
        distances *= distances
        for channel in range(1, channels):
            np.subtract.outer(part[:, channel], centres[:, channel], out=scratch)
            scratch *= scratch
            distances += scratch
        own = distances.argmin(1)
        indices = np.arange(len(part))
        labels[start:start + rows] = own
        nearest[start:start + rows] = distances[indices, own]
        if len(centres) > 1:
            distances[indices, own] = np.inf
            second[start:start + rows] = distances.min(1)
    return labels, nearest, second
