"""A cheaper body coder tried as a prototype: bytes and time beside method cm's.

``one_symbol_estimate.py`` estimates what one adaptive symbol a pixel could take;
``one_symbol_coder.c`` is such a coder, written plainly in C (gcc -O2): the pixel's top
symbol (which distinct candidate holds its index: M, the match, then L, U, UR, UL, LL,
UU, or a miss) and a miss's rank in L's order, coded by an LZMA-style range coder from
frequency counts kept per context ("counts"), or as binary decisions each from one
adaptive probability ("binary") or the mean of two ("binary, two"), none mixed as cm
mixes five; "MED's ranks" counts a miss's rank from the colour nearest MED's prediction
(found among the candidates of its cell in a 16 x 16 x 16 grid for RGB, else through
every colour). "offsets" adds three candidates
at the offsets whose pixels agree most often with the pixel
(``one_symbol_estimate.agreeing_offsets``), after UU or first. It codes a .gcp file's
indices, decodes them again and checks them, on one core.

Beside it, the same file's cm body is decoded in process (``cm_engine.decode``, its
stripes on every core of the CPU's OpenCL device: medians of ``--runs``), and its time is
given a pixel a core (the seconds times ``os.cpu_count()``, over the pixels), as if the
stripes shared the cores perfectly; the prototype's is the best of ``--runs`` on one core.

    python benchmarks/one_symbol_coder.py FILE.gcp [FILE.gcp ...] [--runs 3]
                                          [--variant NAME ...]

Needs gcc. Not part of the tests, and no format: a measure of what such a coder would
take and cost before anyone specifies one (benchmarks/README.md, "One symbol a pixel").
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from one_symbol_estimate import agreeing_offsets

from gcp import cm, cm_engine, codec, container

SOURCE = Path(__file__).with_name("one_symbol_coder.c")
OFFSETS = 3
VARIANTS = {  # CODER, MATCH, offsets, offsets first
    "counts": ("0", "0", False, "0"), "counts, match": ("0", "1", False, "0"),
    "binary": ("1", "0", False, "0"), "binary, two": ("2", "0", False, "0"),
    "binary, two, match": ("2", "1", False, "0"),
    "binary, two, offsets after UU": ("2", "0", True, "0"),
    "binary, two, offsets first": ("2", "0", True, "1"),
    "binary, two, offsets after UU, MED's ranks": ("4", "0", True, "0")}


def cm_decode_ns(data: bytes, runs: int) -> float:
    """cm's body decode in process, ns a pixel a core (median of ``runs``)."""
    header, palette, _ = codec.decode_indices(data)
    _, _, body = container.unpack(data)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        cm_engine.decode(body, header.width, header.height, palette, compact=header.compact)
        times.append(time.perf_counter() - started)
    cores = os.cpu_count() or 1
    return statistics.median(times) * cores * 1e9 / (header.width * header.height)


def prototype_input(data: bytes, path: Path) -> None:
    """Writes the prototype's input file for a .gcp file's indices."""
    _, palette, indices = codec.decode_indices(data)
    order = cm.colour_order(cm.colour_distances(palette, cm.unit_weights(palette)))
    with path.open("wb") as out:
        out.write(np.array([indices.shape[1], indices.shape[0], len(palette)],
                           np.int32).tobytes())
        out.write(np.ascontiguousarray(indices, np.uint8).tobytes())
        out.write(cm.colour_ranks(order).astype(np.uint16).tobytes())
        out.write(np.asarray(order, np.uint16).tobytes())
        out.write(np.int32(palette.shape[1]).tobytes())
        out.write(np.ascontiguousarray(palette, np.uint8).tobytes())


def row(path: Path, program: Path, work: Path, runs: int, variants: list[str]) -> str:
    data = path.read_bytes()
    _, palette, indices = codec.decode_indices(data)
    offsets = ";".join(f"{up},{left}" for up, left in agreeing_offsets(indices, OFFSETS))
    _, _, body = container.unpack(data)
    prototype_input(data, work / "input.bin")
    cells = [path.name, f"{len(palette)}", f"{len(body):,}", f"{cm_decode_ns(data, runs):.0f}"]
    for coder, match, with_offsets, first in (VARIANTS[name] for name in variants):
        length, _, decode_ns = subprocess.run(
            [str(program), str(work / "input.bin"), coder, match, str(runs),
             offsets if with_offsets else "", first],
            check=True, capture_output=True, text=True).stdout.split()
        cells.append(f"{int(length) / len(body):.3f}x, {float(decode_ns):.0f}")
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help=".gcp files of method cm")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--variant", dest="variants", action="append",
                        choices=list(VARIANTS), help="run this one (repeat it; default: all)")
    arguments = parser.parse_args()
    arguments.variants = arguments.variants or list(VARIANTS)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        program = work / "one_symbol_coder"
        subprocess.run(["gcc", "-O2", "-o", str(program), str(SOURCE)], check=True)
        print("| file | colours | cm body bytes | cm decode ns a pixel a core | "
              + " | ".join(f"{name}: bytes / cm's, decode ns a pixel"
                           for name in arguments.variants) + " |")
        print("| --- " * (4 + len(arguments.variants)) + "|")
        for path in arguments.files:
            print(row(path, program, work, arguments.runs, arguments.variants), flush=True)


if __name__ == "__main__":
    main()
