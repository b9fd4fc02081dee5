"""Image files in and out through OpenCV, as uint8 arrays in RGB(A) order.

Reading: PNG and BMP, and whatever else OpenCV decodes (JPEG, TIFF, WebP, PPM...).
16-bit samples are rounded to 8 bits; palette images come out as their colours; a
grey+alpha PNG stays two channels. The pixel limit is checked from the file's own header
(PNG, BMP) before OpenCV allocates anything, and from the decoded size otherwise.
Writing: the format follows the file name's extension.
"""

from __future__ import annotations

import contextlib
import struct

import numpy as np

from .container import DEFAULT_MAX_PIXELS, check_pixel_count
from .errors import ImageError

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_GREY_ALPHA = 4


def _cv2():
    import cv2

    with contextlib.suppress(AttributeError):  # very old OpenCV has no logging module
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    return cv2


def declared_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG or BMP header, or None for other formats."""
    if data[:8] == _PNG_SIGNATURE and len(data) >= 24 and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    if data[:2] == b"BM" and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return abs(width), abs(height)
    return None


def decode_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS,
                 name: str = "input") -> np.ndarray:
    """An image file's bytes to uint8 (H, W, C): C = 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA."""
    if not data:
        raise ImageError(f"{name} is empty", field="image")
    size = declared_size(data)
    if size is not None:
        check_pixel_count(*size, max_pixels)
    cv2 = _cv2()
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as error:
        raise ImageError(f"{name} cannot be decoded: {_first_line(error)}", field="image") from None
    if image is None:
        raise ImageError(f"{name} is not an image OpenCV can read (or it is truncated)",
                         field="image")
    check_pixel_count(image.shape[1], image.shape[0], max_pixels)
    image = _to_uint8(image, name)
    if image.ndim == 2:
        return image[:, :, None]
    if image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if image.shape[2] == 4:
        if data[:8] == _PNG_SIGNATURE and len(data) > 25 and data[25] == _PNG_GREY_ALPHA:
            return np.ascontiguousarray(image[:, :, [0, 3]])
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    raise ImageError(f"{name} has {image.shape[2]} channels; gcp reads 1 to 4", field="image")


def _to_uint8(image: np.ndarray, name: str) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    raise ImageError(f"{name} has {image.dtype} samples; gcp reads 8- and 16-bit images",
                     field="image")


def encode_image(image: np.ndarray, extension: str) -> bytes:
    """uint8 (H, W, C) RGB(A) to the bytes of an image file of type ``extension`` ('.png')."""
    cv2 = _cv2()
    channels = image.shape[2]
    if channels == 1:
        bgr = image[:, :, 0]
    elif channels == 2:  # OpenCV writes no grey+alpha; widen to BGRA
        bgr = np.ascontiguousarray(image[:, :, [0, 0, 0, 1]])
    elif channels == 3:
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    else:
        bgr = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA)
    try:
        ok, encoded = cv2.imencode(extension, bgr)
    except cv2.error as error:
        raise ImageError(f"cannot write a {extension!r} image: {_first_line(error)}",
                         field="extension") from None
    if not ok:
        raise ImageError(f"cannot write a {extension!r} image", field="extension")
    return encoded.tobytes()


def can_write(extension: str) -> bool:
    """True when OpenCV has a writer for files ending in ``extension``."""
    return bool(_cv2().haveImageWriter("x" + extension))


def _first_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
