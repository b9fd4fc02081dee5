"""Fewer K-Means starts for large palettes (gcp.quantizer.starts_for): what it costs.

    python benchmarks/starts.py [IMAGES or FOLDERS...] [--k 192 256] [--effort 5]
                                [--repeats 3]

Encodes each image in this process with ``gcp.encode`` twice per k: with the starts cut
for k above FULL_STARTS_MAX_K (as gcp runs), and with the effort level's full starts at
every k. Prints the PSNR of each, the difference, the median encode times of --repeats
runs (alternating, so a busy machine slows both alike) and their ratio, and writes
benchmarks/results/starts.md.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import numpy as np
from common import RESULTS, environment_note, image_paths, load, psnr

import gcp
from gcp import quantizer


def timed(image: np.ndarray, k: int, effort: int, full: bool) -> tuple[float, float]:
    """(seconds, PSNR) of one encode."""
    limit = quantizer.MAX_COLORS if full else quantizer.FULL_STARTS_MAX_K
    with mock.patch.object(quantizer, "FULL_STARTS_MAX_K", limit):
        started = time.perf_counter()
        data = gcp.encode(image, k, effort=effort, backend="numpy")
        seconds = time.perf_counter() - started
    return seconds, psnr(image, gcp.decode(data))


def rows(paths: list[Path], ks: list[int], effort: int, repeats: int) -> Iterator[str]:
    yield ("| image | k | starts, polished | PSNR cut | PSNR full | difference | time cut | "
           "time full | time ratio |")
    yield "| --- |" + " ---: |" * 8
    differences, ratios = [], []
    for path in paths:
        image = load(path)
        for k in ks:
            times: dict[bool, list[float]] = {False: [], True: []}
            quality = {}
            for _ in range(repeats):
                for full in (False, True):
                    seconds, quality[full] = timed(image, k, effort, full)
                    times[full].append(seconds)
            cut, whole = (statistics.median(times[full]) for full in (False, True))
            restarts, polished = quantizer.starts_for(quantizer.EFFORT_LEVELS[effort], k)
            if np.isfinite(quality[True]):  # both inf where the palette is exact
                differences.append(quality[False] - quality[True])
            ratios.append(cut / whole)
            difference = quality[False] - quality[True]
            yield (f"| {path.name} | {k} | {restarts}, {polished} | {quality[False]:.2f} dB | "
                   f"{quality[True]:.2f} dB | {difference:+.3f} dB | {cut:.3f} s | "
                   f"{whole:.3f} s | {ratios[-1]:.2f}x |")
    yield ""
    yield (f"mean difference {np.mean(differences):+.3f} dB (worst {min(differences):+.3f}), "
           f"time ratio median {statistics.median(ratios):.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", nargs="*", help="images or folders (default: samples/, "
                        "tests/data/)")
    parser.add_argument("--k", type=int, nargs="+", default=[192, 256])
    parser.add_argument("--effort", type=int, default=quantizer.DEFAULT_EFFORT)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the results")
    arguments = parser.parse_args()
    lines = [f"Measured {environment_note()}; effort {arguments.effort}, numpy backend, "
             f"median of {arguments.repeats} encodes in one process.", ""]
    for line in rows(image_paths(arguments.images), arguments.k, arguments.effort,
                     arguments.repeats):
        print(line, flush=True)
        lines.append(line)
    arguments.out.mkdir(parents=True, exist_ok=True)
    (arguments.out / "starts.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
