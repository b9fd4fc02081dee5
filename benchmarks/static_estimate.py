"""What a coder of static (per-image) codes would take for a .gcp file's indices: a bound.

Issue 11's decode bar asks a 16.8-MP decode at k = 256 for about 0.3 s of body on two
cores, 30-40 ns a pixel a core with everything in it, where method cm's model takes
80-140 ns. A coder that reads one symbol a pixel from a table (Huffman or ANS codes fixed
per stripe, as WebP lossless and JPEG XL do) fits that budget; this script says what
such codes could take at best, before anyone builds one. For each file it takes the
indices and codes each pixel's index as its rank among the palette's colours ordered by
distance from the left pixel's colour (0: L's own colour), and prints the empirical
entropy of that rank under a few small contexts (the places of U, UL and UR in L's
order, in 8 buckets each) plus a rough cost of the code tables (6 bits a symbol used a
context): the size a static code could approach, not reach.

    python benchmarks/static_estimate.py FILE.gcp [FILE.gcp ...]

Not part of the tests.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from gcp import cm, codec

TABLE_BITS_PER_SYMBOL = 6  # a code length per symbol used in a context, roughly
BUCKETS = 8


def entropy_bytes(symbols: np.ndarray, contexts: np.ndarray) -> tuple[float, float]:
    """(bytes of the symbols under their contexts' empirical distributions, bytes of
    the tables): int64 arrays of one value a pixel, symbols below 256."""
    pairs, pair_counts = np.unique(contexts * 256 + symbols, return_counts=True)
    _, context_counts = np.unique(contexts, return_counts=True)
    bits = -(pair_counts * np.log2(pair_counts)).sum() + (
        context_counts * np.log2(context_counts)).sum()
    return bits / 8, len(pairs) * TABLE_BITS_PER_SYMBOL / 8


def neighbours(indices: np.ndarray) -> dict[str, np.ndarray]:
    """int64 (H, W) arrays of each pixel's L, U, UL and UR, taken from the nearest pixel
    there is where the image has none (the first row from the left, the first column
    from above)."""
    index = indices.astype(np.int64)
    left = np.empty_like(index)
    left[:, 1:] = index[:, :-1]
    left[:, 0] = np.r_[index[0, 0], index[:-1, 0]]
    up = np.empty_like(index)
    up[1:] = index[:-1]
    up[0] = left[0]
    up_left = np.empty_like(index)
    up_left[1:, 1:] = index[:-1, :-1]
    up_left[:, 0] = up[:, 0]
    up_left[0] = left[0]
    up_right = np.empty_like(index)
    up_right[1:, :-1] = index[:-1, 1:]
    up_right[:, -1] = up[:, -1]
    up_right[0] = left[0]
    return {"v": index, "L": left, "U": up, "UL": up_left, "UR": up_right}


def bucket(place: np.ndarray) -> np.ndarray:
    """0 for place 0, then 1 + floor(log2(place)), at most BUCKETS - 1."""
    return np.minimum(np.floor(np.log2(place + 1)).astype(np.int64), BUCKETS - 1)


def estimates(path: Path) -> list[str]:
    data = path.read_bytes()
    _, palette, indices = codec.decode_indices(data)
    near = neighbours(indices)
    order = cm.colour_order(cm.colour_distances(palette, cm.unit_weights(palette)))
    places = cm.colour_ranks(order).astype(np.int64)  # places[a, b]: b's place in a's order
    rank = places[near["L"], near["v"]].ravel()
    u, ul, ur = (bucket(places[near["L"], near[name]]).ravel() for name in ("U", "UL", "UR"))
    row = [path.name, f"{len(palette)}", f"{len(data):,}"]
    for contexts in (np.zeros_like(rank), u, u * BUCKETS + ul,
                     (u * BUCKETS + ul) * BUCKETS + ur):
        symbols, tables = entropy_bytes(rank, contexts)
        row.append(f"{symbols + tables:,.0f} ({(symbols + tables) / len(data):.2f}x)")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help=".gcp files")
    arguments = parser.parse_args()
    print("| file | colours | .gcp bytes | no context | U | U, UL | U, UL, UR |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for path in arguments.files:
        print("| " + " | ".join(estimates(path)) + " |", flush=True)


if __name__ == "__main__":
    main()
