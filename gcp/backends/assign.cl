/* Nearest-palette-colour assignment, the update step and the fit's nearest-centre search
 * for gcp (README "Backends").
 *
 * Built once per context and channel count with -DCHANNELS=1..4 and
 * -DPIXELS_PER_ITEM=n. Each work-item takes PIXELS_PER_ITEM consecutive pixels, so every
 * palette colour read from constant memory serves several pixels (three times faster on
 * a CPU through POCL than one pixel per item; a GPU still gets millions of items). The
 * global size is rounded up to the work-group size: items past pixel_count return at
 * once, and the last item clamps its reads to the last pixel.
 *
 * Channels are held in separate arrays rather than one [pixel][channel] array: compilers
 * keep those in registers, which made the kernel 3.5x faster on POCL.
 *
 * Distances are integer sums of squares, and only a strictly smaller distance replaces
 * the best so far, so ties go to the lowest index, exactly as in the numpy reference.
 */

#define SQUARE(x) ((x) * (x))

__kernel void assign_nearest(__global const uchar *pixels,    /* pixel_count * CHANNELS */
                             const uint pixel_count,
                             __constant const uchar *palette, /* palette_size * CHANNELS */
                             const uint palette_size,
                             __global uchar *labels)          /* pixel_count */
{
    const size_t first = get_global_id(0) * PIXELS_PER_ITEM;
    if (first >= pixel_count)
        return;

    int channel0[PIXELS_PER_ITEM];
#if CHANNELS > 1
    int channel1[PIXELS_PER_ITEM];
#endif
#if CHANNELS > 2
    int channel2[PIXELS_PER_ITEM];
#endif
#if CHANNELS > 3
    int channel3[PIXELS_PER_ITEM];
#endif
    uint best_distance[PIXELS_PER_ITEM];
    uint best_index[PIXELS_PER_ITEM];
    for (int p = 0; p < PIXELS_PER_ITEM; ++p) {
        const size_t i = min(first + p, (size_t)pixel_count - 1) * CHANNELS;
        channel0[p] = pixels[i];
#if CHANNELS > 1
        channel1[p] = pixels[i + 1];
#endif
#if CHANNELS > 2
        channel2[p] = pixels[i + 2];
#endif
#if CHANNELS > 3
        channel3[p] = pixels[i + 3];
#endif
        best_distance[p] = UINT_MAX;
        best_index[p] = 0;
    }

    for (uint j = 0; j < palette_size; ++j) {
        __constant const uchar *colour = palette + j * CHANNELS;
        const int colour0 = colour[0];
#if CHANNELS > 1
        const int colour1 = colour[1];
#endif
#if CHANNELS > 2
        const int colour2 = colour[2];
#endif
#if CHANNELS > 3
        const int colour3 = colour[3];
#endif
        for (int p = 0; p < PIXELS_PER_ITEM; ++p) {
            uint distance = SQUARE(channel0[p] - colour0);
#if CHANNELS > 1
            distance += SQUARE(channel1[p] - colour1);
#endif
#if CHANNELS > 2
            distance += SQUARE(channel2[p] - colour2);
#endif
#if CHANNELS > 3
            distance += SQUARE(channel3[p] - colour3);
#endif
            const int closer = distance < best_distance[p];
            best_distance[p] = closer ? distance : best_distance[p];
            best_index[p] = closer ? j : best_index[p];
        }
    }

    for (int p = 0; p < PIXELS_PER_ITEM; ++p)
        if (first + p < pixel_count)
            labels[first + p] = (uchar)best_index[p];
}

/* Per-cluster pixel counts and channel sums: the update step of K-Means, on the device.
 *
 * Work-group g sums pixels [g * span, (g + 1) * span) into local memory, one row of
 * (count, sum of channel 0, ...) per palette entry, with local atomics, then writes its
 * rows to partial[g]; the host adds the groups' rows up. A row's sums stay below
 * span * 255, so 32-bit counters cannot overflow for span <= 2^24.
 */
__kernel void cluster_sums(__global const uchar *pixels,   /* pixel_count * CHANNELS */
                           const uint pixel_count,
                           __global const uchar *labels,   /* pixel_count */
                           const uint palette_size,
                           const uint span,
                           __global uint *partial,         /* groups * palette_size * (CHANNELS + 1) */
                           __local uint *sums)             /* palette_size * (CHANNELS + 1) */
{
    const uint item = get_local_id(0);
    const uint items = get_local_size(0);
    const uint entries = palette_size * (CHANNELS + 1);
    for (uint e = item; e < entries; e += items)
        sums[e] = 0;
    barrier(CLK_LOCAL_MEM_FENCE);

    const size_t start = (size_t)get_group_id(0) * span;
    const size_t end = min(start + span, (size_t)pixel_count);
    for (size_t i = start + item; i < end; i += items) {
        __local uint *row = sums + labels[i] * (CHANNELS + 1);
        atomic_inc(row);
        for (int c = 0; c < CHANNELS; ++c)
            atomic_add(row + 1 + c, (uint)pixels[i * CHANNELS + c]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);

    __global uint *out = partial + get_group_id(0) * entries;
    for (uint e = item; e < entries; e += items)
        out[e] = sums[e];
}

/* The K-Means fit's search: each point's nearest centre and the squared distances to it
 * and to the next nearest, in float32.
 *
 * Every distance is ((p0 - c0)^2 + (p1 - c1)^2) + ... in that order, each operation
 * rounded on its own (no fused multiply-add), as the numpy reference computes it: every
 * device gives the reference's bits. Only a strictly smaller distance replaces the best,
 * so ties go to the lowest index; the second is the least distance of any other centre,
 * equal to the best when two tie. Laid out as assign_nearest is.
 */
#pragma OPENCL FP_CONTRACT OFF

__kernel void nearest_two(__global const float *points,     /* point_count * CHANNELS */
                          const uint point_count,
                          __constant const float *centres,  /* centre_count * CHANNELS */
                          const uint centre_count,
                          __global uchar *labels,           /* point_count */
                          __global float *nearest,          /* point_count */
                          __global float *second)           /* point_count */
{
    const size_t first = get_global_id(0) * PIXELS_PER_ITEM;
    if (first >= point_count)
        return;

    float channel0[PIXELS_PER_ITEM];
#if CHANNELS > 1
    float channel1[PIXELS_PER_ITEM];
#endif
#if CHANNELS > 2
    float channel2[PIXELS_PER_ITEM];
#endif
#if CHANNELS > 3
    float channel3[PIXELS_PER_ITEM];
#endif
    float best_distance[PIXELS_PER_ITEM];
    float next_distance[PIXELS_PER_ITEM];
    uint best_index[PIXELS_PER_ITEM];
    for (int p = 0; p < PIXELS_PER_ITEM; ++p) {
        const size_t i = min(first + p, (size_t)point_count - 1) * CHANNELS;
        channel0[p] = points[i];
#if CHANNELS > 1
        channel1[p] = points[i + 1];
#endif
#if CHANNELS > 2
        channel2[p] = points[i + 2];
#endif
#if CHANNELS > 3
        channel3[p] = points[i + 3];
#endif
        best_distance[p] = INFINITY;
        next_distance[p] = INFINITY;
        best_index[p] = 0;
    }

    for (uint j = 0; j < centre_count; ++j) {
        __constant const float *centre = centres + j * CHANNELS;
        const float centre0 = centre[0];
#if CHANNELS > 1
        const float centre1 = centre[1];
#endif
#if CHANNELS > 2
        const float centre2 = centre[2];
#endif
#if CHANNELS > 3
        const float centre3 = centre[3];
#endif
        for (int p = 0; p < PIXELS_PER_ITEM; ++p) {
            float difference = channel0[p] - centre0;
            float distance = difference * difference;
#if CHANNELS > 1
            difference = channel1[p] - centre1;
            distance = distance + difference * difference;
#endif
#if CHANNELS > 2
            difference = channel2[p] - centre2;
            distance = distance + difference * difference;
#endif
#if CHANNELS > 3
            difference = channel3[p] - centre3;
            distance = distance + difference * difference;
#endif
            /* The nearer and the farther of this centre and the best so far: the nearer
             * is the new best, the farther may be the new second (the old best never
             * exceeds the old second). Written as selects on one comparison, which POCL
             * turns into vector blends: five times as fast as nested branches. */
            const int closer = distance < best_distance[p];
            const float farther = closer ? best_distance[p] : distance;
            best_index[p] = closer ? j : best_index[p];
            best_distance[p] = closer ? distance : best_distance[p];
            next_distance[p] = farther < next_distance[p] ? farther : next_distance[p];
        }
    }

    for (int p = 0; p < PIXELS_PER_ITEM; ++p)
        if (first + p < point_count) {
            labels[first + p] = (uchar)best_index[p];
            nearest[first + p] = best_distance[p];
            second[first + p] = next_distance[p];
        }
}

/* Assignment by distinct colour (colour_table.py): a colour's key is its bytes read as a
 * little-endian integer, below 2^(8 * CHANNELS); tables hold one byte per possible key.
 * Only for up to three channels (a four-channel table would take 4 GiB). */
#if CHANNELS <= 3
inline uint colour_key(__global const uchar *pixel)
{
    uint key = pixel[0];
#if CHANNELS > 1
    key |= (uint)pixel[1] << 8;
#endif
#if CHANNELS > 2
    key |= (uint)pixel[2] << 16;
#endif
    return key;
}

/* present[key] = 1 for the key of every pixel; present is zeroed beforehand. Items that
 * meet one colour all store the same byte, so their order does not matter. */
__kernel void mark_colours(__global const uchar *pixels, /* pixel_count * CHANNELS */
                           const uint pixel_count,
                           __global uchar *present)      /* 2^(8 * CHANNELS) */
{
    const size_t first = get_global_id(0) * PIXELS_PER_ITEM;
    for (int p = 0; p < PIXELS_PER_ITEM; ++p) {
        const size_t i = first + p;
        if (i < pixel_count)
            present[colour_key(pixels + i * CHANNELS)] = 1;
    }
}

/* labels[i] = table[key of pixel i]. */
__kernel void table_labels(__global const uchar *pixels, /* pixel_count * CHANNELS */
                           const uint pixel_count,
                           __global const uchar *table,  /* 2^(8 * CHANNELS) */
                           __global uchar *labels)       /* pixel_count */
{
    const size_t first = get_global_id(0) * PIXELS_PER_ITEM;
    for (int p = 0; p < PIXELS_PER_ITEM; ++p) {
        const size_t i = first + p;
        if (i < pixel_count)
            labels[i] = table[colour_key(pixels + i * CHANNELS)];
    }
}
#endif
