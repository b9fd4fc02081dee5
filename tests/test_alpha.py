"""Images with alpha are fitted, assigned and measured on their colours as seen
(premultiplied by alpha), and stored with straight colours."""

from __future__ import annotations

import numpy as np
import pytest

import gcp
from gcp import palette_code, quantizer
from gcp.compare import psnr


def test_premultiplied_rounds_each_colour_channel_times_alpha():
    colours = np.random.default_rng(1).integers(0, 256, (5000, 4)).astype(np.uint8)
    seen = quantizer.premultiplied(colours)
    expected = np.floor(colours[:, :3].astype(float) * colours[:, 3:] / 255 + 0.5)
    assert np.array_equal(seen[:, :3], expected)
    assert np.array_equal(seen[:, 3], colours[:, 3])


@pytest.mark.parametrize("channels", [2, 4])
def test_premultiplied_is_exact_for_every_value_and_alpha(monkeypatch, channels):
    """All 65,536 pairs of a value and an alpha, as integer arithmetic rounds them, in
    bands that end anywhere (OpenCV's float product must round as the integers do)."""
    monkeypatch.setattr(quantizer, "PREMULTIPLY_BLOCK", 1000)
    value = np.repeat(np.arange(256), 256)
    alpha = np.tile(np.arange(256), 256)
    colours = np.stack([value] * (channels - 1) + [alpha], axis=1).astype(np.uint8)
    seen = quantizer.premultiplied(colours.reshape(256, 256, channels))
    expected = (value * alpha + 127) // 255
    for channel in range(channels - 1):
        assert np.array_equal(seen[:, :, channel].ravel(), expected)
    assert np.array_equal(seen[:, :, -1].ravel(), alpha)


def test_straight_undoes_premultiplied_and_is_black_where_alpha_is_zero():
    rng = np.random.default_rng(2)
    for channels in (2, 4):
        seen = quantizer.premultiplied(rng.integers(0, 256, (5000, channels)).astype(np.uint8))
        back = quantizer.straight(seen)
        assert np.array_equal(quantizer.premultiplied(back), seen)
        assert not back[seen[:, -1] == 0, :-1].any()


def disc(rng: np.random.Generator, dirty: bool, channels: int = 4) -> np.ndarray:
    """A noisy picture cut out as a disc with a soft edge; where alpha is 0 the colour is
    noise (``dirty``) or black."""
    rows, columns = np.mgrid[0:48, 0:48]
    alpha = np.clip((18 - np.hypot(rows - 24, columns - 24)) * 40, 0, 255).astype(np.uint8)
    colour = rng.integers(0, 256, (48, 48, channels - 1)).astype(np.uint8)
    if not dirty:
        colour[alpha == 0] = 0
    return np.dstack([colour, alpha])


@pytest.mark.parametrize("channels", [2, 4])
@pytest.mark.parametrize("k", [4, 16, 64])
def test_colour_under_alpha_zero_changes_nothing_in_the_file(channels, k):
    clean = disc(np.random.default_rng(3), dirty=False, channels=channels)
    dirty = disc(np.random.default_rng(3), dirty=True, channels=channels)
    assert not np.array_equal(clean, dirty)
    assert gcp.encode(clean, k, backend="numpy") == gcp.encode(dirty, k, backend="numpy")


def test_the_cut_away_part_takes_one_palette_entry_and_stays_unseen():
    image = disc(np.random.default_rng(4), dirty=True)
    decoded = gcp.decode(gcp.encode(image, 16, backend="numpy"))
    transparent = image[:, :, 3] == 0
    assert len(np.unique(decoded[transparent], axis=0)) == 1
    assert decoded[transparent, 3].max() <= 2  # shared with the faintest edge: unseen


def test_the_reported_psnr_is_that_of_the_colours_as_seen():
    image = disc(np.random.default_rng(5), dirty=True)
    data, report = gcp.encode_report(image, 8, backend="numpy")
    decoded = gcp.decode(data)
    assert report.psnr == pytest.approx(psnr(image, decoded), abs=1e-9)
    straight = 10 * np.log10(255**2 / np.mean((image.astype(float) - decoded) ** 2))
    assert report.psnr > straight + 3  # the noise under alpha 0 is not counted


def test_faint_pixels_weigh_less_than_opaque_ones():
    """Two close opaque colours and many faint pixels of every colour: with three colours
    the fit keeps both opaque ones exact, as a viewer sees it, where four equal channels
    merge them to spend a colour on the faint pixels' colours, which barely show."""
    rng = np.random.default_rng(6)
    opaque = np.zeros((10, 40, 4), np.uint8)
    opaque[:, :20], opaque[:, 20:] = (200, 40, 40, 255), (240, 40, 40, 255)
    faint = np.dstack([rng.integers(0, 256, (50, 40, 3)), np.full((50, 40), 6)]).astype(np.uint8)
    palette = gcp.read_info(gcp.encode(np.concatenate([opaque, faint]), 3,
                                       backend="numpy")).palette
    assert {(200, 40, 40, 255), (240, 40, 40, 255)} <= {tuple(c) for c in palette.tolist()}


def test_an_image_of_few_straight_colours_stays_lossless_even_where_they_look_alike():
    """Colours that differ only where alpha is 0, or round to one premultiplied colour,
    are kept when the image has no more than k of them."""
    colours = np.array([[10, 20, 30, 0], [200, 100, 0, 0], [100, 0, 0, 2], [101, 0, 0, 2],
                        [0, 0, 0, 255]], np.uint8)
    image = colours[np.random.default_rng(7).integers(0, 5, (20, 30))]
    data = gcp.encode(image, 8, backend="numpy")
    assert np.array_equal(gcp.decode(data), image)
    assert gcp.read_info(data).exact


def test_a_given_palette_keeps_an_unseen_pixel_unseen():
    """An invisible blue pixel takes the palette's invisible entry, not its opaque blue,
    which is nearer in straight values."""
    image = np.array([[[0, 0, 250, 0], [0, 0, 255, 255]]], np.uint8)
    palette = np.array([[255, 0, 0, 0], [0, 0, 255, 255]], np.uint8)
    decoded = gcp.decode(gcp.encode(image, palette=palette, backend="numpy"))
    assert decoded[0, 0, 3] == 0 and np.array_equal(decoded[0, 1], [0, 0, 255, 255])


def test_k_medoids_stores_colours_the_image_has():
    image = disc(np.random.default_rng(8), dirty=True)
    data = gcp.encode(image, 8, algorithm="kmedoids", backend="numpy")
    own = {tuple(c) for c in image.reshape(-1, 4).tolist()}
    assert {tuple(c) for c in gcp.read_info(data).palette.tolist()} <= own


@pytest.mark.parametrize("algorithm", ["kmeans", "kmedoids"])
def test_a_fitted_palette_is_stored_ascending_or_on_the_nearest_tour(algorithm):
    """As spec section 7 says of the reference encoder's fitted palettes: no repeats, in
    ascending order of their bytes or, where that codes shorter, on the nearest tour."""
    image = disc(np.random.default_rng(9), dirty=True)
    palette = gcp.read_info(gcp.encode(image, 16, algorithm=algorithm, backend="numpy")).palette
    ascending = np.unique(palette, axis=0)
    assert len(ascending) == len(palette)
    assert palette.tolist() in (ascending.tolist(),
                                ascending[palette_code.nearest_tour(ascending)].tolist())
    assert palette.tolist() == ascending[palette_code.shortest_order(ascending)].tolist()
