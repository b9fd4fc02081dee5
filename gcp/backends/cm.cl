/* Method cm's coder (spec/format.md, 5.3): one work-item codes or decodes whole stripes.
 *
 *   a flat pixel (L, U, UR, UL one index v) starts a span: the pixels to its right that
 *   stay flat while they are v, from the row above. "Are all v?" (3 counters mixed), and
 *   if not, "is it v?" a pixel, one counter each, up to the first that is not (5.3.4):
 *   no lookups for the pixels of a span. The pixel that is not v is coded as below.
 *
 *   neighbours L U UR UL LL UU (stripe-local, 5.3.2;   match: a pointer to an earlier
 *   UU two rows up, or where a STRIPE_CODED_UU          pixel with the same neighbours
 *   stripe puts it)                                     (in STRIPE_CODED_WIDE, the same
 *                                                       38 of WIDE_TEMPLATE);
 *                                                       row match: one that followed
 *        |                                              the same 5 indices in a row
 *        v                                                   v
 *   candidates L, U, UR, UL, LL, UU, M, R: distinct, in that order (5.3.3)
 *        |  for each, "is the pixel this one?": 5 counters -> stretch -> mixer -> squash
 *        |  (a flat pixel's first, L: 3 counters in small tables, the fast path)
 *        |  -> binary arithmetic coder (5.3.4, 5.3.6, 5.3.7)
 *        |  (in a STRIPE_RANKS stripe a pixel that is not flat has no candidates)
 *        v
 *   none of them: the anchor, the colour nearest the MED prediction from L, U, UL
 *   (while ranks are common, MED, the mean of L, U, UR, UL and two linear
 *   predictions blended by their errors, or in a smooth stripe a mean of 14
 *   neighbours, then bias-corrected); the pixel's rank
 *   among the other colours by distance from the anchor, as a unary bucket and the
 *   bits below its leading one, each from 5 counters mixed, then refined by a
 *   probability map row (lpaq's APM) (5.3.5)
 *
 * gcp/cm.py is the reference: the same steps in the same order, so the bytes are equal.
 * Every quantity is an integer but the anchor search's pruning bound, which only skips
 * colours that cannot be nearer. Signed >> is an arithmetic shift (floor), as in Python.
 *
 * Each work-item has its own scratch of SCRATCH_WORDS words, reset per stripe, and takes
 * the next job left (a counter in ``next_job``, from 0) until none is: scratch grows with
 * work-items, not stripes, and a core that ends its stripe early takes another.
 * Built with -D for HASH_BITS, COUNT_LIMIT, MIXER_RATE, MIXER_SHIFT, WEIGHT_START,
 * WEIGHT_LIMIT, ROW_MATCH_WIDTH, ROW_MATCH_STEP, ROW_MATCH_BITS, BIAS_VALUES (B, N, C and
 * the PREDICTORS' error sums per bias context and channel), PREDICTORS,
 * BLEND_WEIGHT_ONE, APM_RATE and APM_START_VALUES (a rank map row's cells at the start),
 * WIDE_TEMPLATE_SIZE, WIDE_TEMPLATE_VALUES (dx, dy pairs), OUTSIDE_TEMPLATE and
 * WIDE_KEY_TAG, taken from gcp/cm.py, HOST_SCRATCH_WORDS, the host's scratch size, and
 * PREFETCH_LINES (1 on a CPU device: see PREFETCH).
 */

#define SLOT_COUNT 8
#define SLOT_R 7
#define NEIGHBOURS 6
#define MATCH_STATES 9
#define PATTERN_COUNT 64
#define DIRECT_CONTEXTS (SLOT_COUNT * MATCH_STATES * PATTERN_COUNT)
#define ANCHOR_PLACES 16
#define ANCHOR_CONTEXTS (SLOT_COUNT * ANCHOR_PLACES * PATTERN_COUNT)
#define HASH_SIZE (1u << HASH_BITS)
#define MODEL_COUNT 5
#define MIXER_INPUTS (MODEL_COUNT + 1)
#define MIXER_SETS (SLOT_COUNT * MATCH_STATES)
#define MATCH_COUNT_LIMIT 3
#define PROBABILITY_START 32768u
#define BIAS_INPUT 256
#define MAX_BUCKET 9
#define RANK_SPREAD 8
#define ACTIVITY_LEVELS 8
#define UNARY_CONTEXTS ((MAX_BUCKET - 1) * RANK_SPREAD * ACTIVITY_LEVELS)
#define RANK_CONTEXTS (2 * UNARY_CONTEXTS)
#define RANK_STEPS 72        /* 8 unary bits, then 8 buckets x 8 bit positions */
#define RANK_INPUTS 6        /* 5 counters and a bias */
#define RANK_WEIGHT_START 21845
#define RANK_NEAR_LIMIT 15
#define GRADIENT_LEVELS 9
#define BIAS_CONTEXTS (GRADIENT_LEVELS * GRADIENT_LEVELS * GRADIENT_LEVELS)
#define BIAS_COUNT_LIMIT 64
#define BIAS_LIMIT 127
#define BIAS_SHARE 8
#define MAX_CHANNELS 4
#define FLAT_PATTERN 15u     /* pattern bits L == U, L == UL, U == UR, U == UL */
#define FLAT_INPUTS 4        /* 3 counters and a bias */
#define FLAT_VALUE_CONTEXTS (MATCH_STATES * 256)
#define FLAT_HASH_BITS 12
#define FLAT_WEIGHT_START 21845
#define SPAN_BUCKETS 16u
#define SPAN_MATCH_STATES 3u
#define SPAN_DIRECT_CONTEXTS (SPAN_BUCKETS * SPAN_MATCH_STATES * 4)
#define SPAN_VALUE_CONTEXTS (SPAN_BUCKETS * 256)
#define SPAN_INPUTS 4        /* 3 counters and a bias */
#define SPAN_WEIGHT_START 21845
#define SPAN_END_LIMIT 3u
#define SPAN_PIXEL_CONTEXTS (SPAN_BUCKETS * 2 * (SPAN_END_LIMIT + 1) * 2 * SPAN_MATCH_STATES)
#define NO_END 256u
#define HASH_START 0x9E3779B1u
#define HASH_MULTIPLIER 0x2545F491u
#define LINE_MASK 7u         /* a line of 8 counters: 32 bytes, within a cache line */
#define MATCH_EMPTY 0xFFFFFFFFu
#define ROW_MATCH_SIZE (1u << ROW_MATCH_BITS)

/* Scratch, in 32-bit words: counters (p | n << 16) of the direct model, then of the three
 * hashed models, then of the anchor model; the match table and the row match's (a
 * position in the stripe, or MATCH_EMPTY); the mixer's weights; the rank counters; the
 * rank mixer's weights; the bias table (B, N, C, E_med, E_average per context and
 * channel, as ints); the flat pixels' weights and their two tables of counters; the rank
 * counters by step and bias context; the rank map; the spans' counters and weights; the
 * row repeats' counters. */
#define DIRECT_AT 0
#define HASHED_AT DIRECT_CONTEXTS
#define ANCHOR_MODEL_AT (HASHED_AT + 3 * HASH_SIZE)
#define MATCH_AT (ANCHOR_MODEL_AT + ANCHOR_CONTEXTS)
#define ROW_MATCH_AT (MATCH_AT + HASH_SIZE)
#define WEIGHTS_AT (ROW_MATCH_AT + ROW_MATCH_SIZE)
#define RANKS_AT (WEIGHTS_AT + MIXER_SETS * MIXER_INPUTS)
#define RANK_WEIGHTS_AT (RANKS_AT + RANK_CONTEXTS)
#define BIAS_AT (RANK_WEIGHTS_AT + RANK_STEPS * RANK_INPUTS)
#define FLAT_WEIGHTS_AT (BIAS_AT + BIAS_CONTEXTS * MAX_CHANNELS * BIAS_VALUES)
#define FLAT_VALUES_AT (FLAT_WEIGHTS_AT + MATCH_STATES * FLAT_INPUTS)
#define FLAT_HASHED_AT (FLAT_VALUES_AT + FLAT_VALUE_CONTEXTS)
#define GRADIENT_RANKS_AT (FLAT_HASHED_AT + (1u << FLAT_HASH_BITS))
#define RANK_MAP_AT (GRADIENT_RANKS_AT + RANK_STEPS * BIAS_CONTEXTS)
#define APM_CELLS 33
#define SPAN_DIRECT_AT (RANK_MAP_AT + RANK_CONTEXTS * APM_CELLS)
#define SPAN_VALUES_AT (SPAN_DIRECT_AT + SPAN_DIRECT_CONTEXTS)
#define SPAN_HASHED_AT (SPAN_VALUES_AT + SPAN_VALUE_CONTEXTS)
#define SPAN_PIXELS_AT (SPAN_HASHED_AT + (1u << FLAT_HASH_BITS))
#define SPAN_WEIGHTS_AT (SPAN_PIXELS_AT + SPAN_PIXEL_CONTEXTS)
#define ROW_REPEATS_AT (SPAN_WEIGHTS_AT + SPAN_BUCKETS * SPAN_INPUTS)
#define ROW_REPEAT_CONTEXTS 2u
#define SCRATCH_WORDS (ROW_REPEATS_AT + ROW_REPEAT_CONTEXTS)
/* The host allocates HOST_SCRATCH_WORDS a work-item (cm_opencl.py): the build fails here
 * if the two layouts disagree. */
typedef char scratch_words_agree[SCRATCH_WORDS == HOST_SCRATCH_WORDS ? 1 : -1];

/* Inlined into their callers, where the counts are constants: POCL otherwise calls
 * mix_and_code out of line with its inputs stored to and reloaded from the stack. The
 * attribute is Clang's (POCL, NVIDIA, Intel and AMD compile OpenCL C with Clang); any
 * other compiler gets a plain inline. */
#ifdef __clang__
#define INLINE inline __attribute__((always_inline))
#else
#define INLINE inline
#endif

/* UNROLLED, before a loop whose count is a constant once inlined (a mixer's inputs, a
 * hash's values, the neighbours, the predictions): unroll it whole. POCL compiles OpenCL C
 * with loop unrolling off (its front end marks every loop llvm.loop.unroll.disable, for
 * its work-group vectorizer to choose), so without the pragma the mixer ran as a loop of
 * five with its inputs on the stack: a stripe took 1.13-1.19x the time Clang's -O2 build
 * of the same source as C took (benchmarks/README.md). */
#ifdef __clang__
#define UNROLLED _Pragma("unroll")
#else
#define UNROLLED
#endif

/* PREFETCH(p): a hint that the line at p is read soon, so that cache misses overlap the
 * work before it; it changes no result. The host builds with PREFETCH_LINES=1 for CPU
 * devices, where Clang's builtin becomes a prefetch instruction that retires at once (a
 * plain load that misses holds up every instruction after it). Elsewhere it is nothing. */
#if defined(__has_builtin)
#if PREFETCH_LINES && __has_builtin(__builtin_prefetch)
#define PREFETCH(p) __builtin_prefetch(p)
#endif
#endif
#ifndef PREFETCH
#define PREFETCH(p) ((void)0)
#endif

/* SCALAR_LOOP before a loop keeps Clang from vectorizing it. A loop over an array of
 * counter pointers becomes a vector gather, which on AMD Zen 5 takes longer than the
 * scalar loads it replaces: kept scalar, the mixer's loop made 16.8-MP decodes 1.13-1.3x
 * faster. Elsewhere it is nothing. */
#ifdef __clang__
#define SCALAR_LOOP _Pragma("clang loop vectorize(disable)")
#else
#define SCALAR_LOOP
#endif

/* The coded stripe modes (5.3.1). */
#define STRIPE_RANKS 2u
#define STRIPE_CODED_SMOOTH 4u
#define STRIPE_RANKS_SMOOTH 5u
#define STRIPE_CODED_UU 6u
#define STRIPE_CODED_WIDE 7u

#define STATUS_OK 0
#define STATUS_OVERFLOW 1   /* encoder: coded is no shorter than stored */
#define STATUS_BAD_RANK 2   /* decoder: a rank past the colours left */
#define STATUS_BAD_LENGTH 3 /* decoder: the coder read more or fewer bytes than the stripe's */

/* What the model reads of the palette, and its fixed tables. */
typedef struct {
    uint size, channels;
    global const uchar *colours;     /* size x channels */
    global const uint *weights;      /* channels: each channel's weight in a distance */
    global const uchar *order;       /* size x size: by distance from each colour */
    global const uchar *ranks;       /* size x size: the inverse of order */
    global const uint *distances;    /* size x size: distance to order[a][j], below 2^24 */
    constant short *stretch, *knots;
    constant uint *reciprocals;
} Palette;

/* The binary arithmetic coder (5.3.7), encoding or decoding. */
typedef struct {
    uint low, high, x;
    global uchar *out;       /* encoder */
    global const uchar *in;  /* decoder */
    ulong at, length, limit; /* bytes written or read; the stripe's length; the cap */
    int encoding, overflow;
} Coder;

static INLINE uint coder_code(Coder *c, uint p, int bit)
{
    uint mid = c->low + ((c->high - c->low) >> 12) * p;
    if (!c->encoding)
        bit = c->x <= mid;
    if (bit)
        c->high = mid;
    else
        c->low = mid + 1;
    while (((c->low ^ c->high) & 0xFF000000u) == 0) {
        if (c->encoding) {
            if (c->at + 4 >= c->limit)
                c->overflow = 1;
            else
                c->out[c->at] = (uchar)(c->high >> 24);
            c->at++;
        } else {
            uchar next = c->at < c->length ? c->in[c->at] : 0;
            c->at++;
            c->x = (c->x << 8) | next;
        }
        c->low <<= 8;
        c->high = (c->high << 8) | 0xFFu;
    }
    return (uint)bit;
}

/* Integer clamps written out: POCL calls its library's clamp() out of line, which cost
 * 6.5% of an encode at k = 256. */
static inline int clamp_int(int x, int low, int high)
{
    return x < low ? low : (x > high ? high : x);
}

static inline long clamp_long(long x, long low, long high)
{
    return x < low ? low : (x > high ? high : x);
}

/* min and max likewise: POCL's are library calls too. */
static inline int min_int(int a, int b)
{
    return a < b ? a : b;
}

static inline int max_int(int a, int b)
{
    return a > b ? a : b;
}

static inline uint min_uint(uint a, uint b)
{
    return a < b ? a : b;
}

/* abs likewise (0.5% of a decode at k = 256 in perf). */
static inline int abs_int(int x)
{
    return x < 0 ? -x : x;
}

static INLINE int squash(int d, constant short *knots)
{
    d = clamp_int(d, -2047, 2047);
    int t = d + 2048;
    int i = t >> 7, w = t & 127;
    return (knots[i] * (128 - w) + knots[i + 1] * w + 64) >> 7;
}

/* p moves toward the bit by about 1 / (n + 2); n counts up to COUNT_LIMIT (5.3.4). */
static INLINE void counter_update(global uint *counter, int bit,
                                  constant uint *reciprocals)
{
    uint state = *counter;
    uint p = state & 0xFFFFu, n = state >> 16;
    uint r = reciprocals[n];
    if (bit)
        p += ((65536u - p) * r) >> 16;
    else
        p -= (p * r) >> 16;
    if (n < COUNT_LIMIT)
        n++;
    *counter = p | (n << 16);
}

/* A ``bits``-bit table index for ``count`` small integers (5.3.2). */
static uint hash_bits(const uint *values, int count, int bits)
{
    uint h = HASH_START;
    UNROLLED
    for (int i = 0; i < count; i++)
        h = (h ^ values[i]) * HASH_MULTIPLIER;
    return h >> (32 - bits);
}

static uint hash_values(const uint *values, int count)
{
    return hash_bits(values, count, HASH_BITS);
}

/* A map row's cells at the start: squash at the logits -2048, -1920 ... 2048, in 16 bits. */
constant uint APM_START[APM_CELLS] = {APM_START_VALUES};

/* A stripe's coding (code_stripe): its mode byte is the low byte, stripe_mode in its low
 * 4 bits and table_shrink in its high 4; models 1 to 3 and the match index their tables
 * of HASH_SIZE entries within table_mask_of (5.3.1). */
static inline uint mode_of(uint coding)
{
    return coding & 0x0Fu;
}

static inline uint table_mask_of(uint coding)
{
    return (HASH_SIZE - 1u) >> ((coding >> 4) & 0x0Fu);
}

/* Every table fresh for a stripe of ``coding``: of models 1 to 3 and the match, the
 * entries its table_shrink lets it read, and no more. */
static void reset_scratch(global uint *scratch, uint coding)
{
    uint used = table_mask_of(coding) + 1u;
    for (uint i = 0; i < HASHED_AT; i++)
        scratch[i] = PROBABILITY_START;
    for (uint m = 0; m < 3; m++)
        for (uint i = 0; i < used; i++)
            scratch[HASHED_AT + m * HASH_SIZE + i] = PROBABILITY_START;
    for (uint i = ANCHOR_MODEL_AT; i < MATCH_AT; i++)
        scratch[i] = PROBABILITY_START;
    for (uint i = 0; i < used; i++)
        scratch[MATCH_AT + i] = MATCH_EMPTY;
    for (uint i = ROW_MATCH_AT; i < WEIGHTS_AT; i++)
        scratch[i] = MATCH_EMPTY;
    for (uint i = 0; i < MIXER_SETS * MIXER_INPUTS; i++)
        scratch[WEIGHTS_AT + i] = (i % MIXER_INPUTS) < MODEL_COUNT ? WEIGHT_START : 0;
    for (uint i = RANKS_AT; i < RANK_WEIGHTS_AT; i++)
        scratch[i] = PROBABILITY_START;
    for (uint i = 0; i < RANK_STEPS * RANK_INPUTS; i++)
        scratch[RANK_WEIGHTS_AT + i] = (i % RANK_INPUTS) < RANK_INPUTS - 1 ? RANK_WEIGHT_START : 0;
    for (uint i = 0; i < BIAS_CONTEXTS * MAX_CHANNELS * BIAS_VALUES; i++)
        scratch[BIAS_AT + i] = i % BIAS_VALUES == 1;  /* N = 1; B, C and the error sums 0 */
    for (uint i = 0; i < MATCH_STATES * FLAT_INPUTS; i++)
        scratch[FLAT_WEIGHTS_AT + i] = (i % FLAT_INPUTS) < FLAT_INPUTS - 1 ? FLAT_WEIGHT_START : 0;
    for (uint i = FLAT_VALUES_AT; i < RANK_MAP_AT; i++)
        scratch[i] = PROBABILITY_START;
    for (uint i = 0; i < RANK_CONTEXTS * APM_CELLS; i++)
        scratch[RANK_MAP_AT + i] = APM_START[i % APM_CELLS];
    for (uint i = SPAN_DIRECT_AT; i < SPAN_WEIGHTS_AT; i++)
        scratch[i] = PROBABILITY_START;
    for (uint i = 0; i < SPAN_BUCKETS * SPAN_INPUTS; i++)
        scratch[SPAN_WEIGHTS_AT + i] = (i % SPAN_INPUTS) < SPAN_INPUTS - 1 ? SPAN_WEIGHT_START : 0;
    for (uint i = 0; i < ROW_REPEAT_CONTEXTS; i++)
        scratch[ROW_REPEATS_AT + i] = PROBABILITY_START;
}

/* Code a bit with ``count`` counters' predictions and a bias mixed by ``weights``
 * (count + 1 of them), then let the weights and the counters learn it (5.3.4). */
static INLINE int mix_and_code(Coder *c, int bit, global uint *const *counters,
                               int count, global int *weights, const Palette *pal,
                               global uint *cells)
{
    /* The dot product is summed as each input is read: a separate loop over s[] was
     * vectorized, and its vector load of the scalars just stored stalled on store
     * forwarding (5-6% of a decode's samples in perf). Integer sums: the order is free. */
    int s[MIXER_INPUTS];
    long dot = (long)weights[count] * BIAS_INPUT;
    SCALAR_LOOP
    UNROLLED
    for (int m = 0; m < count; m++) {
        s[m] = pal->stretch[(*counters[m] & 0xFFFFu) >> 4];
        dot += (long)weights[m] * s[m];
    }
    s[count] = BIAS_INPUT;
    int p = clamp_int(squash((int)clamp_long(dot >> 16, -2048L, 2048L), pal->knots), 1, 4095);
    if (cells) {
        /* A rank bit: the mean of p and the map row interpolated at p's logit (5.3.5). */
        uint t = (uint)(pal->stretch[p] + 2048), low = t >> 7, w = t & 127u;
        int mapped = (int)((cells[low] * (128u - w) + cells[low + 1] * w) >> 11);
        bit = (int)coder_code(c, (uint)clamp_int((p + mapped) >> 1, 1, 4095), bit);
        global uint *nearer = cells + (w < 64 ? low : low + 1);
        *nearer = (uint)((int)*nearer + ((((int)bit << 16) - (int)*nearer) >> APM_RATE));
    } else {
        bit = (int)coder_code(c, (uint)p, bit);
    }
    int error = ((bit << 12) - p) * MIXER_RATE;
    UNROLLED
    for (int i = 0; i <= count; i++)
        weights[i] = clamp_int(weights[i] + ((s[i] * error) >> MIXER_SHIFT),
                               -WEIGHT_LIMIT, WEIGHT_LIMIT);
    UNROLLED
    for (int m = 0; m < count; m++)
        counter_update(counters[m], bit, pal->reciprocals);
    return bit;
}

/* One "is it this candidate?" decision: five counters mixed, coded, learnt (5.3.4). */
static INLINE int code_candidate(Coder *c, global uint *scratch, int bit,
                                 const uint *contexts, uint mixer, const Palette *pal)
{
    global uint *counters[MODEL_COUNT];
    counters[0] = scratch + DIRECT_AT + contexts[0];
    UNROLLED
    for (int m = 1; m < 4; m++)
        counters[m] = scratch + HASHED_AT + (uint)(m - 1) * HASH_SIZE + contexts[m];
    counters[4] = scratch + ANCHOR_MODEL_AT + contexts[4];
    global int *weights = (global int *)(scratch + WEIGHTS_AT) + mixer * MIXER_INPUTS;
    return mix_and_code(c, bit, counters, MODEL_COUNT, weights, pal, 0);
}

/* A flat pixel's "is it L?" (L, U, UL and UR all one index): model 0's counter and two
 * counters in small tables, by L and by (L, LL, UU), mixed by the match state's weights:
 * no hashed table, no anchor (5.3.4). */
static INLINE int code_flat(Coder *c, global uint *scratch, int bit, const uint *near,
                            uint state, uint pattern, const Palette *pal)
{
    uint by_neighbours[3] = {near[0], near[4], near[5]};
    global uint *counters[FLAT_INPUTS - 1];
    counters[0] = scratch + DIRECT_AT + state * PATTERN_COUNT + pattern;
    counters[1] = scratch + FLAT_VALUES_AT + state * 256 + near[0];
    counters[2] = scratch + FLAT_HASHED_AT + hash_bits(by_neighbours, 3, FLAT_HASH_BITS);
    global int *weights = (global int *)(scratch + FLAT_WEIGHTS_AT) + state * FLAT_INPUTS;
    return mix_and_code(c, bit, counters, FLAT_INPUTS - 1, weights, pal, 0);
}

/* Where a rank bit's counters lie (5.3.5): the rank counter, two hashed counters (in the
 * tables of models 1 and 3), a counter by step and bias context and one by the anchor
 * alone (in model 2's table), the hashed ones within the stripe's ``table_mask``. The
 * coder and the encoder's prefetch both ask here. */
static INLINE void rank_counters_at(global uint *scratch, const uint *contexts,
                                    uint table_mask, global uint **counters)
{
    counters[0] = scratch + RANKS_AT + contexts[0];
    counters[1] = scratch + HASHED_AT + (contexts[1] & table_mask);
    counters[2] = scratch + HASHED_AT + 2 * HASH_SIZE + (contexts[2] & table_mask);
    counters[3] = scratch + GRADIENT_RANKS_AT + contexts[3];
    counters[4] = scratch + HASHED_AT + HASH_SIZE + (contexts[4] & table_mask);
}

/* One bit of a rank: its five counters mixed by the step's weights (5.3.5). */
static INLINE int code_rank_bit(Coder *c, global uint *scratch, int bit,
                                const uint *contexts, uint step, const Palette *pal,
                                uint table_mask)
{
    global uint *counters[RANK_INPUTS - 1];
    rank_counters_at(scratch, contexts, table_mask, counters);
    global int *weights = (global int *)(scratch + RANK_WEIGHTS_AT) + step * RANK_INPUTS;
    return mix_and_code(c, bit, counters, RANK_INPUTS - 1, weights, pal,
                        scratch + RANK_MAP_AT + contexts[0] * APM_CELLS);
}

/* The first counters of the lines a rank's unary bits read in models 1, 2 and 3: the
 * eight steps of a context share a line of counters. */
static INLINE void unary_rank_lines(uint *lines, uint anchor, const uint *near_ranks)
{
    uint unary_neighbours[3] = {5, near_ranks[0], near_ranks[1]};
    uint unary_anchor[3] = {6, anchor, near_ranks[2]};
    uint unary_anchor_alone[2] = {8, anchor};
    lines[0] = hash_values(unary_neighbours, 3) & ~LINE_MASK;
    lines[1] = hash_values(unary_anchor, 3) & ~LINE_MASK;
    lines[2] = hash_values(unary_anchor_alone, 2) & ~LINE_MASK;
}

/* The five contexts of unary rank bit ``step`` from its ``lines`` (unary_rank_lines). */
static INLINE void unary_contexts(uint *contexts, uint direct, uint step, uint gradients,
                                  const uint *lines)
{
    contexts[0] = direct;
    contexts[1] = lines[0] + step;
    contexts[2] = lines[1] + step;
    contexts[3] = step * BIAS_CONTEXTS + gradients;
    contexts[4] = lines[2] + step;
}

/* The five contexts of a rank bit at ``step``; ``partial`` is the value's bits so far
 * (0 for a unary bit, and not used there). */
static INLINE void rank_contexts(uint *contexts, uint direct, uint step, uint partial,
                                 uint anchor, const uint *near_ranks, uint gradients)
{
    if (step < MAX_BUCKET - 1) {
        uint lines[3];
        unary_rank_lines(lines, anchor, near_ranks);
        unary_contexts(contexts, direct, step, gradients, lines);
        return;
    }
    contexts[0] = direct;
    contexts[3] = step * BIAS_CONTEXTS + gradients;
    uint by_neighbours[4] = {5, step, near_ranks[0], near_ranks[1]};
    uint by_anchor[5] = {6, step, anchor, partial, near_ranks[2]};
    contexts[1] = hash_values(by_neighbours, 4);
    contexts[2] = hash_values(by_anchor, 5);
    uint by_anchor_alone[4] = {8, step, anchor, partial};
    contexts[4] = hash_values(by_anchor_alone, 4);
}

static int bit_length(uint v)
{
    return v ? 32 - clz(v) : 0;
}

/* Per channel, the MED prediction from the colours of L, U and UL (5.3.5). */
static void med_prediction(const uint *near, const Palette *pal, int *predicted)
{
    uint channels = pal->channels;
    global const uchar *pl = pal->colours + near[0] * channels;
    global const uchar *pu = pal->colours + near[1] * channels;
    global const uchar *pul = pal->colours + near[3] * channels;
    for (uint ch = 0; ch < channels; ch++) {
        int a = pl[ch], b = pu[ch], corner = pul[ch];
        int high = max_int(a, b), low = min_int(a, b);
        predicted[ch] = corner >= high ? low : (corner <= low ? high : a + b - corner);
    }
}

/* A gradient summed over ``channels``, as one of GRADIENT_LEVELS (4 for 0). */
static uint gradient_level(int g, int channels)
{
    int size = abs_int(g);
    int level = size == 0 ? 0 : 1 + (size >= 3 * channels) + (size >= 7 * channels)
                                  + (size >= 21 * channels);
    return (uint)(g > 0 ? 4 + level : 4 - level);
}

/* The bias context from the gradients UR - U, U - UL and UL - L summed over channels. */
static uint bias_context(const uint *near, const Palette *pal)
{
    uint channels = pal->channels;
    int g1 = 0, g2 = 0, g3 = 0;
    for (uint ch = 0; ch < channels; ch++) {
        int l = pal->colours[near[0] * channels + ch], u = pal->colours[near[1] * channels + ch];
        int ur = pal->colours[near[2] * channels + ch];
        int ul = pal->colours[near[3] * channels + ch];
        g1 += ur - u;
        g2 += u - ul;
        g3 += ul - l;
    }
    return (gradient_level(g1, (int)channels) * GRADIENT_LEVELS
            + gradient_level(g2, (int)channels)) * GRADIENT_LEVELS
           + gradient_level(g3, (int)channels);
}

/* Per channel, the four predictions of 5.3.5 (MED, given in ``med``; the rounded mean
 * of L, U, UR and UL; the mean of 2L - LL and 2U - UU; L + UR - U), kept in ``guesses``
 * (PREDICTORS x MAX_CHANNELS). */
static void predictions(const int *med, const uint *near, const Palette *pal,
                        int guesses[PREDICTORS][MAX_CHANNELS])
{
    uint channels = pal->channels;
    for (uint ch = 0; ch < channels; ch++) {
        int l = pal->colours[near[0] * channels + ch], u = pal->colours[near[1] * channels + ch];
        int ur = pal->colours[near[2] * channels + ch], ul = pal->colours[near[3] * channels + ch];
        int ll = pal->colours[near[4] * channels + ch], uu = pal->colours[near[5] * channels + ch];
        guesses[0][ch] = med[ch];
        guesses[1][ch] = (l + u + ur + ul + 2) >> 2;
        guesses[2][ch] = clamp_int((2 * l - ll + 2 * u - uu + 1) >> 1, 0, 255);
        guesses[3][ch] = clamp_int(l + ur - u, 0, 255);
    }
}

/* Per channel, the blend of the ``guesses``, each weighed by BLEND_WEIGHT_ONE over
 * (E + 1)^3, E its absolute error sum in the bias context (``bias``: BIAS_VALUES per
 * channel). Weights are at least 2^10 and at most 2^52: 64-bit sums hold every step. */
static void blend(int guesses[PREDICTORS][MAX_CHANNELS], global const int *bias,
                  uint channels, int *blended)
{
    for (uint ch = 0; ch < channels; ch++) {
        global const int *b = bias + BIAS_VALUES * ch;
        long weighed = 0, total = 0;
        UNROLLED
        for (uint i = 0; i < PREDICTORS; i++) {
            long e = (long)b[3 + i] + 1;
            long weight = BLEND_WEIGHT_ONE / (e * e * e);
            weighed += weight * guesses[i][ch];
            total += weight;
        }
        blended[ch] = (int)((weighed + (total >> 1)) / total);
    }
}

/* Per channel, a smooth stripe's prediction in place of the blend (5.3.5): 14 neighbours
 * of pixel x of ``row`` weighed 4 (L, U, UR, UL), 2 (LL, UU, UUL, UUR, ULL, URR) and 1
 * (LLL, UULL, UURR, UUU), (sum + 16) >> 5. ``above`` to ``above3`` are the rows one to
 * three above in the stripe, or 0; a neighbour outside the stripe or the row takes a
 * nearer one's index, as ``neighbours_of`` does. */
static void smooth_prediction(global const uchar *row, global const uchar *above,
                              global const uchar *above2, global const uchar *above3, uint x,
                              uint width, const uint *near, const Palette *pal,
                              int *predicted)
{
    uint far[8];
    far[0] = above2 && x >= 1 ? above2[x - 1] : near[3];          /* UUL, else UL */
    far[1] = above2 && x + 1 < width ? above2[x + 1] : near[2];   /* UUR, else UR */
    far[2] = above && x >= 2 ? above[x - 2] : near[3];            /* ULL, else UL */
    far[3] = above && x + 2 < width ? above[x + 2] : near[2];     /* URR, else UR */
    far[4] = x >= 3 ? row[x - 3] : near[4];                       /* LLL, else LL */
    far[5] = above2 && x >= 2 ? above2[x - 2] : far[0];           /* UULL, else UUL */
    far[6] = above2 && x + 2 < width ? above2[x + 2] : far[1];    /* UURR, else UUR */
    far[7] = above3 ? above3[x] : near[5];                        /* UUU, else UU */
    uint channels = pal->channels;
    for (uint ch = 0; ch < channels; ch++) {
        global const uchar *c = pal->colours + ch;
        int nearest = c[near[0] * channels] + c[near[1] * channels] + c[near[2] * channels]
                      + c[near[3] * channels];
        int second = c[near[4] * channels] + c[near[5] * channels] + c[far[0] * channels]
                     + c[far[1] * channels] + c[far[2] * channels] + c[far[3] * channels];
        int third = c[far[4] * channels] + c[far[5] * channels] + c[far[6] * channels]
                    + c[far[7] * channels];
        predicted[ch] = (4 * nearest + 2 * second + third + 16) >> 5;
    }
}

/* LOCO-I's bias cancellation on one context and channel, bias = {B, N, C, then the
 * predictors' absolute error sums}; ``guess_errors`` add up alike (5.3.5). */
static void bias_update(global int *bias, int error, const int *guess_errors)
{
    int b = bias[0] + error, n = bias[1], c = bias[2];
    int sums[PREDICTORS];
    UNROLLED
    for (uint i = 0; i < PREDICTORS; i++)
        sums[i] = bias[3 + i] + abs_int(guess_errors[i]);
    if (n == BIAS_COUNT_LIMIT) {
        b >>= 1;
        n >>= 1;
        UNROLLED
        for (uint i = 0; i < PREDICTORS; i++)
            sums[i] >>= 1;
    }
    n++;
    if (b <= -n) {
        c = max_int(c - 1, -BIAS_LIMIT);
        b = max_int(b + n, -n + 1);
    } else if (b > 0) {
        c = min_int(c + 1, BIAS_LIMIT);
        b = min_int(b - n, 0);
    }
    bias[0] = b;
    bias[1] = n;
    bias[2] = c;
    UNROLLED
    for (uint i = 0; i < PREDICTORS; i++)
        bias[3 + i] = sums[i];
}

/* The colour nearest ``predicted`` by weighted squared distance; ties to the one first in
 * L's order (5.3.5). */
static uint nearest_colour(const int *predicted, uint left, const Palette *pal)
{
    uint channels = pal->channels;
    global const uchar *pl = pal->colours + left * channels;
    uint to_prediction = 0;
    for (uint ch = 0; ch < channels; ch++)
        to_prediction += pal->weights[ch]
                         * (uint)((pl[ch] - predicted[ch]) * (pl[ch] - predicted[ch]));
    global const uchar *order = pal->order + (ulong)left * pal->size;
    global const uint *from_left = pal->distances + (ulong)left * pal->size;
    /* Colours come by distance from L: one at D > (sqrt(best) + sqrt(to_prediction))^2
     * cannot be nearer the prediction (triangle inequality). In integers, with no sqrt
     * (a library call in POCL, 1.4% of a decode at k = 256): a = D - best - to_prediction
     * > 0 and a^2 > 4 best to_prediction. Distances are below 2^24, so a^2 < 2^48. */
    uint best = 0xFFFFFFFFu, anchor = left;
    for (uint j = 0; j < pal->size; j++) {
        long beyond = (long)from_left[j] - (long)best - (long)to_prediction;
        if (best != 0xFFFFFFFFu && beyond > 0
            && beyond * beyond > 4 * (long)best * (long)to_prediction)
            break;
        uint v = order[j];
        uint d = 0;
        for (uint ch = 0; ch < channels; ch++) {
            int e = (int)pal->colours[v * channels + ch] - predicted[ch];
            d += pal->weights[ch] * (uint)(e * e);
        }
        if (d < best) {
            best = d;
            anchor = v;
        }
    }
    return anchor;
}

/* The colour nearest the MED prediction. Where two of L, U and UL are equal the MED
 * prediction is L's or U's colour, and the nearest colour is the first index of that
 * colour, order[L][0] or order[U][0]: no search. */
static uint med_anchor(const uint *near, const int *predicted, const Palette *pal)
{
    if (near[0] == near[1] || near[3] == near[1])
        return pal->order[(ulong)near[0] * pal->size];
    if (near[3] == near[0])
        return pal->order[(ulong)near[1] * pal->size];
    return nearest_colour(predicted, near[0], pal);
}

/* The step of the rank bit j places below the leading one of a value in ``bucket``
 * (bucket - 2 >= j >= 0): a node of the binary part, after the unary steps (5.3.5). */
static INLINE uint rank_bit_node(int bucket, int j)
{
    uint position = (uint)min_int(bucket - 2 - j, RANK_SPREAD - 1);
    return (uint)(bucket - 2) * RANK_SPREAD + position;
}

/* Asks for the lines of a rank bit's hashed counters, those of models 1, 2 and 3. */
static INLINE void prefetch_hashed_rank_lines(global uint *scratch, const uint *contexts,
                                              uint table_mask)
{
    global uint *counters[RANK_INPUTS - 1];
    rank_counters_at(scratch, contexts, table_mask, counters);
    PREFETCH(counters[1]);
    PREFETCH(counters[2]);
    PREFETCH(counters[4]);
}

/* An encoder knows every bit of a rank before it codes the first: it asks for the lines
 * of their counters in models 1, 2 and 3, the unary bits' (one line a table: their steps
 * share it) and those of the ``bucket`` - 1 bits of ``rank`` + 1 below its leading one. */
static INLINE void prefetch_rank(global uint *scratch, int bucket, int largest_bucket,
                                 uint rank, uint anchor, const uint *near_ranks,
                                 uint gradients, uint table_mask)
{
    uint contexts[RANK_INPUTS - 1];
    if (largest_bucket > 1) {
        rank_contexts(contexts, 0, 0, 0, anchor, near_ranks, gradients);
        prefetch_hashed_rank_lines(scratch, contexts, table_mask);
    }
    uint partial = 1;
    for (int j = bucket - 2; j >= 0; j--) {
        rank_contexts(contexts, 0, MAX_BUCKET - 1 + rank_bit_node(bucket, j), partial,
                      anchor, near_ranks, gradients);
        prefetch_hashed_rank_lines(scratch, contexts, table_mask);
        partial = (partial << 1) | (((rank + 1) >> j) & 1u);
    }
}

/* A pixel that is none of the candidates: its rank among the other colours by distance
 * from the anchor (5.3.5). Returns the index, or -1 for a rank past the colours left. */
static int code_rank(Coder *c, global uint *scratch, int actual, const uint *near,
                     const uint *candidates, uint candidate_count, const Palette *pal,
                     uint anchor, uint gradients, uint table_mask)
{
    uint available = pal->size - candidate_count;
    int largest_bucket = bit_length(available);
    global const uchar *anchor_ranks = pal->ranks + (ulong)anchor * pal->size;
    uint rank = 0;
    int bucket = 1;
    if (c->encoding) {
        uint place = anchor_ranks[actual];
        rank = place;
        for (uint j = 0; j < candidate_count; j++)
            rank -= anchor_ranks[candidates[j]] < place;
        bucket = bit_length(rank + 1);
    }
    /* Where U, L and UR lie in the anchor's order, up to RANK_NEAR_LIMIT. */
    uint near_ranks[3] = {min_uint(anchor_ranks[near[1]], RANK_NEAR_LIMIT),
                          min_uint(anchor_ranks[near[0]], RANK_NEAR_LIMIT),
                          min_uint(anchor_ranks[near[2]], RANK_NEAR_LIMIT)};
    uint contexts[RANK_INPUTS - 1];
    /* With no candidates (STRIPE_RANKS) spread 7, as with 8: never both in one stripe. */
    uint spread = candidate_count ? min_uint(candidate_count - 1, RANK_SPREAD - 1)
                                  : RANK_SPREAD - 1;
    uint activity = (uint)min_int(
        bit_length(pal->ranks[(ulong)near[0] * pal->size + near[1]]), ACTIVITY_LEVELS - 1);
    if (c->encoding)
        prefetch_rank(scratch, bucket, largest_bucket, rank, anchor, near_ranks, gradients,
                      table_mask);
    uint lines[3];
    unary_rank_lines(lines, anchor, near_ranks);
    int i = 1;
    while (i < largest_bucket) {
        uint step = (uint)(i - 1);
        unary_contexts(contexts, (step * RANK_SPREAD + spread) * ACTIVITY_LEVELS + activity,
                       step, gradients, lines);
        if (!code_rank_bit(c, scratch, bucket > i, contexts, step, pal, table_mask))
            break;
        i++;
    }
    bucket = i;
    uint value = 1;
    for (int j = bucket - 2; j >= 0; j--) {
        uint node = rank_bit_node(bucket, j);
        rank_contexts(contexts, UNARY_CONTEXTS + node * ACTIVITY_LEVELS + activity,
                      MAX_BUCKET - 1 + node, value, anchor, near_ranks, gradients);
        int want = (int)((rank + 1) >> j) & 1;
        value = (value << 1) | (uint)code_rank_bit(c, scratch, want, contexts,
                                                   MAX_BUCKET - 1 + node, pal, table_mask);
    }
    if (c->encoding)
        return actual;
    rank = value - 1;
    if (rank >= available)
        return -1;
    global const uchar *order = pal->order + (ulong)anchor * pal->size;
    uint seen = 0;
    for (uint j = 0; j < pal->size; j++) {
        uint v = order[j];
        int taken = 0;
        for (uint t = 0; t < candidate_count; t++)
            taken |= candidates[t] == v;
        if (taken)
            continue;
        if (seen == rank)
            return (int)v;
        seen++;
    }
    return -1;
}

/* The neighbours L, U, UR, UL, LL, UU of pixel x of ``row`` (5.3.2); ``above`` is the
 * row above in the stripe, ``uu_row`` the row UU is on (uu_rows up), or 0, and UU is
 * ``uu_dx`` columns across from x. */
static INLINE void neighbours_of(global const uchar *row, global const uchar *above,
                                 global const uchar *uu_row, int uu_dx, uint x, uint width,
                                 uint *near)
{
    uint u = above ? above[x] : (x >= 1 ? row[x - 1] : 0u);
    uint left = x >= 1 ? row[x - 1] : u;
    near[0] = left;
    near[1] = u;
    near[2] = above && x + 1 < width ? above[x + 1] : u;
    near[3] = above && x >= 1 ? above[x - 1] : u;
    near[4] = x >= 2 ? row[x - 2] : left;
    int uu_x = (int)x + uu_dx;
    near[5] = uu_row && uu_x >= 0 && uu_x < (int)width ? uu_row[uu_x] : u;
}

static INLINE uint pattern_of(const uint *near)
{
    return (near[0] == near[1]) | (near[0] == near[3]) << 1 | (near[1] == near[2]) << 2
           | (near[1] == near[3]) << 3 | (near[0] == near[4]) << 4 | (near[1] == near[5]) << 5;
}

/* Where a pixel with neighbours ``near`` reads: its entry in the match table; the first
 * counter of its line in model 1 (by L, U) and in model 3 (by all six neighbours); a
 * candidate's counter in model 2 (by slot, value and pattern) (5.3.3, 5.3.4). */
static INLINE uint match_entry(const uint *near)
{
    uint keyed[1 + NEIGHBOURS] = {4, near[0], near[1], near[2], near[3], near[4], near[5]};
    return hash_values(keyed, 1 + NEIGHBOURS);
}

/* A STRIPE_CODED_WIDE stripe's pixels of WIDE_TEMPLATE for pixel x of stripe row yy, at
 * keyed[1 ...], OUTSIDE_TEMPLATE off the stripe (5.3.3): hashed after WIDE_KEY_TAG for
 * the match's entry, after 3 for model 3's line (5.3.4). */
constant int WIDE_TEMPLATE[2 * WIDE_TEMPLATE_SIZE] = {WIDE_TEMPLATE_VALUES};

static void wide_template(global const uchar *rows, uint yy, uint x, uint width, uint *keyed)
{
    UNROLLED
    for (uint i = 0; i < WIDE_TEMPLATE_SIZE; i++) {
        int column = (int)x + WIDE_TEMPLATE[2 * i];
        uint up = (uint)WIDE_TEMPLATE[2 * i + 1];
        keyed[1 + i] = yy >= up && column >= 0 && column < (int)width
                       ? rows[(ulong)(yy - up) * width + (uint)column] : OUTSIDE_TEMPLATE;
    }
}

static INLINE uint pair_line_of(const uint *near)
{
    uint by_pair[3] = {1, near[0], near[1]};
    return hash_values(by_pair, 3) & ~LINE_MASK;
}

static INLINE uint all_line_of(const uint *near)
{
    uint by_all[1 + NEIGHBOURS] = {3, near[0], near[1], near[2], near[3], near[4], near[5]};
    return hash_values(by_all, 1 + NEIGHBOURS) & ~LINE_MASK;
}

static INLINE uint value_context(uint slot, uint value, uint pattern)
{
    uint by_value[4] = {2, slot, value, pattern};
    return hash_values(by_value, 4);
}

/* An encoder knows every index: while it codes pixel x it asks for the line pixel x + 1
 * reads in the match table and, where x + 1 is not flat (a flat pixel is mostly L, coded
 * by the fast path), its lines in models 1 and 3 and model 2's for its neighbours as
 * candidates. A decoder cannot: x + 1's keys hold L, which is x. */
static INLINE void prefetch_next(global const uchar *row, global const uchar *above,
                                 global const uchar *uu_row, int uu_dx, uint x, uint width,
                                 global const uint *scratch, uint table_mask)
{
    if (x + 1 >= width)
        return;
    uint near[NEIGHBOURS];
    neighbours_of(row, above, uu_row, uu_dx, x + 1, width, near);
    PREFETCH(scratch + MATCH_AT + (match_entry(near) & table_mask));
    uint pattern = pattern_of(near);
    if ((pattern & FLAT_PATTERN) == FLAT_PATTERN)
        return;
    PREFETCH(scratch + HASHED_AT + (pair_line_of(near) & table_mask));
    PREFETCH(scratch + HASHED_AT + 2 * HASH_SIZE + (all_line_of(near) & table_mask));
    uint seen[NEIGHBOURS], count = 0;
    UNROLLED
    for (uint slot = 0; slot < NEIGHBOURS; slot++) {
        int repeated = 0;
        for (uint j = 0; j < count; j++)
            repeated |= seen[j] == near[slot];
        if (repeated)
            continue;
        seen[count++] = near[slot];
        PREFETCH(scratch + HASHED_AT + HASH_SIZE
                 + (value_context(slot, near[slot], pattern) & table_mask));
    }
}

/* How many pixels from flat pixel x would be flat were they all ``value`` (5.3.4). */
/* Where a row's spans may end (5.3.4): ``end`` is the first column from ``from`` on whose
 * index above is not ``value`` (width + 1 where there is none), for the row being coded. */
typedef struct {
    uint value, from, end;
} AboveRun;
#define NO_RUN_VALUE 256u  /* no index: a row's first span always scans */

/* A span's length from flat pixel x: the largest length with I(min(j, width - 1), y - 1)
 * == value for j from x + 1 to x + length, that is, the columns from x + 2 up to the first
 * whose index above is not value (the last column's own counts as value). The end found
 * is kept in ``run``, so that the next span of the same value that starts before it
 * reads no column twice: a row of many short spans over a long run above took time
 * quadratic in the width (a 210-byte file declaring 9,000,000 columns, 40 s to refuse). */
static uint span_length(global const uchar *above, uint x, uint width, uint value,
                        AboveRun *run)
{
    if (!above)
        return width - x;
    uint from = x + 2;
    if (value != run->value || from < run->from || from > run->end) {
        uint k = from;
        while (k < width && above[k] == value)
            k++;
        run->value = value;
        run->from = from;
        run->end = k < width ? k : width + 1;
    }
    return run->end - x - 1;
}

/* A span's pixel's bit: one counter, no mixer (5.3.4). */
static INLINE int code_span_pixel(Coder *c, global uint *counter, int bit, const Palette *pal)
{
    uint p = (uint)clamp_int((int)((*counter & 0xFFFFu) >> 4), 1, 4095);
    bit = (int)coder_code(c, p, bit);
    counter_update(counter, bit, pal->reciprocals);
    return bit;
}

/* The span of ``length`` pixels from x of stripe row yy, ``value`` being L's index
 * (5.3.4): returns how many of them, from the first, are ``value`` (``length``: all;
 * fewer: the next is not), and a decoder writes them. ``match_pointer`` is the match's
 * pointer where ``match_on``; ``uu_row`` and ``uu_dx`` place UU, as in neighbours_of. */
static uint code_span(Coder *c, global uint *scratch, global uchar *rows, uint width,
                      uint yy, uint x, uint length, uint value, uint pattern,
                      uint match_on, uint match_pointer, const Palette *pal,
                      global const uchar *uu_row, int uu_dx)
{
    global uchar *row = rows + (ulong)yy * width;
    global const uchar *above = yy >= 1 ? row - width : 0;
    uint start = yy * width + x;
    uint run = length;
    if (c->encoding) {
        run = 0;
        while (run < length && row[x + run] == value)
            run++;
    }
    uint bucket = min_uint((uint)bit_length(length), SPAN_BUCKETS - 1);
    /* The first pixel where the match does not say value (length: none). */
    uint agree = length, match = 0;
    if (match_on) {
        agree = 0;
        while (agree < length && (match_pointer + agree >= start
                                  || rows[match_pointer + agree] == value))
            agree++;
        match = agree == length ? 1u : 2u;
    }
    uint end = x + length < width ? above[x + length + 1] : NO_END;
    uint above_two = 1;
    if (uu_row) {
        int last = min_int((int)(x + length) + uu_dx, (int)width - 1);
        for (int j = max_int((int)x - 1 + uu_dx, 0); j <= last && above_two; j++)
            above_two = uu_row[j] == value;
    }
    /* hash12(value, end, bucket), written out: built as an array, its scalar stores and
     * vector reload stalled the store forwarding (3% of a decode's samples in perf). */
    uint by_end = (((((HASH_START ^ value) * HASH_MULTIPLIER) ^ end) * HASH_MULTIPLIER)
                   ^ bucket) * HASH_MULTIPLIER;
    global uint *counters[SPAN_INPUTS - 1];
    counters[0] = scratch + SPAN_DIRECT_AT + (bucket * SPAN_MATCH_STATES + match) * 4
                  + above_two * 2 + ((pattern >> 4) & 1u);
    counters[1] = scratch + SPAN_VALUES_AT + bucket * 256 + value;
    counters[2] = scratch + SPAN_HASHED_AT + (by_end >> (32 - FLAT_HASH_BITS));
    global int *weights = (global int *)(scratch + SPAN_WEIGHTS_AT) + bucket * SPAN_INPUTS;
    if (!mix_and_code(c, run == length, counters, SPAN_INPUTS - 1, weights, pal, 0)) {
        /* Pixel by pixel up to the first that is not value; the last is not value
         * when all before it are. */
        uint found = length - 1;
        for (uint i = 0; i + 1 < length; i++) {
            uint says = !match_on ? 0u : i == agree ? 2u : 1u;
            int uu_x = (int)(x + i) + uu_dx;
            uint two = uu_row && uu_x >= 0 && uu_x < (int)width ? uu_row[uu_x] == value
                                                                      : 1u;
            uint context = (((bucket * 2 + two) * (SPAN_END_LIMIT + 1)
                             + min_uint(length - 1 - i, SPAN_END_LIMIT)) * 2 + (i == 0))
                           * SPAN_MATCH_STATES + says;
            if (!code_span_pixel(c, scratch + SPAN_PIXELS_AT + context, i < run, pal)) {
                found = i;
                break;
            }
        }
        run = found;
    }
    if (!c->encoding)
        for (uint i = 0; i < run; i++)
            row[x + i] = (uchar)value;
    return run;
}

/* After ``run`` pixels of a span, all ``value``: a match goes on where it predicted each
 * of them, else ends (5.3.4). */
static void follow_span(global const uchar *rows, uint *length, uint *pointer, uint run,
                        uint value)
{
    if (!*length)
        return;
    for (uint i = 0; i < run; i++)
        if (rows[*pointer + i] != value) {
            *length = 0;
            return;
        }
    *pointer += run;
    *length = min_uint(*length + run, MATCH_COUNT_LIMIT + 1);
}

/* Codes (encoding) or fills in (decoding) the row_count x width indices at ``rows``.
 * Returns STATUS_OK, STATUS_BAD_RANK or (decoding past the data's end) STATUS_BAD_LENGTH. */
static int code_stripe(Coder *c, global uchar *rows, uint width, uint row_count,
                       const Palette *pal, global uint *scratch, uint coding)
{
    /* coding: the mode byte (mode_of, table_mask_of), and for STRIPE_CODED_UU its
     * uu_rows << 8 and uu_shift (i8) << 16; UU is the pixel uu_rows up and uu_shift
     * across, else two rows up. */
    uint mode = mode_of(coding);
    uint table_mask = table_mask_of(coding);
    uint uu_dy = mode == STRIPE_CODED_UU ? (coding >> 8) & 0xFFu : 2u;
    uint shift_byte = (coding >> 16) & 0xFFu;
    int uu_dx = mode == STRIPE_CODED_UU ? (int)shift_byte - (shift_byte >= 128u ? 256 : 0) : 0;
    uint ranks_only = mode == STRIPE_RANKS || mode == STRIPE_RANKS_SMOOTH;
    uint smooth = mode == STRIPE_CODED_SMOOTH || mode == STRIPE_RANKS_SMOOTH;
    uint wide = mode == STRIPE_CODED_WIDE;
    uint match_length = 0, match_pointer = 0, ranked = 0, row_length = 0, row_pointer = 0;
    /* A STRIPE_CODED_UU stripe with uu_shift 0 says of each row from uu_rows on whether it
     * repeats the row uu_rows up (5.3.2): one bit, by whether the row before did; none
     * with one colour, which codes no bit at all (5.3.4). */
    uint row_repeats = mode == STRIPE_CODED_UU && uu_dx == 0 && pal->size > 1, repeated = 0;
    for (uint yy = 0; yy < row_count; yy++) {
        AboveRun above_run = {NO_RUN_VALUE, 0, 0};
        global uchar *row = rows + (ulong)yy * width;
        global uchar *above = yy >= 1 ? row - width : 0;
        global uchar *above2 = yy >= 2 ? row - 2 * (ulong)width : 0;
        global uchar *uu_row = yy >= uu_dy ? row - uu_dy * (ulong)width : 0;
        if (row_repeats && uu_row) {
            uint same = 1;
            if (c->encoding)
                for (uint x = 0; x < width && same; x++)
                    same = row[x] == uu_row[x];
            repeated = (uint)code_span_pixel(c, scratch + ROW_REPEATS_AT + repeated, (int)same,
                                             pal);
            if (!c->encoding && c->at > c->length)
                return STATUS_BAD_LENGTH;
            if (repeated) {
                if (!c->encoding)
                    for (uint x = 0; x < width; x++)
                        row[x] = uu_row[x];
                match_length = row_length = 0;  /* a repeated row teaches nothing */
                continue;
            }
        }
        for (uint x = 0; x < width; x++) {
            /* The neighbours and their equality pattern (5.3.2). */
            uint near[NEIGHBOURS];
            neighbours_of(row, above, uu_row, uu_dx, x, width, near);
            uint pattern = pattern_of(near);
            if (c->encoding)
                prefetch_next(row, above, uu_row, uu_dx, x, width, scratch, table_mask);
            /* A flat pixel may start a span (5.3.4). */
            uint not_left = 0;
            if ((pattern & FLAT_PATTERN) == FLAT_PATTERN && pal->size > 1) {
                uint length = span_length(above, x, width, near[0], &above_run);
                if (length >= 2) {
                    uint run = code_span(c, scratch, rows, width, yy, x, length, near[0],
                                         pattern, match_length, match_pointer, pal,
                                         uu_row, uu_dx);
                    if (!c->encoding && c->at > c->length)
                        return STATUS_BAD_LENGTH;
                    follow_span(rows, &match_length, &match_pointer, run, near[0]);
                    follow_span(rows, &row_length, &row_pointer, run, near[0]);
                    if (run == length) {
                        x += length - 1;
                        continue;
                    }
                    if (run) {
                        x += run;
                        neighbours_of(row, above, uu_row, uu_dx, x, width, near);
                        pattern = pattern_of(near);
                    }
                    not_left = 1;
                }
            }
            /* The match table's prediction and the candidates (5.3.3); in a
             * STRIPE_CODED_WIDE stripe the wide template's entry first. */
            global uint *match = scratch + MATCH_AT + (match_entry(near) & table_mask);
            global uint *wide_match = match;
            uint keyed[1 + WIDE_TEMPLATE_SIZE];
            if (wide) {
                wide_template(rows, yy, x, width, keyed);
                keyed[0] = WIDE_KEY_TAG;
                wide_match = scratch + MATCH_AT
                             + (hash_values(keyed, 1 + WIDE_TEMPLATE_SIZE) & table_mask);
            }
            uint position = yy * width + x;  /* below MAX_STRIPE_PIXELS (host-checked) */
            if (match_length == 0 && *wide_match != MATCH_EMPTY) {
                match_pointer = *wide_match;  /* the last pixel with these 38 pixels */
                match_length = 1;
            } else if (match_length == 0 && *match != MATCH_EMPTY) {
                match_pointer = *match;  /* the last pixel with these neighbours */
                match_length = 1;
            }
            int count = match_length ? (int)min_uint(match_length - 1, MATCH_COUNT_LIMIT) : -1;
            int predicted = match_length ? (int)rows[match_pointer] : -1;
            /* The row match, looked up at every ROW_MATCH_STEP-th column (5.3.3). */
            global uint *row_entry = 0;
            if (x >= ROW_MATCH_WIDTH && x % ROW_MATCH_STEP == ROW_MATCH_WIDTH % ROW_MATCH_STEP) {
                uint row_keyed[1 + ROW_MATCH_WIDTH];
                row_keyed[0] = 7;
                UNROLLED
                for (uint i = 0; i < ROW_MATCH_WIDTH; i++)
                    row_keyed[1 + i] = row[x - ROW_MATCH_WIDTH + i];
                row_entry = scratch + ROW_MATCH_AT
                            + hash_bits(row_keyed, 1 + ROW_MATCH_WIDTH, ROW_MATCH_BITS);
                if (row_length == 0 && *row_entry != MATCH_EMPTY) {
                    row_pointer = *row_entry;
                    row_length = 1;
                }
            }
            int row_predicted = row_length ? (int)rows[row_pointer] : -1;
            /* One decision per candidate until one is the pixel (5.3.4). */
            int actual = c->encoding ? row[x] : -1;
            int found = -1;
            uint first = 0;
            if (not_left) {
                first = 1;  /* a span's pixel that is not L: L takes no bit */
            } else if ((pattern & FLAT_PATTERN) == FLAT_PATTERN && pal->size > 1) {
                /* A flat pixel: L first, by the fast path. */
                uint state = count < 0 ? 0u
                    : 1u + (uint)min_int(count, MATCH_COUNT_LIMIT)
                      + ((int)near[0] == predicted ? 0u : 4u);
                if (code_flat(c, scratch, actual == (int)near[0], near, state, pattern, pal))
                    found = (int)near[0];
                first = 1;
            }
            uint candidates[SLOT_COUNT], slots[SLOT_COUNT];
            uint candidate_count = 0;
            UNROLLED
            for (uint slot = 0; slot < SLOT_COUNT && found < 0; slot++) {
                int value = slot < NEIGHBOURS ? (int)near[slot]
                            : (slot == SLOT_R ? row_predicted : predicted);
                if (value < 0)
                    continue;
                int seen = 0;
                for (uint j = 0; j < candidate_count; j++)
                    seen |= candidates[j] == (uint)value;
                if (!seen) {
                    candidates[candidate_count] = (uint)value;
                    slots[candidate_count++] = slot;
                }
            }
            /* STRIPE_RANKS: a pixel that is not flat is coded by its rank alone. */
            if (ranks_only && (pattern & FLAT_PATTERN) != FLAT_PATTERN)
                candidate_count = 0;
            /* Models 1 and 3 keep a context's slots in one line of 8 counters: one cache
             * miss for all of a pixel's candidates. Every counter the candidates may read
             * in the hashed tables is asked for first, so that their misses overlap. */
            int prediction[MAX_CHANNELS];
            uint anchor = 0, pair_line = 0, all_line = 0, value_contexts[SLOT_COUNT];
            global const uchar *places = 0;
            if (found < 0) {
                med_prediction(near, pal, prediction);
                anchor = med_anchor(near, prediction, pal);
                places = pal->ranks + (ulong)anchor * pal->size;
                pair_line = pair_line_of(near) & table_mask;
                if (wide && pal->size == 2) {  /* model 3 by the template's bits (5.3.4) */
                    keyed[0] = 3;
                    all_line = hash_values(keyed, 1 + WIDE_TEMPLATE_SIZE) & ~LINE_MASK;
                } else {
                    all_line = all_line_of(near);
                }
                all_line &= table_mask;
                PREFETCH(scratch + HASHED_AT + pair_line);
                PREFETCH(scratch + HASHED_AT + 2 * HASH_SIZE + all_line);
                for (uint j = first; j < candidate_count; j++) {
                    value_contexts[j] = value_context(slots[j], candidates[j], pattern)
                                        & table_mask;
                    PREFETCH(scratch + HASHED_AT + HASH_SIZE + value_contexts[j]);
                }
            }
            for (uint j = first; j < candidate_count && found < 0; j++) {
                uint value = candidates[j], slot = slots[j];
                if (j == candidate_count - 1 && candidate_count == pal->size) {
                    found = (int)value;
                    break;
                }
                uint state = slot == SLOT_R ? row_length
                    : count < 0 ? 0u
                    : 1u + (uint)min_int(count, MATCH_COUNT_LIMIT)
                      + ((int)value == predicted ? 0u : 4u);
                uint contexts[MODEL_COUNT];
                contexts[0] = (slot * MATCH_STATES + state) * PATTERN_COUNT + pattern;
                contexts[1] = pair_line + slot;
                contexts[2] = value_contexts[j];
                contexts[3] = all_line + slot;
                contexts[4] = (slot * ANCHOR_PLACES + min_uint(places[value],
                                                               ANCHOR_PLACES - 1))
                              * PATTERN_COUNT + pattern;
                if (code_candidate(c, scratch, actual == (int)value, contexts,
                                   slot * MATCH_STATES + state, pal))
                    found = (int)value;
            }
            if (found < 0) {
                /* The anchor's prediction: four predictions blended (in a smooth stripe,
                 * the smooth prediction), then bias-corrected, while ranks are common. */
                uint gradients = bias_context(near, pal);
                global int *bias = (global int *)(scratch + BIAS_AT)
                                   + gradients * MAX_CHANNELS * BIAS_VALUES;
                int guesses[PREDICTORS][MAX_CHANNELS], corrected[MAX_CHANNELS], moved = 0;
                predictions(prediction, near, pal, guesses);
                if (smooth)
                    smooth_prediction(row, above, above2,
                                      yy >= 3 ? row - 3 * (ulong)width : 0, x, width, near,
                                      pal, corrected);
                else
                    blend(guesses, bias, pal->channels, corrected);
                for (uint ch = 0; ch < pal->channels; ch++) {
                    corrected[ch] = clamp_int(corrected[ch] + bias[BIAS_VALUES * ch + 2], 0,
                                              255);
                    moved |= corrected[ch] != prediction[ch];
                }
                if (moved && (ulong)ranked * BIAS_SHARE >= position)  /* no u32 overflow */
                    anchor = nearest_colour(corrected, near[0], pal);
                found = code_rank(c, scratch, actual, near, candidates, candidate_count, pal,
                                  anchor, gradients, table_mask);
                if (found < 0)
                    return STATUS_BAD_RANK;
                for (uint ch = 0; ch < pal->channels; ch++) {
                    int value = pal->colours[found * pal->channels + ch];
                    int guess_errors[PREDICTORS];
                    UNROLLED
                    for (uint i = 0; i < PREDICTORS; i++)
                        guess_errors[i] = value - guesses[i][ch];
                    bias_update(bias + BIAS_VALUES * ch, value - corrected[ch], guess_errors);
                }
                ranked++;
            }
            if (!c->encoding) {
                /* Reading past the data's end already breaks rule 28: stop there, so a
                 * small file cannot make the decoder run through a huge image. */
                if (c->at > c->length)
                    return STATUS_BAD_LENGTH;
                row[x] = (uchar)found;
            }
            /* The pointer follows a match pixel by pixel while it predicts right. */
            if (match_length && predicted == found) {
                match_length = min_uint(match_length + 1, MATCH_COUNT_LIMIT + 1);
                match_pointer++;
            } else {
                match_length = 0;
            }
            *match = *wide_match = position;
            if (row_length && row_predicted == found) {
                row_length = min_uint(row_length + 1, MATCH_COUNT_LIMIT + 1);
                row_pointer++;
            } else {
                row_length = 0;
            }
            if (row_entry)
                *row_entry = position;
        }
    }
    return STATUS_OK;
}

/* Encode: job j codes stripe stripes[j] as codings[j] says (code_stripe; the mode byte
 * and far bytes are the host's), to out + offsets[j], which has room for its pixel count; its
 * coded length and status go to lengths[j] and statuses[j]. A stripe coded both ways is
 * two jobs, which run side by side. ``next_job`` starts at 0. */
kernel void cm_encode(global const uchar *indices, uint width, uint height,
                      uint stripe_height, uint job_count, global const uint *stripes,
                      global const uint *codings, uint palette_size,
                      uint channels, global const uchar *colours,
                      global const uint *weights,
                      global const uchar *order, global const uchar *ranks,
                      global const uint *distances, constant short *stretch,
                      constant short *knots, constant uint *reciprocals,
                      global uint *scratch_all, global uchar *out,
                      global const ulong *offsets, global ulong *lengths,
                      global int *statuses, volatile global uint *next_job)
{
    Palette pal = {palette_size, channels, colours, weights, order, ranks, distances, stretch,
                   knots, reciprocals};
    global uint *scratch = scratch_all + (ulong)get_global_id(0) * SCRATCH_WORDS;
    for (uint j = atomic_inc(next_job); j < job_count; j = atomic_inc(next_job)) {
        uint top = stripes[j] * stripe_height;
        uint row_count = min_uint(stripe_height, height - top);
        Coder c = {0, 0xFFFFFFFFu, 0, out + offsets[j], 0, 0, 0,
                   (ulong)row_count * width, 1, 0};
        reset_scratch(scratch, codings[j]);
        code_stripe(&c, (global uchar *)(indices + (ulong)top * width), width, row_count,
                    &pal, scratch, codings[j]);
        /* Flush: the four bytes of low, most significant first. */
        UNROLLED
        for (int i = 0; i < 4; i++) {
            if (c.at + 4 >= c.limit)
                c.overflow = 1;
            else
                c.out[c.at + i] = (uchar)(c.low >> (24 - 8 * i));
        }
        lengths[j] = c.at + 4;
        statuses[j] = c.overflow ? STATUS_OVERFLOW : STATUS_OK;
    }
}

/* Decode the coded stripes listed in ``which``: stripe which[i]'s coded data (mode and
 * far bytes excluded) is lengths[i] bytes at body + offsets[i], and codings[i] its mode
 * (one of the coded modes) and far bytes, as code_stripe takes them. ``next_job`` starts at 0: the host lists the longest
 * stripes first, so that the last to start are the shortest. */
kernel void cm_decode(global const uchar *body, global const ulong *offsets,
                      global const ulong *lengths, global const uint *which,
                      uint work_count, uint width, uint height, uint stripe_height,
                      uint palette_size, uint channels, global const uchar *colours,
                      global const uint *weights,
                      global const uchar *order, global const uchar *ranks,
                      global const uint *distances, constant short *stretch,
                      constant short *knots, constant uint *reciprocals,
                      global uint *scratch_all, global uchar *indices, global int *statuses,
                      global const uint *codings, volatile global uint *next_job)
{
    Palette pal = {palette_size, channels, colours, weights, order, ranks, distances, stretch,
                   knots, reciprocals};
    global uint *scratch = scratch_all + (ulong)get_global_id(0) * SCRATCH_WORDS;
    for (uint i = atomic_inc(next_job); i < work_count; i = atomic_inc(next_job)) {
        uint s = which[i];
        uint top = s * stripe_height;
        uint row_count = min_uint(stripe_height, height - top);
        Coder c = {0, 0xFFFFFFFFu, 0, 0, body + offsets[i], 0, lengths[i], 0, 0, 0};
        UNROLLED
        for (int b = 0; b < 4; b++) {
            uchar next = c.at < c.length ? c.in[c.at] : 0;
            c.at++;
            c.x = (c.x << 8) | next;
        }
        reset_scratch(scratch, codings[i]);
        int status = code_stripe(&c, indices + (ulong)top * width, width, row_count, &pal,
                                 scratch, codings[i]);
        if (status == STATUS_OK && c.at != c.length)
            status = STATUS_BAD_LENGTH;
        statuses[i] = status;
    }
}
