"""Images with alpha: gcp against pngquant on the colours as seen, side by side.

    python benchmarks/alpha.py [IMAGE...] [--k 16 64 256] [--out alpha]

Besides the images named, it makes three cut-outs of samples/astronaut.png: a disc with a soft
64-px edge whose cut-away part is black under alpha 0 (``cutout-soft-clean``), the same
with the photo kept under alpha 0 (``cutout-soft-dirty``, as some editors and game
textures leave it), and a disc with a 2-px antialiased edge, dirty (``cutout-sharp``).
PSNR is gcp's (``gcp.compare.psnr``): over every channel, the colours premultiplied by
alpha, so colour under alpha 0 counts for nothing. "straight" is the PSNR of the raw
channel values, for reference: it counts colour that cannot be seen.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from common import RESULTS, ROOT, environment_note, have, load, match_channels, psnr

import gcp
from gcp import imageio


def cutouts() -> dict[str, np.ndarray]:
    """The three made RGBA images, uint8 (512, 512, 4)."""
    photo = load(ROOT / "samples" / "astronaut.png")[:, :, :3]
    height, width = photo.shape[:2]
    rows, columns = np.mgrid[0:height, 0:width]
    radius = np.hypot(rows - height / 2, columns - width / 2)
    soft = np.clip((180 - radius) * 4, 0, 255).astype(np.uint8)
    sharp = np.clip((180 - radius) * 127.5, 0, 255).astype(np.uint8)
    clean = np.dstack([photo * (soft[:, :, None] > 0), soft]).astype(np.uint8)
    return {"cutout-soft-clean": clean, "cutout-soft-dirty": np.dstack([photo, soft]),
            "cutout-sharp": np.dstack([photo, sharp])}


def straight_psnr(original: np.ndarray, decoded: np.ndarray) -> float:
    error = np.mean((original.astype(np.float64) - decoded.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(255.0**2 / error))


def pngquant(image: np.ndarray, k: int, folder: Path) -> tuple[np.ndarray, int]:
    """pngquant's result at ``k`` (``--nofs --speed 3``) and its file size."""
    source, result = folder / "in.png", folder / "out.png"
    source.write_bytes(imageio.encode_image(image, ".png"))
    subprocess.run(["pngquant", str(k), "--nofs", "--speed", "3", "-f", "-o", str(result),
                    str(source)], check=True)
    return load(result), result.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="*")
    parser.add_argument("--k", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--out", default="alpha")
    options = parser.parse_args()
    images = cutouts() | {Path(p).stem: load(Path(p)) for p in options.images}
    lines = [environment_note(), "",
             "| image | k | gcp dB | pngquant dB | margin dB | gcp bytes | pngquant bytes "
             "| gcp straight dB | pngquant straight dB |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    with tempfile.TemporaryDirectory() as folder:
        for name, image in images.items():
            if image.shape[2] not in (2, 4):
                continue
            for k in options.k:
                data = gcp.encode(image, k)
                ours = gcp.decode(data)
                theirs, their_size = (pngquant(image, k, Path(folder)) if have("pngquant")
                                      else (None, 0))
                theirs = None if theirs is None else match_channels(theirs, image.shape[2])
                row = [name, k, f"{psnr(image, ours):.2f}",
                       "n/a" if theirs is None else f"{psnr(image, theirs):.2f}",
                       "n/a" if theirs is None
                       else f"{psnr(image, ours) - psnr(image, theirs):+.2f}",
                       f"{len(data):,}", f"{their_size:,}",
                       f"{straight_psnr(image, ours):.2f}",
                       "n/a" if theirs is None else f"{straight_psnr(image, theirs):.2f}"]
                lines.append("| " + " | ".join(map(str, row)) + " |")
                print(lines[-1], flush=True)
    (RESULTS / f"{options.out}.md").write_text("# Images with alpha: gcp and pngquant\n\n"
                                               + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
