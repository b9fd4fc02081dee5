"""The public in-memory API: ``encode``, ``decode`` and ``read_info``. Bytes in, bytes out.

``encode``: validate the image, fit a palette (quantizer), assign every pixel (backend),
run-length code the indices (rle), compress the tokens (entropy), wrap it all (container).
``decode`` runs the same layers backwards.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from . import container, entropy, quantizer, rle
from .backends import select_backend
from .container import DEFAULT_MAX_PIXELS, METHOD_IDS, METHOD_LZMA, METHOD_RLE, Header
from .errors import LimitError, ParameterError

logger = logging.getLogger("gcp")

DEFAULT_COLORS = 16
DEFAULT_METHOD = "lzma"
METHODS = tuple(METHOD_IDS)

# What the entropy stage does at each effort level (see entropy.LZMA_ENCODER_SETTINGS).
LZMA_SETTING_BY_EFFORT = {1: "fast", 2: "fast", 3: "normal", 4: "normal", 5: "normal",
                          6: "normal", 7: "normal", 8: "max", 9: "max"}
# From this effort up, the palette is refined once on every pixel after the first assignment.
REFINE_FROM_EFFORT = 6

Progress = Callable[[str], None]


@contextmanager
def timed_stage(name: str, progress: Progress | None = None) -> Iterator[None]:
    """Log a stage's time at debug level (--verbose) and tell ``progress`` it has begun."""
    if progress is not None:
        progress(name)
    started = time.perf_counter()
    yield
    logger.debug("%-6s %8.3f s", name, time.perf_counter() - started)


def _check_image(image: np.ndarray, max_pixels: int) -> np.ndarray:
    """The image as contiguous uint8 (H, W, C), or ``ParameterError``."""
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in container.CHANNELS_ALLOWED:
        raise ParameterError(
            f"image has shape {array.shape}; expected (height, width) or (height, width, C) "
            "with C = 1, 2, 3 or 4",
            field="shape",
        )
    if array.dtype != np.uint8:
        raise ParameterError(f"image has dtype {array.dtype}; expected uint8", field="dtype")
    height, width, _ = array.shape
    if height == 0 or width == 0:
        raise ParameterError(f"image is {width}x{height}: it has no pixels", field="shape")
    container.check_pixel_count(width, height, max_pixels)
    return np.ascontiguousarray(array)


def _check_options(k: int, method: str, effort: int, max_iter: int, tol: float) -> None:
    if not quantizer.MIN_COLORS <= k <= quantizer.MAX_COLORS:
        raise ParameterError(f"k is {k}; it must be from 1 to 256", field="k")
    if method not in METHOD_IDS:
        raise ParameterError(f"method is {method!r}; choose one of {', '.join(METHODS)}",
                             field="method")
    if effort not in quantizer.EFFORT_LEVELS:
        raise ParameterError(f"effort is {effort}; it must be from 1 to 9", field="effort")
    if max_iter < 1:
        raise ParameterError(f"max_iter is {max_iter}; it must be at least 1", field="max_iter")
    if not tol >= 0:
        raise ParameterError(f"tol is {tol}; it must be 0 or more", field="tol")


def encode(
    image: np.ndarray,
    k: int = DEFAULT_COLORS,
    *,
    seed: int = 0,
    method: str = DEFAULT_METHOD,
    effort: int = quantizer.DEFAULT_EFFORT,
    max_iter: int = quantizer.DEFAULT_MAX_ITER,
    tol: float = quantizer.DEFAULT_TOL,
    backend: str = "auto",
    device: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    progress: Progress | None = None,
) -> bytes:
    """Quantize ``image`` to at most ``k`` colours and return the .gcp file as bytes.

    ``image``: uint8 array (H, W) or (H, W, C), C = 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA.
    The same image and options always give the same bytes. An image with at most ``k``
    distinct colours is stored exactly. ``backend`` is "auto", "opencl" or "numpy";
    ``device`` picks an OpenCL device (see ``gcp.backends.opencl.choose_device``).
    ``progress``, if given, is called with each stage's name as it begins.
    """
    _check_options(k, method, effort, max_iter, tol)
    pixels_hwc = _check_image(image, max_pixels)
    height, width, channels = pixels_hwc.shape
    pixels = pixels_hwc.reshape(-1, channels)
    compute = select_backend(backend, device)
    logger.debug("backend: %s on %s", compute.name, compute.device)

    with timed_stage("fit", progress):
        fit = quantizer.fit_palette(pixels, k, seed=seed, effort=effort, max_iter=max_iter,
                                    tol=tol)
    with timed_stage("assign", progress):
        pixel_set = compute.load(pixels)
        palette = fit.palette
        labels = pixel_set.assign(palette)
        exact = fit.exact and _reproduces(pixels, palette, labels)
        if fit.exact and not exact:
            # The sample missed a colour: fit again on every pixel.
            fit = quantizer.fit_palette(pixels, k, seed=seed, effort=effort, max_iter=max_iter,
                                        tol=tol, sample_size=len(pixels))
            palette, exact = fit.palette, fit.exact
            labels = pixel_set.assign(palette)
        elif not exact and effort >= REFINE_FROM_EFFORT:
            palette = quantizer.refine_palette(pixels, labels, palette)
            labels = pixel_set.assign(palette)
    with timed_stage("encode", progress):
        tokens = rle.encode_runs(labels)
        method_id = METHOD_IDS[method]
        if method_id == METHOD_RLE:
            body = tokens
        else:
            body = entropy.compress_tokens(tokens, setting=LZMA_SETTING_BY_EFFORT[effort])
        header = Header(
            version=container.VERSION, channels=channels, method=method_id,
            flags=container.FLAG_EXACT if exact else 0, width=width, height=height,
            palette_size=len(palette), tokens_length=len(tokens), body_length=len(body),
        )
        return container.pack(header, palette, body)


def _reproduces(pixels: np.ndarray, palette: np.ndarray, labels: np.ndarray) -> bool:
    """True when every pixel equals its palette colour."""
    return bool(np.array_equal(palette[labels], pixels))


# Tokens expanded per step in decode: np.repeat's temporary array is then at most
# 2**16 * MAX_RUN pixels (64 MiB of RGBA) beside the image, whatever the file holds.
DECODE_TOKENS_PER_STEP = 1 << 16


def decode(data: bytes | bytearray | memoryview, *, max_pixels: int = DEFAULT_MAX_PIXELS
           ) -> np.ndarray:
    """The image in a .gcp file: uint8 (height, width, channels).

    ``data`` is any bytes-like object (bytes, bytearray, memoryview); anything else, a
    ``str`` or ``None`` say, is a ``TypeError``, as is a ``max_pixels`` that is not an int.
    Every malformed file raises a ``GcpError``, never another exception: ``FormatError``
    naming the spec's field for the broken rule, ``LimitError`` for an image of more than
    ``max_pixels`` pixels (checked before anything is allocated for it) or one this
    machine has no memory for. Nothing partial is ever returned.
    """
    header, palette, body = container.unpack(data, max_pixels=max_pixels)
    try:
        if header.method == METHOD_LZMA:
            tokens = entropy.decompress_tokens(body, header.tokens_length)
        else:
            tokens = body
        pairs = rle.check_tokens(tokens, header.pixel_count, header.palette_size)
        pixels = expand_tokens(palette, pairs, header.pixel_count)
    except MemoryError:
        raise LimitError(
            f"not enough memory to decode a {header.width}x{header.height} image of "
            f"{header.channels} channels",
            field="memory",
        ) from None
    return pixels.reshape(header.height, header.width, header.channels)


def expand_tokens(palette: np.ndarray, pairs: np.ndarray, pixel_count: int) -> np.ndarray:
    """Pixels uint8 (pixel_count, channels) of a checked token stream, uint8 (tokens, 2).

    The image is allocated once and filled a few tokens at a time, so the only other
    memory is one step's worth (``DECODE_TOKENS_PER_STEP``), never one entry per token.
    """
    if len(pairs) <= DECODE_TOKENS_PER_STEP:  # one step: no need to copy it into place
        return expand(palette, pairs[:, 0], rle.run_lengths(pairs))
    pixels = np.empty((pixel_count, palette.shape[1]), np.uint8)
    filled = 0
    for first in range(0, len(pairs), DECODE_TOKENS_PER_STEP):
        step = pairs[first:first + DECODE_TOKENS_PER_STEP]
        piece = expand(palette, step[:, 0], rle.run_lengths(step))
        pixels[filled:filled + len(piece)] = piece
        filled += len(piece)
    return pixels


def expand(palette: np.ndarray, indices: np.ndarray, run_lengths: np.ndarray) -> np.ndarray:
    """Pixels (sum(run_lengths), channels) from runs of palette rows.

    Each palette row is viewed as one opaque C-byte item, so a single ``np.repeat`` writes
    whole pixels; that is several times faster than indexing a 2-D palette per pixel.
    """
    channels = palette.shape[1]
    rows = np.ascontiguousarray(palette).view(f"V{channels}").ravel()
    return np.repeat(rows[indices], run_lengths).view(np.uint8).reshape(-1, channels)


@dataclass(frozen=True)
class Info:
    """What ``read_info`` reports: the header fields, the palette and the sizes."""

    version: int
    width: int
    height: int
    channels: int
    method: str
    flags: int
    exact: bool
    palette_size: int
    tokens_length: int
    body_length: int
    palette: np.ndarray  # uint8 (palette_size, channels)
    file_size: int

    @property
    def raw_size(self) -> int:
        """Bytes of the image uncompressed: width * height * channels."""
        return self.width * self.height * self.channels

    @property
    def compression_ratio(self) -> float:
        return self.raw_size / self.file_size

    @property
    def bits_per_pixel(self) -> float:
        return 8 * self.file_size / (self.width * self.height)

    def as_dict(self) -> dict:
        """Plain JSON-ready values; the palette as lists and as hex strings."""
        return {
            "version": self.version, "width": self.width, "height": self.height,
            "channels": self.channels, "method": self.method, "flags": self.flags,
            "exact": self.exact, "palette_size": self.palette_size,
            "tokens_length": self.tokens_length, "body_length": self.body_length,
            "palette": self.palette.tolist(),
            "palette_hex": [colour_hex(colour) for colour in self.palette],
            "file_size": self.file_size, "raw_size": self.raw_size,
            "compression_ratio": round(self.compression_ratio, 4),
            "bits_per_pixel": round(self.bits_per_pixel, 4),
        }


def colour_hex(colour: np.ndarray) -> str:
    """'#rrggbb' style: one hex pair per channel ('#7f' grey, '#7f80' grey+alpha...)."""
    return "#" + "".join(f"{int(value):02x}" for value in colour)


def read_info(data: bytes | bytearray | memoryview, *, max_pixels: int = DEFAULT_MAX_PIXELS
              ) -> Info:
    """Header, palette and sizes of a .gcp file, checked (length, CRC) but not decoded.

    Takes and raises what ``decode`` does, for rules 1 to 14 of the spec (the body is not
    decompressed, so a file ``read_info`` accepts may still fail to decode).
    """
    header, palette, _ = container.unpack(data, max_pixels=max_pixels)
    return Info(
        version=header.version, width=header.width, height=header.height,
        channels=header.channels, method=header.method_name, flags=header.flags,
        exact=header.exact, palette_size=header.palette_size,
        tokens_length=header.tokens_length, body_length=header.body_length,
        palette=palette.copy(), file_size=header.file_length,
    )
