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


def token_size(palette_size: int) -> int:
    """Bytes per token: 1 for palettes of at most 16 colours, else 2."""
    return 1 if palette_size <= SHORT_TOKEN_PALETTE_LIMIT else 2


def max_run(palette_size: int) -> int:
    """Most pixels one token covers: 16 for short tokens, 256 for long ones."""
    return MAX_SHORT_RUN if palette_size <= SHORT_TOKEN_PALETTE_LIMIT else MAX_LONG_RUN


def encode_runs(indices: np.ndarray, palette_size: int) -> bytes:
    """Token bytes for a 1-D uint8 array of palette indices (at least one element)."""
    indices = np.ascontiguousarray(indices, np.uint8).ravel()
    run_starts = np.flatnonzero(indices[1:] != indices[:-1]) + 1
    run_starts = np.concatenate(([0], run_starts))
    run_lengths = np.diff(np.append(run_starts, indices.size))
    longest = max_run(palette_size)
    tokens_per_run = (run_lengths + longest - 1) // longest
    token_indices = np.repeat(indices[run_starts], tokens_per_run)
    token_runs = np.full(len(token_indices), longest - 1, np.uint8)
    token_runs[np.cumsum(tokens_per_run) - 1] = (run_lengths - 1) % longest
    if token_size(palette_size) == 1:
        return ((token_indices << 4) | token_runs).tobytes()
    return np.stack([token_indices, token_runs], axis=1).tobytes()


def decode_runs(tokens: bytes, pixel_count: int, palette_size: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """Split and check a token stream (spec "Decoder rules" 20-21).

    Returns ``(indices, run_lengths)``: uint8 and int64 arrays of one element per token,
    whose run lengths sum to exactly ``pixel_count``.
    """
    size = token_size(palette_size)
    if len(tokens) % size:
        raise FormatError(f"token stream is {len(tokens)} bytes, not a whole number of "
                          f"{size}-byte tokens", field="tokens_length")
    data = np.frombuffer(tokens, np.uint8)
    if size == 1:
        indices, run_bytes = data >> 4, data & 0x0F
    else:
        pairs = data.reshape(-1, 2)
        indices, run_bytes = pairs[:, 0], pairs[:, 1]
    if indices.size and int(indices.max()) >= palette_size:
        position = int(np.argmax(indices >= palette_size))
        raise FormatError(
            f"token {position} has index {int(indices[position])}, not below palette_size "
            f"{palette_size}",
            field="index",
        )
    run_lengths = run_bytes.astype(np.int64) + 1
    covered = int(run_lengths.sum())
    if covered != pixel_count:
        relation = "overflow" if covered > pixel_count else "stop short of"
        raise FormatError(
            f"runs cover {covered} pixels and {relation} the image's {pixel_count}",
            field="runs",
        )
    return indices, run_lengths
