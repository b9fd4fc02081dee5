"""Run-length tokens (spec section 4): limits, row crossings, and round trips."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gcp import rle
from gcp.errors import FormatError


def tokens_of(indices) -> list[tuple[int, int]]:
    data = rle.encode_runs(np.array(indices, np.uint8))
    return [(data[i], data[i + 1]) for i in range(0, len(data), 2)]


def test_single_pixel():
    assert tokens_of([3]) == [(3, 0)]


def test_run_at_the_maximum_is_one_token():
    assert tokens_of([0] * rle.MAX_RUN) == [(0, 255)]


def test_run_one_past_the_maximum_takes_a_second_token():
    assert tokens_of([0] * (rle.MAX_RUN + 1)) == [(0, 255), (0, 0)]


def test_run_of_two_full_tokens_and_a_rest():
    assert tokens_of([5] * 600) == [(5, 255), (5, 255), (5, 87)]


def test_index_change_starts_a_token():
    assert tokens_of([0, 0, 1, 2, 2]) == [(0, 1), (1, 0), (2, 1)]


def test_runs_cross_row_ends():
    image = np.array([[0, 1, 1], [1, 1, 0]], np.uint8)
    assert tokens_of(image.ravel()) == [(0, 0), (1, 3), (0, 0)]


def test_decode_accepts_split_runs():
    indices, lengths = rle.decode_runs(bytes([0, 1, 0, 1]), 4, 1)
    assert indices.tolist() == [0, 0] and lengths.tolist() == [2, 2]


def test_decode_rejects_an_index_at_palette_size():
    with pytest.raises(FormatError, match="index 2") as raised:
        rle.decode_runs(bytes([0, 0, 2, 0]), 2, 2)
    assert raised.value.field == "index"


@pytest.mark.parametrize("pixel_count", [3, 5])
def test_decode_rejects_runs_that_do_not_cover_the_image(pixel_count):
    with pytest.raises(FormatError) as raised:
        rle.decode_runs(bytes([0, 3]), pixel_count, 1)
    assert raised.value.field == "runs"


def test_decode_rejects_half_a_token():
    with pytest.raises(FormatError):
        rle.decode_runs(bytes([0, 3, 1]), 4, 2)


@given(st.lists(st.tuples(st.integers(0, 255), st.integers(1, 700)), min_size=1, max_size=30))
def test_round_trip(runs):
    indices = np.concatenate([np.full(length, value, np.uint8) for value, length in runs])
    tokens = rle.encode_runs(indices)
    values, lengths = rle.decode_runs(tokens, len(indices), 256)
    assert np.array_equal(np.repeat(values, lengths), indices)
    # Merged runs: every token but a full one changes index.
    pairs = np.frombuffer(tokens, np.uint8).reshape(-1, 2)
    same_as_next = pairs[:-1, 0] == pairs[1:, 0]
    assert np.all(pairs[:-1, 1][same_as_next] == 255)
