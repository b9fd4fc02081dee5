"""How much could any better K-Means fit lift gcp's margins? A much heavier search.

    python benchmarks/kmeans_ceiling.py [IMAGES or FOLDERS...] [--k 8 16] [--starts 6]
        [--swaps 16] [--quality benchmarks/results/quality-all.json]

Issue 12 asks for a mean PSNR margin of +0.2 dB over the better of pngquant and OpenCV's
k-means++ at every k. With nearest-colour assignment, the best a palette of k colours can
do is the best K-Means optimum (the palette rounded to 8 bits). This script looks for
better optima than gcp's, far beyond what an encoder can afford: Lloyd's algorithm run
to convergence on every distinct colour of the image (weighted by its count) from
``--starts`` k-means++ seeds, then ``--swaps`` swap trials on the best: gcp's own
``quantizer`` seeding, Lloyd and swap search, with a budget no encoder has. Each palette is
rounded to 8 bits and every colour assigned to its nearest. The margins of gcp and of the
best palette known (gcp's, polished or not, or the search's) are taken against the peers'
PSNR recorded by a ``quality.py`` run (``--quality``), image by image, and averaged.
Beside it, gcp's own palette (encoded here, default options) after ``--polish`` more
Lloyd steps on every distinct colour: how far it is from a fixed point.

Writes benchmarks/results/kmeans_ceiling.{md,json}. Grey images get gcp's exact
optimum already (``quantizer.optimal_grey_levels``); images with at most k colours are
skipped, as ``quality.py``'s means skip them (infinite PSNR).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from common import RESULTS, environment_note, image_paths, load

import gcp
from gcp import quantizer

# Lloyd to convergence: it stops only when no colour changes cluster.
CONVERGED = {"max_iter": 10_000, "tol": 0.0}


def heavy_search(colours: np.ndarray, weights: np.ndarray, k: int, starts: int, swaps: int,
                 rng: np.random.Generator) -> np.ndarray:
    """The best centres, float64 (k, C), of ``starts`` k-means++ starts run to convergence
    and then ``swaps`` swap trials on the best: gcp's own seeding, Lloyd and swap search,
    with a budget no encoder has."""
    runs = [quantizer.lloyd(colours, weights, quantizer.kmeans_plusplus(colours, weights, k,
                                                                        rng), **CONVERGED)
            for _ in range(starts)]
    centres, inertia = min(runs, key=lambda run: run[1])
    return quantizer.swap_search(colours, weights, centres, inertia, swaps, rng,
                                 **CONVERGED)[0]


def palette_psnr(colours: np.ndarray, weights: np.ndarray, centres: np.ndarray) -> float:
    """PSNR in dB of the image with each colour replaced by its nearest 8-bit centre."""
    nearest = quantizer.reference_search(colours, quantizer.round_palette(centres))[1]
    mse = float(weights @ nearest.astype(np.float64)) / (weights.sum() * colours.shape[1])
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", nargs="*", help="images or folders, as quality.py took")
    parser.add_argument("--k", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--starts", type=int, default=6)
    parser.add_argument("--swaps", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--polish", type=int, default=8, help="Lloyd steps on gcp's palette")
    parser.add_argument("--quality", type=Path, default=RESULTS / "quality-all.json",
                        help="a quality.py run's JSON: gcp's and the peers' PSNR")
    parser.add_argument("--out", type=Path, default=RESULTS)
    arguments = parser.parse_args()
    recorded = {(row["image"], row["k"]): row for row in json.loads(arguments.quality.read_text())}
    rng = np.random.default_rng(arguments.seed)
    rows = []
    for path in image_paths(arguments.images):
        image = load(path)
        pixels = image.reshape(-1, image.shape[2]).astype(np.float64)
        colours, counts = np.unique(pixels, axis=0, return_counts=True)
        weights = counts.astype(np.float64)
        for k in arguments.k:
            quality = recorded.get((path.name, k))
            if quality is None or len(colours) <= k:
                continue
            started = time.perf_counter()
            centres = heavy_search(colours, weights, k, arguments.starts, arguments.swaps, rng)
            peer = max(quality["pngquant"]["psnr"], quality["opencv"]["psnr"])
            gcp_psnr = quality["gcp"]["psnr"]
            search = round(palette_psnr(colours, weights, centres), 3)
            own = gcp.read_info(gcp.encode(image, k=k)).palette
            polished = quantizer.lloyd(colours, weights, own.astype(np.float64),
                                       max_iter=arguments.polish, tol=0.0)[0]
            polish = round(palette_psnr(colours, weights, polished), 3)
            row = {"image": path.name, "k": k, "gcp": gcp_psnr, "peer": peer,
                   "search": search, "polished": polish,
                   "gcp_margin": round(gcp_psnr - peer, 3),
                   "best_margin": round(max(search, gcp_psnr, polish) - peer, 3),
                   "seconds": round(time.perf_counter() - started, 1)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    write_results(rows, arguments)


def write_results(rows: list[dict], arguments: argparse.Namespace) -> None:
    lines = [f"Measured {environment_note()}; {arguments.starts} k-means++ starts and "
             f"{arguments.swaps} swap trials per image and k, Lloyd to convergence on every "
             f"distinct colour; gcp's and the peers' PSNR from `{arguments.quality.name}`; "
             f"polished: gcp's palette after {arguments.polish} more Lloyd steps.",
             "", "| image | k | gcp dB | polished dB | better peer dB | search dB | gcp margin | "
             "best known margin |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r['image']} | {r['k']} | {r['gcp']:.3f} | {r['polished']:.3f} | "
              f"{r['peer']:.3f} | "
              f"{r['search']:.3f} | {r['gcp_margin']:+.3f} | {r['best_margin']:+.3f} |"
              for r in rows]
    lines += ["", "| k | images | gcp's mean margin | best known mean margin | "
              "images where the search beat gcp by 0.01 dB |", "| --- | --- | --- | --- | --- |"]
    for k in arguments.k:
        of_k = [r for r in rows if r["k"] == k]
        if of_k:
            better = sum(r["search"] > r["gcp"] + 0.01 for r in of_k)
            lines.append(f"| {k} | {len(of_k)} | {np.mean([r['gcp_margin'] for r in of_k]):+.3f}"
                         f" | {np.mean([r['best_margin'] for r in of_k]):+.3f} | {better} |")
    arguments.out.mkdir(parents=True, exist_ok=True)
    (arguments.out / "kmeans_ceiling.md").write_text("\n".join(lines) + "\n")
    (arguments.out / "kmeans_ceiling.json").write_text(json.dumps(rows, indent=1) + "\n")
    print("\n".join(lines[-2 - len(arguments.k):]))


if __name__ == "__main__":
    main()
