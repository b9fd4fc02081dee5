"""Profile method cm's coder by source line: ``gcp/backends/cm.cl`` built as C.

POCL's compiled kernels carry no line information, so ``perf`` can say only that the
time is in the kernel. This script builds the same source as a plain C program (OpenCL's
qualifiers defined away, one work item doing every job), codes stripes of an image with
it, and, where ``perf`` runs, prints the source lines that take the most samples. The C
compiler's code is not POCL's, but the bytes are the kernel's (checked against the
OpenCL backend) and where the time goes is much the same.

    python benchmarks/cm_kernel_profile.py IMAGE --k 256 [--stripes 4] [--top 30]
                                           [--cc "gcc -O3"]

Needs a C compiler, gcc by default (and perf for the lines; without it, the time alone).
Not part of the tests.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np

from gcp import cm, cm_engine, codec, imageio
from gcp.backends import cm_opencl

HARNESS = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
typedef unsigned int uint;
typedef unsigned char uchar;
typedef unsigned long ulong;
typedef unsigned short ushort;
#define global
#define constant const
#define kernel
static uint get_global_id(int d) { (void)d; return 0; }
static uint atomic_inc(volatile uint *p) { return (*p)++; }
#define clz(v) __builtin_clz(v)
#include "cm.cl"

static void *load(const char *folder, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.bin", folder, name);
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = malloc(size ? size : 1);
    if (fread(p, 1, size, f) != (size_t)size) { perror(path); exit(2); }
    fclose(f);
    return p;
}

int main(int argc, char **argv)
{
    const char *d = argv[1];
    uint width = atoi(argv[2]), height = atoi(argv[3]), stripe_height = atoi(argv[4]);
    uint palette_size = atoi(argv[5]), channels = atoi(argv[6]), coding = atoi(argv[7]);
    uint first = atoi(argv[8]), count = atoi(argv[9]);
    uint *stripes = malloc(4 * count), *codings = malloc(4 * count);
    ulong *offsets = malloc(8 * count), *lengths = malloc(8 * count);
    int *statuses = malloc(4 * count);
    for (uint j = 0; j < count; j++) {
        stripes[j] = first + j;
        codings[j] = coding;
        offsets[j] = (ulong)j * stripe_height * width;
    }
    uint *scratch = malloc((size_t)SCRATCH_WORDS * 4);
    uchar *out = malloc((size_t)count * stripe_height * width);
    volatile uint next = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cm_encode(load(d, "indices"), width, height, stripe_height, count, stripes, codings,
              palette_size, channels, load(d, "colours"), load(d, "weights"),
              load(d, "order"), load(d, "ranks"), load(d, "distances"), load(d, "stretch"),
              load(d, "knots"), load(d, "reciprocals"), scratch, out, offsets, lengths,
              statuses, &next);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    for (uint j = 0; j < count; j++)
        printf("%lu\n", statuses[j] ? 0ul : lengths[j]);
    fprintf(stderr, "%u stripes of %u x %u: %.3f s on one core\n", count, stripe_height,
            width, (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec));
    return 0;
}
"""


def dump_inputs(folder: Path, indices: np.ndarray, palette: np.ndarray,
                weights: tuple[int, ...]) -> None:
    """The kernel's arguments as the OpenCL backend builds them, one .bin file each."""
    distances = cm.colour_distances(palette, weights)
    order = cm.colour_order(distances)
    arrays = {"indices": indices.astype(np.uint8), "colours": palette.astype(np.uint8),
              "weights": np.array(weights, np.uint32), "order": order.astype(np.uint8),
              "ranks": cm.colour_ranks(order).astype(np.uint8),
              "distances": cm.ordered_distances(distances, order).astype(np.uint32),
              "stretch": np.array(cm.STRETCH, np.int16),
              "knots": np.array(cm.SQUASH_KNOTS, np.int16),
              "reciprocals": np.array(cm.RECIPROCALS, np.uint32)}
    for name, array in arrays.items():
        np.ascontiguousarray(array).tofile(folder / f"{name}.bin")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("image")
    parser.add_argument("--k", type=int, default=256)
    parser.add_argument("--stripes", type=int, default=4, help="stripes to code, from the middle")
    parser.add_argument("--table-shrink", type=int, default=cm.SMALL_TABLE_SHRINK)
    parser.add_argument("--top", type=int, default=30, help="source lines to print")
    parser.add_argument("--cc", default="gcc -O3",
                        help="the C compiler and its options (default: gcc -O3, whose code "
                             "took the time POCL 3.1's did, within 3%%, once cm.cl's loops "
                             "were unrolled; gcc -O2's is 1.2x slower)")
    args = parser.parse_args()
    compiler = args.cc.split()
    if shutil.which(compiler[0]) is None:
        print(f"needs {compiler[0]}", file=sys.stderr)
        return 2
    image = imageio.decode_image(Path(args.image).read_bytes())
    _, palette, indices = codec.decode_indices(codec.encode(image, args.k, method="lzma"))
    height, width = indices.shape
    stripe_height = cm.stripe_height_for(width, height)
    rows = cm.stripe_rows(height, stripe_height)
    count = min(args.stripes, len(rows))
    first = (len(rows) - count) // 2
    weights = (1,) * palette.shape[1]
    coding = cm.mode_byte(cm.STRIPE_CODED, args.table_shrink)
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        dump_inputs(folder, indices, palette, weights)
        (folder / "cm.cl").write_text(
            resources.files("gcp.backends").joinpath("cm.cl").read_text())
        (folder / "harness.c").write_text(HARNESS)
        subprocess.run([*compiler, "-g", "-std=gnu11", "-w",
                        *cm_opencl.build_options(prefetch_lines=True),
                        "-o", str(folder / "harness"), str(folder / "harness.c")],
                       check=True)
        command = [str(folder / "harness"), str(folder), str(width), str(height),
                   str(stripe_height), str(len(palette)), str(palette.shape[1]), str(coding),
                   str(first), str(count)]
        with_perf = shutil.which("perf") is not None
        if with_perf:
            command = ["perf", "record", "-q", "-F", "4000", "-o",
                       str(folder / "perf.data"), "--", *command]
        lengths = [int(line) for line in subprocess.run(
            command, check=True, capture_output=True, text=True).stdout.split()]
        _check_against_opencl(indices, palette, weights, rows, first, count, coding, lengths)
        if with_perf:
            _print_lines(folder, args.top)
    return 0


def _check_against_opencl(indices, palette, weights, rows, first, count, coding,
                          lengths) -> None:
    """The C build's coded lengths are the kernel's, stripe by stripe."""
    backend = cm_engine._opencl_backend("opencl", None)
    for j in range(count):
        top, rows_here = rows[first + j]
        expected = cm_opencl.coded_lengths(backend, indices[top:top + rows_here], palette,
                                           weights, [(coding, cm.TWO_UP)])[0]
        if expected is not None and expected != lengths[j]:
            raise SystemExit(f"stripe {first + j}: the C build coded {lengths[j]} bytes, "
                             f"the OpenCL kernel {expected}")
    print(f"{count} stripes, {sum(lengths):,} bytes, as the OpenCL kernel codes them")


def _print_lines(folder: Path, top: int) -> None:
    report = subprocess.run(["perf", "report", "-i", str(folder / "perf.data"),
                             "--no-children", "--sort", "srcline", "--stdio"],
                            capture_output=True, text=True).stdout
    source = (folder / "cm.cl").read_text().splitlines()
    shown = 0
    for line in report.splitlines():
        parts = line.split()
        if len(parts) != 2 or not parts[0].endswith("%") or not parts[1].startswith("cm.cl:"):
            continue
        number = int(parts[1].split(":")[1])
        text = source[number - 1].strip() if 0 < number <= len(source) else ""
        print(f"{parts[0]:>7}  cm.cl:{number:<5} {text}")
        shown += 1
        if shown == top:
            break


if __name__ == "__main__":
    sys.exit(main())
