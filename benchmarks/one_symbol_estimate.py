"""What a coder of one adaptive symbol a pixel would take for a .gcp file's indices.

Issue 11's decode bar leaves 21-32 ns a pixel a core at 16.8 MP (benchmarks/README.md,
"Where a k = 256 decode's time goes"), room for one symbol a pixel read by a
multi-symbol arithmetic coder from one context's counts, not for method cm's mixing of
five counters a decision. ``static_estimate.py`` bounded codes fixed per image with the
index coded as its rank in the left colour's order; this script codes the pixel as the
issue's own estimate did, in two parts:

- the top symbol: which of the distinct neighbours L, U, UR, UL, LL, UU (in that order,
  the first of equal ones kept) holds the pixel's index, or the number of candidates
  (a miss) for none of them; with ``--match``, a seventh candidate goes first, M: the
  index of the last pixel before whose six neighbours were the same as this one's (cm's
  match in one lookup); with ``--offsets N``, N more go after UU (first, before M, with
  ``--offsets-first``): the pixels at the N offsets (rows up, columns left, up to
  ``OFFSET_REACH`` each way) whose index agrees most often with the pixel's own in a
  512 x 512 crop from the image's middle, the six neighbours' own offsets left out, as
  an encoder would choose them for a periodic texture (by agreement alone: one may
  repeat a neighbour's index often; a crop too small for the reach gives none);
- for a miss, the index's rank in the order of the palette by distance from L's
  colour (U's for the first column, 0 for the first pixel); with ``--med``, from the
  palette colour nearest the MED prediction (LOCO-I's median edge detector, channel by
  channel) from the colours of L, U and UL, where the pixel has all three.

The top symbol's context is the neighbours' equality pattern (L = U, U = UR, U = UL,
L = UL, L = LL, U = UU: 64 patterns; with ``--match`` M = L and M = U too, 256) with
the number of distinct candidates, or with the indices L and U; the rank's is the
bucket of U's place in L's order (floor(log2(place + 1)), at most 7; with ``--med``,
of L's place in the anchor's order). Each part is priced two ways:

- static: the empirical entropy under the contexts, plus 6 bits a (context, symbol)
  pair used for the code tables;
- adaptive: what counts kept per context would code, every symbol starting at 1 and each
  coded symbol adding ``INCREMENT``, all halved (rounded up) once a context's total
  passes ``LIMIT``: the best of three such settings, by a small C program (needs gcc).
  Ranks are priced over 256 symbols whatever k is (at k = 16 a little high).

    python benchmarks/one_symbol_estimate.py [--match] [--med] [--offsets N [--offsets-first]]
                                             FILE.gcp ...

Prints each file's size under each coding over the file's own size. Not part of the
tests, and no format: an estimate of what such a coder would take, before anyone builds
one (not a bound on every coder: other contexts can do better).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from static_estimate import entropy_bytes

from gcp import cm, codec

CANDIDATES = (("L", 0, 1), ("U", 1, 0), ("UR", 1, -1), ("UL", 1, 1), ("LL", 0, 2),
              ("UU", 2, 0))  # name, rows up, columns left
EQUALITIES = (("L", "U"), ("U", "UR"), ("U", "UL"), ("L", "UL"), ("L", "LL"), ("U", "UU"))
MATCH_EQUALITIES = (("M", "L"), ("M", "U"))
OFFSET_REACH = 24
CROP = 512
BUCKETS = 8
ADAPTIVE_SETTINGS = ((16, 1 << 16), (32, 1 << 13), (24, 1 << 10))  # INCREMENT, LIMIT

ADAPTIVE_C = r"""
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
/* argv: input file, increment, limit. Input: int64 n, int32 symbols, int64 contexts,
   then n int32 symbols and n int32 contexts (each below its count). Prints bytes. */
int main(int argc, char **argv) {
    FILE *f = fopen(argv[1], "rb");
    int64_t n, contexts; int32_t symbols;
    uint32_t increment = (uint32_t)atoi(argv[2]), limit = (uint32_t)atoi(argv[3]);
    if (!f || fread(&n, 8, 1, f) != 1 || fread(&symbols, 4, 1, f) != 1
        || fread(&contexts, 8, 1, f) != 1) return 1;
    int32_t *symbol = malloc(n * 4), *context = malloc(n * 4);
    uint32_t *count = malloc((size_t)contexts * symbols * 4), *total = malloc(contexts * 4);
    if ((int64_t)fread(symbol, 4, n, f) != n || (int64_t)fread(context, 4, n, f) != n)
        return 1;
    for (int64_t i = 0; i < contexts * symbols; i++) count[i] = 1;
    for (int64_t i = 0; i < contexts; i++) total[i] = (uint32_t)symbols;
    double bits = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t *c = count + (size_t)context[i] * symbols, *t = total + context[i];
        bits -= log2((double)c[symbol[i]] / *t);
        c[symbol[i]] += increment;
        *t += increment;
        if (*t > limit) {
            *t = 0;
            for (int s = 0; s < symbols; s++) { c[s] = (c[s] + 1) / 2; *t += c[s]; }
        }
    }
    printf("%.1f\n", bits / 8);
    return 0;
}
"""


def neighbours(indices: np.ndarray, offsets: tuple[tuple[str, int, int], ...] = ()
               ) -> dict[str, np.ndarray]:
    """int64 (H, W) arrays of each candidate neighbour's index (and each named offset's),
    -1 outside the image."""
    height, width = indices.shape
    found = {}
    for name, up, left in CANDIDATES + offsets:
        plane = np.full((height, width), -1, np.int64)
        if left >= 0:
            plane[up:, left:] = indices[:height - up, :width - left]
        else:
            plane[up:, :left] = indices[:height - up, -left:]
        found[name] = plane
    return found


def agreeing_offsets(indices: np.ndarray, count: int) -> list[tuple[int, int]]:
    """The ``count`` causal offsets (rows up, columns left) at which a pixel's index most
    often equals its own in a crop from the image's middle, the neighbours' left out."""
    height, width = indices.shape
    top, left = max(0, height // 2 - CROP // 2), max(0, width // 2 - CROP // 2)
    crop = indices[top:top + CROP, left:left + CROP].astype(np.int16)
    reach = OFFSET_REACH
    inner = crop[reach:, reach:-reach]
    if inner.size == 0:
        return []
    taken = {(up, columns) for _, up, columns in CANDIDATES}
    scores = []
    for up in range(reach + 1):
        for columns in range(-reach, reach + 1):
            if (up == 0 and columns <= 0) or (up, columns) in taken:
                continue
            shifted = crop[reach - up:crop.shape[0] - up,
                           reach - columns:crop.shape[1] - reach - columns]
            scores.append((float((inner == shifted).mean()), up, columns))
    scores.sort(key=lambda score: -score[0])
    return [(up, columns) for _, up, columns in scores[:count]]


def match_candidates(index: np.ndarray, near: dict[str, np.ndarray]) -> np.ndarray:
    """int64 (H, W): the index of the last pixel before (in reading order) whose six
    candidate neighbours equal this one's, -1 where none was."""
    key = np.zeros(index.shape, np.int64)
    for name, _, _ in CANDIDATES:
        key = key * 257 + near[name] + 1
    key = key.ravel()
    order = np.lexsort((np.arange(key.size), key))
    same = key[order[1:]] == key[order[:-1]]
    earlier = np.full(key.size, -1, np.int64)
    earlier[order[1:][same]] = order[:-1][same]
    return np.where(earlier >= 0, index.ravel()[np.maximum(earlier, 0)], -1).reshape(
        index.shape)


def med_anchors(near: dict[str, np.ndarray], palette: np.ndarray,
                anchor: np.ndarray) -> np.ndarray:
    """int64 (H, W): the index of the palette colour nearest (squared distance, ties to
    the lower index) the MED prediction from L, U and UL's colours; ``anchor`` where the
    pixel lacks one of them."""
    colours = palette.astype(np.int64)
    left, up, up_left = (colours[np.maximum(near[name], 0)] for name in ("L", "U", "UL"))
    high, low = np.maximum(left, up), np.minimum(left, up)
    med = np.where(up_left >= high, low, np.where(up_left <= low, high, left + up - up_left))
    flat = med.reshape(-1, colours.shape[1]).astype(np.float32)
    nearest = np.empty(len(flat), np.int64)
    step = 1 << 16
    for start in range(0, len(flat), step):
        part = flat[start:start + step, None, :] - colours[None].astype(np.float32)
        nearest[start:start + step] = (part * part).sum(axis=2).argmin(axis=1)
    whole = (near["L"] >= 0) & (near["U"] >= 0) & (near["UL"] >= 0)
    return np.where(whole, nearest.reshape(anchor.shape), anchor)


def symbols(indices: np.ndarray, palette: np.ndarray, match: bool, med: bool = False,
            offsets: int = 0, offsets_first: bool = False) -> dict[str, np.ndarray]:
    """Each pixel's top symbol (0 to the miss), its distinct candidates' count and
    equality pattern, and for misses the rank and the rank's context: flat int64 arrays."""
    index = indices.astype(np.int64)
    periodic = tuple((f"P{j}", up, columns)
                     for j, (up, columns) in enumerate(agreeing_offsets(index, offsets)))
    near = neighbours(index, periodic)
    names = [name for name, _, _ in (periodic + CANDIDATES if offsets_first
                                     else CANDIDATES + periodic)]
    equalities = EQUALITIES
    if match:
        near["M"] = match_candidates(index, near)
        names.insert(len(periodic) if offsets_first else 0, "M")
        equalities += MATCH_EQUALITIES
    top = np.full(index.shape, -1, np.int64)
    distinct = np.zeros(index.shape, np.int64)
    for j, name in enumerate(names):
        new = near[name] >= 0
        for earlier in names[:j]:
            new &= near[name] != near[earlier]
        hit = new & (near[name] == index) & (top < 0)
        top[hit] = distinct[hit]
        distinct += new
    top[top < 0] = len(names)
    pattern = np.zeros(index.shape, np.int64)
    for bit, (a, b) in enumerate(equalities):
        pattern |= ((near[a] == near[b]) & (near[a] >= 0)).astype(np.int64) << bit
    anchor = np.where(near["L"] >= 0, near["L"], np.maximum(near["U"], 0))
    places = cm.colour_ranks(cm.colour_order(
        cm.colour_distances(palette, cm.unit_weights(palette)))).astype(np.int64)
    up = np.where(near["U"] >= 0, near["U"], anchor)
    miss = top == len(names)
    up_place = np.minimum(np.floor(np.log2(places[anchor, up] + 1)), BUCKETS - 1)
    if med:
        left = anchor
        anchor = med_anchors(near, palette, anchor)
        up_place = np.minimum(np.floor(np.log2(places[anchor, left] + 1)), BUCKETS - 1)
    return {"miss": len(names), "top": top.ravel(), "distinct": distinct.ravel(),
            "pattern": pattern.ravel(),
            "left": near["L"].ravel() + 1, "up": near["U"].ravel() + 1,
            "rank": places[anchor, index][miss], "rank_context":
            up_place.astype(np.int64)[miss]}


def static_bytes(symbol: np.ndarray, context: np.ndarray) -> float:
    """Empirical entropy of ``symbol`` (below 256) under ``context`` plus the code tables,
    in bytes: ``static_estimate.entropy_bytes``'s two parts together."""
    return sum(entropy_bytes(symbol, context))


def adaptive_bytes(program: Path, work: Path, symbol: np.ndarray, context: np.ndarray,
                   alphabet: int) -> float:
    """Bytes adaptive counts take, the best of ADAPTIVE_SETTINGS."""
    _, dense = np.unique(context, return_inverse=True)
    data = work / "symbols.bin"
    with data.open("wb") as out:
        out.write(np.int64(len(symbol)).tobytes() + np.int32(alphabet).tobytes()
                  + np.int64(dense.max(initial=0) + 1).tobytes())
        out.write(symbol.astype(np.int32).tobytes() + dense.astype(np.int32).tobytes())
    return min(float(subprocess.run([str(program), str(data), str(increment), str(limit)],
                                    check=True, capture_output=True, text=True).stdout)
               for increment, limit in ADAPTIVE_SETTINGS)


def estimate(path: Path, program: Path, work: Path, arguments: argparse.Namespace) -> str:
    data = path.read_bytes()
    _, palette, indices = codec.decode_indices(data)
    s = symbols(indices, palette, arguments.match, arguments.med, arguments.offsets,
                arguments.offsets_first)
    miss = s["miss"]
    contexts = {"pattern, distinct": s["pattern"] * (miss + 1) + s["distinct"],
                "pattern, L, U": (s["pattern"] * 257 + s["left"]) * 257 + s["up"]}
    rank_static = static_bytes(s["rank"], s["rank_context"])
    rank_adaptive = adaptive_bytes(program, work, s["rank"], s["rank_context"], 256)
    cells = [path.name, f"{len(palette)}", f"{len(data):,}",
             f"{len(s['rank']) / len(s['top']):.3f}", f"{rank_adaptive / len(data):.2f}x"]
    for context in contexts.values():
        static = static_bytes(s["top"], context) + rank_static
        adaptive = adaptive_bytes(program, work, s["top"], context, miss + 1) + rank_adaptive
        cells += [f"{static / len(data):.2f}x", f"{adaptive / len(data):.2f}x"]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help=".gcp files")
    parser.add_argument("--match", action="store_true", help="M, the match, first")
    parser.add_argument("--med", action="store_true",
                        help="ranks from the colour nearest MED's prediction")
    parser.add_argument("--offsets", type=int, default=0,
                        help="candidates at this many agreeing offsets, after UU")
    parser.add_argument("--offsets-first", action="store_true",
                        help="the offsets before L rather than after UU")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "adaptive.c").write_text(ADAPTIVE_C)
        program = work / "adaptive"
        subprocess.run(["gcc", "-O2", "-o", str(program), str(work / "adaptive.c"), "-lm"],
                       check=True)
        print("| file | colours | .gcp bytes | misses a pixel | adaptive rank / file "
              "| pattern, distinct: static | adaptive | pattern, L, U: static | adaptive |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for path in arguments.files:
            print(estimate(path, program, work, arguments), flush=True)


if __name__ == "__main__":
    main()
