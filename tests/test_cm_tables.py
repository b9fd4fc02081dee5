"""Method cm's table_shrink (spec 5.3.1): small tables for models 1 to 3 and the match,
the same bytes from the reference and the OpenCL kernel, read by spec/decoder.py, and the
encoder's trial."""

import numpy as np
import pytest

from gcp import cm, cm_engine
from gcp.backends import cm_opencl
from gcp.errors import FormatError
from tests.conftest import requires_opencl
from tests.test_spec_decoder import spec_decoder


def textured(shape: tuple[int, int], k: int, seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """(palette uint8 (k, 3), indices uint8 ``shape``): a noisy diagonal ramp over k greys,
    whose contexts are many, so that small tables collide."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]]
    indices = ((xs + ys) * k // (shape[0] + shape[1]) + rng.integers(-2, 3, shape)) % k
    palette = np.repeat(np.linspace(0, 255, k).astype(np.uint8)[:, None], 3, axis=1)
    return palette, indices.astype(np.uint8)


def coded_data(indices: np.ndarray, palette: np.ndarray, first_byte: int,
               uu_offset: tuple[int, int]) -> bytes:
    """The reference's coded data of ``indices`` as one stripe with mode byte ``first_byte``."""
    return cm.code_stripe_data(indices, cm.PaletteTables(palette), first_byte, uu_offset)


def one_stripe_body(data: bytes, rows: int, first_byte: int,
                    uu_offset: tuple[int, int]) -> bytes:
    """A compact one-stripe body of ``rows`` rows holding coded ``data``."""
    return cm.join_stripes(rows, (1, 1, 1), [cm.stripe_prefix(first_byte, uu_offset) + data],
                           compact=True)


@pytest.mark.parametrize("table_shrink", [4, 6])
@pytest.mark.parametrize(("mode", "uu_offset"), [
    (cm.STRIPE_CODED, cm.TWO_UP), (cm.STRIPE_RANKS, cm.TWO_UP),
    (cm.STRIPE_CODED_SMOOTH, cm.TWO_UP), (cm.STRIPE_CODED_UU, (3, -1)),
    (cm.STRIPE_CODED_WIDE, cm.TWO_UP)])
@requires_opencl
def test_small_tables_code_alike_everywhere(mode, uu_offset, table_shrink):
    """The kernel's coded length is the reference's, and the reference, the kernel and
    spec/decoder.py all read the reference's stripe back; the tables being small
    changes the bytes (so a decoder that ignored table_shrink would fail here)."""
    palette, indices = textured((40, 70), 64)
    first_byte = cm.mode_byte(mode, table_shrink)
    reference = coded_data(indices, palette, first_byte, uu_offset)
    assert reference != coded_data(indices, palette, mode, uu_offset)
    body = one_stripe_body(reference, len(indices), first_byte, uu_offset)
    backend = cm_engine._opencl_backend("opencl", None)
    assert cm_opencl.coded_lengths(backend, indices, palette, (1, 1, 1),
                                   [(first_byte, uu_offset)]) == [len(reference)]
    height, width = indices.shape
    for engine in ("reference", "opencl"):
        decoded = cm_engine.decode(body, width, height, palette, engine=engine, compact=True)
        assert np.array_equal(decoded, indices), engine
    assert spec_decoder.decode_cm(body, width, height, palette.tobytes(), 64, 3,
                                  compact=True) == indices.ravel().tolist()


@requires_opencl
def test_the_whole_pipeline_writes_small_tables_the_spec_decoder_reads():
    """An image of TABLE_TRIAL_STRIPES stripes or more whose trial takes small tables: both
    engines write the same body, and spec/decoder.py decodes the file to its pixels."""
    palette, indices = textured((64, 48), 16, seed=9)
    stripe_height = 4  # 16 stripes
    bodies = [cm_engine.encode(indices, palette, engine=engine, stripe_height=stripe_height)
              for engine in ("reference", "opencl")]
    assert bodies[0] == bodies[1]
    _, _, stripes = cm.split_stripes(bodies[0], 48, 64, 3, 16)
    assert {cm.table_shrink_of(stripe[0]) for stripe in stripes} == {cm.SMALL_TABLE_SHRINK}
    decoded = spec_decoder.decode_cm(bodies[0], 48, 64, palette.tobytes(), 16, 3)
    assert decoded == indices.ravel().tolist()


@pytest.mark.parametrize(("full", "small", "expected"), [
    (1000, 1030, cm.SMALL_TABLE_SHRINK), (1000, 1031, 0), (1000, 900, cm.SMALL_TABLE_SHRINK),
    (None, 500, 0), (1000, None, 0)])
def test_the_trial_takes_small_tables_within_their_cost(full, small, expected):
    """SMALL_TABLE_SHRINK where the sample codes at most TABLE_TRIAL_COST times as long
    with it; the sample is the first half of the middle stripe's rows, coded once each
    way in the chosen coding."""
    palette, indices = textured((90, 20), 16)
    asked = []

    def lengths_of(sample, palette, weights, codings):
        asked.append((sample.shape, codings))
        return [full, small]

    coding = (cm.STRIPE_CODED_UU, (3, 1))
    assert cm.table_shrink_for(indices, palette, (1, 1, 1), 10, coding, lengths_of) == expected
    assert asked == [((5, 20), [(cm.STRIPE_CODED_UU, (3, 1)),
                                (cm.mode_byte(cm.STRIPE_CODED_UU, 4), (3, 1))])]


def test_no_trial_under_table_trial_stripes():
    """An image of fewer stripes (every image under 8 MP at the default stripe height)
    keeps the full tables, untried."""
    palette, indices = textured((70, 20), 16)

    def lengths_of(*_):
        raise AssertionError("tried")

    rows = -(-70 // (cm.TABLE_TRIAL_STRIPES - 1))
    assert cm.table_shrink_for(indices, palette, (1, 1, 1), rows, (0, cm.TWO_UP),
                               lengths_of) == 0


@pytest.mark.parametrize(("first_byte", "fits"), [
    (cm.mode_byte(cm.STRIPE_CODED, 6), True), (cm.mode_byte(cm.STRIPE_CODED, 7), False),
    (cm.mode_byte(cm.STRIPE_STORED, 1), False), (cm.mode_byte(cm.STRIPE_PACKED, 2), False),
    (0x78, False)])
def test_the_mode_byte_is_checked(first_byte, fits):
    """Rule 25: table_shrink at most MAX_TABLE_SHRINK, and 0 where nothing is coded."""
    stripe = bytes([first_byte]) + bytes(8)
    body = cm.join_stripes(2, (1, 1, 1), [stripe])
    if fits:
        cm.split_stripes(body, 4, 2, 3, 2)
        return
    with pytest.raises(FormatError) as raised:
        cm.split_stripes(body, 4, 2, 3, 2)
    assert raised.value.field == "cm_stripes"
    with pytest.raises(spec_decoder.InvalidFile):
        spec_decoder.read_stripes(body, 4, 2, 3, 2, False)


@requires_opencl
def test_coded_lengths_say_none_alike_where_the_coding_does_not_pay():
    """The reference's coded_lengths and the kernel's agree, None included: random
    indices of 256 colours code longer than their pixel count, a flat stripe shorter."""
    rng = np.random.default_rng(2)
    palette = rng.integers(0, 256, (256, 3)).astype(np.uint8)
    backend = cm_engine._opencl_backend("opencl", None)
    codings = [(cm.STRIPE_CODED, cm.TWO_UP), (cm.mode_byte(cm.STRIPE_CODED, 4), cm.TWO_UP)]
    for indices in (rng.integers(0, 256, (6, 40)).astype(np.uint8),
                    np.zeros((6, 40), np.uint8)):
        reference = cm.coded_lengths(indices, palette, (1, 1, 1), codings)
        assert cm_opencl.coded_lengths(backend, indices, palette, (1, 1, 1),
                                       codings) == reference
        assert (reference[0] is None) == bool(indices.any())
