"""The measurements behind the format's choices (spec/format.md section 12).

    python benchmarks/format_choices.py [IMAGES or FOLDERS...] [--k 16]

For each image quantized at k colours, the same indices coded four ways:
- short tokens (one byte, the form palettes of up to 16 colours take) and long tokens
  (two bytes, the form of larger palettes), each through the LZMA stage;
- the LZMA stage as the format has it (chunks of 512 KiB) and as one single stream;
- DEFLATE (zlib level 9) and bzip2 (level 9) in LZMA's place, on the same tokens.
Prints sizes in bytes and ratios; writes benchmarks/results/format_choices.{md,json}.
"""

from __future__ import annotations

import argparse
import bz2
import json
import zlib
from pathlib import Path

from common import RESULTS, environment_note, image_paths, load

import gcp
from gcp import entropy, rle
from gcp.codec import decode_indices

LONG_FORM = rle.SHORT_TOKEN_PALETTE_LIMIT + 1  # a palette size that takes long tokens


def measure(path: Path, k: int) -> dict:
    image = load(path)
    _, palette, indices = decode_indices(gcp.encode(image, k))
    flat = indices.ravel()
    row = {"image": path.name, "k": k, "palette_size": len(palette)}
    for name, palette_size in (("short", len(palette)), ("long", LONG_FORM)):
        if name == "short" and rle.token_size(palette_size) != 1:
            continue
        tokens = rle.encode_runs(flat, palette_size)
        size = rle.token_size(palette_size)
        row[f"{name}_tokens"] = len(tokens)
        row[f"{name}_lzma"] = len(entropy.compress_tokens(tokens, token_size=size))
        row[f"{name}_single_stream"] = len(entropy.compress_chunk(tokens, token_size=size))
        row[f"{name}_deflate"] = len(zlib.compress(tokens, 9))
        row[f"{name}_bzip2"] = len(bz2.compress(tokens, 9))
    return row


def markdown(rows: list[dict]) -> str:
    lines = [f"Measured {environment_note()}. Bytes of the LZMA body for the same indices.", "",
             "| image | k | short tokens | long tokens | short / long | chunked / one stream "
             "| DEFLATE / LZMA | bzip2 / LZMA |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        short = row.get("short_lzma")
        ratio = f"{short / row['long_lzma']:.3f}" if short else "n/a"
        form = "short" if short else "long"
        chunking = row[f"{form}_lzma"] / row[f"{form}_single_stream"]
        deflate = row[f"{form}_deflate"] / row[f"{form}_lzma"]
        bzip2 = row[f"{form}_bzip2"] / row[f"{form}_lzma"]
        lines.append(f"| {row['image']} | {row['k']} | {short or 'n/a'} | {row['long_lzma']} | "
                     f"{ratio} | {chunking:.4f} | {deflate:.2f} | {bzip2:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", nargs="*")
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--out", type=Path, default=RESULTS)
    arguments = parser.parse_args()
    rows = []
    for path in image_paths(arguments.images):
        rows.append(measure(path, arguments.k))
        print(json.dumps(rows[-1]), flush=True)
    arguments.out.mkdir(parents=True, exist_ok=True)
    (arguments.out / "format_choices.json").write_text(json.dumps(rows, indent=1) + "\n")
    (arguments.out / "format_choices.md").write_text(markdown(rows))
    print(markdown(rows))


if __name__ == "__main__":
    main()
