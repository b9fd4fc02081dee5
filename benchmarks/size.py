"""File size and decode speed: .gcp against PNG-8, GIF and WebP lossless of the same pixels.

    python benchmarks/size.py [IMAGES or FOLDERS...] [--k 16] [--runs 5] [--cwebp-z 9]

For each image, gcp encodes at k colours (default options); the very pixels it stores are
then written as an optimized PNG-8 (Pillow, optimize=True: the reference, 1.0), a GIF
(Pillow) and, if cwebp is installed, WebP lossless (cwebp -lossless -exact -z N). It prints each
size over PNG-8's, the encode time of each, and the decode time of gcp.decode against
cv2.imdecode of the PNG-8 (both to an array; median of --runs). Writes
benchmarks/results/size.{md,json}.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np
from common import RESULTS, environment_note, have, image_paths, load, median_time, scratch
from PIL import Image

import gcp
from gcp.codec import decode_indices


def palette_image(data: bytes) -> Image.Image:
    """The pixels of a .gcp file as a Pillow palette image ("P"), alpha as a tRNS table."""
    header, palette, indices = decode_indices(data)
    image = Image.fromarray(indices, "P")
    channels = header.channels
    colours = palette[:, :1].repeat(3, axis=1) if channels <= 2 else palette[:, :3]
    image.putpalette(colours.astype(np.uint8).tobytes())
    if channels in (2, 4):
        image.info["transparency"] = palette[:, -1].astype(np.uint8).tobytes()
    return image


def gif_image(image: Image.Image) -> Image.Image:
    """``image`` as GIF can hold it: one fully transparent index at most (none if opaque)."""
    alpha = image.info.get("transparency")
    if alpha is None:
        return image
    copy = image.copy()
    del copy.info["transparency"]
    if min(alpha) < 255:
        copy.info["transparency"] = int(np.argmin(np.frombuffer(alpha, np.uint8)))
    return copy


def saved(image: Image.Image, format_name: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format_name, **options)
    return buffer.getvalue()


def cwebp_size(pixels: np.ndarray, level: int) -> tuple[int, float]:
    with scratch() as folder:
        source, target = Path(folder) / "in.png", Path(folder) / "out.webp"
        source.write_bytes(gcp.imageio.encode_image(pixels, ".png"))
        started = time.perf_counter()
        subprocess.run(["cwebp", "-quiet", "-lossless", "-exact", "-z", str(level), str(source),
                        "-o", str(target)], check=True)
        return target.stat().st_size, time.perf_counter() - started


def measure(path: Path, k: int, runs: int, cwebp_level: int | None) -> dict:
    image = load(path)
    encode_seconds, data = median_time(lambda: gcp.encode(image, k), 1)
    pixels = gcp.decode(data)
    as_palette = palette_image(data)
    png_seconds, png8 = median_time(lambda: saved(as_palette, "PNG", optimize=True), 1)
    gif = saved(gif_image(as_palette), "GIF", optimize=True)
    row = {"image": path.name, "pixels": image.shape[0] * image.shape[1], "k": k,
           "gcp": len(data), "gcp_rle": len(gcp.encode(image, k, method="rle")),
           "png8": len(png8), "gif": len(gif),
           "gcp_encode_s": round(encode_seconds, 3), "png8_encode_s": round(png_seconds, 3)}
    if cwebp_level is not None:
        row["webp"], row["webp_encode_s"] = cwebp_size(pixels, cwebp_level)
    png_array = np.frombuffer(png8, np.uint8)
    row["gcp_decode_s"] = _median(lambda: gcp.decode(data), runs)
    row["png8_decode_s"] = _median(lambda: cv2.imdecode(png_array, cv2.IMREAD_UNCHANGED), runs)
    return row


def _median(function, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 4)


def ratios(row: dict) -> dict:
    out = {name: row[name] / row["png8"] for name in ("gcp", "gcp_rle", "gif", "webp")
           if name in row}
    out["decode"] = row["gcp_decode_s"] / row["png8_decode_s"]
    return out


def format_row(row: dict) -> str:
    r = ratios(row)
    webp = f" webp {r['webp']:.3f} ({row['webp_encode_s']:.1f} s)" if "webp" in r else ""
    return (f"{row['image']:<18} png8 {row['png8']:>9,} B | gcp {r['gcp']:.3f} "
            f"(rle {r['gcp_rle']:.2f}) gif {r['gif']:.2f}{webp} | decode gcp "
            f"{row['gcp_decode_s'] * 1000:.1f} ms / png8 {row['png8_decode_s'] * 1000:.1f} ms "
            f"= {r['decode']:.2f}")


def markdown(rows: list[dict], runs: int) -> str:
    lines = [f"Measured {environment_note()}; sizes over PNG-8 of the same pixels; decode: "
             f"median of {runs}, gcp.decode vs cv2.imdecode of the PNG-8, both to an array.", "",
             "| image | k | PNG-8 bytes | .gcp | .gcp rle | GIF | WebP lossless | WebP time s "
             "| gcp decode ms | PNG-8 decode ms | decode ratio |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        r = ratios(row)
        webp = (f"{r['webp']:.3f} | {row['webp_encode_s']:.1f}" if "webp" in r else "n/a | n/a")
        lines.append(
            f"| {row['image']} | {row['k']} | {row['png8']:,} | {r['gcp']:.3f} | "
            f"{r['gcp_rle']:.2f} | {r['gif']:.2f} | {webp} | {row['gcp_decode_s'] * 1000:.1f} "
            f"| {row['png8_decode_s'] * 1000:.1f} | {r['decode']:.2f} |")
    lines += ["", summary(rows)]
    return "\n".join(lines) + "\n"


def summary(rows: list[dict]) -> str:
    sizes = [ratios(row)["gcp"] for row in rows]
    decodes = [ratios(row)["decode"] for row in rows]
    text = (f".gcp / PNG-8: max {max(sizes):.3f}, median {statistics.median(sizes):.3f} over "
            f"{len(rows)} images; gcp decode / PNG-8 decode: max {max(decodes):.2f}, median "
            f"{statistics.median(decodes):.2f}")
    webps = [ratios(row)["webp"] for row in rows if "webp" in row]
    if webps:
        text += f"; WebP lossless / PNG-8: median {statistics.median(webps):.3f}"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", nargs="*")
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cwebp-z", type=int, default=9, help="cwebp -z level; -1 skips WebP")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--name", default="size")
    arguments = parser.parse_args()
    level = arguments.cwebp_z if arguments.cwebp_z >= 0 and have("cwebp") else None
    rows = []
    for path in image_paths(arguments.images):
        rows.append(measure(path, arguments.k, arguments.runs, level))
        print(format_row(rows[-1]), flush=True)
    print(summary(rows))
    arguments.out.mkdir(parents=True, exist_ok=True)
    (arguments.out / f"{arguments.name}.json").write_text(json.dumps(rows, indent=1) + "\n")
    (arguments.out / f"{arguments.name}.md").write_text(markdown(rows, arguments.runs))


if __name__ == "__main__":
    main()
