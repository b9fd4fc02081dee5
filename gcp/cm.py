"""Method 2, cm: palette indices coded from their 2-D neighbourhood (spec/format.md, 5.3).

The pure-Python reference of the context-mixing coder; ``backends/cm.cl`` is the same
machine as OpenCL kernels, and both write the same bytes (tests/test_cm.py). This module
is written to be read beside the spec, not for speed: the kernels are the fast path.

The image is cut into stripes of ``stripe_height`` rows, each coded on its own so that
stripes code and decode in parallel. In a stripe, each pixel's index is found by a series
of binary decisions, each coded by an adaptive binary arithmetic coder:

    neighbours L U UR UL LL UU (stripe-local, 5.3.2;   match: a pointer to an earlier
    UU two rows up, or where a STRIPE_CODED_UU          pixel with the same neighbours;
    stripe puts it)                                     row match: one that followed
         |                                              the same 5 indices in a row
         v                                                  v
    candidates L, U, UR, UL, LL, UU, M, R: distinct, in that order (5.3.3)
         |  for each, "is the pixel this one?": 5 counters -> stretch -> mixer -> squash
         |  -> binary arithmetic coder (5.3.4, 5.3.6, 5.3.7)
         |  (in a ranks stripe, a pixel that is not flat has no candidates)
         v
    none of them: the anchor, the colour nearest the MED prediction from L, U, UL (while
    ranks are common, four predictions blended, or in a smooth stripe a weighted mean of
    14 neighbours, then bias-corrected);
    the pixel's rank among the other colours by distance from the anchor, as a unary
    bucket and the bits below its leading one, each from 5 counters mixed (5.3.5)

Every quantity is an integer; rounding and evaluation order are the spec's, so every
device writes the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from . import varint
from .errors import FormatError, ParameterError

# --- Body layout (5.3.1) -----------------------------------------------------------------
CM_STRIPE_HEADER_SIZE = 4          # stripe_height, u32; then a channel_weight per channel
CM_STRIPE_LENGTH_SIZE = 8          # stripe_length, u64, one per stripe
# A stripe_height of 0 (BLOCK_MARKER) says that block_width and block_height (a byte each)
# follow, then the body of the image of blocks: every block_width x block_height block
# of the image, from the top left (those of the last column and row cut short), is one
# index, coded once. Nearest-neighbour enlargements (pixel art shown at 6x, a QR code's
# 8-px modules, a photo at 2x) code 4 to 64 times fewer pixels.
BLOCK_MARKER = 0
MAX_BLOCK_SIDE = 255
# The prefix costs 6 bytes: an image of up to BLOCK_TRIAL_PIXELS pixels is also coded
# without blocks, and the shorter kept (without blocks where equal); a larger one with
# blocks takes them.
BLOCK_TRIAL_PIXELS = 1 << 16
# In a file's compact form (FLAG_COMPACT, spec 2.10) stripe_height and the stripe lengths
# are varints, BLOCK_MARKER is one byte 00 and the last stripe has no length: it takes
# the rest of the body. A one-stripe body's framing is then 1 to 5 bytes and the weights,
# not 12 and the weights: a 64 x 64 checkerboard's file 71 -> 36 bytes with the header's.
STRIPE_HEIGHT_VARINT_BYTES = 5     # stripe_height at most 2^32 - 1
STRIPE_LENGTH_VARINT_BYTES = 10    # stripe_length at most 2^64 - 1
MAX_STRIPE_HEIGHT = (1 << 32) - 1
MAX_STRIPE_LENGTH = (1 << 64) - 1
BLOCK_SCAN_LINES = 64  # rows (or columns) block_size reads at a time: a photo stops at the first
# channel_weight: each channel's weight in the distances between colours (5.3.5), 1 to
# MAX_CHANNEL_WEIGHT, so that a distance stays below 2^24 (exact in a float).
MAX_CHANNEL_WEIGHT = 64
STRIPE_CODED = 0                   # stripe_mode: coded by the model
STRIPE_STORED = 1                  # stripe_mode: the indices as bytes
STRIPE_RANKS = 2                   # stripe_mode: coded, pixels not flat by rank alone
STRIPE_PACKED = 3                  # stripe_mode: the indices in index_bits bits each
STRIPE_CODED_SMOOTH = 4            # stripe_mode: STRIPE_CODED, anchors by the smooth prediction
STRIPE_RANKS_SMOOTH = 5            # stripe_mode: STRIPE_RANKS, likewise
STRIPE_CODED_UU = 6               # stripe_mode: STRIPE_CODED, UU where uu_rows, uu_shift say
STRIPE_CODED_WIDE = 7             # stripe_mode: STRIPE_CODED, the match keyed by WIDE_TEMPLATE
STRIPE_MODES = (STRIPE_CODED, STRIPE_STORED, STRIPE_RANKS, STRIPE_PACKED, STRIPE_CODED_SMOOTH,
                STRIPE_RANKS_SMOOTH, STRIPE_CODED_UU, STRIPE_CODED_WIDE)
UNCODED_MODES = (STRIPE_STORED, STRIPE_PACKED)
RANKS_MODES = (STRIPE_RANKS, STRIPE_RANKS_SMOOTH)
SMOOTH_MODES = (STRIPE_CODED_SMOOTH, STRIPE_RANKS_SMOOTH)
CODER_FINAL_BYTES = 4              # the coder's flush: the four bytes of low
CODED_MODES = (STRIPE_CODED, STRIPE_RANKS, STRIPE_CODED_SMOOTH, STRIPE_RANKS_SMOOTH,
               STRIPE_CODED_UU, STRIPE_CODED_WIDE)
# A stripe's first byte, its mode byte: stripe_mode in the low 4 bits, table_shrink in the
# high 4 (5.3.1). A coded stripe with table_shrink t indexes the tables of 2^HASH_BITS
# entries (models 1 to 3 and the match) by the low HASH_BITS - t bits of each index alone:
# tables of 2^14 entries (t = 4) fit a core's cache where those of 2^18 do not: a 16.8-MP
# render's body at k = 256 decodes 1.4-1.6x as fast, 1.03x as large; a tile map's is
# 1.35-1.5x as large, so the encoder tries them (table_shrink_for; spec section 12).
STRIPE_MODE_MASK = 0x0F
TABLE_SHRINK_SHIFT = 4
MAX_TABLE_SHRINK = 6               # tables of 2^12 entries at the least
SMALL_TABLE_SHRINK = 4             # the reference encoder's small tables: 2^14 entries
TABLE_TRIAL_STRIPES = 8            # stripes an image needs for the encoder to try them
TABLE_TRIAL_COST = 1.03            # how much longer the trial sample may code with them
# Which of a rank bit's five counters lie in the hashed tables (models 1, 3 and 2), read
# within a stripe's table_mask (StripeModel.code_rank_bit).
RANK_COUNTER_HASHED = (False, True, True, False, True)
# In a STRIPE_CODED_WIDE stripe the match looks up the 38 pixels of WIDE_TEMPLATE first,
# the six neighbours where those have no entry: six pixels of bilevel text match a random
# earlier place, 38 the same part of an earlier copy of the glyph, which the match then
# follows. With two colours the candidates' model 3 is by the same 38 pixels, bits as
# JBIG's templates are (with more, too many contexts to learn). Each (dx, dy) is a pixel
# dx across and dy up; one outside the stripe reads OUTSIDE_TEMPLATE. A fax page's file
# 0.39x, a screenshot's 0.85x; a cartoon's 1.016x, so the encoder tries it.
WIDE_TEMPLATE = (tuple((-dx, 0) for dx in range(1, 7))
                 + tuple((dx, dy) for dy, reach in ((1, 5), (2, 4), (3, 3), (4, 2))
                         for dx in range(-reach, reach + 1)))
OUTSIDE_TEMPLATE = 256            # not an index
NO_RUN_VALUE = 256                # not an index: a row's first span reads the row above
WIDE_KEY_TAG = 9                  # the wide key's first hashed value (5.3.3)
WIDE_TRIAL_GAIN = 0.01            # the middle stripe's share the wide match must save
WIDE_SAMPLE_GAIN = 0.001          # and first the trial sample's: a photo's codes within it
# UU is the pixel uu_rows up and uu_shift across: (2, 0) in every mode but
# STRIPE_CODED_UU, whose stripe gives uu_rows (u8, 1 to 255) and uu_shift (i8) after its
# mode byte. An ordered dither repeats 4 or 8 rows up (a diagonal one also across), which
# no other neighbour reaches: a Bayer-dithered ramp's body 2,619 -> 187 bytes.
TWO_UP = (2, 0)
UU_PREFIX_SIZE = 3                # stripe_mode, uu_rows, uu_shift
# The encoder looks for a better (uu_rows, uu_shift) among rows 1 to UU_SEARCH_ROWS up
# and shifts up to UU_SEARCH_SHIFT either way: the one that most often gives the pixel
# where none of L, U, UR, UL and LL does, in the weights' trial sample (its bands made
# at least UU_TRIAL_ROWS tall); where that beats two rows up by UU_TRIAL_SHARE of the
# sample's pixels and UU_TRIAL_RATIO times (not by chance, as on noise), it codes the
# sample both ways and takes the offset where shorter (``uu_offset_pays``). Over 312
# codings of six image sets this gate tried 104 and kept the offset on 47 (0.9959x; one
# 8 bytes larger); trying wherever any offset beats two rows up kept 78, 8 larger, up to
# 1.06% (spec 12, benchmarks/README.md).
UU_SEARCH_ROWS = 8
UU_SEARCH_SHIFT = 8
UU_TRIAL_ROWS = 32
UU_TRIAL_PIXELS = 1 << 16
UU_TRIAL_WINDOWS = 4
UU_TRIAL_SHARE = 0.005
UU_TRIAL_RATIO = 1.25
# Where no offset passes, but at least UU_REPEAT_SHARE of the sample's rows repeat the row
# d up exactly and not the row above (d from 2 to UU_SEARCH_ROWS: a checkerboard, a
# dither the count misses), it tries (d, 0), whose rows may be repeated at a bit a row
# (5.3.2), on a whole stripe. Rows that repeat the row above, as a flat area's do, are
# left to spans: counting them tried 15 screenshots, web pages and charts, and kept none.
UU_REPEAT_SHARE = 0.25
# Where at least UU_ONE_STRIPE_SHARE of an image's rows from d on repeat the row d up (d as
# ``repeat_offset_for`` finds it on the sample), the encoder codes it as one stripe: a
# repeated row costs a bit and decodes as a copy, so stripes would only code their first
# rows again (a 4096 x 4096 Bayer ramp, 16 stripes: 1,317 bytes; one: see spec 12).
UU_ONE_STRIPE_SHARE = 15 / 16
# The offsets looked at, in order (the first of equal counts wins): by rows up, then by
# the shift's size, the negative first.
UU_OFFSETS = [(rows, shift) for rows in range(1, UU_SEARCH_ROWS + 1)
              for shift in sorted(range(-UU_SEARCH_SHIFT, UU_SEARCH_SHIFT + 1), key=abs)]
# The reference encoder also codes a stripe as STRIPE_RANKS, and keeps the shorter, where
# at least RANKS_TRIAL_SHARE of its pixels are not flat and under RANKS_TRIAL_HITS of
# those are one of L, U, UR, UL, LL (or UU, in STRIPE_CODED_UU): noise, grain, grey photos
# kept whole (the candidates' decisions then cost more than they tell). benchmarks/README.md.
RANKS_TRIAL_SHARE = 0.25
RANKS_TRIAL_HITS = 0.7
# An image of one stripe is tried up to this: its second coding runs on a core the first
# leaves idle. On 34 images STRIPE_RANKS won up to a hit rate of 0.86 (0.94-0.99x), never
# from 0.88; the 16.8-MP renders' stripes (0.75-0.99) would have paid a second coding
# each for at most 0.3%.
RANKS_TRIAL_HITS_ALONE = 0.9
RANKS_TRIAL_ROW_STEP = 8
# An image of at least this many stripes codes one tried stripe both ways and its other
# tried stripes only as that one came out shorter (ranks_trials): coding every tried
# stripe both ways doubled the coding of a 16.8-MP texture's 16 stripes (GNOME's pixels-l
# at k = 64 and 256), and where an image's stripes were all coded both ways, one stripe's
# verdict was every other's but one (of 43 stripes; that one 0.07% longer). Fewer stripes
# lose nothing on two cores, and the trials' samples (one or two stripes) stay as they were.
RANKS_VERDICT_STRIPES = 4
# The encoder's stripes hold about this many pixels: 16 stripes on a 16.8-MP image to
# share among cores, each long enough for the models to learn. Stripes of 2^18 pixels made
# 16.8-MP files 3.4-7.9% larger than one stripe; these, 1.6-3.6% (spec 12).
TARGET_STRIPE_PIXELS = 1 << 20
# The encoder weighs a channel by how much better its MED prediction errs than the worst
# channel's: 2^floor(log2(ratio of mean squared errors)), capped at MAX_CHANNEL_WEIGHT.
# A smooth alpha under noisy grey orders colours of the pixel's alpha first (12.7%
# smaller at k = 256, spec 12); on photos every channel errs alike and weighs 1. The
# errors are sampled in every WEIGHT_SAMPLE_ROW_STEP-th row, or sparser rows where that
# would exceed WEIGHT_SAMPLE_PIXELS (16.8 MP: every 64th row, about 20 ms).
WEIGHT_SAMPLE_ROW_STEP = 8
WEIGHT_SAMPLE_PIXELS = 1 << 18
# Where that rule weighs the channels unequally, the encoder codes a sample with its
# weights, with every weight above 1 raised to MAX_CHANNEL_WEIGHT (the predictable
# channels ordered first, as a lexicographic order would) and with all weights 1, and
# keeps the weights of the shortest (``choose_channel_weights``). The sample is the whole
# image up to WEIGHT_TRIAL_PIXELS, else two bands of half that, a third and two thirds of
# the way down, coded as two stripes side by side. Of 99 codings (33 images at k = 16 and
# 256, and 16 dithered) this changed the weights of 12, to 0.9976x the rule's file size
# (geometric mean; 0.9911x to 1.0016x). Samples of 2^14, 2^15 and 2^16 pixels chose about
# equally well (0.9984x, 0.9984x, 0.9983x on the 17 codings tried), 2^13 worse (0.9990x,
# up to 1.0095x). With 2^16 the weight and smooth trials take about 30-190 ms an encode
# with OpenCL (2^15: 20-110 ms), minutes with the pure-Python reference:
# benchmarks/README.md.
WEIGHT_TRIAL_PIXELS = 1 << 16
# The same sample, coded with the chosen weights in the smooth modes too: where that is
# shorter, every stripe is coded so (``smooth_pays``). A small sample favours the smooth
# modes, whose prediction needs no learning: on 2^15 pixels a scanned page's sample was
# 0.9915x in them and the whole page 1.0103x, so the trial took them only past a margin of
# 0.2% and missed a thermal image's 0.962x. On 2^16 pixels, with no margin, 312 codings
# (six image sets) came to 0.9996x the body size of that rule and within 0.006% of the
# better whole-image choice for each, 65 in the smooth modes, none more than 0.12% larger:
# benchmarks/README.md.

# --- Neighbours and candidates (5.3.2, 5.3.3) --------------------------------------------
SLOT_L, SLOT_U, SLOT_UR, SLOT_UL, SLOT_LL, SLOT_UU, SLOT_M, SLOT_R = range(8)
NEIGHBOURS = 6
SLOT_COUNT = 8
MATCH_COUNT_LIMIT = 3              # the match's length counts to MATCH_COUNT_LIMIT + 1
# The row match: an earlier pixel that followed the same ROW_MATCH_WIDTH indices in a
# row, looked up and stored at every ROW_MATCH_STEP-th column only (5.3.3). It copies
# rows whose neighbourhood above differs from their source's: a mirrored image's lower
# half, a pattern seen on another background.
ROW_MATCH_WIDTH = 5
ROW_MATCH_STEP = 8
ROW_MATCH_BITS = 16                # entries of the row match's table
MATCH_STATES = 9                   # 0: no prediction; 1-4 agrees, 5-8 differs, by length
MAX_STRIPE_PIXELS = (1 << 32) - 2  # a match position is a u32; all ones means empty

# --- Models and mixer (5.3.4) ------------------------------------------------------------
PATTERN_COUNT = 64
DIRECT_CONTEXTS = SLOT_COUNT * MATCH_STATES * PATTERN_COUNT
ANCHOR_PLACES = 16                 # a candidate's place in the anchor's order, capped
ANCHOR_CONTEXTS = SLOT_COUNT * ANCHOR_PLACES * PATTERN_COUNT
MODEL_COUNT = 5                    # direct; hashed: (L, U), (candidate, pattern), six;
#                                    the candidate's place by the anchor
HASH_BITS = 18                     # entries of each hashed model and the match table
HASH_START = 0x9E3779B1
HASH_MULTIPLIER = 0x2545F491
LINE_MASK = 7                      # models 1 and 3 keep a context's slots in 8 counters
MASK32 = 0xFFFF_FFFF
PROBABILITY_ONE = 1 << 16          # a counter's p is P(bit = 1) * 2^16, from 1 to 65535
PROBABILITY_START = 1 << 15
COUNT_LIMIT = 60                   # the step toward each bit falls to 1 / (COUNT_LIMIT + 2)
RECIPROCALS = [PROBABILITY_ONE // (n + 2) for n in range(COUNT_LIMIT + 1)]
MIXER_INPUTS = MODEL_COUNT + 1     # and a bias
MIXER_SETS = SLOT_COUNT * MATCH_STATES
BIAS_INPUT = 256
WEIGHT_START = 1 << 14             # 0.25 in 16-bit fixed point; the bias's starts at 0
WEIGHT_LIMIT = 1 << 20             # weights stay within +-16.0
MIXER_RATE = 6
MIXER_SHIFT = 14

# --- Ranks (5.3.5) -----------------------------------------------------------------------
MAX_BUCKET = 9                     # sizes the 8 unary steps; rank + 1 <= 256: buckets 1-9
RANK_SPREAD = 8
ACTIVITY_LEVELS = 8
UNARY_CONTEXTS = (MAX_BUCKET - 1) * RANK_SPREAD * ACTIVITY_LEVELS
RANK_CONTEXTS = 2 * UNARY_CONTEXTS
RANK_STEPS = 72                    # 8 unary bits, then 8 buckets x 8 bit positions
RANK_INPUTS = 6                    # the rank counter, two hashed, by gradients, by anchor; a bias
RANK_WEIGHT_START = 21845          # about 1/3 in 16-bit fixed point; the bias's starts at 0
RANK_NEAR_LIMIT = 15

# --- Flat pixels: L, U, UL and UR one index (5.3.4) --------------------------------------
FLAT_PATTERN = 0b1111              # pattern bits L == U, L == UL, U == UR, U == UL
FLAT_INPUTS = 4                    # model 0's counter, by (state, L), by (L, LL, UU); bias
FLAT_VALUE_CONTEXTS = MATCH_STATES * 256
FLAT_HASH_BITS = 12
FLAT_WEIGHT_START = 21845          # about 1/3 in 16-bit fixed point; the bias's starts at 0

# --- Spans: from a flat pixel, the pixels that stay flat if they are L's index (5.3.4) ---
# A span of n >= 2 pixels takes one decision, "are all n the index v?", and, where they
# are not, one bit a pixel up to the first that is not v: no match lookup, no hashed
# table, no mixer for the pixels of a span. On 34 images at k = 16, 256 and 16 dithered,
# bodies 0.976x, 0.987x and 0.993x by geometric mean (a noisy sky 1.5-1.8% larger, the
# worst; gradients and charts 3-20% smaller); on the 16.8-MP renders 0.82-1.009x, their
# decodes 0.66-0.98x the time (benchmarks/README.md).
SPAN_BUCKETS = 16                  # a span of n pixels is in bucket min(bit_length(n), 15)
SPAN_MATCH_STATES = 3              # no match; it says v over the whole span; it does not
SPAN_DIRECT_CONTEXTS = SPAN_BUCKETS * SPAN_MATCH_STATES * 4
SPAN_VALUE_CONTEXTS = SPAN_BUCKETS * 256
SPAN_INPUTS = 4                    # by (bucket, match, LL, UU row), by (bucket, v),
#                                    by hash12(v, E, bucket); a bias
SPAN_WEIGHT_START = 21845          # about 1/3 in 16-bit fixed point; the bias's starts at 0
SPAN_END_LIMIT = 3                 # a span pixel's distance to the span's last, capped
SPAN_PIXEL_CONTEXTS = SPAN_BUCKETS * 2 * (SPAN_END_LIMIT + 1) * 2 * SPAN_MATCH_STATES
NO_END = 256                       # E of a span that reaches the row's end
ROW_REPEAT_CONTEXTS = 2            # a row repeat's counter, by whether the row before repeated

# --- Bias correction of the anchor's prediction (5.3.5) ----------------------------------
GRADIENT_LEVELS = 9                # each of three gradients, signed, in 9 levels
GRADIENT_STEPS = (3, 7, 21)        # per channel: |g| below these is level 1, 2, 3; else 4
BIAS_CONTEXTS = GRADIENT_LEVELS ** 3
BIAS_COUNT_LIMIT = 64              # at this count, a context's error sum and count halve
BIAS_LIMIT = 127                   # the correction stays within +-BIAS_LIMIT
BIAS_SHARE = 8                     # corrected while at least 1 pixel in 8 took a rank
# B, N, C, then E_med, E_average, E_extrapolated, E_gradient of a context and channel
BIAS_START = (0, 1, 0, 0, 0, 0, 0)
BIAS_VALUES = len(BIAS_START)
PREDICTORS = 4                     # MED, average, extrapolated, gradient: blended (5.3.5)
BLEND_WEIGHT_ONE = 1 << 52         # a predictor's weight is this over (E + 1)^3

# --- Logistic tables (5.3.6) -------------------------------------------------------------
# round(4096 / (1 + exp(-(i - 16) / 2))) for i = 0..32, written out so that no float
# arithmetic is involved.
SQUASH_KNOTS = [1, 2, 4, 6, 10, 17, 27, 45, 74, 120, 194, 311, 488, 747, 1102, 1546, 2048,
                2550, 2994, 3349, 3608, 3785, 3902, 3976, 4022, 4051, 4069, 4079, 4086, 4090,
                4092, 4094, 4095]


def squash(d: int) -> int:
    """The 12-bit probability of a logit ``d`` in 1/256 units (clamped to +-2047)."""
    d = min(max(d, -2047), 2047)
    t = d + 2048
    i, w = t >> 7, t & 127
    return (SQUASH_KNOTS[i] * (128 - w) + SQUASH_KNOTS[i + 1] * w + 64) >> 7


def _stretch_table() -> list[int]:
    """STRETCH[p] is the least d in -2047..2047 with squash(d) >= p, else 2047.

    squash rises with d, so this is a search in its 4095 values, done with numpy: the
    pure-Python loop cost a few ms of every run's start-up."""
    t = np.arange(1, 4096)  # d + 2048 for d = -2047..2047
    knots = np.array(SQUASH_KNOTS)
    i, w = t >> 7, t & 127
    squashed = (knots[i] * (128 - w) + knots[i + 1] * w + 64) >> 7
    first = np.searchsorted(squashed, np.arange(4096), side="left")
    return (np.minimum(first, len(t) - 1) - 2047).tolist()


STRETCH = _stretch_table()

# --- The rank bits' adaptive probability map (5.3.5) -------------------------------------
APM_CELLS = 33                     # a row's cells: the mixer's logit at -2048, -1920 ... 2048
APM_START = tuple(knot * 16 for knot in SQUASH_KNOTS)  # each row starts as squash, 16-bit
APM_RATE = 6                       # a cell moves 1/64 of the way to the bit


def stripe_height_for(width: int, height: int,
                      stripe_pixels: int | None = TARGET_STRIPE_PIXELS) -> int:
    """Rows per stripe: about ``stripe_pixels`` pixels (None: the whole image), at least
    one row."""
    most_rows = MAX_STRIPE_PIXELS // width
    if most_rows == 0:
        raise ParameterError(f"an image {width} pixels wide is too wide for method cm "
                             f"(a stripe holds at most {MAX_STRIPE_PIXELS} pixels)",
                             field="method")
    if stripe_pixels is None:
        return min(height, most_rows)
    return max(1, min(height, most_rows, stripe_pixels // width))


def stripe_rows(height: int, stripe_height: int) -> list[tuple[int, int]]:
    """(first row, row count) of every stripe."""
    return [(top, min(stripe_height, height - top)) for top in range(0, height, stripe_height)]


# --- The palette's tables (5.3.5) --------------------------------------------------------
def unit_weights(palette: np.ndarray) -> tuple[int, ...]:
    """Every channel of uint8 (K, channels) ``palette`` weighed 1: plain squared distance."""
    return (1,) * palette.shape[1]


def colour_distances(palette: np.ndarray, weights: Sequence[int]) -> np.ndarray:
    """int64 (K, K): [a, b] is the weighted squared distance d(a, b) of 5.3.5 between
    colours a and b of uint8 (K, channels) ``palette``; ``weights`` a channel_weight per
    channel."""
    colours = palette.astype(np.int64)
    return ((colours[:, None, :] - colours[None, :, :]) ** 2
            * np.asarray(weights, np.int64)).sum(axis=2)


def colour_order(distances: np.ndarray) -> np.ndarray:
    """uint8 (K, K): row a lists every index by distance from colour a, ties to the lower
    index. ``distances`` is ``colour_distances``'."""
    return np.argsort(distances, axis=1, kind="stable").astype(np.uint8)


def ordered_distances(distances: np.ndarray, order: np.ndarray) -> np.ndarray:
    """uint32 (K, K): [a, j] is the distance from colour a to colour order[a, j]."""
    return np.take_along_axis(distances, order.astype(np.intp), axis=1).astype(np.uint32)


def colour_ranks(order: np.ndarray) -> np.ndarray:
    """uint8 (K, K), the inverse of ``colour_order``: ranks[a, b] is b's place in row a."""
    ranks = np.empty_like(order)
    rows = np.arange(order.shape[0])[:, None]
    ranks[rows, order] = np.arange(order.shape[1], dtype=np.uint8)[None, :]
    return ranks


class PaletteTables:
    """What the model reads of the palette: its colours as tuples, the channel weights,
    order, ranks and the distances along each order as lists of lists (fast to index in
    pure Python). ``weights`` defaults to ``unit_weights``."""

    def __init__(self, palette: np.ndarray, weights: Sequence[int] | None = None) -> None:
        self.weights = tuple(weights) if weights is not None else unit_weights(palette)
        distances = colour_distances(palette, self.weights)
        order = colour_order(distances)
        self.size, self.channels = palette.shape
        self.colours = [tuple(int(v) for v in colour) for colour in palette]
        self.order = order.tolist()
        self.ranks = colour_ranks(order).tolist()
        self.distances = ordered_distances(distances, order).tolist()


# --- Binary arithmetic coder (5.3.7) -----------------------------------------------------
class Encoder:
    """Carry-less binary arithmetic coder: ``code(p, bit)`` codes a bit of P(1) = p/4096."""

    def __init__(self) -> None:
        self.low, self.high = 0, MASK32
        self.out = bytearray()

    def code(self, p: int, bit: int | None) -> int:
        mid = self.low + ((self.high - self.low) >> 12) * p
        if bit:
            self.high = mid
        else:
            self.low = mid + 1
        while ((self.low ^ self.high) & 0xFF00_0000) == 0:
            self.out.append(self.high >> 24)
            self.low = (self.low << 8) & MASK32
            self.high = ((self.high << 8) & MASK32) | 0xFF
        return 1 if bit else 0

    def finish(self) -> bytes:
        """The coded bytes: those shifted out, then the four bytes of ``low``."""
        return bytes(self.out) + self.low.to_bytes(CODER_FINAL_BYTES, "big")


class Decoder:
    """The decoder of ``Encoder``. Reads past the data's end give 0; ``read`` counts every
    byte read, so that a decoder can check it ended exactly at the data's end."""

    def __init__(self, data: bytes | memoryview) -> None:
        self.data, self.read = data, 0
        self.low, self.high, self.x = 0, MASK32, 0
        for _ in range(4):
            self.x = (self.x << 8) | self._next()

    def _next(self) -> int:
        byte = self.data[self.read] if self.read < len(self.data) else 0
        self.read += 1
        return byte

    def code(self, p: int, bit: int | None = None) -> int:
        mid = self.low + ((self.high - self.low) >> 12) * p
        if self.x <= mid:
            self.high, bit = mid, 1
        else:
            self.low, bit = mid + 1, 0
        while ((self.low ^ self.high) & 0xFF00_0000) == 0:
            self.low = (self.low << 8) & MASK32
            self.high = ((self.high << 8) & MASK32) | 0xFF
            self.x = ((self.x << 8) & MASK32) | self._next()
        return bit


# --- The model (5.3.2 - 5.3.6) -----------------------------------------------------------
def hash_values(values: Sequence[int], bits: int = HASH_BITS) -> int:
    """A ``bits``-bit table index for a tuple of small integers (5.3.2)."""
    h = HASH_START
    for v in values:
        h = ((h ^ v) * HASH_MULTIPLIER) & MASK32
    return h >> (32 - bits)


def counter_update(p: int, n: int, bit: int) -> tuple[int, int]:
    """A counter's (p, n) after a bit: p moves toward it by about 1 / (n + 2)."""
    r = RECIPROCALS[n]
    if bit:
        p += ((PROBABILITY_ONE - p) * r) >> 16
    else:
        p -= (p * r) >> 16
    return p, min(n + 1, COUNT_LIMIT)


class StripeModel:
    """Every table one stripe's coder learns, fresh at the stripe's start; with
    ``table_shrink`` t, models 1 to 3 and the match use the first 2^(HASH_BITS - t)
    entries of their tables (``table_mask``)."""

    def __init__(self, channels: int, table_shrink: int = 0) -> None:
        size = 1 << HASH_BITS
        self.table_mask = (1 << (HASH_BITS - table_shrink)) - 1
        lengths = [DIRECT_CONTEXTS] + [size] * 3 + [ANCHOR_CONTEXTS]
        self.p = [[PROBABILITY_START] * length for length in lengths]
        self.n = [[0] * length for length in lengths]
        self.weights = [[WEIGHT_START] * MODEL_COUNT + [0] for _ in range(MIXER_SETS)]
        self.match_position = [-1] * size  # -1: empty
        self.match_pointer = 0  # the pixel the match predicts from, while match_length > 0
        self.match_length = 0
        self.row_position = [-1] * (1 << ROW_MATCH_BITS)
        self.row_pointer = 0  # likewise for the row match
        self.row_length = 0
        self.rank_p = [PROBABILITY_START] * RANK_CONTEXTS
        self.rank_map = [list(APM_START) for _ in range(RANK_CONTEXTS)]  # by rank context
        self.rank_n = [0] * RANK_CONTEXTS
        self.rank_weights = [[RANK_WEIGHT_START] * (RANK_INPUTS - 1) + [0]
                             for _ in range(RANK_STEPS)]
        # Per bias context and channel: the error sum B, count N and correction C, and
        # the four predictors' absolute error sums (5.3.5).
        self.bias = [[list(BIAS_START) for _ in range(channels)]
                     for _ in range(BIAS_CONTEXTS)]
        self.ranked = 0  # pixels of the stripe coded by rank so far
        self.gradient_rank_p = [PROBABILITY_START] * (RANK_STEPS * BIAS_CONTEXTS)
        self.gradient_rank_n = [0] * (RANK_STEPS * BIAS_CONTEXTS)
        self.flat_p = [[PROBABILITY_START] * FLAT_VALUE_CONTEXTS,
                       [PROBABILITY_START] * (1 << FLAT_HASH_BITS)]
        self.flat_n = [[0] * FLAT_VALUE_CONTEXTS, [0] * (1 << FLAT_HASH_BITS)]
        self.flat_weights = [[FLAT_WEIGHT_START] * (FLAT_INPUTS - 1) + [0]
                             for _ in range(MATCH_STATES)]
        span_lengths = (SPAN_DIRECT_CONTEXTS, SPAN_VALUE_CONTEXTS, 1 << FLAT_HASH_BITS)
        self.span_p = [[PROBABILITY_START] * length for length in span_lengths]
        self.span_n = [[0] * length for length in span_lengths]
        self.span_weights = [[SPAN_WEIGHT_START] * (SPAN_INPUTS - 1) + [0]
                             for _ in range(SPAN_BUCKETS)]
        self.span_pixel_p = [PROBABILITY_START] * SPAN_PIXEL_CONTEXTS
        self.span_pixel_n = [0] * SPAN_PIXEL_CONTEXTS
        self.row_repeat_p = [PROBABILITY_START] * ROW_REPEAT_CONTEXTS
        self.row_repeat_n = [0] * ROW_REPEAT_CONTEXTS

    def code_candidate(self, coder, bit: int | None, contexts: list[int], mixer: int) -> int:
        """One "is it this candidate?" decision through the five models and the mixer."""
        counters = [(self.p[m], self.n[m], contexts[m] & self.table_mask if 1 <= m <= 3
                     else contexts[m]) for m in range(MODEL_COUNT)]
        return mix_and_code(coder, bit, counters, self.weights[mixer])

    def code_flat(self, coder, bit: int | None, near: tuple[int, ...], state: int,
                  pattern: int) -> int:
        """A flat pixel's "is it L?": model 0's counter and two counters in small tables,
        by (match state, L) and by hash (L, LL, UU), mixed by the state's weights."""
        by_neighbours = hash_values((near[0], near[4], near[5]), FLAT_HASH_BITS)
        counters = [(self.p[0], self.n[0], state * PATTERN_COUNT + pattern),
                    (self.flat_p[0], self.flat_n[0], state * 256 + near[0]),
                    (self.flat_p[1], self.flat_n[1], by_neighbours)]
        return mix_and_code(coder, bit, counters, self.flat_weights[state])

    def code_whole_span(self, coder, bit: int | None, contexts: tuple[int, int, int],
                        bucket: int) -> int:
        """A span's "are all its pixels v?": three counters mixed by the bucket's weights."""
        counters = [(p, n, c) for p, n, c in zip(self.span_p, self.span_n, contexts,
                                                  strict=True)]
        return mix_and_code(coder, bit, counters, self.span_weights[bucket])

    def code_span_pixel(self, coder, bit: int | None, context: int) -> int:
        """A span pixel's "is it v?": one counter, no mixer."""
        return code_counted(coder, bit, self.span_pixel_p, self.span_pixel_n, context)

    def code_row_repeat(self, coder, bit: int | None, context: int) -> int:
        """A row's "does it repeat the row uu_rows up?": one counter, no mixer."""
        return code_counted(coder, bit, self.row_repeat_p, self.row_repeat_n, context)

    def code_rank_bit(self, coder, bit: int | None, contexts: list[int], step: int) -> int:
        """One bit of a rank: the rank counter, two hashed counters in the tables of
        models 1 and 3, a counter by step and bias context and a hashed one in model 2's
        table, mixed by the step's weights."""
        tables = [(self.rank_p, self.rank_n), (self.p[1], self.n[1]), (self.p[3], self.n[3]),
                  (self.gradient_rank_p, self.gradient_rank_n), (self.p[2], self.n[2])]
        counters = [(p, n, c & self.table_mask if hashed else c) for (p, n), c, hashed
                    in zip(tables, contexts, RANK_COUNTER_HASHED, strict=True)]
        return mix_and_code(coder, bit, counters, self.rank_weights[step],
                            self.rank_map[contexts[0]])


def code_counted(coder, bit: int | None, p: list[int], n: list[int], context: int) -> int:
    """Code a bit with counter ``context`` of tables ``p`` and ``n`` alone, no mixer (its
    p >> 4, clamped to 1 to 4095), then let the counter learn it."""
    bit = coder.code(min(max(p[context] >> 4, 1), 4095), bit)
    p[context], n[context] = counter_update(p[context], n[context], bit)
    return bit


def mix_and_code(coder, bit: int | None, counters: list[tuple[list, list, int]],
                 weights: list[int], cells: list[int] | None = None) -> int:
    """Code a bit with the counters' predictions mixed by ``weights`` (5.3.4), and, for a
    rank bit, refined by a row of the probability map (``cells``, 5.3.5); then let the
    weights, the counters and the map learn it. ``counters``: (p table, n table, index)."""
    inputs = [STRETCH[p[c] >> 4] for p, _, c in counters]
    inputs.append(BIAS_INPUT)
    dot = 0
    for w, s in zip(weights, inputs, strict=True):
        dot += w * s
    p = min(max(squash(dot >> 16), 1), 4095)
    bit = coder.code(p, bit) if cells is None else code_mapped(coder, bit, p, cells)
    error = ((bit << 12) - p) * MIXER_RATE
    for i, s in enumerate(inputs):
        weights[i] = min(max(weights[i] + ((s * error) >> MIXER_SHIFT), -WEIGHT_LIMIT),
                         WEIGHT_LIMIT)
    for probabilities, counts, c in counters:
        probabilities[c], counts[c] = counter_update(probabilities[c], counts[c], bit)
    return bit


def code_mapped(coder, bit: int | None, p: int, cells: list[int]) -> int:
    """Code a bit with the mean of the mixer's ``p`` and the map row's ``cells``
    interpolated at p's logit, then move the nearer cell toward the bit (5.3.5)."""
    t = STRETCH[p] + 2048
    low, w = t >> 7, t & 127
    mapped = (cells[low] * (128 - w) + cells[low + 1] * w) >> 11
    bit = coder.code(min(max((p + mapped) >> 1, 1), 4095), bit)
    nearer = low if w < 64 else low + 1
    cells[nearer] += ((bit << 16) - cells[nearer]) >> APM_RATE
    return bit


def line_index(values: Sequence[int], within: int) -> int:
    """Entry ``within`` (0 to 7) of the line of 8 counters that ``values`` hash to: the
    slots of a candidate context, or the unary steps of a rank context, share one cache
    line (5.3.4, 5.3.5)."""
    return (hash_values(values) & ~LINE_MASK) + within


def rank_contexts(direct: int, step: int, partial: int, anchor: int,
                  near_ranks: tuple[int, int, int], gradients: int) -> list[int]:
    """The five contexts of a rank bit; ``partial`` is the value's bits so far (0 for a
    unary bit, and not used there), ``near_ranks`` where U, L and UR lie in the anchor's
    order (capped), ``gradients`` the pixel's bias context. The last, by the anchor and
    the bits so far alone, learns a colour's own spread where neighbours are noise."""
    by_gradients = step * BIAS_CONTEXTS + gradients
    if step < MAX_BUCKET - 1:
        return [direct, line_index((5, near_ranks[0], near_ranks[1]), step),
                line_index((6, anchor, near_ranks[2]), step), by_gradients,
                line_index((8, anchor), step)]
    return [direct, hash_values((5, step, near_ranks[0], near_ranks[1])),
            hash_values((6, step, anchor, partial, near_ranks[2])), by_gradients,
            hash_values((8, step, anchor, partial))]


def neighbours(rows: list[bytearray], yy: int, x: int, width: int,
               uu_offset: tuple[int, int] = TWO_UP) -> tuple[int, ...]:
    """(L, U, UR, UL, LL, UU) of pixel x in stripe row yy, with the edge rules of 5.3.2;
    UU is the pixel ``uu_offset`` (uu_rows, uu_shift) away."""
    row = rows[yy]
    above = rows[yy - 1] if yy >= 1 else None
    u = above[x] if above is not None else row[x - 1] if x >= 1 else 0
    left = row[x - 1] if x >= 1 else u
    up_right = above[x + 1] if above is not None and x + 1 < width else u
    up_left = above[x - 1] if above is not None and x >= 1 else u
    left2 = row[x - 2] if x >= 2 else left
    uu_rows, uu_shift = uu_offset
    uu_x = x + uu_shift
    up2 = rows[yy - uu_rows][uu_x] if yy >= uu_rows and 0 <= uu_x < width else u
    return left, u, up_right, up_left, left2, up2


def wide_template(rows: list[bytearray], yy: int, x: int, width: int) -> tuple[int, ...]:
    """The indices at WIDE_TEMPLATE of pixel x in stripe row yy, OUTSIDE_TEMPLATE off the
    stripe (5.3.3): a STRIPE_CODED_WIDE stripe keys its match and model 3 by them."""
    return tuple(rows[yy - dy][x + dx] if yy >= dy and 0 <= x + dx < width
                 else OUTSIDE_TEMPLATE for dx, dy in WIDE_TEMPLATE)


def far_neighbours(rows: list[bytearray], yy: int, x: int, width: int,
                   near: tuple[int, ...]) -> tuple[int, ...]:
    """(UUL, UUR, ULL, URR, LLL, UULL, UURR, UUU) of pixel x in stripe row yy, for the
    smooth prediction (5.3.5): each outside the stripe or the row takes the value of a
    nearer one (UL, UR, UL, UR, LL, UUL, UUR, UU), as the six neighbours do (5.3.2)."""
    row = rows[yy]
    above = rows[yy - 1] if yy >= 1 else None
    above2 = rows[yy - 2] if yy >= 2 else None
    up_right, up_left, left2, up2 = near[2], near[3], near[4], near[5]
    up2_left = above2[x - 1] if above2 is not None and x >= 1 else up_left
    up2_right = above2[x + 1] if above2 is not None and x + 1 < width else up_right
    return (up2_left, up2_right,
            above[x - 2] if above is not None and x >= 2 else up_left,
            above[x + 2] if above is not None and x + 2 < width else up_right,
            row[x - 3] if x >= 3 else left2,
            above2[x - 2] if above2 is not None and x >= 2 else up2_left,
            above2[x + 2] if above2 is not None and x + 2 < width else up2_right,
            rows[yy - 3][x] if yy >= 3 else up2)


def pattern_of(near: tuple[int, ...]) -> int:
    """The 6-bit equality pattern of the neighbours (5.3.2)."""
    left, u, up_right, up_left, left2, up2 = near
    return ((left == u) | (left == up_left) << 1 | (u == up_right) << 2
            | (u == up_left) << 3 | (left == left2) << 4 | (u == up2) << 5)


def code_stripe(coder, rows: list[bytearray], width: int, tables: PaletteTables,
                model: StripeModel, encoding: bool, mode: int = STRIPE_CODED,
                uu_offset: tuple[int, int] = TWO_UP) -> None:
    """Code the indices of one stripe (``encoding``), or decode them into ``rows``.

    ``rows`` are bytearrays of ``width`` indices (a decoder's start zeroed); ``mode`` is
    the stripe's coded mode (``CODED_MODES``), ``uu_offset`` its (uu_rows, uu_shift);
    ``model`` holds the stripe's table_shrink. A
    decoder raises ``FormatError`` (field cm_rank) for a rank past the colours left.
    """
    ranks_only, smooth = mode in RANKS_MODES, mode in SMOOTH_MODES
    wide = mode == STRIPE_CODED_WIDE
    uu_rows, uu_shift = uu_offset
    # One colour codes no bit at all (5.3.4), row bits included.
    row_repeats = mode == STRIPE_CODED_UU and uu_shift == 0 and tables.size > 1
    repeated = 0
    for yy, row in enumerate(rows):
        if row_repeats and yy >= uu_rows:
            repeated = model.code_row_repeat(
                coder, int(row == rows[yy - uu_rows]) if encoding else None, repeated)
            if not encoding:
                check_read(coder)
            if repeated:
                row[:] = rows[yy - uu_rows]
                model.match_length = model.row_length = 0  # a repeated row teaches nothing
                continue
        above_run = [NO_RUN_VALUE, 0, 0]
        x = 0
        while x < width:
            near = neighbours(rows, yy, x, width, uu_offset)
            pattern = pattern_of(near)
            not_left = False  # a span's pixel that is not v: L takes no bit
            if pattern & FLAT_PATTERN == FLAT_PATTERN and tables.size > 1:
                length = span_length(rows, yy, x, width, near[0], above_run)
                if length >= 2:
                    run = code_span(coder, model, rows, yy, x, length, near[0], pattern,
                                    encoding, uu_offset)
                    if not encoding:
                        check_read(coder)
                    if run == length:
                        x += length
                        continue
                    if run:
                        x += run
                        near = neighbours(rows, yy, x, width, uu_offset)
                        pattern = pattern_of(near)
                    not_left = True
            key = wide_key = hash_values((4, *near)) & model.table_mask
            model_3_values = near
            if wide:
                template = wide_template(rows, yy, x, width)
                wide_key = hash_values((WIDE_KEY_TAG, *template)) & model.table_mask
                if tables.size == 2:  # the template's pixels are bits, as in JBIG's
                    model_3_values = template
            if model.match_length == 0:  # the wide key's entry first, else the six's
                for entry in (wide_key, key):
                    if model.match_position[entry] >= 0:
                        model.match_pointer = model.match_position[entry]
                        model.match_length = 1
                        break
            count = min(model.match_length - 1, MATCH_COUNT_LIMIT)  # -1: no prediction
            pointer = model.match_pointer
            predicted = rows[pointer // width][pointer % width] if count >= 0 else -1
            row_key = row_match_key(row, x)
            if row_key >= 0 and model.row_length == 0 and model.row_position[row_key] >= 0:
                model.row_pointer, model.row_length = model.row_position[row_key], 1
            row_predicted = rows[model.row_pointer // width][model.row_pointer % width] \
                if model.row_length else -1
            anchor = -1  # the MED anchor, found when first needed (a flat pixel's L is not)
            candidates: list[tuple[int, int]] = []
            for slot, value in enumerate((*near, predicted, row_predicted)):
                if value >= 0 and all(value != c for _, c in candidates):
                    candidates.append((slot, value))
            if ranks_only and pattern & FLAT_PATTERN != FLAT_PATTERN:
                candidates = []
            actual = row[x] if encoding else None
            found = -1
            for j, (slot, value) in enumerate(candidates):
                if j == len(candidates) - 1 and len(candidates) == tables.size:
                    found = value  # every colour is a candidate: the last needs no bit
                    break
                state = candidate_state(slot, value, count, predicted, model.row_length)
                bit = None if actual is None else int(actual == value)
                if j == 0 and not_left:
                    continue
                if j == 0 and pattern & FLAT_PATTERN == FLAT_PATTERN:
                    if model.code_flat(coder, bit, near, state, pattern):
                        found = value
                        break
                    continue
                if anchor < 0:
                    anchor = med_anchor(near, tables)
                places = tables.ranks[anchor]
                contexts = [(slot * MATCH_STATES + state) * PATTERN_COUNT + pattern,
                            line_index((1, near[0], near[1]), slot),
                            hash_values((2, slot, value, pattern)),
                            line_index((3, *model_3_values), slot),
                            (slot * ANCHOR_PLACES + min(places[value], ANCHOR_PLACES - 1))
                            * PATTERN_COUNT + pattern]
                if model.code_candidate(coder, bit, contexts, slot * MATCH_STATES + state):
                    found = value
                    break
            if found < 0:
                far = far_neighbours(rows, yy, x, width, near) if smooth else None
                found = code_rank(coder, model, actual, near, [c for _, c in candidates],
                                  tables, anchor if anchor >= 0 else med_anchor(near, tables),
                                  yy * width + x, far)
            row[x] = found
            if not encoding:
                check_read(coder)
            if count >= 0 and predicted == found:  # follow the match to the next pixel
                model.match_length = min(model.match_length + 1, MATCH_COUNT_LIMIT + 1)
                model.match_pointer += 1
            else:
                model.match_length = 0
            model.match_position[key] = model.match_position[wide_key] = yy * width + x
            if model.row_length and row_predicted == found:
                model.row_length = min(model.row_length + 1, MATCH_COUNT_LIMIT + 1)
                model.row_pointer += 1
            else:
                model.row_length = 0
            if row_key >= 0:
                model.row_position[row_key] = yy * width + x
            x += 1


def check_read(coder: Decoder) -> None:
    """Stop once the coder has read past its data's end (rule 28), before decoding more
    pixels: a small file must not make the decoder run through a huge image."""
    if coder.read > len(coder.data):
        raise FormatError("a cm stripe's coder read past its data", field="cm_data")


def span_length(rows: list[bytearray], yy: int, x: int, width: int, value: int,
                run: list[int]) -> int:
    """How many pixels from flat pixel x of stripe row yy would be flat were they all
    ``value`` (L's index): to the row's end in the stripe's first row, else while the row
    above is ``value`` up to the column after theirs (5.3.4): the columns from x + 2 up to
    the first whose index above is not ``value`` (the last column's own counts as it).
    ``run``, [value, from, end] kept for the row (value 256 at its start), keeps the end
    found, so that the next span of the same value starting before it reads no column
    again: many short spans over a long run above were quadratic in the width."""
    if yy == 0:
        return width - x
    above = rows[yy - 1]
    start = x + 2
    if value != run[0] or start < run[1] or start > run[2]:
        end = start
        while end < width and above[end] == value:
            end += 1
        run[:] = [value, start, end if end < width else width + 1]
    return run[2] - x - 1


def span_contexts(rows: list[bytearray], yy: int, x: int, length: int, bucket: int,
                  value: int, pattern: int, match: int, uu_offset: tuple[int, int] = TWO_UP
                  ) -> tuple[int, int, int]:
    """The three counters' contexts of a span's first decision (5.3.4): ``uu_offset`` places
    the pixels above_two reads, from UU's of the span's column before to its column after."""
    width = len(rows[yy])
    end = rows[yy - 1][x + length + 1] if x + length < width else NO_END
    uu_rows, uu_shift = uu_offset
    above_two = yy < uu_rows or all(
        v == value for v in rows[yy - uu_rows][max(x - 1 + uu_shift, 0):
                                                 max(min(x + length + 1 + uu_shift, width), 0)])
    return ((bucket * SPAN_MATCH_STATES + match) * 4 + above_two * 2 + (pattern >> 4 & 1),
            bucket * 256 + value, hash_values((value, end, bucket), FLAT_HASH_BITS))


def code_span(coder, model: StripeModel, rows: list[bytearray], yy: int, x: int,
              length: int, value: int, pattern: int, encoding: bool,
              uu_offset: tuple[int, int] = TWO_UP) -> int:
    """Code the span of ``length`` pixels from x, ``value`` being L's index (5.3.4).
    Returns how many of them, from the first, are ``value`` (``length``: all; fewer: the
    next is not). A decoder gets them written into ``rows``; the matches follow them."""
    row, width = rows[yy], len(rows[yy])
    run = length
    if encoding:
        run = 0
        while run < length and row[x + run] == value:
            run += 1
    bucket = min(length.bit_length(), SPAN_BUCKETS - 1)
    # The first pixel where the match does not say value (length: it says value all along).
    agree = match_agreement(rows, model.match_pointer, yy * width + x, length, value) \
        if model.match_length else None
    match = 0 if agree is None else 1 if agree == length else 2
    contexts = span_contexts(rows, yy, x, length, bucket, value, pattern, match, uu_offset)
    if not model.code_whole_span(coder, int(run == length) if encoding else None, contexts,
                                 bucket):
        run = code_span_pixels(coder, model, rows, yy, x, length, bucket, value, agree,
                               run if encoding else None, uu_offset)
    if not encoding:
        row[x:x + run] = bytes([value]) * run
    if run:
        follow_matches(model, rows, width, run, value)
    return run


def match_agreement(rows: list[bytearray], pointer: int, start: int, length: int,
                    value: int) -> int:
    """How many pixels from ``pointer`` on have index ``value``, up to ``length``; a pixel
    at or past ``start`` (the span's first, not yet known to a decoder) counts as one."""
    width = len(rows[0])
    agree = 0
    while agree < length and (pointer + agree >= start or
                              rows[(pointer + agree) // width][(pointer + agree) % width]
                              == value):
        agree += 1
    return agree


def code_span_pixels(coder, model: StripeModel, rows: list[bytearray], yy: int, x: int,
                     length: int, bucket: int, value: int, agree: int | None,
                     run: int | None, uu_offset: tuple[int, int] = TWO_UP) -> int:
    """A span that is not all ``value``: one bit a pixel, "is it value?", up to the first
    that is not; the last pixel takes none. Returns how many are ``value``. ``agree`` is
    the match's agreement (None: no match); ``run`` the encoder's answer (None decoding);
    ``uu_offset`` places each pixel's UU."""
    uu_rows, uu_shift = uu_offset
    width = len(rows[yy])
    for i in range(length - 1):
        uu_x = x + i + uu_shift
        above_two = yy < uu_rows or not 0 <= uu_x < width or \
            rows[yy - uu_rows][uu_x] == value
        says = 0 if agree is None else 2 if i == agree else 1
        context = ((((bucket * 2 + above_two) * (SPAN_END_LIMIT + 1)
                     + min(length - 1 - i, SPAN_END_LIMIT)) * 2 + (i == 0))
                   * SPAN_MATCH_STATES + says)
        if not model.code_span_pixel(coder, None if run is None else int(i < run), context):
            return i
    return length - 1


def follow_matches(model: StripeModel, rows: list[bytearray], width: int, run: int,
                   value: int) -> None:
    """After ``run`` pixels of a span, all ``value``: a match goes on where it predicted
    each of them, else ends (5.3.4)."""
    def follows(pointer: int) -> bool:
        return all(rows[(pointer + i) // width][(pointer + i) % width] == value
                   for i in range(run))

    if model.match_length and follows(model.match_pointer):
        model.match_pointer += run
        model.match_length = min(model.match_length + run, MATCH_COUNT_LIMIT + 1)
    else:
        model.match_length = 0
    if model.row_length and follows(model.row_pointer):
        model.row_pointer += run
        model.row_length = min(model.row_length + run, MATCH_COUNT_LIMIT + 1)
    else:
        model.row_length = 0


def row_match_key(row: bytearray, x: int) -> int:
    """The row match's table entry for column ``x`` of ``row`` (its ROW_MATCH_WIDTH
    indices to the left), or -1 at a column where it is not looked up (5.3.3)."""
    if x < ROW_MATCH_WIDTH or x % ROW_MATCH_STEP != ROW_MATCH_WIDTH % ROW_MATCH_STEP:
        return -1
    return hash_values((7, *row[x - ROW_MATCH_WIDTH:x]), ROW_MATCH_BITS)


def candidate_state(slot: int, value: int, count: int, predicted: int,
                    row_length: int) -> int:
    """A candidate's match state (5.3.4): the row match's length for R; else 0 with no
    match prediction, 1-4 by the match's length where the candidate is M, 5-8 where not."""
    if slot == SLOT_R:
        return row_length
    if count < 0:
        return 0
    return 1 + min(count, MATCH_COUNT_LIMIT) + (0 if value == predicted else 4)


def med_prediction(near: tuple[int, ...], tables: PaletteTables) -> list[int]:
    """Per channel, the MED prediction from the colours of L, U and UL (5.3.5)."""
    left, u, up_left = tables.colours[near[0]], tables.colours[near[1]], \
        tables.colours[near[3]]
    predicted = []
    for a, b, corner in zip(left, u, up_left, strict=True):
        if corner >= max(a, b):
            predicted.append(min(a, b))
        elif corner <= min(a, b):
            predicted.append(max(a, b))
        else:
            predicted.append(a + b - corner)
    return predicted


def weighted_distance(colour: Sequence[int], predicted: Sequence[int],
                      weights: Sequence[int]) -> int:
    """The sum over channels of weight x squared difference (5.3.5)."""
    return sum(w * (c - q) ** 2 for c, q, w in zip(colour, predicted, weights, strict=True))


def nearest_colour(predicted: list[int], left: int, tables: PaletteTables) -> int:
    """The colour nearest ``predicted`` by weighted squared distance; ties to the one
    first in L's order (5.3.5).

    L's order lists colours by distance from L, so the walk stops where the triangle
    inequality says none can be nearer: sqrt(d(L, v)) > sqrt(best) + sqrt(d(L, q)),
    tested in integers with a margin (isqrt is at most 1 below sqrt)."""
    weights = tables.weights
    reach = math.isqrt(weighted_distance(tables.colours[left], predicted, weights))
    best, anchor, bound = -1, left, -1
    for v, from_left in zip(tables.order[left], tables.distances[left], strict=True):
        if 0 <= bound <= math.isqrt(from_left):
            break
        d = weighted_distance(tables.colours[v], predicted, weights)
        if best < 0 or d < best:
            best, anchor = d, v
            bound = math.isqrt(best) + reach + 2
    return anchor


def med_anchor(near: tuple[int, ...], tables: PaletteTables) -> int:
    """The colour nearest the MED prediction (5.3.5). Where two of L, U and UL are one
    index the prediction is L's or U's colour, whose nearest is the first index of that
    colour: no search (the kernel's shortcut too)."""
    left, u, _, up_left = near[:4]
    if left == u or up_left == u:
        return tables.order[left][0]
    if up_left == left:
        return tables.order[u][0]
    return nearest_colour(med_prediction(near, tables), left, tables)


def gradient_level(g: int, channels: int) -> int:
    """A gradient summed over ``channels`` as one of GRADIENT_LEVELS, 4 for 0 (5.3.5)."""
    size = abs(g)
    level = 0 if size == 0 else 1 + sum(size >= step * channels for step in GRADIENT_STEPS)
    return 4 + level if g > 0 else 4 - level


def bias_context(near: tuple[int, ...], tables: PaletteTables) -> int:
    """The bias context, 0 to BIAS_CONTEXTS - 1, from the gradients UR - U, U - UL and
    UL - L, each summed over the channels (5.3.5)."""
    left, u, up_right, up_left = (tables.colours[near[i]] for i in (0, 1, 2, 3))
    channels = len(left)
    g1, g2, g3 = (sum(a) - sum(b) for a, b in ((up_right, u), (u, up_left), (up_left, left)))
    return ((gradient_level(g1, channels) * GRADIENT_LEVELS + gradient_level(g2, channels))
            * GRADIENT_LEVELS + gradient_level(g3, channels))


def predictions(near: tuple[int, ...], tables: PaletteTables) -> list[list[int]]:
    """The four predictions of 5.3.5, each a value per channel: MED, the rounded mean of
    L, U, UR and UL, the mean of the row's and the column's linear extrapolations
    (2L - LL and 2U - UU), and the gradient L + UR - U, the last two clamped to 0-255."""
    left, u, up_right, up_left, left2, up2 = (tables.colours[v] for v in near)
    average, extrapolated, gradient = [], [], []
    for a, b, c, d, e, f in zip(left, u, up_right, up_left, left2, up2, strict=True):
        average.append((a + b + c + d + 2) >> 2)
        extrapolated.append(min(max((2 * a - e + 2 * b - f + 1) >> 1, 0), 255))
        gradient.append(min(max(a + c - b, 0), 255))
    return [med_prediction(near, tables), average, extrapolated, gradient]


def smooth_prediction(near: tuple[int, ...], far: tuple[int, ...], tables: PaletteTables
                      ) -> list[int]:
    """Per channel, a smooth stripe's prediction (5.3.5): the mean of 14 neighbours
    weighed 4 (L, U, UR, UL), 2 (LL, UU and the first four ``far``) and 1 (the last four),
    ``(sum + 16) >> 5``; on noise it beats any blend of the four ``predictions``."""
    colours = [tables.colours[v] for v in (*near, *far)]
    weights = (4, 4, 4, 4, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1)
    return [(sum(w * colour[ch] for w, colour in zip(weights, colours, strict=True)) + 16) >> 5
            for ch in range(tables.channels)]


def blend(guesses: list[list[int]], biases: list[list[int]]) -> list[int]:
    """Per channel, the four ``guesses`` (``predictions``) each weighed by
    ``BLEND_WEIGHT_ONE // (E + 1)^3``, E its absolute error sum in the bias context
    (``biases``: [B, N, C, E_med, E_average, E_extrapolated, E_gradient] per channel),
    rounded to the nearest integer (5.3.5)."""
    blended = []
    for channel, bias in enumerate(biases):
        weights = [BLEND_WEIGHT_ONE // (e + 1) ** 3 for e in bias[3:]]
        total = sum(weights)
        weighed = sum(w * guess[channel] for w, guess in zip(weights, guesses, strict=True))
        blended.append((weighed + (total >> 1)) // total)
    return blended


def bias_update(bias: list[int], error: int, guess_errors: list[int]) -> None:
    """LOCO-I's bias cancellation: the correction C moves by one toward the mean error
    once the error sum B reaches a count's worth; each predictor's absolute errors
    (``guess_errors``, in the order of ``predictions``) add up alike (5.3.5). ``bias`` is
    [B, N, C, E_med, E_average, E_extrapolated, E_gradient]."""
    b, n, c = bias[:3]
    b += error
    sums = [e + abs(guess_error) for e, guess_error in zip(bias[3:], guess_errors,
                                                           strict=True)]
    if n == BIAS_COUNT_LIMIT:
        b, n, sums = b >> 1, n >> 1, [e >> 1 for e in sums]
    n += 1
    if b <= -n:
        c, b = max(c - 1, -BIAS_LIMIT), b + n
        b = max(b, -n + 1)
    elif b > 0:
        c, b = min(c + 1, BIAS_LIMIT), b - n
        b = min(b, 0)
    bias[:] = [b, n, c, *sums]


def code_rank(coder, model: StripeModel, actual: int | None, near: tuple[int, ...],
              candidates: list[int], tables: PaletteTables, anchor: int,
              position: int, far: tuple[int, ...] | None = None) -> int:
    """A pixel that is none of the candidates: the anchor is the MED ``anchor``, or the
    colour nearest the bias-corrected blend of the four ``predictions`` (in a smooth
    stripe, where ``far`` holds the ``far_neighbours``, the bias-corrected
    ``smooth_prediction``) while ranks are common; the pixel's rank among the other
    colours by distance from it is coded by ``code_rank_from``."""
    guesses = predictions(near, tables)
    gradients = bias_context(near, tables)
    biases = model.bias[gradients]
    predicted = blend(guesses, biases) if far is None else smooth_prediction(near, far,
                                                                             tables)
    corrected = [min(max(v + bias[2], 0), 255)
                 for v, bias in zip(predicted, biases, strict=True)]
    if model.ranked * BIAS_SHARE >= position and corrected != guesses[0]:
        anchor = nearest_colour(corrected, near[0], tables)
    found = code_rank_from(coder, model, actual, near, candidates, tables, anchor,
                           gradients)
    for channel, (colour, guess, bias) in enumerate(zip(tables.colours[found], corrected,
                                                        biases, strict=True)):
        bias_update(bias, colour - guess, [colour - g[channel] for g in guesses])
    model.ranked += 1
    return found


def code_rank_from(coder, model: StripeModel, actual: int | None, near: tuple[int, ...],
                   candidates: list[int], tables: PaletteTables, anchor: int,
                   gradients: int) -> int:
    """The pixel's rank among the colours not candidates by distance from ``anchor``, as
    a unary bucket and the bits below its leading one."""
    available = tables.size - len(candidates)
    largest_bucket = available.bit_length()
    anchor_ranks = tables.ranks[anchor]
    rank, bucket = 0, 1
    if actual is not None:
        place = anchor_ranks[actual]
        rank = place - sum(1 for v in candidates if anchor_ranks[v] < place)
        bucket = (rank + 1).bit_length()
    # With no candidates (STRIPE_RANKS), spread 7, as with 8: never both in one stripe.
    spread = min(len(candidates) - 1, RANK_SPREAD - 1) if candidates else RANK_SPREAD - 1
    activity = min(tables.ranks[near[0]][near[1]].bit_length(), ACTIVITY_LEVELS - 1)
    near_ranks = (min(anchor_ranks[near[1]], RANK_NEAR_LIMIT),
                  min(anchor_ranks[near[0]], RANK_NEAR_LIMIT),
                  min(anchor_ranks[near[2]], RANK_NEAR_LIMIT))
    i = 1
    while i < largest_bucket:
        step = i - 1
        contexts = rank_contexts((step * RANK_SPREAD + spread) * ACTIVITY_LEVELS + activity,
                                 step, 0, anchor, near_ranks, gradients)
        if not model.code_rank_bit(coder, None if actual is None else int(bucket > i),
                                   contexts, step):
            break
        i += 1
    bucket = i
    value = 1
    for j in range(bucket - 2, -1, -1):
        node = (bucket - 2) * RANK_SPREAD + min(bucket - 2 - j, RANK_SPREAD - 1)
        step = MAX_BUCKET - 1 + node
        contexts = rank_contexts(UNARY_CONTEXTS + node * ACTIVITY_LEVELS + activity, step,
                                 value, anchor, near_ranks, gradients)
        bit = None if actual is None else (rank + 1) >> j & 1
        value = (value << 1) | model.code_rank_bit(coder, bit, contexts, step)
    if actual is not None:
        return actual
    rank = value - 1
    if rank >= available:
        raise FormatError(f"a cm rank of {rank} where {available} colours are left",
                          field="cm_rank")
    others = [v for v in tables.order[anchor] if v not in candidates]
    return others[rank]


# --- The body (5.3.1) --------------------------------------------------------------------
def encode_stripe(indices: np.ndarray, tables: PaletteTables, alone: bool = False,
                  smooth: bool = False, uu_offset: tuple[int, int] | None = None,
                  wide: bool = False, table_shrink: int = 0,
                  ranks: bool | None = None) -> bytes:
    """One stripe's bytes, mode byte first: coded, coded by ranks where that is tried
    (``ranks`` None: where ``ranks_may_pay``, ``alone`` meaning the stripe is the whole
    image) and shorter, or stored where neither is shorter than the indices; with
    ``ranks`` True or False, coded in the ranks mode or the coded mode alone (as
    ``ranks_verdict`` says for the image's other tried stripes). The smooth modes where
    ``smooth``, else STRIPE_CODED_UU with UU at ``uu_offset`` where given, else
    STRIPE_CODED_WIDE where ``wide``; with ``table_shrink``. ``indices`` is uint8
    (rows, width)."""
    codings = stripe_codings(smooth, uu_offset, wide, table_shrink)
    if ranks is None:
        codings = codings[:2 if ranks_may_pay(indices, alone, uu_offset) else 1]
    else:
        codings = codings[1:] if ranks else codings[:1]
    return best_stripe(indices, [(stripe_prefix(mode, uu),
                                  code_stripe_data(indices, tables, mode, uu))
                                 for mode, uu in codings], tables.size)


def ranks_trials(indices: np.ndarray, stripe_height: int,
                 uu_offset: tuple[int, int] | None = None) -> tuple[list[bool], int | None]:
    """Whether ``ranks_may_pay`` for each stripe of uint8 (height, width) ``indices`` in
    stripes of ``stripe_height`` rows, and the verdict stripe or None (an encoder's
    choice). Where the image has at least RANKS_VERDICT_STRIPES stripes, the verdict
    stripe is coded both ways, and the image's other tried stripes only as it came out
    shorter (``ranks_verdict``); with fewer (None), each tried stripe both ways. The
    verdict stripe is the middle one (``middle_stripe_number``'s) where that is tried,
    else the first tried; None too where none is."""
    rows = stripe_rows(len(indices), stripe_height)
    tried = [ranks_may_pay(indices[top:top + count], alone=len(rows) == 1,
                           uu_offset=uu_offset) for top, count in rows]
    if len(rows) < RANKS_VERDICT_STRIPES:
        return tried, None
    middle = middle_stripe_number(len(rows))
    verdict = middle if tried[middle] else next(
        (s for s, is_tried in enumerate(tried) if is_tried), None)
    return tried, verdict


def ranks_verdict(stripe: bytes) -> bool:
    """Whether the verdict stripe's bytes (``best_stripe``'s of both codings) say the
    image's other tried stripes are coded in the ranks mode: it was kept in it."""
    return mode_of(stripe[0]) in RANKS_MODES


class Coding(NamedTuple):
    """How the encoder codes an image's stripes: the smooth modes, UU at an offset, the
    wide match (``stripe_codings`` says which modes), and the tables' shrink."""

    smooth: bool = False
    uu_offset: tuple[int, int] | None = None
    wide: bool = False
    table_shrink: int = 0


PLAIN = Coding()
# Codes uint8 (height, width) indices of a uint8 (K, C) palette under channel weights, in
# stripes of a height, in each of a list of codings: each coding's stripes' bytes, as
# ``reference_codings`` gives them.
EncodeCodings = Callable[[np.ndarray, np.ndarray, tuple[int, ...], int, list[Coding]],
                         list[list[bytes]]]


def stripe_codings(smooth: bool, uu_offset: tuple[int, int] | None = None,
                   wide: bool = False, table_shrink: int = 0
                   ) -> tuple[tuple[int, tuple[int, int]], tuple[int, tuple[int, int]]]:
    """((the coded mode byte, its UU offset), (the ranks mode byte, its offset)): smooth,
    else with UU at ``uu_offset`` where given (the ranks mode keeps two rows up), else with
    the wide match where ``wide``, else plain; each with ``table_shrink``."""
    if smooth:
        coded, ranks = (STRIPE_CODED_SMOOTH, TWO_UP), (STRIPE_RANKS_SMOOTH, TWO_UP)
    elif wide and uu_offset is None:
        coded, ranks = (STRIPE_CODED_WIDE, TWO_UP), (STRIPE_RANKS, TWO_UP)
    else:
        coded = (STRIPE_CODED if uu_offset is None else STRIPE_CODED_UU, uu_offset or TWO_UP)
        ranks = (STRIPE_RANKS, TWO_UP)
    return ((mode_byte(coded[0], table_shrink), coded[1]),
            (mode_byte(ranks[0], table_shrink), ranks[1]))


def mode_byte(mode: int, table_shrink: int = 0) -> int:
    """A stripe's first byte: ``mode`` (stripe_mode) and ``table_shrink`` (5.3.1)."""
    return mode | table_shrink << TABLE_SHRINK_SHIFT


def mode_of(first_byte: int) -> int:
    """The stripe_mode of a stripe's first byte."""
    return first_byte & STRIPE_MODE_MASK


def table_shrink_of(first_byte: int) -> int:
    """The table_shrink of a stripe's first byte."""
    return first_byte >> TABLE_SHRINK_SHIFT


def stripe_prefix(mode: int, uu_offset: tuple[int, int] = TWO_UP) -> bytes:
    """A coded stripe's bytes before its coded data: the mode byte ``mode``, then for
    STRIPE_CODED_UU uu_rows (u8) and uu_shift (i8)."""
    if mode_of(mode) != STRIPE_CODED_UU:
        return bytes([mode])
    uu_rows, uu_shift = uu_offset
    return bytes([mode, uu_rows, uu_shift & 0xFF])


def stripe_uu_offset(stripe: memoryview | bytes) -> tuple[int, int]:
    """(uu_rows, uu_shift) of a coded stripe (its prefix checked by split_stripes)."""
    if mode_of(stripe[0]) != STRIPE_CODED_UU:
        return TWO_UP
    return stripe[1], stripe[2] - 256 if stripe[2] >= 128 else stripe[2]


def coded_data(stripe: memoryview | bytes) -> memoryview | bytes:
    """A coded stripe's coded data: its bytes after ``stripe_prefix``."""
    return stripe[UU_PREFIX_SIZE if mode_of(stripe[0]) == STRIPE_CODED_UU else 1:]


def code_stripe_data(indices: np.ndarray, tables: PaletteTables, mode: int,
                     uu_offset: tuple[int, int] = TWO_UP) -> bytes:
    """The coder's bytes for uint8 (rows, width) ``indices`` with mode byte ``mode`` (a
    coded mode and its table_shrink), UU at ``uu_offset``."""
    rows = [bytearray(row.tobytes()) for row in indices]
    coder = Encoder()
    code_stripe(coder, rows, indices.shape[1], tables,
                StripeModel(tables.channels, table_shrink_of(mode)),
                encoding=True, mode=mode_of(mode), uu_offset=uu_offset)
    return coder.finish()


def best_stripe(indices: np.ndarray, coded: Sequence[tuple[bytes, bytes | None]],
                palette_size: int) -> bytes:
    """The stripe's bytes, mode byte first: the shortest of ``coded`` ((prefix, data):
    ``stripe_prefix`` and the coded data, None where the coder ran out of room; the first
    of equal ones), or the indices uncoded where none is shorter: packed in index_bits
    each, or with 8 bits stored."""
    shortest = min((prefix + data for prefix, data in coded if data is not None), key=len,
                   default=None)
    bits = index_bits(palette_size)
    if shortest is not None and len(shortest) < 1 + packed_length(indices.size, bits):
        return shortest
    return bytes([STRIPE_STORED if bits == 8 else STRIPE_PACKED]) + packed_bytes(indices, bits)


def index_bits(palette_size: int) -> int:
    """Bits of an index in a STRIPE_PACKED stripe: bit_length(palette_size - 1), 0 to 8."""
    return (palette_size - 1).bit_length()


def uncoded_bits(mode: int, palette_size: int) -> int:
    """Bits an index takes in an uncoded stripe of ``mode``: 8 stored, else index_bits."""
    return 8 if mode == STRIPE_STORED else index_bits(palette_size)


def packed_length(pixels: int, bits: int) -> int:
    """Bytes of ``pixels`` indices packed at ``bits`` each, the last byte padded."""
    return -(-pixels * bits // 8)


def packed_bytes(indices: np.ndarray, bits: int) -> bytes:
    """uint8 ``indices`` at ``bits`` each, most significant bit first, in pixel order,
    the last byte padded with zero bits."""
    if bits == 8:
        return indices.tobytes()
    planes = np.empty((indices.size, bits), np.uint8)  # an index's bits along a row
    for bit in range(bits):
        planes[:, bit] = (indices.ravel() >> (bits - 1 - bit)) & 1
    return np.packbits(planes.ravel()).tobytes()


def ranks_may_pay(indices: np.ndarray, alone: bool = False,
                  uu_offset: tuple[int, int] | None = None) -> bool:
    """Whether the encoder tries STRIPE_RANKS for uint8 (rows, width) ``indices`` (an
    encoder's choice, not the format's): of the pixels that have all five of L, U, UR, UL
    and LL in the stripe, in every RANKS_TRIAL_ROW_STEP-th row, RANKS_TRIAL_SHARE or more
    are not flat, and under RANKS_TRIAL_HITS of those are one of the five, or UU at
    ``uu_offset`` (uu_rows, uu_shift) where the stripe is coded with one
    (RANKS_TRIAL_HITS_ALONE where ``alone``: the stripe is the whole image). UU at an
    offset is a candidate of STRIPE_CODED_UU that STRIPE_RANKS does not have: a fine
    diagonal texture's pixels are one of the five for 55%, and with UU two rows up and
    three across for 90%."""
    rows, width = indices.shape
    if rows < 2 or width < 4:
        return False
    most_hits = RANKS_TRIAL_HITS_ALONE if alone else RANKS_TRIAL_HITS
    # Every RANKS_TRIAL_ROW_STEP-th row and the row above it: 16.8 MP takes about 7 ms.
    below, above = indices[1::RANKS_TRIAL_ROW_STEP], indices[:-1:RANKS_TRIAL_ROW_STEP]
    pixel = below[:, 2:-1]
    left, up = below[:, 1:-2], above[:, 2:-1]
    up_right, up_left, left_left = above[:, 3:], above[:, 1:-2], below[:, :-3]
    not_flat = ~((left == up) & (left == up_left) & (up == up_right))
    hit = ((pixel == left) | (pixel == up) | (pixel == up_right) | (pixel == up_left)
           | (pixel == left_left))
    if uu_offset is not None:
        hit |= _is_uu(indices, uu_offset)
    hits = hit[not_flat]
    return (len(hits) >= RANKS_TRIAL_SHARE * pixel.size
            and np.count_nonzero(hits) < most_hits * len(hits))


def _is_uu(indices: np.ndarray, uu_offset: tuple[int, int]) -> np.ndarray:
    """bool, the shape of ``ranks_may_pay``'s sampled pixels: each pixel equals UU at
    ``uu_offset`` (uu_rows up, uu_shift across), where that lies in the stripe."""
    uu_rows, uu_shift = uu_offset
    rows, width = indices.shape
    sampled = np.arange(1, rows, RANKS_TRIAL_ROW_STEP)
    columns = np.arange(2, width - 1) + uu_shift
    inside = (sampled >= uu_rows)[:, None] & ((columns >= 0) & (columns < width))[None, :]
    uu = indices[np.maximum(sampled - uu_rows, 0)][:, np.clip(columns, 0, width - 1)]
    return inside & (indices[1::RANKS_TRIAL_ROW_STEP, 2:-1] == uu)


def weight_sample_step(rows: int, width: int) -> int:
    """Rows apart of the samples ``channel_weights_for`` takes: WEIGHT_SAMPLE_ROW_STEP,
    or more so that they hold at most about WEIGHT_SAMPLE_PIXELS."""
    return max(WEIGHT_SAMPLE_ROW_STEP, -(-rows * width // WEIGHT_SAMPLE_PIXELS))


def channel_weights_for(indices: np.ndarray, palette: np.ndarray) -> tuple[int, ...]:
    """The encoder's channel_weight for each channel (an encoder's choice, not the
    format's): 2^floor(log2(E_max / E_c)), capped at MAX_CHANNEL_WEIGHT, where E_c is 1
    plus the mean squared MED error (5.3.5) of channel c's bytes over every
    WEIGHT_SAMPLE_ROW_STEP-th row or sparser (``weight_sample_step``; each with the row
    above) of uint8 (height, width) ``indices``' colours, and E_max the largest.
    ``palette`` is uint8 (K, C)."""
    rows, width = indices.shape
    if rows < 2 or width < 2:
        return unit_weights(palette)
    colours = palette.astype(np.int32)
    step = weight_sample_step(rows, width)
    below = colours[indices[1::step]]
    above = colours[indices[:-1:step]]
    left, up, up_left, pixel = below[:, :-1], above[:, 1:], above[:, :-1], below[:, 1:]
    low, high = np.minimum(left, up), np.maximum(left, up)
    predicted = np.where(up_left >= high, low,
                         np.where(up_left <= low, high, left + up - up_left))
    errors = 1.0 + ((pixel - predicted).astype(np.float64) ** 2).mean(axis=(0, 1))
    most = MAX_CHANNEL_WEIGHT.bit_length() - 1
    return tuple(1 << min(math.floor(math.log2(errors.max() / error)), most)
                 for error in errors)


def weight_candidates(weights: tuple[int, ...]) -> list[tuple[int, ...]]:
    """The channel weights ``choose_channel_weights`` tries, without repeats: the rule's
    ``weights``, each weight above 1 raised to MAX_CHANNEL_WEIGHT, and all 1."""
    candidates = [weights, tuple(MAX_CHANNEL_WEIGHT if w > 1 else 1 for w in weights),
                  (1,) * len(weights)]
    return list(dict.fromkeys(candidates))


def weight_trial_sample(indices: np.ndarray) -> tuple[np.ndarray, int]:
    """(sample, stripe_height): the uint8 (rows, width) indices the weights are tried on,
    cut into stripes of stripe_height rows: the whole of uint8 (height, width)
    ``indices`` up to WEIGHT_TRIAL_PIXELS, else two bands of half that (at least 2 rows
    each), a third and two thirds of the way down."""
    height, width = indices.shape
    if height * width <= WEIGHT_TRIAL_PIXELS:
        return indices, height
    rows = max(2, WEIGHT_TRIAL_PIXELS // 2 // width)
    tops = ((height - rows) // 3, (height - rows) * 2 // 3)
    return np.concatenate([indices[top:top + rows] for top in tops]), rows


def coded_sizes(encode_codings: EncodeCodings, indices: np.ndarray, palette: np.ndarray,
                weights: tuple[int, ...], stripe_height: int, codings: list[Coding]
                ) -> list[int]:
    """The bytes of uint8 (height, width) ``indices``' stripes in each of ``codings``, all
    coded by one ``encode_codings`` call (a backend codes them side by side)."""
    return [sum(map(len, stripes))
            for stripes in encode_codings(indices, palette, weights, stripe_height, codings)]


def choose_channel_weights(indices: np.ndarray, palette: np.ndarray,
                           encode_codings: EncodeCodings) -> tuple[int, ...]:
    """The encoder's channel weights for uint8 (height, width) ``indices`` of a uint8
    (K, C) palette (an encoder's choice, not the format's): the rule's
    (``channel_weights_for``) where it weighs every channel 1, else whichever of
    ``weight_candidates`` codes ``weight_trial_sample`` shortest, the first of equal ones.
    ``encode_codings`` codes as ``reference_codings`` does (both engines' choices are the
    same); each candidate's weights order the colours apart, so each is a call."""
    candidates = weight_candidates(channel_weights_for(indices, palette))
    if len(candidates) == 1 or len(palette) < 2:
        return candidates[0]
    sample, stripe_height = weight_trial_sample(indices)
    lengths = [coded_sizes(encode_codings, sample, palette, weights, stripe_height, [PLAIN])[0]
               for weights in candidates]
    return candidates[lengths.index(min(lengths))]


def smooth_pays(indices: np.ndarray, palette: np.ndarray, weights: tuple[int, ...],
                encode_codings: EncodeCodings) -> bool:
    """Whether the encoder codes uint8 (height, width) ``indices`` in the smooth modes (an
    encoder's choice, not the format's): where they code ``weight_trial_sample`` under
    ``weights`` shorter. ``encode_codings`` is as in ``weighted_stripes``."""
    if len(palette) < 2:
        return False
    sample, stripe_height = weight_trial_sample(indices)
    plain, smooth = coded_sizes(encode_codings, sample, palette, weights, stripe_height,
                                [PLAIN, Coding(smooth=True)])
    return smooth < plain


def shortest_coding(indices: np.ndarray, palette: np.ndarray, weights: tuple[int, ...],
                    stripe_height: int, codings: list[Coding], encode_codings: EncodeCodings
                    ) -> Coding:
    """Of ``codings`` (each one that pays on its own trial), the one the encoder codes
    uint8 (height, width) ``indices`` in (an encoder's choice): the one that codes the
    middle one of the image's stripes (of stripes no taller than ``stripe_height_for``'s)
    shortest, the first of equals; all in one ``encode_codings`` call, so that a backend
    codes them side by side. Their trials' samples differ, so none says which is best: a
    dithered photo's smooth shading wins its sample, where its dither's offset wins the
    image by 4.8%; a halftone's offset and the wide match both pay, and the wide match
    codes the image 9.7% shorter. ``encode_codings`` is as in ``weighted_stripes``."""
    height, width = indices.shape
    sample, sample_height = middle_stripe(
        indices, min(stripe_height, stripe_height_for(width, height)))
    lengths = coded_sizes(encode_codings, sample, palette, weights, sample_height, codings)
    return codings[lengths.index(min(lengths))]


def uu_trial_sample(indices: np.ndarray) -> tuple[np.ndarray, int]:
    """(sample, stripe_height): the uint8 (rows, columns) indices ``uu_offset_pays`` tries,
    cut into stripes of stripe_height rows: ``weight_trial_sample``'s, but where its two
    bands are under UU_TRIAL_ROWS (an offset up to UU_SEARCH_ROWS up needs rows above it
    to show) and the image has twice that many rows, two bands of UU_TRIAL_ROWS from the
    same places, each of UU_TRIAL_PIXELS / 2 pixels: where the image is wider, windows
    of it side by side, UU_TRIAL_WINDOWS across its width (a ramp's pattern changes
    across it)."""
    height, width = indices.shape
    sample, rows = weight_trial_sample(indices)
    if rows >= UU_TRIAL_ROWS or height < 2 * UU_TRIAL_ROWS:
        return sample, rows
    rows = UU_TRIAL_ROWS
    tops = ((height - rows) // 3, (height - rows) * 2 // 3)
    bands = [indices[top:top + rows] for top in tops]
    if width * rows > UU_TRIAL_PIXELS // 2:
        side = UU_TRIAL_PIXELS // 2 // rows // UU_TRIAL_WINDOWS
        lefts = [(2 * i + 1) * width // (2 * UU_TRIAL_WINDOWS) - side // 2
                 for i in range(UU_TRIAL_WINDOWS)]
        bands = [np.concatenate([band[:, left:left + side] for left in lefts], axis=1)
                 for band in bands]
    return np.concatenate(bands), rows


def uu_hits(indices: np.ndarray) -> np.ndarray:
    """int64 (2, len(UU_OFFSETS)): for each offset, how many pixels of uint8 (rows,
    width) ``indices`` (those with every offset and L, U, UR, UL, LL inside) are the pixel
    at that offset and none of L, U, UR, UL and LL (row 0), and how many are the pixel at
    that offset at all (row 1)."""
    rows, width = indices.shape
    top, side = UU_SEARCH_ROWS, UU_SEARCH_SHIFT
    if rows <= top or width <= 2 * side:
        return np.zeros((2, len(UU_OFFSETS)), np.int64)
    pixel = indices[top:, side:width - side]

    def at(down: int, across: int) -> np.ndarray:
        return indices[top - down:rows - down, side + across:width - side + across]

    unseen = ((pixel != at(0, -1)) & (pixel != at(1, 0)) & (pixel != at(1, 1))
              & (pixel != at(1, -1)) & (pixel != at(0, -2)))
    hits = np.empty((2, len(UU_OFFSETS)), np.int64)
    for i, (down, across) in enumerate(UU_OFFSETS):
        same = pixel == at(down, across)
        hits[0, i], hits[1, i] = np.count_nonzero(same & unseen), np.count_nonzero(same)
    return hits


def repeated_rows(indices: np.ndarray) -> np.ndarray:
    """int64 (UU_SEARCH_ROWS - 1,): for each d from 2 up, how many rows of uint8 (rows,
    width) ``indices`` from row UU_SEARCH_ROWS on are the row d up exactly but not the
    row above (a flat area's rows repeat every row up, which spans code well)."""
    top, rows = UU_SEARCH_ROWS, len(indices)
    if rows <= top:
        return np.zeros(top - 1, np.int64)

    def repeats(d: int) -> np.ndarray:
        return (indices[top:] == indices[top - d:rows - d]).all(axis=1)

    new = ~repeats(1)
    return np.array([np.count_nonzero(repeats(d) & new) for d in range(2, top + 1)],
                    np.int64)


def uu_offset_for(indices: np.ndarray, stripe_height: int) -> tuple[int, int] | None:
    """The (uu_rows, uu_shift) ``uu_offset_pays`` tries for uint8 (rows, width) ``indices``
    in stripes of ``stripe_height`` rows: the first offset of most ``uu_hits`` over the
    stripes (pixels none of the five neighbours give; among equal counts, pixels at all:
    a 4 x 4 Bayer dither's pixel 2 up and 2 across ties with 4 up where the five miss,
    and is wrong more often), where that beats two rows up by UU_TRIAL_SHARE of the
    pixels and UU_TRIAL_RATIO times; else None."""
    unseen, every = sum(uu_hits(indices[top:top + count])
                        for top, count in stripe_rows(len(indices), stripe_height))
    best = int(np.argmax(np.where(unseen == unseen.max(), every, -1)))
    two_up = unseen[UU_OFFSETS.index(TWO_UP)]
    if unseen[best] - two_up < UU_TRIAL_SHARE * indices.size or \
            unseen[best] < UU_TRIAL_RATIO * two_up:
        return None
    return UU_OFFSETS[best]


def repeat_offset_for(indices: np.ndarray, stripe_height: int) -> tuple[int, int] | None:
    """(d, 0), d from 2, where at least UU_REPEAT_SHARE of the rows of uint8 (rows, width)
    ``indices`` that ``repeated_rows`` counts, in stripes of ``stripe_height`` rows,
    repeat the row d up (the first d of most); else None."""
    stripes = [indices[top:top + count]
               for top, count in stripe_rows(len(indices), stripe_height)]
    repeats = sum(repeated_rows(stripe) for stripe in stripes)
    counted = sum(max(len(stripe) - UU_SEARCH_ROWS, 0) for stripe in stripes)
    if not counted or repeats.max() < UU_REPEAT_SHARE * counted:
        return None
    return int(np.argmax(repeats)) + 2, 0


def uu_offset_pays(indices: np.ndarray, palette: np.ndarray, weights: tuple[int, ...],
                   stripe_height: int, encode_codings: EncodeCodings
                   ) -> tuple[int, int] | None:
    """The (uu_rows, uu_shift) the encoder codes uint8 (height, width) ``indices`` with
    (an encoder's choice, not the format's), or None for two rows up: ``uu_offset_for``'s
    offset where it codes ``uu_trial_sample`` under ``weights`` shorter; where there is
    none, ``repeat_offset_for``'s where it codes the middle one of the image's stripes of
    ``stripe_height`` rows shorter (a repeated row saves a decision a pixel, each at
    least 1/2838 of a byte: too little to show on a small sample), of stripes no taller
    than ``stripe_height_for``'s (one stripe of a whole 16.8-MP image took 0.6 s to
    try). ``encode_codings`` is as in ``weighted_stripes``."""
    if len(palette) < 2:
        return None
    sample, sample_height = uu_trial_sample(indices)
    uu_offset = uu_offset_for(sample, sample_height)
    if uu_offset is None:
        uu_offset = repeat_offset_for(sample, sample_height)
        height, width = indices.shape
        sample, sample_height = middle_stripe(
            indices, min(stripe_height, stripe_height_for(width, height)))
    if uu_offset is None:
        return None
    plain, shifted = coded_sizes(encode_codings, sample, palette, weights, sample_height,
                                 [PLAIN, Coding(uu_offset=uu_offset)])
    return uu_offset if shifted < plain else None


def wide_match_pays(indices: np.ndarray, palette: np.ndarray, weights: tuple[int, ...],
                    stripe_height: int, encode_codings: EncodeCodings) -> bool:
    """Whether the wide match pays for uint8 (height, width) ``indices`` (an encoder's
    choice): where ``uu_trial_sample`` codes at least WIDE_SAMPLE_GAIN shorter with it,
    and then the middle one of the image's stripes (of stripes no taller than
    ``stripe_height_for``'s) at least WIDE_TRIAL_GAIN shorter. A glyph's earlier copies
    are seldom in a sample of 64 rows: a terminal's sample 0.993x, its whole 0.933x; a
    tall infographic's 0.9985x and 0.894x; a cartoon's 0.99x and 1.02x. The sample spares
    a photo, whose sample codes within 0.1% either way, the middle stripe's two codings.
    ``encode_codings`` is as in ``weighted_stripes``."""
    if len(palette) < 2:
        return False
    height, width = indices.shape
    trials = ((uu_trial_sample(indices), 1 - WIDE_SAMPLE_GAIN),
              (middle_stripe(indices, min(stripe_height, stripe_height_for(width, height))),
               1 - WIDE_TRIAL_GAIN))
    for (sample, sample_height), most in trials:
        plain, wide = coded_sizes(encode_codings, sample, palette, weights, sample_height,
                                  [PLAIN, Coding(wide=True)])
        if wide > plain * most:
            return False
    return True


def middle_stripe(indices: np.ndarray, stripe_height: int) -> tuple[np.ndarray, int]:
    """(the middle one of uint8 (height, width) ``indices``' stripes of ``stripe_height``
    rows, ``middle_stripe_number``'s, and its rows)."""
    rows = stripe_rows(len(indices), stripe_height)
    top, count = rows[middle_stripe_number(len(rows))]
    return indices[top:top + count], count


def middle_stripe_number(stripe_count: int) -> int:
    """The middle one of ``stripe_count`` stripes: floor(S / 2) of S, but of two the
    first, since the last may be a few rows (a 900-row page in stripes of 728 rows)."""
    return stripe_count // 2 if stripe_count != 2 else 0


def weighted_stripes(indices: np.ndarray, palette: np.ndarray, stripe_height: int,
                     encode_codings: EncodeCodings,
                     lengths_of: Callable[..., list[int | None]] | None = None
                     ) -> tuple[tuple[int, ...], list[bytes]]:
    """(channel weights, each stripe's bytes) for uint8 (height, width) ``indices`` of a
    uint8 (K, C) palette in stripes of ``stripe_height`` rows: the weights
    ``choose_channel_weights`` chooses; in the smooth modes where ``smooth_pays``, with
    UU at the offset ``uu_offset_pays`` gives, or with the wide match where
    ``wide_match_pays``, ``shortest_coding``'s where more than one of them pays, else in
    the plain modes; with the tables ``table_shrink_for`` chooses, coded by
    ``encode_codings(indices, palette, weights, stripe_height, codings)``, which gives
    each coding's stripes' bytes as ``reference_codings`` does, and ``lengths_of`` as
    ``coded_lengths`` does (the reference's where None). A trial's coding is not
    repeated: the sample's with the chosen weights, and the whole image's where the
    sample is the whole image in these stripes (at most WEIGHT_TRIAL_PIXELS, one
    stripe); the codings a trial compares that are not coded yet are coded in one call,
    so that a backend codes them side by side."""
    codings: dict[tuple, list[bytes]] = {}

    def remembering(sample, palette, weights, rows, wanted: list[Coding]) -> list[list[bytes]]:
        # Within one call, only the trial samples and the whole image are coded: a shape
        # and a stripe height name one of them.
        def key(coding: Coding) -> tuple:
            return (sample.shape, rows, tuple(weights), *coding)

        missing = list(dict.fromkeys(c for c in wanted if key(c) not in codings))
        if missing:
            for coding, stripes in zip(missing, encode_codings(sample, palette, weights, rows,
                                                               missing), strict=True):
                codings[key(coding)] = stripes
        return [codings[key(c)] for c in wanted]

    weights = choose_channel_weights(indices, palette, remembering)
    smooth = smooth_pays(indices, palette, weights, remembering)
    uu_offset = uu_offset_pays(indices, palette, weights, stripe_height, remembering)
    wide = wide_match_pays(indices, palette, weights, stripe_height, remembering)
    paying = [coding for coding, pays in ((Coding(smooth=True), smooth),
                                          (Coding(uu_offset=uu_offset), uu_offset is not None),
                                          (Coding(wide=True), wide)) if pays]
    chosen = PLAIN
    if len(paying) == 1:
        chosen = paying[0]
    elif paying:
        chosen = shortest_coding(indices, palette, weights, stripe_height, paying, remembering)
    table_shrink = table_shrink_for(indices, palette, weights, stripe_height,
                                    stripe_codings(*chosen)[0], lengths_of or coded_lengths)
    return weights, remembering(indices, palette, weights, stripe_height,
                                [chosen._replace(table_shrink=table_shrink)])[0]


def table_shrink_for(indices: np.ndarray, palette: np.ndarray, weights: tuple[int, ...],
                     stripe_height: int, coding: tuple[int, tuple[int, int]],
                     lengths_of: Callable[..., list[int | None]]) -> int:
    """The table_shrink the encoder codes uint8 (height, width) ``indices`` with (an
    encoder's choice): SMALL_TABLE_SHRINK where the image has at least
    TABLE_TRIAL_STRIPES stripes and the first half of the rows of its middle stripe
    codes at most TABLE_TRIAL_COST times as long so in ``coding`` (mode byte, UU offset),
    else 0. ``lengths_of`` is ``coded_lengths`` or a backend's: both codings run side by
    side. Small tables lose more of what a large stripe teaches, and only there do the
    full ones outgrow a core's cache."""
    if len(palette) < 2 or len(stripe_rows(len(indices), stripe_height)) < TABLE_TRIAL_STRIPES:
        return 0
    middle, rows = middle_stripe(indices, stripe_height)
    mode, uu_offset = coding
    full, small = lengths_of(middle[:-(-rows // 2)], palette, weights,
                             [(mode_byte(mode_of(mode), shrink), uu_offset)
                              for shrink in (0, SMALL_TABLE_SHRINK)])
    if full is None or small is None:
        return 0
    return SMALL_TABLE_SHRINK if small <= full * TABLE_TRIAL_COST else 0


def coded_lengths(indices: np.ndarray, palette: np.ndarray, weights: tuple[int, ...],
                  codings: list[tuple[int, tuple[int, int]]]) -> list[int | None]:
    """The coded data's length of uint8 (rows, width) ``indices`` as one stripe in each of
    ``codings`` ((mode byte, UU offset)); None where it is no shorter than the indices
    are pixels, as a backend's coder stops there."""
    tables = PaletteTables(palette, weights)
    lengths = (len(code_stripe_data(indices, tables, mode, uu_offset))
               for mode, uu_offset in codings)
    return [length if length < indices.size else None for length in lengths]


def reference_codings(indices: np.ndarray, palette: np.ndarray, weights: tuple[int, ...],
                      stripe_height: int, codings: list[Coding]) -> list[list[bytes]]:
    """``reference_stripes`` in each of ``codings``: the ``EncodeCodings`` of the
    reference coder."""
    return [reference_stripes(indices, palette, weights, stripe_height, *coding)
            for coding in codings]


def reference_stripes(indices: np.ndarray, palette: np.ndarray, weights: tuple[int, ...],
                      stripe_height: int, smooth: bool = False,
                      uu_offset: tuple[int, int] | None = None, wide: bool = False,
                      table_shrink: int = 0) -> list[bytes]:
    """Each stripe's bytes, mode byte first (``encode_stripe``), of uint8 (height, width)
    ``indices`` of a uint8 (K, C) palette under channel ``weights``, in the smooth modes
    where ``smooth``, else with UU at ``uu_offset`` where given, else with the wide match
    where ``wide``; with ``table_shrink``. The ranks mode is tried on the verdict stripe
    and taken or not on the other tried stripes as it says (``ranks_trials``)."""
    tables = PaletteTables(palette, weights)
    rows = stripe_rows(len(indices), stripe_height)
    tried, verdict = ranks_trials(indices, stripe_height, uu_offset)
    options = dict(smooth=smooth, uu_offset=uu_offset, wide=wide, table_shrink=table_shrink)
    if verdict is None:
        return [encode_stripe(indices[top:top + count], tables, alone=len(rows) == 1,
                              **options) for top, count in rows]
    verdict_top, verdict_rows = rows[verdict]
    verdict_stripe = encode_stripe(indices[verdict_top:verdict_top + verdict_rows], tables,
                                   **options)
    ranks = ranks_verdict(verdict_stripe)
    return [verdict_stripe if s == verdict else
            encode_stripe(indices[top:top + count], tables, ranks=ranks and tried[s],
                          **options)
            for s, (top, count) in enumerate(rows)]


def encode_body(indices: np.ndarray, palette: np.ndarray, stripe_height: int | None = None,
                compact: bool = False) -> bytes:
    """Method cm's body for uint8 indices (height, width) of a uint8 (K, C) palette, its
    framing in the compact form (spec 2.10) where ``compact``."""
    indices = np.ascontiguousarray(indices, np.uint8)
    return with_blocks(indices, stripe_height,
                       lambda image, rows: _encode_stripes(image, palette, rows, compact),
                       compact)


def with_blocks(indices: np.ndarray, stripe_height: int | None,
                encode_image: Callable[[np.ndarray, int | None], bytes],
                compact: bool = False) -> bytes:
    """The body of uint8 ``indices`` (height, width): ``encode_image(image, stripe_height)``
    of the image of blocks behind the block prefix where the indices have blocks (and, up
    to BLOCK_TRIAL_PIXELS, where that is shorter), else of the indices themselves."""
    block_width, block_height = block_size(indices)
    if block_width * block_height == 1:
        return encode_image(indices, stripe_height)
    blocked = join_blocks(block_width, block_height, encode_image(
        blocks_of(indices, block_width, block_height),
        stripe_height and -(-stripe_height // block_height)), compact)
    if indices.size > BLOCK_TRIAL_PIXELS:
        return blocked
    plain = encode_image(indices, stripe_height)
    return blocked if len(blocked) < len(plain) else plain


def _encode_stripes(indices: np.ndarray, palette: np.ndarray, stripe_height: int | None,
                    compact: bool) -> bytes:
    """The body of ``indices`` without blocks (the reference coder)."""
    stripe_height = encoder_stripe_height(indices, stripe_height)
    return join_stripes(stripe_height,
                        *weighted_stripes(indices, palette, stripe_height, reference_codings),
                        compact=compact)


def encoder_stripe_height(indices: np.ndarray, stripe_height: int | None) -> int:
    """The stripe height the encoder codes uint8 (height, width) ``indices`` in (an
    encoder's choice, not the format's): ``stripe_height`` (None: ``stripe_height_for``'s)
    up to the height, or the whole image, as far as MAX_STRIPE_PIXELS allows, where at
    least UU_ONE_STRIPE_SHARE of its rows from d on repeat the row d up, d being what
    ``repeat_offset_for`` finds on ``uu_trial_sample``."""
    height, width = indices.shape
    stripe_height = min(stripe_height or stripe_height_for(width, height), height)
    if stripe_height == height:
        return stripe_height
    found = repeat_offset_for(*uu_trial_sample(indices))
    if found is None:
        return stripe_height
    d = found[0]
    repeats = np.count_nonzero((indices[d:] == indices[:-d]).all(axis=1))
    if repeats < UU_ONE_STRIPE_SHARE * (height - d):
        return stripe_height
    return stripe_height_for(width, height, None)


def block_size(indices: np.ndarray) -> tuple[int, int]:
    """(block_width, block_height) of the largest blocks, each at most MAX_BLOCK_SIDE,
    from the top left, of one index each: every change of index along a row falls on a
    multiple of block_width, and down a column on one of block_height. ``indices`` uint8
    (height, width). (1, 1) where there are none: on a photo the first row tells."""
    return (_block_side(indices, axis=1), _block_side(indices, axis=0))


def _block_side(indices: np.ndarray, axis: int) -> int:
    """The largest side along ``axis`` (1: across, 0: down) that every change divides."""
    lines = indices if axis == 1 else indices.T
    period = 0
    for first in range(0, len(lines), BLOCK_SCAN_LINES):
        band = lines[first:first + BLOCK_SCAN_LINES]
        changes = np.flatnonzero((band[:, 1:] != band[:, :-1]).any(axis=0)) + 1
        period = int(np.gcd.reduce(changes, initial=period))
        if period == 1:
            return 1
    if period == 0:  # no change at all
        return min(lines.shape[1], MAX_BLOCK_SIDE)
    return max(d for d in range(1, min(period, MAX_BLOCK_SIDE) + 1) if period % d == 0)


def blocks_of(indices: np.ndarray, block_width: int, block_height: int) -> np.ndarray:
    """uint8 (ceil(height / block_height), ceil(width / block_width)): each block's index."""
    return np.ascontiguousarray(indices[::block_height, ::block_width])


def stripe_height_bytes(stripe_height: int, compact: bool) -> bytes:
    """stripe_height (or BLOCK_MARKER) as a body stores it: u32, or a varint compact."""
    if compact:
        return varint.encode(stripe_height)
    return stripe_height.to_bytes(CM_STRIPE_HEADER_SIZE, "little")


def join_blocks(block_width: int, block_height: int, body: bytes, compact: bool = False
                ) -> bytes:
    """BLOCK_MARKER, the block sides and the body of the image of blocks (5.3.1)."""
    return (stripe_height_bytes(BLOCK_MARKER, compact) + bytes([block_width, block_height])
            + body)


def split_blocks(body: memoryview | bytes, compact: bool = False
                 ) -> tuple[int, int, memoryview]:
    """(block_width, block_height, the body of the image of blocks); (1, 1, ``body``)
    where ``body`` has no block prefix. Rule cm_stripes: sides 1 to 255, not both 1."""
    body = memoryview(body)
    marker_size = 1 if compact else CM_STRIPE_HEADER_SIZE
    if len(body) < marker_size or \
            int.from_bytes(body[:marker_size], "little") != BLOCK_MARKER:
        return 1, 1, body
    if len(body) < marker_size + 2:
        raise FormatError(f"cm body of {len(body)} bytes has a stripe_height of 0 but no "
                          "block_width and block_height", field="cm_stripes")
    block_width, block_height = body[marker_size], body[marker_size + 1]
    if block_width == 0 or block_height == 0 or block_width * block_height == 1:
        raise FormatError(f"cm blocks are {block_width} x {block_height}; each side must be "
                          f"1 to {MAX_BLOCK_SIDE}, not both 1", field="cm_stripes")
    return block_width, block_height, body[marker_size + 2:]


def without_blocks(body: memoryview | bytes, width: int, height: int,
                   decode_image: Callable[[memoryview, int, int], np.ndarray],
                   compact: bool = False) -> np.ndarray:
    """uint8 (height, width) indices of a body: ``decode_image(body, width, height)`` of
    the image of blocks behind a block prefix, spread over the blocks, or of the body
    itself where it has none; the inverse of ``with_blocks``."""
    block_width, block_height, body = split_blocks(body, compact)
    if block_width * block_height == 1:
        return decode_image(body, width, height)
    blocks = decode_image(body, -(-width // block_width), -(-height // block_height))
    return enlarged(blocks, block_width, block_height, width, height)


def enlarged(blocks: np.ndarray, block_width: int, block_height: int, width: int,
             height: int) -> np.ndarray:
    """uint8 (height, width): each index of ``blocks`` over its block, cut to the image."""
    rows = np.repeat(blocks, block_height, axis=0)[:height]
    return np.ascontiguousarray(np.repeat(rows, block_width, axis=1)[:, :width])


def join_stripes(stripe_height: int, weights: Sequence[int], stripes: Sequence[bytes],
                 compact: bool = False) -> bytes:
    """stripe_height, the channel weights, the stripe lengths, then the stripes (5.3.1);
    in the compact form (2.10) varints, and no length for the last stripe."""
    if compact:
        table = b"".join(varint.encode(len(s)) for s in stripes[:-1])
    else:
        table = b"".join(len(s).to_bytes(CM_STRIPE_LENGTH_SIZE, "little") for s in stripes)
    return (stripe_height_bytes(stripe_height, compact) + bytes(weights) + table
            + b"".join(stripes))


def split_stripes(body: memoryview | bytes, width: int, height: int, channels: int,
                  palette_size: int, compact: bool = False
                  ) -> tuple[int, tuple[int, ...], list[memoryview]]:
    """(stripe_height, channel weights, each stripe's bytes) after the checks of 5.3.1:
    rule cm_stripes."""
    body = memoryview(body)
    stripe_height, weights_at = _stripe_height_of(body, compact)
    lengths_at = weights_at + channels
    if len(body) < lengths_at:
        raise FormatError(f"cm body is {len(body)} bytes, too short for stripe_height and "
                          f"{channels} channel weights", field="cm_stripes")
    if not 1 <= stripe_height <= height:
        raise FormatError(f"cm stripe_height is {stripe_height}; it must be 1 to {height}",
                          field="cm_stripes")
    if stripe_height * width > MAX_STRIPE_PIXELS:
        raise FormatError(f"cm stripes of {stripe_height} rows of {width} pixels are over "
                          f"MAX_STRIPE_PIXELS ({MAX_STRIPE_PIXELS})", field="cm_stripes")
    weights = tuple(body[weights_at:lengths_at])
    if not all(1 <= w <= MAX_CHANNEL_WEIGHT for w in weights):
        raise FormatError(f"cm channel weights are {list(weights)}; each must be 1 to "
                          f"{MAX_CHANNEL_WEIGHT}", field="cm_stripes")
    count = -(-height // stripe_height)
    lengths, offset = _stripe_lengths(body, lengths_at, count, compact)
    stripes = []
    for index, length in enumerate(lengths):
        rows = min(stripe_height, height - index * stripe_height)
        if length is None:  # the compact form's last stripe: the rest of the body
            length = len(body) - offset
        if length < 1 or length > len(body) - offset:
            raise FormatError(f"cm stripe {index} is {length} bytes; it must be at least 1 "
                              f"and fit the {len(body) - offset} bytes left",
                              field="cm_stripes")
        stripe = body[offset:offset + length]
        _check_mode_byte(stripe[0], index)
        if mode_of(stripe[0]) == STRIPE_CODED_UU:
            _check_uu_prefix(stripe, index)
        if stripe[0] in UNCODED_MODES:
            _check_uncoded_layout(stripe, index, rows * width, palette_size)
        stripes.append(stripe)
        offset += length
    if offset != len(body):
        raise FormatError(f"cm body has {len(body) - offset} bytes after its stripes",
                          field="cm_stripes")
    return stripe_height, weights, stripes


def _stripe_height_of(body: memoryview, compact: bool) -> tuple[int, int]:
    """(stripe_height, where the weights start): a u32, or compact a varint (rule 22)."""
    if compact:
        return varint.read(body, 0, STRIPE_HEIGHT_VARINT_BYTES, MAX_STRIPE_HEIGHT,
                           "cm_stripes", "cm stripe_height")
    if len(body) < CM_STRIPE_HEADER_SIZE:
        raise FormatError(f"cm body is {len(body)} bytes, too short for stripe_height",
                          field="cm_stripes")
    return int.from_bytes(body[:CM_STRIPE_HEADER_SIZE], "little"), CM_STRIPE_HEADER_SIZE


def _stripe_lengths(body: memoryview, at: int, count: int, compact: bool
                    ) -> tuple[list[int | None], int]:
    """(each stripe's stripe_length, None for the compact form's last; where the stripes
    start), read from ``at`` (rule 23)."""
    if not compact:
        offset = at + count * CM_STRIPE_LENGTH_SIZE
        if offset > len(body):
            raise FormatError(f"cm body of {len(body)} bytes cannot hold {count} stripe "
                              "lengths", field="cm_stripes")
        return [int.from_bytes(body[i:i + CM_STRIPE_LENGTH_SIZE], "little")
                for i in range(at, offset, CM_STRIPE_LENGTH_SIZE)], offset
    lengths: list[int | None] = []
    for index in range(count - 1):
        length, at = varint.read(body, at, STRIPE_LENGTH_VARINT_BYTES, MAX_STRIPE_LENGTH,
                                 "cm_stripes", f"cm stripe {index}'s stripe_length")
        lengths.append(length)
    return [*lengths, None], at


def _check_mode_byte(first_byte: int, index: int) -> None:
    """A stripe's stripe_mode is one of STRIPE_MODES, its table_shrink at most
    MAX_TABLE_SHRINK, and 0 in an uncoded stripe (rule 25)."""
    mode, table_shrink = mode_of(first_byte), table_shrink_of(first_byte)
    if mode not in STRIPE_MODES:
        raise FormatError(f"cm stripe {index} mode is {mode}; 0 to {len(STRIPE_MODES) - 1}",
                          field="cm_stripes")
    if table_shrink > MAX_TABLE_SHRINK or (table_shrink and mode in UNCODED_MODES):
        raise FormatError(f"cm stripe {index}'s table_shrink is {table_shrink}; it must be 0 "
                          f"to {MAX_TABLE_SHRINK}, and 0 where the stripe is not coded",
                          field="cm_stripes")


def _check_uu_prefix(stripe: memoryview, index: int) -> None:
    """A STRIPE_CODED_UU stripe holds uu_rows and uu_shift, uu_rows 1 to 255."""
    if len(stripe) < UU_PREFIX_SIZE:
        raise FormatError(f"cm stripe {index} is STRIPE_CODED_UU in {len(stripe)} bytes, "
                          "too short for uu_rows and uu_shift", field="cm_stripes")
    if stripe[1] == 0:
        raise FormatError(f"cm stripe {index}'s uu_rows is 0; it must be 1 to 255",
                          field="cm_stripes")


def _check_uncoded_layout(stripe: memoryview, index: int, pixels: int,
                          palette_size: int) -> None:
    """A stored stripe's length, or a packed one's length and zero padding (rule 26)."""
    bits = uncoded_bits(stripe[0], palette_size)
    expected = 1 + packed_length(pixels, bits)
    if len(stripe) != expected:
        raise FormatError(f"cm stripe {index} is {'stored' if bits == 8 else 'packed'} in "
                          f"{len(stripe)} bytes, not the {expected} its {pixels} pixels "
                          "take", field="cm_stripes")
    padding = -pixels * bits % 8
    if padding and stripe[-1] & ((1 << padding) - 1):
        raise FormatError(f"cm stripe {index}'s padding bits are not 0", field="cm_stripes")


def stored_indices(stripe: memoryview, rows: int, width: int, palette_size: int
                   ) -> np.ndarray:
    """uint8 (rows, width): a stored or packed stripe's indices (mode byte included in
    ``stripe``; its layout checked), each checked against the palette (rule index)."""
    indices = unpacked_indices(stripe[1:], rows * width, uncoded_bits(stripe[0], palette_size))
    indices = indices.reshape(rows, width)
    if indices.size and int(indices.max()) >= palette_size:
        raise FormatError(f"an uncoded cm stripe holds index {int(indices.max())} of a "
                          f"{palette_size}-colour palette", field="index")
    return indices


def unpacked_indices(data: memoryview | bytes, pixels: int, bits: int) -> np.ndarray:
    """uint8 (pixels,) from ``data``, indices of ``bits`` each as ``packed_bytes`` writes
    them (``data`` holds at least ``packed_length(pixels, bits)`` bytes)."""
    if bits == 8:
        return np.frombuffer(data, np.uint8, count=pixels)
    planes = np.unpackbits(np.frombuffer(data, np.uint8), count=pixels * bits)
    planes = planes.reshape(pixels, bits)
    indices = np.zeros(pixels, np.uint8)
    for bit in range(bits):
        indices <<= 1
        indices |= planes[:, bit]
    return indices


def decode_stripe(stripe: memoryview, rows: int, width: int, tables: PaletteTables
                  ) -> np.ndarray:
    """uint8 (rows, width) indices of one stripe (mode byte included in ``stripe``)."""
    if stripe[0] in UNCODED_MODES:
        return stored_indices(stripe, rows, width, tables.size)
    data = coded_data(stripe)
    decoder = Decoder(data)
    lines = [bytearray(width) for _ in range(rows)]
    code_stripe(decoder, lines, width, tables,
                StripeModel(tables.channels, table_shrink_of(stripe[0])),
                encoding=False, mode=mode_of(stripe[0]), uu_offset=stripe_uu_offset(stripe))
    if decoder.read != len(data):
        raise FormatError(f"a cm stripe's coder read {decoder.read} bytes, not its "
                          f"{len(data)}", field="cm_data")
    return np.frombuffer(b"".join(lines), np.uint8).reshape(rows, width)


def one_colour_indices(stripes: list[memoryview], width: int, height: int,
                       stripe_height: int) -> np.ndarray:
    """What decoding gives for a palette of one colour, without running the coder: no
    pixel has a bit (5.3.4), so a coded stripe is valid only as the coder's 4 final bytes
    (its decoder reads those and no more, rule 28), and every index is 0. A 60-byte file
    can declare 67 MP of one colour: coded pixel by pixel, that took 2.6 s."""
    for index, (stripe, (_, rows)) in enumerate(zip(stripes, stripe_rows(height, stripe_height),
                                                    strict=True)):
        if stripe[0] in UNCODED_MODES:
            stored_indices(stripe, rows, width, 1)
        elif len(coded_data(stripe)) != CODER_FINAL_BYTES:
            raise FormatError(f"cm stripe {index} of one colour holds "
                              f"{len(coded_data(stripe))} bytes of coded data, not the "
                              f"coder's {CODER_FINAL_BYTES}", field="cm_data")
    return np.zeros((height, width), np.uint8)


def decode_body(body: memoryview | bytes, width: int, height: int, palette: np.ndarray,
                compact: bool = False) -> np.ndarray:
    """uint8 (height, width) indices from method cm's body (its framing in the compact
    form where ``compact``)."""
    return without_blocks(body, width, height,
                          lambda image, columns, rows: _decode_stripes(image, columns, rows,
                                                                       palette, compact),
                          compact)


def _decode_stripes(body: memoryview | bytes, width: int, height: int, palette: np.ndarray,
                    compact: bool) -> np.ndarray:
    """uint8 (height, width) indices from a body without blocks (5.3.1)."""
    stripe_height, weights, stripes = split_stripes(body, width, height, palette.shape[1],
                                                    len(palette), compact)
    tables = PaletteTables(palette, weights)
    parts = [decode_stripe(stripe, rows, width, tables)
             for stripe, (_, rows) in zip(stripes, stripe_rows(height, stripe_height),
                                             strict=True)]
    return np.concatenate(parts)
