"""Where method cm's coder runs: on an OpenCL device (``backends/cm_opencl.py``, the
kernels of ``backends/cm.cl``) where one opens, else with the pure-Python reference
(``cm.py``); both write the same bytes and read the same pixels.

This is the method's front for the codec: ``encode`` and ``decode`` take and give what
``cm.encode_body`` and ``cm.decode_body`` do, with an ``engine`` and a ``device`` to
choose where. ``cm.py`` itself knows nothing of OpenCL.
"""

from __future__ import annotations

import functools
import logging

import numpy as np

from . import cm
from .errors import BackendError, ParameterError

logger = logging.getLogger("gcp")

ENGINES = ("auto", "opencl", "reference")

_notified: set[str] = set()


def _opencl_backend(engine: str, device: str | None):
    """The OpenCL backend to code with, or None for the reference (with a notice, once)."""
    if engine not in ENGINES:
        raise ParameterError(f"cm engine is {engine!r}; choose one of {', '.join(ENGINES)}",
                             field="engine")
    if engine == "reference":
        return None
    from .backends import select_backend

    named = device is not None
    try:
        device = _coder_device(device)
        backend = select_backend("opencl", device)
        logger.debug("cm: coding on %s", backend.device)
        return backend
    except BackendError as error:
        if engine == "opencl" or named:  # a device named is one asked for
            raise
        key = str(device)
        if key not in _notified:
            _notified.add(key)
            logger.warning("OpenCL is not available (%s); method cm uses its pure-Python "
                           "reference, which is slow", error)
        return None


def warm_up(device: str | None = None) -> None:
    """Open the OpenCL device method cm codes on and build its kernels now, as
    ``backends.warm_up`` does for the fit: meant for a background thread started before
    the image is read. Says nothing, whatever happens; ``encode`` reports."""
    try:
        from .backends import cm_opencl, select_backend

        cm_opencl.kernels(select_backend("opencl", _coder_device(device)))
    except Exception:  # reported by encode's own choice of engine
        return


def _coder_device(device: str | None) -> str:
    """The device spec the coder runs on: ``device`` if named, else the preferred kind's
    (``cm_opencl.DEVICE_PREFERENCE``). Raises ``BackendError`` without OpenCL."""
    if device is not None:
        return device
    from .backends import cm_opencl, opencl

    # A device is checked by building the coder's kernels, which it needs anyway.
    return opencl.device_spec_preferring(cm_opencl.DEVICE_PREFERENCE, cm_opencl.kernels)


def encode(indices: np.ndarray, palette: np.ndarray, *, engine: str = "auto",
           device: str | None = None, stripe_height: int | None = None,
           compact: bool = False) -> bytes:
    """Method cm's body for uint8 indices (height, width) of a uint8 (K, C) palette: on
    an OpenCL device where one opens, else with the reference; the bytes are the same.
    ``compact``: the framing of a file's compact form (spec 2.10)."""
    backend = _opencl_backend(engine, device)
    if backend is None:
        return cm.encode_body(indices, palette, stripe_height, compact)
    return cm.with_blocks(np.ascontiguousarray(indices, np.uint8), stripe_height,
                          functools.partial(_encode_stripes, backend, palette, compact),
                          compact)


def _encode_stripes(backend, palette: np.ndarray, compact: bool, indices: np.ndarray,
                    stripe_height: int | None) -> bytes:
    """The body of ``indices`` without blocks, coded on ``backend``."""
    from .backends import cm_opencl

    stripe_height = cm.encoder_stripe_height(indices, stripe_height)
    return cm.join_stripes(stripe_height,
                           *cm.weighted_stripes(indices, palette, stripe_height,
                                                functools.partial(cm_opencl.encode_codings,
                                                                  backend),
                                                functools.partial(cm_opencl.coded_lengths,
                                                                  backend)),
                           compact=compact)


def decode(body: memoryview | bytes, width: int, height: int, palette: np.ndarray, *,
           engine: str = "auto", device: str | None = None, compact: bool = False
           ) -> np.ndarray:
    """uint8 (height, width) indices from method cm's body, its framing in the compact
    form where ``compact``; ``FormatError`` if invalid."""
    return cm.without_blocks(body, width, height, functools.partial(
        _decode_stripes, palette=palette, engine=engine, device=device, compact=compact),
        compact)


def _decode_stripes(body: memoryview | bytes, width: int, height: int, *, palette: np.ndarray,
                    engine: str, device: str | None, compact: bool) -> np.ndarray:
    """``decode`` of a body without blocks (cm.without_blocks)."""
    stripe_height, weights, stripes = cm.split_stripes(body, width, height,
                                                       palette.shape[1], len(palette),
                                                       compact)
    if len(palette) == 1:
        return cm.one_colour_indices(stripes, width, height, stripe_height)
    backend = _opencl_backend(engine, device)
    if backend is None:
        return cm.decode_body(body, width, height, palette, compact)
    from .backends import cm_opencl

    return cm_opencl.decode_stripes(backend, stripes, width, height, stripe_height, palette,
                                    weights)
