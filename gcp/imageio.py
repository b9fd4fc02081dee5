"""Image files in and out through OpenCV, as uint8 arrays in RGB(A) order.

Reading: PNG and BMP, and whatever else OpenCV decodes (JPEG, TIFF, WebP, PPM...).
16-bit samples are rounded to 8 bits; palette images come out as their colours; a
grey+alpha PNG stays two channels. A file is judged by its first bytes before the rest
is needed (``check_file_start``): a file no OpenCV reader recognises is refused at once,
and the pixel limit, and that there is at least one pixel, is checked from the file's own
header (PNG, BMP, JPEG, GIF, TIFF, WebP) before OpenCV allocates anything, and from the
decoded size otherwise (OpenCV refuses over 2**30). What
the C libraries underneath print on their own (libpng's warnings) is caught, so that an
error stays one line.
Writing: the format follows the file name's extension.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import struct
import sys
import tempfile
import threading
from collections.abc import Iterator

import numpy as np

from .container import DEFAULT_MAX_PIXELS, byte_string, check_max_pixels, check_pixel_count
from .container import SIGNATURE as GCP_SIGNATURE
from .errors import ImageError, LimitError, ParameterError

logger = logging.getLogger("gcp")

# What check_file_start reads: the signatures, and the size in most headers (a JPEG's
# frame header may come later, after large metadata; decode_image checks it then).
FILE_START_SIZE = 64 << 10
# The largest a stored pixel is: four float32 samples (PFM, an uncompressed float TIFF).
MAX_BYTES_PER_PIXEL = 16
# Room for metadata beside the pixels (ICC profiles, EXIF, XMP) in max_file_size.
METADATA_ALLOWANCE = 16 << 20

# What formats hold, by extension, as OpenCV writes them. Without an alpha channel (or
# with one OpenCV cannot read back: .pam):
WITHOUT_ALPHA = frozenset({".jpg", ".jpeg", ".jpe", ".ppm", ".pgm", ".pnm", ".pam", ".sr",
                           ".ras", ".gif"})
GREY_ONLY = frozenset({".pgm"})
# A grey image is written as RGB: the format holds no grey (.ppm, .gif) or OpenCV's grey
# Sun raster reads back black.
COLOUR_ONLY = frozenset({".ppm", ".gif", ".sr", ".ras"})
# Black and white only (.pbm), or floating-point samples: not for a decoded palette image.
NOT_WRITTEN = frozenset({".pbm", ".pfm", ".hdr", ".pic"})

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_GREY = 0  # IHDR colour types
_PNG_RGB = 2
_PNG_GREY_ALPHA = 4
_BMP_CORE_HEADER_SIZE = 12  # OS/2 1.x: u16 width and height; later headers have i32
_JPEG_SOI = b"\xff\xd8"
# Start-of-frame markers C0-CF hold the size, but for C4 (DHT), C8 (JPG) and CC (DAC).
_JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_SCAN_MARKERS = frozenset([0xD9, 0xDA])  # EOI, SOS: no frame header before these
# Segments libjpeg skips by their length (skip_variable, and APP0 and APP14 alike): a
# length under 2 skips nothing, and it reads on after the length's two bytes. At the
# others (DQT, DHT, DRI...) such a length is an error. APPn, DNL and COM.
_JPEG_SKIPPED_MARKERS = frozenset([*range(0xE0, 0xF0), 0xDC, 0xFE])
# The next marker that has a length or ends the search, as libjpeg's next_marker finds
# it: other bytes, fill bytes (0xFF 0xFF), stuffed zeros (0xFF 0x00) and the markers with
# no length (TEM 0x01; RSTn and SOI, 0xD0-0xD8) passed over, in C rather than a byte or a
# marker at a time (a 64-MB run of either took 5-9 s).
_JPEG_SEGMENT_MARKER = re.compile(rb"\xff[^\x00\x01\xd0-\xd8\xff]")
# Real files have tens of segments before the frame; this bounds a hostile file's walk.
MAX_JPEG_SEGMENTS = 1 << 16
_JPEG_APP1 = 0xE1
_EXIF_HEADER = b"Exif\x00\x00"  # an APP1 segment holding EXIF starts so; a TIFF follows
_TIFF_SHORT = 3
_TIFF_SIZE_TAGS = (256, 257)  # ImageWidth, ImageLength
_TIFF_ORIENTATION = 274  # 5 to 8 turn the image a quarter: OpenCV's TIFF reader does so
# The integer types libtiff reads a size tag in: BYTE, SHORT, LONG, SBYTE, SSHORT, SLONG.
_TIFF_INTEGER_FORMATS = {1: "B", 3: "H", 4: "I", 6: "b", 8: "h", 9: "i"}
# Rows converted per step from 16 to 8 bits: bounds the uint32 scratch to a few MiB.
_ROWS_PER_STEP = 256
# Only one thread at a time may point file descriptor 2 elsewhere.
_native_stderr_lock = threading.Lock()


def _cv2():
    import cv2

    with contextlib.suppress(AttributeError):  # very old OpenCV has no logging module
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    return cv2


def max_file_size(max_pixels: int) -> int:
    """The most bytes an image file of at most ``max_pixels`` pixels is read to: a longer
    input (an endless stream, a huge file that is no image) is refused, not read into memory."""
    check_max_pixels(max_pixels)
    return MAX_BYTES_PER_PIXEL * max_pixels + METADATA_ALLOWANCE


def check_file_size(size: int, *, max_pixels: int, name: str) -> None:
    """``LimitError`` when an image file of ``size`` bytes is over ``max_file_size``."""
    limit = max_file_size(max_pixels)
    if size > limit:
        raise LimitError(f"{name} is over {limit} bytes, more than an image of at most "
                         f"{max_pixels} pixels needs (raise max_pixels / --max-pixels if it "
                         "is one)", field="file_size")


def check_file_start(start: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS,
                     name: str = "input") -> None:
    """Refuse a file from its first bytes (``FILE_START_SIZE`` of them, or all it has).

    ``ImageError`` when it is empty, when no image reader of OpenCV's knows its signature,
    or when its header declares no pixels; ``LimitError`` when it declares more than
    ``max_pixels``.
    """
    if not start:
        raise ImageError(f"{name} is empty", field="image")
    if start.startswith(GCP_SIGNATURE):
        raise ImageError(f"{name} is a .gcp file already; gcp decode turns it into an image",
                         field="image")
    size = declared_size(start)
    if size is not None:
        _check_size(*size, max_pixels, name)
    if not is_common_image(start) and not _opencv_knows_signature(start):
        raise ImageError(f"{name} is not an image OpenCV can read (its first bytes are no "
                         "image format's signature)", field="image")


def is_common_image(start: bytes) -> bool:
    """True when ``start`` begins as a PNG, BMP, JPEG, GIF, TIFF or WebP file does: the
    formats ``declared_size`` reads, known without asking OpenCV."""
    return any(start.startswith(signature) for signature, _ in _COMMON_SIZE_READERS)


def _opencv_knows_signature(start: bytes) -> bool:
    """True when one of OpenCV's image readers claims a file beginning with ``start``.

    OpenCV asks every reader it was built with to judge the signature, but only of a file
    by name, so the first bytes go to a temporary file: the formats known are exactly
    those ``cv2.imdecode`` would try.
    """
    cv2 = _cv2()
    try:
        with tempfile.NamedTemporaryFile(prefix="gcp-signature-") as file:
            file.write(start[:FILE_START_SIZE])
            file.flush()
            return bool(cv2.haveImageReader(file.name))
    except OSError:  # no writable temporary folder: let cv2.imdecode judge the whole file
        return True


def declared_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header of a PNG, BMP, JPEG, GIF, TIFF, WebP, Netpbm (PBM,
    PGM, PPM, PAM, PFM), Radiance HDR or Sun raster file; None for other formats, or a
    header too short or odd to say."""
    for signature, read_size in _SIZE_READERS:
        if data[:len(signature)] == signature:
            return read_size(data)
    return None


def _png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) >= 24 and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    return None


def _bmp_size(data: bytes) -> tuple[int, int] | None:
    if len(data) >= 22 and int.from_bytes(data[14:18], "little") == _BMP_CORE_HEADER_SIZE:
        return struct.unpack("<HH", data[18:22])
    if len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return abs(width), abs(height)
    return None


def _gif_size(data: bytes) -> tuple[int, int] | None:
    """The logical screen's size, which every frame is drawn into."""
    return struct.unpack("<HH", data[6:10]) if len(data) >= 10 else None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    """ImageWidth (256) and ImageLength (257) of the first directory, the page read, as
    OpenCV gives the image: swapped where the Orientation (274) is 5 to 8."""
    order = "<" if data[:2] == b"II" else ">"
    if len(data) < 8:
        return None
    directory = struct.unpack_from(order + "I", data, 4)[0]
    if directory + 2 > len(data):
        return None
    entries = struct.unpack_from(order + "H", data, directory)[0]
    found = {}
    for entry in range(directory + 2, min(directory + 2 + 12 * entries, len(data) - 11), 12):
        tag, kind, count = struct.unpack_from(order + "HHI", data, entry)
        if tag not in (*_TIFF_SIZE_TAGS, _TIFF_ORIENTATION) or tag in found:
            continue  # libtiff ignores a repeated tag
        if count != 1 or kind not in _TIFF_INTEGER_FORMATS:
            return None  # a form libtiff refuses or this does not read: size unknown
        found[tag] = struct.unpack_from(order + _TIFF_INTEGER_FORMATS[kind], data,
                                        entry + 8)[0]
    width, height = (found.get(tag, -1) for tag in _TIFF_SIZE_TAGS)
    if width < 0 or height < 0:
        return None
    return (height, width) if 5 <= found.get(_TIFF_ORIENTATION, 1) <= 8 else (width, height)


def _webp_size(data: bytes) -> tuple[int, int] | None:
    """The canvas (VP8X) or the single image's size (VP8L lossless, VP8 lossy)."""
    if len(data) < 30 or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8X":
        return (1 + int.from_bytes(data[24:27], "little"),
                1 + int.from_bytes(data[27:30], "little"))
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + (bits >> 14 & 0x3FFF)
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


def _jpeg_frame_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a JPEG as ``decode_image`` gives it: from the first
    start-of-frame segment, swapped where its EXIF orientation (``jpeg_orientation``) is
    5 to 8; None if there is no frame before the scan."""
    position, orientation = _jpeg_header(data)
    if position is None or position + 9 > len(data):
        return None
    height, width = struct.unpack(">HH", data[position + 5:position + 9])
    return (height, width) if orientation >= 5 else (width, height)


def _jpeg_frame(data: bytes) -> int | None:
    """Where a JPEG's first start-of-frame segment begins (``_jpeg_header``)."""
    return _jpeg_header(data)[0]


def _jpeg_header(data: bytes) -> tuple[int | None, int]:
    """(where a JPEG's first start-of-frame segment begins, its EXIF orientation) from one
    walk of the segments before the frame: by their lengths (a length under 2 as libjpeg
    takes it: nothing to skip in an APPn, COM or DNL segment, an error elsewhere), and
    past what lies between them as libjpeg reads it. The position is None if there is no
    frame before the scan, a length libjpeg refuses comes first, or more than
    ``MAX_JPEG_SEGMENTS`` segments do; the orientation is ``jpeg_orientation``'s."""
    orientation = None
    for marker, position in _jpeg_segments(data):
        if marker in _JPEG_FRAME_MARKERS:
            return position, orientation or 1
        if marker == _JPEG_APP1 and orientation is None:
            orientation = _app1_orientation(data, position)
    return None, orientation or 1


def _jpeg_segments(data: bytes) -> Iterator[tuple[int, int]]:
    """(marker, position) of each segment of a JPEG up to its first start-of-frame
    segment, that one included, walking by their lengths as ``_jpeg_header`` says; none
    after a scan's start, a length libjpeg refuses or ``MAX_JPEG_SEGMENTS`` of them."""
    position = len(_JPEG_SOI)
    for _ in range(MAX_JPEG_SEGMENTS):
        found = _JPEG_SEGMENT_MARKER.search(data, position)
        if found is None:
            return
        position = found.start()
        marker = data[position + 1]
        if marker in _JPEG_SCAN_MARKERS:
            return
        yield marker, position
        if marker in _JPEG_FRAME_MARKERS:
            return
        length = int.from_bytes(data[position + 2:position + 4], "big")
        if position + 4 > len(data) or (length < 2 and marker not in _JPEG_SKIPPED_MARKERS):
            return
        position += 2 + max(length, 2)


def jpeg_orientation(data: bytes) -> int:
    """The EXIF orientation of a JPEG (1 to 8, as TIFF's tag 274 numbers them: 1 upright,
    6 turned a quarter clockwise to be seen...): from the first APP1 segment before the
    frame that holds EXIF, its first directory's Orientation, a SHORT. 1 where there is
    none, or it is not 1 to 8 or not in that form: the image is then taken as stored."""
    return _jpeg_header(data)[1]


def _app1_orientation(data: bytes, position: int) -> int | None:
    """The orientation (``_exif_orientation``) of the APP1 segment at ``position``, or None
    where it holds no EXIF."""
    length = int.from_bytes(data[position + 2:position + 4], "big")
    payload = data[position + 4:position + 2 + length]
    if payload[:len(_EXIF_HEADER)] != _EXIF_HEADER:
        return None
    return _exif_orientation(payload[len(_EXIF_HEADER):])


def _exif_orientation(tiff: bytes) -> int:
    """Orientation (274) of the first directory of the TIFF structure EXIF holds; 1 where
    there is none or it is not a SHORT of 1 to 8."""
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return 1
    order = "<" if tiff[:2] == b"II" else ">"
    directory = struct.unpack_from(order + "I", tiff, 4)[0]
    if directory + 2 > len(tiff):
        return 1
    entries = struct.unpack_from(order + "H", tiff, directory)[0]
    for entry in range(directory + 2, min(directory + 2 + 12 * entries, len(tiff) - 11), 12):
        tag, kind, count, value = struct.unpack_from(order + "HHIH", tiff, entry)
        if tag == _TIFF_ORIENTATION:
            return value if kind == _TIFF_SHORT and count == 1 and 1 <= value <= 8 else 1
    return 1


def oriented(image: np.ndarray, orientation: int) -> np.ndarray:
    """uint8 (H, W[, C]) ``image`` as stored, turned and flipped to be seen as EXIF
    ``orientation`` (1 to 8) says, as OpenCV's ``imread`` does where it applies it;
    (W, H[, C]) for 5 to 8. A view where it can be."""
    transposed = (1, 0, *range(2, image.ndim))
    if orientation == 2:
        return image[:, ::-1]
    if orientation == 3:
        return image[::-1, ::-1]
    if orientation == 4:
        return image[::-1]
    if orientation == 5:
        return image.transpose(transposed)
    if orientation == 6:
        return image[::-1].transpose(transposed)
    if orientation == 7:
        return image[::-1, ::-1].transpose(transposed)
    if orientation == 8:
        return image[:, ::-1].transpose(transposed)
    return image


def declared_grey(data: bytes | bytearray) -> bool:
    """True where a PNG's or JPEG's header says the image is one grey channel (PNG colour
    type 0, a JPEG frame of one component); False for colour, alpha, palette PNGs, other
    formats and headers too short to say. A hint read before decoding, not a check."""
    if data[:8] == _PNG_SIGNATURE:
        return len(data) > 25 and data[12:16] == b"IHDR" and data[25] == _PNG_GREY
    if data[:len(_JPEG_SOI)] == _JPEG_SOI:
        position = _jpeg_frame(data)
        return position is not None and position + 9 < len(data) and data[position + 9] == 1
    return False


def _is_plain_colour(data: bytes | bytearray) -> bool:
    """True where the file is a PNG of 8-bit RGB (colour type 2) with no tRNS chunk, or a
    JPEG whose frame has three components: what OpenCV reads as three 8-bit channels
    whatever it is asked for. Read from the headers before decoding."""
    if data[:8] == _PNG_SIGNATURE:
        return (len(data) > 25 and data[12:16] == b"IHDR" and data[24] == 8
                and data[25] == _PNG_RGB and not _png_has_chunk(data, b"tRNS"))
    if data[:len(_JPEG_SOI)] == _JPEG_SOI:
        position = _jpeg_frame(data)
        return position is not None and position + 9 < len(data) and data[position + 9] == 3
    return False


def _png_has_chunk(data: bytes | bytearray, wanted: bytes) -> bool:
    """Whether a chunk of type ``wanted`` comes before the PNG's first IDAT (where every
    chunk that changes how the pixels read lies)."""
    for _, _, kind in _png_chunks(data):
        if kind in (wanted, b"IDAT"):
            return kind == wanted
    return False


def _png_chunks(data: bytes | bytearray) -> Iterator[tuple[int, int, bytes]]:
    """(position, declared length, type) of each chunk header of a PNG, in order, to the
    file's end; a length past the end is given as declared."""
    position = len(_PNG_SIGNATURE)
    while position + 8 <= len(data):
        length = int.from_bytes(data[position:position + 4], "big")
        yield position, length, bytes(data[position + 4:position + 8])
        position += 12 + length


def _netpbm_size(data: bytes) -> tuple[int, int] | None:
    """PBM, PGM, PPM (P1 to P6) and PFM (PF, Pf): the first two numbers after the magic,
    past whitespace and # comments; PAM (P7): its WIDTH and HEIGHT lines."""
    text = bytes(data[:_TEXT_HEADER_SIZE]).decode("latin-1")
    if text.startswith("P7"):
        pairs = (line.split(None, 1) for line in text.split("ENDHDR", 1)[0].splitlines()[1:])
        fields = {pair[0]: pair[1].strip() for pair in pairs if len(pair) == 2}
        numbers = [fields[name] for name in ("WIDTH", "HEIGHT") if name in fields]
    else:
        words = " ".join(line.split("#", 1)[0] for line in text[2:].splitlines()).split()
        numbers = words[:2]
    if len(numbers) < 2 or not all(number.isdigit() for number in numbers):
        return None
    return int(numbers[0]), int(numbers[1])


def _radiance_size(data: bytes) -> tuple[int, int] | None:
    """Radiance HDR: the resolution line after the header's blank line, "-Y H +X W" (the
    rows' count first, whichever axis it names)."""
    text = bytes(data[:_TEXT_HEADER_SIZE]).decode("latin-1")
    if "\n\n" not in text:
        return None
    words = text.split("\n\n", 1)[1].split("\n", 1)[0].split()
    if len(words) != 4 or not (words[1].isdigit() and words[3].isdigit()):
        return None
    first, second = int(words[1]), int(words[3])
    return (second, first) if words[0][-1:] == "Y" else (first, second)


def _sun_raster_size(data: bytes) -> tuple[int, int] | None:
    return struct.unpack(">II", data[4:12]) if len(data) >= 12 else None


# The text headers above are read in their first 4 KiB at most (a comment longer than
# that leaves the size unknown, and OpenCV's own limit then applies).
_TEXT_HEADER_SIZE = 4096
_COMMON_SIZE_READERS = (
    (_PNG_SIGNATURE, _png_size), (b"BM", _bmp_size), (_JPEG_SOI, _jpeg_frame_size),
    (b"GIF87a", _gif_size), (b"GIF89a", _gif_size), (b"II*\0", _tiff_size),
    (b"MM\0*", _tiff_size), (b"RIFF", _webp_size),
)
_SIZE_READERS = (
    *_COMMON_SIZE_READERS,
    *((b"P" + kind, _netpbm_size) for kind in (b"1", b"2", b"3", b"4", b"5", b"6", b"7",
                                               b"F", b"f")),
    (b"#?RADIANCE", _radiance_size), (b"#?RGBE", _radiance_size),
    (b"\x59\xa6\x6a\x95", _sun_raster_size),
)


def _check_png_chunks(data: bytes, name: str) -> None:
    """Refuse a PNG with a chunk longer than the file holds, up to its end: an empty IEND
    after an IDAT, where OpenCV stops reading (bytes after it are let be).

    OpenCV allocates a chunk's declared length before reading it: a 218-byte file whose
    IDAT claimed 4 GB took 4 GB of memory and 7 s to fail, and a 322-byte one whose first
    IEND held data and came before any IDAT made it read on, to an IEND claiming 2 GB
    (about 1 GB touched, 2-3 s; both found by tests/fuzz).
    """
    seen_idat = False
    for position, length, kind in _png_chunks(data):
        if not kind.isalpha():  # bytes: ASCII letters only
            # PNG's chunk types are four ASCII letters; anything else is not a chunk, and
            # walking on through junk (a gigabyte of zeros is 83 million "chunks") is slow.
            raise ImageError(
                f"{name} is a PNG whose chunk at byte {position} has the type "
                f"{kind.hex(' ')} (hex), not four letters (it is corrupt)", field="image")
        if position + 12 + length > len(data):
            raise ImageError(
                f"{name} is a PNG whose {kind.decode('latin-1')!r} chunk at byte {position} "
                f"claims {length} bytes, more than the file holds (it is truncated or corrupt)",
                field="image",
            )
        if kind == b"IEND" and length == 0 and seen_idat:
            return
        seen_idat = seen_idat or kind == b"IDAT"


def _check_size(width: int, height: int, max_pixels: int, name: str) -> None:
    if width == 0 or height == 0:
        raise ImageError(f"{name} is {width}x{height} pixels: an image needs at least one",
                         field="image")
    check_pixel_count(width, height, max_pixels)


def decode_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS,
                 name: str = "input") -> np.ndarray:
    """An image file's bytes to uint8 (H, W, C): C = 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA.

    Raises ``ImageError`` for anything that is not a readable image of at least one pixel,
    ``LimitError`` for one of more than ``max_pixels`` pixels (or longer than
    ``max_file_size``). ``data`` is any bytes-like object; anything else (a ``str``,
    ``None``) is a ``TypeError``, as for ``gcp.decode``.
    """
    data = byte_string(data, "an image file")
    check_file_start(data[:FILE_START_SIZE], max_pixels=max_pixels, name=name)
    check_file_size(len(data), max_pixels=max_pixels, name=name)
    if len(data) > FILE_START_SIZE and (size := declared_size(data)) is not None:
        _check_size(*size, max_pixels, name)  # a JPEG's frame may follow 64 KB of metadata
    if data[:8] == _PNG_SIGNATURE:
        _check_png_chunks(data, name)
    cv2 = _cv2()
    # OpenCV's own order is BGR: swapping a 16.8-MP image's channels afterwards took 0.03-0.04
    # s, most of it faulting in a second 50 MB array. Where the file says it is 8-bit colour
    # without alpha, OpenCV (4.11 on) decodes straight to RGB, the same pixels.
    straight_to_rgb = hasattr(cv2, "IMREAD_COLOR_RGB") and _is_plain_colour(data)
    flags = (cv2.IMREAD_COLOR_RGB | cv2.IMREAD_IGNORE_ORIENTATION if straight_to_rgb
             else cv2.IMREAD_UNCHANGED)
    native_messages: list[str] = []
    try:
        with _native_stderr_caught(native_messages):
            image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error as error:
        raise ImageError(f"{name} cannot be decoded: {_first_line(error)}", field="image") from None
    for message in native_messages:
        logger.debug("%s: %s", name, message)
    if image is None and native_messages:
        raise ImageError(f"{name} cannot be decoded: {native_messages[-1]}", field="image")
    if image is None:
        raise ImageError(f"{name} is not an image OpenCV can read (or it is truncated)",
                         field="image")
    _check_size(image.shape[1], image.shape[0], max_pixels, name)
    image = _to_uint8(image, name)
    if data[:len(_JPEG_SOI)] == _JPEG_SOI and (orientation := jpeg_orientation(data)) != 1:
        # Shown as viewers show it: the file has no field to keep the tag in.
        image = np.ascontiguousarray(oriented(image, orientation))
    if image.ndim == 2:
        return image[:, :, None]
    if image.shape[2] == 3:
        return image if straight_to_rgb else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if image.shape[2] == 4:
        if data[:8] == _PNG_SIGNATURE and len(data) > 25 and data[25] == _PNG_GREY_ALPHA:
            return np.ascontiguousarray(image[:, :, [0, 3]])
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    raise ImageError(f"{name} has {image.shape[2]} channels; gcp reads 1 to 4", field="image")


def _to_uint8(image: np.ndarray, name: str) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        eight_bit = np.empty(image.shape, np.uint8)
        for first in range(0, image.shape[0], _ROWS_PER_STEP):
            rows = image[first:first + _ROWS_PER_STEP].astype(np.uint32)
            rows += 128
            rows //= 257
            eight_bit[first:first + _ROWS_PER_STEP] = rows
        return eight_bit
    raise ImageError(f"{name} has {image.dtype} samples; gcp reads 8- and 16-bit images",
                     field="image")


def _checked_for_writing(image: np.ndarray) -> np.ndarray:
    """``image`` as uint8 (H, W, C), C = 1 to 4 (an (H, W) array is grey), or
    ``ParameterError``."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.dtype != np.uint8 or image.ndim != 3 or not 1 <= image.shape[2] <= 4:
        raise ParameterError(f"image is {image.dtype} {image.shape}; expected uint8 (H, W) "
                             "or (H, W, C) with C = 1 to 4", field="image")
    return image


def encode_image(image: np.ndarray, extension: str) -> bytes:
    """uint8 (H, W, C) RGB(A) to the bytes of an image file of type ``extension`` ('.png').

    Fitted to what the format holds: alpha is left out (with a warning) where OpenCV
    writes or reads none, grey is widened to RGB where only colour is written; colour to
    a grey-only format is an ``ImageError``; an array that is not uint8 (H, W) or (H, W, C)
    with C = 1 to 4 is a ``ParameterError``.
    """
    image = _checked_for_writing(image)
    image = _fit_to_format(image, extension)
    netpbm = _netpbm_bytes(image, extension)
    if netpbm is not None:
        return netpbm
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


# Binary Netpbm, as OpenCV writes it: the magic number for 1 or 3 channels, by extension.
_NETPBM_MAGIC = {(".ppm", 3): b"P6", (".pnm", 3): b"P6", (".pgm", 1): b"P5",
                 (".pnm", 1): b"P5"}
NETPBM_EXTENSIONS = frozenset(extension for extension, _ in _NETPBM_MAGIC)


def netpbm_header(extension: str, height: int, width: int, channels: int) -> bytes | None:
    """The header of a binary PPM or PGM of that size, where ``extension`` holds an image
    of ``channels`` as it is (3 for .ppm and .pnm, 1 for .pgm and .pnm); else None. The
    pixels, row by row, follow it: a caller may write them into one buffer after it."""
    magic = _NETPBM_MAGIC.get((extension, channels))
    if magic is None:
        return None
    return b"%s\n%d %d\n255\n" % (magic, width, height)


def _netpbm_bytes(image: np.ndarray, extension: str) -> bytes | None:
    """A binary PPM or PGM of uint8 (H, W, 1 or 3) RGB ``image``, byte for byte what
    OpenCV writes, or None for other formats.

    Written here since the samples are stored as they are: OpenCV's path (RGB to BGR, its
    encoder, then a copy out of its buffer) took 0.12 s of a 16.8-MP decode to PPM, this
    one copy 0.03 s.
    """
    header = netpbm_header(extension, *image.shape)
    if header is None:
        return None
    return b"".join((header, np.ascontiguousarray(image).data))


def _fit_to_format(image: np.ndarray, extension: str) -> np.ndarray:
    channels = image.shape[2]
    if channels >= 3 and extension in GREY_ONLY:  # refused before any warning on alpha
        raise ImageError(f"{extension} images are grey only and this one has colour; use "
                         ".ppm, .png or another colour format", field="extension")
    if channels in (2, 4) and extension in WITHOUT_ALPHA:
        logger.warning("%s images have no alpha channel: writing the colours without the "
                       "transparency", extension)
        image, channels = image[:, :, :channels - 1], channels - 1
    if channels == 1 and extension in COLOUR_ONLY:
        image = np.repeat(image, 3, axis=2)
    return image


# Written without OpenCV where the image allows (netpbm_header, palette_png), and by
# every OpenCV build: answered without importing it, which took 12-15 ms of a decode.
ALWAYS_WRITTEN = NETPBM_EXTENSIONS | {".png"}


def can_write(extension: str) -> bool:
    """True when OpenCV has a writer for files ending in ``extension`` and the format can
    hold a decoded image (``NOT_WRITTEN`` are refused)."""
    if extension in ALWAYS_WRITTEN:
        return True
    return extension not in NOT_WRITTEN and bool(_cv2().haveImageWriter("x" + extension))


@contextlib.contextmanager
def _native_stderr_caught(messages: list[str]) -> Iterator[None]:
    """Send what C code writes to file descriptor 2 meanwhile into ``messages``, a line each.

    libpng prints its warnings and errors there itself, which would break the one-line
    error. Python's own ``sys.stderr`` writes in other threads are caught too while this
    runs, so the window is kept to the one OpenCV call. Where descriptor 2 cannot be
    duplicated (it is closed, say), nothing is caught.
    """
    with _native_stderr_lock, tempfile.TemporaryFile() as capture:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):
            saved = None
        if saved is not None:
            os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            if saved is not None:
                os.dup2(saved, 2)
                os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", "replace")
            messages.extend(line.strip() for line in text.splitlines() if line.strip())


def _first_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
