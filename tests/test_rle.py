"""Run-length tokens (spec section 4): both forms, their limits, row crossings, round trips."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gcp import rle
from gcp.errors import FormatError

SHORT = 16  # palette sizes that take one-byte tokens
LONG = 17  # and two-byte tokens


def tokens_of(indices, palette_size) -> list[tuple[int, int]]:
    """(index, run-1) of each token."""
    data = rle.encode_runs(np.array(indices, np.uint8), palette_size)
    if rle.token_size(palette_size) == 1:
        return [(byte >> 4, byte & 15) for byte in data]
    return [(data[i], data[i + 1]) for i in range(0, len(data), 2)]


@pytest.mark.parametrize(("palette_size", "size", "longest"), [
    (1, 1, 16), (16, 1, 16), (17, 2, 256), (256, 2, 256)])
def test_token_form_follows_palette_size(palette_size, size, longest):
    assert rle.token_size(palette_size) == size
    assert rle.max_run(palette_size) == longest


def test_short_token_packs_index_and_run_in_one_byte():
    assert rle.encode_runs(np.array([15, 15, 15], np.uint8), SHORT) == bytes([0xF2])
    assert rle.encode_runs(np.array([1], np.uint8), 2) == bytes([0x10])


@pytest.mark.parametrize(("palette_size", "longest"), [(SHORT, 16), (LONG, 256)])
def test_run_at_the_maximum_is_one_token(palette_size, longest):
    assert tokens_of([0] * longest, palette_size) == [(0, longest - 1)]


@pytest.mark.parametrize(("palette_size", "longest"), [(SHORT, 16), (LONG, 256)])
def test_run_one_past_the_maximum_takes_a_second_token(palette_size, longest):
    assert tokens_of([0] * (longest + 1), palette_size) == [(0, longest - 1), (0, 0)]


def test_long_run_of_two_full_tokens_and_a_rest():
    assert tokens_of([5] * 600, LONG) == [(5, 255), (5, 255), (5, 87)]


def test_short_run_of_full_tokens_and_a_rest():
    assert tokens_of([5] * 40, SHORT) == [(5, 15), (5, 15), (5, 7)]


@pytest.mark.parametrize("palette_size", [SHORT, LONG])
def test_index_change_starts_a_token(palette_size):
    assert tokens_of([0, 0, 1, 2, 2], palette_size) == [(0, 1), (1, 0), (2, 1)]


@pytest.mark.parametrize("palette_size", [SHORT, LONG])
def test_runs_cross_row_ends(palette_size):
    image = np.array([[0, 1, 1], [1, 1, 0]], np.uint8)
    assert tokens_of(image.ravel(), palette_size) == [(0, 0), (1, 3), (0, 0)]


def decode(tokens: bytes, pixel_count: int, palette_size: int) -> np.ndarray:
    checked = rle.check_tokens(tokens, pixel_count, palette_size)
    return rle.expand_tokens(checked, pixel_count, palette_size)


def test_decode_accepts_split_runs():
    assert decode(bytes([0x01, 0x01]), 4, 1).tolist() == [0, 0, 0, 0]
    assert decode(bytes([0, 1, 0, 1]), 4, LONG).tolist() == [0, 0, 0, 0]


def test_expansion_crosses_its_steps(monkeypatch):
    monkeypatch.setattr(rle, "TOKENS_PER_STEP", 3)
    indices = np.repeat(np.arange(10, dtype=np.uint8) % 4, np.arange(1, 11))
    assert np.array_equal(decode(rle.encode_runs(indices, 4), len(indices), 4), indices)


@pytest.mark.parametrize(("tokens", "palette_size"), [
    (bytes([0x00, 0x20]), 2), (bytes([0, 0, 17, 0]), LONG)])
def test_decode_rejects_an_index_at_palette_size(tokens, palette_size):
    with pytest.raises(FormatError, match="index") as raised:
        rle.check_tokens(tokens, 2, palette_size)
    assert raised.value.field == "index"


@pytest.mark.parametrize("pixel_count", [3, 5])
def test_decode_rejects_runs_that_do_not_cover_the_image(pixel_count):
    with pytest.raises(FormatError) as raised:
        rle.check_tokens(bytes([0x03]), pixel_count, 1)
    assert raised.value.field == "runs"


def test_decode_rejects_half_a_long_token():
    with pytest.raises(FormatError):
        rle.check_tokens(bytes([0, 3, 1]), 4, LONG)


@given(st.sampled_from([1, 2, 16, 17, 256]),
       st.lists(st.tuples(st.integers(0, 255), st.integers(1, 700)), min_size=1, max_size=30))
def test_round_trip(palette_size, runs):
    indices = np.concatenate([np.full(length, value % palette_size, np.uint8)
                              for value, length in runs])
    tokens = rle.encode_runs(indices, palette_size)
    assert np.array_equal(decode(tokens, len(indices), palette_size), indices)
    # Merged runs: every token but a full one changes index.
    values, runs = rle.split_tokens(tokens, palette_size)
    full = rle.max_run(palette_size)
    same_as_next = values[:-1] == values[1:]
    assert np.all(runs[:-1][same_as_next].astype(int) + 1 == full)


def naive_tokens(indices: list[int], palette_size: int) -> list[tuple[int, int]]:
    """(index, run-1) of each token, run by run in a loop, as spec section 4 reads."""
    longest, tokens, at = rle.max_run(palette_size), [], 0
    while at < len(indices):
        run = 1
        while at + run < len(indices) and indices[at + run] == indices[at]:
            run += 1
        for _ in range(run // longest):
            tokens.append((indices[at], longest - 1))
        if run % longest:
            tokens.append((indices[at], run % longest - 1))
        at += run
    return tokens


@pytest.mark.parametrize("block", [1, 2, 3, 16, 17, 256, 1 << 20])
@pytest.mark.parametrize("palette_size", [2, SHORT, LONG, 256])
def test_tokens_are_the_same_whatever_the_blocks_the_encoder_takes(monkeypatch, block,
                                                                   palette_size):
    """encode_runs codes ENCODE_BLOCK pixels at a time; runs that go on over one block
    or several, and runs longer than a token holds, come out as if coded at once."""
    monkeypatch.setattr(rle, "ENCODE_BLOCK", block)
    rng = np.random.default_rng(block + palette_size)
    for _ in range(30):
        values = rng.integers(0, palette_size, 12)
        runs = rng.choice([1, 2, 5, 15, 16, 17, 255, 256, 257, 700], 12)
        indices = np.repeat(values, runs)[:int(rng.integers(1, 3000))].tolist()
        assert tokens_of(indices, palette_size) == naive_tokens(indices, palette_size)
