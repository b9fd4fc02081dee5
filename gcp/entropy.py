"""The entropy stage after run-length coding: method 1, lzma (spec/format.md, "Method lzma").

The body is one LZMA stream in the ".lzma" (LZMA_Alone) container of the LZMA SDK's
lzma-specification.txt, which every LZMA library and ``xz --format=lzma`` read:

    offset  size  field
    0       1     properties          (pb * 5 + lp) * 9 + lc, below 225, lc + lp <= 4
    1       4     dictionary_size     u32 LE, at most MAX_LZMA_DICTIONARY_SIZE
    5       8     uncompressed_size   u64 LE: tokens_length, or all ones (end marker follows)
    13            range-coded data

Decompressing it gives exactly tokens_length bytes: the token stream of spec "Tokens".
"""

from __future__ import annotations

import lzma
import struct
import sys

from .errors import FormatError

LZMA_HEADER_FORMAT = "<BIQ"
LZMA_HEADER_SIZE = struct.calcsize(LZMA_HEADER_FORMAT)  # 13
LZMA_PROPERTIES_LIMIT = 9 * 5 * 5
# liblzma (so Python's lzma and xz) reads no .lzma stream with lc + lp over 4, though the
# LZMA SDK would: the spec takes the stricter bound so every reader agrees on every file.
MAX_LZMA_LC_PLUS_LP = 4
LZMA_UNKNOWN_SIZE = 0xFFFF_FFFF_FFFF_FFFF
MIN_LZMA_DICTIONARY_SIZE = 1 << 12
# Bounds a decoder's memory: a window of 64 MiB already reaches back past 32 M pixels'
# worth of two-byte tokens, more than any real image needs.
MAX_LZMA_DICTIONARY_SIZE = 1 << 26
# liblzma's own tables for the largest lc + lp come on top of the dictionary.
_LZMA_DECODER_OVERHEAD = 16 << 20

# Literal context: tokens are byte pairs, so position bits of 1 (lp, pb) line the model up
# with "index byte" and "run byte".
_LITERAL_CONTEXT_BITS = 3
_POSITION_BITS = 1

# Encoder settings by effort: (mode, match finder, nice_len, depth). Measured in
# benchmarks/README.md: "normal" mode is what brings files well under PNG-8.
LZMA_ENCODER_SETTINGS = {
    "fast": (lzma.MODE_FAST, lzma.MF_HC4, 32, 8),
    "normal": (lzma.MODE_NORMAL, lzma.MF_HC4, 32, 8),
    "max": (lzma.MODE_NORMAL, lzma.MF_BT4, 128, 0),
}


def _dictionary_size_for(tokens_length: int) -> int:
    size = MIN_LZMA_DICTIONARY_SIZE
    while size < tokens_length and size < MAX_LZMA_DICTIONARY_SIZE:
        size <<= 1
    return size


def compress_tokens(tokens: bytes, *, setting: str = "normal") -> bytes:
    """Body bytes of method lzma for a token stream."""
    mode, match_finder, nice_len, depth = LZMA_ENCODER_SETTINGS[setting]
    lzma_filter = {
        "id": lzma.FILTER_LZMA1,
        "dict_size": _dictionary_size_for(len(tokens)),
        "lc": _LITERAL_CONTEXT_BITS,
        "lp": _POSITION_BITS,
        "pb": _POSITION_BITS,
        "mode": mode,
        "mf": match_finder,
        "nice_len": nice_len,
        "depth": depth,
    }
    return lzma.compress(tokens, format=lzma.FORMAT_ALONE, filters=[lzma_filter])


def check_lzma_header(body: bytes, tokens_length: int) -> None:
    """Check the 13-byte .lzma header before any memory is given to the decoder."""
    if len(body) < LZMA_HEADER_SIZE:
        raise FormatError(f"lzma body is {len(body)} bytes, shorter than its 13-byte header",
                          field="lzma_header")
    properties, dictionary_size, uncompressed_size = struct.unpack_from(LZMA_HEADER_FORMAT, body)
    if properties >= LZMA_PROPERTIES_LIMIT:
        raise FormatError(f"lzma properties byte is {properties}; it must be below 225",
                          field="lzma_properties")
    literal_context_bits, literal_position_bits = properties % 9, properties // 9 % 5
    if literal_context_bits + literal_position_bits > MAX_LZMA_LC_PLUS_LP:
        raise FormatError(
            f"lzma properties byte is {properties}: lc {literal_context_bits} + lp "
            f"{literal_position_bits} is over {MAX_LZMA_LC_PLUS_LP}",
            field="lzma_properties",
        )
    if dictionary_size > MAX_LZMA_DICTIONARY_SIZE:
        raise FormatError(
            f"lzma dictionary_size is {dictionary_size}; at most {MAX_LZMA_DICTIONARY_SIZE}",
            field="lzma_dictionary_size",
        )
    if uncompressed_size not in (tokens_length, LZMA_UNKNOWN_SIZE):
        raise FormatError(
            f"lzma uncompressed_size is {uncompressed_size}, not tokens_length {tokens_length}",
            field="lzma_uncompressed_size",
        )


def decompress_tokens(body: bytes, tokens_length: int) -> bytes:
    """The token stream inside a method-lzma body: exactly ``tokens_length`` bytes.

    Output is capped at tokens_length + 1 bytes, so a body can never expand past what the
    header declared (decompression bombs).
    """
    check_lzma_header(body, tokens_length)
    decompressor = lzma.LZMADecompressor(
        format=lzma.FORMAT_ALONE, memlimit=MAX_LZMA_DICTIONARY_SIZE + _LZMA_DECODER_OVERHEAD
    )
    # A limit past sys.maxsize (only with max_pixels raised past 2**62) is no limit at all.
    max_length = min(tokens_length + 1, sys.maxsize)
    try:
        tokens = decompressor.decompress(body, max_length=max_length)
    except lzma.LZMAError as error:
        raise FormatError(f"lzma body is corrupt: {error}", field="lzma_data") from None
    if len(tokens) > tokens_length:
        raise FormatError(f"lzma body expands past tokens_length {tokens_length}",
                          field="lzma_data")
    if not decompressor.eof:
        raise FormatError(
            f"lzma body ends after {len(tokens)} of {tokens_length} token bytes",
            field="lzma_data",
        )
    if decompressor.unused_data:
        raise FormatError(
            f"lzma body has {len(decompressor.unused_data)} bytes after its end",
            field="lzma_data",
        )
    if len(tokens) != tokens_length:
        raise FormatError(
            f"lzma body holds {len(tokens)} token bytes, not tokens_length {tokens_length}",
            field="lzma_data",
        )
    return tokens
