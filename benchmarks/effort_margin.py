"""What more fitting buys against the peers: gcp's PSNR margin over the better of
pngquant and OpenCV at each --effort, the peers' PSNR taken from a quality.py run.

    python benchmarks/effort_margin.py [IMAGES or FOLDERS...] [--k 8 16 256]
                                       [--efforts 5 9] [--peers results/quality-all.json]

gcp encodes in process (the same palettes as `gcp encode`); images or k with no peer
figures, or where a peer is lossless (infinite PSNR), are left out. Prints each image's
margin and fit time per effort, then the mean margin per effort and k.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from common import RESULTS, image_paths, load

import gcp
from gcp.compare import psnr


def peer_psnr(peers: dict, name: str, k: int) -> float | None:
    """The better peer's PSNR for ``name`` at ``k``, or None where there is no finite one."""
    row = peers.get((name, k))
    if row is None:
        return None
    best = max(row["pngquant"]["psnr"], row["opencv"]["psnr"])
    return best if best < float("inf") else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("images", nargs="*")
    parser.add_argument("--k", type=int, nargs="+", default=[8, 16, 256])
    parser.add_argument("--efforts", type=int, nargs="+", default=[5, 9])
    parser.add_argument("--peers", type=Path, default=RESULTS / "quality-all.json")
    arguments = parser.parse_args()
    peers = {(row["image"], row["k"]): row for row in json.loads(arguments.peers.read_text())}
    for k in arguments.k:
        margins: dict[int, list[float]] = {effort: [] for effort in arguments.efforts}
        for path in image_paths(arguments.images):
            best = peer_psnr(peers, path.name, k)
            if best is None:
                continue
            image = load(path)
            cells = []
            for effort in arguments.efforts:
                started = time.perf_counter()
                data = gcp.encode(image, k, effort=effort)
                seconds = time.perf_counter() - started
                margin = psnr(image, gcp.decode(data)) - best
                margins[effort].append(margin)
                cells.append(f"effort {effort} {margin:+.3f} dB ({seconds:.2f} s)")
            print(f"k={k} {path.name}: " + ", ".join(cells), flush=True)
        print(f"k={k} mean margin over {len(margins[arguments.efforts[0]])} images: "
              + ", ".join(f"effort {effort} {statistics.fmean(values):+.3f} dB"
                          for effort, values in margins.items() if values), flush=True)


if __name__ == "__main__":
    main()
