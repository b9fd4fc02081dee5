"""Method cm (spec 5.3): the OpenCL kernels and the pure-Python reference write the same
bytes and read the same indices; the layout's rules; the engine fallback."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import numpy as np
import pytest

import gcp
from gcp import cm, cm_engine, codec
from gcp.backends import cm_opencl, opencl
from gcp.errors import BackendError, FormatError
from tests.conftest import requires_opencl
from tests.test_spec_decoder import spec_decoder

RNG = np.random.default_rng(11)


def opencl_backend():
    try:
        return opencl.OpenCLBackend.for_device(None)
    except BackendError as error:  # pragma: no cover - its callers require OpenCL
        pytest.fail(f"no OpenCL device: {error}")


def quantized(real_images, name: str, k: int, crop: tuple[int, int]) -> tuple:
    """(palette, indices) of a real image's crop at k colours, as the encoder stores them."""
    height, width = crop
    image = real_images[name][100:100 + height, 120:120 + width]
    _, palette, indices = codec.decode_indices(gcp.encode(np.ascontiguousarray(image), k,
                                                          backend="numpy"))
    return palette, indices


def both_engines(indices: np.ndarray, palette: np.ndarray, stripe_height: int) -> bytes:
    """The body from each engine, checked equal; then both decode it to ``indices``."""
    reference = cm_engine.encode(indices, palette, engine="reference", stripe_height=stripe_height)
    kernel = cm_engine.encode(indices, palette, engine="opencl", stripe_height=stripe_height)
    assert kernel == reference
    height, width = indices.shape
    for engine in ("reference", "opencl"):
        decoded = cm_engine.decode(reference, width, height, palette, engine=engine)
        assert np.array_equal(decoded, indices), engine
    return reference


@pytest.mark.parametrize(("name", "k", "crop", "stripe_height"), [
    ("astronaut", 16, (24, 40), 24),      # one stripe
    ("astronaut", 17, (24, 40), 5),       # stripes of 5 rows, the last of 4
    ("coffee", 256, (20, 36), 20),        # 256 colours: ranks of many bits
    ("camera", 2, (30, 96), 1),           # grey, 2 colours, a stripe per row: 30 stripes,
                                          # so the tables' trial, which takes table_shrink 4
    ("camera", 256, (40, 48), 40),        # grey photo: mostly ranks, the bias corrected
    ("logo", 16, (20, 30), 7),            # RGBA, flat areas and edges
    ("color", 16, (20, 30), 20),
])
@requires_opencl
def test_opencl_and_the_reference_agree_on_real_images(real_images, name, k, crop,
                                                        stripe_height):
    palette, indices = quantized(real_images, name, k, crop)
    body = both_engines(indices, palette, stripe_height)
    lengths_at = cm.CM_STRIPE_HEADER_SIZE + palette.shape[1]
    assert cm.mode_of(body[lengths_at + 8 * -(-crop[0] // stripe_height)]) in cm.CODED_MODES


def grainy(shape: tuple[int, int], k: int) -> np.ndarray:
    """uint8 indices of ``shape``: a ramp across the columns with noise, mostly not
    flat and mostly none of its neighbours, as a grey photo kept whole at k = 256 is."""
    ramp = np.linspace(0, k - 1, shape[1])[None, :]
    return np.clip(ramp + RNG.normal(0, max(1.0, k / 40), shape), 0, k - 1).astype(np.uint8)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("k", [2, 16, 17, 256])
@pytest.mark.parametrize("smooth", [False, True])
@requires_opencl
def test_ranks_stripes_agree_across_engines_and_decoders(channels, k, smooth, monkeypatch):
    """STRIPE_RANKS (a pixel that is not flat has no candidates), taken wherever it is
    tried, and STRIPE_RANKS_SMOOTH (the smooth prediction too): both engines write the
    same bytes, both decode them, and so does the spec's decoder."""
    indices = grainy((14, 23), k)
    indices[:4, :6] = 1  # a flat corner keeps its candidates
    palette = np.sort(RNG.integers(0, 256, (k, channels)).astype(np.uint8), axis=0)
    monkeypatch.setattr(cm, "ranks_may_pay", lambda indices, alone=False, uu_offset=None: True)
    monkeypatch.setattr(cm, "smooth_pays", lambda *args: smooth)
    monkeypatch.setattr(cm, "best_stripe", lambda indices, coded, palette_size:
                        coded[-1][0] + coded[-1][1])
    body = both_engines(indices, palette, 5)
    _, _, stripes = cm.split_stripes(body, 23, 14, channels, k)
    assert [stripe[0] for stripe in stripes] == [cm.stripe_codings(smooth)[1][0]] * 3
    decoded = spec_decoder.decode_cm(bytes(body), 23, 14, palette.tobytes(), k, channels)
    assert decoded == indices.ravel().tolist()


@pytest.mark.parametrize("prefetch_lines", [False, True])
@requires_opencl
def test_the_kernels_agree_with_the_reference_with_and_without_prefetching(
        real_images, monkeypatch, prefetch_lines):
    """PREFETCH only hints at the lines read next: built as for a CPU device (the hints
    asked for) and as for any other (not), the kernels write the reference's bytes and
    read them back. A compiler that refuses the hints (NVIDIA's) builds them without."""
    backend = cm_engine._opencl_backend("opencl", None)
    build_options, built_with = cm_opencl.build_options, []

    def recording(prefetch_lines=False):
        built_with.append(prefetch_lines)
        return build_options(prefetch_lines)

    monkeypatch.setattr(cm_opencl, "_programs", {})
    monkeypatch.setattr(cm_opencl, "build_options", recording)
    monkeypatch.setattr(backend, "shares_host_memory", prefetch_lines)
    for name, k in (("astronaut", 256), ("coffee", 64), ("logo", 16)):
        palette, indices = quantized(real_images, name, k, (36, 70))
        both_engines(indices, palette, 12)
    assert built_with in ([prefetch_lines], [True, False])
    if "Portable Computing Language" in backend.device:
        assert built_with == [prefetch_lines]


@requires_opencl
def test_a_cpu_device_builds_the_prefetches_in(monkeypatch):
    """The host asks for PREFETCH_LINES on a CPU device alone, and on POCL (CI's device)
    the hints are compiled in with it and not without. (NVIDIA's compiler refuses them.)"""
    backend = opencl_backend()
    build_options, asked = cm_opencl.build_options, []
    monkeypatch.setattr(cm_opencl, "_programs", {})
    monkeypatch.setattr(cm_opencl, "build_options",
                        lambda prefetch_lines=False: asked.append(prefetch_lines)
                        or build_options(prefetch_lines))
    cm_opencl.kernels(backend)
    assert asked[0] == backend.shares_host_memory
    monkeypatch.undo()
    if "Portable Computing Language" in backend.device:  # POCL's binary is LLVM bitcode
        binaries = [cm_opencl._build(backend, prefetch_lines).get_info(
            backend.cl.program_info.BINARIES)[0] for prefetch_lines in (False, True)]
        assert [b"llvm.prefetch" in binary for binary in binaries] == [False, True]


@requires_opencl
def test_kernels_that_do_not_build_with_the_hints_are_built_without(monkeypatch):
    """A compiler that refuses the prefetch hints costs them, not the kernels."""
    build_options, asked = cm_opencl.build_options, []

    def refused_with_hints(prefetch_lines=False):
        asked.append(prefetch_lines)
        return build_options() + (["-DHASH_BITS=not_a_number"] if prefetch_lines else [])

    backend = opencl_backend()
    monkeypatch.setattr(cm_opencl, "_programs", {})
    monkeypatch.setattr(cm_opencl, "build_options", refused_with_hints)
    monkeypatch.setattr(backend, "shares_host_memory", True)
    encode, decode = cm_opencl.kernels(backend)
    assert asked == [True, False]
    assert (encode.function_name, decode.function_name) == ("cm_encode", "cm_decode")


@requires_opencl
def test_grain_is_coded_by_ranks_where_that_is_shorter():
    indices = grainy((40, 60), 256)
    palette = np.arange(256, dtype=np.uint8)[:, None]
    body = both_engines(indices, palette, 20)
    _, _, stripes = cm.split_stripes(body, 60, 40, 1, 256)
    assert all(stripe[0] in cm.RANKS_MODES for stripe in stripes)


def test_the_encoder_keeps_the_shorter_of_the_two_codings():
    tables = cm.PaletteTables(np.arange(256, dtype=np.uint8)[:, None])  # grey levels
    blocks = np.tile(np.arange(40, dtype=np.uint8) // 8, (20, 1))
    for indices in (grainy((20, 40), 256), blocks):
        plain = cm.code_stripe_data(indices, tables, cm.STRIPE_CODED)
        ranks = cm.code_stripe_data(indices, tables, cm.STRIPE_RANKS)
        stripe = cm.encode_stripe(indices, tables)
        if cm.ranks_may_pay(indices):
            want = min((plain, cm.STRIPE_CODED), (ranks, cm.STRIPE_RANKS),
                       key=lambda coded: len(coded[0]))
        else:
            want = (plain, cm.STRIPE_CODED)
        assert len(want[0]) < indices.size  # not stored
        assert stripe == bytes([want[1]]) + want[0]


def test_ranks_are_tried_on_grain_and_not_on_flat_graphics(real_images):
    assert cm.ranks_may_pay(grainy((64, 64), 256))
    assert cm.ranks_may_pay(RNG.integers(0, 16, (64, 64)).astype(np.uint8))
    _, indices = quantized(real_images, "logo", 16, (120, 200))
    assert not cm.ranks_may_pay(indices)
    assert not cm.ranks_may_pay(np.zeros((64, 64), np.uint8))
    assert not cm.ranks_may_pay(grainy((1, 64), 256))  # no row above


def fine_grain(shape: tuple[int, int], sigma: float) -> np.ndarray:
    """uint8 indices of ``shape`` at k = 256: a ramp over 16 grey levels with Gaussian
    noise of ``sigma``. At 0.8, about 80% of the pixels that are not flat are one of
    their neighbours, and ranks alone code them shorter; at 0.3, about 95%."""
    ramp = np.linspace(100, 116, shape[1])[None, :]
    noise = np.random.default_rng(5).normal(0, sigma, shape)
    return np.clip(ramp + noise, 0, 255).astype(np.uint8)


def test_an_image_of_one_stripe_is_tried_at_higher_hit_rates():
    """Between RANKS_TRIAL_HITS and RANKS_TRIAL_HITS_ALONE, a stripe is tried only where
    it is the whole image (its second coding takes a core the first leaves idle)."""
    indices = fine_grain((40, 96), 0.8)
    assert cm.ranks_may_pay(indices, alone=True)
    assert not cm.ranks_may_pay(indices, alone=False)
    assert not cm.ranks_may_pay(fine_grain((40, 96), 0.3), alone=True)
    tables = cm.PaletteTables(np.arange(256, dtype=np.uint8)[:, None])
    assert cm.encode_stripe(indices, tables, alone=True)[0] == cm.STRIPE_RANKS
    assert cm.encode_stripe(indices, tables)[0] == cm.STRIPE_CODED


@pytest.mark.parametrize("height, tried", [(40, True), (80, False)])
@requires_opencl
def test_both_engines_try_ranks_alone_only_for_one_stripe(height, tried):
    """An image of one stripe (stripe_height 40 of 40 rows) is tried at a hit rate of
    about 0.8; the same pixels in two stripes are not, by both engines alike."""
    indices = fine_grain((height, 96), 0.8)
    palette = np.arange(256, dtype=np.uint8)[:, None]
    body = both_engines(indices, palette, 40)
    _, _, stripes = cm.split_stripes(body, 96, height, 1, 256)
    ranks = [stripe[0] in cm.RANKS_MODES for stripe in stripes]
    assert ranks == [tried] * len(stripes)


@pytest.mark.parametrize("smooth", [False, True])
@requires_opencl
def test_a_stripes_mode_decides_how_it_decodes(smooth, monkeypatch):
    """The same coded bytes under each coded mode are different stripes: a ranks stripe,
    plain or smooth, read under any other coded mode fails or gives other indices."""
    indices = grainy((16, 24), 256)
    palette = np.arange(256, dtype=np.uint8)[:, None]
    monkeypatch.setattr(cm, "smooth_pays", lambda *args: smooth)
    body = bytearray(both_engines(indices, palette, 16))
    mode_at = cm.CM_STRIPE_HEADER_SIZE + 1 + 8
    written = cm.stripe_codings(smooth)[1][0]
    assert body[mode_at] == written
    for mode in set(cm.CODED_MODES) - {written}:
        body[mode_at] = mode
        for engine in ("reference", "opencl"):
            try:
                decoded = cm_engine.decode(bytes(body), 24, 16, palette, engine=engine)
            except FormatError:
                continue
            assert not np.array_equal(decoded, indices), (mode, engine)


@pytest.mark.parametrize("channels", [1, 3])
@requires_opencl
def test_a_palette_with_repeated_colours_codes_alike(channels):
    """The kernel finds the MED anchor without a search where two of L, U and UL are one
    index; with colours repeated under other indices it must still pick the reference's
    (the first index of the colour)."""
    base = RNG.integers(0, 256, (6, channels), dtype=np.uint8)
    palette = np.concatenate([base, base[::-1], base[:3]])
    indices = RNG.integers(0, len(palette), (30, 40), dtype=np.uint8)
    indices[10:20] = indices[10:11]
    indices[:, 5:9] = 7
    both_engines(indices, palette, 30)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("k", [1, 2, 16, 17, 256])
@requires_opencl
def test_opencl_and_the_reference_agree_on_every_palette_form(channels, k):
    """Structured indices (flat runs, a diagonal texture, jumps) for 1 to 4 channels."""
    ys, xs = np.mgrid[0:13, 0:19]
    indices = ((xs // 4 + ys // 3) * 5 + (xs + 2 * ys) % 7 * (k // 7 + 1)) % k
    palette = RNG.integers(0, 256, (k, channels)).astype(np.uint8)
    both_engines(indices.astype(np.uint8), palette, 6)


@pytest.mark.parametrize("shape", [(1, 1), (1, 37), (37, 1), (2, 2), (3, 50)])
@requires_opencl
def test_edges_one_by_n_and_n_by_one(shape):
    indices = (np.arange(shape[0] * shape[1]).reshape(shape) // 3 % 5).astype(np.uint8)
    palette = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255], [9, 9, 9]],
                       np.uint8)
    both_engines(indices, palette, min(2, shape[0]))


def test_the_blend_with_the_average_shortens_a_noisy_ramp(monkeypatch):
    """On grain, where most pixels take a rank from the corrected prediction, the four
    predictions blended (5.3.5) code shorter than MED alone (0.6% here: the average
    gains, the two linear predictions, noisier, take back part of it)."""
    indices = grainy((48, 64), 256)
    palette = np.arange(256, dtype=np.uint8)[:, None]
    monkeypatch.setattr(cm, "smooth_pays", lambda *args: False)  # the blend's modes
    blended = cm_engine.encode(indices, palette, engine="reference")
    monkeypatch.setattr(cm, "blend", lambda guesses, biases: guesses[0])
    assert len(blended) < len(cm_engine.encode(indices, palette, engine="reference"))


def smooth_ramp(shape: tuple[int, int], noise: float) -> np.ndarray:
    """uint8 grey levels of ``shape``: a gentle ramp down the rows and across the columns
    under Gaussian noise of ``noise`` levels, as a radiograph or a foggy sky is."""
    rows, columns = np.mgrid[0:shape[0], 0:shape[1]]
    ramp = 60 + columns * 0.7 + rows * 0.4
    return np.clip(ramp + RNG.normal(0, noise, shape), 0, 255).astype(np.uint8)


def test_the_encoder_takes_the_smooth_modes_on_smooth_noise(monkeypatch):
    """On a noisy ramp the 14-neighbour mean predicts better than the blend: the encoder
    takes the smooth modes, and its body is shorter than the plain modes'; on a
    flat-shaded graphic it keeps the plain modes."""
    indices = smooth_ramp((64, 96), 3.0)
    palette = np.arange(256, dtype=np.uint8)[:, None]
    body = cm_engine.encode(indices, palette, engine="reference")
    _, _, stripes = cm.split_stripes(body, 96, 64, 1, 256)
    assert all(stripe[0] in cm.SMOOTH_MODES for stripe in stripes)
    monkeypatch.setattr(cm, "smooth_pays", lambda *args: False)
    plain = cm_engine.encode(indices, palette, engine="reference")
    assert len(body) < len(plain)
    monkeypatch.undo()
    shapes = ((np.add.outer(np.arange(64) // 16, np.arange(96) // 24)
               + np.greater.outer(np.arange(64), np.arange(96) - 20)) % 5).astype(np.uint8)
    body = cm_engine.encode(shapes, palette[::40], engine="reference")
    _, _, stripes = cm.split_stripes(body, 96, 64, 1, 7)
    assert not any(stripe[0] in cm.SMOOTH_MODES for stripe in stripes)


@pytest.mark.parametrize(("smooth_length", "taken"), [(1001, False), (1000, False),
                                                      (999, True)])
def test_the_smooth_modes_must_code_the_sample_shorter(smooth_length, taken):
    """The trial takes the smooth modes only where they code the sample shorter: 1000
    bytes against 1000 keeps the plain modes, 999 takes the smooth ones; both codings are
    asked for in one call, so that a backend codes them side by side."""
    def code(sample, palette, weights, rows, codings):
        assert codings == [cm.PLAIN, cm.Coding(smooth=True)]
        return [[bytes(smooth_length if coding.smooth else 1000)] for coding in codings]

    palette = np.arange(4, dtype=np.uint8)[:, None]
    indices = np.zeros((8, 8), np.uint8)
    assert cm.smooth_pays(indices, palette, (1,), code) is taken


def test_the_probability_map_shortens_grain(monkeypatch):
    """The rank bits' probability map (5.3.5) codes grain, nearly all ranks, shorter than
    the mixer's probabilities alone."""
    indices = grainy((64, 96), 256)
    palette = np.arange(256, dtype=np.uint8)[:, None]
    mapped = cm_engine.encode(indices, palette, engine="reference")
    monkeypatch.setattr(cm, "code_mapped", lambda coder, bit, p, cells: coder.code(p, bit))
    assert len(mapped) < len(cm_engine.encode(indices, palette, engine="reference"))


def blend_of_two(guesses: list[list[int]], biases: list[list[int]]) -> list[int]:
    """``cm.blend`` of MED and the average alone, the extrapolation and gradient left out."""
    blended = []
    for channel, bias in enumerate(biases):
        weights = [cm.BLEND_WEIGHT_ONE // (e + 1) ** 3 for e in bias[3:5]]
        total = sum(weights)
        blended.append((weights[0] * guesses[0][channel] + weights[1] * guesses[1][channel]
                        + (total >> 1)) // total)
    return blended


def test_the_linear_predictions_shorten_smooth_shading(monkeypatch):
    """On smooth shading with faint grain, as in photographs, the blend of four codes
    shorter than MED and the average alone: the lines through LL, L and UU, U follow a
    slope that neither does."""
    rows, columns = np.mgrid[0:48, 0:64]
    shading = 128 + 60 * np.sin(columns / 9) * np.cos(rows / 13)
    indices = np.clip(shading + RNG.normal(0, 0.5, shading.shape), 0, 255).astype(np.uint8)
    palette = np.arange(256, dtype=np.uint8)[:, None]
    four = cm_engine.encode(indices, palette, engine="reference")
    monkeypatch.setattr(cm, "blend", blend_of_two)
    assert len(four) < 0.99 * len(cm_engine.encode(indices, palette, engine="reference"))


def grey_under_alpha(size: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(palette uint8 (k, 2), indices uint8 (size, size)): grey noise under a radial alpha
    ramp, quantized to k colours as the encoder would."""
    rows, columns = np.mgrid[0:size, 0:size] - size / 2
    alpha = np.clip(1 - np.hypot(rows, columns) / (size / 2), 0, 1) * 255
    grey = np.clip(128 + RNG.normal(0, 20, alpha.shape), 0, 255)
    image = np.dstack([grey, alpha]).astype(np.uint8)
    _, palette, indices = codec.decode_indices(gcp.encode(image, k, backend="numpy"))
    return palette, indices


@requires_opencl
def test_the_encoder_weighs_a_smooth_alpha_under_noisy_grey(monkeypatch):
    """Alpha, which its neighbours predict, weighs uu_offset more than noisy grey (5.3.1); the
    weighted body is shorter than the plain distance's."""
    palette, indices = grey_under_alpha(48, 64)
    weights = cm.channel_weights_for(indices, palette)
    assert weights[0] == 1 and weights[1] >= 8
    weighted = cm_engine.encode(indices, palette, engine="opencl")
    assert cm.split_stripes(weighted, 48, 48, 2, len(palette))[1] in (weights, (1, 64))
    monkeypatch.setattr(cm, "choose_channel_weights", lambda indices, palette, code: (1, 1))
    plain = cm_engine.encode(indices, palette, engine="opencl")
    assert len(weighted) < 0.95 * len(plain)


def test_weight_candidates():
    """The rule's weights, those above 1 raised to 64, and all 1, without repeats."""
    assert cm.weight_candidates((1, 4)) == [(1, 4), (1, 64), (1, 1)]
    assert cm.weight_candidates((8, 1, 2)) == [(8, 1, 2), (64, 1, 64), (1, 1, 1)]
    assert cm.weight_candidates((1, 64)) == [(1, 64), (1, 1)]
    assert cm.weight_candidates((1, 1, 1)) == [(1, 1, 1)]


def test_weight_trial_sample_is_the_image_or_two_bands(monkeypatch):
    indices = np.arange(60 * 10, dtype=np.uint32).reshape(60, 10)
    sample, stripe_height = cm.weight_trial_sample(indices)
    assert sample is indices and stripe_height == 60
    monkeypatch.setattr(cm, "WEIGHT_TRIAL_PIXELS", 80)
    sample, stripe_height = cm.weight_trial_sample(indices)
    assert stripe_height == 4  # 40 pixels a band
    assert np.array_equal(sample, np.concatenate([indices[18:22], indices[37:41]]))
    monkeypatch.setattr(cm, "WEIGHT_TRIAL_PIXELS", 3)
    assert cm.weight_trial_sample(indices)[1] == 2  # at least 2 rows a band


def test_the_encoder_keeps_the_weights_whose_sample_codes_shortest():
    """Each candidate codes the sample (here the whole image, one stripe); the shortest
    wins, the rule's among equals."""
    palette, indices = grey_under_alpha(48, 16)
    rule = cm.channel_weights_for(indices, palette)
    tried = []

    def code(sample, palette, weights, stripe_height, codings):
        assert sample is indices and stripe_height == 48 and codings == [cm.PLAIN]
        tried.append(weights)
        return cm.reference_codings(sample, palette, weights, stripe_height, codings)

    chosen = cm.choose_channel_weights(indices, palette, code)
    assert tried == cm.weight_candidates(rule) and len(tried) == 3
    sizes = {w: sum(map(len, cm.reference_stripes(indices, palette, w, 48))) for w in tried}
    assert sizes[chosen] == min(sizes.values())
    assert cm.choose_channel_weights(indices, palette, lambda *a: [[b"x"]]) == rule


@pytest.mark.parametrize(("stripe_height", "extra"), [(48, 0), (24, 1)])
def test_a_trial_of_the_whole_image_is_not_coded_again(stripe_height, extra):
    """An image tried whole in its own stripes keeps the trial's coding; in other stripes
    it is coded once more. Either way the stripes are those of the chosen weights and
    modes; the smooth trial codes the sample once more, in the smooth modes alone, the
    offset's trial (where it is tried) once more with UU at the offset alone, and the wide
    match's trial in STRIPE_CODED_WIDE, whatever the others found; nothing is coded
    twice."""
    palette, indices = grey_under_alpha(48, 16)
    calls = []

    def code(sample, palette, weights, rows, codings):
        for coding in codings:
            assert coding.table_shrink == 0  # under TABLE_TRIAL_STRIPES stripes: no trial
            calls.append((sample.shape, rows, weights, *coding[:3]))
        return cm.reference_codings(sample, palette, weights, rows, codings)

    weights, stripes = cm.weighted_stripes(indices, palette, stripe_height, code)
    candidates = cm.weight_candidates(cm.channel_weights_for(indices, palette))
    assert len(candidates) == 3
    assert [call[2:] for call in calls[:4]] == \
        [(w, False, None, False) for w in candidates] + [(weights, True, None, False)]
    smooth = stripes[0][0] in cm.SMOOTH_MODES
    tried = cm.uu_offset_for(*cm.uu_trial_sample(indices))
    offset_trial = [(weights, False, tried, False)] if tried else []
    assert [call[2:] for call in calls[4:4 + len(offset_trial)]] == offset_trial
    kept = cm.stripe_uu_offset(stripes[0]) if stripes[0][0] == cm.STRIPE_CODED_UU else None
    wide = any(stripe[0] == cm.STRIPE_CODED_WIDE for stripe in stripes)
    wide_trial = calls[4 + len(offset_trial):len(calls) - extra]
    assert wide_trial[0][2:] == (weights, False, None, True)  # its sample's plain coding kept
    assert all(call[3:5] == (False, None) for call in wide_trial)
    assert not (smooth and (kept or wide))
    assert len(set(calls)) == len(calls)  # nothing coded twice
    assert calls[-1][:2] == (indices.shape, stripe_height) or not extra
    assert stripes == cm.reference_stripes(indices, palette, weights, stripe_height, smooth,
                                           kept, wide)


def test_alike_channels_are_not_tried(real_images):
    """Where the rule weighs every channel 1 (photographs), nothing is coded to choose."""
    palette, indices = quantized(real_images, "astronaut", 64, (60, 80))
    assert cm.channel_weights_for(indices, palette) == (1, 1, 1)

    def code(*arguments):
        raise AssertionError("a trial coding")

    assert cm.choose_channel_weights(indices, palette, code) == (1, 1, 1)


@pytest.mark.parametrize("trial_pixels", [None, 300])
@requires_opencl
def test_both_engines_choose_the_same_weights(trial_pixels, monkeypatch):
    """A grey + alpha image, tried whole or in two bands: the same weights and bytes."""
    if trial_pixels:
        monkeypatch.setattr(cm, "WEIGHT_TRIAL_PIXELS", trial_pixels)
    palette, indices = grey_under_alpha(40, 16)
    assert len(cm.weight_candidates(cm.channel_weights_for(indices, palette))) > 1
    both_engines(indices, palette, 20)


def test_a_photos_channels_weigh_about_alike(real_images):
    """In a photograph every channel errs about as much: no weight over 2."""
    for name in ("astronaut", "coffee", "camera"):
        palette, indices = quantized(real_images, name, 64, (60, 80))
        assert max(cm.channel_weights_for(indices, palette)) <= 2, name


@pytest.mark.parametrize(("weights", "k"), [((64, 1), 16), ((1, 64), 256), ((3, 1, 40), 17),
                                            ((1, 5, 1, 64), 256), ((64,), 256)])
@requires_opencl
def test_channel_weights_agree_across_engines_and_decoders(weights, k, monkeypatch):
    """Weights the encoder would not choose: both engines write the same bytes, both
    decode them, the spec's decoder too, and unequal weights change the coded bytes."""
    indices = grainy((24, 40), k)
    indices[:4, :6] = 1
    palette = np.sort(RNG.integers(0, 256, (k, len(weights))).astype(np.uint8), axis=0)
    monkeypatch.setattr(cm, "choose_channel_weights", lambda indices, palette, code: weights)
    body = both_engines(indices, palette, 12)
    _, stored_weights, stripes = cm.split_stripes(body, 40, 24, len(weights), k)
    assert stored_weights == weights
    assert all(stripe[0] in cm.CODED_MODES for stripe in stripes)
    decoded = spec_decoder.decode_cm(bytes(body), 40, 24, palette.tobytes(), k, len(weights))
    assert decoded == indices.ravel().tolist()
    monkeypatch.setattr(cm, "choose_channel_weights",
                        lambda indices, palette, code: (1,) * len(weights))
    plain = cm_engine.encode(indices, palette, engine="opencl", stripe_height=12)
    # One weight for every channel scales every distance alike: the same orders.
    assert (plain[4 + len(weights):] == body[4 + len(weights):]) == (len(set(weights)) == 1)


@requires_opencl
def test_noise_is_stored_and_reads_back():
    indices = RNG.integers(0, 256, (9, 11)).astype(np.uint8)
    palette = RNG.integers(0, 256, (256, 3)).astype(np.uint8)
    body = both_engines(indices, palette, 9)
    assert body[cm.CM_STRIPE_HEADER_SIZE + 3 + 8] == cm.STRIPE_STORED
    assert len(body) == cm.CM_STRIPE_HEADER_SIZE + 3 + 8 + 1 + indices.size


def test_a_file_coded_by_one_engine_decodes_through_gcp(real_images):
    image = real_images["astronaut"][:64, :96]
    data = gcp.encode(image, 16, method="cm")
    assert gcp.read_info(data).method == "cm"
    assert np.array_equal(gcp.decode(data),
                          gcp.decode(gcp.encode(image, 16, method="lzma")))


def test_cm_is_smaller_than_lzma_on_a_photo(real_images):
    image = real_images["astronaut"]
    assert len(gcp.encode(image, 16, method="cm")) < 0.8 * len(gcp.encode(image, 16))


def test_without_opencl_the_reference_codes_with_a_notice(monkeypatch, caplog):
    def no_device(*_, **__):
        raise BackendError("no OpenCL device (simulated)")

    monkeypatch.setattr("gcp.backends.select_backend", no_device)
    monkeypatch.setattr(cm_engine, "_notified", set())
    indices = (np.arange(60).reshape(6, 10) % 3).astype(np.uint8)
    palette = np.array([[0], [100], [200]], np.uint8)
    with caplog.at_level(logging.WARNING, logger="gcp"):
        body = cm_engine.encode(indices, palette)
        decoded = cm_engine.decode(body, 10, 6, palette)
    assert np.array_equal(decoded, indices)
    notices = [record.getMessage() for record in caplog.records]
    assert len(notices) == 1 and "pure-Python reference" in notices[0]
    assert body == cm_engine.encode(indices, palette, engine="reference")
    with pytest.raises(BackendError):
        cm_engine.encode(indices, palette, engine="opencl")


def test_an_unknown_engine_is_a_parameter_error():
    with pytest.raises(gcp.ParameterError):
        cm_engine.encode(np.zeros((1, 1), np.uint8), np.zeros((1, 3), np.uint8), engine="gpu")


def corrupted(body: bytes, at: int) -> bytes:
    changed = bytearray(body)
    changed[at] ^= 0x5A
    return bytes(changed)


@requires_opencl
def test_both_engines_reject_corrupt_stripes_alike(real_images):
    """Every byte of the coded data changed in turn: both engines accept it or both
    reject it naming the same field, and never decode different indices."""
    palette, indices = quantized(real_images, "coffee", 16, (12, 20))
    body = cm_engine.encode(indices, palette, engine="reference", stripe_height=4)
    data_start = cm.CM_STRIPE_HEADER_SIZE + 3 + 3 * cm.CM_STRIPE_LENGTH_SIZE
    for at in range(data_start, len(body)):
        outcomes = []
        for engine in ("reference", "opencl"):
            try:
                outcomes.append(cm_engine.decode(corrupted(body, at), 20, 12, palette,
                                                 engine=engine).tobytes())
            except FormatError as error:
                outcomes.append(error.field)
        assert outcomes[0] == outcomes[1], at


@pytest.mark.parametrize("items_per_unit", [1, 3, 64])
@requires_opencl
def test_the_bytes_do_not_depend_on_how_many_work_items_share_the_stripes(
        real_images, monkeypatch, items_per_unit):
    """Work-items take stripes from a shared counter: fewer items than stripes, more,
    or one a stripe, the bytes and the indices are the reference's."""
    monkeypatch.setattr(cm_opencl, "CPU_ITEMS_PER_UNIT", items_per_unit)
    palette, indices = quantized(real_images, "astronaut", 16, (23, 30))
    both_engines(indices, palette, 2)  # 12 stripes, the last of one row


@requires_opencl
def test_of_two_corrupt_stripes_both_engines_report_the_first(real_images):
    """The kernel takes the longest stripes first; the error is still the first bad
    stripe's in stripe order, as the reference reports it, where a later stripe is the
    longer."""
    palette, indices = quantized(real_images, "coffee", 16, (24, 20))
    body = cm_engine.encode(indices, palette, engine="reference", stripe_height=4)
    _, _, stripes = cm.split_stripes(body, 20, 24, 3, len(palette))
    starts = np.cumsum([len(body) - sum(len(s) for s in stripes)]
                       + [len(s) for s in stripes])
    coded = [i for i, stripe in enumerate(stripes)
             if stripe[0] in (cm.STRIPE_CODED, cm.STRIPE_RANKS)]  # packed ones read anything
    first, later = next((i, j) for i in coded for j in coded
                        if j > i and len(stripes[j]) > len(stripes[i]))

    def first_failing(stripe: int) -> int:
        for at in range(int(starts[stripe]) + 1, int(starts[stripe + 1])):
            try:
                cm_engine.decode(corrupted(body, at), 20, 24, palette, engine="reference")
            except FormatError:
                return at
        raise AssertionError(f"no single change breaks stripe {stripe}")

    both = corrupted(corrupted(body, first_failing(later)), first_failing(first))
    errors = []
    for engine in ("reference", "opencl"):
        with pytest.raises(FormatError) as raised:
            cm_engine.decode(both, 20, 24, palette, engine=engine)
        errors.append(raised.value)
    assert errors[0].field == errors[1].field
    assert f"stripe {first}" in str(errors[1])  # the kernel's statuses name their stripe


@requires_opencl
def test_the_decoder_stops_at_the_data_end_of_a_huge_image():
    """Five bytes of data declared as 20000 x 20000 pixels in 2 colours: the decoder
    stops once it has read past them (rule 28) instead of decoding 400 MP."""
    body = cm.join_stripes(20000, (1,), [bytes([cm.STRIPE_CODED, 0x12, 0x34, 0x56, 0x78])])
    palette = np.array([[0], [255]], np.uint8)
    with pytest.raises(FormatError) as raised:
        cm_engine.decode(body, 20000, 20000, palette, engine="opencl")
    assert raised.value.field == "cm_data"


def test_the_stretch_table_has_the_values_the_spec_gives():
    assert cm.STRETCH[0] == -2047 and cm.STRETCH[2048] == 0 and cm.STRETCH[4095] == 1984
    assert all(a <= b for a, b in zip(cm.STRETCH, cm.STRETCH[1:], strict=False))
    assert all(cm.squash(cm.STRETCH[p]) >= p for p in range(1, 4095))


def test_the_cli_without_opencl_writes_the_same_bytes_with_one_notice(tmp_path, real_images):
    """No OpenCL platform at all (the ICD loader pointed at nothing): encode and decode
    still work, through the reference, each saying so in one line."""
    source = tmp_path / "crop.png"
    source.write_bytes(gcp.imageio.encode_image(real_images["logo"][200:240, 180:236], ".png"))
    with_opencl = tmp_path / "opencl.gcp"
    assert run_gcp("encode", source, with_opencl, "--method", "cm").returncode == 0
    without = {**os.environ, "OCL_ICD_VENDORS": str(tmp_path / "no-vendors")}
    encoded = run_gcp("encode", source, tmp_path / "reference.gcp", "--method", "cm",
                      env=without)
    decoded = run_gcp("decode", tmp_path / "reference.gcp", tmp_path / "back.png",
                      env=without)
    for result in (encoded, decoded):
        assert result.returncode == 0
        notice = result.stderr.strip().splitlines()
        assert len(notice) == 1 and "pure-Python reference" in notice[0]
    assert (tmp_path / "reference.gcp").read_bytes() == with_opencl.read_bytes()
    assert np.array_equal(gcp.imageio.decode_image((tmp_path / "back.png").read_bytes()),
                          gcp.decode(with_opencl.read_bytes()))


def run_gcp(*arguments, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gcp", *map(str, arguments)],
                          capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.parametrize(("effort", "stripes"), [(5, 3), (8, 2), (9, 1)])
def test_effort_sets_the_stripes(monkeypatch, real_images, effort, stripes):
    """Stripes of TARGET_STRIPE_PIXELS (2^12 here), twice that at effort 8 (here), one
    at 9."""
    monkeypatch.setattr(cm, "TARGET_STRIPE_PIXELS", 1 << 12)
    monkeypatch.setitem(codec.CM_STRIPE_PIXELS_BY_EFFORT, 8, 1 << 13)
    image = np.ascontiguousarray(real_images["coffee"][:120, :100])
    data = gcp.encode(image, 16, method="cm", effort=effort, backend="numpy")
    header, _, body = gcp.container.unpack(data)
    layout = cm.split_stripes(body, header.width, header.height, 3, header.palette_size,
                              header.compact)
    assert len(layout[2]) == stripes
    assert np.array_equal(gcp.decode(data), gcp.decode(gcp.encode(image, 16, effort=effort,
                                                                   backend="numpy")))


def test_a_stripe_over_max_stripe_pixels_is_refused():
    """Reachable only under a raised pixel limit: 2^16 rows of 2^17 pixels."""
    body = cm.join_stripes(1 << 16, (1,), [bytes([cm.STRIPE_CODED, 0, 0, 0, 0])])
    with pytest.raises(FormatError) as raised:
        cm.split_stripes(body, 1 << 17, 1 << 16, 1, 2)
    assert raised.value.field == "cm_stripes"
    assert cm.stripe_height_for(1 << 17, 1 << 16, None) == cm.MAX_STRIPE_PIXELS >> 17
    with pytest.raises(gcp.ParameterError):
        cm.stripe_height_for(1 << 32, 1)


@requires_opencl
def test_warm_up_builds_the_coders_kernels_and_is_silent_without_a_device(caplog):
    from gcp.backends import cm_opencl, select_backend

    cm_engine.warm_up()
    spec = opencl.device_spec_preferring(cm_opencl.DEVICE_PREFERENCE)
    assert id(select_backend("opencl", spec)) in cm_opencl._programs
    with caplog.at_level(logging.DEBUG, logger="gcp"):
        cm_engine.warm_up("no such device")
    assert caplog.records == []


@pytest.mark.parametrize(("method", "fit_backend"), [("cm", "opencl"), ("lzma", "numpy")])
@requires_opencl
def test_method_cm_fits_on_opencl_at_any_k_as_its_coder_opens_the_device(caplog, method,
                                                                          fit_backend):
    image = RNG.integers(0, 256, (40, 30, 3), dtype=np.uint8)
    with caplog.at_level(logging.DEBUG, logger="gcp"):
        data = gcp.encode(image, 16, method=method)
    chosen = [r.getMessage() for r in caplog.records if r.getMessage().startswith("backend:")]
    assert chosen == [f"backend: {fit_backend} on " + chosen[0].split(" on ", 1)[1]]
    assert np.array_equal(gcp.decode(data), gcp.decode(gcp.encode(image, 16, method="rle")))


@pytest.mark.parametrize("data_length", [0, 3, 4, 5])
def test_one_colour_stripes_are_read_as_the_coder_reads_them(data_length):
    """A palette of one colour codes no bit: ``decode`` checks the stripes' lengths and
    fills the indices without running the coder; the coder itself (``decode_body``)
    accepts and refuses the same stripes."""
    palette = np.array([[7, 8, 9]], np.uint8)
    body = cm.join_stripes(3, (1, 1, 1), [bytes([cm.STRIPE_CODED]) + bytes(data_length),
                                          bytes([cm.STRIPE_STORED]) + bytes(2 * 5)])
    outcomes = []
    for decode in (lambda: cm_engine.decode(body, 5, 5, palette),
                   lambda: cm.decode_body(body, 5, 5, palette)):
        try:
            outcomes.append(decode().tolist())
        except FormatError as error:
            outcomes.append(error.field)
    assert outcomes[0] == outcomes[1]
    assert outcomes[0] == (np.zeros((5, 5), int).tolist() if data_length == 4 else "cm_data")


def mirrored(k: int, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices, palette): 10 rows of random indices below k, then the same rows in
    reverse order, 48 wide; a random palette of k colours."""
    rng = np.random.default_rng(k * 10 + channels)
    top = rng.integers(0, k, (10, 48)).astype(np.uint8)
    palette = rng.integers(0, 256, (k, channels)).astype(np.uint8)
    return np.concatenate([top, top[::-1]]), palette


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("k", [2, 16, 17, 256])
@requires_opencl
def test_the_row_match_copies_mirrored_rows_alike_in_every_decoder(channels, k,
                                                                    monkeypatch):
    """Rows that repeat earlier ones in another order, where the 2-D match cannot follow:
    the row match (slot R, 5.3.3) makes the body shorter, both engines write the same
    bytes, and they and the spec's decoder decode them."""
    indices, palette = mirrored(k, channels)
    body = both_engines(indices, palette, 20)
    decoded = spec_decoder.decode_cm(bytes(body), 48, 20, palette.tobytes(), k, channels)
    assert decoded == indices.ravel().tolist()
    if k == 2:
        return  # five indices of 2 colours take 32 values: the entry is mostly another row's
    monkeypatch.setattr(cm, "row_match_key", lambda row, x: -1)
    without = cm_engine.encode(indices, palette, engine="reference", stripe_height=20)
    assert len(body) < len(without)


def test_the_row_match_is_looked_up_every_eighth_column_from_the_sixth():
    row = bytearray(range(40))
    looked_up = [x for x in range(40) if cm.row_match_key(row, x) >= 0]
    assert looked_up == [5, 13, 21, 29, 37]
    assert cm.row_match_key(row, 13) == cm.hash_values((7, 8, 9, 10, 11, 12),
                                                       cm.ROW_MATCH_BITS)


# --- STRIPE_PACKED (5.3.1) ---------------------------------------------------------------
@pytest.mark.parametrize("palette_size", [1, 2, 3, 16, 17, 100, 128, 129, 256])
@pytest.mark.parametrize("pixels", [1, 5, 8, 13, 1000])
def test_packed_indices_unpack_to_themselves(palette_size, pixels):
    bits = cm.index_bits(palette_size)
    assert bits == (0 if palette_size == 1 else int(np.ceil(np.log2(palette_size))))
    indices = RNG.integers(0, palette_size, pixels).astype(np.uint8)
    data = cm.packed_bytes(indices, bits)
    assert len(data) == cm.packed_length(pixels, bits) == -(-pixels * bits // 8)
    assert np.array_equal(cm.unpacked_indices(data, pixels, bits), indices)


@pytest.mark.parametrize(("k", "mode"), [(2, cm.STRIPE_PACKED), (16, cm.STRIPE_PACKED),
                                         (32, cm.STRIPE_PACKED), (256, cm.STRIPE_STORED)])
@requires_opencl
def test_noise_is_written_uncoded_packed_below_8_bits_stored_at_8(k, mode):
    """Uniform noise codes no shorter than its indices: both engines write them packed in
    index_bits each, or stored where that is 8; the spec's decoder reads them."""
    indices = RNG.integers(0, k, (24, 40)).astype(np.uint8)
    palette = RNG.integers(0, 256, (k, 3)).astype(np.uint8)
    body = both_engines(indices, palette, 8)
    _, _, stripes = cm.split_stripes(body, 40, 24, 3, k)
    assert [stripe[0] for stripe in stripes] == [mode] * 3
    assert {len(stripe) for stripe in stripes} == {1 + cm.packed_length(320, cm.index_bits(k))}
    decoded = spec_decoder.decode_cm(bytes(body), 40, 24, palette.tobytes(), k, 3)
    assert decoded == indices.ravel().tolist()


def test_a_packed_stripe_is_kept_only_where_no_coding_is_shorter():
    flat = np.zeros((8, 64), np.uint8)
    flat[4:, 20:] = 1
    flat[6, 3] = 1  # no blocks (cm.block_size)
    body = cm_engine.encode(flat, np.array([[0], [255]], np.uint8), engine="reference")
    assert cm.split_stripes(body, 64, 8, 1, 2)[2][0][0] == cm.STRIPE_CODED


@requires_opencl
def test_a_bad_packed_stripe_before_a_corrupt_coded_one_is_the_one_both_engines_name(
        real_images):
    """A packed stripe holding an index past the palette (rule 20), then a coded stripe
    whose data is cut (rule 28): the first in stripe order is reported by each engine."""
    palette, indices = quantized(real_images, "coffee", 3, (12, 20))
    body = cm_engine.encode(indices, palette, engine="reference", stripe_height=4)
    _, weights, stripes = cm.split_stripes(body, 20, 12, 3, 3)
    bad_packed = bytes([cm.STRIPE_PACKED]) + b"\xff" * cm.packed_length(80, 2)
    cut_coded = bytes([cm.STRIPE_CODED]) + bytes(stripes[2][1:-1]) if \
        stripes[2][0] == cm.STRIPE_CODED else bytes([cm.STRIPE_CODED, 0, 0, 0, 0, 0])
    broken = cm.join_stripes(4, weights, [bytes(stripes[0]), bad_packed, cut_coded])
    for engine in ("reference", "opencl"):
        with pytest.raises(FormatError) as raised:
            cm_engine.decode(broken, 20, 12, palette, engine=engine)
        assert raised.value.field == "index", engine


@pytest.mark.parametrize(("tried", "verdict"), [
    ([True, True, True], None),                  # under RANKS_VERDICT_STRIPES: each both ways
    ([False, True, True, True, False], 2),       # the middle stripe
    ([True, False, False, False, True], 0),      # the middle not tried: the first tried
    ([False, False, True, True], 2),             # of four, the middle is stripe 2
    ([False, False, False, False], None),        # none tried
])
def test_the_verdict_stripe(monkeypatch, tried, verdict):
    queue = list(tried)
    monkeypatch.setattr(cm, "ranks_may_pay", lambda indices, alone=False, uu_offset=None:
                        queue.pop(0))
    indices = np.zeros((len(tried) * 4, 8), np.uint8)
    assert cm.ranks_trials(indices, 4) == (tried, verdict)


def recorded_codings(monkeypatch, engine: str, indices: np.ndarray, palette: np.ndarray,
                     stripe_height: int, **options) -> tuple[list[tuple[int, int]], list[bytes]]:
    """((stripe, stripe_mode) of every coding an engine ran, in order; its stripes), with
    every channel weighed 1 and ``options`` as ``reference_stripes`` takes them."""
    codings = []
    weights = (1,) * palette.shape[1]
    if engine == "reference":
        code_stripe_data = cm.code_stripe_data
        rows = dict(cm.stripe_rows(len(indices), stripe_height))

        def recording(stripe, tables, mode, uu_offset=cm.TWO_UP):
            top = next(top for top, count in rows.items() if count == len(stripe)
                       and np.shares_memory(stripe, indices[top:top + count]))
            codings.append((top // stripe_height, cm.mode_of(mode)))
            return code_stripe_data(stripe, tables, mode, uu_offset)

        monkeypatch.setattr(cm, "code_stripe_data", recording)
        stripes = cm.reference_stripes(indices, palette, weights, stripe_height, **options)
    else:
        code_jobs = cm_opencl._code_jobs

        def recording_jobs(backend, indices, palette, weights, stripe_height, jobs):
            codings.extend((s, cm.mode_of(mode)) for s, (mode, _) in jobs)
            return code_jobs(backend, indices, palette, weights, stripe_height, jobs)

        monkeypatch.setattr(cm_opencl, "_code_jobs", recording_jobs)
        stripes = cm_opencl.encode_stripes(cm_engine._opencl_backend("opencl", None),
                                           indices, palette, weights, stripe_height, **options)
    return codings, stripes


def six_stripes(ranks: bool, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 (48, 96) indices, the 256 greys): grain on a ramp, which the ranks mode codes
    shorter, or columns of flat colour with 5% of pixels one index, which the coded mode
    does; six stripes of 8 rows."""
    rng = np.random.default_rng(seed)
    if ranks:
        indices = np.clip(np.linspace(60, 200, 96)[None, :] + rng.normal(0, 2, (48, 96)),
                          0, 255).astype(np.uint8)
    else:
        indices = (np.tile(np.arange(96) // 6, (48, 1)) * 9).astype(np.uint8)
        indices[rng.random(indices.shape) < 0.05] = 7
    return indices, np.arange(256, dtype=np.uint8)[:, None]


@pytest.mark.parametrize("engine", ["reference", pytest.param("opencl", marks=requires_opencl)])
@pytest.mark.parametrize("ranks", [True, False])
def test_tried_stripes_follow_the_verdict_stripe(monkeypatch, engine, ranks):
    """Six stripes, all tried: the middle one (3) is coded both ways; the other five only
    in the mode it kept (ranks on grain, the coded mode on columns of flat colour), and
    both engines write the same bytes."""
    indices, palette = six_stripes(ranks, seed=3)
    monkeypatch.setattr(cm, "ranks_may_pay", lambda indices, alone=False, uu_offset=None: True)
    codings, stripes = recorded_codings(monkeypatch, engine, indices, palette, 8)
    mode = cm.STRIPE_RANKS if ranks else cm.STRIPE_CODED
    assert sorted(codings) == sorted([(3, cm.STRIPE_CODED), (3, cm.STRIPE_RANKS)]
                                     + [(s, mode) for s in (0, 1, 2, 4, 5)])
    assert [stripe[0] for stripe in stripes] == [mode] * 6
    monkeypatch.undo()
    if engine == "opencl":
        monkeypatch.setattr(cm, "ranks_may_pay", lambda indices, alone=False, uu_offset=None:
                            True)
        assert stripes == cm.reference_stripes(indices, palette, (1,), 8)


@pytest.mark.parametrize("ranks", [True, False])
@requires_opencl
def test_codings_side_by_side_are_each_codings_own_stripes(monkeypatch, ranks):
    """Several codings in one call (the encoder's trials): each coding's stripes are the
    reference's, and those of the kernel coding it alone; a job two codings share (the
    ranks mode, or the verdict stripe's) runs once, and the waiting stripes run in one
    second launch."""
    indices, palette = six_stripes(ranks, seed=5)
    monkeypatch.setattr(cm, "ranks_may_pay", lambda indices, alone=False, uu_offset=None: True)
    codings = [cm.PLAIN, cm.Coding(wide=True), cm.Coding(uu_offset=(4, 0)),
               cm.Coding(smooth=True), cm.PLAIN]
    backend = cm_engine._opencl_backend("opencl", None)
    launches = []
    code_jobs = cm_opencl._code_jobs

    def recording_jobs(backend, indices, palette, weights, stripe_height, jobs):
        launches.append(jobs)
        return code_jobs(backend, indices, palette, weights, stripe_height, jobs)

    monkeypatch.setattr(cm_opencl, "_code_jobs", recording_jobs)
    together = cm_opencl.encode_codings(backend, indices, palette, (1,), 8, codings)
    assert len(launches) == 2
    assert all(len(set(jobs)) == len(jobs) for jobs in launches)
    assert not set(launches[0]) & set(launches[1])
    # PLAIN, wide and UU share the ranks mode (STRIPE_RANKS, two rows up): the verdict
    # stripe's ranks coding runs once for the three, as do the waiting stripes' if kept.
    ranks_jobs = [job for jobs in launches for job in jobs
                  if cm.mode_of(job[1][0]) == cm.STRIPE_RANKS]
    assert len(ranks_jobs) == (6 if ranks else 1)
    monkeypatch.setattr(cm_opencl, "_code_jobs", code_jobs)
    assert together == cm.reference_codings(indices, palette, (1,), 8, codings)
    assert together == [cm_opencl.encode_stripes(backend, indices, palette, (1,), 8, *coding)
                        for coding in codings]
    assert together[0] == together[-1]


def _span_length_by_definition(above: bytearray, x: int, width: int, value: int) -> int:
    """5.3.4's span length, read as written: the largest length from 1 to width - x with
    I(min(j, width - 1), y - 1) == value for every j from x + 1 to x + length."""
    best = 1
    for length in range(1, width - x + 1):
        if all(above[min(j, width - 1)] == value for j in range(x + 1, x + length + 1)):
            best = length
        else:
            break
    return best


@pytest.mark.parametrize("seed", range(40))
def test_span_lengths_kept_for_a_row_are_the_definitions(seed):
    # The reference keeps each row's run end (span_length's ``run``), so that many short
    # spans over a long run above do not read it again and again; the lengths must be
    # the spec's at every flat pixel, whichever of them start spans, in a row's order.
    rng = np.random.default_rng(seed)
    width = int(rng.integers(1, 40))
    colours = int(rng.integers(1, 4))
    above = bytearray(rng.integers(0, colours, width).astype(np.uint8).tobytes())
    rows = [above, bytearray(width)]
    run = [cm.NO_RUN_VALUE, 0, 0]
    x = 0
    while x < width:
        # A span starts at a flat pixel, whose UR (U at the last column) is its value.
        value = above[min(x + 1, width - 1)]
        assert cm.span_length(rows, 1, x, width, value, run) == \
            _span_length_by_definition(above, x, width, value)
        x += int(rng.integers(1, 4))


@requires_opencl
def test_one_colour_codes_no_row_bits_in_either_encoder(monkeypatch):
    """5.3.4: with one colour no bit is coded at all, STRIPE_CODED_UU's row bits included
    (a decoder reads the coder's 4 final bytes alone). 400,000 rows would have taken row
    bits of about 18 bytes in the kernel."""
    palette, weights = np.array([[7, 8, 9]], np.uint8), (1, 1, 1)
    coding = (cm.mode_byte(cm.STRIPE_CODED_UU, 0), (1, 0))
    lengths = cm_opencl.coded_lengths(opencl_backend(), np.zeros((400_000, 1), np.uint8),
                                      palette, weights, [coding])
    assert lengths == [cm.CODER_FINAL_BYTES]

    def no_row_bit(*_):
        raise AssertionError("a row bit coded with one colour")

    monkeypatch.setattr(cm.StripeModel, "code_row_repeat", no_row_bit)
    data = cm.code_stripe_data(np.zeros((40, 3), np.uint8), cm.PaletteTables(palette, weights),
                               cm.STRIPE_CODED_UU, (1, 0))
    assert len(data) == cm.CODER_FINAL_BYTES
