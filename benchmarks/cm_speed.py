"""Whole-process speed of method cm: `gcp encode` against pngquant, `gcp decode` against djxl.

    python benchmarks/cm_speed.py [IMAGES or FOLDERS...] [--k 16 256] [--runs 5]
                                  [--out NAME]

For each image and k, in turns (gcp, then its peer, --runs times, so that the machine's
drifting load falls on both alike):

- encode: `gcp encode IMG OUT.gcp -k K --method cm` against `pngquant K --nofs --speed 3`
  (the bar: at most 0.5x pngquant's time), with `--method lzma` beside for reference;
- decode: `gcp decode OUT.gcp OUT.ppm` against `djxl` of a `cjxl -q 100 -e 7` file of the
  same pixels, to PPM (the bar: at most 0.7x djxl's time).

Also the cm body's own encode and decode time in-process, and its throughput. Medians;
writes benchmarks/results/NAME.{md,json} (default cm_speed). Needs pngquant and
libjxl-tools.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np
from common import RESULTS, as_png, environment_note, gcp_command, have, image_paths, scratch

import gcp
from gcp import cm, cm_engine, container
from gcp.backends import select_backend
from gcp.codec import decode_indices


def seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - started


def in_turns(commands: dict[str, list[str]], runs: int) -> dict[str, float]:
    """Median seconds of each command, run in turns, ``runs`` rounds."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            times[name].append(seconds(command))
    return {name: statistics.median(values) for name, values in times.items()}


def body_times(data: bytes, runs: int) -> tuple[float, float]:
    """Median in-process seconds of the cm body's encode and decode."""
    header, palette, indices = decode_indices(data)
    _, _, body = container.unpack(data)
    encodes, decodes = [], []
    for _ in range(runs):
        started = time.perf_counter()
        cm_engine.encode(indices, palette, compact=header.compact)
        encodes.append(time.perf_counter() - started)
        started = time.perf_counter()
        cm_engine.decode(body, header.width, header.height, palette, compact=header.compact)
        decodes.append(time.perf_counter() - started)
    return statistics.median(encodes), statistics.median(decodes)


def table_sizes(data: bytes) -> str:
    """The entries of the coded stripes' hashed tables (spec 5.3.1, ``table_shrink``):
    "2^14", or "2^14, 2^18" where the stripes differ; "-" where none is coded."""
    header, palette, body = container.unpack(data)
    block_width, block_height, inner = cm.split_blocks(body, header.compact)
    _, _, stripes = cm.split_stripes(inner, -(-header.width // block_width),
                                     -(-header.height // block_height), palette.shape[1],
                                     len(palette), header.compact)
    shrinks = {cm.table_shrink_of(stripe[0]) for stripe in stripes
               if cm.mode_of(stripe[0]) in cm.CODED_MODES}
    sizes = [f"2^{cm.HASH_BITS - shrink}" for shrink in sorted(shrinks, reverse=True)]
    return ", ".join(sizes) or "-"


def measure(path: Path, k: int, runs: int, folder: Path) -> dict:
    png = as_png(path, str(folder))
    out = folder / f"{path.stem}-{k}"
    gcp_run = gcp_command()
    encode = in_turns({
        "cm": [*gcp_run, "encode", str(png), f"{out}.gcp", "-k", str(k), "--method", "cm",
               "-f"],
        "pngquant": ["pngquant", str(k), "--nofs", "--speed", "3", "--force", "--output",
                     f"{out}-pq.png", str(png)],
        "lzma": [*gcp_run, "encode", str(png), f"{out}-lzma.gcp", "-k", str(k), "-f"],
    }, runs)
    data = Path(f"{out}.gcp").read_bytes()
    full = folder / "full.png"
    full.write_bytes(gcp.imageio.encode_image(gcp.decode(data), ".png"))
    subprocess.run(["cjxl", "-q", "100", "-e", "7", "--quiet", str(full), f"{out}.jxl"],
                   check=True)
    decode = in_turns({
        "cm": [*gcp_run, "decode", f"{out}.gcp", f"{out}.ppm", "-f"],
        "djxl": ["djxl", "--quiet", f"{out}.jxl", f"{out}-jxl.ppm"],
    }, runs)
    body_encode, body_decode = body_times(data, runs)
    info = gcp.read_info(data)
    pixels = info.width * info.height
    return {"image": path.name, "pixels": pixels, "k": k, "tables": table_sizes(data),
            "encode_s": round(encode["cm"], 3), "pngquant_s": round(encode["pngquant"], 3),
            "lzma_encode_s": round(encode["lzma"], 3),
            "decode_s": round(decode["cm"], 3), "djxl_s": round(decode["djxl"], 3),
            "body_encode_s": round(body_encode, 3), "body_decode_s": round(body_decode, 3),
            "body_encode_mp_s": round(pixels / body_encode / 1e6, 1),
            "body_decode_mp_s": round(pixels / body_decode / 1e6, 1)}


def body_only(paths: list[Path], ks: list[int], runs: int, devices: list[str | None],
              stripe_pixels: list[int]) -> None:
    """Print the cm body's encode and decode MP/s on each OpenCL device, for stripes of
    about each of ``stripe_pixels`` pixels, with the body's size; nothing else. The bytes
    of one image, k and stripe size must be the same on every device (checked)."""
    tiny = np.zeros((4, 4), np.uint8), np.zeros((1, 3), np.uint8)
    for device in devices:
        print(f"device {device or '(default)'}: {select_backend('opencl', device).device}")
        cm_engine.encode(*tiny, engine="opencl", device=device)  # builds the kernels: not timed
    for path in paths:
        image = gcp.imageio.decode_image(path.read_bytes())
        height, width = image.shape[:2]
        megapixels = height * width / 1e6
        for k in ks:
            _, palette, indices = decode_indices(gcp.encode(image, k, method="rle"))
            for pixels in stripe_pixels:
                stripe_height = cm.stripe_height_for(width, height, pixels)
                stripes = len(cm.stripe_rows(height, stripe_height))
                first = None
                for device in devices:
                    encodes, decodes = [], []
                    for _ in range(runs):
                        started = time.perf_counter()
                        body = cm_engine.encode(indices, palette, engine="opencl", device=device,
                                                stripe_height=stripe_height)
                        encodes.append(time.perf_counter() - started)
                        started = time.perf_counter()
                        decoded = cm_engine.decode(body, width, height, palette, engine="opencl",
                                                   device=device)
                        decodes.append(time.perf_counter() - started)
                    same = np.array_equal(decoded, indices)
                    first = body if first is None else first
                    print(f"{path.name} k={k} stripes={stripes} device={device or 'default'}: "
                          f"body {len(body)} bytes, encode "
                          f"{megapixels / statistics.median(encodes):.1f} MP/s, decode "
                          f"{megapixels / statistics.median(decodes):.1f} MP/s, "
                          f"round trip {'exact' if same else 'WRONG'}, bytes "
                          f"{'as the first device' if body == first else 'DIFFER'}",
                          flush=True)


def markdown(rows: list[dict], runs: int, device: str) -> str:
    lines = [
        "# Method cm: whole encodes against pngquant, whole decodes against djxl",
        "",
        f"{environment_note()}; OpenCL device: {device}. Medians of {runs} runs in turns.",
        "Bars: encode at most 0.5x pngquant (`--nofs --speed 3`), decode to PPM at most "
        "0.7x djxl's of a `cjxl -e 7` file.",
        "",
        "Tables: the entries of the hashed tables the file's coded stripes read (spec 5.3.1, "
        "`table_shrink`).",
        "",
        "| image | k | tables | gcp encode s | pngquant s | ratio | lzma encode s | "
        "gcp decode s | djxl s | ratio | body encode MP/s | body decode MP/s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row['image']} | {row['k']} | {row.get('tables', '')} | {row['encode_s']:.2f} "
            f"| {row['pngquant_s']:.2f} "
            f"| {row['encode_s'] / row['pngquant_s']:.2f} | {row['lzma_encode_s']:.2f} | "
            f"{row['decode_s']:.2f} | {row['djxl_s']:.2f} | "
            f"{row['decode_s'] / row['djxl_s']:.2f} | {row['body_encode_mp_s']} | "
            f"{row['body_decode_mp_s']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("images", nargs="*")
    parser.add_argument("--k", type=int, nargs="+", default=[16, 256])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", default="cm_speed")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--body-only", action="store_true",
                        help="only the cm body's MP/s, in-process: no peers needed")
    parser.add_argument("--device", action="append",
                        help="with --body-only: an OpenCL device, as PYOPENCL_CTX names one "
                             "(repeat to compare devices)")
    parser.add_argument("--stripe-pixels", type=int, nargs="+",
                        default=[cm.TARGET_STRIPE_PIXELS],
                        help="with --body-only: stripes of about these many pixels")
    arguments = parser.parse_args()
    if arguments.body_only:
        body_only(image_paths(arguments.images), arguments.k, arguments.runs,
                  arguments.device or [None], arguments.stripe_pixels)
        return
    for program in ("pngquant", "cjxl", "djxl"):
        if not have(program):
            raise SystemExit(f"missing {program} (apt-get install pngquant libjxl-tools)")
    device = select_backend("opencl").device
    rows = []
    with scratch() as folder:
        for path in image_paths(arguments.images):
            for k in arguments.k:
                row = measure(path, k, arguments.runs, Path(folder))
                rows.append(row)
                print(f"{row['image']:20s} k={k:3d} encode {row['encode_s']:.2f}s / pngquant "
                      f"{row['pngquant_s']:.2f}s = {row['encode_s'] / row['pngquant_s']:.2f}"
                      f"  decode {row['decode_s']:.2f}s / djxl {row['djxl_s']:.2f}s = "
                      f"{row['decode_s'] / row['djxl_s']:.2f}  body {row['body_encode_mp_s']}"
                      f" / {row['body_decode_mp_s']} MP/s", flush=True)
    arguments.results.mkdir(parents=True, exist_ok=True)
    (arguments.results / f"{arguments.out}.json").write_text(json.dumps(rows, indent=1) + "\n")
    (arguments.results / f"{arguments.out}.md").write_text(
        markdown(rows, arguments.runs, device))


if __name__ == "__main__":
    main()
