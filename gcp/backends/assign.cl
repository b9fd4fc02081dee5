/* Nearest-palette-colour assignment for gcp (README "Backends").
 *
 * Built once per context and channel count with -DCHANNELS=1..4 and
 * -DPIXELS_PER_ITEM=n. Each work-item takes PIXELS_PER_ITEM consecutive pixels, so every
 * palette colour read from constant memory serves several pixels (three times faster on
 * a CPU through POCL than one pixel per item; a GPU still gets millions of items). The
 * global size is rounded up to the work-group size: items past pixel_count return at
 * once, and the last item clamps its reads to the last pixel.
 *
 * Distances are integer sums of squares, and only a strictly smaller distance replaces
 * the best so far, so ties go to the lowest index, exactly as in the numpy reference.
 */

__kernel void assign_nearest(__global const uchar *pixels,    /* pixel_count * CHANNELS */
                             const uint pixel_count,
                             __constant const uchar *palette, /* palette_size * CHANNELS */
                             const uint palette_size,
                             __global uchar *labels)          /* pixel_count */
{
    const size_t first = get_global_id(0) * PIXELS_PER_ITEM;
    if (first >= pixel_count)
        return;

    int pixel[PIXELS_PER_ITEM][CHANNELS];
    uint best_distance[PIXELS_PER_ITEM];
    uint best_index[PIXELS_PER_ITEM];
    for (int p = 0; p < PIXELS_PER_ITEM; ++p) {
        const size_t i = min(first + p, (size_t)pixel_count - 1);
        for (int c = 0; c < CHANNELS; ++c)
            pixel[p][c] = pixels[i * CHANNELS + c];
        best_distance[p] = UINT_MAX;
        best_index[p] = 0;
    }

    for (uint j = 0; j < palette_size; ++j) {
        int colour[CHANNELS];
        for (int c = 0; c < CHANNELS; ++c)
            colour[c] = palette[j * CHANNELS + c];
        for (int p = 0; p < PIXELS_PER_ITEM; ++p) {
            uint distance = 0;
            for (int c = 0; c < CHANNELS; ++c) {
                const int difference = pixel[p][c] - colour[c];
                distance += (uint)(difference * difference);
            }
            const int closer = distance < best_distance[p];
            best_distance[p] = closer ? distance : best_distance[p];
            best_index[p] = closer ? j : best_index[p];
        }
    }

    for (int p = 0; p < PIXELS_PER_ITEM; ++p)
        if (first + p < pixel_count)
            labels[first + p] = (uchar)best_index[p];
}
