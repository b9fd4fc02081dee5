"""The container (spec section 2): pack/unpack, and each header rule on a good file."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from gcp import container
from gcp.container import Header
from gcp.errors import FormatError, LimitError

PALETTE = np.array([[0, 0, 255], [255, 0, 0]], np.uint8)
TOKENS = bytes([0x02, 0x14])


def good_header(**changes) -> Header:
    fields = dict(version=1, channels=3, method=container.METHOD_RLE, flags=0, width=4,
                  height=2, palette_size=2, tokens_length=2, body_length=2)
    fields.update(changes)
    return Header(**fields)


def test_header_is_38_bytes():
    assert container.HEADER_SIZE == 38


def test_pack_then_unpack_gives_back_the_parts():
    data = container.pack(good_header(), PALETTE, TOKENS)
    header, palette, body = container.unpack(data)
    assert header == good_header()
    assert np.array_equal(palette, PALETTE)
    assert bytes(body) == TOKENS
    assert len(data) == header.file_length


def test_crc_is_zlib_crc32_of_everything_before_it():
    data = container.pack(good_header(), PALETTE, TOKENS)
    assert int.from_bytes(data[-4:], "little") == zlib.crc32(data[:-4])


@pytest.mark.parametrize(("offset", "fmt", "value", "field"), [
    (8, "<B", 0, "version"), (9, "<B", 7, "channels"), (10, "<B", 9, "method"),
    (11, "<B", 0x80, "flags"), (12, "<I", 0, "width"), (16, "<I", 0, "height"),
    (20, "<H", 300, "palette_size"), (22, "<Q", 9, "tokens_length"),
    (30, "<Q", 8, "body_length"),
])
def test_each_header_rule_names_its_field(offset, fmt, value, field):
    data = bytearray(container.pack(good_header(), PALETTE, TOKENS))
    struct.pack_into(fmt, data, offset, value)
    with pytest.raises(FormatError) as raised:
        container.parse_header(bytes(data))
    assert raised.value.field == field


def test_every_truncation_is_rejected():
    data = container.pack(good_header(), PALETTE, TOKENS)
    for length in range(len(data)):
        with pytest.raises(FormatError):
            container.unpack(data[:length])


def test_pixel_limit_is_checked_before_anything_else_is_trusted():
    header = good_header(width=100_000, height=100_000)
    data = container.pack(header, PALETTE, TOKENS)
    with pytest.raises(LimitError, match="over the limit"):
        container.unpack(data)


def test_pixel_limit_can_be_raised():
    header = good_header(width=4, height=2)
    data = container.pack(header, PALETTE, TOKENS)
    with pytest.raises(LimitError):
        container.unpack(data, max_pixels=7)
    container.unpack(data, max_pixels=8)


def test_tokens_length_bounds():
    assert container.token_stream_bounds(1, 16) == (1, 1)
    assert container.token_stream_bounds(16, 16) == (1, 16)
    assert container.token_stream_bounds(17, 16) == (2, 17)
    assert container.token_stream_bounds(1, 17) == (2, 2)
    assert container.token_stream_bounds(256, 17) == (2, 512)
    assert container.token_stream_bounds(257, 256) == (4, 514)
