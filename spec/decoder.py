"""A .gcp decoder written from format.md alone, on Python's standard library: no gcp, no numpy.

It is there to show that the spec is enough to read the format, and to check the
reference implementation from outside: tests/test_spec_decoder.py runs it on every vector
of vectors/manifest.json (a valid one must give the manifest's pixels, an invalid one be
refused naming the manifest's field) and on files gcp encodes. It is written for reading,
not speed: one token (or one binary decision) at a time, the section of format.md beside
each step. Method cm in pure Python takes about 20 microseconds a pixel.

    python spec/decoder.py FILE.gcp       # the header, and the SHA-256 of the pixels
"""

from __future__ import annotations

import hashlib
import lzma
import struct
import sys
import zlib

# Section 10.
SIGNATURE = b"\x89GCP\r\n\x1a\n"
HEADER_SIZE = 38
COMPACT_PREFIX_SIZE = 12
CRC_SIZE = 4
FLAG_CODED_PALETTE = 0x02
FLAG_COMPACT = 0x04
PALETTE_RICE_START = 16
PALETTE_ESCAPE = 15
PALETTE_ESCAPE_BITS = 8
MAX_PALETTE_SIZE = 256
SHORT_TOKEN_PALETTE_LIMIT = 16
MAX_SHORT_RUN = 16
MAX_LONG_RUN = 256
DEFAULT_MAX_PIXELS = 1 << 28
LZMA_CHUNK_LENGTH = 1 << 19
MIN_LZMA_DICTIONARY_SIZE = 1 << 12
MAX_LZMA_DICTIONARY_SIZE = 1 << 20
MAX_LZMA_LC_PLUS_LP = 4
LZMA_HEADER_SIZE = 13  # properties, dictionary_size, uncompressed_size (5.2)
UNKNOWN_SIZE = 0xFFFF_FFFF_FFFF_FFFF
# Section 5.3 (method cm).
HASH_BITS = 18
HASH_START = 0x9E3779B1
HASH_MULTIPLIER = 0x2545F491
MATCH_COUNT_LIMIT = 3
ROW_MATCH_WIDTH = 5
ROW_MATCH_STEP = 8
ROW_MATCH_BITS = 16
MAX_STRIPE_PIXELS = (1 << 32) - 2
MAX_CHANNEL_WEIGHT = 64
COUNT_LIMIT = 60
DIRECT_CONTEXTS = 8 * 9 * 64
NO_END = 256  # E of a span that reaches its row's end (5.3.4)
RANK_CONTEXTS = 1024
# STRIPE_CODED_WIDE's match key (5.3.3): (dx, dy) pairs, dy rows up.
WIDE_TEMPLATE = ([(dx, 0) for dx in range(-1, -7, -1)]
                 + [(dx, dy) for dy, reach in ((1, 5), (2, 4), (3, 3), (4, 2))
                    for dx in range(-reach, reach + 1)])
SQUASH_KNOTS = (1, 2, 4, 6, 10, 17, 27, 45, 74, 120, 194, 311, 488, 747, 1102, 1546, 2048,
                2550, 2994, 3349, 3608, 3785, 3902, 3976, 4022, 4051, 4069, 4079, 4086, 4090,
                4092, 4094, 4095)


class InvalidFile(ValueError):
    """The file breaks a decoder rule of section 6; ``field`` is the rule's field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def decode(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int, int, bytes]:
    """(width, height, channels, pixels): the pixels row by row, ``channels`` bytes each
    (section 3). Raises ``InvalidFile`` for a file that breaks a rule of section 6."""
    header = read_header(data, max_pixels)  # rules 1 to 14
    width, height, channels, method, palette_size, tokens_length, body_length, h, p = header
    palette_end = h + p
    if not data[11] & FLAG_CODED_PALETTE:  # flags
        palette = data[h:palette_end]
    else:  # rule 29
        palette = decode_palette(data[h + 2:palette_end], palette_size, channels)
    body = data[palette_end:palette_end + body_length]
    if method == 2:  # rules 20, 22 to 28
        compact = bool(data[11] & FLAG_COMPACT)
        indices = decode_cm(body, width, height, palette, palette_size, channels, compact)
        return width, height, channels, b"".join(
            palette[i * channels:(i + 1) * channels] for i in indices)
    tokens = body if method == 0 else decompress_chunks(body, tokens_length)  # rules 15-19
    return width, height, channels, expand(tokens, palette, palette_size, channels,
                                           width * height)  # rules 20, 21


def read_header(data: bytes, max_pixels: int) -> tuple[int, ...]:
    """Rules 1 to 14 (sections 2 and 6), in the order of section 6, in either form (2.10).
    Returns the fields, H (the header's length) and P (the palette's)."""
    if not data:
        raise InvalidFile("length", "the file is empty")
    if not SIGNATURE.startswith(data[:len(SIGNATURE)]):
        raise InvalidFile("signature", "not a .gcp file")
    compact = len(data) >= COMPACT_PREFIX_SIZE and data[11] & FLAG_COMPACT
    h = compact_header_end(data) if compact else HEADER_SIZE
    if len(data) < COMPACT_PREFIX_SIZE or h is None or len(data) < h:
        raise InvalidFile("length", f"{len(data)} bytes, shorter than the header")
    version, channels, method, flags = data[8:12]
    if version != 1:
        raise InvalidFile("version", f"version {version}")
    if channels not in (1, 2, 3, 4):
        raise InvalidFile("channels", f"{channels} channels")
    if method not in (0, 1, 2):
        raise InvalidFile("method", f"method {method}")
    if flags & 0xF8:
        raise InvalidFile("flags", f"reserved bits set in {flags:#04x}")
    if compact:  # rule 8: width's varint and value, then height's
        width, at = read_varint(data, 12, 5, 2**32 - 1, "width")
        if width == 0:
            raise InvalidFile("width", "width 0")
        height, at = read_varint(data, at, 5, 2**32 - 1, "height")
        palette_size = data[at] + 1
        at += 1
    else:
        width, height, palette_size, tokens_length, body_length = struct.unpack(
            "<IIHQQ", data[12:HEADER_SIZE])
    if width == 0 or height == 0:
        raise InvalidFile("width" if width == 0 else "height", f"{width} x {height} pixels")
    if not 1 <= palette_size <= MAX_PALETTE_SIZE:
        raise InvalidFile("palette_size", f"{palette_size} colours")
    pixel_count = width * height  # Python integers: no overflow (section 1)
    if pixel_count > max_pixels:
        raise InvalidFile("pixel_count", f"{pixel_count} pixels, over {max_pixels}")
    if compact:
        tokens_length, at = read_varint(data, at, 10, 2**64 - 1, "tokens_length")
    if method == 2:
        if tokens_length != 0:
            raise InvalidFile("tokens_length", "method cm has no tokens: it must be 0")
    else:
        token_size, max_run = token_form(palette_size)
        fewest = token_size * -(-pixel_count // max_run)
        if tokens_length % token_size or \
                not fewest <= tokens_length <= token_size * pixel_count:
            raise InvalidFile("tokens_length", f"{tokens_length} bytes of tokens")
    if compact:
        body_length, at = read_varint(data, at, 10, 2**64 - 1, "body_length")
    if method == 0 and body_length != tokens_length:
        raise InvalidFile("body_length", "method rle stores the tokens as they are")
    # Rule 13 by subtraction, as a decoder in 64-bit integers must do it.
    p = palette_size * channels
    if flags & FLAG_CODED_PALETTE:
        if len(data) < h + 2:
            raise InvalidFile("length", f"{len(data)} bytes: no palette_code_length")
        p = 2 + struct.unpack("<H", data[h:h + 2])[0]
    fixed = h + p + CRC_SIZE
    if len(data) < fixed or body_length != len(data) - fixed:
        raise InvalidFile("length", f"{len(data)} bytes, not the {fixed} + {body_length} "
                                    "the header says")
    stored_crc = struct.unpack("<I", data[-CRC_SIZE:])[0]
    if zlib.crc32(data[:-CRC_SIZE]) != stored_crc:
        raise InvalidFile("crc", "the CRC does not match")
    return width, height, channels, method, palette_size, tokens_length, body_length, h, p


def varint_end(data: bytes, at: int, most: int) -> int | None:
    """Section 2.10: where the varint at ``at`` ends (after a byte below 0x80, or after
    ``most`` bytes), or None where ``data`` ends first."""
    for end in range(at, at + most):
        if end >= len(data):
            return None
        if data[end] < 0x80:
            return end + 1
    return at + most


def compact_header_end(data: bytes) -> int | None:
    """Rule 3 in the compact form: where the last of the header's varints ends."""
    at: int | None = COMPACT_PREFIX_SIZE
    for most in (5, 5, 1, 10, 10):  # width, height, palette_size_minus_one (a byte), ...
        at = varint_end(data, at, most)
        if at is None:
            return None
    return at


def read_varint(data: bytes, at: int, most: int, largest: int, field: str
                ) -> tuple[int, int]:
    """Section 2.10: (value, end) of a valid varint at ``at``; else ``field`` is invalid."""
    end = varint_end(data, at, most)
    if end is None:
        raise InvalidFile(field, "the varint runs past the end")
    if data[end - 1] >= 0x80:
        raise InvalidFile(field, f"a varint of more than {most} bytes")
    if end - at > 1 and data[end - 1] == 0:
        raise InvalidFile(field, "a varint not in its shortest form")
    value = sum((byte & 0x7F) << (7 * i) for i, byte in enumerate(data[at:end]))
    if value > largest:
        raise InvalidFile(field, f"{value}, over {largest}")
    return value, end


def decode_palette(code: bytes, palette_size: int, channels: int) -> bytes:
    """Section 2.7.1: the palette's bytes from ``palette_code``; rule 29."""
    position = 0  # bits read

    def read_bit() -> int:
        nonlocal position
        if position >= 8 * len(code):
            raise InvalidFile("palette_code", "the code reads past its end")
        bit = code[position // 8] >> (7 - position % 8) & 1
        position += 1
        return bit

    def read_bits(count: int) -> int:
        value = 0
        for _ in range(count):
            value = value * 2 + read_bit()
        return value

    second_order = [read_bit() for _ in range(channels)]
    previous = [0] * channels
    step = [0] * channels
    m = [PALETTE_RICE_START] * channels
    palette = bytearray()
    for i in range(palette_size):
        for c in range(channels):
            k = max(0, (m[c] >> 2).bit_length() - 1)
            q = 0
            while q < PALETTE_ESCAPE and read_bit() == 1:
                q += 1
            if q == PALETTE_ESCAPE:
                z = read_bits(PALETTE_ESCAPE_BITS)
            else:
                z = (q << k) | read_bits(k)
                if z > 255:
                    raise InvalidFile("palette_code", f"a value of {z}")
            m[c] = m[c] - (m[c] >> 2) + z
            s = z >> 1 if z % 2 == 0 else -((z + 1) >> 1)
            value = (previous[c] + step[c] + s) % 256
            if second_order[c] and i >= 1:
                step[c] = (value - previous[c]) % 256
            previous[c] = value
            palette.append(value)
    if len(code) > -(-position // 8):
        raise InvalidFile("palette_code", "a whole byte after the code is unread")
    if position % 8 and read_bits(8 - position % 8):
        raise InvalidFile("palette_code", "a padding bit is not 0")
    return bytes(palette)


def token_form(palette_size: int) -> tuple[int, int]:
    """(bytes per token, most pixels per token): short or long tokens (section 4)."""
    if palette_size <= SHORT_TOKEN_PALETTE_LIMIT:
        return 1, MAX_SHORT_RUN
    return 2, MAX_LONG_RUN


def decompress_chunks(body: bytes, tokens_length: int) -> bytes:
    """Method lzma (section 5.2): every chunk checked, then decompressed; rules 15-19."""
    chunk_count = -(-tokens_length // LZMA_CHUNK_LENGTH)
    tokens = bytearray()
    position = 0
    for chunk in range(chunk_count):
        chunk_length = min(LZMA_CHUNK_LENGTH, tokens_length - chunk * LZMA_CHUNK_LENGTH)
        if position + 4 > len(body):
            raise InvalidFile("lzma_chunk_length", f"the body ends before chunk {chunk}")
        compressed_length = struct.unpack("<I", body[position:position + 4])[0]
        start, end = position + 4, position + 4 + compressed_length
        if compressed_length < LZMA_HEADER_SIZE or end > len(body):
            raise InvalidFile("lzma_chunk_length", f"chunk {chunk}: {compressed_length} bytes")
        check_lzma_header(body[start:start + LZMA_HEADER_SIZE], chunk_length)
        tokens += decompress_chunk(body[start:end], chunk_length)
        position = end
    if position != len(body):
        raise InvalidFile("lzma_chunk_length", "bytes follow the last chunk")
    return bytes(tokens)


def check_lzma_header(header: bytes, chunk_length: int) -> None:
    """Rules 16 to 18, before any LZMA decoder gets memory."""
    properties, dictionary_size, uncompressed_size = struct.unpack("<BIQ", header)
    if properties >= 225:
        raise InvalidFile("lzma_properties", f"properties byte {properties}")
    lc, lp = properties % 9, properties // 9 % 5
    if lc + lp > MAX_LZMA_LC_PLUS_LP:
        raise InvalidFile("lzma_properties", f"lc {lc} + lp {lp}")
    if not MIN_LZMA_DICTIONARY_SIZE <= dictionary_size <= MAX_LZMA_DICTIONARY_SIZE \
            or dictionary_size % 16:
        raise InvalidFile("lzma_dictionary_size", f"{dictionary_size} bytes")
    if uncompressed_size != UNKNOWN_SIZE:
        raise InvalidFile("lzma_uncompressed_size", f"{uncompressed_size} bytes")


def decompress_chunk(stream: bytes, chunk_length: int) -> bytes:
    """One .lzma stream to exactly ``chunk_length`` bytes; rule 19. Never more than
    ``chunk_length + 1`` bytes are produced, whatever the stream holds."""
    decompressor = lzma.LZMADecompressor(format=lzma.FORMAT_ALONE)
    try:
        out = decompressor.decompress(stream, max_length=chunk_length + 1)
        while not decompressor.eof and not decompressor.needs_input \
                and len(out) <= chunk_length:
            out += decompressor.decompress(b"", max_length=chunk_length + 1 - len(out))
    except lzma.LZMAError as error:
        raise InvalidFile("lzma_data", f"corrupt LZMA data ({error})") from None
    if len(out) != chunk_length:
        raise InvalidFile("lzma_data", f"{len(out)} bytes where the chunk has {chunk_length}")
    if not decompressor.eof:
        raise InvalidFile("lzma_data", "the LZMA data ends early")
    if decompressor.unused_data:
        raise InvalidFile("lzma_data", "bytes follow the end of the LZMA data")
    return out


def expand(tokens: bytes, palette: bytes, palette_size: int, channels: int,
           pixel_count: int) -> bytes:
    """Tokens to pixels (sections 3, 4 and 9): every index checked (rule 20) before the
    runs are added up (rule 21); nothing is written past ``pixel_count`` pixels."""
    token_size, _ = token_form(palette_size)
    pairs = [split_token(tokens[i:i + token_size]) for i in range(0, len(tokens), token_size)]
    for index, _ in pairs:
        if index >= palette_size:
            raise InvalidFile("index", f"index {index} of a {palette_size}-colour palette")
    pixels = bytearray()
    covered = 0
    for index, run in pairs:
        covered += run
        if covered > pixel_count:
            raise InvalidFile("runs", f"the tokens cover more than {pixel_count} pixels")
        pixels += palette[index * channels:(index + 1) * channels] * run
    if covered != pixel_count:
        raise InvalidFile("runs", f"the tokens cover {covered} of {pixel_count} pixels")
    return bytes(pixels)


def split_token(token: bytes) -> tuple[int, int]:
    """(index, pixels covered) of a short (one byte) or long (two bytes) token."""
    if len(token) == 1:
        return token[0] >> 4, (token[0] & 0x0F) + 1
    return token[0], token[1] + 1


# --- Method cm (section 5.3) --------------------------------------------------------------

def decode_cm(body: bytes, width: int, height: int, palette: bytes, palette_size: int,
              channels: int, compact: bool = False) -> list[int]:
    """Every pixel's index, row by row: the stripes' layout checked first (rules 22 to 26),
    then each stripe decoded (rules 20, 27, 28). A body that starts with a stripe_height of
    0 holds the image of blocks (5.3.1), whose indices are then spread over their blocks.
    ``compact``: the file is in the compact form (2.10)."""
    marker = 1 if compact else 4  # BLOCK_MARKER: the varint 0, or a u32 0
    if len(body) >= marker and body[:marker] == bytes(marker):
        if len(body) < marker + 2:
            raise InvalidFile("cm_stripes", "stripe_height 0 and no block sides")
        block_width, block_height = body[marker], body[marker + 1]
        if block_width == 0 or block_height == 0 or block_width * block_height == 1:
            raise InvalidFile("cm_stripes", f"blocks of {block_width} x {block_height}")
        columns, rows = -(-width // block_width), -(-height // block_height)
        inner = body[marker + 2:]
        if len(inner) >= marker and inner[:marker] == bytes(marker):
            raise InvalidFile("cm_stripes", "stripe_height 0 within blocks")
        blocks = decode_cm(inner, columns, rows, palette, palette_size, channels, compact)
        return [blocks[(y // block_height) * columns + x // block_width]
                for y in range(height) for x in range(width)]
    stripe_height, weights, stripes = read_stripes(body, width, height, channels,
                                                   palette_size, compact)
    colours = [tuple(palette[i * channels:(i + 1) * channels]) for i in range(palette_size)]
    order = [sorted(range(palette_size),
                    key=lambda b, a=a: (distance(colours[a], colours[b], weights), b))
             for a in range(palette_size)]
    tables = (colours, weights, order, stretch_table())
    indices: list[int] = []
    for number, stripe in enumerate(stripes):
        rows = min(stripe_height, height - number * stripe_height)
        mode, table_shrink = stripe[0] & 15, stripe[0] >> 4  # stripe_mode, table_shrink
        if mode in (1, 3):  # STRIPE_STORED, STRIPE_PACKED
            bits = 8 if mode == 1 else index_bits(palette_size)
            values = list(stripe[1:]) if bits == 8 else unpack_indices(stripe[1:],
                                                                      rows * width, bits)
            if any(v >= palette_size for v in values):
                raise InvalidFile("index", f"uncoded stripe {number} has an index past the "
                                           "palette")
            indices += values
        elif mode == 6:  # STRIPE_CODED_UU: uu_rows, uu_shift, then coded data
            uu_offset = (stripe[1], stripe[2] - 256 if stripe[2] >= 128 else stripe[2])
            indices += decode_stripe(stripe[3:], width, rows, tables, 6, table_shrink,
                                     uu_offset)
        else:  # STRIPE_CODED (0), STRIPE_RANKS (2), the smooth modes (4, 5), WIDE (7)
            indices += decode_stripe(stripe[1:], width, rows, tables, mode, table_shrink)
    return indices


def index_bits(palette_size: int) -> int:
    """A STRIPE_PACKED index's bits (5.3.1)."""
    return (palette_size - 1).bit_length()


def unpack_indices(data: bytes, count: int, bits: int) -> list[int]:
    """``count`` indices of ``bits`` each, most significant bit first (5.3.1)."""
    values = []
    for i in range(count):
        value = 0
        for position in range(i * bits, (i + 1) * bits):
            value = value * 2 + (data[position // 8] >> (7 - position % 8) & 1)
        values.append(value)
    return values


def read_stripes(body: bytes, width: int, height: int, channels: int, palette_size: int,
                 compact: bool = False) -> tuple[int, tuple[int, ...], list[bytes]]:
    """Section 5.3.1: stripe_height, the channel weights and each stripe's bytes; rules 22
    to 26. In the compact form (2.10) stripe_height and the lengths are varints, and the
    last stripe has no length."""
    if compact:
        stripe_height, weights_at = read_varint(body, 0, 5, 2**32 - 1, "cm_stripes")
    else:
        stripe_height, weights_at = (struct.unpack("<I", body[:4])[0] if len(body) >= 4
                                     else None), 4
    lengths_at = weights_at + channels
    if len(body) < lengths_at:
        raise InvalidFile("cm_stripes", "the body is shorter than stripe_height and the "
                                        "channel weights")
    if not 1 <= stripe_height <= height:
        raise InvalidFile("cm_stripes", f"stripe_height {stripe_height}")
    if stripe_height * width > MAX_STRIPE_PIXELS:
        raise InvalidFile("cm_stripes", f"stripes of {stripe_height} x {width} pixels")
    weights = tuple(body[weights_at:lengths_at])
    if not all(1 <= w <= MAX_CHANNEL_WEIGHT for w in weights):
        raise InvalidFile("cm_stripes", f"channel weights {list(weights)}")
    count = -(-height // stripe_height)
    if compact:  # count - 1 varints; the last stripe takes what is left
        lengths, position = [], lengths_at
        for _ in range(count - 1):
            length, position = read_varint(body, position, 10, 2**64 - 1, "cm_stripes")
            lengths.append(length)
        lengths.append(len(body) - position - sum(lengths))
    else:
        position = lengths_at + 8 * count
        if position > len(body):
            raise InvalidFile("cm_stripes", f"no room for {count} stripe lengths")
        lengths = [struct.unpack("<Q", body[at:at + 8])[0]
                   for at in range(lengths_at, position, 8)]
    stripes = []
    for number, length in enumerate(lengths):
        if length <= 0 or length > len(body) - position:
            raise InvalidFile("cm_stripes", f"stripe {number} is {length} bytes")
        stripe = body[position:position + length]
        mode, table_shrink = stripe[0] & 15, stripe[0] >> 4
        if mode not in (0, 1, 2, 3, 4, 5, 6, 7):
            raise InvalidFile("cm_stripes", f"stripe {number} has mode {mode}")
        if table_shrink > 6 or (table_shrink and mode in (1, 3)):
            raise InvalidFile("cm_stripes", f"stripe {number} has table_shrink {table_shrink}")
        if mode == 6 and (length < 3 or stripe[1] == 0):
            raise InvalidFile("cm_stripes", f"STRIPE_CODED_UU stripe {number}: no uu_rows "
                                            "and uu_shift, or uu_rows 0")
        rows = min(stripe_height, height - number * stripe_height)
        if stripe[0] == 1 and length != 1 + rows * width:
            raise InvalidFile("cm_stripes", f"stored stripe {number} is {length} bytes")
        if stripe[0] == 3:
            bits = rows * width * index_bits(palette_size)
            if length != 1 + -(-bits // 8):
                raise InvalidFile("cm_stripes", f"packed stripe {number} is {length} bytes")
            if bits % 8 and stripe[-1] & ((1 << (8 - bits % 8)) - 1):
                raise InvalidFile("cm_stripes", f"packed stripe {number}'s padding is not 0")
        stripes.append(stripe)
        position += length
    if position != len(body):
        raise InvalidFile("cm_stripes", "bytes follow the last stripe")
    return stripe_height, weights, stripes


def distance(a: tuple[int, ...], b: tuple[int, ...], weights: tuple[int, ...]) -> int:
    """d(a, b) of 5.3.5: the channels' squared differences, each times its weight."""
    return sum(w * (x - y) ** 2 for x, y, w in zip(a, b, weights, strict=True))


def squash(d: int) -> int:
    """Section 5.3.6."""
    d = min(max(d, -2047), 2047)
    t = d + 2048
    i, w = t >> 7, t & 127
    return (SQUASH_KNOTS[i] * (128 - w) + SQUASH_KNOTS[i + 1] * w + 64) >> 7


def stretch_table() -> list[int]:
    """STRETCH[p]: the least d in -2047..2047 with squash(d) >= p, else 2047 (5.3.6).
    squash never decreases, so one walk up the d axis finds every p's d."""
    table, d = [], -2047
    for p in range(4096):
        while d < 2047 and squash(d) < p:
            d += 1
        table.append(d)
    return table


def table_index(*values: int, bits: int = HASH_BITS) -> int:
    """hash(v0, v1, ...) of 5.3.2, kept to ``bits`` bits (hash12 of 5.3.4, hash16 of
    5.3.3 with 12 and 16)."""
    h = HASH_START
    for v in values:
        h = ((h ^ v) * HASH_MULTIPLIER) % (1 << 32)
    return h >> (32 - bits)


class BitDecoder:
    """The binary arithmetic decoder of 5.3.7."""

    def __init__(self, data: bytes) -> None:
        self.data, self.read = data, 0
        self.low, self.high, self.x = 0, 0xFFFF_FFFF, 0
        for _ in range(4):
            self.x = (self.x << 8) | self.next_byte()

    def next_byte(self) -> int:
        byte = self.data[self.read] if self.read < len(self.data) else 0
        self.read += 1
        return byte

    def bit(self, probability: int) -> int:
        mid = self.low + ((self.high - self.low) >> 12) * probability
        if self.x <= mid:
            self.high, result = mid, 1
        else:
            self.low, result = mid + 1, 0
        while (self.low ^ self.high) & 0xFF00_0000 == 0:
            self.low = (self.low << 8) % (1 << 32)
            self.high = ((self.high << 8) % (1 << 32)) | 0xFF
            self.x = ((self.x << 8) % (1 << 32)) | self.next_byte()
        return result


class Counters:
    """A table of counters (p, n), 5.3.4."""

    def __init__(self, size: int) -> None:
        self.p = [32768] * size
        self.n = [0] * size

    def learn(self, at: int, bit: int) -> None:
        p, n = self.p[at], self.n[at]
        r = 65536 // (n + 2)
        self.p[at] = p + (((65536 - p) * r) >> 16) if bit else p - ((p * r) >> 16)
        self.n[at] = min(n + 1, COUNT_LIMIT)


class Mixer:
    """Weight sets of a mixer (5.3.4): predict from counters, then learn the bit."""

    def __init__(self, sets: int, start: list[int]) -> None:
        self.weights = [list(start) for _ in range(sets)]

    def bit(self, coder: BitDecoder, weight_set: int, counters: list[tuple], stretch,
            cells: list[int] | None = None) -> int:
        """``counters``: (Counters, context) pairs; their inputs, then the bias's.
        ``cells``: a rank bit's row of the probability map (5.3.5)."""
        inputs = [stretch[table.p[at] >> 4] for table, at in counters] + [256]
        w = self.weights[weight_set]
        dot = sum(wi * xi for wi, xi in zip(w, inputs, strict=True))
        probability = min(max(squash(dot >> 16), 1), 4095)
        if cells is None:
            bit = coder.bit(probability)
        else:
            t = stretch[probability] + 2048
            low, weight = t >> 7, t & 127
            mapped = (cells[low] * (128 - weight) + cells[low + 1] * weight) >> 11
            bit = coder.bit(min(max((probability + mapped) >> 1, 1), 4095))
            nearer = low if weight < 64 else low + 1
            cells[nearer] += ((bit << 16) - cells[nearer]) >> 6
        error = ((bit << 12) - probability) * 6
        for i, x in enumerate(inputs):
            w[i] = min(max(w[i] + ((x * error) >> 14), -(1 << 20)), 1 << 20)
        for table, at in counters:
            table.learn(at, bit)
        return bit


def decode_stripe(data: bytes, width: int, rows: int, tables, mode: int,
                  table_shrink: int = 0, uu_offset: tuple[int, int] = (2, 0)) -> list[int]:
    """One coded stripe (5.3.2 to 5.3.7): its rows x width indices. In STRIPE_RANKS and
    STRIPE_RANKS_SMOOTH (modes 2 and 5) a pixel that is not flat has no candidates; in
    the smooth modes (4 and 5) the smooth prediction takes the blend's place; in
    STRIPE_CODED_WIDE (7) the match looks up WIDE_TEMPLATE's pixels first. UU is the
    pixel ``uu_offset`` = (uu_rows, uu_shift) away: (2, 0) but in STRIPE_CODED_UU. Models
    1 to 3 and the match read the low HASH_BITS - ``table_shrink`` bits of an index."""
    uu_rows, uu_shift = uu_offset
    mask = (1 << (HASH_BITS - table_shrink)) - 1
    ranks_only, smooth = mode in (2, 5), mode in (4, 5)
    colours, weights, order, stretch = tables
    size = len(colours)
    coder = BitDecoder(data)
    models = [Counters(DIRECT_CONTEXTS)] + [Counters(1 << HASH_BITS) for _ in range(3)] \
        + [Counters(8 * 16 * 64)]
    mixer = Mixer(72, [16384, 16384, 16384, 16384, 16384, 0])
    flat_models = [models[0], Counters(9 * 256), Counters(1 << 12)]
    flat_mixer = Mixer(9, [21845] * 3 + [0])
    positions: dict[int, int] = {}  # the match table (5.3.3): key -> position; absent = empty
    pointer = length = 0  # the match: the pixel it predicts from, and its length
    row_positions: dict[int, int] = {}  # the row match's table, likewise
    row_pointer = row_length = 0  # the row match
    # The rank bits' probability map (5.3.5): a row of 33 cells per rank counter.
    rank_map = [[knot * 16 for knot in SQUASH_KNOTS] for _ in range(RANK_CONTEXTS)]
    ranks = (Counters(RANK_CONTEXTS), models[1], models[3], Counters(72 * 729), models[2],
             Mixer(72, [21845] * 5 + [0]), rank_map)
    channels = len(colours[0])
    # Per bias context and channel: [B, N, C, E_med, E_average, E_extrapolated, E_gradient].
    bias = [[[0, 1, 0, 0, 0, 0, 0] for _ in range(channels)] for _ in range(9 ** 3)]
    ranked = 0  # pixels decoded by their rank so far
    # Spans (5.3.4): the first bit's three counters and mixer, the pixels' counters.
    span_models = [Counters(16 * 3 * 4), Counters(16 * 256), Counters(1 << 12)]
    span_mixer = Mixer(16, [21845] * 3 + [0])
    span_pixels = Counters(768)
    # Row repeats (5.3.2): in STRIPE_CODED_UU with uu_shift 0, a bit a row from uu_rows on,
    # where there is more than one colour (with one, no bit at all: 5.3.4).
    row_repeats, repeated = (mode == 6 and uu_shift == 0 and len(colours) > 1), 0
    repeat_counters = Counters(2)
    image = [[0] * width for _ in range(rows)]

    def neighbours(x: int, y: int) -> tuple[tuple[int, ...], int]:
        """Section 5.3.2: (L, U, UR, UL, LL, UU) and the pattern."""
        row, above = image[y], image[y - 1] if y >= 1 else None
        u = above[x] if above else (row[x - 1] if x >= 1 else 0)
        left = row[x - 1] if x >= 1 else u
        up_right = above[x + 1] if above and x + 1 < width else u
        up_left = above[x - 1] if above and x >= 1 else u
        left2 = row[x - 2] if x >= 2 else left
        up2 = image[y - uu_rows][x + uu_shift] \
            if y >= uu_rows and 0 <= x + uu_shift < width else u
        pattern = ((left == u) | (left == up_left) << 1 | (u == up_right) << 2
                   | (u == up_left) << 3 | (left == left2) << 4 | (u == up2) << 5)
        return (left, u, up_right, up_left, left2, up2), pattern

    def far_neighbours(x: int, y: int, near: tuple[int, ...]) -> tuple[int, ...]:
        """Section 5.3.5: (UUL, UUR, ULL, URR, LLL, UULL, UURR, UUU), each outside the
        stripe or the row taken from a nearer one."""
        up_right, up_left, left2, up2 = near[2:]
        above, above2 = (image[y - 1] if y >= 1 else None), (image[y - 2] if y >= 2 else None)
        uul = above2[x - 1] if above2 and x >= 1 else up_left
        uur = above2[x + 1] if above2 and x + 1 < width else up_right
        return (uul, uur, above[x - 2] if above and x >= 2 else up_left,
                above[x + 2] if above and x + 2 < width else up_right,
                image[y][x - 3] if x >= 3 else left2,
                above2[x - 2] if above2 and x >= 2 else uul,
                above2[x + 2] if above2 and x + 2 < width else uur,
                image[y - 3][x] if y >= 3 else up2)

    def index_at(position: int) -> int:
        return image[position // width][position % width]

    for y in range(rows):
        if row_repeats and y >= uu_rows:
            at = repeated
            repeated = coder.bit(min(max(repeat_counters.p[at] >> 4, 1), 4095))
            repeat_counters.learn(at, repeated)
            if coder.read > len(data):  # already past the end: rule 28 fails
                raise InvalidFile("cm_data", "the coder read past the stripe's data")
            if repeated:
                image[y] = list(image[y - uu_rows])
                length = row_length = 0  # the matches end
                continue
        x = 0
        while x < width:
            row = image[y]
            near, pattern = neighbours(x, y)
            left, u, _, up_left, left2, up2 = near
            skip_left = False  # the pixel after a span's run: L takes no bit
            if pattern & 15 == 15 and size > 1:
                v = left
                n = width - x
                if y >= 1:
                    n = 1
                    while n < width - x and image[y - 1][min(x + n + 1, width - 1)] == v:
                        n += 1
                if n >= 2:
                    start = y * width + x
                    a = 0  # the first i where the match does not say v
                    while length and a < n and (pointer + a >= start
                                                or index_at(pointer + a) == v):
                        a += 1
                    bucket = min(n.bit_length(), 15)
                    end = image[y - 1][x + n + 1] if x + n < width else NO_END
                    t = 1 if y < uu_rows or all(
                        image[y - uu_rows][j] == v for j in
                        range(max(x - 1 + uu_shift, 0),
                              min(x + n + uu_shift, width - 1) + 1)) else 0
                    s = 0 if length == 0 else 1 if a == n else 2
                    contexts = ((bucket * 3 + s) * 4 + t * 2 + (pattern >> 4 & 1),
                                bucket * 256 + v, table_index(v, end, bucket, bits=12))
                    if span_mixer.bit(coder, bucket, list(zip(span_models, contexts,
                                                              strict=True)), stretch):
                        run = n
                    else:
                        run = n - 1
                        for i in range(n - 1):
                            j = x + i + uu_shift
                            t_i = 1 if y < uu_rows or not 0 <= j < width \
                                or image[y - uu_rows][j] == v else 0
                            s_i = 0 if length == 0 else 2 if i == a else 1
                            at = (((bucket * 2 + t_i) * 4 + min(n - 1 - i, 3)) * 2
                                  + (1 if i == 0 else 0)) * 3 + s_i
                            bit = coder.bit(min(max(span_pixels.p[at] >> 4, 1), 4095))
                            span_pixels.learn(at, bit)
                            if not bit:
                                run = i
                                break
                    for i in range(run):
                        row[x + i] = v
                    if coder.read > len(data):  # already past the end: rule 28 fails
                        raise InvalidFile("cm_data", "the coder read past the stripe's data")
                    if run and length and all(index_at(pointer + i) == v for i in range(run)):
                        pointer, length = pointer + run, min(length + run, MATCH_COUNT_LIMIT + 1)
                    elif run:
                        length = 0
                    if run and row_length and all(index_at(row_pointer + i) == v
                                                  for i in range(run)):
                        row_pointer = row_pointer + run
                        row_length = min(row_length + run, MATCH_COUNT_LIMIT + 1)
                    elif run:
                        row_length = 0
                    x += run
                    if run == n:
                        continue
                    near, pattern = neighbours(x, y)
                    left, u, _, up_left, left2, up2 = near
                    skip_left = True
            key = wide_key = table_index(4, *near) & mask
            model_3_values = near  # (5.3.4)
            if mode == 7:  # STRIPE_CODED_WIDE: the 38 pixels of WIDE_TEMPLATE (5.3.3)
                template = tuple(image[y - dy][x + dx] if y >= dy and 0 <= x + dx < width
                                 else 256 for dx, dy in WIDE_TEMPLATE)
                wide_key = table_index(9, *template) & mask
                if size == 2:  # model 3 by the template with two colours only
                    model_3_values = template
            if length == 0 and wide_key in positions:
                pointer, length = positions[wide_key], 1
            elif length == 0 and key in positions:
                pointer, length = positions[key], 1
            prediction = image[pointer // width][pointer % width] if length else None
            row_key = None
            if x >= ROW_MATCH_WIDTH and x % ROW_MATCH_STEP == ROW_MATCH_WIDTH:
                row_key = table_index(7, *row[x - ROW_MATCH_WIDTH:x], bits=ROW_MATCH_BITS)
                if row_length == 0 and row_key in row_positions:
                    row_pointer, row_length = row_positions[row_key], 1
            row_prediction = image[row_pointer // width][row_pointer % width] \
                if row_length else None
            predicted = med(colours[left], colours[u], colours[up_left])
            anchor = min(order[left], key=lambda v: distance(colours[v], predicted, weights))
            candidates: list[tuple[int, int]] = []  # (slot, index)
            for slot, value in enumerate((*near, prediction, row_prediction)):
                if value is not None and all(value != c for _, c in candidates):
                    candidates.append((slot, value))
            if ranks_only and pattern & 15 != 15:
                candidates = []
            index = None
            for j, (slot, value) in enumerate(candidates):
                if j == len(candidates) - 1 and len(candidates) == size:
                    index = value
                    break
                if slot == 7:  # R: the row match's length
                    state = row_length
                else:
                    state = 0 if length == 0 else length + (0 if value == prediction else 4)
                if j == 0 and skip_left:
                    continue
                if j == 0 and pattern & 15 == 15:  # a flat pixel: L, U, UL, UR the same
                    contexts = (state * 64 + pattern, state * 256 + left,
                                table_index(left, left2, up2, bits=12))
                    if flat_mixer.bit(coder, state, list(zip(flat_models, contexts,
                                                             strict=True)), stretch):
                        index = value
                        break
                    continue
                contexts = ((slot * 9 + state) * 64 + pattern,
                            ((table_index(1, left, u) & ~7) + slot) & mask,
                            table_index(2, slot, value, pattern) & mask,
                            ((table_index(3, *model_3_values) & ~7) + slot) & mask,
                            (slot * 16 + min(order[anchor].index(value), 15)) * 64 + pattern)
                if mixer.bit(coder, slot * 9 + state, list(zip(models, contexts, strict=True)),
                             stretch):
                    index = value
                    break
            if index is None:
                gradients = bias_context(*(colours[v] for v in near[:4]))
                contexts = bias[gradients]
                guesses = predictions(predicted, *(colours[v] for v in near))
                base = smoothed([colours[v] for v in near + far_neighbours(x, y, near)]) \
                    if smooth else \
                    [blend([g[ch] for g in guesses], learnt[3:])
                     for ch, learnt in enumerate(contexts)]
                corrected = [min(max(b + learnt[2], 0), 255)
                             for b, learnt in zip(base, contexts, strict=True)]
                if ranked * 8 >= y * width + x:
                    anchor = min(order[left],
                                 key=lambda v: distance(colours[v], corrected, weights))
                index = decode_rank(coder, ranks, near, [c for _, c in candidates], colours,
                                    order, stretch, anchor, gradients, mask)
                for ch, (learnt, value, guess) in enumerate(zip(contexts, colours[index],
                                                                corrected, strict=True)):
                    learn_bias(learnt, value - guess, [value - g[ch] for g in guesses])
                ranked += 1
            row[x] = index
            if coder.read > len(data):  # already past the end: rule 28 fails; stop now
                raise InvalidFile("cm_data", "the coder read past the stripe's data")
            if length and prediction == index:
                pointer, length = pointer + 1, min(length + 1, MATCH_COUNT_LIMIT + 1)
            else:
                length = 0
            positions[key] = positions[wide_key] = y * width + x
            if row_length and row_prediction == index:
                row_pointer, row_length = row_pointer + 1, min(row_length + 1,
                                                               MATCH_COUNT_LIMIT + 1)
            else:
                row_length = 0
            if row_key is not None:
                row_positions[row_key] = y * width + x
            x += 1
    if coder.read != len(data):
        raise InvalidFile("cm_data", f"the coder read {coder.read} of {len(data)} bytes")
    return [index for row in image for index in row]


def med(left: tuple, u: tuple, up_left: tuple) -> list[int]:
    """Section 5.3.5: the MED prediction, per channel."""
    return [min(a, b) if c >= max(a, b) else max(a, b) if c <= min(a, b) else a + b - c
            for a, b, c in zip(left, u, up_left, strict=True)]


def bias_context(left: tuple, u: tuple, up_right: tuple, up_left: tuple) -> int:
    """Section 5.3.5: three gradients summed over channels, each in 9 levels."""
    channels = len(left)

    def level(g: int) -> int:
        q = 0 if g == 0 else 1 + sum(abs(g) >= t * channels for t in (3, 7, 21))
        return 4 + q if g > 0 else 4 - q

    return (level(sum(up_right) - sum(u)) * 9 + level(sum(u) - sum(up_left))) * 9 \
        + level(sum(up_left) - sum(left))


def predictions(predicted: list[int], left: tuple, u: tuple, up_right: tuple,
                up_left: tuple, left2: tuple, up2: tuple) -> list[list[int]]:
    """Section 5.3.5: MED (``predicted``), the average, the extrapolation and the gradient,
    each a value per channel."""
    average = [(a + b + c + d + 2) >> 2
               for a, b, c, d in zip(left, u, up_right, up_left, strict=True)]
    extrapolated = [min(max((2 * a - e + 2 * b - f + 1) >> 1, 0), 255)
                    for a, b, e, f in zip(left, u, left2, up2, strict=True)]
    gradient = [min(max(a + c - b, 0), 255) for a, b, c in zip(left, u, up_right, strict=True)]
    return [predicted, average, extrapolated, gradient]


def smoothed(colours: list[tuple]) -> list[int]:
    """Section 5.3.5: a smooth stripe's prediction per channel, from the colours of L, U,
    UR, UL, LL, UU, UUL, UUR, ULL, URR, LLL, UULL, UURR and UUU."""
    weights = (4, 4, 4, 4, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1)
    return [(sum(w * colour[c] for w, colour in zip(weights, colours, strict=True)) + 16) >> 5
            for c in range(len(colours[0]))]


def blend(guesses: list[int], sums: list[int]) -> int:
    """Section 5.3.5: one channel's four predictions, each weighed by 2^52 // (E + 1)^3."""
    weights = [(1 << 52) // (e + 1) ** 3 for e in sums]
    total = sum(weights)
    return (sum(w * g for w, g in zip(weights, guesses, strict=True)) + total // 2) // total


def learn_bias(state: list[int], error: int, guess_errors: list[int]) -> None:
    """Section 5.3.5: [B, N, C, E_med, E_average, E_extrapolated, E_gradient] of one
    context and channel learn."""
    b, n, c = state[:3]
    b += error
    sums = [e + abs(g) for e, g in zip(state[3:], guess_errors, strict=True)]
    if n == 64:
        b, n, sums = b >> 1, n >> 1, [e >> 1 for e in sums]
    n += 1
    if b <= -n:
        c, b = max(c - 1, -127), max(b + n, -n + 1)
    elif b > 0:
        c, b = min(c + 1, 127), min(b - n, 0)
    state[:] = [b, n, c, *sums]


def decode_rank(coder: BitDecoder, ranks: tuple, near: tuple[int, ...],
                candidates: list[int], colours: list, order: list[list[int]],
                stretch: list[int], anchor: int, gradients: int, mask: int) -> int:
    """Section 5.3.5: a colour that is no candidate, by its rank from ``anchor``; rule 27.
    The hashed counters' indices are read within ``mask`` (the stripe's table_shrink)."""
    available = len(colours) - len(candidates)
    largest = available.bit_length()
    spread = min(len(candidates) - 1, 7) if candidates else 7
    activity = min(order[near[0]].index(near[1]).bit_length(), 7)
    rank_counters, model_1, model_3, by_gradients, model_2, mixer, rank_map = ranks
    r_u, r_l, r_ur = (min(order[anchor].index(near[i]), 15) for i in (1, 0, 2))

    def bit(step: int, direct: int, partial: int) -> int:
        if step < 8:  # a unary bit: a line of 8 counters per context
            hashed = ((table_index(5, r_u, r_l) & ~7) + step,
                      (table_index(6, anchor, r_ur) & ~7) + step,
                      (table_index(8, anchor) & ~7) + step)
        else:
            hashed = (table_index(5, step, r_u, r_l), table_index(6, step, anchor, partial, r_ur),
                      table_index(8, step, anchor, partial))
        counters = [(rank_counters, direct), (model_1, hashed[0] & mask),
                    (model_3, hashed[1] & mask), (by_gradients, step * 729 + gradients),
                    (model_2, hashed[2] & mask)]
        return mixer.bit(coder, step, counters, stretch, rank_map[direct])

    bucket = 1
    while bucket < largest and bit(bucket - 1, ((bucket - 1) * 8 + spread) * 8 + activity, 0):
        bucket += 1
    value = 1
    for j in range(bucket - 1):
        node = (bucket - 2) * 8 + min(j, 7)
        value = (value << 1) | bit(8 + node, 512 + node * 8 + activity, value)
    rank = value - 1
    if rank >= available:
        raise InvalidFile("cm_rank", f"rank {rank} of {available} colours left")
    return [v for v in order[anchor] if v not in candidates][rank]


def main(arguments: list[str]) -> int:
    if len(arguments) != 1:
        print("usage: python spec/decoder.py FILE.gcp", file=sys.stderr)
        return 2
    with open(arguments[0], "rb") as file:
        data = file.read()
    try:
        width, height, channels, pixels = decode(data)
    except InvalidFile as error:
        print(f"invalid: {error}", file=sys.stderr)
        return 1
    print(f"{width} x {height}, {channels} channel(s), pixels sha256 "
          f"{hashlib.sha256(pixels).hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
