"""Compute backends for the heavy steps: assigning every pixel to its nearest palette
colour, and the K-Means fit's nearest-centre search.

Two interchangeable backends share one interface:

- ``numpy``: the reference, always available;
- ``opencl``: the kernels in ``assign.cl`` through pyopencl, on a GPU where there is one,
  else on the CPU through POCL.

``load_pixels`` hands a CPU device (numpy, POCL) each distinct colour once
(``colour_table``) where that is cheaper than every pixel, and a GPU every pixel.

``select_backend("auto")`` takes OpenCL when a device is available, else numpy, and says so;
the encoder asks for "auto" only for palettes of AUTO_OPENCL_MIN_COLORS or more colours of
images with colour (``backend_for_colours``), and for numpy otherwise.
Labels are exact: distances are integer sums of squares and ties go to the lowest index,
so every backend gives the same labels for the same pixels and palette. The fit's search
is float32 with every operation rounded as the numpy reference rounds it: the same bits.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Protocol

import numpy as np

from ..errors import BackendError, ParameterError

BACKEND_NAMES = ("auto", "opencl", "numpy")
logger = logging.getLogger("gcp")
_selection_lock = threading.Lock()
_auto_fell_back: set[str] = set()  # device specs "auto" already reported unusable


class PixelSet(Protocol):
    """Pixels loaded onto a backend once, then assigned as often as the caller needs."""

    def assign(self, palette: np.ndarray) -> np.ndarray:
        """Nearest palette row for every pixel.

        ``palette``: uint8 (K, channels), 1 <= K <= 256. Returns uint8 labels of shape (N,).
        """
        ...

    def cluster_sums(self, labels: np.ndarray, palette_size: int
                     ) -> tuple[np.ndarray, np.ndarray]:
        """The update step's totals: pixel count (K,) and channel sums (K, C), int64.

        ``labels``: uint8 (N,), each below ``palette_size``.
        """
        ...


class ColourIndex(Protocol):
    """Pixels of up to three channels held for assignment by distinct colour; a colour's
    key is its bytes as a little-endian integer (``colour_table.colour_keys``)."""

    def present(self) -> np.ndarray:
        """bool (2^(8 C),): True at the key of every colour the pixels hold."""
        ...

    def labels(self, table: np.ndarray) -> np.ndarray:
        """uint8 (N,): ``table`` (uint8 (2^(8 C),)) at each pixel's key."""
        ...


class Backend(Protocol):
    name: str
    device: str  # what it runs on, in words
    # Seconds to compare one pixel with one colour when assigning every pixel, measured;
    # None where the table never pays (a GPU: uploading a pixel costs less than tabling it).
    seconds_per_pair: float | None
    # Seconds per pixel of assignment by distinct colour, on top of TABLE_SECONDS.
    table_seconds_per_pixel: float

    def load(self, pixels: np.ndarray) -> PixelSet:
        """Take uint8 pixels of shape (N, channels), channels 1 to 4."""
        ...

    def colour_index(self, pixels: np.ndarray) -> ColourIndex:
        """Take uint8 pixels of shape (N, channels), channels 1 to 3, for assignment by
        distinct colour (``colour_table``)."""
        ...

    def nearest_two(self, points: np.ndarray, centres: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The K-Means fit's search (``numpy_backend.nearest_two``, the reference): float
        points (M, C) and centres (K, C) to labels intp (M,) and float32 (M,) squared
        distances to the nearest centre and to the next nearest. Every backend gives the
        reference's bits."""
        ...


# Assigning by distinct colour (colour_table) costs about TABLE_SECONDS[C] +
# backend.table_seconds_per_pixel * N for N pixels, whatever the palette (a table of one
# byte per colour, 16 MiB, for three channels; 256 bytes or 64 KiB for fewer).
TABLE_SECONDS = {1: 0.0, 2: 0.0005, 3: 0.008}


def load_pixels(backend: Backend, pixels: np.ndarray, colours: int) -> PixelSet:
    """``pixels`` (uint8 (N, C)) loaded onto ``backend`` for palettes of up to ``colours``
    colours, the cheaper way: each distinct colour assigned once (``colour_table``) where
    that costs less than comparing every pixel with every colour, else every pixel."""
    from .colour_table import MAX_TABLE_CHANNELS, ColourTablePixelSet

    count, channels = pixels.shape
    if backend.seconds_per_pair is not None and channels <= MAX_TABLE_CHANNELS:
        by_table = TABLE_SECONDS[channels] + backend.table_seconds_per_pixel * count
        if backend.seconds_per_pair * count * colours > by_table:
            return ColourTablePixelSet(backend, pixels)
    return backend.load(pixels)


# "auto" runs OpenCL for palettes of this many colours or more, and numpy below. What
# OpenCL speeds up on a CPU is the fit's search, which grows with k; with fewer colours
# opening the device (0.1-0.4 s) costs more than it saves. Whole encodes on POCL, 2 cores
# (benchmarks/README.md): OpenCL took 1.12-1.15x numpy's time at k = 16 and 64, 0.87x at
# 128 and 0.74-0.91x at 256, on images of 0.1 to 16.8 MP.
AUTO_OPENCL_MIN_COLORS = 96


def backend_for_colours(name: str, k: int, opencl_anyway: bool = False,
                        channels: int | None = None) -> str:
    """The backend that ``name`` stands for with a palette of up to ``k`` colours for an
    image of ``channels`` channels (None: not known yet): "auto" is "numpy" below
    AUTO_OPENCL_MIN_COLORS and for grey images, itself otherwise, and itself in every
    case when the encoder opens OpenCL ``anyway`` (method cm's coder), so that the
    device's opening is paid once.

    A grey image has at most 256 distinct values: the fit searches at most that many
    points and the assignment looks each pixel up in a table of 256 labels, so the device
    has nothing to speed up and its opening is all it adds (a 0.12-MP grey photo at
    k = 256: 1.6x numpy's whole-encode time, benchmarks/README.md)."""
    if name == "auto" and not opencl_anyway and (k < AUTO_OPENCL_MIN_COLORS or channels == 1):
        return "numpy"
    return name


def select_backend(name: str = "auto", device: str | None = None) -> Backend:
    """The backend called ``name`` ("auto", "opencl" or "numpy").

    ``device`` (or the PYOPENCL_CTX environment variable) picks the OpenCL device; see
    ``gcp.backends.opencl.choose_device``. "opencl" with no usable device raises
    ``BackendError``, as does a ``device`` named that cannot be opened; "auto" with none
    named falls back to numpy with a one-line warning.
    """
    if name not in BACKEND_NAMES:
        raise ParameterError(f"backend is {name!r}; choose one of {', '.join(BACKEND_NAMES)}",
                             field="backend")
    with _selection_lock:  # one OpenCL context per process, even when warmed in a thread
        return _select(name, device)


def _select(name: str, device: str | None) -> Backend:
    from .numpy_backend import NumpyBackend

    if name == "numpy":
        return NumpyBackend()
    key = device if device is not None else os.environ.get("PYOPENCL_CTX", "")
    if name == "auto" and key in _auto_fell_back:
        return NumpyBackend()
    from .opencl import OpenCLBackend

    try:
        return OpenCLBackend.for_device(device)
    except BackendError as error:
        if name == "opencl" or device is not None:  # a device named is one asked for
            raise
        _auto_fell_back.add(key)
        logger.warning("OpenCL is not available (%s); using the numpy backend", error)
        return NumpyBackend()


def warm_up(name: str = "auto", device: str | None = None, channels: int = 3) -> None:
    """Open the OpenCL device and build its kernel now, so that a later ``select_backend``
    finds them ready.

    Meant for a background thread started before an image is read: importing pyopencl,
    opening the device and building the kernel then overlap with decoding the image. It
    says nothing, whatever happens: the image reader catches what is written to stderr
    meanwhile, so the encoder's own ``select_backend`` call, in the main thread, reports.
    """
    if name == "numpy":
        return
    try:
        with _selection_lock:
            from .opencl import OpenCLBackend

            OpenCLBackend.for_device(device).kernel(channels)
    except Exception:  # reported by the caller's own select_backend
        return
