"""Run-length coding of the palette-index stream (spec/format.md, "Tokens").

The image's palette indices, read row by row from the top left, form one sequence; a run
is a stretch of equal indices, and runs cross row ends freely. Each run is written as one
or more two-byte tokens:

    byte 0: index          u8, < palette_size
    byte 1: run_length-1   u8, so one token covers 1..256 pixels (MAX_RUN)

A run longer than MAX_RUN is split into full tokens of 256 followed by one for the rest.
"""

from __future__ import annotations

import numpy as np

from .errors import FormatError

TOKEN_SIZE = 2
MAX_RUN = 256


def encode_runs(indices: np.ndarray) -> bytes:
    """Token bytes for a 1-D uint8 array of palette indices (at least one element)."""
    indices = np.ascontiguousarray(indices, np.uint8).ravel()
    run_starts = np.flatnonzero(indices[1:] != indices[:-1]) + 1
    run_starts = np.concatenate(([0], run_starts))
    run_lengths = np.diff(np.append(run_starts, indices.size))
    tokens_per_run = (run_lengths + MAX_RUN - 1) // MAX_RUN
    token_count = int(tokens_per_run.sum())
    tokens = np.empty((token_count, TOKEN_SIZE), np.uint8)
    tokens[:, 0] = np.repeat(indices[run_starts], tokens_per_run)
    tokens[:, 1] = MAX_RUN - 1
    last_token_of_run = np.cumsum(tokens_per_run) - 1
    tokens[last_token_of_run, 1] = (run_lengths - 1) % MAX_RUN
    return tokens.tobytes()


def check_tokens(tokens: bytes, pixel_count: int, palette_size: int) -> np.ndarray:
    """Check a token stream (spec "Decoder rules" 20-21) and view it as uint8 (tokens, 2).

    Column 0 holds the indices, column 1 the run lengths minus one. Nothing is allocated
    per token: a stream of the largest size the header allows is checked in place.
    """
    if len(tokens) % TOKEN_SIZE:
        raise FormatError(f"token stream is {len(tokens)} bytes, not a whole number of tokens",
                          field="tokens_length")
    pairs = np.frombuffer(tokens, np.uint8).reshape(-1, TOKEN_SIZE)
    indices = pairs[:, 0]
    if indices.size and int(indices.max()) >= palette_size:
        position = int(np.argmax(indices >= palette_size))
        raise FormatError(
            f"token {position} has index {int(indices[position])}, not below palette_size "
            f"{palette_size}",
            field="index",
        )
    covered = len(pairs) + int(pairs[:, 1].sum(dtype=np.int64))
    if covered != pixel_count:
        relation = "overflow" if covered > pixel_count else "stop short of"
        raise FormatError(
            f"runs cover {covered} pixels and {relation} the image's {pixel_count}",
            field="runs",
        )
    return pairs


def run_lengths(pairs: np.ndarray) -> np.ndarray:
    """The pixels each token of a uint8 (tokens, 2) view covers: int64 (tokens,), 1 to 256."""
    return pairs[:, 1].astype(np.int64) + 1


def decode_runs(tokens: bytes, pixel_count: int, palette_size: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """Split and check a token stream (spec "Decoder rules" 20-21).

    Returns ``(indices, run_lengths)``: uint8 and int64 arrays of one element per token,
    whose run lengths sum to exactly ``pixel_count``.
    """
    pairs = check_tokens(tokens, pixel_count, palette_size)
    return pairs[:, 0], run_lengths(pairs)
