"""The coded palette (spec/format.md 2.7.1): gcp/palette_code.py, the container's choice,
and spec/decoder.py reading what gcp writes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gcp
from gcp import container, palette_code
from gcp.errors import FormatError
from tests.test_spec_decoder import spec_decoder

RNG = np.random.default_rng(29)


def random_palette(size: int, channels: int, sorted_rows: bool) -> np.ndarray:
    palette = RNG.integers(0, 256, (size, channels)).astype(np.uint8)
    return np.unique(palette, axis=0) if sorted_rows else palette


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("size", [1, 2, 17, 256])
@pytest.mark.parametrize("sorted_rows", [False, True])
def test_a_palette_decodes_to_itself(channels, size, sorted_rows):
    palette = random_palette(size, channels, sorted_rows)
    code = palette_code.encode(palette)
    assert palette_code.decode(code, len(palette), channels).tolist() == palette.tolist()


def test_every_difference_and_escape_round_trips():
    """Each of the 256 differences after each of 256 values, with m driven up by large
    differences first (k up to 7) and down by zeros (k 0): escapes and Rice codes both."""
    values = np.concatenate([np.arange(256), np.zeros(40, int), (np.arange(256) * 97) % 256,
                             np.full(8, 128), np.arange(256)[::-1]]).astype(np.uint8)
    palette = values[:, None]
    code = palette_code.encode(palette)
    assert palette_code.decode(code, len(palette), 1).tolist() == palette.tolist()


def test_a_sorted_grey_palette_takes_the_second_order():
    """250 greys in steps of 1 and 2, as the fit gives a grey photograph: the code's order
    bit is 1 and most values take one bit, about a third of the first order's bytes."""
    greys = np.cumsum(1 + (RNG.random(250) < 0.02)).astype(np.uint8)[:, None]
    code = palette_code.encode(greys)
    first_order = "".join(palette_code.channel_codes(greys[:, 0].tolist(), False))
    assert code[0] >> 7 == 1
    assert len(code) < 0.4 * len(first_order) / 8
    assert palette_code.decode(code, len(greys), 1).tolist() == greys.tolist()


def test_each_channel_takes_its_own_order():
    """A sorted first channel beside two random walks, whose steps do not repeat: order
    bits 1, 0, 0."""
    walks = 128 + np.cumsum(RNG.integers(-6, 7, (128, 2)), axis=0)
    palette = np.column_stack([np.arange(0, 256, 2), walks])
    code = palette_code.encode(palette.astype(np.uint8))
    assert code[0] >> 5 == 0b100
    assert palette_code.decode(code, 128, 3).tolist() == palette.tolist()


def test_rice_parameter_and_running_sum_stay_in_their_ranges():
    m = palette_code.PALETTE_RICE_START
    for z in [255] * 50 + [0] * 50 + list(range(256)):
        m = palette_code.next_sum(m, z)
        assert 0 <= m <= 1023
        assert 0 <= palette_code.rice_parameter(m) <= 7


@given(st.binary(max_size=40), st.integers(1, 12), st.integers(1, 4))
@settings(max_examples=400, deadline=None)
def test_any_bytes_decode_as_the_spec_decoder_reads_them_or_raise_format_error_alone(
        code, size, channels):
    """gcp and spec/decoder.py, written from the spec alone, agree on any code: the same
    palette, or both refuse it (rule 29)."""
    spec = spec_decoder
    try:
        expected = spec.decode_palette(code, size, channels)
    except spec.InvalidFile as refusal:
        assert refusal.field == "palette_code"
        with pytest.raises(FormatError) as raised:
            palette_code.decode(code, size, channels)
        assert raised.value.field == "palette_code"
        return
    assert palette_code.decode(code, size, channels).tobytes() == expected


def test_the_encoder_codes_the_palette_where_that_is_shorter_and_only_there():
    grey_ramp = np.arange(256, dtype=np.uint8)[:, None]
    one_colour = np.array([[7, 8, 9]], np.uint8)
    assert container.palette_flags(0, grey_ramp) == container.FLAG_CODED_PALETTE
    assert container.palette_flags(container.FLAG_CODED_PALETTE, one_colour) == 0
    assert container.palette_flags(container.FLAG_EXACT, grey_ramp) == (
        container.FLAG_EXACT | container.FLAG_CODED_PALETTE)


@pytest.mark.parametrize("method", ["rle", "lzma", "cm"])
def test_gcp_writes_coded_palettes_that_it_and_the_spec_decoder_read(method):
    ys, xs = np.mgrid[0:24, 0:40]
    image = np.dstack([xs * 6, ys * 10, (xs + ys) * 4]).astype(np.uint8)
    data = gcp.encode(image, 64, method=method)
    header, palette, _ = container.unpack(data)
    assert header.coded_palette
    assert header.palette_length == 2 + header.palette_code_length < palette.size
    assert gcp.read_info(data).palette_code_length == header.palette_code_length
    decoded = gcp.decode(data)
    width, height, channels, pixels = spec_decoder.decode(data)
    assert (width, height, channels) == (40, 24, 3)
    assert pixels == decoded.tobytes()
    raw = container.pack(dataclasses.replace(header, flags=header.flags
                                             & ~container.FLAG_CODED_PALETTE),
                         palette, bytes(container.unpack(data)[2]))
    assert len(raw) == len(data) + palette.size - header.palette_length
    assert np.array_equal(gcp.decode(raw), decoded)


def test_a_palette_code_cut_short_or_padded_is_refused_naming_its_field():
    grey_ramp = np.arange(200, dtype=np.uint8)[:, None]
    code = palette_code.encode(grey_ramp)
    for cut in range(len(code)):
        with pytest.raises(FormatError) as raised:
            palette_code.decode(code[:cut], 200, 1)
        assert raised.value.field == "palette_code"
    with pytest.raises(FormatError, match="unread"):
        palette_code.decode(code + b"\x00", 200, 1)
