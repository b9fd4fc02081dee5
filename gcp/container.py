"""The .gcp container: header, palette, body and CRC (spec/format.md, "File layout").

Bytes in, bytes out. Every check a decoder must make on the container is here, in the
order the spec gives, and each failure raises ``FormatError`` (or ``LimitError``) naming
the field. Nothing is allocated from a length field before that field is checked.

    offset  size  field           byte order / values
    0       8     signature       89 47 43 50 0D 0A 1A 0A
    8       1     version         1
    9       1     channels        1 (grey), 2 (grey+alpha), 3 (RGB), 4 (RGBA)
    10      1     method          0 = rle, 1 = lzma, 2 = cm
    11      1     flags           bit 0 = FLAG_EXACT, bit 1 = FLAG_CODED_PALETTE; bits 2-7 zero
    12      4     width           u32 LE, >= 1
    16      4     height          u32 LE, >= 1
    20      2     palette_size    u16 LE, 1..256
    22      8     tokens_length   u64 LE, length of the token stream (spec "Tokens"); 0 for cm
    30      8     body_length     u64 LE, length of the body as stored
    38            palette         palette_size * channels bytes; or, with FLAG_CODED_PALETTE,
                                  palette_code_length (u16 LE) and that many bytes of code
    38+P          body            body_length bytes
    end-4   4     crc             u32 LE, CRC-32 of every byte before it

With FLAG_COMPACT (flags bit 2; spec 2.10) the fields from offset 12 are varints instead:
width, height, palette_size - 1 (u8), tokens_length, body_length, and the palette starts
where body_length ends.
"""

from __future__ import annotations

import dataclasses
import numbers
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from . import palette_code, varint
from .errors import FormatError, LimitError, ParameterError
from .rle import max_run, token_size

SIGNATURE = b"\x89GCP\r\n\x1a\n"
VERSION = 1
HEADER_FORMAT = "<8sBBBBIIHQQ"
HEADER_SIZE = struct.calcsize(HEADER_FORMAT)  # 38
PALETTE_CODE_LENGTH_SIZE = 2                   # palette_code_length, u16, with a coded palette
CRC_SIZE = 4

# The compact form (spec 2.10): signature to flags as above, then varints.
COMPACT_PREFIX_SIZE = 12               # signature, version, channels, method, flags
DIMENSION_VARINT_BYTES = 5             # width, height: at most 2^32 - 1
LENGTH_VARINT_BYTES = 10               # tokens_length, body_length: at most 2^64 - 1
MAX_LENGTH_FIELD = (1 << 64) - 1
# The compact header's fields after the prefix, in order, and the most bytes of each.
COMPACT_FIELDS = (("width", DIMENSION_VARINT_BYTES), ("height", DIMENSION_VARINT_BYTES),
                  ("palette_size_minus_one", 1), ("tokens_length", LENGTH_VARINT_BYTES),
                  ("body_length", LENGTH_VARINT_BYTES))
MAX_COMPACT_HEADER_SIZE = COMPACT_PREFIX_SIZE + sum(most for _, most in COMPACT_FIELDS)  # 43
# Enough of any file to know its length: its header and a coded palette's length.
LEADING_SIZE = max(HEADER_SIZE, MAX_COMPACT_HEADER_SIZE) + PALETTE_CODE_LENGTH_SIZE  # 45

CHANNELS_ALLOWED = (1, 2, 3, 4)
MAX_PALETTE_SIZE = 256
MAX_DIMENSION = 0xFFFF_FFFF

METHOD_RLE = 0
METHOD_LZMA = 1
METHOD_CM = 2
METHOD_NAMES = {METHOD_RLE: "rle", METHOD_LZMA: "lzma", METHOD_CM: "cm"}
METHOD_IDS = {name: method for method, name in METHOD_NAMES.items()}

FLAG_EXACT = 0x01  # the palette holds every colour of the source: the file is lossless
FLAG_CODED_PALETTE = 0x02  # the palette is stored as palette_code (spec 2.7.1)
FLAG_COMPACT = 0x04  # the header's fields and method cm's framing are varints (spec 2.10)
FLAGS_KNOWN = FLAG_EXACT | FLAG_CODED_PALETTE | FLAG_COMPACT

# Pillow's MAX_IMAGE_PIXELS guards against decompression bombs the same way. 2**28 pixels
# is a 16384 x 16384 image: about 1 GiB as RGBA, the most a decoder may allocate by default.
DEFAULT_MAX_PIXELS = 1 << 28


@dataclass(frozen=True)
class Header:
    """The header of a .gcp file, one attribute per spec field: 38 bytes, or with
    FLAG_COMPACT ``header_length`` (17 to 43)."""

    version: int
    channels: int
    method: int
    flags: int
    width: int
    height: int
    palette_size: int
    tokens_length: int
    body_length: int
    palette_code_length: int = 0  # the palette's first 2 bytes with FLAG_CODED_PALETTE, else 0

    @property
    def pixel_count(self) -> int:
        return self.width * self.height

    @property
    def palette_length(self) -> int:
        """Bytes the palette takes (spec's P): palette_size * channels, or with a coded
        palette 2 + palette_code_length."""
        if self.coded_palette:
            return PALETTE_CODE_LENGTH_SIZE + self.palette_code_length
        return self.palette_size * self.channels

    @property
    def coded_palette(self) -> bool:
        return bool(self.flags & FLAG_CODED_PALETTE)

    @property
    def compact(self) -> bool:
        return bool(self.flags & FLAG_COMPACT)

    @property
    def header_length(self) -> int:
        """Bytes of the header, where the palette starts: 38, or the compact form's (its
        varints are canonical, so their lengths follow from the values)."""
        if not self.compact:
            return HEADER_SIZE
        return (COMPACT_PREFIX_SIZE + 1 + sum(len(varint.encode(value)) for value in (
            self.width, self.height, self.tokens_length, self.body_length)))

    @property
    def file_length(self) -> int:
        """Bytes the whole file must take, CRC included."""
        return self.header_length + self.palette_length + self.body_length + CRC_SIZE

    @property
    def method_name(self) -> str:
        return METHOD_NAMES[self.method]

    @property
    def exact(self) -> bool:
        return bool(self.flags & FLAG_EXACT)


def check_max_pixels(max_pixels: int) -> None:
    """A pixel limit is an int of at least 1: ``TypeError`` or ``ParameterError`` if not."""
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, numbers.Integral):
        raise TypeError(f"max_pixels must be an int, not {type(max_pixels).__name__}")
    if max_pixels < 1:
        raise ParameterError(f"max_pixels is {max_pixels}; it must be at least 1",
                             field="max_pixels")


def check_pixel_count(width: int, height: int, max_pixels: int) -> None:
    """Raise ``LimitError`` when width * height exceeds ``max_pixels``."""
    check_max_pixels(max_pixels)
    if width * height > max_pixels:  # Python ints: no overflow to guard against
        raise LimitError(
            f"image is {width}x{height} = {width * height} pixels, over the limit of "
            f"{max_pixels} (raise it with max_pixels / --max-pixels)",
            field="pixel_count",
        )


def token_stream_bounds(pixel_count: int, palette_size: int) -> tuple[int, int]:
    """The least and greatest valid tokens_length for an image (spec 2.8)."""
    size = token_size(palette_size)
    fewest_tokens = -(-pixel_count // max_run(palette_size))
    return size * fewest_tokens, size * pixel_count


def parse_header(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Header:
    """Parse and check the header at the start of ``data`` (spec "Header"): 38 bytes, or
    with FLAG_COMPACT its varints (2.10).

    Only the header's own rules are checked here; ``unpack`` adds the file length and CRC.
    """
    if len(data) == 0:
        raise FormatError("file is empty", field="length")
    prefix = bytes(data[: len(SIGNATURE)])
    if prefix != SIGNATURE[: len(prefix)]:
        raise FormatError(f"signature is {prefix.hex(' ')!r}, not a .gcp file", field="signature")
    compact = len(data) >= COMPACT_PREFIX_SIZE and bool(data[11] & FLAG_COMPACT)
    header_length = compact_header_end(data) if compact else HEADER_SIZE
    if header_length is None or len(data) < header_length:
        size = "compact header" if compact else f"{HEADER_SIZE}-byte header"
        raise FormatError(f"file is {len(data)} bytes, shorter than the {size}",
                          field="length")
    version, channels, method, flags = data[8:COMPACT_PREFIX_SIZE]
    if version != VERSION:
        raise FormatError(f"version is {version}; this decoder reads version {VERSION}",
                          field="version")
    if channels not in CHANNELS_ALLOWED:
        raise FormatError(f"channels is {channels}; allowed are 1, 2, 3 and 4", field="channels")
    if method not in METHOD_NAMES:
        raise FormatError(f"method is {method}; known methods are 0 (rle), 1 (lzma) and 2 "
                          "(cm)",
                          field="method")
    if flags & ~FLAGS_KNOWN:
        raise FormatError(f"flags is 0x{flags:02x}; only bits 0, 1 and 2 are defined",
                          field="flags")
    fields = _compact_fields(data) if compact else _fixed_fields(data)
    width, height, palette_size = next(fields), next(fields), next(fields)
    check_pixel_count(width, height, max_pixels)
    tokens_length = next(fields)
    if method == METHOD_CM:
        if tokens_length != 0:
            raise FormatError(f"tokens_length is {tokens_length}; method cm has no token "
                              "stream, so it must be 0", field="tokens_length")
    else:
        _check_tokens_length(tokens_length, width, height, palette_size)
    body_length = next(fields)
    if method == METHOD_RLE and body_length != tokens_length:
        raise FormatError(
            f"body_length is {body_length} but method rle stores the {tokens_length} token "
            "bytes as they are",
            field="body_length",
        )
    return _with_palette_code_length(
        data, Header(version, channels, method, flags, width, height, palette_size,
                     tokens_length, body_length))


def compact_header_end(data: bytes | memoryview) -> int | None:
    """Where a compact header ends (rule 3): each varint at its first byte below 0x80 or
    after its most bytes; None where ``data`` ends first."""
    at: int | None = COMPACT_PREFIX_SIZE
    for _, most_bytes in COMPACT_FIELDS:
        at = varint.end_of(data, at, most_bytes)
        if at is None:
            return None
    return at


def _fixed_fields(data: bytes | memoryview) -> Iterator[int]:
    """width, height, palette_size, tokens_length, body_length of a 38-byte header, each
    checked (rules 8, 9) as it is taken."""
    (width, height, palette_size, tokens_length,
     body_length) = struct.unpack_from(HEADER_FORMAT, data)[5:]
    yield _checked_dimension(width, "width")
    yield _checked_dimension(height, "height")
    yield _checked_palette_size(palette_size)
    yield tokens_length
    yield body_length


def _compact_fields(data: bytes | memoryview) -> Iterator[int]:
    """The same fields of a compact header (2.10), each varint read and checked (rules 8,
    9, 11, 12) as it is taken."""
    width, at = varint.read(data, COMPACT_PREFIX_SIZE, DIMENSION_VARINT_BYTES, MAX_DIMENSION,
                            "width", "width")
    yield _checked_dimension(width, "width")
    height, at = varint.read(data, at, DIMENSION_VARINT_BYTES, MAX_DIMENSION, "height",
                             "height")
    yield _checked_dimension(height, "height")
    yield _checked_palette_size(data[at] + 1)
    tokens_length, at = varint.read(data, at + 1, LENGTH_VARINT_BYTES, MAX_LENGTH_FIELD,
                                    "tokens_length", "tokens_length")
    yield tokens_length
    yield varint.read(data, at, LENGTH_VARINT_BYTES, MAX_LENGTH_FIELD, "body_length",
                      "body_length")[0]


def _checked_dimension(value: int, name: str) -> int:
    if value == 0:
        raise FormatError(f"{name} is 0; it must be at least 1", field=name)
    return value


def _checked_palette_size(palette_size: int) -> int:
    if not 1 <= palette_size <= MAX_PALETTE_SIZE:
        raise FormatError(f"palette_size is {palette_size}; allowed are 1 to {MAX_PALETTE_SIZE}",
                          field="palette_size")
    return palette_size


def _check_tokens_length(tokens_length: int, width: int, height: int, palette_size: int
                         ) -> None:
    """Rule 11 for methods rle and lzma: a multiple of the token size within 2.8's bounds."""
    least, greatest = token_stream_bounds(width * height, palette_size)
    size = token_size(palette_size)
    if not least <= tokens_length <= greatest or tokens_length % size:
        raise FormatError(
            f"tokens_length is {tokens_length}; a {width}x{height} image with "
            f"{palette_size} colours needs a multiple of {size} from {least} to {greatest}",
            field="tokens_length",
        )


def _with_palette_code_length(data: bytes, header: Header) -> Header:
    """``header`` with the palette_code_length of the palette's first 2 bytes where it is
    coded; a file too short to hold them breaks rule 13 (``length``)."""
    if not header.coded_palette:
        return header
    at = header.header_length
    if len(data) < at + PALETTE_CODE_LENGTH_SIZE:
        raise FormatError(f"file is {len(data)} bytes; with a coded palette (flags bit 1) "
                          f"its length is known from its first {at + PALETTE_CODE_LENGTH_SIZE}",
                          field="length")
    length = int.from_bytes(data[at:at + PALETTE_CODE_LENGTH_SIZE], "little")
    return dataclasses.replace(header, palette_code_length=length)


def byte_view(data: bytes | bytearray | memoryview, what: str = "a .gcp file") -> memoryview:
    """``data`` as a flat memoryview of unsigned bytes, without a copy where it can.

    Anything with the buffer protocol is read as its raw bytes (bytes, bytearray,
    memoryview, array.array, a numpy array); anything else (str, None) is a ``TypeError``
    that says ``what`` should have been bytes.
    """
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError(f"{what} is bytes (bytes, bytearray or memoryview), not "
                        f"{type(data).__name__}") from None
    if not view.c_contiguous:
        view = memoryview(view.tobytes())
    return view.cast("B")


def byte_string(data: bytes | bytearray | memoryview, what: str) -> bytes | bytearray:
    """``data`` as bytes: bytes and bytearray as they are, any other bytes-like object
    copied once; ``byte_view``'s ``TypeError`` for anything else."""
    if isinstance(data, (bytes, bytearray)):
        return data
    return byte_view(data, what).tobytes()


def unpack(data: bytes | bytearray | memoryview, *, max_pixels: int = DEFAULT_MAX_PIXELS
           ) -> tuple[Header, np.ndarray, memoryview]:
    """Check a whole .gcp file and split it into its parts (spec "Decoder rules" 1-14,
    and 29 on a coded palette).

    Returns ``(header, palette, body)``: ``palette`` is a read-only uint8 array of shape
    (palette_size, channels), ``body`` a memoryview of body_length bytes.
    """
    view = byte_view(data)
    check_max_pixels(max_pixels)
    header = parse_header(view, max_pixels=max_pixels)
    if len(view) != header.file_length:
        relation = "short of" if len(view) < header.file_length else "over"
        raise FormatError(
            f"file is {len(view)} bytes, {relation} the {header.file_length} its header "
            "declares",
            field="length",
        )
    stored_crc = int.from_bytes(view[-CRC_SIZE:], "little")
    actual_crc = zlib.crc32(view[:-CRC_SIZE])
    if stored_crc != actual_crc:
        raise FormatError(
            f"crc is 0x{stored_crc:08x} but the bytes before it give 0x{actual_crc:08x}",
            field="crc",
        )
    palette_end = header.header_length + header.palette_length
    palette = read_palette(header, view[header.header_length:palette_end])
    return header, palette, view[palette_end:palette_end + header.body_length]


def read_palette(header: Header, stored: bytes | memoryview) -> np.ndarray:
    """Read-only uint8 (palette_size, channels) from the palette's P bytes as stored
    (``header.palette_length`` of them), decoding a coded palette (rule 29)."""
    if header.coded_palette:
        return palette_code.decode(stored[PALETTE_CODE_LENGTH_SIZE:], header.palette_size,
                                   header.channels)
    palette = np.frombuffer(stored, np.uint8)
    return palette.reshape(header.palette_size, header.channels)


def stored_palette(palette: np.ndarray, coded: bool) -> bytes:
    """The palette's P bytes in a file: uint8 (palette_size, channels) ``palette`` as
    is, or when ``coded`` as palette_code_length and palette_code (spec 2.7.1)."""
    if not coded:
        return np.ascontiguousarray(palette, np.uint8).tobytes()
    code = palette_code.encode(palette)
    return len(code).to_bytes(PALETTE_CODE_LENGTH_SIZE, "little") + code


def palette_flags(flags: int, palette: np.ndarray) -> int:
    """``flags`` with FLAG_CODED_PALETTE set where the coded palette is shorter than the
    palette as is (the reference encoder's choice), clear otherwise."""
    coded = len(stored_palette(palette, True)) < palette.size
    return flags | FLAG_CODED_PALETTE if coded else flags & ~FLAG_CODED_PALETTE


def pack(header: Header, palette: np.ndarray, body: bytes) -> bytes:
    """Assemble a .gcp file from its parts; the inverse of ``unpack``.

    ``palette`` is uint8 of shape (palette_size, channels), stored coded where
    ``header.flags`` has FLAG_CODED_PALETTE (its palette_code_length is then ignored: the
    code's own length is written); ``body`` holds body_length bytes.
    """
    parts = [header_bytes(header), stored_palette(palette, header.coded_palette), body]
    crc = 0
    for part in parts:
        crc = zlib.crc32(part, crc)
    return b"".join([*parts, crc.to_bytes(CRC_SIZE, "little")])


def header_bytes(header: Header) -> bytes:
    """The header's bytes: 38 of them, or with FLAG_COMPACT the compact form (2.10)."""
    if not header.compact:
        return struct.pack(
            HEADER_FORMAT, SIGNATURE, header.version, header.channels, header.method,
            header.flags, header.width, header.height, header.palette_size,
            header.tokens_length, header.body_length)
    return b"".join([
        SIGNATURE, bytes([header.version, header.channels, header.method, header.flags]),
        varint.encode(header.width), varint.encode(header.height),
        bytes([header.palette_size - 1]), varint.encode(header.tokens_length),
        varint.encode(header.body_length)])
