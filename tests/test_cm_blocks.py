"""Method cm's blocks (spec 5.3.1): a nearest-neighbour enlargement is coded at its own
size behind a 6-byte prefix, by both engines alike."""

from __future__ import annotations

import numpy as np
import pytest

import gcp
from gcp import cm, cm_engine
from gcp.errors import FormatError
from tests.conftest import requires_opencl

RNG = np.random.default_rng(17)
PALETTE = np.array([[0, 0, 0], [255, 255, 255], [200, 40, 40], [40, 40, 200]], np.uint8)


def enlargement(columns: int, rows: int, block_width: int, block_height: int,
                width: int | None = None, height: int | None = None) -> np.ndarray:
    """uint8 indices: a random image of blocks spread over its blocks, cut to size."""
    blocks = RNG.integers(0, 4, (rows, columns)).astype(np.uint8)
    return cm.enlarged(blocks, block_width, block_height, width or columns * block_width,
                       height or rows * block_height)


@pytest.mark.parametrize(("block_width", "block_height", "width", "height"),
                         [(8, 8, 392, 392), (3, 2, 20, 9), (1, 5, 7, 23), (6, 1, 35, 4)])
def test_block_size_finds_the_enlargement(block_width, block_height, width, height):
    indices = enlargement(-(-width // block_width), -(-height // block_height), block_width,
                          block_height, width, height)
    found = cm.block_size(indices)
    # a larger block the random image happens to allow is a multiple of the one made
    assert found[0] % block_width == 0 and found[1] % block_height == 0
    assert np.array_equal(cm.enlarged(cm.blocks_of(indices, *found), *found, width, height),
                          indices)


def test_block_size_of_noise_is_one_and_of_one_colour_the_most_a_byte_holds():
    assert cm.block_size(RNG.integers(0, 4, (50, 60)).astype(np.uint8)) == (1, 1)
    assert cm.block_size(np.zeros((300, 10), np.uint8)) == (10, 255)


def test_a_period_over_255_takes_its_largest_divisor_up_to_255():
    indices = np.zeros((4, 1200), np.uint8)
    indices[:, 600:] = 1  # one change, at 600: blocks of 200 divide it
    assert cm.block_size(indices)[0] == 200


@pytest.mark.parametrize("engine", ["reference", "opencl"])
@requires_opencl
def test_an_enlargement_is_coded_as_its_blocks_and_decoded_whole(engine):
    indices = enlargement(40, 35, 8, 8, 317, 279)  # over BLOCK_TRIAL_PIXELS: blocks taken
    assert indices.size > cm.BLOCK_TRIAL_PIXELS
    body = cm_engine.encode(indices, PALETTE, engine=engine)
    assert body[:6] == bytes([0, 0, 0, 0, 8, 8])
    assert body[6:] == cm_engine.encode(cm.blocks_of(indices, 8, 8), PALETTE, engine=engine)
    assert np.array_equal(cm_engine.decode(body, 317, 279, PALETTE, engine=engine), indices)


@requires_opencl
def test_both_engines_write_and_read_the_same_blocked_bodies():
    for indices in (enlargement(30, 20, 3, 2, 88, 39), enlargement(64, 40, 5, 4)):
        reference = cm_engine.encode(indices, PALETTE, engine="reference")
        assert reference == cm_engine.encode(indices, PALETTE, engine="opencl")
        height, width = indices.shape
        assert np.array_equal(cm_engine.decode(reference, width, height, PALETTE,
                                               engine="opencl"), indices)


def test_a_small_image_keeps_blocks_only_where_they_are_shorter():
    example = np.array([[0, 0, 0, 1], [1, 1, 1, 1]], np.uint8)  # blocks of 3 x 1 exist
    assert cm.block_size(example) == (3, 1)
    assert cm.encode_body(example, PALETTE[:2])[:4] != bytes(4)
    grid = enlargement(20, 20, 8, 8)
    assert cm.encode_body(grid, PALETTE)[:4] == bytes(4)


@requires_opencl
def test_a_qr_like_image_is_smaller_than_without_blocks():
    modules = RNG.integers(0, 2, (49, 49)).astype(np.uint8)
    indices = modules.repeat(8, 0).repeat(8, 1)
    palette = np.array([[0], [255]], np.uint8)
    blocked = cm_engine.encode(indices, palette, engine="opencl")
    assert blocked[:6] == bytes([0, 0, 0, 0, 8, 8])
    plain = cm.join_stripes(392, *cm.weighted_stripes(indices, palette, 392,
                                                      cm.reference_codings))
    assert len(blocked) < len(plain) / 2
    image = (indices * 255)[:, :, None].astype(np.uint8)
    assert np.array_equal(gcp.decode(gcp.encode(image, 2, method="cm")), image)


@pytest.mark.parametrize(("prefix", "why"), [
    (b"\0\0\0\0\x02", "no block_height"),
    (b"\0\0\0\0\x00\x02", "a side of 0"),
    (b"\0\0\0\0\x01\x01", "two sides of 1"),
])
def test_a_bad_block_prefix_is_refused_by_both_engines(prefix, why):
    body = prefix + cm.encode_body(enlargement(4, 4, 1, 1), PALETTE)
    for engine in ("reference", "opencl"):
        with pytest.raises(FormatError) as caught:
            cm_engine.decode(body, 8, 8, PALETTE, engine=engine)
        assert caught.value.field == "cm_stripes", why


def test_blocks_within_blocks_are_refused():
    inner = cm.encode_body(enlargement(6, 5, 1, 1), PALETTE)
    body = cm.join_blocks(2, 1, cm.join_blocks(2, 1, inner))
    for engine in ("reference", "opencl"):
        with pytest.raises(FormatError) as caught:
            cm_engine.decode(body, 24, 5, PALETTE, engine=engine)
        assert caught.value.field == "cm_stripes"
