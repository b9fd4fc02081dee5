"""The entropy stage after run-length coding: method 1, lzma (spec/format.md, "Method lzma").

The token stream is cut into chunks of LZMA_CHUNK_LENGTH bytes (the last one shorter),
and each chunk is compressed on its own, so that chunks compress and decompress in
parallel. The body is the chunks in order, each one as

    offset  size  field
    0       4     compressed_length   u32 LE, the length of the .lzma stream that follows
    4       1     properties          (pb * 5 + lp) * 9 + lc, below 225, lc + lp <= 4
    5       4     dictionary_size     u32 LE, a multiple of 16, MIN_ to MAX_LZMA_DICTIONARY_SIZE
    9       8     uncompressed_size   u64 LE: all ones (unknown; an end marker ends the data)
    17            range-coded data

Bytes 4 onwards are one ".lzma" (LZMA_Alone) stream of the LZMA SDK's
lzma-specification.txt, which every LZMA library and ``xz --format=lzma`` read.
"""

from __future__ import annotations

import lzma
import os
import struct
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .errors import FormatError

LZMA_CHUNK_LENGTH = 1 << 19  # token bytes per chunk: 262144 tokens
LZMA_CHUNK_PREFIX_SIZE = 4
LZMA_HEADER_FORMAT = "<BIQ"
LZMA_HEADER_SIZE = struct.calcsize(LZMA_HEADER_FORMAT)  # 13
LZMA_PROPERTIES_LIMIT = 9 * 5 * 5
# liblzma (so Python's lzma and xz) reads no .lzma stream with lc + lp over 4, though the
# LZMA SDK would: the spec takes the stricter bound so every reader agrees on every file.
MAX_LZMA_LC_PLUS_LP = 4
LZMA_UNKNOWN_SIZE = 0xFFFF_FFFF_FFFF_FFFF
# The LZMA SDK's decoder takes a dictionary below 4 KiB as 4 KiB, and liblzma rounds one
# up to a multiple of 16: a match just past a declared size in between is corrupt to one
# and valid to the other. Within these bounds both refuse exactly the same distances.
MIN_LZMA_DICTIONARY_SIZE = 1 << 12
LZMA_DICTIONARY_STEP = 16
# A chunk is at most 512 KiB, so a larger window would never be used; the cap bounds what
# a file can make a decoder allocate.
MAX_LZMA_DICTIONARY_SIZE = 1 << 20
# liblzma's own tables for the largest lc + lp come on top of the dictionary.
_LZMA_DECODER_OVERHEAD = 16 << 20

# LZMA's (lc, lp, pb) by token size. One-byte tokens: the literal coder conditions each
# token on the previous one's high nibble, its index (lc = 4). Two-byte tokens: position
# bits of 1 keep "index byte" and "run byte" apart.
LZMA_LITERAL_SETTINGS = {1: (4, 0, 0), 2: (3, 1, 1)}

# Encoder settings by name: (mode, match finder, nice_len, depth). "normal" mode, with its
# optimal parsing, is what brings files well under PNG-8 (benchmarks/size.py).
LZMA_ENCODER_SETTINGS = {
    "fast": (lzma.MODE_FAST, lzma.MF_HC4, 32, 8),
    "normal": (lzma.MODE_NORMAL, lzma.MF_HC4, 32, 8),
    "max": (lzma.MODE_NORMAL, lzma.MF_BT4, 128, 0),
}


def chunk_lengths(tokens_length: int) -> list[int]:
    """How many token bytes each chunk of a stream of ``tokens_length`` bytes holds."""
    full, rest = divmod(tokens_length, LZMA_CHUNK_LENGTH)
    return [LZMA_CHUNK_LENGTH] * full + ([rest] if rest else [])


def compress_tokens(tokens: bytes, *, token_size: int = 2, setting: str = "normal") -> bytes:
    """Body bytes of method lzma for a token stream of ``token_size``-byte tokens."""
    pieces = [tokens[start:start + LZMA_CHUNK_LENGTH]
              for start in range(0, len(tokens), LZMA_CHUNK_LENGTH)]
    streams = _in_parallel(
        lambda piece: compress_chunk(piece, token_size=token_size, setting=setting), pieces)
    return b"".join(len(stream).to_bytes(LZMA_CHUNK_PREFIX_SIZE, "little") + stream
                    for stream in streams)


def compress_chunk(piece: bytes, *, token_size: int = 2, setting: str = "normal") -> bytes:
    """One .lzma stream for one chunk of the token stream."""
    mode, match_finder, nice_len, depth = LZMA_ENCODER_SETTINGS[setting]
    literal_context, literal_position, position = LZMA_LITERAL_SETTINGS[token_size]
    dictionary_size = MIN_LZMA_DICTIONARY_SIZE
    while dictionary_size < len(piece):
        dictionary_size <<= 1
    lzma_filter = {
        "id": lzma.FILTER_LZMA1, "dict_size": dictionary_size,
        "lc": literal_context, "lp": literal_position, "pb": position,
        "mode": mode, "mf": match_finder, "nice_len": nice_len, "depth": depth,
    }
    return lzma.compress(piece, format=lzma.FORMAT_ALONE, filters=[lzma_filter])


def split_chunks(body: bytes, tokens_length: int) -> list[memoryview]:
    """The .lzma stream of every chunk, after checking the chunk lengths (rule 15)."""
    view = memoryview(body)
    streams, offset = [], 0
    count = -(-tokens_length // LZMA_CHUNK_LENGTH)  # not a list: tokens_length may be huge
    for index in range(count):
        if offset + LZMA_CHUNK_PREFIX_SIZE > len(view):
            raise FormatError(f"lzma body ends before chunk {index} of {count}",
                              field="lzma_chunk_length")
        length = int.from_bytes(view[offset:offset + LZMA_CHUNK_PREFIX_SIZE], "little")
        offset += LZMA_CHUNK_PREFIX_SIZE
        if length < LZMA_HEADER_SIZE or offset + length > len(view):
            raise FormatError(
                f"lzma chunk {index} compressed_length is {length}; it must be at least "
                f"{LZMA_HEADER_SIZE} and fit the {len(view) - offset} bytes left",
                field="lzma_chunk_length",
            )
        streams.append(view[offset:offset + length])
        offset += length
    if offset != len(view):
        raise FormatError(f"lzma body has {len(view) - offset} bytes after its {count} chunks",
                          field="lzma_chunk_length")
    return streams


def check_lzma_header(stream: bytes, expected_length: int, index: int = 0) -> None:
    """Check a chunk's 13-byte .lzma header before any memory is given to the decoder."""
    properties, dictionary_size, uncompressed_size = struct.unpack_from(LZMA_HEADER_FORMAT,
                                                                        stream)
    if properties >= LZMA_PROPERTIES_LIMIT:
        raise FormatError(f"lzma chunk {index} properties byte is {properties}; it must be "
                          "below 225", field="lzma_properties")
    literal_context_bits, literal_position_bits = properties % 9, properties // 9 % 5
    if literal_context_bits + literal_position_bits > MAX_LZMA_LC_PLUS_LP:
        raise FormatError(
            f"lzma chunk {index} properties byte is {properties}: lc {literal_context_bits} "
            f"+ lp {literal_position_bits} is over {MAX_LZMA_LC_PLUS_LP}",
            field="lzma_properties",
        )
    if not (MIN_LZMA_DICTIONARY_SIZE <= dictionary_size <= MAX_LZMA_DICTIONARY_SIZE
            and dictionary_size % LZMA_DICTIONARY_STEP == 0):
        raise FormatError(
            f"lzma chunk {index} dictionary_size is {dictionary_size}; it must be a multiple "
            f"of {LZMA_DICTIONARY_STEP} from {MIN_LZMA_DICTIONARY_SIZE} to "
            f"{MAX_LZMA_DICTIONARY_SIZE}",
            field="lzma_dictionary_size",
        )
    if uncompressed_size != LZMA_UNKNOWN_SIZE:
        raise FormatError(
            f"lzma chunk {index} uncompressed_size is {uncompressed_size}; it must be all "
            "ones (unknown), with an end marker",
            field="lzma_uncompressed_size",
        )


def decompress_chunk(stream: bytes, expected_length: int, index: int = 0) -> bytes:
    """Exactly ``expected_length`` token bytes from one chunk's .lzma stream.

    Output is capped at expected_length + 1 bytes, so no chunk can expand past the length
    the header implies (decompression bombs).
    """
    check_lzma_header(stream, expected_length, index)
    decompressor = lzma.LZMADecompressor(
        format=lzma.FORMAT_ALONE, memlimit=MAX_LZMA_DICTIONARY_SIZE + _LZMA_DECODER_OVERHEAD
    )
    where = f"lzma chunk {index}"
    try:
        piece = decompressor.decompress(stream, max_length=expected_length + 1)
    except lzma.LZMAError as error:
        raise FormatError(f"{where} is corrupt: {error}", field="lzma_data") from None
    if len(piece) > expected_length:
        raise FormatError(f"{where} expands past its {expected_length} bytes",
                          field="lzma_data")
    if not decompressor.eof:
        raise FormatError(f"{where} stops after {len(piece)} of {expected_length} bytes, "
                          "before its end", field="lzma_data")
    if decompressor.unused_data:
        raise FormatError(f"{where} has {len(decompressor.unused_data)} bytes after its end",
                          field="lzma_data")
    if len(piece) != expected_length:
        raise FormatError(f"{where} holds {len(piece)} bytes, not {expected_length}",
                          field="lzma_data")
    return piece


def decompress_tokens(body: bytes, tokens_length: int) -> np.ndarray:
    """The token stream inside a method-lzma body: uint8 (tokens_length,).

    Each chunk is written into place as it is decompressed, so the stream is never held
    twice; the output is only allocated once the chunk lengths have been checked.
    """
    streams = split_chunks(body, tokens_length)
    tokens = np.empty(tokens_length, np.uint8)

    def decompress(index: int) -> None:
        start = index * LZMA_CHUNK_LENGTH
        length = min(LZMA_CHUNK_LENGTH, tokens_length - start)
        piece = decompress_chunk(streams[index], length, index)
        tokens[start:start + length] = np.frombuffer(piece, np.uint8)

    _in_parallel(decompress, range(len(streams)))
    return tokens


def _in_parallel(work: Callable, items: Sequence) -> list:
    """``[work(item) for item in items]``, in threads (liblzma releases the GIL)."""
    workers = min(len(items), os.cpu_count() or 1)
    if workers <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(work, items))
