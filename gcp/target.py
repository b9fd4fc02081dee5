"""A quality target: the fewest colours, up to ``k_max``, whose palette reaches a PSNR.

Fitting a palette at every k from 1 to ``k_max`` and measuring each would cost ``k_max``
fits. Instead:

1. Estimate. The fit's colour histogram (the same seeded sample, coarse points) stands
   for the pixels. One cheap k-means (one k-means++ start, Lloyd on the coarse points) at
   a k gives the histogram's inertia; divided by the pixel count, plus the spread of the
   pixels inside each histogram cell and the error of rounding the centres to bytes, it
   estimates the MSE at that k (``MseEstimate``). Grey images get the exact optimum from
   ``quantizer.optimal_grey_levels`` instead. Estimates are made only at the k a binary
   search asks for (about log2(k_max) of them) and kept.
2. Measure and correct. The real fit at the guessed k (``quantize``: what ``gcp.encode``
   does at that k, every pixel assigned) gives the true PSNR. The search keeps the
   largest k known to miss the target and the smallest known to reach it, rescales the
   estimates by the true over estimated MSE of the real fits (interpolated between
   them), and guesses again inside that bracket, until the two are neighbours (within
   SLACK above 64 colours; usually 2 to 4 real fits) or MAX_FITS real fits are spent.

The result is the smallest k that a real fit showed to reach the target, whose k - 1
(or a k within SLACK) a real fit showed to miss it; or ``k_max`` when even that misses.
K-Means is not monotone in k, so a smaller k further down may still reach the target
(the README says by how much, as measured).
Everything is seeded: the same pixels and options give the same choice.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import quantizer
from .lookup import squared_error

# Real fits the search may make before it settles for the smallest k known to reach the
# target (one more is made at k_max when none has reached it by then).
MAX_FITS = 5
# The search stops when the k known to reach the target is at most this fraction of k - 1
# (and at least 1) above one known to miss it: up to 64 colours the two are neighbours;
# above, one colour more or less moves the PSNR by hundredths of a dB, less than
# K-Means' own noise from one k to the next.
SLACK = 1 / 32
# Mean squared error that rounding float centres to bytes adds, per channel: a uniform
# error on (-0.5, 0.5) has variance 1/12.
ROUNDING_MSE = 1 / 12
PEAK = 255.0

# k -> (palette uint8 (K, C), labels uint8 (N,), exact): one real fit and assignment.
Quantize = Callable[[int], tuple[np.ndarray, np.ndarray, bool]]


def mse_for_psnr(psnr_db: float) -> float:
    """The mean squared error (per channel value) at which the PSNR is ``psnr_db``."""
    try:
        return PEAK**2 / 10 ** (psnr_db / 10)
    except OverflowError:  # a target of thousands of dB: only a lossless palette reaches it
        return 0.0


def psnr_for_mse(mse: float) -> float:
    """PSNR in dB of a mean squared error; inf for 0 (``gcp.compare.psnr`` uses it too)."""
    return math.inf if mse == 0 else float(10 * np.log10(PEAK**2 / mse))


def assigned_mse(pixels: np.ndarray, palette: np.ndarray, labels: np.ndarray) -> float:
    """Mean squared error of uint8 (N, C) ``pixels`` against ``palette[labels]``.

    ``palette`` uint8 (K, C), K at most 256; ``labels`` uint8 (N,). Summed exactly in
    integers (``lookup.squared_error``), so it equals ``gcp.compare.psnr``'s error on the
    decoded image.
    """
    return squared_error(pixels, palette, labels) / pixels.size


class MseEstimate:
    """Cheap estimates of the MSE a palette of k colours gives, from the colour histogram.

    ``pixels``: uint8 (N, C). The sample and histograms are those ``fit_palette`` builds
    at ``effort``; ``mse(k)`` runs one k-means start on the coarse histogram (or, for an
    exact grey histogram, the optimal levels) and keeps the answer.
    """

    def __init__(self, pixels: np.ndarray, *, seed: int, effort: int, max_iter: int,
                 tol: float) -> None:
        settings = quantizer.EFFORT_LEVELS[effort]
        sample = quantizer.sample_pixels(pixels, settings.sample_size,
                                         np.random.default_rng(seed))
        fine = quantizer.colour_histogram(sample, settings.fine_points)
        self.histogram = quantizer.merge_points(fine, settings.coarse_points)
        self.channels = pixels.shape[1]
        self.pixel_count = float(self.histogram.weights.sum())
        self.spread = _spread_inside_points(sample, self.histogram)
        self.grey = self.channels == 1 and self.histogram.exact
        self.seed, self.max_iter, self.tol = seed, max_iter, tol
        self.known: dict[int, float] = {}

    def mse(self, k: int) -> float:
        """Estimated mean squared error per channel value with ``k`` colours."""
        if k not in self.known:
            self.known[k] = self._estimate(k)
        return self.known[k]

    def _estimate(self, k: int) -> float:
        points, weights = self.histogram.points, self.histogram.weights
        if self.histogram.exact and len(points) <= k:
            return 0.0  # the palette is the image's own colours
        if self.grey:
            levels = quantizer.optimal_grey_levels(points[:, 0], weights, k)[:, None]
            inertia = float(weights @ quantizer.squared_distances(points, levels).min(1))
            return inertia / self.pixel_count
        rng = np.random.default_rng([self.seed, k])
        _, inertia = quantizer.kmeans(points, weights, k, rng, max_iter=self.max_iter,
                                      tol=self.tol)
        per_pixel = inertia / self.pixel_count + self.spread
        return per_pixel / self.channels + ROUNDING_MSE


def _spread_inside_points(sample: np.ndarray, histogram: quantizer.Histogram) -> float:
    """Mean squared distance of the (N, C) ``sample`` pixels to their histogram point.

    By the law of total variance: the pixels' variance less the points' weighted
    variance (0 for an exact histogram, whose points are the colours themselves).
    """
    if histogram.exact:
        return 0.0
    weights = histogram.weights / histogram.weights.sum()
    mean = weights @ histogram.points
    between = float(weights @ ((histogram.points - mean) ** 2).sum(1))
    within = float(sample.var(axis=0, dtype=np.float64).sum()) - between
    return max(within, 0.0)


@dataclass
class Choice:
    """What ``choose_colours`` settled on: the k, its real fit and its PSNR.

    ``palette`` uint8 (K', C) with K' <= k, ``labels`` uint8 (N,), ``exact`` as
    ``quantize`` gave them; ``mse`` their mean squared error per channel value, ``psnr``
    the same in dB. ``reached``: ``psnr`` >= the target. ``fits``: (k, PSNR) of
    every real fit the search made, in order.
    """

    k: int
    palette: np.ndarray
    labels: np.ndarray
    exact: bool
    mse: float
    psnr: float
    reached: bool
    fits: list[tuple[int, float]] = field(default_factory=list)


@dataclass
class _Search:
    """The bracket of real fits: ``low`` misses the target, ``high`` reaches it."""

    target_psnr: float
    k_max: int
    low: int = 0
    high: Choice | None = None
    fits: list[tuple[int, float]] = field(default_factory=list)
    scales: dict[int, float] = field(default_factory=dict)  # k -> true / estimated MSE

    @property
    def target_mse(self) -> float:
        return mse_for_psnr(self.target_psnr)

    @property
    def settled(self) -> bool:
        """The bracket is closed: k_max misses, or ``high`` is within SLACK of ``low``."""
        if self.high is None:
            return self.low >= self.k_max
        return self.high.k - self.low <= max(1, math.floor((self.high.k - 1) * SLACK))

    def scale_at(self, k: int) -> float:
        """True over estimated MSE at ``k``: interpolated, in logs, between real fits."""
        if not self.scales:
            return 1.0
        known = sorted(self.scales)
        if k <= known[0] or k >= known[-1]:
            return self.scales[known[0] if k <= known[0] else known[-1]]
        above = next(index for index, fit_k in enumerate(known) if fit_k >= k)
        k0, k1 = known[above - 1], known[above]
        fraction = math.log(k / k0) / math.log(k1 / k0)
        return self.scales[k0] ** (1 - fraction) * self.scales[k1] ** fraction


def choose_colours(pixels: np.ndarray, k_max: int, target_psnr: float, quantize: Quantize,
                   *, seed: int = 0, effort: int = quantizer.DEFAULT_EFFORT,
                   max_iter: int = quantizer.DEFAULT_MAX_ITER,
                   tol: float = quantizer.DEFAULT_TOL) -> Choice:
    """The fewest colours, up to ``k_max``, whose real fit reaches ``target_psnr`` dB.

    ``pixels``: uint8 (N, C), the image. ``quantize(k)`` makes the real fit at k and
    assigns every pixel, returning (palette uint8 (K, C), labels uint8 (N,), exact). The
    PSNR is over all channels of ``palette[labels]``, as ``gcp decode`` gives the pixels
    back. When even ``k_max`` misses the target, the choice is ``k_max`` (``reached``
    False). ``seed``, ``effort``, ``max_iter`` and ``tol`` are the fit's.
    """
    estimate = MseEstimate(pixels, seed=seed, effort=effort, max_iter=max_iter, tol=tol)
    search = _Search(target_psnr, k_max)
    at_max: Choice | None = None
    while not search.settled and len(search.fits) < MAX_FITS:
        k = _guess(estimate, search)
        choice = _real_fit(pixels, k, quantize, search)
        if k == k_max:
            at_max = choice
        estimated = estimate.mse(k)
        if estimated > 0 and choice.mse > 0:
            search.scales[k] = choice.mse / estimated
    if search.high is not None:
        return search.high
    if at_max is None:
        at_max = _real_fit(pixels, k_max, quantize, search)
    return at_max


def _guess(estimate: MseEstimate, search: _Search) -> int:
    """The smallest k inside the bracket whose corrected estimate reaches the target.

    A binary search, taking the estimate as falling with k; when no k below the known
    good one is estimated to reach the target, its neighbour k - 1 is tried, to close
    the bracket.
    """
    low = search.low + 1
    high = search.k_max if search.high is None else search.high.k - 1

    def reaches(k: int) -> bool:
        return estimate.mse(k) * search.scale_at(k) <= search.target_mse

    if not reaches(high):
        return high
    while low < high:
        middle = (low + high) // 2
        if reaches(middle):
            high = middle
        else:
            low = middle + 1
    return low


def _real_fit(pixels: np.ndarray, k: int, quantize: Quantize, search: _Search) -> Choice:
    """Fit and assign at ``k`` and record the result in ``search``."""
    palette, labels, exact = quantize(k)
    mse = assigned_mse(pixels, palette, labels)
    psnr = psnr_for_mse(mse)
    reached = psnr >= search.target_psnr
    search.fits.append((k, psnr))
    choice = Choice(k, palette, labels, exact, mse, psnr, reached, search.fits)
    if reached:
        if search.high is None or k < search.high.k:
            search.high = choice
    else:
        search.low = max(search.low, k)
    return choice
