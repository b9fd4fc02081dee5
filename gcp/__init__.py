"""gcp: a palette image codec.

    data = gcp.encode(image, k=16)      # uint8 (H, W, C) array -> .gcp bytes
    image = gcp.decode(data)            # .gcp bytes -> uint8 (H, W, C) array
    info = gcp.read_info(data)          # header fields, palette and sizes
    data, report = gcp.encode_report(image, k=64, target_psnr=40)  # report.colours, .psnr

Every malformed file raises ``gcp.GcpError`` (a ``ValueError``) naming the bad field.
The format is specified byte by byte in spec/format.md.
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING

from .errors import (
    BackendError,
    FormatError,
    GcpError,
    ImageError,
    LimitError,
    PaletteError,
    ParameterError,
    QualityError,
)

if TYPE_CHECKING:
    from .codec import EncodeReport, Info, decode, encode, encode_report, read_info
    from .container import DEFAULT_MAX_PIXELS

# The codec's names are imported on first use (PEP 562), so that the command's entry
# (``__main__.py``) runs its first lines before numpy is loaded.
_LAZY_NAMES = {"EncodeReport": "codec", "Info": "codec", "decode": "codec", "encode": "codec",
               "encode_report": "codec", "read_info": "codec",
               "DEFAULT_MAX_PIXELS": "container"}


def __getattr__(name: str) -> object:
    module = _LAZY_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_NAMES))


__all__ = [
    "DEFAULT_MAX_PIXELS",
    "BackendError",
    "EncodeReport",
    "FormatError",
    "GcpError",
    "ImageError",
    "Info",
    "LimitError",
    "PaletteError",
    "ParameterError",
    "QualityError",
    "__version__",
    "decode",
    "encode",
    "encode_report",
    "read_info",
]
