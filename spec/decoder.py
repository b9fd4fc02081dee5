"""A .gcp decoder written from format.md alone, on Python's standard library: no gcp, no numpy.

It is there to show that the spec is enough to read the format, and to check the
reference implementation from outside: tests/test_spec_decoder.py runs it on every vector
of vectors/manifest.json (a valid one must give the manifest's pixels, an invalid one be
refused naming the manifest's field) and on files gcp encodes. It is written for reading,
not speed: one token at a time, the section of format.md beside each step.

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
CRC_SIZE = 4
MAX_PALETTE_SIZE = 256
SHORT_TOKEN_PALETTE_LIMIT = 16
MAX_SHORT_RUN = 16
MAX_LONG_RUN = 256
DEFAULT_MAX_PIXELS = 1 << 28
LZMA_CHUNK_LENGTH = 1 << 19
MAX_LZMA_DICTIONARY_SIZE = 1 << 20
MAX_LZMA_LC_PLUS_LP = 4
LZMA_HEADER_SIZE = 13  # properties, dictionary_size, uncompressed_size (5.2)
UNKNOWN_SIZE = 0xFFFF_FFFF_FFFF_FFFF


class InvalidFile(ValueError):
    """The file breaks a decoder rule of section 6; ``field`` is the rule's field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def decode(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int, int, bytes]:
    """(width, height, channels, pixels): the pixels row by row, ``channels`` bytes each
    (section 3). Raises ``InvalidFile`` for a file that breaks a rule of section 6."""
    header = read_header(data, max_pixels)  # rules 1 to 14
    width, height, channels, method, palette_size, tokens_length, body_length = header
    palette_end = HEADER_SIZE + palette_size * channels
    palette = data[HEADER_SIZE:palette_end]
    body = data[palette_end:palette_end + body_length]
    tokens = body if method == 0 else decompress_chunks(body, tokens_length)  # rules 15-19
    return width, height, channels, expand(tokens, palette, palette_size, channels,
                                           width * height)  # rules 20, 21


def read_header(data: bytes, max_pixels: int) -> tuple[int, ...]:
    """Rules 1 to 14 (sections 2 and 6), in the order of section 6."""
    if not data:
        raise InvalidFile("length", "the file is empty")
    if not SIGNATURE.startswith(data[:len(SIGNATURE)]):
        raise InvalidFile("signature", "not a .gcp file")
    if len(data) < HEADER_SIZE:
        raise InvalidFile("length", f"{len(data)} bytes, shorter than the header")
    (_, version, channels, method, flags, width, height, palette_size, tokens_length,
     body_length) = struct.unpack("<8sBBBBIIHQQ", data[:HEADER_SIZE])
    if version != 1:
        raise InvalidFile("version", f"version {version}")
    if channels not in (1, 2, 3, 4):
        raise InvalidFile("channels", f"{channels} channels")
    if method not in (0, 1):
        raise InvalidFile("method", f"method {method}")
    if flags & 0xFE:
        raise InvalidFile("flags", f"reserved bits set in {flags:#04x}")
    if width == 0 or height == 0:
        raise InvalidFile("width" if width == 0 else "height", f"{width} x {height} pixels")
    if not 1 <= palette_size <= MAX_PALETTE_SIZE:
        raise InvalidFile("palette_size", f"{palette_size} colours")
    pixel_count = width * height  # Python integers: no overflow (section 1)
    if pixel_count > max_pixels:
        raise InvalidFile("pixel_count", f"{pixel_count} pixels, over {max_pixels}")
    token_size, max_run = token_form(palette_size)
    fewest = token_size * -(-pixel_count // max_run)
    if tokens_length % token_size or not fewest <= tokens_length <= token_size * pixel_count:
        raise InvalidFile("tokens_length", f"{tokens_length} bytes of tokens")
    if method == 0 and body_length != tokens_length:
        raise InvalidFile("body_length", "method rle stores the tokens as they are")
    expected = HEADER_SIZE + palette_size * channels + body_length + CRC_SIZE
    if len(data) != expected:
        raise InvalidFile("length", f"{len(data)} bytes, not the {expected} the header says")
    stored_crc = struct.unpack("<I", data[-CRC_SIZE:])[0]
    if zlib.crc32(data[:-CRC_SIZE]) != stored_crc:
        raise InvalidFile("crc", "the CRC does not match")
    return width, height, channels, method, palette_size, tokens_length, body_length


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
    if dictionary_size > MAX_LZMA_DICTIONARY_SIZE:
        raise InvalidFile("lzma_dictionary_size", f"{dictionary_size} bytes")
    if uncompressed_size not in (chunk_length, UNKNOWN_SIZE):
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
