/* Nearest-palette-colour assignment for gcp (README "Backends").
 *
 * Built once per context and channel count with -DCHANNELS=1..4.
 * One work-item per pixel; the global size is rounded up to the work-group size, so
 * items past pixel_count return at once. The palette (at most 256 x 4 bytes) sits in
 * constant memory. Distances are integer sums of squares, and only a strictly smaller
 * distance replaces the best so far, so ties go to the lowest index, as in numpy.
 */

__kernel void assign_nearest(__global const uchar *pixels,    /* pixel_count * CHANNELS */
                             const uint pixel_count,
                             __constant const uchar *palette, /* palette_size * CHANNELS */
                             const uint palette_size,
                             __global uchar *labels)          /* pixel_count */
{
    const size_t i = get_global_id(0);
    if (i >= pixel_count)
        return;

    int pixel[CHANNELS];
    for (int c = 0; c < CHANNELS; ++c)
        pixel[c] = pixels[i * CHANNELS + c];

    uint best_distance = UINT_MAX;
    uint best_index = 0;
    for (uint j = 0; j < palette_size; ++j) {
        uint distance = 0;
        for (int c = 0; c < CHANNELS; ++c) {
            const int difference = pixel[c] - (int)palette[j * CHANNELS + c];
            distance += (uint)(difference * difference);
        }
        if (distance < best_distance) {
            best_distance = distance;
            best_index = j;
        }
    }
    labels[i] = (uchar)best_index;
}
