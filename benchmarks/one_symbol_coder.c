/* A prototype of a cheaper body coder for issue 11, not a format. A pixel's top symbol
   says which of its distinct candidates M, L, U, UR, UL, LL, UU holds its index, or none;
   a miss codes the index's rank in the order of the palette by distance from L's colour.
   An LZMA-style range coder (low, range, cache and carry) codes them one of three ways
   (CODER):
   0  each as one multi-symbol decision from frequency counts kept per context;
   1  as binary decisions ("is it the q-th candidate?"; a miss's rank + 1 in Elias gamma:
      its length in unary, then the bits below the leading 1), each from one 12-bit
      probability chosen by its context, no mixing;
   2  as 1, each candidate decision's probability the mean of its context's and one
      chosen by a hash of L, U and UR (2^16 rows);
   3  as 2, a miss's rank counted in the order of the palette colour nearest (squared
      distance, ties to the lower index, searched through every colour) the MED
      prediction from L, U and UL's colours, where the pixel has all three; its
      context, where L lies in that order;
   4  as 3, the nearest colour searched among a grid cell's candidates (RGB only).
   Encodes the image, decodes it again, checks the indices and prints the bytes and the
   time of each pass.

   Input file: int32 width, height, k; uint8 indices[height][width]; uint16 places[k][k]
   (places[a][b]: b's place in a's order); uint16 order[k][k] (order[a][r]: the index at
   place r in a's order); int32 channels; uint8 colours[k][channels].
   Arguments: FILE CODER MATCH RUNS [OFFSETS [FIRST]]. OFFSETS is "up,left;up,left..."
   (at most 3, each causal: up > 0, or up = 0 and left > 0): candidates at those offsets,
   after UU, or first where FIRST is 1. RUNS is at least 1; each run decodes into a
   cleared buffer. A file past the output buffer (2 bytes a pixel) stops it. MATCH 1
   puts M first (after the offsets where they are first): the index after the last
   correctly predicted one while the match holds, else that of the last pixel whose six
   neighbours hashed alike (a table of 2^20 positions). The candidates' context is their
   equality pattern and the match's run; the rank's, where U lies in L's order.
   Prints: bytes, then the best encode and decode times of RUNS, in ns a pixel. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MOST_OFFSETS 3
#define CANDIDATES (7 + MOST_OFFSETS)

/* Candidates at fixed offsets (rows up, columns left), as an encoder would choose them
   for a periodic texture: after UU, or before M with offsets_first. */
static int offset_count = 0, offsets_first = 0, offset_up[MOST_OFFSETS], offset_left[MOST_OFFSETS];
#define HASH_BITS 20
#define INCREMENT 24
#define LIMIT (1 << 13)
#define TOP_BITS 11
#define PROBABILITY_BITS 12
#define ADAPTATION_SHIFT 4
#define SECOND_BITS 16
#define GAMMA_STEPS 9

typedef struct { uint16_t *count; uint32_t *total; int symbols; } Counts;

static Counts counts_new(size_t contexts, int symbols)
{
    Counts m = {malloc(contexts * symbols * 2), malloc(contexts * 4), symbols};
    for (size_t i = 0; i < contexts * symbols; i++) m.count[i] = 1;
    for (size_t i = 0; i < contexts; i++) m.total[i] = symbols;
    return m;
}

static inline void counts_update(Counts *m, size_t context, int symbol)
{
    uint16_t *count = m->count + context * m->symbols;
    count[symbol] += INCREMENT;
    m->total[context] += INCREMENT;
    if (m->total[context] > LIMIT) {
        uint32_t total = 0;
        for (int s = 0; s < m->symbols; s++) total += count[s] = (count[s] + 1) >> 1;
        m->total[context] = total;
    }
}

typedef struct { uint64_t low; uint32_t range; uint8_t cache; uint64_t pending; uint8_t *out;
                 size_t length, capacity; } Encoder;

static inline void shift_low(Encoder *e)
{
    if ((uint32_t)e->low < 0xFF000000u || (e->low >> 32) != 0) {
        uint8_t byte = e->cache;
        do {
            if (e->length == e->capacity) { fprintf(stderr, "output buffer full\n"); exit(1); }
            e->out[e->length++] = (uint8_t)(byte + (uint8_t)(e->low >> 32));
            byte = 0xFF;
        } while (--e->pending != 0);
        e->cache = (uint8_t)((uint32_t)e->low >> 24);
    }
    e->pending++;
    e->low = (uint32_t)e->low << 8;
}

static inline void encode_symbol(Encoder *e, Counts *m, size_t context, int symbol)
{
    const uint16_t *count = m->count + context * m->symbols;
    uint32_t start = 0;
    for (int s = 0; s < symbol; s++) start += count[s];
    uint32_t step = e->range / m->total[context];
    e->low += (uint64_t)start * step;
    e->range = step * count[symbol];
    while (e->range < (1u << 24)) { e->range <<= 8; shift_low(e); }
    counts_update(m, context, symbol);
}

typedef struct { uint32_t code, range; const uint8_t *in; } Decoder;

static inline int decode_symbol(Decoder *d, Counts *m, size_t context)
{
    const uint16_t *count = m->count + context * m->symbols;
    uint32_t step = d->range / m->total[context], target = d->code / step, start = 0;
    int symbol = 0;
    while (start + count[symbol] <= target) start += count[symbol++];
    d->code -= start * step;
    d->range = step * count[symbol];
    while (d->range < (1u << 24)) { d->range <<= 8; d->code = d->code << 8 | *d->in++; }
    counts_update(m, context, symbol);
    return symbol;
}

/* A binary decision from one probability (of a 0, in 1/4096), or the mean of two. */
static inline void adapt(uint16_t *p, int bit)
{
    if (bit) *p -= *p >> ADAPTATION_SHIFT;
    else *p += ((1 << PROBABILITY_BITS) - *p) >> ADAPTATION_SHIFT;
}

static inline void encode_bit(Encoder *e, uint16_t *p, uint16_t *second, int bit)
{
    uint32_t probability = second ? (uint32_t)(*p + *second + 1) >> 1 : *p;
    uint32_t bound = (e->range >> PROBABILITY_BITS) * probability;
    if (bit) { e->low += bound; e->range -= bound; } else e->range = bound;
    while (e->range < (1u << 24)) { e->range <<= 8; shift_low(e); }
    adapt(p, bit);
    if (second) adapt(second, bit);
}

static inline int decode_bit(Decoder *d, uint16_t *p, uint16_t *second)
{
    uint32_t probability = second ? (uint32_t)(*p + *second + 1) >> 1 : *p;
    uint32_t bound = (d->range >> PROBABILITY_BITS) * probability;
    int bit = d->code >= bound;
    if (bit) { d->code -= bound; d->range -= bound; } else d->range = bound;
    while (d->range < (1u << 24)) { d->range <<= 8; d->code = d->code << 8 | *d->in++; }
    adapt(p, bit);
    if (second) adapt(second, bit);
    return bit;
}

static uint16_t *probabilities(size_t count)
{
    uint16_t *p = malloc(count * 2);
    for (size_t i = 0; i < count; i++) p[i] = 1 << (PROBABILITY_BITS - 1);
    return p;
}

typedef struct { uint16_t *candidate, *second, *unary, *low; } Binary;

static inline int log_bucket(int value, int most)
{
    int bucket = 0;
    while (value) { bucket++; value >>= 1; }
    return bucket > most ? most : bucket;
}

/* Codes (decoding == 0: indices given, bytes written) or decodes (indices written). */
/* For RGB palettes, the colours that can be nearest to some point of each cell of a
   16 x 16 x 16 grid over the colour cube (those whose least squared distance to the cell
   is at most the least of the colours' greatest), in index order: exact, ties included. */
#define GRID_SIDE 16
#define GRID_CELLS (GRID_SIDE * GRID_SIDE * GRID_SIDE)
static size_t grid_start[GRID_CELLS + 1];
static uint16_t *grid_list;

static void build_grid(const uint8_t *colours, int k)
{
    grid_list = malloc((size_t)GRID_CELLS * k * sizeof *grid_list);
    long *least = malloc(k * sizeof *least);
    size_t used = 0;
    for (int cell = 0; cell < GRID_CELLS; cell++) {
        int low[3] = {cell / 256 * 16, cell / 16 % 16 * 16, cell % 16 * 16};
        long threshold = -1;
        for (int i = 0; i < k; i++) {
            long near = 0, far = 0;
            for (int c = 0; c < 3; c++) {
                long v = colours[i * 3 + c], lo = low[c], hi = low[c] + 15;
                long d = v < lo ? lo - v : v > hi ? v - hi : 0;
                long e = v - lo > hi - v ? v - lo : hi - v;
                near += d * d;
                far += e * e;
            }
            least[i] = near;
            if (threshold < 0 || far < threshold) threshold = far;
        }
        grid_start[cell] = used;
        for (int i = 0; i < k; i++) if (least[i] <= threshold) grid_list[used++] = (uint16_t)i;
    }
    grid_start[GRID_CELLS] = used;
    free(least);
}

/* The palette colour nearest (squared distance, ties to the lower index) LOCO-I's median
   edge predictor from three colours: through the grid's cell for RGB, else every colour. */
static int med_nearest(const uint8_t *colours, int channels, int k, int left, int up,
                       int up_left)
{
    int predicted[4];
    for (int c = 0; c < channels; c++) {
        int a = colours[left * channels + c], b = colours[up * channels + c];
        int corner = colours[up_left * channels + c];
        int high = a > b ? a : b, low = a < b ? a : b;
        predicted[c] = corner >= high ? low : corner <= low ? high : a + b - corner;
    }
    size_t first = 0, last = k;
    if (channels == 3 && grid_list) {
        int cell = predicted[0] / 16 * 256 + predicted[1] / 16 * 16 + predicted[2] / 16;
        first = grid_start[cell];
        last = grid_start[cell + 1];
    }
    int best = 0;
    long best_distance = -1;
    for (size_t j = first; j < last; j++) {
        int i = channels == 3 && grid_list ? grid_list[j] : (int)j;
        long distance = 0;
        for (int c = 0; c < channels; c++) {
            long d = (long)colours[i * channels + c] - predicted[c];
            distance += d * d;
        }
        if (best_distance < 0 || distance < best_distance) { best = i; best_distance = distance; }
    }
    return best;
}

static size_t code(int decoding, int coder, int match, int width, int height, int k,
                   uint8_t *indices, const uint16_t *places, const uint16_t *order,
                   const uint8_t *colours, int channels, uint8_t *bytes, size_t capacity)
{
    const int slots = 7 + offset_count;  /* the top symbol for a miss */
    Counts top = counts_new((size_t)1 << TOP_BITS, slots + 1);
    Counts rank = counts_new(8, k);
    Binary b = {probabilities((size_t)CANDIDATES << TOP_BITS),
                probabilities((size_t)CANDIDATES << SECOND_BITS),
                probabilities(8 * GAMMA_STEPS), probabilities((GAMMA_STEPS + 1) * 8)};
    int32_t *last = malloc(sizeof(int32_t) << HASH_BITS);
    memset(last, 0xff, sizeof(int32_t) << HASH_BITS);
    Encoder e = {0, 0xFFFFFFFFu, 0, 1, bytes, 0, capacity};
    Decoder d = {0, 0xFFFFFFFFu, bytes + 1};
    for (int i = 0; decoding && i < 4; i++) d.code = d.code << 8 | *d.in++;
    int32_t followed = -1;  /* the position the match predicted right, or -1 */
    int run = 0;            /* how many pixels in a row it predicted right */
    for (int y = 0; y < height; y++) {
        for (int x = 0; x < width; x++) {
            int32_t i = y * width + x;
            int L = x > 0 ? indices[i - 1] : -1, U = y > 0 ? indices[i - width] : -1;
            int UR = y > 0 && x + 1 < width ? indices[i - width + 1] : -1;
            int UL = y > 0 && x > 0 ? indices[i - width - 1] : -1;
            int LL = x > 1 ? indices[i - 2] : -1, UU = y > 1 ? indices[i - 2 * width] : -1;
            uint32_t hash = 0;
            int32_t at = -1;
            if (match) {
                int neighbours[6] = {L, U, UR, UL, LL, UU};
                for (int j = 0; j < 6; j++)
                    hash = (hash + (uint32_t)(neighbours[j] + 1)) * 0x9E3779B1u;
                hash >>= 32 - HASH_BITS;
                at = followed >= 0 && followed + 1 < i ? followed + 1 : last[hash];
            }
            int M = at >= 0 ? indices[at] : -1;
            int candidate[CANDIDATES], count = 0, distinct[CANDIDATES], n = 0;
            int periodic[MOST_OFFSETS];
            for (int j = 0; j < offset_count; j++) {
                int yy = y - offset_up[j], xx = x - offset_left[j];
                periodic[j] = yy >= 0 && xx >= 0 && xx < width ? indices[yy * width + xx] : -1;
            }
            for (int j = 0; offsets_first && j < offset_count; j++) candidate[count++] = periodic[j];
            int fixed[7] = {M, L, U, UR, UL, LL, UU};
            for (int j = 0; j < 7; j++) candidate[count++] = fixed[j];
            for (int j = 0; !offsets_first && j < offset_count; j++) candidate[count++] = periodic[j];
            for (int j = 0; j < count; j++) {
                int seen = candidate[j] < 0;
                for (int q = 0; q < n; q++) seen |= distinct[q] == candidate[j];
                if (!seen) distinct[n++] = candidate[j];
            }
            size_t context = (L >= 0 && L == U) | (U >= 0 && U == UR) << 1
                | (U >= 0 && U == UL) << 2 | (L >= 0 && L == UL) << 3
                | (L >= 0 && L == LL) << 4 | (U >= 0 && U == UU) << 5
                | (M >= 0 && M == L) << 6 | (M >= 0 && M == U) << 7
                | (size_t)log_bucket(run, 7) << 8;
            int anchor = L >= 0 ? L : U >= 0 ? U : 0;
            int rank_context = log_bucket(places[anchor * k + (U >= 0 ? U : anchor)], 7);
            int value = decoding ? -1 : indices[i];
            if (coder == 0) {
                int symbol;
                if (!decoding) {
                    symbol = slots;
                    for (int q = 0; q < n; q++) if (distinct[q] == value) { symbol = q; break; }
                    encode_symbol(&e, &top, context, symbol);
                    if (symbol == slots)
                        encode_symbol(&e, &rank, rank_context, places[anchor * k + value]);
                } else {
                    symbol = decode_symbol(&d, &top, context);
                    value = symbol < slots ? distinct[symbol]
                        : order[anchor * k + decode_symbol(&d, &rank, rank_context)];
                }
            } else {
                uint32_t row = ((uint32_t)((L + 1) * 257 + (U + 1)) * 0x9E3779B1u
                                ^ (uint32_t)(UR + 1) * 0x85EBCA77u) >> (32 - SECOND_BITS);
                int found = -1;
                for (int q = 0; q < n && found < 0; q++) {
                    uint16_t *p = b.candidate + context * CANDIDATES + q;
                    uint16_t *second = coder >= 2 ? b.second + (size_t)row * CANDIDATES + q : NULL;
                    int bit = decoding ? decode_bit(&d, p, second) : distinct[q] == value;
                    if (!decoding) encode_bit(&e, p, second, bit);
                    if (bit) found = q;
                }
                if (found >= 0) value = distinct[found];
                else {
                    if (coder == 3 && L >= 0 && U >= 0 && UL >= 0) {
                        int predicted = med_nearest(colours, channels, k, L, U, UL);
                        rank_context = log_bucket(places[predicted * k + L], 7);
                        anchor = predicted;
                    }
                    uint16_t *unary = b.unary + rank_context * GAMMA_STEPS;
                    int plus_one = decoding ? 0 : places[anchor * k + value] + 1;
                    int length = decoding ? 1 : log_bucket(plus_one, GAMMA_STEPS);
                    if (decoding) while (length < GAMMA_STEPS && decode_bit(&d, unary + length, NULL)) length++;
                    else {
                        for (int step = 1; step < length; step++) encode_bit(&e, unary + step, NULL, 1);
                        if (length < GAMMA_STEPS) encode_bit(&e, unary + length, NULL, 0);
                    }
                    if (decoding) plus_one = 1;
                    for (int bit = length - 2; bit >= 0; bit--) {
                        uint16_t *p = b.low + length * 8 + (bit < 7 ? bit : 7);
                        if (decoding) plus_one = plus_one << 1 | decode_bit(&d, p, NULL);
                        else encode_bit(&e, p, NULL, plus_one >> bit & 1);
                    }
                    if (decoding) value = order[anchor * k + plus_one - 1];
                }
            }
            if (decoding) indices[i] = (uint8_t)value;
            if (M >= 0 && M == value) { run++; followed = at; } else { run = 0; followed = -1; }
            if (match) last[hash] = i;
        }
    }
    for (int i = 0; !decoding && i < 5; i++) shift_low(&e);
    free(last); free(top.count); free(top.total); free(rank.count); free(rank.total);
    free(b.candidate); free(b.second); free(b.unary); free(b.low);
    return e.length;
}

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc < 5 || argc > 7) return 2;
    FILE *file = fopen(argv[1], "rb");
    int coder = atoi(argv[2]), match = atoi(argv[3]), runs = atoi(argv[4]);
    if (coder < 0 || coder > 4 || runs < 1) return 2;
    for (const char *text = argc > 5 ? argv[5] : ""; *text;) {
        int used = 0, up, left;
        if (offset_count == MOST_OFFSETS || sscanf(text, "%d,%d%n", &up, &left, &used) != 2)
            return 2;
        if (up < 0 || (up == 0 && left <= 0)) {  /* a pixel not decoded yet */
            fprintf(stderr, "offset %d,%d is not causal\n", up, left);
            return 2;
        }
        offset_up[offset_count] = up;
        offset_left[offset_count++] = left;
        text += used;
        if (*text == ';') text++;
    }
    offsets_first = argc > 6 && atoi(argv[6]);
    int32_t header[3];
    if (!file || fread(header, 4, 3, file) != 3) return 1;
    int width = header[0], height = header[1], k = header[2];
    if (width < 1 || height < 1 || k < 1 || k > 256 || (int64_t)width * height > (1 << 30))
        return 1;
    size_t pixels = (size_t)width * height, cells = (size_t)k * k, capacity = 2 * pixels + 64;
    uint8_t *indices = malloc(pixels), *decoded = malloc(pixels), *bytes = malloc(capacity);
    uint16_t *places = malloc(cells * 2), *order = malloc(cells * 2);
    int32_t channels = 0;
    if (fread(indices, 1, pixels, file) != pixels || fread(places, 2, cells, file) != cells
        || fread(order, 2, cells, file) != cells || fread(&channels, 4, 1, file) != 1
        || channels < 1 || channels > 4) return 1;
    uint8_t *colours = malloc((size_t)k * channels);
    if (fread(colours, 1, (size_t)k * channels, file) != (size_t)k * channels) return 1;
    for (size_t i = 0; i < pixels; i++) if (indices[i] >= k) return 1;
    if (coder == 4) { build_grid(colours, k); coder = 3; }
    size_t length = 0;
    double best_encode = 1e9, best_decode = 1e9;
    for (int r = 0; r < runs; r++) {
        memset(decoded, 0, pixels);
        double started = seconds();
        length = code(0, coder, match, width, height, k, indices, places, order, colours,
                      channels, bytes, capacity);
        double middle = seconds();
        code(1, coder, match, width, height, k, decoded, places, order, colours, channels,
             bytes, capacity);
        double ended = seconds();
        if (memcmp(indices, decoded, pixels) != 0) { fprintf(stderr, "decoded otherwise\n"); return 1; }
        if (middle - started < best_encode) best_encode = middle - started;
        if (ended - middle < best_decode) best_decode = ended - middle;
    }
    printf("%zu %.1f %.1f\n", length, best_encode * 1e9 / pixels, best_decode * 1e9 / pixels);
    free(indices); free(decoded); free(bytes); free(places); free(order); free(colours);
    free(grid_list);
    fclose(file);
    return 0;
}
