"""Method cm's STRIPE_CODED_WIDE (spec 5.3.1, 5.3.3): the match keyed by the 38 pixels of
WIDE_TEMPLATE, for text; written and read alike by both engines and the spec's decoder."""

from __future__ import annotations

import numpy as np
import pytest

import gcp
from gcp import cm, cm_engine
from gcp.backends import cm_opencl
from tests.conftest import requires_opencl
from tests.test_spec_decoder import spec_decoder

RNG = np.random.default_rng(77)
GLYPHS = RNG.random((6, 9, 7)) < 0.45  # six made-up glyphs of 9 x 7 pixels


def bilevel_text(lines: int, letters: int, seed: int = 0) -> np.ndarray:
    """uint8 (12 * lines, 8 * letters) indices 0 and 1: lines of words of GLYPHS, each
    word 2 to 6 letters, a blank cell between words."""
    rng = np.random.default_rng(seed)
    page = np.zeros((12 * lines, 8 * letters), np.uint8)
    for line in range(lines):
        at = 0
        while at < letters:
            for _ in range(int(rng.integers(2, 7))):
                if at >= letters:
                    break
                glyph = GLYPHS[int(rng.integers(0, len(GLYPHS)))]
                page[12 * line + 2:12 * line + 11, 8 * at:8 * at + 7] = glyph
                at += 1
            at += 1
    return page


def palette_of(k: int, channels: int) -> np.ndarray:
    return np.sort(RNG.integers(0, 256, (k, channels)).astype(np.uint8), axis=0)


def wide_body(indices: np.ndarray, palette: np.ndarray, stripe_height: int, engine: str,
              wide: bool = True) -> bytes:
    """The body of ``indices`` coded with the wide match (or without), whatever the
    encoder would choose between it and the ranks or uncoded modes."""
    weights = cm.unit_weights(palette)
    if engine == "reference":
        stripes = cm.reference_stripes(indices, palette, weights, stripe_height, wide=wide)
    else:
        backend = cm_engine._opencl_backend("opencl", None)
        stripes = cm_opencl.encode_stripes(backend, indices, palette, weights, stripe_height,
                                           False, None, wide)
    return cm.join_stripes(stripe_height, weights, stripes)


def test_the_template_is_the_same_in_the_reference_the_kernel_and_the_spec_decoder():
    assert len(cm.WIDE_TEMPLATE) == len(set(cm.WIDE_TEMPLATE)) == 38
    assert all(dy > 0 or dx < 0 for dx, dy in cm.WIDE_TEMPLATE)  # decoded before the pixel
    assert [tuple(pair) for pair in spec_decoder.WIDE_TEMPLATE] == list(cm.WIDE_TEMPLATE)
    options = cm_opencl.build_options()
    values = ",".join(f"{dx},{dy}" for dx, dy in cm.WIDE_TEMPLATE)
    assert f"-DWIDE_TEMPLATE_VALUES={values}" in options


@pytest.mark.parametrize(("channels", "k"), [(1, 2), (3, 16), (2, 17), (4, 256)])
@pytest.mark.parametrize(("height", "width", "stripe_height"), [
    (36, 80, 13), (1, 90, 1), (70, 1, 25), (5, 7, 2)])
@requires_opencl
def test_both_engines_and_the_spec_decoder_agree(channels, k, height, width, stripe_height,
                                                 monkeypatch):
    """Text with noise of every index, stripes cut inside glyphs, 1 x N and N x 1 images
    (the template off the stripe on every side); every stripe kept in STRIPE_CODED_WIDE."""
    indices = np.resize(bilevel_text(3, 10), (height, width)).copy()
    noise = RNG.random(indices.shape) < 0.05
    indices[noise] = RNG.integers(0, k, int(noise.sum()))
    palette = palette_of(k, channels)
    monkeypatch.setattr(cm, "best_stripe", lambda indices, coded, palette_size:
                        coded[0][0] + coded[0][1])
    reference = wide_body(indices, palette, stripe_height, "reference")
    assert reference == wide_body(indices, palette, stripe_height, "opencl")
    _, _, stripes = cm.split_stripes(reference, width, height, channels, k)
    assert {stripe[0] for stripe in stripes} == {cm.STRIPE_CODED_WIDE}
    for engine in ("reference", "opencl"):
        assert np.array_equal(cm_engine.decode(reference, width, height, palette,
                                               engine=engine), indices)
    assert spec_decoder.decode_cm(bytes(reference), width, height, palette.tobytes(), k,
                                  channels) == indices.ravel().tolist()


def test_the_wide_key_changes_the_bytes():
    """The mode is not a label: the same stripe coded with the six neighbours' key differs
    (and a decoder reading it as mode 7 does not give the pixels back)."""
    indices = bilevel_text(4, 24)
    palette = palette_of(2, 1)
    tables = cm.PaletteTables(palette, cm.unit_weights(palette))
    plain = cm.code_stripe_data(indices, tables, cm.STRIPE_CODED)
    wide = cm.code_stripe_data(indices, tables, cm.STRIPE_CODED_WIDE)
    assert plain != wide
    mislabelled = cm.join_stripes(len(indices), (1,), [bytes([cm.STRIPE_CODED_WIDE]) + plain])
    try:
        decoded = cm_engine.decode(mislabelled, indices.shape[1], len(indices), palette)
    except gcp.FormatError as error:
        assert error.field in ("cm_data", "cm_rank")
    else:
        assert not np.array_equal(decoded, indices)


@requires_opencl
def test_the_encoder_takes_the_wide_match_for_text_and_not_for_a_photo(real_images):
    """Bilevel text: the trial on the sample finds the wide key much shorter and every
    stripe takes it; a photo at 16 colours keeps the six neighbours' key."""
    text = bilevel_text(30, 120, seed=3)
    palette = np.array([[0], [255]], np.uint8)
    body = cm_engine.encode(text, palette, engine="opencl")
    height, width = text.shape
    _, _, stripes = cm.split_stripes(body, width, height, 1, 2)
    assert {stripe[0] for stripe in stripes} == {cm.STRIPE_CODED_WIDE}
    plain = wide_body(text, palette, cm.stripe_height_for(width, height), "opencl", wide=False)
    assert len(body) < 0.8 * len(plain)
    photo = np.ascontiguousarray(real_images["astronaut"][:128, :256])
    data = gcp.encode(photo, 16, method="cm", backend="numpy")
    header, _, photo_body = gcp.container.unpack(data)
    _, _, stripes = cm.split_stripes(photo_body, header.width, header.height,
                                     header.channels, header.palette_size, header.compact)
    assert cm.STRIPE_CODED_WIDE not in {stripe[0] for stripe in stripes}


@pytest.mark.parametrize(("sample_wide", "middle_wide", "pays", "codings"), [
    (999, 990, True, 4),     # 0.1% on the sample, 1% on the middle stripe
    (999, 991, False, 4),    # under 1% on the middle stripe
    (1000, 900, False, 2),   # under 0.1% on the sample: the middle stripe is not coded
])
def test_the_wide_match_pays_by_its_sample_then_the_middle_stripe(sample_wide, middle_wide,
                                                                  pays, codings):
    """A photo's sample codes within 0.1% either way with the wide key, and is spared the
    middle stripe's two codings; a glyph's copies seldom fall in the sample, so it need
    save only 0.1% there, and 1% on the middle stripe (WIDE_SAMPLE_GAIN, WIDE_TRIAL_GAIN)."""
    lengths = [1000, sample_wide, 1000, middle_wide]
    calls = []

    def code(sample, palette, weights, rows, codings):
        assert codings == [cm.PLAIN, cm.Coding(wide=True)]  # side by side, in one call
        calls.extend(coding.wide for coding in codings)
        return [[bytes(lengths[len(calls) - 2 + coding.wide])] for coding in codings]

    indices = np.zeros((300, 40), np.uint8)
    palette = np.array([[0], [255]], np.uint8)
    assert cm.wide_match_pays(indices, palette, (1,), 100, code) is pays
    assert calls == [False, True, False, True][:codings]
