"""K-Means on the weighted colour histogram (gcp/quantizer.py)."""

from __future__ import annotations

import numpy as np
import pytest

from gcp import quantizer

RNG = np.random.default_rng(7)


def test_distinct_colours_and_counts():
    pixels = np.array([[1, 2, 3], [1, 2, 3], [0, 0, 0], [9, 9, 9], [1, 2, 3]], np.uint8)
    colours, counts = quantizer.distinct_colours(pixels)
    assert colours.tolist() == [[0, 0, 0], [1, 2, 3], [9, 9, 9]]
    assert counts.tolist() == [1, 3, 1]


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_pack_and_unpack_colours_are_inverse(channels):
    pixels = RNG.integers(0, 256, (100, channels), dtype=np.uint8)
    assert np.array_equal(quantizer.unpack_colours(quantizer.pack_colours(pixels), channels),
                          pixels)


def test_few_colours_give_an_exact_palette():
    pixels = np.repeat(np.array([[5, 5, 5], [200, 0, 0], [0, 90, 0]], np.uint8), 10, axis=0)
    fit = quantizer.fit_palette(pixels, 3)
    assert fit.exact
    assert sorted(map(tuple, fit.palette.tolist())) == [(0, 90, 0), (5, 5, 5), (200, 0, 0)]


def test_fit_separates_obvious_clusters():
    centres = np.array([[20, 20, 20], [200, 30, 30], [30, 200, 30], [30, 30, 200]], float)
    pixels = np.concatenate([c + RNG.normal(0, 4, (500, 3)) for c in centres])
    pixels = np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
    fit = quantizer.fit_palette(pixels, 4)
    assert not fit.exact and len(fit.palette) == 4
    found = sorted(map(tuple, fit.palette.astype(int).tolist()))
    for got, want in zip(found, sorted(map(tuple, centres.astype(int).tolist())), strict=True):
        assert np.abs(np.array(got) - np.array(want)).max() <= 2


def test_weighted_points_match_repeated_points():
    points = np.array([[0.0], [10.0], [11.0], [50.0]])
    weights = np.array([5.0, 1.0, 1.0, 3.0])
    repeated = np.repeat(points, weights.astype(int), axis=0)
    centres_w, inertia_w = quantizer.kmeans(points, weights, 2, np.random.default_rng(0))
    centres_r, inertia_r = quantizer.kmeans(repeated, np.ones(len(repeated)), 2,
                                            np.random.default_rng(0))
    assert sorted(centres_w.ravel()) == pytest.approx(sorted(centres_r.ravel()))
    assert inertia_w == pytest.approx(inertia_r)


def test_kmeans_plusplus_picks_distinct_points_when_it_can():
    points = np.arange(10, dtype=float).reshape(-1, 1) * 10
    centres = quantizer.kmeans_plusplus(points, np.ones(10), 10, np.random.default_rng(1))
    assert len(np.unique(centres)) == 10


def test_empty_cluster_is_moved_to_the_farthest_point():
    points = np.array([[0.0], [1.0], [100.0]])
    weights = np.ones(3)
    centres = np.array([[0.5], [1000.0]])  # the second centre owns nothing
    labels = np.array([0, 0, 0])
    distances = quantizer.squared_distances(points, centres)
    updated = quantizer._update_centres(points, weights, labels, centres, distances)
    assert updated[1, 0] == 100.0


def test_more_restarts_never_raise_inertia():
    # 3000 colours fit both levels' max_points unmerged, so both fit the same points and
    # the first start is the same; effort 4 adds two more starts and keeps the best.
    pixels = RNG.integers(0, 256, (3000, 3), dtype=np.uint8)
    assert quantizer.EFFORT_LEVELS[2].restarts < quantizer.EFFORT_LEVELS[4].restarts
    one_start = quantizer.fit_palette(pixels, 8, effort=2)
    three_starts = quantizer.fit_palette(pixels, 8, effort=4)
    assert one_start.points == three_starts.points == len(np.unique(pixels, axis=0))
    assert three_starts.inertia <= one_start.inertia


def test_too_many_colours_are_merged_into_cells():
    pixels = RNG.integers(0, 256, (20000, 3), dtype=np.uint8)
    colours, counts = quantizer.distinct_colours(pixels)
    points, weights = quantizer._merge_into_cells(colours, counts, 1000)
    assert len(points) <= 1000
    assert weights.sum() == counts.sum()
    mean = (colours * counts[:, None]).sum(0) / counts.sum()
    assert (points * weights[:, None]).sum(0) / weights.sum() == pytest.approx(mean)


def test_fit_is_deterministic_for_a_seed():
    pixels = RNG.integers(0, 256, (5000, 3), dtype=np.uint8)
    first = quantizer.fit_palette(pixels, 16, seed=4)
    again = quantizer.fit_palette(pixels, 16, seed=4)
    assert np.array_equal(first.palette, again.palette)


def test_refine_moves_colours_to_their_pixel_means():
    pixels = np.array([[0, 0, 0], [2, 2, 2], [100, 100, 100], [104, 104, 104]], np.uint8)
    labels = np.array([0, 0, 1, 1], np.uint8)
    palette = np.array([[5, 5, 5], [90, 90, 90]], np.uint8)
    refined = quantizer.refine_palette(pixels, labels, palette)
    assert refined.tolist() == [[1, 1, 1], [102, 102, 102]]
