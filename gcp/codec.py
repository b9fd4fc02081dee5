"""The public in-memory API: ``encode``, ``decode`` and ``read_info``. Bytes in, bytes out.

``encode``: validate the image, fit a palette (quantizer) or take the one given
(palettes), assign every pixel (backend), run-length code the indices (rle), compress the
tokens (entropy), wrap it all (container).
``decode`` runs the same layers backwards.
"""

from __future__ import annotations

import logging
import math
import numbers
import operator
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from . import cm, cm_engine, container, entropy, kmedoids, palettes, quantizer, rle, target
from .backends import Backend, PixelSet, backend_for_colours, load_pixels, select_backend
from .container import DEFAULT_MAX_PIXELS, METHOD_CM, METHOD_IDS, METHOD_LZMA, METHOD_RLE, Header
from .dither import floyd_steinberg
from .errors import BackendError, LimitError, ParameterError, QualityError
from .lookup import colours_of, relabelled
from .palette_code import shortest_order

logger = logging.getLogger("gcp")

DEFAULT_COLORS = 16
DEFAULT_METHOD = "lzma"
METHODS = tuple(METHOD_IDS)
DEFAULT_ALGORITHM = "kmeans"
# kmeans: palette colours are cluster means; kmedoids: colours the image has (gcp/kmedoids.py).
ALGORITHMS = ("kmeans", "kmedoids")

# What the entropy stage does at each effort level (see entropy.LZMA_ENCODER_SETTINGS).
LZMA_SETTING_BY_EFFORT = {1: "fast", 2: "fast", 3: "normal", 4: "normal", 5: "normal",
                          6: "normal", 7: "normal", 8: "max", 9: "max"}

# Efforts 8 and 9 code method cm in longer stripes (9: the whole image in one): files
# 1.6-3.6% smaller on 16.8-MP renders, coded on fewer cores (spec section 12).
CM_STRIPE_PIXELS_BY_EFFORT: dict[int, int | None] = {8: 1 << 22, 9: None}

Progress = Callable[[str, float], None]

# Bytes of colours a piece of ``decode_after`` holds: a piece stays in the cache from its
# lookup to its write, where one buffer of a 16.8-MP image's 50 MB was zeroed, filled and
# read again from memory (whole decodes to PPM 0.95-0.98x the time, 35 MB less at peak).
PIECE_BYTES = 1 << 21


class Pieces:
    """A file's bytes made a piece at a time as they are written, so that no buffer holds
    them all: ``len()`` is the whole length, iterating makes the pieces (bytes-like, in
    order, each a buffer of its own), ``bytes()`` joins them, and it pickles as those
    bytes (to a Dask client, say)."""

    def __init__(self, length: int, make: Callable[[], Iterator[bytes | memoryview]]):
        self._length, self._make = length, make

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes | memoryview]:
        return self._make()

    def __bytes__(self) -> bytes:
        return b"".join(self)

    def __reduce__(self):
        return bytes, (bytes(self),)


@contextmanager
def timed_stage(name: str, progress: Progress | None = None) -> Iterator[None]:
    """Log a stage's time at debug level (--verbose) and tell ``progress`` it has begun."""
    if progress is not None:
        progress(name, 0.0)
    started = time.perf_counter()
    yield
    logger.debug("%-6s %8.3f s", name, time.perf_counter() - started)


def _as_array(name: str, value: object) -> np.ndarray:
    """``np.asarray(value)``, or ``ParameterError`` where numpy cannot make one array of it
    (nested lists of unequal lengths, say)."""
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as error:
        raise ParameterError(f"{name} is not an array: {error}", field=name) from None


def _check_image(image: np.ndarray, max_pixels: int) -> np.ndarray:
    """The image as contiguous uint8 (H, W, C), or ``ParameterError``."""
    array = _as_array("image", image)
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
    if max(width, height) > container.MAX_DIMENSION:
        raise ParameterError(f"image is {width}x{height}: a .gcp file holds widths and heights "
                             f"up to {container.MAX_DIMENSION:,}", field="shape")
    container.check_pixel_count(width, height, max_pixels)
    return np.ascontiguousarray(array)


def _whole_number(name: str, value: object) -> int:
    """``value`` as a Python int (``operator.index``: numpy's integers and 0-d integer
    arrays too, as numpy's own functions take them; an np.int32 k once overflowed the fit's
    sums in int32 and gave other bytes), or ``ParameterError``: a bool, a float or a
    string is not taken for a whole number."""
    if isinstance(value, (bool, np.bool_)):
        raise ParameterError(f"{name} is {value!r}; it must be a whole number", field=name)
    try:
        return operator.index(value)
    except TypeError:
        raise ParameterError(f"{name} is {value!r}; it must be a whole number",
                             field=name) from None


def _real_number(name: str, value: object) -> float:
    """``value`` as a float: any real number (an int, a float, a Fraction, numpy's and 0-d
    real arrays), or ``ParameterError`` (a bool is not taken for a number)."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{name} is {value!r}; it must be a number", field=name)
    return float(value)


def _check_flag(name: str, value: object) -> None:
    """A yes-or-no option is a bool (numpy's too): ``dither="no"`` would dither."""
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterError(f"{name} is {value!r}; it must be True or False", field=name)


def _check_device(device: object) -> None:
    """A device spec is a string (``PLATFORM[:DEVICE]``) or None."""
    if device is not None and not isinstance(device, str):
        raise ParameterError(f"device is {device!r}; it must be a string such as '0:1' or "
                             "'nvidia', or None", field="device")


def _check_options(k: int, method: str, effort: int, max_iter: int, tol: float) -> None:
    if not quantizer.MIN_COLORS <= k <= quantizer.MAX_COLORS:
        raise ParameterError(f"k is {k}; it must be from 1 to 256", field="k")
    if not isinstance(method, str) or method not in METHOD_IDS:
        raise ParameterError(f"method is {method!r}; choose one of {', '.join(METHODS)}",
                             field="method")
    if effort not in quantizer.EFFORT_LEVELS:
        raise ParameterError(f"effort is {effort}; it must be from 1 to 9", field="effort")
    if max_iter < 1:
        raise ParameterError(f"max_iter is {max_iter}; it must be at least 1", field="max_iter")
    if not tol >= 0:
        raise ParameterError(f"tol is {tol}; it must be 0 or more", field="tol")


def _check_seed(seed: int) -> None:
    """A seed is an integer 0 or more, as numpy's generators take (any size)."""
    if _whole_number("seed", seed) < 0:
        raise ParameterError(f"seed is {seed!r}; it must be a whole number 0 or more",
                             field="seed")


@dataclass(frozen=True)
class EncodeReport:
    """What ``encode_report`` made, besides the bytes.

    ``colours``: the palette's size; ``k``: the most colours the fit was allowed (the
    caller's ``k``, or fewer where ``target_psnr`` chose them); ``max_colours``: the
    caller's ``k``. ``psnr``: dB over every channel of the pixels as stored (what
    ``decode`` gives back, dithered where asked; with alpha, the colours premultiplied by
    it, as ``gcp.compare.psnr`` measures), inf when they look like the image's own.
    ``target_psnr``: as asked (None without one). ``dithered``: the pixels were dithered
    (the colours are chosen for the target without dithering, which lowers the PSNR).
    """

    colours: int
    k: int
    max_colours: int
    psnr: float
    exact: bool
    target_psnr: float | None = None
    dithered: bool = False

    @property
    def reached(self) -> bool:
        """The target PSNR is reached (True without a target)."""
        return self.target_psnr is None or self.psnr >= self.target_psnr

    def describe(self) -> str:
        """One line: 'colours 37 of 64, PSNR 40.12 dB (target 40)'."""
        shown = "inf (lossless)" if math.isinf(self.psnr) else f"{self.psnr:.2f} dB"
        line = f"colours {self.colours} of {self.max_colours}, PSNR {shown}"
        if self.target_psnr is not None:
            line += f" (target {self.target_psnr:g}{self._missed()})"
        return line

    def _missed(self) -> str:
        if self.reached:
            return ""
        if self.dithered and self.k < self.max_colours:
            return ", not reached: dithering lowered the PSNR"
        return f", not reached with -k {self.max_colours}"


def encode(
    image: np.ndarray,
    k: int = DEFAULT_COLORS,
    *,
    seed: int = 0,
    method: str = DEFAULT_METHOD,
    effort: int = quantizer.DEFAULT_EFFORT,
    max_iter: int = quantizer.DEFAULT_MAX_ITER,
    tol: float = quantizer.DEFAULT_TOL,
    dither: bool = False,
    backend: str = "auto",
    device: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    progress: Progress | None = None,
    algorithm: str = DEFAULT_ALGORITHM,
    target_psnr: float | None = None,
    min_psnr: float | None = None,
    palette: np.ndarray | None = None,
) -> bytes:
    """Quantize ``image`` to at most ``k`` colours and return the .gcp file as bytes.

    ``image``: uint8 array (H, W) or (H, W, C), C = 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA.
    The options are ``encode_report``'s; this returns its bytes alone, and measures the
    PSNR only where ``target_psnr`` or ``min_psnr`` needs it.
    """
    return _encode(image, k, measure=False, seed=seed, method=method, effort=effort,
                   max_iter=max_iter, tol=tol, dither=dither, backend=backend,
                   device=device, max_pixels=max_pixels, progress=progress,
                   algorithm=algorithm, target_psnr=target_psnr, min_psnr=min_psnr,
                   palette=palette)[0]


def encode_report(
    image: np.ndarray,
    k: int = DEFAULT_COLORS,
    *,
    seed: int = 0,
    method: str = DEFAULT_METHOD,
    effort: int = quantizer.DEFAULT_EFFORT,
    max_iter: int = quantizer.DEFAULT_MAX_ITER,
    tol: float = quantizer.DEFAULT_TOL,
    dither: bool = False,
    backend: str = "auto",
    device: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    progress: Progress | None = None,
    algorithm: str = DEFAULT_ALGORITHM,
    target_psnr: float | None = None,
    min_psnr: float | None = None,
    palette: np.ndarray | None = None,
) -> tuple[bytes, EncodeReport]:
    """``encode``'s bytes and an ``EncodeReport`` (colours used, PSNR reached).

    ``image``: uint8 array (H, W) or (H, W, C), C = 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA.
    The same image and options always give the same bytes. An image with at most ``k``
    distinct colours is stored exactly. With alpha, the palette is fitted to the colours
    as seen, premultiplied by alpha (``gcp.quantizer.premultiplied``), and stored
    straight. ``dither`` spreads each pixel's error onto its neighbours (Floyd-Steinberg)
    instead of taking the nearest colour. ``backend`` is
    "auto", "opencl" or "numpy"; ``device`` picks an OpenCL device (see
    ``gcp.backends.opencl.choose_device``). ``progress``, if given, is called as
    ``progress(stage, fraction)`` when a stage begins (fraction 0) and, for long ones, as
    it goes. ``algorithm`` is "kmeans" or "kmedoids" (every palette colour is one of the
    image's own). ``method`` is "lzma", "rle" or "cm" (spec section 5; cm codes on the
    OpenCL device ``device`` picks, or with its pure-Python reference where there is none).

    ``target_psnr`` (dB): use the fewest colours, up to ``k``, whose palette reaches it
    (``gcp.target``; the search ignores dithering); ``k`` when none does. ``min_psnr``
    (dB): raise ``QualityError`` when the result, dithered or not, is below it.

    ``palette``, if given, is used instead of a fitted one: uint8 (K, C), 1 <= K <= 256,
    C = 1 to 4, stored in its order, repeated colours included, and every pixel takes its
    nearest colour (ties to the lowest index; ``dither`` still applies). ``k``,
    ``target_psnr``, ``seed``, ``algorithm``, ``max_iter`` and ``tol`` are then not used.
    The file has the image's channels, widened to colour or alpha where the palette has
    them (``gcp.palettes.match_channels``): a grey image with an RGB palette is stored as RGB,
    an RGBA image with an RGB palette gets the palette with alpha 255. The file is marked
    exact only when every pixel is one of the palette's colours.
    """
    return _encode(image, k, measure=True, seed=seed, method=method, effort=effort,
                   max_iter=max_iter, tol=tol, dither=dither, backend=backend,
                   device=device, max_pixels=max_pixels, progress=progress,
                   algorithm=algorithm, target_psnr=target_psnr, min_psnr=min_psnr,
                   palette=palette)


def _encode(image: np.ndarray, k: int, *, measure: bool, seed: int = 0,
            method: str = DEFAULT_METHOD, effort: int = quantizer.DEFAULT_EFFORT,
            max_iter: int = quantizer.DEFAULT_MAX_ITER, tol: float = quantizer.DEFAULT_TOL,
            dither: bool = False, backend: str = "auto", device: str | None = None,
            max_pixels: int = DEFAULT_MAX_PIXELS, progress: Progress | None = None,
            algorithm: str = DEFAULT_ALGORITHM, target_psnr: float | None = None,
            min_psnr: float | None = None, palette: np.ndarray | None = None
            ) -> tuple[bytes, EncodeReport | None]:
    """The pipeline; the report (None unless ``measure`` or a PSNR option asks for it)."""
    k, effort, max_iter, max_pixels = (_whole_number(name, value) for name, value in (
        ("k", k), ("effort", effort), ("max_iter", max_iter), ("max_pixels", max_pixels)))
    tol = _real_number("tol", tol)
    _check_flag("dither", dither)
    _check_options(k, method, effort, max_iter, tol)
    _check_seed(seed)
    _check_algorithm(algorithm)
    _check_device(device)
    target_psnr, min_psnr = (_checked_psnr(name, value) for name, value in (
        ("target_psnr", target_psnr), ("min_psnr", min_psnr)))
    pixels_hwc = _check_image(image, max_pixels)
    if palette is not None:
        given = _check_palette(palette)
        _warn_if_transparency_is_lost(pixels_hwc, given)
        pixels_hwc, given = palettes.match_channels(pixels_hwc, given)
    pixels = pixels_hwc.reshape(-1, pixels_hwc.shape[2])
    # The fit, the assignment, dithering and the PSNR work on the colours as seen: with
    # alpha, premultiplied (quantizer.premultiplied); the file stores straight colours.
    seen_hwc = quantizer.as_seen(pixels_hwc)
    seen = seen_hwc.reshape(pixels.shape)
    compute = _compute_backend(backend, k if palette is None else len(given), method, device,
                               pixels.shape[1])
    logger.debug("backend: %s on %s", compute.name, compute.device)
    if palette is not None:
        with timed_stage("assign", progress):
            given_seen = quantizer.as_seen(given)
            labels = load_pixels(compute, seen, len(given)).assign(given_seen)
        chosen = _Chosen(len(given), given_seen, labels, _reproduces(pixels, given, labels),
                         stored=given)
    else:
        quantize = _Quantizer(compute, seen, algorithm, k, seed=seed, effort=effort,
                              max_iter=max_iter, tol=tol,
                              progress=progress if target_psnr is None else None)
        if target_psnr is None:
            # Dithering makes its own labels: the fit's assignment would be thrown away.
            labels_wanted = not dither or quantizer.has_alpha(pixels.shape[1])
            chosen = _Chosen(k, *quantize(k, labels_wanted=labels_wanted))
        else:
            chosen = _search_target(seen, k, target_psnr, quantize, progress, seed=seed,
                                    effort=effort, max_iter=max_iter, tol=tol)
        if quantizer.has_alpha(pixels.shape[1]):
            chosen = _stored_straight(chosen, pixels, seen, compute,
                                      own_colours=algorithm == "kmedoids")
    dithered = dither and not chosen.exact
    if dithered:
        with timed_stage("dither", progress):
            tell = None if progress is None else (lambda done: progress("dither", done))
            chosen.labels = _dithered_labels(seen_hwc, chosen.palette, compute, backend,
                                             device, tell).ravel()
            chosen.mse = None
    report = None
    if measure or target_psnr is not None or min_psnr is not None:
        if palette is None:
            report = _report(seen, chosen, k, target_psnr, dithered)
        else:  # the palette sets the colours: no k, and no target, was used
            report = _report(seen, chosen, len(given), None, dithered)
        _check_min_psnr(report, min_psnr)
    if palette is None:
        chosen = _in_file_order(chosen)
    with timed_stage("encode", progress):
        return _pack(chosen, pixels_hwc.shape, method, effort, device), report


@dataclass
class _Chosen:
    """The palette an encode stores: the k fitted, palette uint8 (K, C) as seen (with
    alpha, premultiplied), labels uint8 (N,), exact (every pixel is its stored colour), the
    MSE of ``palette[labels]`` against the pixels as seen where already known, and
    ``stored``, the palette the file keeps (uint8 (K, C), straight; None: ``palette``)."""

    k: int
    palette: np.ndarray
    labels: np.ndarray
    exact: bool
    mse: float | None = None
    stored: np.ndarray | None = None

    @property
    def stored_palette(self) -> np.ndarray:
        return self.palette if self.stored is None else self.stored


def _stored_straight(chosen: _Chosen, pixels: np.ndarray, seen: np.ndarray, compute: Backend,
                     *, own_colours: bool = False) -> _Chosen:
    """``chosen``, fitted to premultiplied colours (``seen``, uint8 (N, C)), with the
    straight palette a file stores, exact only where every straight pixel is kept. With
    ``own_colours`` (k-medoids) each stored colour is one the image has: a pixel's that
    looks like it.

    Where the colours as seen are at most k but the straight ones differ under them
    (colour kept where alpha is 0, or colours that round alike), the image's own straight
    colours are stored instead when they are at most k, so that such an image stays
    lossless."""
    if chosen.exact:
        stored = quantizer.straight(chosen.palette)
        if _reproduces(pixels, stored, chosen.labels):
            return _in_stored_order(_Chosen(chosen.k, chosen.palette, chosen.labels, True,
                                            chosen.mse, stored=stored))
        colours, _ = quantizer.distinct_colours(pixels)
        if len(colours) <= chosen.k:
            labels = load_pixels(compute, pixels, len(colours)).assign(colours)
            return _Chosen(chosen.k, quantizer.premultiplied(colours), labels, True, 0.0,
                           stored=colours)
    stored = (_own_straight_colours(chosen, pixels, seen) if own_colours
              else quantizer.straight(chosen.palette))
    return _in_stored_order(_Chosen(chosen.k, chosen.palette, chosen.labels, False,
                                    chosen.mse, stored=stored))


def _in_stored_order(chosen: _Chosen) -> _Chosen:
    """``chosen`` with its stored palette in ascending order of its bytes, as the
    reference encoder writes fitted palettes (spec section 7), labels to match."""
    return _permuted(chosen, np.lexsort(chosen.stored_palette.T[::-1]))


def _in_file_order(chosen: _Chosen) -> _Chosen:
    """``chosen`` with a fitted palette in the order the file stores it
    (``shortest_order``: as fitted, or a nearest-colour path where that
    codes shorter), labels to match."""
    order = shortest_order(chosen.stored_palette)
    if np.array_equal(order, np.arange(len(order))):
        return chosen
    return _permuted(chosen, order)


def _permuted(chosen: _Chosen, order: np.ndarray) -> _Chosen:
    """``chosen`` with its palette's colour ``order[i]`` at place i, labels to match."""
    place = np.empty(len(order), np.uint8)
    place[order] = np.arange(len(order))
    stored = None if chosen.stored is None else chosen.stored[order]
    return _Chosen(chosen.k, chosen.palette[order], relabelled(chosen.labels, place),
                   chosen.exact, chosen.mse, stored=stored)


def _own_straight_colours(chosen: _Chosen, pixels: np.ndarray, seen: np.ndarray
                          ) -> np.ndarray:
    """For each colour of ``chosen.palette`` (medoids: colours the image has, as seen),
    the straight colour of the first pixel that looks exactly like it."""
    alike = np.flatnonzero((seen == chosen.palette[chosen.labels]).all(axis=1))
    used, first = np.unique(chosen.labels[alike], return_index=True)
    stored = quantizer.straight(chosen.palette)  # for a colour no pixel shows exactly
    stored[used] = pixels[alike[first]]
    return stored


def _search_target(pixels: np.ndarray, k: int, target_psnr: float, quantize: _Quantizer,
                   progress: Progress | None, **fit_options) -> _Chosen:
    """The fewest colours, up to ``k``, reaching ``target_psnr`` (gcp.target)."""
    if progress is not None:
        progress("fit", 0.0)  # the search's fits and assignments, as one stage
    with timed_stage("target"):
        choice = target.choose_colours(pixels, k, target_psnr, quantize, **fit_options)
    logger.debug("target: real fits at k = %s", ", ".join(
        f"{fit_k} ({fit_psnr:.2f} dB)" for fit_k, fit_psnr in choice.fits))
    return _Chosen(choice.k, choice.palette, choice.labels, choice.exact, choice.mse)


def _dithered_labels(image: np.ndarray, palette: np.ndarray, compute: Backend, backend: str,
                     device: str | None, progress: Callable[[float], None] | None
                     ) -> np.ndarray:
    """``floyd_steinberg``'s labels of uint8 (H, W, C) ``image`` onto ``palette``: on a CPU
    OpenCL device where the encode has one open, or opens one, else with numpy (the same
    labels either way, and numpy's wherever the device fails)."""
    from .backends import dither_opencl

    device_backend = _dither_device(compute, backend, device, image.shape)
    if device_backend is not None and dither_opencl.fits(device_backend, image):
        try:
            return dither_opencl.floyd_steinberg(device_backend, image, palette, progress)
        except (BackendError, MemoryError, device_backend.cl.Error) as error:
            logger.debug("dithering with numpy: %s", error)
    return floyd_steinberg(image, palette, progress)


def _dither_device(compute: Backend, backend: str, device: str | None,
                   shape: tuple[int, ...]) -> Backend | None:
    """The OpenCL backend to dither on, or None for numpy: the fit's own where it is a CPU
    device and the image large or thin enough; with the numpy fit, unless ``backend`` is
    "numpy", a CPU device (``dither_opencl.cpu_backend``) for an image that pays for
    opening it. A GPU runs the kernel's one work-item on one slow lane."""
    from .backends import dither_opencl

    height, width = shape[:2]
    if getattr(compute, "shares_host_memory", False):
        if (dither_opencl.worth_opening(height, width, already_open=True)
                and dither_opencl.builds_on(compute)):
            return compute
        return None
    if backend == "numpy" or not dither_opencl.worth_opening(height, width):
        return None
    return dither_opencl.cpu_backend(device)


def _report(pixels: np.ndarray, chosen: _Chosen, max_colours: int,
            target_psnr: float | None, dithered: bool) -> EncodeReport:
    """The colours and PSNR of what is stored; ``pixels`` uint8 (N, C) as seen
    (``quantizer.as_seen``)."""
    error = chosen.mse
    if error is None:
        error = target.assigned_mse(pixels, chosen.palette, chosen.labels)
    return EncodeReport(colours=len(chosen.palette), k=chosen.k, max_colours=max_colours,
                        psnr=target.psnr_for_mse(error), exact=chosen.exact,
                        target_psnr=target_psnr, dithered=dithered)


def _compute_backend(name: str, most: int, method: str, device: str | None,
                     channels: int) -> Backend:
    """The fit's and the assignment's backend for ``name``, palettes of up to ``most``
    colours and images of ``channels`` channels. Method cm's coder opens OpenCL anyway,
    so "auto" takes it at any k then; where it cannot be opened the fit falls back to
    numpy quietly, since the coder's own notice says so in one line."""
    chosen = backend_for_colours(name, most, opencl_anyway=method == "cm", channels=channels)
    if chosen == "auto" and method == "cm":
        try:
            return select_backend("opencl", device)
        except BackendError:
            return select_backend("numpy")
    return select_backend(chosen, device)


def _pack(chosen: _Chosen, shape: tuple[int, int, int], method: str, effort: int,
          device: str | None = None) -> bytes:
    """The .gcp file of ``chosen``'s labels for an image of ``shape`` (H, W, C)."""
    height, width, channels = shape
    palette = chosen.stored_palette
    method_id = METHOD_IDS[method]
    tokens_length = 0
    if method_id == METHOD_CM:
        stripe_pixels = CM_STRIPE_PIXELS_BY_EFFORT.get(effort, cm.TARGET_STRIPE_PIXELS)
        body = cm_engine.encode(chosen.labels.reshape(height, width), palette, device=device,
                                stripe_height=cm.stripe_height_for(width, height, stripe_pixels),
                                compact=True)
    else:
        tokens = rle.encode_runs(chosen.labels, len(palette))
        tokens_length = len(tokens)
        body = tokens if method_id == METHOD_RLE else entropy.compress_tokens(
            tokens, token_size=rle.token_size(len(palette)),
            setting=LZMA_SETTING_BY_EFFORT[effort])
    header = Header(
        version=container.VERSION, channels=channels, method=method_id,
        flags=container.palette_flags(
            container.FLAG_COMPACT | (container.FLAG_EXACT if chosen.exact else 0), palette),
        width=width, height=height,
        palette_size=len(palette), tokens_length=tokens_length, body_length=len(body),
    )
    return container.pack(header, palette, body)


class _Quantizer:
    """``quantize(k)``: fit a palette of at most k colours, assign every pixel.

    Returns (palette uint8 (K, C), labels uint8 (N,), exact), as the encoder stores
    them. The pixels are loaded onto the backend once, for every k asked, none above
    ``most_colours``.
    """

    def __init__(self, compute, pixels: np.ndarray, algorithm: str, most_colours: int, *,
                 seed: int, effort: int, max_iter: int, tol: float,
                 progress: Progress | None) -> None:
        self.compute, self.pixels, self.algorithm = compute, pixels, algorithm
        self.most_colours = most_colours
        self.options = {"seed": seed, "effort": effort, "max_iter": max_iter, "tol": tol}
        self.settings = quantizer.EFFORT_LEVELS[effort]
        self.whole = quantizer.samples_whole(len(pixels), self.settings.sample_size)
        self.progress = progress
        self.pixel_set: PixelSet | None = None

    def __call__(self, k: int, labels_wanted: bool = True
                 ) -> tuple[np.ndarray, np.ndarray | None, bool]:
        """(palette, labels, exact); labels None where ``labels_wanted`` is False and the
        palette is neither exact nor refined from them (a caller that dithers)."""
        def fit_palette(sample_size: int | None = None) -> quantizer.Fit:
            return _fit_palette(self.pixels, k, self.algorithm, sample_size=sample_size,
                                search=self.compute.nearest_two,
                                **self.options)

        with timed_stage("fit", self.progress):
            fit = fit_palette()
        with timed_stage("assign", self.progress):
            refine = self.algorithm == "kmeans" and self.settings.refines(self.whole, k)
            if not (labels_wanted or fit.exact or refine):
                return fit.palette, None, False
            if self.pixel_set is None:
                self.pixel_set = self._load()
            return _assign(self.pixel_set, self.pixels, fit, fit_palette, refine=refine)

    def _load(self) -> PixelSet:
        pixel_set = load_pixels(self.compute, self.pixels, self.most_colours)
        channels = self.pixels.shape[1]
        build_seconds = getattr(self.compute, "build_seconds", {}).get(channels)
        if build_seconds is not None:
            logger.debug("kernel for %d channel(s) built in %.3f s", channels, build_seconds)
        return pixel_set


def _checked_psnr(name: str, value: float | None) -> float | None:
    """A PSNR option as a float: None or a finite number of dB above 0."""
    if value is None:
        return None
    value = _real_number(name, value)
    if not (math.isfinite(value) and value > 0):
        raise ParameterError(f"{name} is {value}; it must be a finite number of dB above 0",
                             field=name)
    return value


def _check_min_psnr(report: EncodeReport, min_psnr: float | None) -> None:
    """``QualityError`` when the result's PSNR is below ``min_psnr``."""
    if min_psnr is not None and report.psnr < min_psnr:
        raise QualityError(report.psnr, min_psnr, report.colours)


def _assign(pixel_set: PixelSet, pixels: np.ndarray, fit: quantizer.Fit,
            fit_palette: Callable[[int | None], quantizer.Fit], *, refine: bool
            ) -> tuple[np.ndarray, np.ndarray, bool]:
    """The palette actually stored, every pixel's label (uint8 (N,)), and whether exact.

    An exact fit is checked on every pixel (it was made from a sample); if a colour was
    missed, the fit is made again from every pixel. With ``refine``, each colour moves to
    the mean of the pixels it got, once, and the pixels are assigned again.
    """
    labels = pixel_set.assign(fit.palette)
    if fit.exact:
        if _reproduces(pixels, fit.palette, labels):
            return fit.palette, labels, True
        fit = fit_palette(len(pixels))
        return fit.palette, pixel_set.assign(fit.palette), fit.exact
    if not refine:
        return fit.palette, labels, False
    palette = quantizer.palette_from_sums(*pixel_set.cluster_sums(labels, len(fit.palette)))
    return palette, pixel_set.assign(palette), False


def _check_palette(palette: np.ndarray) -> np.ndarray:
    """A given palette as contiguous uint8 (K, C), or ``ParameterError``."""
    array = _as_array("palette", palette)
    if array.ndim != 2 or array.shape[1] not in container.CHANNELS_ALLOWED:
        raise ParameterError(f"palette has shape {array.shape}; expected (K, C) with C = 1, "
                             "2, 3 or 4", field="palette")
    if array.dtype != np.uint8:
        raise ParameterError(f"palette has dtype {array.dtype}; expected uint8",
                             field="palette")
    if not 1 <= len(array) <= container.MAX_PALETTE_SIZE:
        raise ParameterError(f"palette has {len(array)} colours; it must have 1 to "
                             f"{container.MAX_PALETTE_SIZE}", field="palette")
    return np.ascontiguousarray(array)


def _warn_if_transparency_is_lost(image: np.ndarray, palette: np.ndarray) -> None:
    """One warning when ``image`` (H, W, C) has see-through pixels and ``palette`` (K, C)
    no alpha: every pixel becomes opaque."""
    if image.shape[2] in (2, 4) and palette.shape[1] in (1, 3) and \
            bool((image[:, :, -1] != 255).any()):
        logger.warning("the palette has no alpha: the image's transparent pixels become "
                       "opaque")


def _check_algorithm(algorithm: str) -> None:
    if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
        raise ParameterError(f"algorithm is {algorithm!r}; choose one of "
                             f"{', '.join(ALGORITHMS)}", field="algorithm")


def _fit_palette(pixels: np.ndarray, k: int, algorithm: str, *, seed: int, effort: int,
                 max_iter: int, tol: float, sample_size: int | None = None,
                 search: quantizer.Search = quantizer.reference_search) -> quantizer.Fit:
    """The palette ``algorithm`` fits; ``tol`` is K-Means' (medoids stop when none moves)."""
    if algorithm == "kmedoids":
        return kmedoids.fit_medoids(pixels, k, seed=seed, effort=effort, max_iter=max_iter,
                                    sample_size=sample_size)
    return quantizer.fit_palette(pixels, k, seed=seed, effort=effort, max_iter=max_iter,
                                 tol=tol, sample_size=sample_size, search=search)


def _reproduces(pixels: np.ndarray, palette: np.ndarray, labels: np.ndarray) -> bool:
    """True when every pixel equals its palette colour."""
    return bool(np.array_equal(palette[labels], pixels))


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
    return expanded(*decode_indices(data, max_pixels=max_pixels))


def expanded(header: Header, palette: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """``decode_indices``' result as ``decode`` gives it: uint8 (height, width, channels),
    each index's colour; ``LimitError`` where this machine has no memory for it."""
    with _memory_is_a_limit(header):
        return colours_of(palette, indices)


def decode_after(data: bytes | bytearray | memoryview,
                 prefix_for: Callable[[Header], bytes | None], *,
                 max_pixels: int = DEFAULT_MAX_PIXELS) -> Pieces | None:
    """The image in a .gcp file as ``Pieces``: ``prefix_for(header)``, then the pixels
    (uint8, row by row, as ``decode`` gives them) in pieces of whole rows, about
    ``PIECE_BYTES`` each, each looked up as it is asked for. Where ``prefix_for`` returns
    None, returns None having decoded nothing. Takes and raises what ``decode`` does: the
    indices are decoded, and a malformed file refused, before this returns."""
    header, palette, body = container.unpack(data, max_pixels=max_pixels)
    prefix = prefix_for(header)
    if prefix is None:
        return None
    indices = _indices_of(header, palette, body)
    rows = max(1, PIECE_BYTES // (header.width * header.channels))

    def pieces() -> Iterator[bytes | memoryview]:
        yield prefix
        for top in range(0, header.height, rows):
            with _memory_is_a_limit(header):
                piece = colours_of(palette, indices[top:top + rows])
            yield piece.reshape(-1).data

    return Pieces(len(prefix) + header.pixel_count * header.channels, pieces)


def decode_indices(data: bytes | bytearray | memoryview, *,
                   max_pixels: int = DEFAULT_MAX_PIXELS
                   ) -> tuple[Header, np.ndarray, np.ndarray]:
    """A .gcp file as it is stored: ``(header, palette, indices)``, nothing expanded.

    ``palette`` is uint8 (palette_size, channels), ``indices`` uint8 (height, width) of
    palette positions: what a palette image type (Pillow's mode "P") holds. Takes and
    raises what ``decode`` does.
    """
    header, palette, body = container.unpack(data, max_pixels=max_pixels)
    return header, palette, _indices_of(header, palette, body)


def _indices_of(header: Header, palette: np.ndarray, body: memoryview) -> np.ndarray:
    """uint8 (height, width) indices from an unpacked file's body, by its method."""
    with _memory_is_a_limit(header):
        if header.method == METHOD_CM:
            return cm_engine.decode(body, header.width, header.height, palette,
                                    compact=header.compact)
        if header.method == METHOD_LZMA:
            tokens = entropy.decompress_tokens(body, header.tokens_length)
        else:
            tokens = body
        checked = rle.check_tokens(tokens, header.pixel_count, header.palette_size)
        indices = rle.expand_tokens(checked, header.pixel_count, header.palette_size)
    return indices.reshape(header.height, header.width)


@contextmanager
def _memory_is_a_limit(header: Header) -> Iterator[None]:
    """A ``MemoryError`` while decoding becomes a ``LimitError``: one error family."""
    try:
        yield
    except MemoryError:
        raise LimitError(
            f"not enough memory to decode a {header.width}x{header.height} image of "
            f"{header.channels} channels",
            field="memory",
        ) from None


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
    palette_code_length: int = 0  # bytes of the coded palette; 0 where stored as is
    palette_stored_length: int = 0  # bytes the palette takes in the file (the spec's P)
    header_length: int = container.HEADER_SIZE  # the spec's H: 38, or the compact form's

    @property
    def coded_palette(self) -> bool:
        return bool(self.flags & container.FLAG_CODED_PALETTE)

    @property
    def compact(self) -> bool:
        """The file is in the compact form (spec 2.10)."""
        return bool(self.flags & container.FLAG_COMPACT)

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
            "coded_palette": self.coded_palette,
            "palette_code_length": self.palette_code_length,
            "compact": self.compact, "header_length": self.header_length,
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
        palette_code_length=header.palette_code_length,
        palette_stored_length=header.palette_length,
        header_length=header.header_length,
    )
