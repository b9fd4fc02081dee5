"""K-Medoids colour quantization: a palette of colours that occur in the image.

The same objective as K-Means (``gcp.quantizer``), the weighted sum of squared distances
of the histogram's points to their nearest palette colour, with one constraint: every
palette colour is one of the image's own colours (a medoid), never a mean.

The fit is the alternating ("Voronoi iteration") K-Medoids on the weighted histogram:

1. seed with weighted k-means++ and take each seed's nearest candidate colour;
2. assign every point to its nearest medoid;
3. move each medoid to the candidate colour that minimises its cluster's cost;
4. repeat 2-3 until no medoid moves (or ``max_iter``); keep the best of the restarts.

Step 3 is exact and cheap for squared distances: a cluster's cost at colour ``c`` is
``sum_i w_i |x_i - c|^2 = sum_i w_i |x_i - m|^2 + W |c - m|^2``, with ``m`` its weighted
mean and ``W`` its weight, so the best candidate is the one nearest to ``m``. The cost
never rises from one round to the next, so the loop ends.

Candidates are the sample's distinct colours; when there are more than the effort level's
``fine_points``, a seeded, count-weighted draw of that many distinct colours. Costs are
always measured on the weighted points K-Means uses (distinct colours, or cell means).

Public entry point: ``fit_medoids``, returning the same ``quantizer.Fit`` as K-Means.
"""

from __future__ import annotations

import numpy as np

from . import quantizer
from .quantizer import Fit, squared_distances

_SCORES_PER_CHUNK = 1 << 22  # 32 MiB of float64 distances per step of ``nearest_rows``


def fit_medoids(
    pixels: np.ndarray,
    k: int,
    *,
    seed: int = 0,
    effort: int = quantizer.DEFAULT_EFFORT,
    max_iter: int = quantizer.DEFAULT_MAX_ITER,
    sample_size: int | None = None,
) -> Fit:
    """Fit a palette of at most ``k`` of the colours of ``pixels``, uint8 (N, channels).

    As ``quantizer.fit_palette``: the same sampling, the same exact path (at most ``k``
    distinct colours are the palette, and no clustering runs), the same effort levels
    (``restarts`` starts; ``fine_points`` both for the weighted points and for the
    candidate colours). ``palette`` rows are distinct colours of the sample, ascending.
    """
    settings = quantizer.EFFORT_LEVELS[effort]
    rng = np.random.default_rng(seed)
    sample = quantizer.sample_pixels(pixels, sample_size or settings.sample_size, rng)
    colours, counts = quantizer.distinct_colours(sample)
    if len(colours) <= k:
        return Fit(palette=colours, exact=True, inertia=0.0, points=len(colours))
    histogram = quantizer.colour_histogram(sample, settings.fine_points)
    points, weights = histogram.points, histogram.weights
    candidates = candidate_colours(colours, counts, settings.fine_points, rng)
    best_medoids, best_cost = None, np.inf
    for _ in range(settings.restarts):
        medoids, cost = kmedoids(points, weights, candidates, k, rng, max_iter=max_iter)
        if cost < best_cost:
            best_medoids, best_cost = medoids, cost
    palette = quantizer.distinct_rows(best_medoids.astype(np.uint8))
    return Fit(palette=palette, exact=False, inertia=float(best_cost), points=len(points))


def candidate_colours(colours: np.ndarray, counts: np.ndarray, limit: int,
                      rng: np.random.Generator) -> np.ndarray:
    """The colours medoids may be: all of ``colours`` (uint8 (n, C)), or ``limit`` of them.

    Above ``limit`` colours, a draw without replacement weighted by pixel count (the
    Gumbel top-k trick: one pass, no loop). Returns float64 (m, C), m = min(n, limit).
    """
    if len(colours) <= limit:
        return colours.astype(np.float64)
    keys = np.log(counts) + rng.gumbel(size=len(counts))
    chosen = np.argpartition(-keys, limit - 1)[:limit]
    return colours[np.sort(chosen)].astype(np.float64)


def nearest_rows(targets: np.ndarray, rows: np.ndarray, row_norms: np.ndarray) -> np.ndarray:
    """For each of ``targets`` float64 (t, C), the row of ``rows`` (m, C) nearest to it.

    ``row_norms`` is ``(rows ** 2).sum(1)``, computed once by the caller. Returns (t, C).
    The nearest row minimises ``|r|^2 - 2 t.r`` (``|t|^2`` is the same for every row).
    ``einsum``, not ``@``: with C <= 4 the product is a few flops per entry, and there
    BLAS threads made ``@`` about 5 times slower than ``einsum`` on a busy machine
    (measured on 2 shared cores; with one BLAS thread ``@`` was the faster).
    Targets go in chunks so that no more than ``_SCORES_PER_CHUNK`` scores are held.
    """
    chunk = max(1, _SCORES_PER_CHUNK // len(rows))
    nearest = [np.argmin(row_norms - 2 * np.einsum("tc,mc->tm", part, rows), axis=1)
               for part in np.array_split(targets, range(chunk, len(targets), chunk))]
    return rows[np.concatenate(nearest)]


def kmedoids(points: np.ndarray, weights: np.ndarray, candidates: np.ndarray, k: int,
             rng: np.random.Generator, *, max_iter: int = quantizer.DEFAULT_MAX_ITER
             ) -> tuple[np.ndarray, float]:
    """Alternating weighted K-Medoids. Returns (medoids float64 (k, C), cost).

    ``points`` float64 (M, C) with ``weights`` (M,) define the cost; ``candidates``
    float64 (m, C) are the colours medoids may take. A cluster left empty takes the point
    farthest from its medoid (as in ``quantizer.kmeans``), then that point's nearest
    candidate.
    """
    candidate_norms = (candidates * candidates).sum(1)
    weighted = weights[:, None] * points
    seeds = quantizer.kmeans_plusplus(points, weights, k, rng)
    medoids = nearest_rows(seeds, candidates, candidate_norms)
    for _ in range(max_iter):
        distances = squared_distances(points, medoids)
        labels = distances.argmin(1)
        own_distance = distances[np.arange(len(points)), labels]
        means = quantizer._update_centres(weighted, weights, labels, medoids, points,
                                          own_distance)
        moved = nearest_rows(means, candidates, candidate_norms)
        if np.array_equal(moved, medoids):
            break
        medoids = moved
    cost = float(weights @ squared_distances(points, medoids).min(1))
    return medoids, cost
