"""A gallery: one photo at a few palette sizes, as pictures and numbers.

    python benchmarks/gallery.py [FOLDER] [--image samples/astronaut.png] [--colors 4 16 64]

Encodes the whole image with gcp at each k (seed 0, default options), decodes it, and
writes into FOLDER (default benchmarks/results/gallery/):

- ``<name>.png``: a 1:1 crop of the original beside the same crop of each decoded image,
  each with its palette below and its size and PSNR above (``--crop X,Y,W,H``);
- ``gallery.md``: a Markdown snippet (the picture and a table) for the README.

It prints the table too. Sizes and PSNR are measured on the whole image, not the crop.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

import gcp  # noqa: E402
from gcp import compare, imageio  # noqa: E402

DEFAULT_IMAGE = ROOT / "samples" / "astronaut.png"
DEFAULT_FOLDER = ROOT / "benchmarks" / "results" / "gallery"
DEFAULT_COLORS = (4, 16, 64)
DEFAULT_CROP = (128, 24, 256, 256)  # x, y, width, height: the astronaut's face


def parse_crop(text: str) -> tuple[int, int, int, int]:
    """'X,Y,W,H' as four non-negative integers."""
    parts = text.split(",")
    if len(parts) != 4 or not all(part.strip().isdigit() for part in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not X,Y,W,H")
    x, y, width, height = (int(part) for part in parts)
    return x, y, width, height


def crop(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The part of ``image`` in ``box`` (x, y, width, height), clipped to the image."""
    x, y, width, height = box
    return image[y:y + height, x:x + width]


def gallery_rows(original: np.ndarray, image_file_size: int,
                 colors: list[int]) -> list[dict]:
    """For each k: the .gcp size, bits per pixel, size ratio, PSNR, decoded image, palette."""
    rows = []
    for k in colors:
        data = gcp.encode(original, k, seed=0)
        decoded = gcp.decode(data)
        rows.append({
            "k": k, "gcp_bytes": len(data),
            "bits_per_pixel": 8 * len(data) / (original.shape[0] * original.shape[1]),
            "ratio": len(data) / image_file_size,
            "psnr": compare.psnr(original, decoded),
            "decoded": decoded, "palette": gcp.read_info(data).palette,
        })
    return rows


def smallest_png(picture: np.ndarray) -> bytes:
    """RGB ``picture`` as a PNG at zlib's strongest setting (OpenCV's default is fast)."""
    import cv2

    ok, encoded = cv2.imencode(".png", cv2.cvtColor(picture, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise RuntimeError("OpenCV could not write a PNG")
    return encoded.tobytes()


def markdown(name: str, picture_link: str, image_file_size: int, rows: list[dict],
             box: tuple[int, int, int, int]) -> str:
    x, y, width, height = box
    lines = [
        f"![{name}: the original and gcp at k = {', '.join(str(r['k']) for r in rows)}]"
        f"({picture_link})",
        "",
        f"A {width} x {height} crop at 1:1 (from x = {x}, y = {y}); the figures are for the "
        f"whole image. The original PNG is {image_file_size:,} bytes.",
        "",
        "| k | .gcp bytes | bits/pixel | size / PNG | PSNR |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(f"| {row['k']} | {row['gcp_bytes']:,} | {row['bits_per_pixel']:.3f} | "
                     f"{100 * row['ratio']:.1f}% | {row['psnr']:.2f} dB |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER,
                        help="where to write the picture and gallery.md")
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    parser.add_argument("--colors", type=int, nargs="+", default=list(DEFAULT_COLORS))
    parser.add_argument("--crop", type=parse_crop, default=DEFAULT_CROP, metavar="X,Y,W,H")
    args = parser.parse_args(argv)

    image_data = args.image.read_bytes()
    original = imageio.decode_image(image_data, name=str(args.image))
    rows = gallery_rows(original, len(image_data), args.colors)

    captions = ["original"] + [f"k={r['k']}: {r['gcp_bytes'] / 1024:.1f} KiB, {r['psnr']:.1f} dB"
                               for r in rows]
    picture = compare.side_by_side(
        [crop(original, args.crop)] + [crop(r["decoded"], args.crop) for r in rows],
        palettes=[None] + [r["palette"] for r in rows], captions=captions)

    args.folder.mkdir(parents=True, exist_ok=True)
    name = args.image.stem
    picture_path = args.folder / f"{name}.png"
    picture_path.write_bytes(smallest_png(picture))
    link = os.path.relpath(picture_path.resolve(), ROOT)
    snippet = markdown(name, link, len(image_data), rows, args.crop)
    (args.folder / "gallery.md").write_text(snippet)
    print(snippet, end="")
    print(f"\nwrote {picture_path} ({picture_path.stat().st_size:,} bytes) and "
          f"{args.folder / 'gallery.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
