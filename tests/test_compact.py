"""The compact form (spec 2.10): varint header fields and method cm's varint framing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import gcp
from gcp import cm, cm_engine, container, varint
from gcp.container import FLAG_COMPACT, METHOD_CM, Header
from tests.conftest import requires_opencl
from tests.test_spec_decoder import spec_decoder

RNG = np.random.default_rng(210)


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 16383, 16384, 2**32 - 1, 2**63,
                                   2**64 - 1])
def test_varints_read_back_what_they_write(value):
    written = varint.encode(value)
    assert len(written) == max(1, -(-value.bit_length() // 7))
    assert varint.read(written + b"\xff", 0, 10, 2**64 - 1, "f", "f") == (value, len(written))


@pytest.mark.parametrize(("data", "reason"), [
    (b"\x80\x00", "shortest form"), (b"\x80\x80\x04", "at most"), (b"\x80", "past the end"),
    (b"\x80\x80\x80\x80\x80\x01", "more than 5 bytes")])
def test_a_bad_varint_names_the_field(data, reason):
    with pytest.raises(gcp.FormatError, match=reason) as raised:
        varint.read(data, 0, 5, 2**16 - 1, "width", "width")
    assert raised.value.field == "width"


def test_the_encoder_writes_the_compact_form_and_it_is_shorter():
    image = RNG.integers(0, 4, (20, 300, 3), np.uint8) * 60
    for method in ("rle", "lzma", "cm"):
        data = gcp.encode(image, k=4, method=method, backend="numpy")
        header = container.unpack(data)[0]
        assert header.compact and header.header_length == 12 + 2 + 1 + 1 + \
            len(varint.encode(header.tokens_length)) + len(varint.encode(header.body_length))
        fixed_header = dataclasses.replace(header, flags=header.flags & ~FLAG_COMPACT)
        assert fixed_header.header_length == container.HEADER_SIZE
        assert len(data) == header.file_length < fixed_header.file_length
        assert spec_decoder.decode(data)[3] == gcp.decode(data).tobytes()


@pytest.mark.parametrize("fields", [
    dict(width=1, height=1, palette_size=1, tokens_length=1, body_length=1),
    dict(width=2**32 - 1, height=2**32 - 1, palette_size=256, tokens_length=2**64 - 1,
         body_length=2**64 - 1),
    dict(width=128, height=16384, palette_size=129, tokens_length=0, body_length=2**35)])
def test_compact_headers_parse_back(fields):
    method = METHOD_CM if fields["tokens_length"] == 0 else container.METHOD_LZMA
    header = Header(version=1, channels=3, method=method, flags=FLAG_COMPACT, **fields)
    written = container.header_bytes(header)
    assert len(written) == header.header_length <= container.MAX_COMPACT_HEADER_SIZE
    assert container.compact_header_end(written) == len(written)
    if fields["width"] * fields["height"] > container.DEFAULT_MAX_PIXELS or method != METHOD_CM:
        return  # the token bounds and pixel limit are other rules' business
    assert container.parse_header(written) == header


def test_a_truncated_compact_header_is_a_length_error_at_every_cut():
    data = gcp.encode(RNG.integers(0, 255, (9, 200, 3), np.uint8), k=8, backend="numpy")
    end = container.compact_header_end(data)
    for cut in range(container.COMPACT_PREFIX_SIZE, end):
        with pytest.raises(gcp.FormatError) as raised:
            container.parse_header(data[:cut])
        assert raised.value.field == "length"
        with pytest.raises(spec_decoder.InvalidFile) as refused:
            spec_decoder.decode(data[:cut])
        assert refused.value.field == "length"


def reframed(body: bytes, width: int, height: int, palette: np.ndarray) -> bytes:
    """A fixed-form cm body in the compact form's framing, stripes and blocks alike."""
    block_width, block_height, inner = cm.split_blocks(body)
    if block_width * block_height > 1:
        return cm.join_blocks(block_width, block_height, reframed(
            bytes(inner), -(-width // block_width), -(-height // block_height), palette),
            compact=True)
    stripe_height, weights, stripes = cm.split_stripes(body, width, height, palette.shape[1],
                                                       len(palette))
    return cm.join_stripes(stripe_height, weights, [bytes(s) for s in stripes], compact=True)


@pytest.mark.parametrize(("height", "width", "stripe_height", "blocks"), [
    (1, 1, 1, 1), (30, 17, 7, 1), (40, 9, 40, 1), (24, 36, 5, 3), (200, 3, 1, 1)])
@requires_opencl
def test_compact_cm_bodies_hold_the_same_stripes(height, width, stripe_height, blocks):
    """Both engines write the compact framing around the same stripes as the fixed one,
    and every decoder reads it."""
    palette = np.sort(RNG.integers(0, 256, (5, 3)).astype(np.uint8), axis=0)
    small = RNG.integers(0, 5, (-(-height // blocks), -(-width // blocks)), np.uint8)
    indices = np.ascontiguousarray(np.repeat(np.repeat(small, blocks, 0), blocks, 1)
                                   [:height, :width])
    engines = ("reference", "opencl")
    for engine in engines:
        fixed = cm_engine.encode(indices, palette, engine=engine, stripe_height=stripe_height)
        compact = cm_engine.encode(indices, palette, engine=engine,
                                   stripe_height=stripe_height, compact=True)
        assert compact == reframed(fixed, width, height, palette)
        assert len(compact) < len(fixed)
        for decoding in engines:
            assert np.array_equal(cm_engine.decode(compact, width, height, palette,
                                                   engine=decoding, compact=True), indices)
        assert spec_decoder.decode_cm(compact, width, height, palette.tobytes(), 5, 3,
                                      compact=True) == indices.ravel().tolist()


def test_a_fixed_form_cm_body_is_refused_as_compact_and_the_other_way():
    """The flag decides the framing: the other form's body is not quietly misread."""
    palette = np.array([[0, 0, 0], [255, 255, 255]], np.uint8)
    indices = RNG.integers(0, 2, (6, 40), np.uint8)
    fixed = cm.encode_body(indices, palette, 3)
    compact = cm.encode_body(indices, palette, 3, compact=True)
    for body, as_compact in ((fixed, True), (compact, False)):
        with pytest.raises(gcp.FormatError) as raised:
            cm.decode_body(body, 40, 6, palette, compact=as_compact)
        assert raised.value.field in ("cm_stripes", "cm_data", "cm_rank")


def test_a_small_image_costs_less_than_webp_framing_would():
    """The figure behind 2.10: a 64 x 64 checkerboard of 4-pixel squares, 71 bytes in
    the fixed form, is 36 in the compact one."""
    squares = (np.indices((64, 64)) // 4).sum(axis=0) % 2 * 255
    data = gcp.encode(squares.astype(np.uint8)[:, :, None], k=2, method="cm",
                      backend="numpy")
    assert len(data) == 36
