"""gcp against pngquant, OpenCV k-means, scikit-learn KMeans and Pillow: PSNR and time.

    python benchmarks/quality.py [IMAGES or FOLDERS...] [--k 8 16 64] [--runs 3] [--dither]

Images default to samples/ and tests/data/; add the 16.8-MP renders with a folder made by
../shared/corpus/make-large.sh. Per image and k it prints each method's PSNR and median
time of --runs runs, the margin of gcp over the better of pngquant and OpenCV, and time
ratios to gcp; it writes benchmarks/results/quality.{md,json,png}.

gcp and pngquant run as whole processes (reading the PNG, quantizing, writing the file),
the time the issue's bar is about. OpenCV, scikit-learn and Pillow run in this process
and are timed on quantization alone, which flatters them.

With --dither, every method that can dithers with Floyd-Steinberg (gcp --dither, pngquant
without --nofs, Pillow's FLOYDSTEINBERG) and the peers are gcp, pngquant and Pillow.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from common import (
    RESULTS,
    as_png,
    environment_note,
    gcp_command,
    have,
    image_paths,
    load,
    match_channels,
    median_time,
    psnr,
    run_command,
    scratch,
)

import gcp

PEERS = ("gcp", "pngquant", "opencv", "sklearn", "pillow")
DITHERING_PEERS = ("gcp", "pngquant", "pillow")


def run_gcp(path: Path, image: np.ndarray, k: int, folder: str, extra: list[str]):
    out = Path(folder) / "out.gcp"

    def encode():
        run_command([*gcp_command(), "encode", str(path), str(out), "-k", str(k), "-f", *extra])

    seconds, _ = median_time(encode, RUNS)
    return seconds, gcp.decode(out.read_bytes())


def run_pngquant(path: Path, image: np.ndarray, k: int, folder: str, extra: list[str]):
    source = as_png(path, folder)
    out = Path(folder) / "pngquant.png"

    def quantize():
        run_command(["pngquant", str(k), *([] if DITHER else ["--nofs"]), "--speed", "3",
                     "-f", "-o", str(out), str(source)])

    seconds, _ = median_time(quantize, RUNS)
    return seconds, match_channels(load(out), image.shape[2])


def run_opencv(path: Path, image: np.ndarray, k: int, folder: str, extra: list[str]):
    import cv2

    def quantize():
        samples = image.reshape(-1, image.shape[2]).astype(np.float32)
        cv2.setRNGSeed(0)
        criteria = (cv2.TERM_CRITERIA_MAX_ITER, 20, 0)
        _, labels, centres = cv2.kmeans(samples, k, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
        palette = np.clip(np.rint(centres), 0, 255).astype(np.uint8)
        return palette[labels.ravel()].reshape(image.shape)

    return median_time(quantize, SLOW_RUNS)


def run_sklearn(path: Path, image: np.ndarray, k: int, folder: str, extra: list[str]):
    from sklearn.cluster import KMeans

    def quantize():
        samples = image.reshape(-1, image.shape[2]).astype(np.float32)
        model = KMeans(n_clusters=k, n_init=1, random_state=0).fit(samples)
        palette = np.clip(np.rint(model.cluster_centers_), 0, 255).astype(np.uint8)
        return palette[model.labels_].reshape(image.shape)

    return median_time(quantize, SLOW_RUNS)


def run_pillow(path: Path, image: np.ndarray, k: int, folder: str, extra: list[str]):
    from PIL import Image

    mode = {1: "L", 3: "RGB", 4: "RGBA"}.get(image.shape[2])
    if mode is None:
        raise ValueError("Pillow quantizes L, RGB and RGBA only")
    if DITHER and mode == "RGBA":
        raise ValueError("Pillow dithers onto a palette from RGB and L only")

    def quantize():
        source = Image.fromarray(image[:, :, 0] if mode == "L" else image, mode)
        if mode == "L":
            source = source.convert("RGB")
        method = Image.Quantize.FASTOCTREE if mode == "RGBA" else Image.Quantize.MEDIANCUT
        result = source.quantize(colors=k, method=method, dither=Image.Dither.NONE)
        if DITHER:  # quantize() dithers only onto a palette given, so give it its own
            result = source.quantize(palette=result, dither=Image.Dither.FLOYDSTEINBERG)
        return match_channels(np.asarray(result.convert("RGBA" if mode == "RGBA" else "RGB")),
                              image.shape[2])

    return median_time(quantize, RUNS)


RUNNERS = {"gcp": run_gcp, "pngquant": run_pngquant, "opencv": run_opencv,
           "sklearn": run_sklearn, "pillow": run_pillow}


def measure(paths: list[Path], ks: list[int], peers: list[str], extra: list[str]) -> list[dict]:
    rows = []
    for path in paths:
        image = load(path)
        for k in ks:
            row = {"image": path.name, "pixels": image.shape[0] * image.shape[1], "k": k}
            for peer in peers:
                with scratch() as folder:
                    try:
                        seconds, decoded = RUNNERS[peer](path, image, k, folder, extra)
                    except Exception as error:  # a peer that cannot take this image
                        row[peer] = {"error": f"{type(error).__name__}: {error}"}
                        continue
                row[peer] = {"psnr": round(psnr(image, decoded), 3), "seconds": round(seconds, 4),
                             "colours": len(np.unique(decoded.reshape(-1, image.shape[2]),
                                                          axis=0))}
            best_peer = [row[p]["psnr"] for p in ("pngquant", "opencv") if "psnr" in row.get(p, {})]
            if "psnr" in row.get("gcp", {}) and best_peer:
                row["margin_db"] = round(row["gcp"]["psnr"] - max(best_peer), 3)
            print(format_row(row, peers), flush=True)
            rows.append(row)
    return rows


def format_row(row: dict, peers: list[str]) -> str:
    parts = [f"{row['image']:<18} k={row['k']:<3}"]
    for peer in peers:
        result = row.get(peer, {})
        parts.append(f"{peer} {result['psnr']:6.2f} dB {result['seconds']:7.3f} s"
                     if "psnr" in result else f"{peer} n/a")
    if "margin_db" in row:
        parts.append(f"margin {row['margin_db']:+.2f} dB")
    gcp_time = row.get("gcp", {}).get("seconds")
    pngquant_time = row.get("pngquant", {}).get("seconds")
    if gcp_time and pngquant_time:
        parts.append(f"time gcp/pngquant {gcp_time / pngquant_time:.2f}")
    return " | ".join(parts)


def markdown(rows: list[dict], peers: list[str]) -> str:
    lines = [f"Measured {environment_note()}; PSNR in dB, time in seconds (median of {RUNS}; "
             f"OpenCV and scikit-learn: {SLOW_RUNS})"
             + ("; every method dithering (Floyd-Steinberg)." if DITHER else "."),
             "gcp and pngquant: whole process; others: quantization only, in process.", "",
             "| image | k | " + " | ".join(f"{p} dB" for p in peers)
             + " | margin dB | gcp s | pngquant s | gcp/pngquant time |",
             "| --- | --- | " + " | ".join("---" for _ in peers) + " | --- | --- | --- | --- |"]
    for row in rows:
        cells = [f"{row[p]['psnr']:.2f}" if "psnr" in row.get(p, {}) else "n/a" for p in peers]
        gcp_time = row.get("gcp", {}).get("seconds")
        pngquant_time = row.get("pngquant", {}).get("seconds")
        ratio = f"{gcp_time / pngquant_time:.2f}" if gcp_time and pngquant_time else "n/a"
        margin = f"{row['margin_db']:+.2f}" if "margin_db" in row else "n/a"
        lines.append(f"| {row['image']} | {row['k']} | " + " | ".join(cells)
                     + f" | {margin} | {gcp_time or 'n/a'} | {pngquant_time or 'n/a'} | {ratio} |")
    lines += ["", summary(rows)]
    return "\n".join(lines) + "\n"


def summary(rows: list[dict]) -> str:
    lines = []
    for k in sorted({row["k"] for row in rows}):
        margins = [row["margin_db"] for row in rows
                   if row["k"] == k and np.isfinite(row.get("margin_db", np.nan))]
        if margins:
            against = "pngquant, both dithering" if DITHER else "the better of pngquant and OpenCV"
            lines.append(f"k={k}: margin over {against}: "
                         f"min {min(margins):+.2f} dB, mean {np.mean(margins):+.2f} dB "
                         f"over {len(margins)} images")
    return "\n".join(lines)


def chart(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [row for row in rows if "margin_db" in row]
    if not rows:  # no peer to measure a margin against
        return
    ks = sorted({row["k"] for row in rows})
    images = list(dict.fromkeys(row["image"] for row in rows))
    figure, axis = plt.subplots(figsize=(max(6, 1.2 * len(images)), 3.6))
    width = 0.8 / len(ks)
    for position, k in enumerate(ks):
        margins = [next((r["margin_db"] for r in rows if r["image"] == name and r["k"] == k),
                        np.nan) for name in images]
        axis.bar(np.arange(len(images)) + position * width, margins, width, label=f"k={k}")
    axis.axhline(0, color="black", linewidth=0.8)
    axis.axhline(-0.05, color="red", linewidth=0.8, linestyle="--", label="bar: -0.05 dB")
    axis.set_xticks(np.arange(len(images)) + width * (len(ks) - 1) / 2)
    axis.set_xticklabels([Path(name).stem for name in images], rotation=20, fontsize=8)
    axis.set_ylabel("gcp PSNR - best peer (dB)")
    axis.set_title("gcp --dither vs pngquant, dithering" if DITHER else
                   "gcp vs the better of pngquant --nofs and OpenCV k-means++")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    global RUNS, SLOW_RUNS, DITHER
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", nargs="*", help="images or folders (default: samples/, "
                        "tests/data/)")
    parser.add_argument("--k", type=int, nargs="+", default=[8, 16, 64])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per method (median)")
    parser.add_argument("--slow-runs", type=int, default=None,
                        help="timed runs of OpenCV and scikit-learn (default: --runs); their "
                        "k-means on every pixel of a 16.8-MP image takes minutes")
    parser.add_argument("--peers", nargs="+", default=None, choices=PEERS,
                        help=f"default: all, or {' '.join(DITHERING_PEERS)} with --dither")
    parser.add_argument("--dither", action="store_true",
                        help="every method dithers (Floyd-Steinberg) where it can")
    parser.add_argument("--gcp-args", default="", help="extra options for gcp encode")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the results")
    parser.add_argument("--name", default="quality", help="base name of the result files")
    arguments = parser.parse_args()
    RUNS = arguments.runs
    SLOW_RUNS = arguments.slow_runs or arguments.runs
    DITHER = arguments.dither
    peers = arguments.peers or list(DITHERING_PEERS if DITHER else PEERS)
    peers = [p for p in peers if p != "pngquant" or have("pngquant")]
    gcp_args = arguments.gcp_args.split() + (["--dither"] if DITHER else [])
    rows = measure(image_paths(arguments.images), arguments.k, peers, gcp_args)
    print(summary(rows))
    arguments.out.mkdir(parents=True, exist_ok=True)
    (arguments.out / f"{arguments.name}.json").write_text(json.dumps(rows, indent=1) + "\n")
    (arguments.out / f"{arguments.name}.md").write_text(markdown(rows, peers))
    chart(rows, arguments.out / f"{arguments.name}.png")


RUNS = 3
SLOW_RUNS = 3
DITHER = False

if __name__ == "__main__":
    main()
