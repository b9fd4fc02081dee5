"""Method cm against PNG-8, WebP lossless and JPEG XL lossless of the very same pixels.

    python benchmarks/cm_size.py [IMAGES or FOLDERS...] [--k 16 64 256] [--dither]
                                 [--runs 3] [--large-pixels 4000000] [--out NAME]

For each image and setting (each --k, and with --dither each k again, dithered), gcp
encodes once with method lzma; the indices it stores are then written by every coder:

- gcp method cm (the body coded from the same indices, in the same file layout) and
  method lzma (the file itself);
- PNG-8: Pillow's optimized palette PNG, then zopflipng (``optipng -o2`` above
  --large-pixels, where zopfli takes minutes);
- WebP lossless, ``cwebp -lossless -exact -z 9`` (without ``-exact`` cwebp rewrites the
  colour under fully transparent pixels); JPEG XL lossless, ``cjxl -q 100 -e 9``
  (``-e 7`` above --large-pixels).

Every peer's file is decoded once more and compared with gcp's pixels: a file that does
not hold the very same pixels stops the run.

It prints each file's size over method cm's (above 1: cm is smaller), and times, as the
median of --runs: each peer's encode and decode to a full-colour image (``dwebp -ppm``,
``djxl`` to PPM, OpenCV's PNG decode, in-process), and gcp's cm body encode and whole
``gcp.decode``. Writes benchmarks/results/NAME.{md,json} (default cm_size).
Needs the Debian packages ``webp``, ``libjxl-tools``, ``zopfli`` and ``optipng``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np
from common import (
    RESULTS,
    environment_note,
    have,
    image_paths,
    load,
    match_channels,
    median_time,
    run_command,
    scratch,
)
from PIL import Image

import gcp
from gcp import cm_engine, container
from gcp.codec import decode_indices

PEERS = ("png8", "webp", "jxl")
NEEDED = ("cwebp", "dwebp", "cjxl", "djxl", "zopflipng", "optipng")


def palette_png(header, palette: np.ndarray, indices: np.ndarray) -> Image.Image:
    """The indices as a Pillow palette image ("P"), alpha as a tRNS table."""
    image = Image.fromarray(indices, "P")
    colours = palette[:, :1].repeat(3, axis=1) if header.channels <= 2 else palette[:, :3]
    image.putpalette(colours.astype(np.uint8).tobytes())
    if header.channels in (2, 4):
        image.info["transparency"] = palette[:, -1].astype(np.uint8).tobytes()
    return image


def timed(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def cm_file(header, palette: np.ndarray, indices: np.ndarray, runs: int
            ) -> tuple[bytes, float]:
    """The same image as a method-cm file, and the median time of coding its body."""
    seconds, body = median_time(lambda: cm_engine.encode(indices, palette,
                                                         compact=header.compact), runs)
    fields = dict(vars(header), method=container.METHOD_CM, tokens_length=0,
                  body_length=len(body))
    return container.pack(container.Header(**fields), palette, body), seconds


def check_same_pixels(peer: str, decoded_png: Path, pixels: np.ndarray) -> None:
    """Stop unless ``decoded_png``, a peer's file decoded, holds exactly ``pixels``, uint8
    (H, W, C): a size compared on other pixels means nothing."""
    decoded = match_channels(load(decoded_png), pixels.shape[2])
    if not np.array_equal(decoded, pixels):
        differing = int(np.any(decoded != pixels, axis=2).sum())
        raise SystemExit(f"{peer} changed {differing} pixels: not the same pixels")


def peers(header, palette: np.ndarray, indices: np.ndarray, pixels: np.ndarray, large: bool,
          runs: int) -> dict:
    """Size, encode and decode seconds of PNG-8, WebP and JPEG XL of ``pixels``."""
    row = {}
    with scratch() as folder:
        folder = Path(folder)
        pillow_png, png8 = folder / "pillow.png", folder / "png8.png"
        palette_png(header, palette, indices).save(pillow_png, optimize=True)
        optipng = ["optipng", "-quiet", "-o2", str(pillow_png), "-out", str(png8)]
        row["png8_tool"] = "optipng -o2" if large else "zopflipng"
        try:
            row["png8_encode_s"] = timed(
                optipng if large else ["zopflipng", "-y", str(pillow_png), str(png8)], 1)
        except subprocess.CalledProcessError:
            # zopflipng's decoder (lodepng) refuses some valid PNGs of Pillow's ("invalid
            # ADLER32", a sky at k = 256 whose checksum zlib verifies): optipng instead.
            row["png8_tool"] = "optipng -o2 (zopflipng refused)"
            row["png8_encode_s"] = timed(optipng, 1)
        data = np.frombuffer(png8.read_bytes(), np.uint8)
        row["png8"] = data.size
        row["png8_decode_s"], _ = median_time(
            lambda: cv2.imdecode(data, cv2.IMREAD_UNCHANGED), runs)
        check_same_pixels("PNG-8", png8, pixels)
        full = folder / "full.png"
        full.write_bytes(gcp.imageio.encode_image(pixels, ".png"))
        webp, jxl, ppm = folder / "out.webp", folder / "out.jxl", folder / "out.ppm"
        back = folder / "back.png"
        row["webp_encode_s"] = timed(["cwebp", "-quiet", "-lossless", "-exact", "-z", "9",
                                      str(full), "-o", str(webp)], 1)
        row["webp"] = webp.stat().st_size
        row["webp_decode_s"] = timed(["dwebp", "-quiet", str(webp), "-ppm", "-o", str(ppm)],
                                     runs)
        run_command(["dwebp", "-quiet", str(webp), "-o", str(back)])
        check_same_pixels("WebP", back, pixels)
        effort = "7" if large else "9"
        try:
            row["jxl_encode_s"] = timed(["cjxl", "-q", "100", "-e", effort, "--quiet",
                                         str(full), str(jxl)], 1)
        except subprocess.CalledProcessError:
            # libjxl 0.7's cjxl -e 9 dies (SIGILL) on some bilevel pages: take -e 7's file,
            # and say so in the row's jxl_effort.
            effort, row["jxl_crashed"] = "7", True
            row["jxl_encode_s"] = timed(["cjxl", "-q", "100", "-e", effort, "--quiet",
                                         str(full), str(jxl)], 1)
        row["jxl"] = jxl.stat().st_size
        row["jxl_decode_s"] = timed(["djxl", "--quiet", str(jxl), str(ppm)], runs)
        run_command(["djxl", "--quiet", str(jxl), str(back)])
        check_same_pixels("JPEG XL", back, pixels)
        row["jxl_effort"] = int(effort)
    return row


def measure(path: Path, k: int, dither: bool, runs: int, large_pixels: int) -> dict:
    image = load(path)
    lzma_data = gcp.encode(image, k, dither=dither)
    header, palette, indices = decode_indices(lzma_data)
    pixels = gcp.decode(lzma_data)
    cm_data, cm_encode_s = cm_file(header, palette, indices, runs)
    decode_s, decoded = median_time(lambda: gcp.decode(cm_data), runs)
    assert np.array_equal(decoded, pixels), f"{path.name}: method cm changed the pixels"
    large = indices.size > large_pixels
    row = {"image": path.name, "pixels": int(indices.size), "k": k, "dither": dither,
           "colours": len(palette), "cm": len(cm_data), "lzma": len(lzma_data),
           "cm_encode_s": round(cm_encode_s, 3), "cm_decode_s": round(decode_s, 3)}
    row.update(peers(header, palette, indices, pixels, large, runs))
    return row


def setting(row: dict) -> str:
    return f"k = {row['k']}" + (", dithered" if row["dither"] else "")


def markdown(rows: list[dict], runs: int) -> str:
    lines = [
        "# Method cm against PNG-8, WebP lossless and JPEG XL lossless, same pixels",
        "",
        f"{environment_note()}; times are medians of {runs} runs (encodes: 1 run).",
        "Sizes are each file over the method-cm file (above 1.00: cm is smaller). PNG-8 is "
        "zopflipng (optipng -o2 above 4 MP), WebP `cwebp -lossless -exact -z 9`, JPEG XL "
        "`cjxl -q 100 -e 9` (`-e 7` above 4 MP). Decode times are to full-colour pixels: "
        "`gcp.decode`, OpenCV's PNG decode (in-process), `dwebp -ppm`, `djxl` to PPM.",
        "",
        "| image | setting | cm bytes | lzma / cm | PNG-8 / cm | WebP / cm | JXL / cm | "
        "cm encode s | cm decode s | PNG decode s | WebP decode s | JXL decode s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row['image']} | {setting(row)} | {row['cm']:,} | "
            + " | ".join(f"{row[name] / row['cm']:.3f}" for name in ("lzma", *PEERS))
            + f" | {row['cm_encode_s']:.2f} | {row['cm_decode_s']:.2f} | "
            f"{row['png8_decode_s']:.2f} | {row['webp_decode_s']:.2f} | "
            f"{row['jxl_decode_s']:.2f} |")
    fallbacks = [f"{row['image']} ({setting(row)})" for row in rows
                 if "refused" in row.get("png8_tool", "")]
    if fallbacks:
        lines += ["", "PNG-8 by `optipng -o2` where zopflipng refused Pillow's file: "
                  + ", ".join(fallbacks) + "."]
    crashed = [f"{row['image']} ({setting(row)})" for row in rows
               if row.get("jxl_crashed")]
    if crashed:
        lines += ["", "JPEG XL by `cjxl -e 7` where `-e 9` crashed: " + ", ".join(crashed)
                  + "."]
    lines += ["", summary(rows)]
    return "\n".join(lines) + "\n"


def summary(rows: list[dict]) -> str:
    """Per setting: the least ratio over each peer (the bars: >= 1 everywhere against PNG-8
    and WebP), and the median against JPEG XL (the bar: >= 1)."""
    lines = ["| setting | images | least PNG-8 / cm | least WebP / cm | median JXL / cm | "
             "cm larger than WebP on |", "| --- | --- | --- | --- | --- | --- |"]
    for name in sorted({setting(row) for row in rows},
                       key=lambda s: (", dithered" in s, int(s.split()[2].rstrip(",")))):
        group = [row for row in rows if setting(row) == name]
        worse = [row["image"] for row in group if row["webp"] < row["cm"]]
        lines.append(
            f"| {name} | {len(group)} | {min(r['png8'] / r['cm'] for r in group):.3f} | "
            f"{min(r['webp'] / r['cm'] for r in group):.3f} | "
            f"{statistics.median(r['jxl'] / r['cm'] for r in group):.3f} | "
            f"{', '.join(worse) or 'none'} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("images", nargs="*")
    parser.add_argument("--k", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--dither", action="store_true",
                        help="also each k dithered")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--large-pixels", type=int, default=4_000_000)
    parser.add_argument("--out", default="cm_size")
    arguments = parser.parse_args()
    missing = [program for program in NEEDED if not have(program)]
    if missing:
        raise SystemExit(f"missing peers: {', '.join(missing)} (apt-get install webp "
                         "libjxl-tools zopfli optipng)")
    rows = []
    settings = [(k, False) for k in arguments.k]
    if arguments.dither:
        settings += [(k, True) for k in arguments.k]
    for path in image_paths(arguments.images):
        for k, dither in settings:
            row = measure(path, k, dither, arguments.runs, arguments.large_pixels)
            rows.append(row)
            print(f"{row['image']:28s} {setting(row):18s} cm {row['cm']:>9,}  "
                  + "  ".join(f"{name} {row[name] / row['cm']:.3f}"
                              for name in ("lzma", *PEERS)), flush=True)
    print(summary(rows))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{arguments.out}.json").write_text(json.dumps(rows, indent=1) + "\n")
    (RESULTS / f"{arguments.out}.md").write_text(markdown(rows, arguments.runs))


if __name__ == "__main__":
    main()
