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


def brute_force_tour(palette: np.ndarray) -> list[int]:
    """The nearest tour, one colour at a time in plain Python (spec section 7)."""
    colours = palette.astype(int).tolist()

    def squared_distance(a: list[int], b: list[int]) -> int:
        return sum((x - y) ** 2 for x, y in zip(a, b, strict=True))

    path = [min(range(len(colours)), key=lambda i: (sum(colours[i]), i))]
    while len(path) < len(colours):
        last = colours[path[-1]]
        path.append(min((i for i in range(len(colours)) if i not in path),
                        key=lambda i: (squared_distance(colours[i], last), i)))
    return path


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("size", [3, 17, 100])
def test_the_nearest_tour_steps_to_the_nearest_colour_left_each_time(channels, size):
    palette = RNG.integers(0, 256, (size, channels)).astype(np.uint8)
    palette[size // 2] = palette[1]  # a repeat: ties go to the first
    assert palette_code.nearest_tour(palette).tolist() == brute_force_tour(palette)


@pytest.mark.parametrize("size", [1, 2, 3, 64, 256])
def test_the_stored_order_is_the_given_one_unless_the_tour_codes_shorter(size):
    palette = np.unique(RNG.integers(0, 256, (size, 3)).astype(np.uint8), axis=0)
    order = palette_code.shortest_order(palette)
    assert sorted(order.tolist()) == list(range(len(palette)))
    given = len(palette_code.encode(palette))
    tour = palette_code.nearest_tour(palette) if len(palette) >= 3 else order
    if len(palette_code.encode(palette[tour])) < given:
        assert order.tolist() == tour.tolist()
    else:
        assert order.tolist() == list(range(len(palette)))
    assert len(palette_code.encode(palette[order])) <= given


def test_a_sorted_grey_ramp_keeps_its_order():
    grey_ramp = np.arange(0, 256, 3, dtype=np.uint8)[:, None]
    assert palette_code.shortest_order(grey_ramp).tolist() == list(range(len(grey_ramp)))


@pytest.mark.parametrize("method", ["rle", "lzma", "cm"])
def test_a_fitted_rgb_palette_is_stored_on_the_nearest_tour_where_that_codes_shorter(method):
    """256 colours of a ramp in three directions: sorted by its bytes the palette jumps in
    green and blue from one colour to the next; the tour codes shorter (560 bytes against
    627), and the file stores it."""
    ys, xs = np.mgrid[0:64, 0:64]
    image = np.dstack([xs * 4, ys * 4, (xs + ys) * 2]).astype(np.uint8)
    data = gcp.encode(image, 256, method=method, backend="numpy")
    stored = gcp.read_info(data).palette
    ascending = np.unique(stored, axis=0)
    assert len(ascending) == len(stored)
    assert stored.tolist() == ascending[palette_code.nearest_tour(ascending)].tolist()
    assert len(palette_code.encode(stored)) < len(palette_code.encode(ascending))
    assert np.array_equal(palette_code.decode(palette_code.encode(stored), 256, 3), stored)
