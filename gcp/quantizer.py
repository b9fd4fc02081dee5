"""K-Means colour quantization: picks the palette (README "How gcp picks colours").

The fit runs on a weighted colour histogram rather than on every pixel: each distinct
colour (or, for very colourful images, each small colour cell, by its mean colour) is one
point weighted by its pixel count. That is the same objective as clustering all pixels,
with far fewer points. A large image is first sampled (seeded, so repeatable).

Public entry point: ``fit_palette``. Validation happens there; the helpers trust their input.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from .backends.numpy_backend import nearest_two as reference_search

# The fit's search (a backend's ``nearest_two``): float points (M, C) and centres (K, C) to
# labels (M,), squared distances to the nearest and to the next nearest, float32 (M,).
Search = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]

MIN_COLORS = 1
MAX_COLORS = 256
DEFAULT_MAX_ITER = 300
DEFAULT_TOL = 1e-4
# Pixels per block drawn when sampling a large image.
SAMPLE_BLOCK = 256
# Entries of the distance block worked on at a time (512 KiB of float64: cache-sized).
DISTANCE_BLOCK = 1 << 16


# The restarts on an image seen whole see at least this many coarse points a colour. At
# k = 256 level 5's 4096 were 16 a colour: on a cartoon of gradient-filled shapes (31,579
# colours) the fit was 0.07 dB behind OpenCV's k-means on every pixel; with 8192 it is
# 0.07 dB ahead, and the 24 other whole images with more than 256 colours moved by -0.02
# to +0.04 dB, for 1.1-1.2x the encode time. Sampled images keep the level's: on the
# 16.8-MP renders 8192 made the fit 1.1-1.5x slower (benchmarks/README.md, 2026-11-27).
COARSE_POINTS_PER_COLOUR = 32


@dataclass(frozen=True)
class FitSettings:
    """How hard the fit works; one row of ``EFFORT_LEVELS``.

    The restarts run on a coarse histogram (cheap); the best of them is then polished by
    Lloyd iterations on the fine one.
    """

    sample_size: int  # pixels drawn from a larger image before the histogram is built
    fine_points: int  # most points of the fine histogram (finer colours are merged)
    coarse_points: int  # most points of the coarse histogram the restarts use
    restarts: int  # independent k-means++ starts on the coarse histogram
    polished: int  # how many of the best starts are polished on the fine one
    refine: bool  # one more update on every pixel, after the first assignment
    # For an image the fit sees whole (no larger than the sample): up to how many colours
    # its fine histogram holds whole_fine_points points (the polish costs points x k, so
    # only small k can afford it), and from how many colours the palette is refined (the
    # refinement costs a pass over the pixels whatever k is, and pays only where each
    # colour has few pixels). None: as for any other image.
    whole_fine_points: int | None = None
    whole_fine_colours: int = 0
    whole_refine_colours: int | None = None
    # Swap trials on the best coarse start (swap_search): they find optima that more
    # restarts miss, above all on few-colour graphics, at about a restart's cost each.
    swaps: int = 0
    # Most Lloyd iterations a swap trial runs (None: to convergence). The trial's palette
    # is only a start for the polish on the fine points, so a few iterations tell a better
    # optimum from a worse one at a fraction of the cost.
    swap_iterations: int | None = None
    # Where the fine histogram is finer than the coarse one, the polish is most of the
    # fit: polished and swaps become these (None: as the level says), so that dropping a
    # polish pays for the trials. Where the two are one (few colours), there is no polish
    # to drop and the level's own hold.
    finer_polished: int | None = None
    finer_swaps: int | None = None

    def for_histograms(self, finer: bool) -> FitSettings:
        """These settings for a fit whose fine histogram is ``finer`` than its coarse one
        or not."""
        if not finer:
            return self
        return replace(
            self,
            polished=self.polished if self.finer_polished is None else self.finer_polished,
            swaps=self.swaps if self.finer_swaps is None else self.finer_swaps)

    def coarse_points_for(self, whole: bool, k: int) -> int:
        """Most points of the coarse histogram the restarts of a ``k``-colour fit use:
        the level's, or for an image the fit sees ``whole``, COARSE_POINTS_PER_COLOUR a
        colour where that is more."""
        if whole:
            return max(self.coarse_points, COARSE_POINTS_PER_COLOUR * k)
        return self.coarse_points

    def fine_points_for(self, whole: bool, k: int) -> int:
        """Most points of the fine histogram for ``k`` colours; ``whole``: the fit sees
        every pixel."""
        if whole and self.whole_fine_points is not None and k <= self.whole_fine_colours:
            return self.whole_fine_points
        return self.fine_points

    def refines(self, whole: bool, k: int) -> bool:
        """Whether a palette of ``k`` colours gets one update on every pixel after the
        first assignment; ``whole``: the fit sees every pixel."""
        if whole and self.whole_refine_colours is not None:
            return self.refine or k >= self.whole_refine_colours
        return self.refine


@dataclass(frozen=True)
class Fit:
    """Result of ``fit_palette``.

    ``palette``: uint8 (palette_size, channels), distinct rows. ``exact``: the palette holds
    every colour of the sample, so no pixel of it is changed. ``inertia``: the weighted sum
    of squared distances of the fitted points to their nearest colour of ``palette``, as
    stored (rounded).
    """

    palette: np.ndarray
    exact: bool
    inertia: float
    points: int


EFFORT_LEVELS = {
    1: FitSettings(1 << 18, fine_points=8192, coarse_points=2048, restarts=1, polished=1,
                   refine=False),
    2: FitSettings(1 << 19, fine_points=16384, coarse_points=4096, restarts=2, polished=1,
                   refine=False),
    3: FitSettings(1 << 20, fine_points=32768, coarse_points=4096, restarts=3, polished=1,
                   refine=False),
    4: FitSettings(1 << 20, fine_points=32768, coarse_points=4096, restarts=4, polished=2,
                   refine=False),
    5: FitSettings(1 << 20, fine_points=32768, coarse_points=4096, restarts=6, polished=2,
                   refine=False, whole_fine_points=65536, whole_fine_colours=32,
                   whole_refine_colours=32, swap_iterations=6, finer_polished=1,
                   finer_swaps=8),
    6: FitSettings(1 << 21, fine_points=65536, coarse_points=8192, restarts=8, polished=3,
                   refine=True, swaps=8),
    7: FitSettings(1 << 21, fine_points=65536, coarse_points=8192, restarts=12, polished=4,
                   refine=True, swaps=16),
    8: FitSettings(1 << 22, fine_points=131072, coarse_points=16384, restarts=16, polished=4,
                   refine=True, swaps=24),
    9: FitSettings(1 << 23, fine_points=262144, coarse_points=16384, restarts=24, polished=6,
                   refine=True, swaps=32),
}
DEFAULT_EFFORT = 5
# Above this many colours the starts are cut in proportion (starts_for): with many centres
# the local optima differ less, and every start costs more.
FULL_STARTS_MAX_K = 128
# Where the histogram holds every distinct colour and they are few, the fit also starts
# from the best split of the colours, sorted by luminance, into k runs (``path_centres``):
# a colour map's or a tinted photo's colours lie along one curve, where k-means++ starts
# settle far from the best (a thermal image at k = 64: 48.44 dB from the usual starts,
# 48.95 from this one, OpenCV 48.54). Its dynamic programme takes k x n^2 steps for n
# colours: it runs while that is at most PATH_STEPS (8-45 ms here).
PATH_STEPS = 1 << 22
# Where the histogram holds every distinct colour, not many more than k, the fit also
# starts from Ward's merging (``merged_centres``): the two clusters whose merge adds least
# error merged, again and again, from every colour down to k. A technical drawing of 455
# colours at k = 64 and 256: 61.42 and 76.33 dB from the usual starts (OpenCV 76.41 at
# 256), 61.66 and 76.44 with this one; a Bayer-dithered photo +0.19 dB at k = 64, a tile
# map +0.57 at 256; no fit of the seven image sets worse (benchmarks/README.md). It takes
# about (n - k) x n^2 steps for n colours: it runs while that is at most WARD_STEPS (up to
# 0.03 s more a fit here).
WARD_STEPS = 1 << 27
# Where the histogram is every pixel's colours, unmerged, a restart costs about n x k
# steps an iteration for n colours: few colours afford more than the level's. The fit
# runs up to FEW_COLOUR_RESTARTS while restarts x n x k stays within FEW_COLOUR_STEPS, and
# keeps the one of least error rounded: a superset of the level's candidates, measured on
# the image itself, so never worse. (On a sample, the sample's best rounded palette was a
# technical drawing's worst at k = 256, -0.15 dB.) An 8 x 8-dithered photo of 80 web-safe
# colours at k = 8: 22.37 dB from 6 starts, 22.49 from 24 (OpenCV 22.49)
# (benchmarks/README.md).
FEW_COLOUR_STEPS = 1 << 16
FEW_COLOUR_RESTARTS = 24
PREMULTIPLY_BLOCK = 1 << 20  # pixels premultiplied at a time (``premultiplied``)
LUMINANCE = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601's weights of R, G and B


def fit_palette(
    pixels: np.ndarray,
    k: int,
    *,
    seed: int = 0,
    effort: int = DEFAULT_EFFORT,
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = DEFAULT_TOL,
    sample_size: int | None = None,
    search: Search = reference_search,
) -> Fit:
    """Fit a palette of at most ``k`` colours to ``pixels``, uint8 of shape (N, channels).

    When the (sampled) pixels hold no more than ``k`` distinct colours, those colours are
    the palette (``exact``) and no clustering runs. ``sample_size`` overrides the effort
    level's; pass len(pixels) to use every pixel. ``search`` is the nearest-centre search
    Lloyd's iterations use: a backend's ``nearest_two``, all giving the same bits.
    """
    settings = EFFORT_LEVELS[effort]
    rng = np.random.default_rng(seed)
    sample_size = sample_size or settings.sample_size
    sample = sample_pixels(pixels, sample_size, rng)
    whole = samples_whole(len(pixels), sample_size)  # as the encoder's refinement decides
    fine = colour_histogram(sample, settings.fine_points_for(whole, k))
    if fine.exact and len(fine.points) <= k:
        palette = fine.points.astype(np.uint8)
        return Fit(palette=palette, exact=True, inertia=0.0, points=len(palette))
    if pixels.shape[1] == 1 and fine.exact:
        centres = optimal_grey_levels(fine.points[:, 0], fine.weights, k)
        palette = centres.astype(np.uint8)[:, None]
        inertia = float(fine.weights @ squared_distances(fine.points, palette.astype(float)).min(1))
        return Fit(palette=palette, exact=False, inertia=inertia, points=len(fine.points))
    coarse = merge_points(fine, settings.coarse_points_for(whole, k))
    settings = settings.for_histograms(coarse is not fine)
    restarts, polished = starts_for(settings, k)
    if whole and fine.exact and coarse is fine:  # each start measured rounded
        restarts = polished = max(restarts, min(FEW_COLOUR_RESTARTS,
                                                FEW_COLOUR_STEPS // (len(fine.points) * k)))
    starts = []
    for _ in range(restarts):
        centres = kmeans_plusplus(coarse.points, coarse.weights, k, rng)
        starts.append(lloyd(coarse.points, coarse.weights, centres, max_iter=max_iter, tol=tol,
                            search=search))
    starts.sort(key=lambda start: start[1])
    swaps = swaps_for(settings, k)
    if swaps:
        starts[0] = swap_search(coarse.points, coarse.weights, *starts[0], swaps, rng,
                                max_iter=min(settings.swap_iterations or max_iter, max_iter),
                                tol=tol, search=search)
    if coarse is not fine:  # polish the best few on the fine points; keep the best there
        starts = [lloyd(fine.points, fine.weights, centres, max_iter=max_iter, tol=tol,
                        search=search)
                  for centres, _ in starts[:polished]]
    # Starts of few-colour histograms, each always a candidate: the best few of the
    # others and these are all measured rounded, so neither can make a fit worse.
    special = []
    if fine.exact and k * len(fine.points) ** 2 <= PATH_STEPS:
        special.append(path_centres(fine.points, fine.weights, k))
    if fine.exact and (len(fine.points) - k) * len(fine.points) ** 2 <= WARD_STEPS:
        special.append(merged_centres(fine.points, fine.weights, k))
    special = [lloyd(fine.points, fine.weights, centres, max_iter=max_iter, tol=tol,
                     search=search) for centres in special]
    # The file stores rounded colours: of the best few starts, keep the one whose rounded
    # palette has the least error on the fine points.
    candidates = [distinct_rows(round_palette(centres))
                  for centres, _ in sorted(starts, key=lambda start: start[1])[:polished]
                  + special]
    errors = [float(fine.weights @ search(fine.points, palette)[1]) for palette in candidates]
    best = int(np.argmin(errors))
    return Fit(palette=candidates[best], exact=False, inertia=errors[best],
               points=len(fine.points))


def starts_for(settings: FitSettings, k: int) -> tuple[int, int]:
    """(restarts, polished) for a palette of ``k``: the effort level's up to
    FULL_STARTS_MAX_K colours, then in proportion to FULL_STARTS_MAX_K / k, rounded up.

    At k = 256 and level 5 that is 3 starts and 1 polish instead of 6 and 2: 0.50-0.64x
    the encode time of the 0.1-0.3 MP images, for PSNRs at most 0.03 dB lower
    (benchmarks/starts.py).
    """
    if k <= FULL_STARTS_MAX_K:
        return settings.restarts, settings.polished
    return (math.ceil(settings.restarts * FULL_STARTS_MAX_K / k),
            math.ceil(settings.polished * FULL_STARTS_MAX_K / k))


def swaps_for(settings: FitSettings, k: int) -> int:
    """Swap trials for a palette of ``k``: the level's, cut above FULL_STARTS_MAX_K colours
    in proportion, as the starts are."""
    if k <= FULL_STARTS_MAX_K:
        return settings.swaps
    return math.ceil(settings.swaps * FULL_STARTS_MAX_K / k)


def swap_search(points: np.ndarray, weights: np.ndarray, centres: np.ndarray,
                inertia: float, trials: int, rng: np.random.Generator, *,
                max_iter: int = DEFAULT_MAX_ITER, tol: float = DEFAULT_TOL,
                search: Search = reference_search) -> tuple[np.ndarray, float]:
    """Random-swap local search from Lloyd's ``centres`` (k, C) of ``inertia``.

    Each trial moves one centre, the one whose removal costs least (its points' distance
    to their second-nearest centre less their distance to it) on even trials and a random
    one on odd ones, to a point drawn with probability proportional to weight times its
    squared distance to its centre, runs Lloyd from there, and keeps the result only if it
    lowers the inertia. Lloyd alone cannot leave a local optimum where two centres share
    one cluster while another cluster has none. Returns (centres, inertia).
    """
    k = len(centres)
    found = None  # the search of ``centres``, kept while trials fail to move them
    for trial in range(trials if k >= 2 else 0):
        if found is None:
            labels, nearest, second = search(points, centres)
            nearest = nearest.astype(np.float64)
            found = labels, nearest, weights * (second - nearest)
        labels, nearest, loss = found
        removal = np.bincount(labels, loss, minlength=k)
        moved = int(np.argmin(removal)) if trial % 2 == 0 else int(rng.integers(k))
        candidate = centres.copy()
        candidate[moved] = points[_draw(weights * nearest, 1, rng)[0]]
        candidate, cost = lloyd(points, weights, candidate, max_iter=max_iter, tol=tol,
                                search=search)
        if cost < inertia:
            centres, inertia, found = candidate, cost, None
    return centres, inertia


def optimal_grey_levels(levels: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    """The best ``k`` integer grey levels for a weighted 1-D histogram: exact, not local.

    In one dimension every cluster of an optimal k-means is an interval of sorted levels,
    so the best split into intervals (``best_runs``) is the global optimum (n <= 256).
    Each interval's centre is the integer next to its mean with the lower cost, so the
    result is optimal for the palette actually stored. ``levels``: sorted distinct floats.
    """
    n = len(levels)
    prefix_w = np.concatenate(([0.0], np.cumsum(weights)))
    prefix_wx = np.concatenate(([0.0], np.cumsum(weights * levels)))
    prefix_wxx = np.concatenate(([0.0], np.cumsum(weights * levels * levels)))
    first, last = np.triu_indices(n)  # interval levels[first..last]
    mass = prefix_w[last + 1] - prefix_w[first]
    total = prefix_wx[last + 1] - prefix_wx[first]
    square = prefix_wxx[last + 1] - prefix_wxx[first]
    mean = total / mass
    candidates = np.stack([np.floor(mean), np.ceil(mean)])
    costs = square - 2 * candidates * total + candidates**2 * mass  # SSE at each candidate
    pick = costs.argmin(0)
    cost = np.full((n, n), np.inf)
    centre = np.zeros((n, n))
    cost[first, last] = costs[pick, np.arange(len(first))]
    centre[first, last] = candidates[pick, np.arange(len(first))]
    return np.array(sorted(centre[i, m] for i, m in best_runs(cost, k)))


def best_runs(cost: np.ndarray, k: int) -> list[tuple[int, int]]:
    """The split of n items in a fixed order into min(k, n) runs of consecutive items with
    the least summed cost: ``(first, last)`` of each run, in order. ``cost`` is float
    (n, n), cost[i, m] that of the run of items i to m (inf where m < i). Dynamic
    programming, O(k n^2) steps."""
    n = len(cost)
    # best[j][m]: least cost of items 0..m in j + 1 runs; start[j][m]: where the last begins
    best = np.empty((k, n))
    start = np.zeros((k, n), np.int64)
    best[0] = cost[0]
    for j in range(1, k):
        options = best[j - 1][:-1, None] + cost[1:, :]  # (i - 1, m): the last run is i..m
        start[j] = options.argmin(0) + 1
        best[j] = options.min(0)
        best[j][:j] = np.inf  # fewer items than runs
    runs, m = [], n - 1
    for j in range(min(k, n) - 1, -1, -1):
        i = start[j][m] if j else 0
        runs.append((i, m))
        m = i - 1
    return runs[::-1]


def path_centres(points: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    """The means of the best split of ``points`` (float (n, C), n > k), sorted by
    luminance (channel 0 where there are fewer than 3), into ``k`` runs of consecutive
    points: float (k, C). ``weights`` (n,) are their pixel counts.

    For colours along one curve (a colour map, a tinted photo) that is near the best
    k-means, as ``optimal_grey_levels`` is the best for grey; elsewhere it is one more
    start, which the fit keeps only where it ends best. ``best_runs`` over runs whose
    cost is their weighted squared error about their mean.
    """
    key = points[:, :3] @ LUMINANCE if points.shape[1] >= 3 else points[:, 0]
    order = np.argsort(key, kind="stable")
    colours, counts = points[order], weights[order]
    n = len(colours)
    prefix_w = np.concatenate(([0.0], np.cumsum(counts)))
    prefix_wx = np.vstack([np.zeros(colours.shape[1]), np.cumsum(counts[:, None] * colours, 0)])
    prefix_wxx = np.concatenate(([0.0], np.cumsum(counts * (colours * colours).sum(1))))
    first, last = np.triu_indices(n)  # the run colours[first..last]
    sums = prefix_wx[last + 1] - prefix_wx[first]
    cost = np.full((n, n), np.inf)
    cost[first, last] = (prefix_wxx[last + 1] - prefix_wxx[first]
                         - (sums * sums).sum(1) / (prefix_w[last + 1] - prefix_w[first]))
    return np.array([counts[i:m + 1] @ colours[i:m + 1] / counts[i:m + 1].sum()
                     for i, m in best_runs(cost, k)])


def merged_centres(points: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    """Float (k, C) centres of Ward's agglomerative clustering of the n > k ``points``
    (n, C) of ``weights`` (n,): starting from one cluster a point, the two whose merge adds
    least weighted squared error, w_a w_b / (w_a + w_b) |c_a - c_b|^2, are merged into
    their weighted mean until k are left (ties: the first pair in row order)."""
    centres = points.astype(np.float64)
    sizes = weights.astype(np.float64)
    count = len(centres)
    alive = np.ones(count, bool)
    cost = np.empty((count, count))
    for i in range(count):
        cost[i] = _merge_cost(centres, sizes, i, alive)
    for _ in range(count - k):
        i, j = divmod(int(np.argmin(cost)), count)
        total = sizes[i] + sizes[j]
        centres[i] = (sizes[i] * centres[i] + sizes[j] * centres[j]) / total
        sizes[i] = total
        alive[j] = False
        cost[j, :] = cost[:, j] = np.inf
        cost[i, :] = cost[:, i] = _merge_cost(centres, sizes, i, alive)
    return centres[alive]


def _merge_cost(centres: np.ndarray, sizes: np.ndarray, i: int, alive: np.ndarray
                ) -> np.ndarray:
    """Ward's cost of merging cluster ``i`` with each other one (inf: itself, or merged)."""
    cost = ((centres - centres[i]) ** 2).sum(1) * (sizes * sizes[i]) / (sizes + sizes[i])
    cost[~alive] = np.inf
    cost[i] = np.inf
    return cost


def palette_from_sums(counts: np.ndarray, sums: np.ndarray) -> np.ndarray:
    """One Lloyd update: each used colour moves to the mean of its pixels.

    ``counts`` (K,) and ``sums`` (K, C) are the pixels' per-label totals (a backend's
    ``cluster_sums``). Returns the rounded means, distinct rows, uint8 (K', C), K' <= K.
    """
    used = counts > 0
    return distinct_rows(round_palette(sums[used] / counts[used, None]))


def round_palette(centres: np.ndarray) -> np.ndarray:
    """Float centres (k, channels) to the uint8 colours a file stores."""
    return np.clip(np.rint(centres), 0, 255).astype(np.uint8)


def has_alpha(channels: int) -> bool:
    """Whether colours of ``channels`` channels end with alpha (grey + alpha, RGBA)."""
    return channels in (2, 4)


def premultiplied(colours: np.ndarray) -> np.ndarray:
    """uint8 (..., C) colours with alpha (C = 2 or 4) as they are seen: each colour
    channel times alpha / 255, rounded to the nearest integer, and alpha as it is.

    Colours that differ only where they are transparent become one, and a colour weighs
    in an error as much as it shows: what the fit of an image with alpha works on, and
    what its PSNR is measured on (pngquant fits premultiplied colours too). Done in bands
    by OpenCV's ``multiply`` with a scale of 1/255: x * alpha / 255 is never a half, and
    OpenCV's float product rounds to the nearest, so it is (x * alpha + 127) // 255 for
    every pair (a test checks all 65,536), in 0.02-0.1 s for 16.8 MP where integer
    division in numpy took 0.2-0.39 s.
    """
    import cv2

    channels = colours.shape[-1]
    seen = np.empty_like(colours)
    flat_in, flat_out = colours.reshape(-1, channels), seen.reshape(-1, channels)
    for start in range(0, len(flat_in), PREMULTIPLY_BLOCK):
        band = np.ascontiguousarray(flat_in[start:start + PREMULTIPLY_BLOCK])
        *colour, alpha = cv2.split(band.reshape(-1, 1, channels))
        flat_out[start:start + PREMULTIPLY_BLOCK] = cv2.merge(
            [cv2.multiply(plane, alpha, scale=1 / 255) for plane in colour] + [alpha]
        ).reshape(-1, channels)
    return seen


def as_seen(colours: np.ndarray) -> np.ndarray:
    """uint8 (..., C) colours as the fit and the PSNR see them: ``premultiplied`` where C
    has alpha, else the array itself."""
    return premultiplied(colours) if has_alpha(colours.shape[-1]) else colours


def straight(colours: np.ndarray) -> np.ndarray:
    """uint8 (K, C) premultiplied colours (C = 2 or 4) back to the straight colours a file
    stores: each colour channel times 255 / alpha, rounded, at most 255, and 0 where alpha
    is 0. ``premultiplied(straight(c))`` is ``c`` for every colour whose colour channels
    are at most its alpha, as every mean of premultiplied colours is."""
    values = colours.astype(np.int64)
    alpha = values[:, -1:]
    result = values.copy()
    result[:, :-1] = np.where(alpha > 0, np.minimum(
        (values[:, :-1] * 510 + alpha) // np.maximum(2 * alpha, 1), 255), 0)
    return result.astype(np.uint8)


def samples_whole(pixel_count: int, sample_size: int) -> bool:
    """Whether ``sample_pixels`` returns every one of ``pixel_count`` pixels."""
    return sample_size // SAMPLE_BLOCK >= pixel_count // SAMPLE_BLOCK


def sample_pixels(pixels: np.ndarray, sample_size: int, rng: np.random.Generator
                  ) -> np.ndarray:
    """About ``sample_size`` of the (N, C) ``pixels``, as seeded random blocks.

    Whole blocks of SAMPLE_BLOCK consecutive pixels are drawn without replacement:
    reading memory in runs is several times faster than gathering single pixels, and
    blocks shorter than a row still reach every part of the image.
    """
    if samples_whole(len(pixels), sample_size):
        return pixels
    blocks_in_image = len(pixels) // SAMPLE_BLOCK
    blocks_wanted = sample_size // SAMPLE_BLOCK
    chosen = np.sort(rng.choice(blocks_in_image, blocks_wanted, replace=False))
    blocks = pixels[: blocks_in_image * SAMPLE_BLOCK].reshape(blocks_in_image, SAMPLE_BLOCK, -1)
    return blocks[chosen].reshape(-1, pixels.shape[1])


@dataclass(frozen=True)
class Histogram:
    """Weighted points standing for pixels: float64 (M, C) colours and (M,) counts.

    ``exact``: each point is one distinct colour. Otherwise each is the mean colour of
    the pixels in one cell of a colour grid.
    """

    points: np.ndarray
    weights: np.ndarray
    exact: bool


def colour_histogram(pixels: np.ndarray, max_points: int) -> Histogram:
    """At most ``max_points`` weighted points for uint8 (N, C) ``pixels``.

    The distinct colours themselves when they are few enough; else the mean colours of the
    occupied cells of the finest adaptive grid (``merge_points``) with at most
    ``max_points`` of them. Clustering the points with these weights has the same
    objective as clustering the pixels, up to the spread inside each cell.
    """
    colours, counts = distinct_colours(pixels)
    exact = Histogram(colours.astype(np.float64), counts.astype(np.float64), exact=True)
    return merge_points(exact, max_points)


def merge_points(histogram: Histogram, max_points: int) -> Histogram:
    """``histogram`` itself if it has at most ``max_points`` points, else cell means.

    The cells are those of an adaptive grid (``channel_bins``): each channel is cut into
    ranges, narrow where that channel's values are common and wide where they are rare, so
    that a dark or low-contrast image keeps fine cells over the little range it uses. The
    finest such grid (at most 256 bins a channel) with at most ``max_points`` occupied
    cells is taken; each cell becomes its points' weighted mean.
    """
    if len(histogram.points) <= max_points:
        return histogram
    values = np.floor(histogram.points).astype(np.uint8)  # a cell mean stays in its cell

    def cells_with(bins: int) -> np.ndarray:
        """Each point's cell key on the grid of ``bins`` a channel, int64 (M,)."""
        return grid_cells(values, channel_bins(values, histogram.weights, bins), bins)

    low, high = 1, 256  # bins a channel: one bin always fits, 256 may not
    while low < high:  # bisect for the most bins whose grid fits
        bins = (low + high + 1) // 2
        if occupied_cells(cells_with(bins), bins ** values.shape[1]) <= max_points:
            low = bins
        else:
            high = bins - 1
    cells = np.unique(cells_with(low), return_inverse=True)[1].ravel()
    weights = np.bincount(cells, histogram.weights)
    sums = np.stack([np.bincount(cells, histogram.weights * histogram.points[:, c])
                     for c in range(histogram.points.shape[1])], axis=1)
    return Histogram(sums / weights[:, None], weights, exact=False)


# Grids of up to this many cells are counted with a flag a cell (16 MiB) rather than by
# sorting the keys.
MAX_FLAGGED_CELLS = 1 << 24


def occupied_cells(keys: np.ndarray, cell_count: int) -> int:
    """How many distinct values the int64 ``keys`` (each below ``cell_count``) take."""
    if cell_count > MAX_FLAGGED_CELLS:
        keys = np.sort(keys)
        return 1 + int(np.count_nonzero(keys[1:] != keys[:-1])) if len(keys) else 0
    occupied = np.zeros(cell_count, np.bool_)
    occupied[keys] = True
    return int(np.count_nonzero(occupied))


# Bins are spaced evenly in the running sum of (a value's weight) ** BIN_DENSITY_POWER. A
# third is the point density of the best one-dimensional quantizer (Panter and Dite): common
# values get narrow bins without rare ones being swallowed whole.
BIN_DENSITY_POWER = 1 / 3


def channel_bins(values: np.ndarray, weights: np.ndarray, bins: int) -> np.ndarray:
    """Bin of every channel value: int64 (C, 256), each row from 0 to at most ``bins`` - 1.

    ``values``: uint8 (M, C), with float64 ``weights`` (M,). Each channel's bins are
    spaced evenly in the running sum of its weighted value histogram raised to
    BIN_DENSITY_POWER, with bin edges on whole values.
    """
    tables = np.empty((values.shape[1], 256), np.int64)
    for channel in range(values.shape[1]):
        density = np.bincount(values[:, channel], weights, minlength=256) ** BIN_DENSITY_POWER
        middle = np.cumsum(density) - density / 2  # each value's place in the running sum
        tables[channel] = np.minimum(middle * (bins / density.sum()), bins - 1).astype(np.int64)
    return tables


def grid_cells(values: np.ndarray, tables: np.ndarray, bins: int) -> np.ndarray:
    """Cell of each uint8 (M, C) value on the grid ``tables`` (``channel_bins``): int64 (M,)."""
    keys = tables[0][values[:, 0]]
    for channel in range(1, values.shape[1]):
        keys = keys * bins + tables[channel][values[:, channel]]
    return keys


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


def distinct_rows(colours: np.ndarray) -> np.ndarray:
    """The distinct rows of uint8 (K, channels), sorted as ``np.unique(axis=0)`` sorts
    them, which imports numpy.ma (9 ms of a small image's encode); ``distinct_colours``
    does not."""
    return distinct_colours(colours)[0]


def distinct_colours(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct colours of uint8 (N, channels) pixels, sorted, and their int64 counts."""
    channels = pixels.shape[1]
    keys = pack_colours(pixels)
    if channels <= 2:
        counts = np.bincount(keys, minlength=1 << (8 * channels))
        present = np.flatnonzero(counts).astype(np.uint32)
        return unpack_colours(present, channels), counts[present]
    present, counts = np.unique(keys, return_counts=True)
    return unpack_colours(present, channels), counts.astype(np.int64)


def squared_distances(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """(M, C) and (K, C) float64 to (M, K) squared Euclidean distances.

    Channel by channel rather than as a matrix product: with C <= 4 this is exact and free
    of BLAS threads, which only contend on a busy machine. Worked out DISTANCE_BLOCK
    entries at a time, so the channels' passes stay in the cache (twice as fast at K=256).
    """
    distances = np.empty((len(points), len(centres)))
    scratch = np.empty(_block_rows(len(centres)) * len(centres))
    for start, stop in _row_blocks(len(points), len(centres)):
        _block_distances(points[start:stop], centres, distances[start:stop], scratch)
    return distances


def _block_rows(columns: int) -> int:
    return max(1, DISTANCE_BLOCK // max(1, columns))


def _row_blocks(rows: int, columns: int) -> list[tuple[int, int]]:
    """(start, stop) of the row blocks of an (rows, columns) distance matrix."""
    step = _block_rows(columns)
    return [(start, min(start + step, rows)) for start in range(0, rows, step)]


def _block_distances(points: np.ndarray, centres: np.ndarray, out: np.ndarray,
                     scratch: np.ndarray) -> None:
    """Squared distances of a block of ``points`` to ``centres`` into ``out`` (rows, K);
    ``scratch``: float64 with room for as many entries."""
    difference = scratch[:out.size].reshape(out.shape)
    np.subtract.outer(points[:, 0], centres[:, 0], out=out)
    out *= out
    for channel in range(1, points.shape[1]):
        np.subtract.outer(points[:, channel], centres[:, channel], out=difference)
        difference *= difference
        out += difference


def kmeans_plusplus(points: np.ndarray, weights: np.ndarray, k: int, rng: np.random.Generator
                    ) -> np.ndarray:
    """Greedy weighted k-means++ seeding: ``k`` centres (k, C) float64 chosen among points.

    Each step draws 2 + log(k) candidates with probability proportional to weight times
    squared distance to the nearest centre so far, and keeps the one that lowers the
    potential most (as scikit-learn does).
    """
    trials = 2 + int(np.log(k))
    first = _draw(weights, 1, rng)[0]
    centres = [points[first]]
    columns = points.T.copy()  # (C, M): each channel contiguous
    distances = _CandidateDistances(columns, trials)
    closest = distances.to_each(points[first:first + 1])[:, 0].copy()
    for _ in range(1, k):
        potential = closest * weights
        if not potential.sum() > 0:
            break
        candidates = _draw(potential, trials, rng)
        to_candidates = distances.to_each(points[candidates])  # (M, trials)
        np.minimum(to_candidates, closest[:, None], out=to_candidates)
        best = int(np.argmin(weights @ to_candidates))
        centres.append(points[candidates[best]])
        closest = to_candidates[:, best].copy()  # the buffer is reused next step
    return np.array(centres)


class _CandidateDistances:
    """Squared distances of every point to a few candidate centres, into buffers reused at
    every seeding step: fresh (M, T) temporaries cost more in page faults than in
    arithmetic, and outer products over a short T axis run slowly."""

    def __init__(self, columns: np.ndarray, most: int) -> None:
        self.columns = columns  # (C, M)
        self.by_candidate = np.empty((most, columns.shape[1]))
        self.scratch = np.empty_like(self.by_candidate)
        self.by_point = np.empty((columns.shape[1], most))

    def to_each(self, centres: np.ndarray) -> np.ndarray:
        """(M, T) C-contiguous, valid until the next call: the squares of each channel's
        difference, summed channel by channel."""
        count = len(centres)
        rows, scratch = self.by_candidate[:count], self.scratch[:count]
        np.subtract(self.columns[0][None, :], centres[:, 0][:, None], out=rows)
        np.multiply(rows, rows, out=rows)
        for channel in range(1, len(self.columns)):
            np.subtract(self.columns[channel][None, :], centres[:, channel][:, None],
                        out=scratch)
            np.multiply(scratch, scratch, out=scratch)
            np.add(rows, scratch, out=rows)
        if count == self.by_point.shape[1]:
            out = self.by_point
        else:
            out = np.empty((self.columns.shape[1], count))
        np.copyto(out, rows.T)
        return out


def _draw(weights: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` indices drawn with replacement, each with probability proportional to
    its entry of ``weights`` (float (M,), non-negative, some positive)."""
    running = np.cumsum(weights)
    drawn = np.searchsorted(running, rng.random(count) * running[-1], side="right")
    return np.minimum(drawn, len(weights) - 1)


def kmeans(points: np.ndarray, weights: np.ndarray, k: int, rng: np.random.Generator, *,
           max_iter: int = DEFAULT_MAX_ITER, tol: float = DEFAULT_TOL
           ) -> tuple[np.ndarray, float]:
    """Weighted k-means from a k-means++ seed. Returns (centres (k', C), inertia)."""
    centres = kmeans_plusplus(points, weights, k, rng)
    return lloyd(points, weights, centres, max_iter=max_iter, tol=tol)


def lloyd(points: np.ndarray, weights: np.ndarray, centres: np.ndarray, *,
          max_iter: int = DEFAULT_MAX_ITER, tol: float = DEFAULT_TOL,
          search: Search = reference_search) -> tuple[np.ndarray, float]:
    """Weighted Lloyd iterations from ``centres`` (k, C). Returns (centres, inertia).

    Stops when no point changes cluster, when the centres move less than ``tol`` times the
    data's mean per-channel variance (squared), or after ``max_iter`` iterations. An empty
    cluster is moved to the point farthest from its centre.

    Hamerly's bounds skip most distance work once the centres settle: each point keeps an
    upper bound on the distance to its own centre and a lower bound on the distance to any
    other, both moved by how far the centres moved; only points whose bounds overlap are
    measured again. The labels are those of plain Lloyd.
    """
    mean = np.average(points, axis=0, weights=weights)
    variance = np.average((points - mean) ** 2, axis=0, weights=weights).mean()
    threshold = tol * variance
    weighted = weights[:, None] * points  # (M, C), summed per cluster at every update
    labels, upper, lower = _nearest_two(search, points, centres)
    for _ in range(max_iter):
        new_centres = _update_centres(weighted, weights, labels, centres, points, upper)
        moves = np.sqrt(((new_centres - centres) ** 2).sum(1))
        centres = new_centres
        if (moves**2).sum() <= threshold:
            break
        upper += moves[labels]
        lower -= _largest_other_move(moves, labels)
        stale = np.flatnonzero(upper * (1 + 1e-6) >= lower)  # margin for float32 rounding
        if not len(stale):
            break
        new_labels, upper[stale], lower[stale] = _nearest_two(search, points[stale], centres)
        if np.array_equal(new_labels, labels[stale]):
            break  # no point changes cluster: the centres would stay where they are
        labels[stale] = new_labels
    inertia = float(weights @ search(points, centres)[1])
    return centres, inertia


def _farthest(distance: np.ndarray, count: int) -> np.ndarray:
    """Indices of the ``count`` largest entries of ``distance`` (M,), largest first, the
    lower index first among equals."""
    if count >= len(distance):
        return np.argsort(-distance, kind="stable")
    threshold = -np.partition(-distance, count - 1)[count - 1]
    candidates = np.flatnonzero(distance >= threshold)
    return candidates[np.argsort(-distance[candidates], kind="stable")][:count]


def _largest_other_move(moves: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """How far any centre but each point's own moved at most, (M,): what its lower bound
    on the distance to the other centres loses."""
    largest = int(np.argmax(moves))
    runner_up = np.max(np.delete(moves, largest), initial=0.0)
    return np.where(labels == largest, runner_up, moves[largest])


def _nearest_two(search: Search, points: np.ndarray, centres: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest centre of each point, its distance, and the distance to the next nearest:
    ``search``'s float32 squares, as float64 distances."""
    labels, nearest, second = search(points, centres)
    return labels, np.sqrt(nearest, dtype=np.float64), np.sqrt(second, dtype=np.float64)


def _update_centres(weighted: np.ndarray, weights: np.ndarray, labels: np.ndarray,
                    centres: np.ndarray, points: np.ndarray, own_distance: np.ndarray
                    ) -> np.ndarray:
    """Each centre to the weighted mean of its points; an empty one to the farthest point.

    ``weighted``: weights times points (M, C); ``own_distance``: each point's distance (or
    an upper bound of it) to its centre, which decides which points are farthest.
    """
    k = len(centres)
    mass = np.bincount(labels, weights, minlength=k)
    sums = np.stack([np.bincount(labels, weighted[:, c], minlength=k)
                     for c in range(weighted.shape[1])], axis=1)
    new_centres = centres.copy()
    filled = mass > 0
    new_centres[filled] = sums[filled] / mass[filled, None]
    empty = np.flatnonzero(~filled)
    if len(empty):
        new_centres[empty] = points[_farthest(own_distance, len(empty))]
    return new_centres
