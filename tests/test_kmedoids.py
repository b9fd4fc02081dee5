"""K-Medoids (gcp/kmedoids.py) and its wiring: gcp.encode(algorithm=...), gcp encode --algorithm."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from click.testing import CliRunner

import gcp
from gcp import kmedoids, quantizer
from gcp.cli import cli
from tests.conftest import REAL_IMAGES, psnr

RNG = np.random.default_rng(2024)


def occurs_in(colours: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """For each row of ``colours`` (n, C), whether some pixel of ``pixels`` (N, C) has it."""
    return np.isin(quantizer.pack_colours(colours), quantizer.pack_colours(pixels))


def encode_medoids(image: np.ndarray, k: int = 16, **options) -> bytes:
    return gcp.encode(image, k, algorithm="kmedoids", backend="numpy", **options)


@pytest.mark.parametrize("name", ["astronaut", "coffee", "camera", "logo", "color"])
def test_every_palette_colour_occurs_in_the_image(real_images, name):
    image = real_images[name]
    info = gcp.read_info(encode_medoids(image))
    assert not info.exact and info.palette_size == 16  # clustered, not the exact path
    assert occurs_in(info.palette, image.reshape(-1, info.channels)).all()


@pytest.mark.parametrize("effort", [1, 6])
def test_medoids_hold_at_low_and_refining_efforts(real_images, effort):
    """Effort 1 draws 2048 candidates from 94k colours; from effort 6 K-Means is refined."""
    image = real_images["coffee"]
    palette = gcp.read_info(encode_medoids(image, effort=effort)).palette
    assert occurs_in(palette, image.reshape(-1, 3)).all()


def test_kmeans_palette_is_made_of_means_not_image_colours(real_images):
    """What the test above rules out does happen with K-Means: the check can fail."""
    image = real_images["coffee"]
    palette = gcp.read_info(gcp.encode(image, 16, effort=6, backend="numpy")).palette
    assert not occurs_in(palette, image.reshape(-1, 3)).all()


@pytest.mark.parametrize("name", ["astronaut", "coffee", "color"])
def test_quality_is_within_a_decibel_of_kmeans(real_images, name):
    image = real_images[name]
    medoids = psnr(image, gcp.decode(encode_medoids(image)))
    means = psnr(image, gcp.decode(gcp.encode(image, 16, backend="numpy")))
    assert medoids > means - 1.0, (medoids, means)


def test_same_seed_same_bytes(real_images):
    image = real_images["astronaut"]
    assert encode_medoids(image, seed=5) == encode_medoids(image, seed=5)


def test_exact_path_is_the_same_as_kmeans():
    palette = RNG.integers(0, 256, (9, 4), dtype=np.uint8)
    image = palette[RNG.integers(0, 9, (30, 20))]
    medoids = encode_medoids(image)
    assert medoids == gcp.encode(image, 16, backend="numpy")
    assert gcp.read_info(medoids).exact
    assert np.array_equal(gcp.decode(medoids), image)


def best_member(colours: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """By brute force: the colour of a group with the least weighted sum of squared distances."""
    costs = [(counts * ((colours - colour) ** 2).sum(1)).sum() for colour in colours.astype(int)]
    return colours[int(np.argmin(costs))]


def test_each_medoid_is_its_clusters_least_cost_member():
    # Three far-apart groups. In each, the most frequent colour is not the best medoid.
    groups = [
        (np.array([[0, 0, 0], [4, 0, 0], [10, 0, 0]]), np.array([5, 3, 1])),
        (np.array([[200, 0, 0], [190, 6, 0], [180, 12, 0], [205, 0, 9]]), np.array([4, 4, 1, 3])),
        (np.array([[0, 200, 200], [9, 190, 200], [0, 180, 211]]), np.array([6, 2, 5])),
    ]
    pixels = np.concatenate([np.repeat(colours, counts, axis=0) for colours, counts in groups])
    fit = kmedoids.fit_medoids(pixels.astype(np.uint8), 3)
    expected = np.array([best_member(colours, counts) for colours, counts in groups])
    assert fit.palette.tolist() == np.unique(expected, axis=0).tolist()
    assert not all(np.array_equal(best_member(c, n), c[np.argmax(n)]) for c, n in groups)


@pytest.mark.parametrize("k", [1, 2, 255])
def test_small_and_large_k_give_image_colours(real_images, k):
    image = real_images["camera"]  # 256 grey levels
    palette = gcp.read_info(encode_medoids(image, k)).palette
    assert len(palette) <= k
    assert occurs_in(palette, image.reshape(-1, 1)).all()


def test_candidates_are_all_colours_up_to_the_limit_then_a_draw_of_them():
    colours, counts = quantizer.distinct_colours(RNG.integers(0, 256, (5000, 3), np.uint8))
    every = kmedoids.candidate_colours(colours, counts, len(colours), np.random.default_rng(0))
    assert np.array_equal(every, colours)
    drawn = kmedoids.candidate_colours(colours, counts, 100, np.random.default_rng(0))
    again = kmedoids.candidate_colours(colours, counts, 100, np.random.default_rng(0))
    assert len(np.unique(drawn, axis=0)) == 100
    assert occurs_in(drawn.astype(np.uint8), colours).all()
    assert np.array_equal(drawn, again)


@pytest.mark.parametrize("scores_per_chunk", [1, 7, 1 << 22])
def test_nearest_rows_in_chunks_is_the_brute_force_nearest(monkeypatch, scores_per_chunk):
    monkeypatch.setattr(kmedoids, "_SCORES_PER_CHUNK", scores_per_chunk)
    rows = RNG.integers(0, 256, (50, 3)).astype(np.float64)
    targets = RNG.uniform(0, 255, (23, 3))
    nearest = kmedoids.nearest_rows(targets, rows, (rows * rows).sum(1))
    brute = rows[[np.argmin(((rows - target) ** 2).sum(1)) for target in targets]]
    assert np.array_equal(nearest, brute)


def test_cost_never_rises_with_more_restarts():
    pixels = RNG.integers(0, 256, (3000, 3), dtype=np.uint8)
    assert quantizer.EFFORT_LEVELS[2].restarts < quantizer.EFFORT_LEVELS[4].restarts
    one_start = kmedoids.fit_medoids(pixels, 8, effort=2)
    more_starts = kmedoids.fit_medoids(pixels, 8, effort=4)
    assert more_starts.inertia <= one_start.inertia


def test_unknown_algorithm_is_a_parameter_error():
    with pytest.raises(gcp.ParameterError) as raised:
        gcp.encode(np.zeros((2, 2, 3), np.uint8), algorithm="pam")
    assert raised.value.field == "algorithm"


def test_cli_algorithm_option_reaches_the_encoder(tmp_path, real_images):
    out = tmp_path / "medoids.gcp"
    args = ["encode", str(REAL_IMAGES["coffee"]), str(out), "-k", "8", "--algorithm",
            "kmedoids", "--backend", "numpy"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == encode_medoids(real_images["coffee"], 8)


def test_cli_unknown_algorithm_exits_2():
    result = CliRunner().invoke(cli, ["encode", "IN", "OUT", "--algorithm", "pam"])
    assert result.exit_code == 2
    assert result.stderr.startswith("gcp: error: ") and "kmedoids" in result.stderr


def test_both_algorithms_share_the_exact_path_for_every_channel_count():
    for channels, algorithm in itertools.product((1, 2, 3, 4), ("kmeans", "kmedoids")):
        image = RNG.integers(0, 3, (7, 5, channels), dtype=np.uint8) * 100
        data = gcp.encode(image, 256, algorithm=algorithm, backend="numpy")
        assert gcp.read_info(data).exact and np.array_equal(gcp.decode(data), image)
