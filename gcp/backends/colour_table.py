"""Assignment by distinct colour: each colour the image has is assigned once, by whichever
backend, and every pixel then takes its colour's label from a table.

A pixel's nearest palette colour depends on its colour alone, so the labels are exactly
the backend's own, ties included. A photo of 16.8 MP has some 10^5 distinct colours, so a
CPU device compares 100 times fewer colours with the palette; the table lookups cost
about as much as one pass over the pixels. A GPU is faster assigning every pixel itself,
and is given them directly.

Colours are looked up by a key of their bytes (``colour_keys``), in a table of one byte
per possible colour: 16 MiB for RGB, less for grey. On OpenCL, kernels find the colours
present and look the labels up (``opencl.OpenCLColourIndex``); ``KeyedColours`` is the
numpy reference. RGBA colours would need a 4 GiB table, so four-channel pixels are
always assigned one by one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from . import Backend, PixelSet

# Channels for which a table of every possible colour is small enough (2 ** (8 * C) bytes).
MAX_TABLE_CHANNELS = 3


def colour_keys(pixels: np.ndarray) -> np.ndarray:
    """One key per pixel of uint8 (N, C), C <= 3: its bytes as a little-endian integer,
    uint32 (N,). Keys are below 2 ** (8 * C)."""
    count, channels = pixels.shape
    pixels = np.ascontiguousarray(pixels)
    if channels == 1:
        return pixels[:, 0].astype(np.uint32)
    if channels == 2:
        return pixels.view("<u2")[:, 0].astype(np.uint32)
    # Three bytes: read each pixel as the four bytes from its first, then drop the fourth
    # (the next pixel's first). The last pixel has no fourth byte and is done alone.
    flat = pixels.reshape(-1)
    keys = np.empty(count, np.uint32)
    if count > 1:
        overlapping = np.ndarray((count - 1,), dtype="<u4", buffer=flat, strides=(3,))
        np.bitwise_and(overlapping, 0xFFFFFF, out=keys[:-1])
    keys[-1] = int(flat[-3]) | int(flat[-2]) << 8 | int(flat[-1]) << 16
    return keys


def colours_of_keys(keys: np.ndarray, channels: int) -> np.ndarray:
    """Inverse of ``colour_keys``: uint32 (M,) to uint8 (M, channels)."""
    shifts = 8 * np.arange(channels, dtype=np.uint32)
    return ((keys[:, None] >> shifts) & 0xFF).astype(np.uint8)


class KeyedColours:
    """The reference colour index: pixels (uint8 (N, C), C <= 3) held as their keys,
    uint32 (N,). A backend's ``colour_index`` gives the same results its own way."""

    def __init__(self, pixels: np.ndarray) -> None:
        self.channels = pixels.shape[1]
        # A grey pixel is its own key: kept as uint8, which indexes a 256-entry table
        # 1.3x as fast as uint32 keys do, and is counted by bincount 1.7x as fast as a
        # scattered store marks (16.8 MP: 0.06 s against 0.1 s, both steps).
        self.keys = pixels[:, 0] if self.channels == 1 else colour_keys(pixels)

    def present(self) -> np.ndarray:
        """bool (2^(8 C),): True at the key of every colour the pixels hold."""
        if self.channels == 1:
            return np.bincount(self.keys, minlength=256) > 0
        present = np.zeros(1 << (8 * self.channels), np.bool_)
        present[self.keys] = True
        return present

    def labels(self, table: np.ndarray) -> np.ndarray:
        """uint8 (N,): ``table`` (uint8 (2^(8 C),)) at each pixel's key."""
        return table[self.keys]


class ColourTablePixelSet:
    """Pixels held by the backend's colour index and the distinct colours, the latter
    loaded onto ``backend``; a ``PixelSet``."""

    def __init__(self, backend: Backend, pixels: np.ndarray) -> None:
        self.backend = backend
        self.pixels = pixels
        self.channels = pixels.shape[1]
        self.index = backend.colour_index(pixels)
        self.colour_keys = np.flatnonzero(self.index.present()).astype(np.uint32)
        self.colours = colours_of_keys(self.colour_keys, self.channels)  # (M, C)
        self.colour_set = backend.load(self.colours)
        self._pixel_set: PixelSet | None = None

    def assign(self, palette: np.ndarray) -> np.ndarray:
        """Nearest palette row of every pixel, uint8 (N,): the colours' labels, looked up."""
        table = np.zeros(1 << (8 * self.channels), np.uint8)
        table[self.colour_keys] = self.colour_set.assign(palette)
        return self.index.labels(table)

    def cluster_sums(self, labels: np.ndarray, palette_size: int
                     ) -> tuple[np.ndarray, np.ndarray]:
        """The backend's own totals over every pixel (see ``PixelSet.cluster_sums``)."""
        if self._pixel_set is None:
            self._pixel_set = self.backend.load(self.pixels)
        return self._pixel_set.cluster_sums(labels, palette_size)
