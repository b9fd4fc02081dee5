"""Run-length coding of the palette-index stream (spec/format.md, "Tokens").

The image's palette indices, read row by row from the top left, form one sequence; a run
is a stretch of equal indices, and runs cross row ends freely. Each run is written as one
or more tokens. Their form depends only on palette_size:

    short token, palette_size <= 16 (SHORT_TOKEN_PALETTE_LIMIT): one byte
        bits 7-4: index          < palette_size
        bits 3-0: run_length-1   one token covers 1..16 pixels (MAX_SHORT_RUN)

    long token, palette_size > 16: two bytes
        byte 0: index            < palette_size
        byte 1: run_length-1    one token covers 1..256 pixels (MAX_LONG_RUN)

A run longer than a token holds is split into full tokens followed by one for the rest.
Short tokens put a run's index and length in one byte, so LZMA's literal coder, which
conditions on the previous byte's high bits, sees the previous run's index as context.
"""

from __future__ import annotations

import numpy as np

from .errors import FormatError

SHORT_TOKEN_PALETTE_LIMIT = 16
MAX_SHORT_RUN = 16
MAX_LONG_RUN = 256
# Tokens the decoder checks and expands at a time: bounds its temporary arrays, whatever
# the stream's length.
TOKENS_PER_STEP = 1 << 16
# Pixels the encoder turns into tokens at a time (encode_runs).
ENCODE_BLOCK = 1 << 20


def token_size(palette_size: int) -> int:
    """Bytes per token: 1 for palettes of at most 16 colours, else 2."""
    return 1 if palette_size <= SHORT_TOKEN_PALETTE_LIMIT else 2


def max_run(palette_size: int) -> int:
    """Most pixels one token covers: 16 for short tokens, 256 for long ones."""
    return MAX_SHORT_RUN if palette_size <= SHORT_TOKEN_PALETTE_LIMIT else MAX_LONG_RUN


def encode_runs(indices: np.ndarray, palette_size: int) -> bytes:
    """Token bytes for a 1-D uint8 array of palette indices (at least one element).

    Coded ENCODE_BLOCK pixels at a time, each block's runs up to the last that ends in it
    (a run may go on over several blocks): the temporaries stay a block's size, so a
    16.8-MP image of short runs does not take fresh memory many times its size (whose
    page faults took 0.6-1.3 s of such an encode, against 0.2 s for the coding itself).
    """
    indices = np.ascontiguousarray(indices, np.uint8).ravel()
    pieces = []
    last_end = -1  # where the run before the block's first ended
    for start in range(0, indices.size, ENCODE_BLOCK):
        stop = min(start + ENCODE_BLOCK, indices.size)
        # Positions in the block where a run ends: the next pixel differs, or the image ends.
        block, after = indices[start:stop], indices[start + 1:stop + 1]
        ends = np.flatnonzero(block[:after.size] != after)
        if stop == indices.size:
            ends = np.append(ends, stop - 1 - start)
        if ends.size:
            ends += start
            lengths = np.diff(ends, prepend=last_end)
            pieces.append(_run_tokens(indices[ends], lengths, palette_size))
            last_end = int(ends[-1])
    return b"".join(pieces)


def _run_tokens(run_indices: np.ndarray, run_lengths: np.ndarray, palette_size: int
                ) -> bytes:
    """The tokens of runs of uint8 ``run_indices`` and int ``run_lengths`` (at least 1)."""
    longest = max_run(palette_size)
    if int(run_lengths.max()) <= longest:  # one token a run
        token_indices, token_runs = run_indices, (run_lengths - 1).astype(np.uint8)
    else:
        tokens_per_run = (run_lengths + longest - 1) // longest
        token_indices = np.repeat(run_indices, tokens_per_run)
        token_runs = np.full(len(token_indices), longest - 1, np.uint8)
        token_runs[np.cumsum(tokens_per_run) - 1] = (run_lengths - 1) % longest
    if token_size(palette_size) == 1:
        return ((token_indices << 4) | token_runs).tobytes()
    return np.stack([token_indices, token_runs], axis=1).tobytes()


def split_tokens(tokens: bytes | np.ndarray, palette_size: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Indices and run lengths minus one (both uint8, one per token) of a token stream."""
    data = np.frombuffer(tokens, np.uint8)
    if token_size(palette_size) == 1:
        return data >> 4, data & 0x0F
    pairs = data.reshape(-1, 2)
    return pairs[:, 0], pairs[:, 1]


def check_tokens(tokens: bytes, pixel_count: int, palette_size: int) -> np.ndarray:
    """Check a token stream (spec "Decoder rules" 20-21); return it as a uint8 array.

    Memory stays bounded whatever the stream: indices are checked in place, and runs are
    added up TOKENS_PER_STEP tokens at a time.
    """
    size = token_size(palette_size)
    if len(tokens) % size:
        raise FormatError(f"token stream is {len(tokens)} bytes, not a whole number of "
                          f"{size}-byte tokens", field="tokens_length")
    data = np.frombuffer(tokens, np.uint8)
    if data.size:
        highest = int(data.max()) >> 4 if size == 1 else int(data[0::2].max())
        if highest >= palette_size:
            indices = data >> 4 if size == 1 else data[0::2]
            position = int(np.argmax(indices >= palette_size))
            raise FormatError(
                f"token {position} has index {int(indices[position])}, not below "
                f"palette_size {palette_size}",
                field="index",
            )
    covered = 0
    for step in _steps(data, size):
        covered += len(step) // size + int(split_tokens(step, palette_size)[1].sum(dtype=np.int64))
    if covered != pixel_count:
        relation = "overflow" if covered > pixel_count else "stop short of"
        raise FormatError(
            f"runs cover {covered} pixels and {relation} the image's {pixel_count}",
            field="runs",
        )
    return data


def expand_tokens(data: np.ndarray, pixel_count: int, palette_size: int) -> np.ndarray:
    """The index of every pixel, uint8 (pixel_count,), from a checked token stream.

    The result is allocated once and filled TOKENS_PER_STEP tokens at a time, so no array
    of one entry per token is ever made.
    """
    pixels = np.empty(pixel_count, np.uint8)
    filled = 0
    for step in _steps(data, token_size(palette_size)):
        indices, runs = split_tokens(step, palette_size)
        piece = np.repeat(indices, runs.astype(np.int64) + 1)
        pixels[filled:filled + len(piece)] = piece
        filled += len(piece)
    return pixels


def _steps(data: np.ndarray, size: int):
    step = TOKENS_PER_STEP * size
    for start in range(0, len(data), step):
        yield data[start:start + step]
