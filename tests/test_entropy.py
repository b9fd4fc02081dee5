"""Method lzma (spec section 5.2): chunks, bounds, and independence from thread count."""

from __future__ import annotations

import os

import numpy as np
import pytest

from gcp import entropy
from gcp.errors import FormatError

CHUNK = entropy.LZMA_CHUNK_LENGTH


@pytest.mark.parametrize(("length", "expected"), [
    (2, [2]), (CHUNK, [CHUNK]), (CHUNK + 2, [CHUNK, 2]), (3 * CHUNK, [CHUNK] * 3)])
def test_chunk_lengths(length, expected):
    assert entropy.chunk_lengths(length) == expected


def random_tokens(length: int) -> bytes:
    rng = np.random.default_rng(length)
    return rng.integers(0, 4, length, dtype=np.uint8).tobytes()


@pytest.mark.parametrize("length", [2, CHUNK, CHUNK + 2, 2 * CHUNK + 10])
def test_round_trip_across_chunk_boundaries(length):
    tokens = random_tokens(length)
    body = entropy.compress_tokens(tokens)
    assert len(entropy.split_chunks(body, length)) == len(entropy.chunk_lengths(length))
    assert entropy.decompress_tokens(body, length).tobytes() == tokens


def test_output_does_not_depend_on_the_number_of_cores(monkeypatch):
    tokens = random_tokens(2 * CHUNK + 100)
    parallel = entropy.compress_tokens(tokens)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert entropy.compress_tokens(tokens) == parallel


def test_each_chunk_is_a_plain_lzma_alone_stream():
    import lzma

    tokens = random_tokens(CHUNK + 6)
    body = entropy.compress_tokens(tokens)
    pieces = [lzma.decompress(bytes(stream), format=lzma.FORMAT_ALONE)
              for stream in entropy.split_chunks(body, len(tokens))]
    assert b"".join(pieces) == tokens


@pytest.mark.parametrize("length", [1, 4096, 4097, 70_000, CHUNK])
def test_the_encoder_writes_a_dictionary_size_the_spec_allows(length):
    stream = entropy.compress_chunk(random_tokens(length))
    size = int.from_bytes(stream[1:5], "little")
    assert entropy.MIN_LZMA_DICTIONARY_SIZE <= size <= entropy.MAX_LZMA_DICTIONARY_SIZE
    assert size % 16 == 0 and size >= min(length, entropy.MAX_LZMA_DICTIONARY_SIZE)


@pytest.mark.parametrize("size, allowed", [(0, False), (2048, False), (4095, False),
                                           (4096, True), (4104, False), (4112, True),
                                           (8190, False), (1 << 20, True),
                                           ((1 << 20) + 16, False), (2**32 - 16, False)])
def test_dictionary_size_is_a_multiple_of_16_from_4_kib_to_1_mib(size, allowed):
    """Rule 17: only the sizes on which the LZMA SDK and liblzma draw the same line."""
    stream = bytearray(entropy.compress_chunk(bytes(100)))
    stream[1:5] = size.to_bytes(4, "little")
    if allowed:
        entropy.check_lzma_header(bytes(stream), 100)
        return
    with pytest.raises(FormatError, match="multiple of 16") as raised:
        entropy.check_lzma_header(bytes(stream), 100)
    assert raised.value.field == "lzma_dictionary_size"


def test_a_chunk_cannot_expand_past_its_length():
    stream = entropy.compress_chunk(bytes(1000))
    with pytest.raises(FormatError, match="expands past") as raised:
        entropy.decompress_chunk(stream, 10)
    assert raised.value.field == "lzma_data"


@pytest.mark.parametrize("token_size", [1, 2])
def test_settings_all_round_trip(token_size):
    tokens = random_tokens(5000)
    for setting in entropy.LZMA_ENCODER_SETTINGS:
        body = entropy.compress_tokens(tokens, token_size=token_size, setting=setting)
        assert entropy.decompress_tokens(body, len(tokens)).tobytes() == tokens


@pytest.mark.parametrize(("token_size", "properties"), [(1, 4), (2, (1 * 5 + 1) * 9 + 3)])
def test_literal_context_follows_the_token_size(token_size, properties):
    stream = entropy.compress_chunk(random_tokens(100), token_size=token_size)
    assert stream[0] == properties
