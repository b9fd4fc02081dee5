"""Method cm's STRIPE_CODED_UU (spec 5.3.1, 5.3.2): a stripe that moves its neighbour UU
from two rows up to an offset it gives, for ordered dither and other patterns that repeat
a few rows up; written and read alike by both engines and the spec's decoder."""

from __future__ import annotations

import numpy as np
import pytest

import gcp
from gcp import cm, cm_engine
from gcp.backends import cm_opencl
from gcp.errors import FormatError
from tests.conftest import requires_opencl
from tests.test_cm import recorded_codings
from tests.test_spec_decoder import spec_decoder

RNG = np.random.default_rng(61)
BAYER_4 = np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]])


def dithered_ramp(height: int, width: int, levels: int, diagonal: bool = False) -> np.ndarray:
    """uint8 (height, width) indices 0 to levels - 1: a ramp across (or along the
    diagonal) ordered-dithered by the 4 x 4 Bayer matrix."""
    ys, xs = np.mgrid[0:height, 0:width]
    ramp = (xs + ys if diagonal else xs) / ((width + height if diagonal else width) - 1)
    threshold = (BAYER_4[ys % 4, xs % 4] + 0.5) / 16
    return np.minimum(np.floor(ramp * (levels - 1) + threshold), levels - 1).astype(np.uint8)


def palette_of(k: int, channels: int) -> np.ndarray:
    return np.sort(RNG.integers(0, 256, (k, channels)).astype(np.uint8), axis=0)


def coded_with(indices: np.ndarray, palette: np.ndarray, stripe_height: int,
               uu_offset: tuple[int, int] | None, engine: str) -> bytes:
    """The body of ``indices`` with every stripe's UU at ``uu_offset`` (None: two rows
    up), whatever the encoder would choose."""
    weights = cm.unit_weights(palette)
    if engine == "reference":
        stripes = cm.reference_stripes(indices, palette, weights, stripe_height,
                                       uu_offset=uu_offset)
    else:
        backend = cm_engine._opencl_backend("opencl", None)
        stripes = cm_opencl.encode_stripes(backend, indices, palette, weights, stripe_height,
                                           False, uu_offset)
    return cm.join_stripes(stripe_height, weights, stripes)


@pytest.mark.parametrize(("channels", "k"), [(1, 2), (3, 4), (2, 17), (4, 256)])
@pytest.mark.parametrize("uu_offset", [(4, 0), (4, 4), (3, -5), (1, 7), (2, -128),
                                       (255, 127)])
@requires_opencl
def test_both_engines_and_the_spec_decoder_agree_on_any_offset(channels, k, uu_offset,
                                                               monkeypatch):
    """Offsets up, across either way, past the row's ends and past the stripe's top; every
    stripe kept in STRIPE_CODED_UU, shorter or not."""
    indices = dithered_ramp(21, 30, min(k, 3), diagonal=True)
    noise = RNG.random(indices.shape) < 0.1
    indices[noise] = RNG.integers(0, k, int(noise.sum()))
    palette = palette_of(k, channels)
    monkeypatch.setattr(cm, "best_stripe", lambda indices, coded, palette_size:
                        coded[0][0] + coded[0][1])
    body = coded_with(indices, palette, 8, uu_offset, "reference")
    assert body == coded_with(indices, palette, 8, uu_offset, "opencl")
    _, _, stripes = cm.split_stripes(body, 30, 21, channels, k)
    assert [(s[0], cm.stripe_uu_offset(s)) for s in stripes] == \
        [(cm.STRIPE_CODED_UU, uu_offset)] * 3
    for engine in ("reference", "opencl"):
        assert np.array_equal(cm_engine.decode(body, 30, 21, palette, engine=engine), indices)
    assert spec_decoder.decode_cm(bytes(body), 30, 21, palette.tobytes(), k,
                                  channels) == indices.ravel().tolist()


@requires_opencl
def test_the_offset_is_part_of_the_stripe():
    """The same coded data read with another offset fails or gives other indices: the
    offset changes every neighbourhood that reads UU."""
    indices = dithered_ramp(24, 32, 3, diagonal=True)
    palette = palette_of(3, 1)
    body = bytearray(coded_with(indices, palette, 24, (4, 4), "opencl"))
    at = cm.CM_STRIPE_HEADER_SIZE + 1 + cm.CM_STRIPE_LENGTH_SIZE
    assert bytes(body[at:at + 3]) == bytes([cm.STRIPE_CODED_UU, 4, 4])
    for other in ((2, 0), (4, 252), (5, 4)):
        body[at + 1:at + 3] = bytes(other)
        for engine in ("reference", "opencl"):
            try:
                decoded = cm_engine.decode(bytes(body), 32, 24, palette, engine=engine)
            except FormatError:
                continue
            assert not np.array_equal(decoded, indices), (other, engine)


@requires_opencl
def test_two_rows_up_as_an_offset_differs_from_the_plain_coding_by_its_row_bits():
    """STRIPE_CODED_UU with (2, 0) reads the neighbours STRIPE_CODED does, and adds a bit a
    row from the third: on rows that never repeat, a few bytes more, and the same pixels."""
    indices = dithered_ramp(40, 48, 3)
    indices[2:] = np.where(RNG.random((38, 48)) < 0.2, RNG.integers(0, 3, (38, 48)),
                           indices[2:])
    palette = palette_of(3, 3)
    tables = cm.PaletteTables(palette, (1, 1, 1))
    plain = cm.code_stripe_data(indices, tables, cm.STRIPE_CODED)
    with_bits = cm.code_stripe_data(indices, tables, cm.STRIPE_CODED_UU, cm.TWO_UP)
    assert with_bits != plain and len(plain) <= len(with_bits) <= len(plain) + 8
    body = cm.join_stripes(40, (1, 1, 1), [cm.stripe_prefix(cm.STRIPE_CODED_UU) + with_bits])
    assert np.array_equal(cm_engine.decode(body, 48, 40, palette, engine="opencl"), indices)


def test_the_search_finds_where_a_pattern_repeats():
    """A tile of 5 x 3 (5 colours in each row, the rows shifted) repeated: every pixel
    is the one 3 rows up (and 5 across), and none of L, U, UR, UL, LL; the first offset
    of most hits, in the search's order, is (3, 0). Rows each the one above moved 2 to
    the left: (1, 2), before (1, -3) and (2, 4), which are as right."""
    row = np.array([3, 0, 4, 1, 2], np.uint8)
    tile = np.array([np.roll(row, y) for y in range(3)])
    indices = np.tile(tile, (30, 20))
    assert cm.uu_offset_for(indices, len(indices)) == (3, 0)
    shifted = np.tile(np.array([np.roll(row, -2 * y) for y in range(90)]), (1, 20))
    assert cm.uu_offset_for(shifted, len(shifted)) == (1, 2)


def test_a_wide_ramp_is_sampled_across_its_width_and_its_dither_found():
    """A Bayer ramp 4096 wide: a window at its middle sees only 50% grey (a checkerboard,
    which two rows up predicts); windows across the width see every level. There the
    pixel 2 up and 2 across ties with 4 up on pixels the five neighbours miss, and 4 up,
    right on every pixel, wins the tie."""
    indices = dithered_ramp(256, 4096, 2)
    sample, stripe_height = cm.uu_trial_sample(indices)
    assert sample.shape == (2 * cm.UU_TRIAL_ROWS, 1024) and stripe_height == cm.UU_TRIAL_ROWS
    assert cm.uu_offset_for(sample, stripe_height) == (4, 0)
    middle = indices[:64, 1536:2560]
    assert cm.uu_offset_for(middle, 32) is None


def test_noise_and_flat_images_look_no_further_than_two_rows_up():
    noise = RNG.integers(0, 16, (80, 120)).astype(np.uint8)
    assert cm.uu_offset_for(noise, 80) is None
    assert cm.uu_offset_for(np.zeros((80, 120), np.uint8), 80) is None
    assert cm.repeat_offset_for(noise, 80) is None
    assert cm.uu_offset_pays(noise, palette_of(16, 3), (1, 1, 1), 80,
                             lambda *args: pytest.fail("a trial coding")) is None


@pytest.mark.parametrize("diagonal", [False, True])
@requires_opencl
def test_an_ordered_dither_is_coded_with_its_offset_and_much_smaller(diagonal):
    """A 4 x 4 Bayer dither of a ramp repeats 4 rows up (the diagonal one 4 columns right
    too): the encoder finds the offset, and the body is under a quarter of the plain one."""
    indices = dithered_ramp(192, 256, 2 if not diagonal else 4, diagonal)
    palette = palette_of(int(indices.max()) + 1, 1)
    body = cm_engine.encode(indices, palette, engine="opencl")
    _, _, stripes = cm.split_stripes(body, 256, 192, 1, len(palette))
    assert [cm.stripe_uu_offset(s) for s in stripes] == [(4, 4 if diagonal else 0)]
    plain = coded_with(indices, palette, 192, None, "opencl")
    assert len(body) < len(plain) / 4
    assert np.array_equal(cm_engine.decode(body, 256, 192, palette, engine="opencl"), indices)
    image = palette[indices]
    assert np.array_equal(gcp.decode(gcp.encode(image, len(palette), method="cm")), image)


SMOOTH, FOUR_UP, WIDE = cm.Coding(smooth=True), cm.Coding(uu_offset=(4, 0)), cm.Coding(wide=True)


@pytest.mark.parametrize(("lengths", "taken"), [
    ((999, 1000, 1000), SMOOTH), ((1000, 1000, 1000), SMOOTH), ((1001, 1000, 1000), FOUR_UP),
    ((1001, 1001, 1000), WIDE), ((1000, 1001, 999), WIDE),
])
def test_where_several_codings_pay_the_middle_stripe_chooses(lengths, taken):
    """Each coding that pays its own trial codes the middle stripe; the shortest is taken,
    the first of equals (smooth, then UU's offset, then the wide match). All are asked for
    in one call, so that a backend codes them side by side."""
    coded = []

    def code(sample, palette, weights, rows, codings):
        coded.append((sample.shape, codings))
        return [[bytes(lengths[[SMOOTH, FOUR_UP, WIDE].index(coding)])] for coding in codings]

    indices = np.zeros((300, 10), np.uint8)
    assert cm.shortest_coding(indices, palette_of(4, 1), (1,), 100, [SMOOTH, FOUR_UP, WIDE],
                              code) == taken
    assert coded == [((100, 10), [SMOOTH, FOUR_UP, WIDE])]


@pytest.mark.parametrize("verdict", [SMOOTH, FOUR_UP, WIDE])
def test_the_encoder_codes_the_image_as_the_middle_stripe_chose(verdict, monkeypatch):
    """A dithered photo's smooth shading can win the smooth trial's sample while its
    dither's offset wins the image: every trial runs, and where several pay, the body is
    coded as the middle stripe chose."""
    indices = dithered_ramp(64, 48, 3)
    palette = palette_of(3, 1)
    monkeypatch.setattr(cm, "smooth_pays", lambda *args: True)
    monkeypatch.setattr(cm, "uu_offset_pays", lambda *args: (4, 0))
    monkeypatch.setattr(cm, "wide_match_pays", lambda *args: True)
    offered = []
    monkeypatch.setattr(cm, "shortest_coding",
                        lambda *args: offered.append(args[4]) or verdict)
    body = cm.encode_body(indices, palette, 32)
    assert offered == [[SMOOTH, FOUR_UP, WIDE]]
    _, _, stripes = cm.split_stripes(body, 48, 64, 1, 3)
    coded = {cm.mode_of(stripe[0]) for stripe in stripes} - set(cm.UNCODED_MODES)
    assert coded <= {cm.stripe_codings(*verdict)[0][0], cm.stripe_codings(*verdict)[1][0]}
    assert coded
    assert np.array_equal(cm.decode_body(body, 48, 64, palette), indices)


def test_the_middle_stripe_of_two_is_the_first():
    """Of two stripes the first, as the last may be a few rows; else stripe floor(S / 2)."""
    indices = np.arange(230, dtype=np.uint8).repeat(3).reshape(230, 3)
    assert cm.middle_stripe(indices, 200)[1] == 200
    assert cm.middle_stripe(indices, 100)[0][0, 0] == 100  # of three, the second
    assert cm.middle_stripe(indices, 50)[0][0, 0] == 100  # of five, the third
    assert cm.middle_stripe(indices, 40)[0][0, 0] == 120  # of six, the fourth
    assert cm.middle_stripe(indices, 1000)[1] == 230


@requires_opencl
def test_the_reference_encoder_chooses_as_the_kernel_does():
    indices = dithered_ramp(40, 48, 3, diagonal=True)
    palette = palette_of(3, 3)
    reference = cm_engine.encode(indices, palette, engine="reference")
    assert reference == cm_engine.encode(indices, palette, engine="opencl")
    stripe = reference[cm.CM_STRIPE_HEADER_SIZE + 3 + 8:]
    assert (stripe[0], cm.stripe_uu_offset(stripe)) == (cm.STRIPE_CODED_UU, (4, 4))


@pytest.mark.parametrize(("stripe", "why"), [
    (bytes([cm.STRIPE_CODED_UU, 4]), "no uu_shift"),
    (bytes([cm.STRIPE_CODED_UU]), "neither byte"),
    (bytes([cm.STRIPE_CODED_UU, 0, 0, 0, 0, 0, 0]), "uu_rows 0"),
    (bytes([8, 0, 0, 0, 0]), "stripe_mode 8"),
])
def test_a_bad_uu_stripe_is_refused_by_every_decoder(stripe, why):
    body = cm.join_stripes(2, (1, 1, 1), [stripe])
    palette = palette_of(2, 3)
    for engine in ("reference", "opencl"):
        with pytest.raises(FormatError) as caught:
            cm_engine.decode(body, 4, 2, palette, engine=engine)
        assert caught.value.field == "cm_stripes", (why, engine)
    with pytest.raises(spec_decoder.InvalidFile):
        spec_decoder.decode_cm(body, 4, 2, palette.tobytes(), 2, 3)


def test_one_colour_in_a_uu_stripe_is_the_coders_final_bytes_alone():
    palette = palette_of(1, 3)
    good = bytes([cm.STRIPE_CODED_UU, 4, 0]) + bytes(cm.CODER_FINAL_BYTES)
    body = cm.join_stripes(3, (1, 1, 1), [good])
    assert not cm_engine.decode(body, 5, 3, palette).any()
    with pytest.raises(FormatError):
        cm_engine.decode(cm.join_stripes(3, (1, 1, 1), [good + b"\0"]), 5, 3, palette)


@pytest.mark.parametrize("channels", [1, 3])
@requires_opencl
def test_rows_that_repeat_cost_a_bit_each_in_every_engine(channels, monkeypatch):
    """With UU 4 rows up and no shift, each row from the fourth says whether it repeats
    the row 4 up: an exact 4 x 4 dither of a ramp codes its first rows and a bit a row,
    far less than with UU 4 up and 4 across (as near a prediction, but no repeats); both
    engines write the same bytes and every decoder reads them, also where every other
    row has a pixel changed (repeated rows and coded ones mixed)."""
    monkeypatch.setattr(cm, "best_stripe", lambda indices, coded, palette_size:
                        coded[0][0] + coded[0][1])
    exact = dithered_ramp(96, 128, 3)
    changed = exact.copy()
    changed[4::2, 7] = (changed[4::2, 7] + 1) % 3  # every other row from the fourth
    palette = palette_of(3, channels)
    for indices in (exact, changed):
        body = coded_with(indices, palette, 40, (4, 0), "reference")
        assert body == coded_with(indices, palette, 40, (4, 0), "opencl")
        for engine in ("reference", "opencl"):
            assert np.array_equal(cm_engine.decode(body, 128, 96, palette, engine=engine),
                                  indices)
        assert spec_decoder.decode_cm(bytes(body), 128, 96, palette.tobytes(), 3,
                                      channels) == indices.ravel().tolist()
    assert len(coded_with(exact, palette, 96, (4, 0), "opencl")) * 2 < \
        len(coded_with(exact, palette, 96, (4, 4), "opencl"))


@requires_opencl
def test_a_checkerboard_is_found_by_its_rows_and_coded_as_repeats():
    """No pixel of a checkerboard is missed by all five neighbours, so the count finds no
    offset; its rows repeat 2 up (not 1 up), and coded as repeats the body is a fraction
    of the plain one: one stripe, as every row from the third repeats, not two of 512."""
    ys, xs = np.mgrid[0:1024, 0:2048]
    indices = ((xs + ys) % 2).astype(np.uint8)
    palette = palette_of(2, 1)
    sample, rows = cm.uu_trial_sample(indices)
    assert cm.uu_offset_for(sample, rows) is None
    assert cm.repeat_offset_for(sample, rows) == (2, 0)
    assert cm.stripe_height_for(2048, 1024) == 512
    assert cm.encoder_stripe_height(indices, 512) == 1024
    body = cm_engine.encode(indices, palette, engine="opencl", stripe_height=512)
    small = indices[:256, :512]
    assert cm_engine.encode(small, palette, engine="opencl", stripe_height=64) == \
        cm_engine.encode(small, palette, engine="reference", stripe_height=64)
    stripe_height, _, stripes = cm.split_stripes(body, 2048, 1024, 1, 2)
    assert stripe_height == 1024 and len(body) < 60
    assert {(s[0], cm.stripe_uu_offset(s)) for s in stripes} == {(cm.STRIPE_CODED_UU, (2, 0))}
    assert len(body) * 2 < len(coded_with(indices, palette, 512, None, "opencl"))
    for engine in ("reference", "opencl"):  # the reference copies the repeated rows
        assert np.array_equal(cm_engine.decode(body, 2048, 1024, palette, engine=engine),
                              indices)


def test_flat_rows_do_not_count_as_repeats():
    """Rows of a flat area repeat every row up; only rows that differ from the row above
    and repeat one further up count, and the stripes stay as asked."""
    flat = np.zeros((64, 64), np.uint8)
    flat[:, 30:] = 1
    assert cm.repeat_offset_for(flat, 64) is None
    assert cm.encoder_stripe_height(flat, 16) == 16


def diagonal_texture(height: int, width: int, period: int = 7) -> np.ndarray:
    """uint8 (height, width): (x + 3y) mod ``period``, a fine diagonal texture none of
    whose pixels is its L, U, UR, UL or LL, and every one UU one row up and three across
    (and two up, one back)."""
    ys, xs = np.mgrid[0:height, 0:width]
    return ((xs + 3 * ys) % period).astype(np.uint8)


def test_ranks_are_not_tried_where_uu_at_the_stripes_offset_predicts():
    texture = diagonal_texture(64, 80)
    assert cm.ranks_may_pay(texture)  # none of the five neighbours
    assert not cm.ranks_may_pay(texture, uu_offset=(1, 3))
    assert not cm.ranks_may_pay(texture, uu_offset=(2, -1))
    assert cm.ranks_may_pay(texture, uu_offset=(1, 2))  # UU there is never the pixel
    grain = RNG.integers(0, 16, (64, 80)).astype(np.uint8)
    assert cm.ranks_may_pay(grain, uu_offset=(1, 3))


@pytest.mark.parametrize("engine", ["reference", pytest.param("opencl", marks=requires_opencl)])
def test_a_stripe_coded_with_a_predicting_offset_is_coded_once(engine, monkeypatch):
    """Both engines code the texture, one stripe, in STRIPE_CODED_UU alone, not in
    STRIPE_RANKS too."""
    texture = diagonal_texture(48, 64)
    texture[::9, ::11] = 7  # not quite periodic: UU is the pixel for 94%
    codings, stripes = recorded_codings(monkeypatch, engine, texture, palette_of(8, 3),
                                        len(texture), uu_offset=(1, 3))
    assert codings == [(0, cm.STRIPE_CODED_UU)]
    assert stripes[0][0] == cm.STRIPE_CODED_UU
