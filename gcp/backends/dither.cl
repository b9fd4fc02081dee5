/* Floyd-Steinberg error diffusion onto a palette: gcp/dither.py's integer machine, as one
 * work-item going through the pixels in reading order (its sums are integers, so their
 * order does not matter and the labels are the numpy reference's).
 *
 * A value is held in 1/16ths of a level (FRACTION_BITS), clamped to 0..TOP before its
 * colour is chosen; the error, value - colour, is pushed on times each weight in 1/256ths,
 * rounded to the nearest 1/16th (halves up). The nearest colour is the least squared
 * distance, the first (lowest index) of equals.
 *
 * The search reads a grid over the colour space (``dither_opencl.candidate_cells``): for
 * each cell, the colours, by index, that are nearest to some point of it, or tie for
 * nearest (every colour whose least distance to the cell is at most the least, over the
 * colours, of their greatest). A value looks at its cell's few candidates alone. */

#define FRACTION_BITS 4
#define TOP (255 << FRACTION_BITS)
#define PUSH_SHIFT 8
#define PUSH_OFFSET (1 << 30)
#define MAX_CHANNELS 4

/* Products are rounded as written, never fused: every value here is an integer anyway. */
#pragma OPENCL FP_CONTRACT OFF

static inline int pushed(int error, int weight)
{
    return ((error * weight + (1 << (PUSH_SHIFT - 1)) + PUSH_OFFSET) >> PUSH_SHIFT)
           - (PUSH_OFFSET >> PUSH_SHIFT);
}

static inline int distance(const int *value, global const int *colour, int channels)
{
    int sum = 0;  /* at most 4 x 4080^2, under 2^27 */
    for (int c = 0; c < channels; c++) {
        int d = value[c] - colour[c];
        sum += d * d;
    }
    return sum;
}

/* The index of the colour nearest ``value``, the first of equals: the least distance of
 * its cell's candidates, which come in index order. */
static int nearest(const int *value, int channels, int cell_shift, int cells_a_side,
                   global const int *colours, global const uint *offsets,
                   global const uchar *candidates)
{
    uint cell = 0;
    for (int c = 0; c < channels; c++)
        cell = cell * cells_a_side + (value[c] >> cell_shift);
    uint first = offsets[cell], end = offsets[cell + 1];
    int best = candidates[first];
    int best_distance = distance(value, colours + best * channels, channels);
    for (uint i = first + 1; i < end; i++) {
        int j = candidates[i];
        int d = distance(value, colours + j * channels, channels);
        if (d < best_distance) {
            best = j;
            best_distance = d;
        }
    }
    return best;
}

/* Labels of rows ``first_row`` to ``end_row`` - 1 (labels: height x width) of ``image``
 * (height x width x channels bytes), which a call for the rows before has left ``rows``
 * ready for: rows y and y + 1 in its halves y % 2 and (y + 1) % 2, width x channels ints
 * each, row y's with what has been pushed onto it. ``colours`` (palette size x channels)
 * are in 1/16ths of a level; the grid has ``cells_a_side`` cells a channel, a value's
 * cell in a channel being its value >> ``cell_shift``, and cell n's candidates are
 * ``candidates[offsets[n]]`` to ``candidates[offsets[n + 1] - 1]`` (cells numbered with
 * the first channel most significant). ``right`` to ``down_right`` are the four pushes'
 * weights in 1/256ths. */
kernel void floyd_steinberg(global const uchar *image, uint width, uint height,
                            uint first_row, uint end_row, int channels,
                            global const int *colours, int cell_shift, int cells_a_side,
                            global const uint *offsets, global const uchar *candidates,
                            int right, int down_left, int down, int down_right,
                            global int *rows, global uchar *labels)
{
    if (get_global_id(0) != 0)
        return;
    ulong row_values = (ulong)width * channels;
    if (first_row == 0) {
        for (ulong i = 0; i < row_values; i++)
            rows[i] = (int)image[i] << FRACTION_BITS;
    }
    for (uint y = first_row; y < end_row; y++) {
        global int *current = rows + (y & 1) * row_values;
        global int *next = rows + ((y + 1) & 1) * row_values;
        int below = y + 1 < height;
        if (below) {
            global const uchar *source = image + (ulong)(y + 1) * row_values;
            for (ulong i = 0; i < row_values; i++)
                next[i] = (int)source[i] << FRACTION_BITS;
        }
        for (uint x = 0; x < width; x++) {
            global int *here = current + (ulong)x * channels;
            int value[MAX_CHANNELS];
            for (int c = 0; c < channels; c++) {
                int v = here[c];  /* written out: POCL calls its clamp() out of line */
                value[c] = v < 0 ? 0 : (v > TOP ? TOP : v);
            }
            int index = nearest(value, channels, cell_shift, cells_a_side, colours, offsets,
                                candidates);
            labels[(ulong)y * width + x] = (uchar)index;
            global const int *chosen = colours + index * channels;
            for (int c = 0; c < channels; c++) {
                int error = value[c] - chosen[c];
                if (x + 1 < width)
                    here[channels + c] += pushed(error, right);
                if (below) {
                    global int *under = next + (ulong)x * channels + c;
                    if (x > 0)
                        under[-channels] += pushed(error, down_left);
                    under[0] += pushed(error, down);
                    if (x + 1 < width)
                        under[channels] += pushed(error, down_right);
                }
            }
        }
    }
}
