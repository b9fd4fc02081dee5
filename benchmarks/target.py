"""--target-psnr: the colours it picks against an exhaustive search, and what the search costs.

    python benchmarks/target.py [IMAGES or FOLDERS...] [--k 128] [--targets 30 35 40]
                                [--repeats 3] [--backend auto]

For each image, the exhaustive search encodes it at every k from 1 to --k (``gcp.encode``,
default options) and takes the PSNR of each; for each target it is the smallest k whose
PSNR reaches it. Then ``gcp.encode_report(image, K, target_psnr=T)`` runs, and the table
gives the k it chose, the exhaustive k, the PSNR reached, the real fits it made, the time
of the search (``gcp.target.choose_colours``: estimates, real fits and assignments) and
of one default fit (``quantizer.fit_palette`` at K) and their ratio, and the whole encode
with the target against a plain ``gcp.encode`` at K. Times are medians of --repeats runs
in one process. Writes benchmarks/results/target.md.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import numpy as np
from common import RESULTS, environment_note, image_paths, load, median_time, psnr

import gcp
from gcp import quantizer, target


def exhaustive_curve(image: np.ndarray, k_max: int, backend: str) -> dict[int, float]:
    """PSNR of the plain encoding at every k from 1 to ``k_max``."""
    return {k: psnr(image, gcp.decode(gcp.encode(image, k, backend=backend)))
            for k in range(1, k_max + 1)}


def baseline_times(image: np.ndarray, k_max: int, repeats: int, backend: str
                   ) -> tuple[float, float]:
    """Median seconds of one default fit at ``k_max``, and of a plain encode at it."""
    pixels = image.reshape(-1, image.shape[2])
    fit_time, _ = median_time(lambda: quantizer.fit_palette(pixels, k_max), repeats)
    plain_time, _ = median_time(lambda: gcp.encode(image, k_max, backend=backend), repeats)
    return fit_time, plain_time


def timed_search(image: np.ndarray, k_max: int, target_psnr: float, backend: str
                 ) -> tuple[float, float, gcp.EncodeReport, int]:
    """(search seconds, whole encode seconds, report, real fits) of one targeted encode."""
    spent, fits = [], []
    choose = target.choose_colours

    def timed_choose(*args, **kwargs):
        started = time.perf_counter()
        choice = choose(*args, **kwargs)
        spent.append(time.perf_counter() - started)
        fits.append(len(choice.fits))
        return choice

    with mock.patch.object(target, "choose_colours", timed_choose):
        started = time.perf_counter()
        _, report = gcp.encode_report(image, k_max, target_psnr=target_psnr, backend=backend)
        whole = time.perf_counter() - started
    return spent[0], whole, report, fits[0]


def rows(paths: list[Path], k_max: int, targets: list[float], repeats: int, backend: str
         ) -> Iterator[str]:
    yield ("| image | target | k chosen | k exhaustive | PSNR | real fits | search | "
           "one fit | ratio | encode, target | encode, plain | ratio |")
    yield "| --- |" + " ---: |" * 11
    search_ratios, encode_ratios, excess = [], [], []
    for path in paths:
        image = load(path)
        curve = exhaustive_curve(image, k_max, backend)
        fit_time, plain_time = baseline_times(image, k_max, repeats, backend)
        for target_psnr in targets:
            runs = [timed_search(image, k_max, target_psnr, backend) for _ in range(repeats)]
            search = statistics.median(run[0] for run in runs)
            whole = statistics.median(run[1] for run in runs)
            _, _, report, fits = runs[-1]
            best = next((k for k in sorted(curve) if curve[k] >= target_psnr), None)
            shown_best = f"{best}" if best is not None else f"none ({curve[k_max]:.2f} dB)"
            if best is not None:
                excess.append(report.k - best)
            search_ratios.append(search / fit_time)
            encode_ratios.append(whole / plain_time)
            yield (f"| {path.name} | {target_psnr:g} dB | {report.k} | {shown_best} | "
                   f"{report.psnr:.2f} dB | {fits} | {search:.3f} s | {fit_time:.3f} s | "
                   f"{search_ratios[-1]:.2f}x | {whole:.3f} s | {plain_time:.3f} s | "
                   f"{encode_ratios[-1]:.2f}x |")
    yield ""
    yield (f"k chosen minus k exhaustive, where a k reaches the target: "
           f"{', '.join(str(e) for e in excess)} (max {max(excess, default=0)}).")
    yield (f"Search over one default fit: median {statistics.median(search_ratios):.2f}x, "
           f"max {max(search_ratios):.2f}x. Targeted encode over plain encode at k = "
           f"{k_max}: median {statistics.median(encode_ratios):.2f}x, "
           f"max {max(encode_ratios):.2f}x.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", nargs="*", help="images or folders (default: samples/, "
                        "tests/data/)")
    parser.add_argument("--k", type=int, default=128, help="-k: the most colours")
    parser.add_argument("--targets", type=float, nargs="+", default=[30, 35, 40])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the results")
    arguments = parser.parse_args()
    lines = [f"Measured {environment_note()}; -k {arguments.k}, effort "
             f"{quantizer.DEFAULT_EFFORT}, backend {arguments.backend}, median of "
             f"{arguments.repeats} runs in one process.", ""]
    for line in rows(image_paths(arguments.images), arguments.k, arguments.targets,
                     arguments.repeats, arguments.backend):
        print(line, flush=True)
        lines.append(line)
    arguments.out.mkdir(parents=True, exist_ok=True)
    (arguments.out / "target.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
