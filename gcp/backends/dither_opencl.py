"""Floyd-Steinberg dithering as an OpenCL kernel (``dither.cl``): the fast path of
``gcp/dither.py``, whose labels it gives exactly (tests/test_dither.py).

The diffusion is serial (each pixel waits for the error of the ones before it), and the
numpy reference pays a numpy call for each of the W + 2H anti-diagonals it steps through
(0.01 s for 300 x 300 pixels, 2.3 s for 100,000 x 1) and a search of every colour for
each pixel (3.5 s at 16.8 MP and 256 colours). The kernel is one work-item going through
the pixels in reading order, each pixel's nearest colour searched among the few
candidates of its cell of a grid over the colour space (``candidate_cells``). So it
suits a CPU device, where one work-item runs at a core's speed, and not a GPU, where it
runs on one slow lane: the encoder dithers on a CPU device or with numpy.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from importlib import resources

import numpy as np

from .. import dither as reference
from ..errors import BackendError
from . import opencl
from .kernel_cache import build_program

# Pixels a launch dithers, in whole rows (one at least): the progress is told after each.
LAUNCH_PIXELS = 1 << 20
# The kernel pays for itself from this many pixels (or this thin an image: the numpy
# reference takes a step a diagonal, W + 2H of them). Where the fit's CPU device is open
# already: its search grid takes 4-40 ms to build (k = 16 to 256), so 512 x 512 dithered
# in 0.009-0.041 s against numpy's 0.052-0.084, 64 x 64 at k = 200 in 0.021-0.027 against
# 0.005. Where it must be opened (0.1-0.2 s): numpy dithered 1 MP in 0.13-0.26 s and 4 MP
# in 0.44-0.94 s, the kernel in 0.03-0.07 and 0.12-0.17 s (benchmarks/README.md).
MIN_PIXELS_ON_OPEN_DEVICE = 1 << 18
MIN_PIXELS_TO_OPEN_DEVICE = 1 << 20
MIN_STEPS = 1 << 15

_programs: dict[int, object] = {}
_unbuilt: dict[int, str] = {}  # backends dither.cl did not build on, and why


def kernel(backend):
    """The ``floyd_steinberg`` kernel for ``backend``'s context, built once; a
    ``BackendError`` (each time asked) where it does not build there."""
    with backend.lock:
        key = id(backend)
        if key in _unbuilt:
            raise BackendError(_unbuilt[key])
        if key not in _programs:
            started = time.perf_counter()
            source = resources.files("gcp.backends").joinpath("dither.cl").read_text()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # build logs full of harmless notes
                try:
                    program = build_program(backend.cl, backend.context, source, [])
                except backend.cl.Error as error:
                    _unbuilt[key] = (f"OpenCL build of dither.cl failed on {backend.device}: "
                                     f"{opencl.build_failure(error)}")
                    raise BackendError(_unbuilt[key]) from None
            _programs[key] = program.floyd_steinberg
            backend.build_seconds["dither"] = time.perf_counter() - started
        return _programs[key]


def worth_opening(height: int, width: int, already_open: bool = False) -> bool:
    """Whether the kernel pays for itself on an image of this size, with its device open
    already or to be opened (the MIN_PIXELS_ constants, MIN_STEPS)."""
    least = MIN_PIXELS_ON_OPEN_DEVICE if already_open else MIN_PIXELS_TO_OPEN_DEVICE
    return height * width >= least or width + 2 * height >= MIN_STEPS


def fits(backend, image: np.ndarray) -> bool:
    """Whether ``image``'s pixels (and as many labels) fit ``backend``'s buffers."""
    return image.nbytes <= backend.max_buffer_bytes


def cpu_backend(device: str | None = None):
    """The OpenCL backend to dither on: the first CPU device the ``device`` spec names (or
    ``PYOPENCL_CTX``, or any), opened where it opens and builds ``dither.cl``; None
    otherwise, and no other kind of device is opened (numpy dithers then, to the same
    labels). A device that cannot build ``dither.cl`` stays usable for the rest."""
    try:
        chosen = opencl.first_cpu_backend(device)
    except BackendError:
        return None
    return chosen if chosen is not None and builds_on(chosen) else None


def builds_on(backend) -> bool:
    """Whether ``dither.cl`` builds on ``backend`` (built now where it does)."""
    try:
        kernel(backend)
    except BackendError:
        return False
    return True


def warm_up(device: str | None = None) -> None:
    """``cpu_backend(device)`` for its side effects, in a background thread started before
    the image is decoded: the device opened and ``dither.cl`` loaded by the time the fit
    ends. Says nothing, whatever happens."""
    cpu_backend(device)


# Cells a side of the search grid by channel count: about 4,096 cells in all, each a
# channel's 1/16ths of a level (12 bits, 0 to 4080) cut by its top bits.
CELL_SHIFTS = {1: 4, 2: 6, 3: 8, 4: 9}


def candidate_cells(palette: np.ndarray) -> tuple[int, int, np.ndarray, np.ndarray]:
    """The kernel's search grid for ``palette`` uint8 (K, C): ``(cell_shift, cells_a_side,
    offsets, candidates)``. Cell n (the first channel's cell most significant) lists, in
    ``candidates[offsets[n]:offsets[n + 1]]`` (uint8 palette indices, ascending; offsets
    uint32), every colour whose least squared distance to the cell is at most the least,
    over the colours, of their greatest: so every colour nearest to, or tied for nearest
    to, some point of the cell."""
    channels = palette.shape[1]
    shift = CELL_SHIFTS[channels]
    side = (reference.TOP >> shift) + 1
    colours = palette.astype(np.int64) << reference.FRACTION_BITS
    cells = np.indices((side,) * channels).reshape(channels, -1).T  # (cells, C), C-order
    low = cells << shift
    high = np.minimum(low + (1 << shift) - 1, reference.TOP)
    least = np.zeros((len(cells), len(colours)), np.int64)
    greatest = np.zeros_like(least)
    for c in range(channels):
        below = low[:, c, None] - colours[None, :, c]
        above = colours[None, :, c] - high[:, c, None]
        least += np.maximum(np.maximum(below, above), 0) ** 2
        greatest += np.maximum(-below, -above) ** 2
    listed = least <= greatest.min(1, keepdims=True)
    offsets = np.zeros(len(cells) + 1, np.uint32)
    np.cumsum(listed.sum(1), out=offsets[1:])
    candidates = np.nonzero(listed)[1].astype(np.uint8)  # row-major: by cell, then index
    return shift, side, offsets, candidates


def floyd_steinberg(backend, image: np.ndarray, palette: np.ndarray,
                    progress: Callable[[float], None] | None = None) -> np.ndarray:
    """``gcp.dither.floyd_steinberg``'s labels, uint8 (H, W), of ``image`` uint8 (H, W, C)
    onto ``palette`` uint8 (K, C), on ``backend``'s device; ``progress`` as there."""
    cl, context, queue = backend.cl, backend.context, backend.queue
    height, width, channels = image.shape
    shift, side, offsets, candidates = candidate_cells(palette)
    colours = palette.astype(np.int32) << reference.FRACTION_BITS
    flags = cl.mem_flags

    def upload(array: np.ndarray):
        return cl.Buffer(context, flags.READ_ONLY | flags.COPY_HOST_PTR,
                         hostbuf=np.ascontiguousarray(array))

    labels = np.empty((height, width), np.uint8)
    labels_buffer = cl.Buffer(context, flags.WRITE_ONLY, size=labels.nbytes)
    # A CPU device reads the pixels where they lie: no copy the image's size.
    image = np.ascontiguousarray(image)
    image_buffer = (cl.Buffer(context, flags.READ_ONLY | flags.USE_HOST_PTR, hostbuf=image)
                    if backend.shares_host_memory else upload(image))
    rows = cl.Buffer(context, flags.READ_WRITE, size=2 * width * channels * 4)
    palette_arguments = [np.int32(channels), upload(colours), np.int32(shift), np.int32(side),
                         upload(offsets), upload(candidates),
                         *(np.int32(weight) for weight in reference.push_weights())]
    band = max(1, LAUNCH_PIXELS // width)
    with backend.lock:  # a kernel object holds its arguments
        run = kernel(backend)
        for top in range(0, height, band):
            end = min(top + band, height)
            run(queue, (1,), None, image_buffer, np.uint32(width), np.uint32(height),
                np.uint32(top), np.uint32(end), *palette_arguments, rows, labels_buffer)
            if progress is not None:
                queue.finish()
                progress(end / height)
        cl.enqueue_copy(queue, labels, labels_buffer)
        queue.finish()
    return labels
