"""K-Medoids against K-Means: quality and time per image (README "K-Medoids").

    python benchmarks/kmedoids.py [IMAGE ...] [-k 16] [--repeats 5] [--effort 5]

Encodes every image of samples/ and tests/data/ (and each IMAGE given) with
``gcp.encode(algorithm="kmeans")`` and ``algorithm="kmedoids"``, decodes, and prints a
Markdown table: the PSNR of each and their difference, then the median over ``--repeats``
runs of the fit stage's time and of the whole encode's time, and the time ratios.
Runs of the two algorithms alternate, so a busy machine slows both alike.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from common import DEFAULT_IMAGES, image_paths, load, psnr

import gcp

ALGORITHMS = ("kmeans", "kmedoids")


def timed_encode(image: np.ndarray, options: dict) -> tuple[bytes, float, float]:
    """``gcp.encode(image, **options)``: (data, seconds of the fit stage, seconds in all)."""
    stage_starts: dict[str, float] = {}

    def progress(stage: str, fraction: float) -> None:
        stage_starts.setdefault(stage, time.perf_counter())

    started = time.perf_counter()
    data = gcp.encode(image, progress=progress, **options)
    finished = time.perf_counter()
    return data, stage_starts["assign"] - stage_starts["fit"], finished - started


def measure(image: np.ndarray, repeats: int, options: dict) -> dict[str, dict[str, float]]:
    """Per algorithm: PSNR, median fit seconds and median encode seconds."""
    fits: dict[str, list[float]] = {name: [] for name in ALGORITHMS}
    totals: dict[str, list[float]] = {name: [] for name in ALGORITHMS}
    quality: dict[str, float] = {}
    for _ in range(repeats):
        for name in ALGORITHMS:
            data, fit_seconds, total_seconds = timed_encode(image, {**options,
                                                                    "algorithm": name})
            fits[name].append(fit_seconds)
            totals[name].append(total_seconds)
            quality[name] = psnr(image, gcp.decode(data))  # the same bytes every run
    return {name: {"psnr": quality[name], "fit": statistics.median(fits[name]),
                   "encode": statistics.median(totals[name])} for name in ALGORITHMS}


def table_rows(paths: list[Path], repeats: int, options: dict) -> Iterator[str]:
    yield ("| image | k-means PSNR | k-medoids PSNR | difference | k-means fit | "
           "k-medoids fit | fit ratio | k-means encode | k-medoids encode | encode ratio |")
    yield "| --- |" + " ---: |" * 9
    for path in paths:
        image = load(path)
        result = measure(image, repeats, options)
        means, medoids = result["kmeans"], result["kmedoids"]
        yield (f"| {path.name} | {means['psnr']:.2f} dB | {medoids['psnr']:.2f} dB | "
               f"{medoids['psnr'] - means['psnr']:+.2f} dB | {means['fit']:.3f} s | "
               f"{medoids['fit']:.3f} s | {medoids['fit'] / means['fit']:.2f}x | "
               f"{means['encode']:.3f} s | {medoids['encode']:.3f} s | "
               f"{medoids['encode'] / means['encode']:.2f}x |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", nargs="*", type=Path, help="more images to measure")
    parser.add_argument("-k", "--colors", type=int, default=16)
    parser.add_argument("--effort", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5, help="runs per algorithm and image")
    parser.add_argument("--backend", default="numpy",
                        help="assignment backend, the same for both (default numpy)")
    args = parser.parse_args(argv)
    options = {"k": args.colors, "effort": args.effort, "backend": args.backend}
    print(f"k = {args.colors}, effort {args.effort}, backend {args.backend}, "
          f"median of {args.repeats} runs\n")
    paths = image_paths([str(folder) for folder in DEFAULT_IMAGES] + [str(p) for p in args.images])
    for row in table_rows(paths, args.repeats, options):
        print(row, flush=True)


if __name__ == "__main__":
    main()
