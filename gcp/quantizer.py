"""K-Means colour quantization: picks the palette (README "How gcp picks colours").

The fit runs on a weighted colour histogram rather than on every pixel: each distinct
colour (or, for very colourful images, each small colour cell, by its mean colour) is one
point weighted by its pixel count. That is the same objective as clustering all pixels,
with far fewer points. A large image is first sampled (seeded, so repeatable).

Public entry point: ``fit_palette``. Validation happens there; the helpers trust their input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_COLORS = 1
MAX_COLORS = 256
DEFAULT_MAX_ITER = 300
DEFAULT_TOL = 1e-4


@dataclass(frozen=True)
class FitSettings:
    """How hard the fit works; one row of ``EFFORT_LEVELS``."""

    sample_size: int  # pixels drawn from a larger image before the histogram is built
    max_points: int  # histogram points the fit may use; more are merged into colour cells
    restarts: int  # independent k-means++ seeds; the lowest inertia wins


@dataclass(frozen=True)
class Fit:
    """Result of ``fit_palette``.

    ``palette``: uint8 (palette_size, channels), distinct rows. ``exact``: the palette holds
    every colour of the sample, so no pixel of it is changed. ``inertia``: the weighted sum
    of squared distances of the fitted points to their centres (before rounding).
    """

    palette: np.ndarray
    exact: bool
    inertia: float
    points: int


EFFORT_LEVELS = {
    1: FitSettings(sample_size=1 << 18, max_points=2048, restarts=1),
    2: FitSettings(sample_size=1 << 19, max_points=4096, restarts=1),
    3: FitSettings(sample_size=1 << 20, max_points=8192, restarts=2),
    4: FitSettings(sample_size=1 << 20, max_points=16384, restarts=3),
    5: FitSettings(sample_size=1 << 21, max_points=16384, restarts=4),
    6: FitSettings(sample_size=1 << 21, max_points=32768, restarts=4),
    7: FitSettings(sample_size=1 << 22, max_points=32768, restarts=6),
    8: FitSettings(sample_size=1 << 23, max_points=65536, restarts=8),
    9: FitSettings(sample_size=1 << 24, max_points=131072, restarts=10),
}
DEFAULT_EFFORT = 5


def fit_palette(
    pixels: np.ndarray,
    k: int,
    *,
    seed: int = 0,
    effort: int = DEFAULT_EFFORT,
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = DEFAULT_TOL,
    sample_size: int | None = None,
) -> Fit:
    """Fit a palette of at most ``k`` colours to ``pixels``, uint8 of shape (N, channels).

    When the (sampled) pixels hold no more than ``k`` distinct colours, those colours are
    the palette (``exact``) and no clustering runs. ``sample_size`` overrides the effort
    level's; pass len(pixels) to use every pixel.
    """
    settings = EFFORT_LEVELS[effort]
    rng = np.random.default_rng(seed)
    sample = _sample_pixels(pixels, sample_size or settings.sample_size, rng)
    colours, counts = distinct_colours(sample)
    if len(colours) <= k:
        return Fit(palette=colours, exact=True, inertia=0.0, points=len(colours))
    points, weights = _merge_into_cells(colours, counts, settings.max_points)
    best_centres, best_inertia = None, np.inf
    for _ in range(settings.restarts):
        centres, inertia = kmeans(points, weights, k, rng, max_iter=max_iter, tol=tol)
        if inertia < best_inertia:
            best_centres, best_inertia = centres, inertia
    palette = np.unique(round_palette(best_centres), axis=0)
    return Fit(palette=palette, exact=False, inertia=float(best_inertia), points=len(points))


def refine_palette(pixels: np.ndarray, labels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """One Lloyd update on every pixel: each colour moves to the mean of its pixels.

    ``pixels`` uint8 (N, C), ``labels`` uint8 (N,), ``palette`` uint8 (K, C). Returns the
    rounded means of the used colours, distinct rows, uint8 (K', C) with K' <= K.
    """
    k = len(palette)
    counts = np.bincount(labels, minlength=k)
    sums = np.stack([np.bincount(labels, pixels[:, c], minlength=k)
                     for c in range(pixels.shape[1])], axis=1)
    used = counts > 0
    return np.unique(round_palette(sums[used] / counts[used, None]), axis=0)


def round_palette(centres: np.ndarray) -> np.ndarray:
    """Float centres (k, channels) to the uint8 colours a file stores."""
    return np.clip(np.rint(centres), 0, 255).astype(np.uint8)


def _sample_pixels(pixels: np.ndarray, sample_size: int, rng: np.random.Generator) -> np.ndarray:
    if len(pixels) <= sample_size:
        return pixels
    return pixels[rng.integers(0, len(pixels), sample_size)]


def pack_colours(pixels: np.ndarray) -> np.ndarray:
    """uint8 (N, channels) to one uint32 key per pixel, first channel most significant."""
    keys = pixels[:, 0].astype(np.uint32)
    for channel in range(1, pixels.shape[1]):
        keys <<= 8
        keys |= pixels[:, channel]
    return keys


def unpack_colours(keys: np.ndarray, channels: int) -> np.ndarray:
    """Inverse of ``pack_colours``: uint32 (N,) to uint8 (N, channels)."""
    shifts = 8 * np.arange(channels - 1, -1, -1, dtype=np.uint32)
    return ((keys[:, None] >> shifts) & 0xFF).astype(np.uint8)


def distinct_colours(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct colours of uint8 (N, channels) pixels, sorted, and their int64 counts."""
    channels = pixels.shape[1]
    keys = pack_colours(pixels)
    if channels <= 2 or (channels == 3 and len(keys) >= 1 << 20):
        # Counting into every possible key beats sorting once there are many pixels.
        counts = np.bincount(keys, minlength=1 << (8 * channels))
        present = np.flatnonzero(counts).astype(np.uint32)
        return unpack_colours(present, channels), counts[present]
    present, counts = np.unique(keys, return_counts=True)
    return unpack_colours(present, channels), counts.astype(np.int64)


def _merge_into_cells(colours: np.ndarray, counts: np.ndarray, max_points: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Weighted points for the fit: the colours themselves, or cell means if too many.

    Cells are cubes of side 2**drop in colour space; ``drop`` grows until at most
    ``max_points`` cells are occupied. Returns float64 (M, channels) means and weights.
    """
    points = colours.astype(np.float64)
    weights = counts.astype(np.float64)
    drop = 0
    while len(points) > max_points and drop < 7:
        drop += 1
        cells = pack_colours(colours >> drop)
        _, cell_of_colour = np.unique(cells, return_inverse=True)
        cell_of_colour = cell_of_colour.ravel()
        weights = np.bincount(cell_of_colour, counts).astype(np.float64)
        sums = [np.bincount(cell_of_colour, counts * colours[:, c])
                for c in range(colours.shape[1])]
        points = np.stack(sums, axis=1) / weights[:, None]
    return points, weights


def squared_distances(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """(M, C) and (K, C) float64 to (M, K) squared Euclidean distances, clipped at 0."""
    cross = points @ centres.T
    distances = (points * points).sum(1)[:, None] - 2 * cross + (centres * centres).sum(1)
    return np.maximum(distances, 0, out=distances)


def kmeans_plusplus(points: np.ndarray, weights: np.ndarray, k: int, rng: np.random.Generator
                    ) -> np.ndarray:
    """Greedy weighted k-means++ seeding: ``k`` centres (k, C) float64 chosen among points.

    Each step draws 2 + log(k) candidates with probability proportional to weight times
    squared distance to the nearest centre so far, and keeps the one that lowers the
    potential most (as scikit-learn does).
    """
    trials = 2 + int(np.log(k))
    first = rng.choice(len(points), p=weights / weights.sum())
    centres = [points[first]]
    closest = squared_distances(points, points[first:first + 1])[:, 0]
    for _ in range(1, k):
        potential = closest * weights
        total = potential.sum()
        if total <= 0:
            break
        candidates = rng.choice(len(points), size=trials, p=potential / total)
        to_candidates = squared_distances(points, points[candidates])  # (M, trials)
        np.minimum(to_candidates, closest[:, None], out=to_candidates)
        best = int(np.argmin(weights @ to_candidates))
        centres.append(points[candidates[best]])
        closest = to_candidates[:, best]
    return np.array(centres)


def kmeans(points: np.ndarray, weights: np.ndarray, k: int, rng: np.random.Generator, *,
           max_iter: int = DEFAULT_MAX_ITER, tol: float = DEFAULT_TOL
           ) -> tuple[np.ndarray, float]:
    """Weighted Lloyd k-means from a k-means++ seed. Returns (centres (k', C), inertia).

    Stops when no point changes cluster, when the centres move less than ``tol`` times the
    data's mean per-channel variance (squared), or after ``max_iter`` iterations. An empty
    cluster is moved to the point farthest from its centre.
    """
    centres = kmeans_plusplus(points, weights, k, rng)
    mean = np.average(points, axis=0, weights=weights)
    variance = np.average((points - mean) ** 2, axis=0, weights=weights).mean()
    threshold = tol * variance
    labels = None
    for _ in range(max_iter):
        distances = squared_distances(points, centres)
        new_labels = distances.argmin(1)
        if labels is not None and np.array_equal(new_labels, labels):
            break
        labels = new_labels
        new_centres = _update_centres(points, weights, labels, centres, distances)
        shift = ((new_centres - centres) ** 2).sum()
        centres = new_centres
        if shift <= threshold:
            break
    distances = squared_distances(points, centres)
    inertia = float(weights @ distances.min(1))
    return centres, inertia


def _update_centres(points: np.ndarray, weights: np.ndarray, labels: np.ndarray,
                    centres: np.ndarray, distances: np.ndarray) -> np.ndarray:
    k = len(centres)
    mass = np.bincount(labels, weights, minlength=k)
    sums = np.stack(
        [np.bincount(labels, weights * points[:, c], minlength=k) for c in range(points.shape[1])],
        axis=1,
    )
    new_centres = centres.copy()
    filled = mass > 0
    new_centres[filled] = sums[filled] / mass[filled, None]
    empty = np.flatnonzero(~filled)
    if len(empty):
        farthest = np.argsort(-distances[np.arange(len(points)), labels], kind="stable")
        new_centres[empty] = points[farthest[: len(empty)]]
    return new_centres
