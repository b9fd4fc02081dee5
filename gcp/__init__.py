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

from .codec import EncodeReport, Info, decode, encode, encode_report, read_info
from .container import DEFAULT_MAX_PIXELS
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
