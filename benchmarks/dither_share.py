"""How much of each pixel's error dithering should pass on (gcp.dither.ERROR_SHARE).

    python benchmarks/dither_share.py [IMAGES or FOLDERS...] [-k 16] [--shares 1 0.875 0.8 0.75]

Encodes each image with ``gcp.encode(..., dither=True)`` once per share, and runs
pngquant's dithering beside it (``pngquant K --speed 3``), printing for each: PSNR, PSNR
after a Gaussian blur of 1.5 px (dithering's patterns averaged out, as from a distance)
and file size. A grey ramp on four colours measures what dithering is for: the mean error
of its column means (the "plain" column: each pixel's nearest colour). Writes
benchmarks/results/dither_share.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from unittest import mock

import numpy as np
from common import (
    RESULTS,
    as_png,
    blurred_psnr,
    environment_note,
    have,
    image_paths,
    load,
    match_channels,
    psnr,
    run_command,
    scratch,
)

import gcp
from gcp import dither


def gcp_row(image: np.ndarray, k: int, share: float | None) -> dict:
    """PSNR, blurred PSNR and bytes of gcp's file; ``share`` None: not dithered."""
    with mock.patch.object(dither, "ERROR_SHARE", share or dither.ERROR_SHARE):
        data = gcp.encode(image, k, dither=share is not None, backend="numpy")
    decoded = gcp.decode(data)
    return {"psnr": psnr(image, decoded), "blurred": blurred_psnr(image, decoded),
            "bytes": len(data)}


def pngquant_row(path: Path, image: np.ndarray, k: int) -> dict:
    with scratch() as folder:
        out = Path(folder) / "pngquant.png"
        run_command(["pngquant", str(k), "--speed", "3", "-f", "-o", str(out),
                     str(as_png(path, folder))])
        decoded = match_channels(load(out), image.shape[2])
        return {"psnr": psnr(image, decoded), "blurred": blurred_psnr(image, decoded),
                "bytes": out.stat().st_size}


def ramp_column_error(share: float | None) -> float:
    """Mean error of the column means of a 256-wide grey ramp dithered onto 0, 85, 170 and
    255 (``share`` None: each pixel's nearest colour), leaving out 8 columns at each end."""
    ramp = np.tile(np.arange(256, dtype=np.uint8), (64, 1))[:, :, None]
    palette = np.array([[0], [85], [170], [255]], np.uint8)
    if share is None:
        labels = np.abs(ramp.astype(int) - palette[:, 0].astype(int)).argmin(2)
    else:
        with mock.patch.object(dither, "ERROR_SHARE", share):
            labels = dither.floyd_steinberg(ramp, palette)
    means = palette[labels][:, :, 0].astype(float).mean(0)
    return float(np.abs(means - np.arange(256))[8:-8].mean())


def table(paths: list[Path], k: int, shares: list[float]) -> list[str]:
    columns = ["plain", *[f"share {share}" for share in shares]]
    with_pngquant = have("pngquant")
    columns += ["pngquant"] if with_pngquant else []
    lines = ["| image | " + " | ".join(columns) + " |", "| --- |" + " --- |" * len(columns)]
    totals: dict[str, list[tuple[float, float]]] = {column: [] for column in columns}
    for path in paths:
        image = load(path)
        results = [gcp_row(image, k, share) for share in [None, *shares]]
        if with_pngquant:
            results.append(pngquant_row(path, image, k))
        for column, result in zip(columns, results, strict=True):
            totals[column].append((result["psnr"], result["blurred"]))
        lines.append(f"| {path.name} | " + " | ".join(
            f"{r['psnr']:.2f} / {r['blurred']:.2f} dB, {r['bytes']:,} B" for r in results)
            + " |")
        print(lines[-1], flush=True)
    lines.append("| mean PSNR / blurred | " + " | ".join(
        "{:.2f} / {:.2f} dB".format(*np.mean(totals[column], axis=0)) for column in columns)
        + " |")
    ramp = [ramp_column_error(share) for share in [None, *shares]]
    lines.append("| ramp column error | " + " | ".join(f"{error:.2f}" for error in ramp)
                 + (" | |" if with_pngquant else " |"))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", nargs="*", help="images or folders (default: samples/, "
                        "tests/data/)")
    parser.add_argument("-k", type=int, default=16)
    parser.add_argument("--shares", type=float, nargs="+", default=[1.0, 0.875, 0.8, 0.75])
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the results")
    arguments = parser.parse_args()
    lines = [f"Measured {environment_note()}; k = {arguments.k}. Each cell: PSNR / PSNR "
             "after a 1.5-px Gaussian blur, and the file's size (gcp: .gcp; pngquant: its "
             "dithered PNG).", ""]
    lines += table(image_paths(arguments.images), arguments.k, arguments.shares)
    print(lines[-2], lines[-1], sep="\n")
    arguments.out.mkdir(parents=True, exist_ok=True)
    (arguments.out / "dither_share.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
