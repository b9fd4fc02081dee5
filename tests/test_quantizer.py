"""K-Means on the weighted colour histogram (gcp/quantizer.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gcp import quantizer
from gcp.backends import numpy_backend

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


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_seeding_distances_in_reused_buffers_are_the_channel_by_channel_squares(channels):
    rng = np.random.default_rng(channels)
    points = np.round(rng.random((300, channels)) * 255)
    distances = quantizer._CandidateDistances(points.T.copy(), 5)
    for count in (5, 2, 5):  # a full buffer, a short one, and the full one again
        centres = points[rng.integers(0, 300, count)]
        expected = (points[:, None, 0] - centres[None, :, 0]) ** 2
        for channel in range(1, channels):
            expected = expected + (points[:, None, channel] - centres[None, :, channel]) ** 2
        got = distances.to_each(centres)
        assert got.shape == (300, count) and got.flags.c_contiguous
        assert np.array_equal(got, expected)


def test_empty_cluster_is_moved_to_the_farthest_point():
    points = np.array([[0.0], [1.0], [100.0]])
    weights = np.ones(3)
    centres = np.array([[0.5], [1000.0]])  # the second centre owns nothing
    labels = np.array([0, 0, 0])
    own_distance = quantizer.squared_distances(points, centres)[np.arange(3), labels]
    updated = quantizer._update_centres(weights[:, None] * points, weights, labels, centres,
                                        points, own_distance)
    assert updated[1, 0] == 100.0


def plain_lloyd(points, weights, centres, max_iter=300, tol=1e-4):
    """Textbook weighted Lloyd: every distance, every iteration."""
    mean = np.average(points, axis=0, weights=weights)
    threshold = tol * np.average((points - mean) ** 2, axis=0, weights=weights).mean()
    labels = None
    for _ in range(max_iter):
        new_labels = quantizer.squared_distances(points, centres).argmin(1)
        if labels is not None and np.array_equal(new_labels, labels):
            break
        labels = new_labels
        new_centres = centres.copy()
        for j in range(len(centres)):
            mine = labels == j
            if mine.any():
                new_centres[j] = np.average(points[mine], axis=0, weights=weights[mine])
        shift = ((new_centres - centres) ** 2).sum()
        centres = new_centres
        if shift <= threshold:
            break
    return centres


@pytest.mark.parametrize("block", [1 << 16, 7, 1])
@pytest.mark.parametrize(("points", "k"), [(1, 1), (50, 3), (1000, 256), (5, 256)])
def test_distances_in_blocks_equal_the_whole_matrix(points, k, block, monkeypatch):
    """Exactly, however the rows are blocked (7 entries: blocks of 2 rows for k = 3, and
    of 1 row when k alone is more)."""
    monkeypatch.setattr(quantizer, "DISTANCE_BLOCK", block)
    channels = 3
    xs = RNG.random((points, channels)) * 255
    centres = RNG.random((k, channels)) * 255
    centres[-1] = centres[0]  # a tie for the nearest two
    whole = ((xs[:, None, :] - centres[None]) ** 2).sum(2)
    assert np.array_equal(quantizer.squared_distances(xs, centres), whole)


@pytest.mark.parametrize("block", [1 << 16, 7, 1])
@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize(("points", "k"), [(1, 1), (50, 3), (1000, 256), (5, 256)])
def test_reference_search_is_the_float32_textbook_in_any_blocks(points, k, channels, block,
                                                                monkeypatch):
    """The fit's search gives the float32 distances summed channel by channel in order,
    the lowest index on ties, and the least other distance as the second, however the
    rows are blocked."""
    monkeypatch.setattr(numpy_backend, "DISTANCE_BLOCK", block)
    xs = (RNG.random((points, channels)) * 255).astype(np.float32)
    centres = (RNG.random((k, channels)) * 255).astype(np.float32)
    centres[-1] = centres[0]  # a tie for the nearest two
    whole = np.zeros((points, k), np.float32)
    for channel in range(channels):
        whole += (xs[:, None, channel] - centres[None, :, channel]) ** 2
    labels, nearest, second = numpy_backend.nearest_two(xs, centres)
    ordered = np.sort(whole, axis=1)
    assert np.array_equal(labels, whole.argmin(1))
    assert np.array_equal(nearest, ordered[:, 0])
    assert np.array_equal(second, ordered[:, 1] if k > 1 else np.full(points, np.inf))


def test_large_palettes_get_fewer_starts():
    level = quantizer.EFFORT_LEVELS[5]
    for k in (2, 16, quantizer.FULL_STARTS_MAX_K):
        assert quantizer.starts_for(level, k) == (level.restarts, level.polished)
    assert quantizer.starts_for(level, 256) == (-(-level.restarts // 2), -(-level.polished // 2))
    assert quantizer.starts_for(quantizer.EFFORT_LEVELS[1], 256) == (1, 1)


@pytest.mark.parametrize("k", [1, 2, 7, 16, 256])
def test_lloyd_with_bounds_equals_plain_lloyd(k):
    points = RNG.normal(100, 40, (3000, 3))
    weights = RNG.integers(1, 20, 3000).astype(float)
    start = quantizer.kmeans_plusplus(points, weights, k, np.random.default_rng(k))
    fast, _ = quantizer.lloyd(points, weights, start.copy(), tol=0)
    slow = plain_lloyd(points, weights, start.copy(), tol=0)
    assert fast == pytest.approx(slow)


def test_more_restarts_never_raise_inertia():
    # 1500 colours stay exact at both levels, so both fit the same points and the first
    # start is the same; effort 4 adds two more starts and keeps the best.
    pixels = RNG.integers(0, 256, (1500, 3), dtype=np.uint8)
    assert quantizer.EFFORT_LEVELS[2].restarts < quantizer.EFFORT_LEVELS[4].restarts
    one_start = quantizer.fit_palette(pixels, 8, effort=2)
    three_starts = quantizer.fit_palette(pixels, 8, effort=4)
    assert one_start.points == three_starts.points == len(np.unique(pixels, axis=0))
    assert three_starts.inertia <= one_start.inertia


@pytest.mark.parametrize("channels", [3, 4])
def test_too_many_colours_are_merged_into_cells(channels):
    pixels = RNG.integers(0, 256, (20000, channels), dtype=np.uint8)
    histogram = quantizer.colour_histogram(pixels, 1000)
    assert not histogram.exact
    assert len(histogram.points) <= 1000
    assert histogram.weights.sum() == len(pixels)
    weighted_mean = (histogram.points * histogram.weights[:, None]).sum(0) / len(pixels)
    assert weighted_mean == pytest.approx(pixels.mean(0))


def test_few_colours_stay_exact_in_the_histogram():
    pixels = np.repeat(RNG.integers(0, 256, (300, 3), dtype=np.uint8), 7, axis=0)
    histogram = quantizer.colour_histogram(pixels, 16384)
    assert histogram.exact
    assert len(histogram.points) == len(np.unique(pixels, axis=0))
    assert histogram.weights.sum() == len(pixels)


def test_merging_points_keeps_weight_and_mean():
    pixels = RNG.integers(0, 256, (5000, 3), dtype=np.uint8)
    fine = quantizer.colour_histogram(pixels, 100_000)
    coarse = quantizer.merge_points(fine, 300)
    assert len(coarse.points) <= 300 and not coarse.exact
    assert coarse.weights.sum() == fine.weights.sum()
    assert (coarse.points * coarse.weights[:, None]).sum(0) == pytest.approx(
        (fine.points * fine.weights[:, None]).sum(0))
    assert quantizer.merge_points(fine, len(fine.points)) is fine


def test_restarts_see_enough_coarse_points_a_colour(monkeypatch):
    """At large k the coarse histogram of an image seen whole grows to
    COARSE_POINTS_PER_COLOUR points a colour; at small k, or for a sampled image, it keeps
    the effort level's size."""
    limits = []
    merge = quantizer.merge_points

    def recording(histogram, most):
        limits.append(most)
        return merge(histogram, most)

    monkeypatch.setattr(quantizer, "merge_points", recording)
    pixels = RNG.integers(0, 256, (20_000, 3), dtype=np.uint8)
    level = quantizer.EFFORT_LEVELS[quantizer.DEFAULT_EFFORT]
    for k, sample_size, expected in ((16, None, level.coarse_points),
                                     (200, None, quantizer.COARSE_POINTS_PER_COLOUR * 200),
                                     (200, 10_000, level.coarse_points)):
        limits.clear()
        quantizer.fit_palette(pixels, k, max_iter=2, sample_size=sample_size)
        assert limits[-1] == expected  # the fine histogram may be merged first
    assert level.coarse_points < quantizer.COARSE_POINTS_PER_COLOUR * 200


def test_grey_levels_are_the_global_optimum():
    levels = np.array([0, 1, 2, 5, 9, 10, 40], float)
    weights = np.array([3, 1, 1, 2, 5, 1, 2], float)
    for k in (1, 2, 3):
        centres = quantizer.optimal_grey_levels(levels, weights, k)
        assert len(centres) == k and np.all(centres == np.round(centres))
        cost = (weights * ((levels[:, None] - centres[None]) ** 2).min(1)).sum()
        # integer palettes from 0..40 only, to keep the brute force small
        assert cost == pytest.approx(brute_force_grey_optimum_small(levels, weights, k))


def run_cost(colours: np.ndarray, weights: np.ndarray) -> float:
    mean = weights @ colours / weights.sum()
    return float(weights @ ((colours - mean) ** 2).sum(1))


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_path_centres_are_the_best_split_into_runs(k):
    """path_centres is the least-error split of the colours, in luminance order, into k
    runs of consecutive colours: checked against every split of seven colours."""
    from itertools import combinations

    rng = np.random.default_rng(k)
    colours = rng.integers(0, 256, (7, 3)).astype(float)
    weights = rng.integers(1, 9, 7).astype(float)
    centres = quantizer.path_centres(colours, weights, k)
    order = np.argsort(colours @ quantizer.LUMINANCE, kind="stable")
    runs_of = [np.split(order, cuts) for cuts in combinations(range(1, 7), k - 1)]
    best = min(runs_of, key=lambda runs: sum(run_cost(colours[r], weights[r]) for r in runs))
    expected = np.array([weights[r] @ colours[r] / weights[r].sum() for r in best])
    assert centres.shape == (k, 3)
    np.testing.assert_allclose(centres, expected)


def test_colours_along_a_colour_map_fit_better_from_their_runs(monkeypatch):
    """A smooth field with noise through the inferno colour map (165 colours along one
    curve): the fit's start from the best split into runs ends with less error than
    k-means++ starts alone, at k = 8, 16 and 32."""
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(3)
    rows, columns = np.mgrid[0:96, 0:128]
    field = (60 + 25 * np.sin(columns / 19.0) * np.cos(rows / 14.0)
             + 120 * np.exp(-((columns - 70) / 12.0) ** 2 - ((rows - 40) / 20.0) ** 2))
    grey = np.clip(field + rng.normal(0, 1.5, field.shape), 0, 255).round().astype(np.uint8)
    pixels = cv2.applyColorMap(grey, cv2.COLORMAP_INFERNO).reshape(-1, 3)
    for k in (8, 16, 32):
        with_runs = quantizer.fit_palette(pixels, k).inertia
        monkeypatch.setattr(quantizer, "PATH_STEPS", 0)
        without = quantizer.fit_palette(pixels, k).inertia
        monkeypatch.undo()
        assert with_runs < without


def test_merged_centres_merge_the_cheapest_pairs_first():
    """Ward's merging: (0, 1) costs 0.5, (10, 12) 2, anything with the heavy 30 far more."""
    points = np.array([[0], [1], [10], [12], [30]], float)
    weights = np.array([1, 1, 1, 1, 5], float)
    np.testing.assert_allclose(quantizer.merged_centres(points, weights, 3),
                               [[0.5], [11.0], [30.0]])
    for k in (1, 2, 4, 5):
        centres = quantizer.merged_centres(points, weights, k)
        assert centres.shape == (k, 1)
    np.testing.assert_allclose(quantizer.merged_centres(points, weights, 1),
                               [[weights @ points[:, 0] / weights.sum()]])


@pytest.mark.parametrize("seed", [0, 3])
def test_a_line_drawing_fits_better_from_wards_merging(monkeypatch, seed):
    """Antialiased black circles and blue lines on white (about 350 colours, mostly
    rare blends of two): the fit's start from Ward's merging ends with less error than
    the level's other starts alone, at k = 16 and 64."""
    cv2 = pytest.importorskip("cv2")
    monkeypatch.setattr(quantizer, "FEW_COLOUR_STEPS", 0)  # the level's starts alone
    rng = np.random.default_rng(seed)
    image = np.full((200, 300, 3), 255, np.uint8)
    for _ in range(12):
        cv2.circle(image, (int(rng.integers(0, 300)), int(rng.integers(0, 200))),
                   int(rng.integers(5, 60)), (0, 0, 0), 1, cv2.LINE_AA)
    for x in range(20, 300, 60):
        cv2.line(image, (x, 0), (x, 200), (200, 80, 0), 1, cv2.LINE_AA)
    pixels = image.reshape(-1, 3)
    ward_steps = quantizer.WARD_STEPS
    for k in (16, 64, 128, 256):
        with_merging = quantizer.fit_palette(pixels, k).inertia
        monkeypatch.setattr(quantizer, "WARD_STEPS", 0)
        without = quantizer.fit_palette(pixels, k).inertia
        monkeypatch.setattr(quantizer, "WARD_STEPS", ward_steps)
        # always a candidate beside the others, rounded: never worse, better at 16 and 64
        assert with_merging < without if k <= 64 else with_merging <= without


def brute_force_grey_optimum_small(levels, weights, k):
    from itertools import combinations

    best = np.inf
    for palette in combinations(range(41), k):
        palette = np.array(palette, float)
        best = min(best, (weights * ((levels[:, None] - palette[None]) ** 2).min(1)).sum())
    return best


def test_grey_fit_beats_or_equals_kmeans():
    pixels = np.clip(RNG.normal(120, 50, (20000, 1)), 0, 255).astype(np.uint8)
    fit = quantizer.fit_palette(pixels, 8)
    histogram = quantizer.colour_histogram(pixels, 1 << 20)
    for seed in range(5):
        centres, _ = quantizer.kmeans(histogram.points, histogram.weights, 8,
                                      np.random.default_rng(seed))
        rounded = quantizer.round_palette(centres).astype(float)
        local = histogram.weights @ quantizer.squared_distances(histogram.points, rounded).min(1)
        assert fit.inertia <= local + 1e-6


def test_sample_takes_whole_blocks_and_is_seeded():
    pixels = np.arange(100_000, dtype=np.uint32).view(np.uint8).reshape(-1, 4)
    sample = quantizer.sample_pixels(pixels, 10_000, np.random.default_rng(1))
    again = quantizer.sample_pixels(pixels, 10_000, np.random.default_rng(1))
    assert np.array_equal(sample, again)
    block = quantizer.SAMPLE_BLOCK
    assert len(sample) == (10_000 // block) * block
    positions = sample.view(np.uint32).ravel()
    assert np.all(np.diff(positions.reshape(-1, block), axis=1) == 1)


def test_fit_is_deterministic_for_a_seed():
    pixels = RNG.integers(0, 256, (5000, 3), dtype=np.uint8)
    first = quantizer.fit_palette(pixels, 16, seed=4)
    again = quantizer.fit_palette(pixels, 16, seed=4)
    assert np.array_equal(first.palette, again.palette)


def test_update_moves_colours_to_their_pixel_means():
    counts = np.array([2, 2, 0])
    sums = np.array([[2, 2, 2], [204, 204, 204], [0, 0, 0]])
    assert quantizer.palette_from_sums(counts, sums).tolist() == [[1, 1, 1], [102, 102, 102]]


def dark_noisy_gradient(size: int = 160) -> np.ndarray:
    """uint8 (size * size, 3): a dim, noisy colour gradient in 0..40, about 20k colours."""
    rows, columns = np.mgrid[0:size, 0:size] / size
    base = np.stack([4 + 30 * rows, 6 + 20 * columns, 3 + 25 * rows * columns], axis=-1)
    noisy = base + np.random.default_rng(7).normal(0, 2.5, base.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8).reshape(-1, 3)


def merging_loss(exact, merged) -> float:
    """Squared error per pixel of replacing every colour by its cell's mean."""
    total = exact.weights @ (exact.points**2).sum(1) - merged.weights @ (merged.points**2).sum(1)
    return total / exact.weights.sum()


def test_adaptive_grid_is_fine_where_a_dark_image_has_its_colours():
    pixels = dark_noisy_gradient()
    exact = quantizer.colour_histogram(pixels, 1 << 20)
    assert len(exact.points) > 4000
    merged = quantizer.merge_points(exact, 2000)
    # A fixed grid of cells 4 levels wide holds this image in under 400 cells and loses
    # 3.5 squared levels a pixel; the adaptive one uses the 2000 points it may have.
    assert 1800 < len(merged.points) <= 2000 and not merged.exact
    assert merging_loss(exact, merged) < 1.2
    assert merging_loss(exact, quantizer.merge_points(exact, 500)) < 3.0


@pytest.mark.parametrize("k", [16, 64])
def test_fit_of_a_dark_image_is_near_kmeans_on_every_colour(k):
    """The fit's error on every pixel is within 3% of the best of five k-means runs on the
    exact histogram of all colours."""
    pixels = dark_noisy_gradient()
    fit = quantizer.fit_palette(pixels, k)
    exact = quantizer.colour_histogram(pixels, 1 << 20)
    best = min(quantizer.kmeans(exact.points, exact.weights, k, np.random.default_rng(seed))[1]
               for seed in range(5))
    error = np.min(quantizer.squared_distances(exact.points, fit.palette.astype(float)), 1)
    assert exact.weights @ error <= 1.03 * best


@pytest.mark.parametrize("flagged", [1 << 24, 0])
def test_occupied_cells_counts_distinct_keys_either_way(flagged, monkeypatch):
    monkeypatch.setattr(quantizer, "MAX_FLAGGED_CELLS", flagged)
    keys = RNG.integers(0, 5000, 20000)
    assert quantizer.occupied_cells(keys, 5000) == len(np.unique(keys))
    assert quantizer.occupied_cells(np.array([4999]), 5000) == 1


def test_fit_reports_the_error_of_the_palette_it_stores():
    """The kept start is judged by its rounded palette, the one the file stores."""
    pixels = dark_noisy_gradient()
    fit = quantizer.fit_palette(pixels, 24)
    fine = quantizer.colour_histogram(pixels, quantizer.EFFORT_LEVELS[5].fine_points_for(True, 24))
    stored_error = fine.weights @ numpy_backend.nearest_two(fine.points, fit.palette)[1]
    assert fit.inertia == pytest.approx(float(stored_error), rel=1e-12)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("count", [1, 7, 500])
def test_distinct_rows_match_numpy_unique_rows(channels, count):
    colours = (RNG.integers(0, 4, (count, channels)) * 85).astype(np.uint8)
    assert np.array_equal(quantizer.distinct_rows(colours), np.unique(colours, axis=0))


def test_occupied_cells_by_sorting_past_the_flag_table():
    keys = RNG.integers(0, 1 << 30, 5000)
    assert quantizer.occupied_cells(keys, 1 << 30) == len(np.unique(keys))
    assert quantizer.occupied_cells(np.array([], np.int64), 1 << 30) == 0


def three_clusters_one_shared():
    """Weighted points in three tight clusters, and Lloyd's fixed point that puts two
    centres in the first and one midway between the other two."""
    middles = np.repeat(np.array([[20, 20, 20], [200, 20, 20], [20, 200, 20]], float), 20,
                        axis=0)
    points = middles + RNG.normal(0, 1.0, middles.shape)
    weights = np.ones(len(points))
    stuck = np.array([[18, 20, 20], [22, 20, 20], [110, 110, 20]], float)
    centres, inertia = quantizer.lloyd(points, weights, stuck)
    return points, weights, centres, inertia


def test_swap_search_moves_a_centre_out_of_a_shared_cluster():
    points, weights, centres, inertia = three_clusters_one_shared()
    optimum = quantizer.lloyd(points, weights, points[[0, 20, 40]].copy())[1]
    assert inertia > 20 * optimum  # Lloyd alone stays stuck
    found, found_inertia = quantizer.swap_search(points, weights, centres, inertia, 8,
                                                 np.random.default_rng(0))
    assert found_inertia == pytest.approx(optimum)
    assert sorted(np.rint(found[:, :2] / 10).astype(int).tolist()) == [[2, 2], [2, 20],
                                                                      [20, 2]]


def test_swap_search_never_raises_the_inertia_and_keeps_k():
    points = RNG.normal(128, 40, (500, 3))
    weights = RNG.integers(1, 5, 500).astype(float)
    centres, inertia = quantizer.kmeans(points, weights, 12, np.random.default_rng(3))
    found, found_inertia = quantizer.swap_search(points, weights, centres, inertia, 10,
                                                 np.random.default_rng(4))
    assert found.shape == centres.shape and found_inertia <= inertia
    assert quantizer.swap_search(points, weights, centres[:1], inertia, 5,
                                 np.random.default_rng(4))[1] == inertia  # k = 1: no trial


def test_swaps_start_at_level_5_and_shrink_like_the_starts_above_128_colours():
    levels = quantizer.EFFORT_LEVELS
    assert all(levels[level].swaps == 0 for level in range(1, 6))
    assert 0 < levels[5].finer_swaps <= levels[6].swaps < levels[7].swaps < levels[9].swaps
    assert quantizer.swaps_for(levels[7], 128) == levels[7].swaps
    assert quantizer.swaps_for(levels[7], 256) == math.ceil(levels[7].swaps / 2)


def _swap_trial_limits(monkeypatch, pixels: np.ndarray, efforts: tuple[int, ...],
                       max_iter: int = quantizer.DEFAULT_MAX_ITER) -> list[int]:
    """The max_iter of every swap search the fits of ``pixels`` at ``efforts`` run."""
    seen = []
    real = quantizer.swap_search

    def recording(*arguments, **options):
        seen.append(options["max_iter"])
        return real(*arguments, **options)

    monkeypatch.setattr(quantizer, "swap_search", recording)
    for effort in efforts:
        quantizer.fit_palette(pixels, 16, effort=effort, max_iter=max_iter)
    return seen


def test_only_level_5_cuts_its_swap_trials_short(monkeypatch):
    """Level 5's trials run a few Lloyd iterations each; levels 6 to 9 run to convergence.
    5,000 random colours: the fine histogram holds them all, the coarse one merges them."""
    pixels = RNG.integers(0, 256, (5000, 3)).astype(np.uint8)
    assert _swap_trial_limits(monkeypatch, pixels, (5, 7)) == [
        quantizer.EFFORT_LEVELS[5].swap_iterations, quantizer.DEFAULT_MAX_ITER]
    assert 0 < quantizer.EFFORT_LEVELS[5].swap_iterations < quantizer.DEFAULT_MAX_ITER
    assert all(quantizer.EFFORT_LEVELS[level].swap_iterations is None for level in range(6, 10))


def test_level_5_swaps_only_where_a_polish_on_finer_points_pays_for_them(monkeypatch):
    """300 colours: the coarse histogram is the fine one, there is no polish to trade for
    swap trials, and level 5 runs none; level 7 still does."""
    colours = RNG.integers(0, 256, (300, 3)).astype(np.uint8)
    pixels = np.repeat(colours, 10, axis=0)
    assert _swap_trial_limits(monkeypatch, pixels, (5, 7)) == [quantizer.DEFAULT_MAX_ITER]
    level = quantizer.EFFORT_LEVELS[5]
    assert level.for_histograms(False) == level
    finer = level.for_histograms(True)
    assert (finer.polished, finer.swaps) == (level.finer_polished, level.finer_swaps)
    assert finer.polished < level.polished


def test_short_swap_trials_stay_within_max_iter(monkeypatch):
    """--max-iter caps every Lloyd run: below level 5's swap_iterations it caps the trials
    too."""
    pixels = RNG.integers(0, 256, (5000, 3)).astype(np.uint8)
    assert _swap_trial_limits(monkeypatch, pixels, (5,), max_iter=2) == [2]
    assert quantizer.EFFORT_LEVELS[5].swap_iterations > 2


def test_few_colours_seen_whole_get_more_starts_and_never_a_worse_palette(real_images,
                                                                           monkeypatch):
    """The astronaut ordered-dithered to web-safe colours (80 of them): at k = 8 the
    level's 6 starts settle 0.12 dB under OpenCV's k-means; with the restarts few colours
    afford, each measured rounded, the fit finds a palette of less error. At every k the
    error is never more than the level's starts alone give."""
    bayer = np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]])
    image = real_images["astronaut"].astype(np.float64) / 255
    ys, xs = np.mgrid[0:image.shape[0], 0:image.shape[1]]
    threshold = ((bayer[ys % 4, xs % 4] + 0.5) / 16)[:, :, None]
    pixels = (np.floor(image * 5 + threshold) * 51).astype(np.uint8).reshape(-1, 3)
    assert 40 < len(np.unique(pixels, axis=0)) <= 216
    few_colour_steps = quantizer.FEW_COLOUR_STEPS
    for k in (8, 16, 32):
        more = quantizer.fit_palette(pixels, k).inertia
        monkeypatch.setattr(quantizer, "FEW_COLOUR_STEPS", 0)
        level = quantizer.fit_palette(pixels, k).inertia
        monkeypatch.setattr(quantizer, "FEW_COLOUR_STEPS", few_colour_steps)
        assert more <= level
        if k == 8:
            assert more < 0.99 * level
