"""Write the test vectors of spec/format.md into this folder, with manifest.json.

    python spec/vectors/make_vectors.py

Each valid vector is a .gcp file and the pixels it must decode to (in the manifest: the
SHA-256 of the row-major bytes, and for small images the bytes themselves in hex). Each
invalid vector breaks exactly one decoder rule, with a correct CRC unless the CRC is the
rule, and names the ``field`` a decoder must report.
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from gcp import cm, container, entropy, rle, varint  # noqa: E402
from gcp.container import METHOD_CM, METHOD_LZMA, METHOD_RLE, Header  # noqa: E402

MAX_HEX_PIXELS = 4096  # larger vectors give only the SHA-256 of their pixels
CODED = container.FLAG_CODED_PALETTE
COMPACT = container.FLAG_COMPACT

BLUE_RED = np.array([[0, 0, 255], [255, 0, 0]], np.uint8)
EXAMPLE = np.array([[0, 0, 0, 1], [1, 1, 1, 1]], np.uint8)  # spec section 8
GREYS = np.array([[0], [128], [255]], np.uint8)
RGBA = np.array([[0, 0, 0, 0], [255, 255, 255, 255], [10, 200, 30, 128], [1, 2, 3, 4]],
                np.uint8)
# 17 colours: the smallest palette that takes two-byte (long) tokens.
SEVENTEEN = np.stack([np.arange(17) * 15, 255 - np.arange(17) * 15, np.full(17, 7)],
                     axis=1).astype(np.uint8)
RAMP = np.arange(256, dtype=np.uint8)
RANDOM_RGBA = np.random.default_rng(12).integers(0, 256, (256, 4)).astype(np.uint8)
ALL_COLOURS = np.stack([RAMP, 255 - RAMP, RAMP // 2], axis=1)
# 600000 alternating pixels: 600000 one-byte tokens, two lzma chunks (524288 + 75712).
ALTERNATING = (np.arange(600_000) % 2).astype(np.uint8).reshape(600, 1000)
# 14 x 23 indices with edges, flat areas, a diagonal texture and repeats, for method cm.
_ys, _xs = np.mgrid[0:14, 0:23]
CM_PATTERN = (((_xs // 3 + _ys // 2) * 7 + (_xs + _ys) % 5 * 40 + (_xs * _ys) % 11)
              % 256).astype(np.uint8)
# 21 x 10 indices of 4 colours in blocks of 3 x 2 (a 7 x 5 image of blocks), for cm's
# block prefix (5.3.1).
CM_BLOCKS = np.random.default_rng(21).integers(0, 4, (5, 7)).astype(np.uint8).repeat(
    2, axis=0).repeat(3, axis=1)
# 24 x 32, 256 colours: a ramp, with jumps of 128 whose ranks take the largest bucket (8:
# values of 8 bits).
_ys, _xs = np.mgrid[0:24, 0:32]
CM_RAMP_256 = ((_xs * 8 + _ys * 3 + ((_xs * 7 + _ys * 13) % 17 == 0) * 128)
               % 256).astype(np.uint8)
CM_NOISE = np.random.default_rng(5).integers(0, 256, (6, 9)).astype(np.uint8)
# 64 x 48 of 8 greys at random: 384 row-match lookups in one stripe, many of whose keys
# share their low 12 bits.
CM_ROW_NOISE = np.random.default_rng(31).integers(0, 8, (48, 64)).astype(np.uint8)
GREYS_8 = (np.arange(8, dtype=np.uint8) * 36)[:, None]
# 24 x 32 grey levels of a 256-level grey ramp: a textured gradient, so that most pixels
# take a rank and the bias correction moves the anchor (5.3.5) on one channel.
_ys, _xs = np.mgrid[0:24, 0:32]
CM_GREY_TEXTURE = (90 + _xs * 3 + _ys * 2 + (_xs * 5 + _ys * 3) % 7 * 3
                   + (_xs * _ys) % 5).astype(np.uint8)
GREY_RAMP = RAMP[:, None]
# RGBA: 8 colours at alpha 255, 128 and 0 (so some differ in alpha alone), then two of
# them again; indices in diagonal bands with 20% noise, so that many pixels take a rank.
_OPAQUE = np.array([[0, 0, 0], [255, 255, 255], [200, 30, 30], [30, 200, 30], [30, 30, 200],
                    [120, 120, 120], [250, 200, 0], [0, 160, 160]], np.uint8)
_BY_ALPHA = np.concatenate([np.concatenate([_OPAQUE, np.full((8, 1), alpha, np.uint8)], 1)
                            for alpha in (255, 128, 0)])
ALPHA_AND_DUPLICATES = np.concatenate([_BY_ALPHA, _BY_ALPHA[[5, 13]]])
_rng = np.random.default_rng(0)
_ys, _xs = np.mgrid[0:24, 0:32]
CM_ALPHA_INDICES = ((_xs // 4 + _ys // 3 + _rng.integers(0, 3, _xs.shape)) % 8
                    + 8 * ((_xs + 2 * _ys + _rng.integers(0, 2, _xs.shape)) // 11 % 3)
                    ).astype(np.uint8)
_noise = _rng.random(CM_ALPHA_INDICES.shape) < 0.2
CM_ALPHA_INDICES[_noise] = _rng.integers(0, len(ALPHA_AND_DUPLICATES), _noise.sum())
# 8 x 20 greys: 60, with a level of 100 to 199 at positions 8 and 16, where the one pixel
# in eight that takes a rank meets BIAS_SHARE's bound exactly (ranked x 8 = position: the
# corrected anchor), then at 27, 36, 45, ..., one in nine, below it (the MED anchor, while
# the correction is not 0).
CM_BIAS_SHARE = np.full(160, 60, np.uint8)
CM_BIAS_SHARE[8:20:8] = np.random.default_rng(3).integers(100, 200, 2)
CM_BIAS_SHARE[27::9] = np.random.default_rng(4).integers(100, 200, len(CM_BIAS_SHARE[27::9]))
CM_BIAS_SHARE = CM_BIAS_SHARE.reshape(8, 20)
# 24 x 32 greys in two stripes of 12 rows: a ramp with noise above, which the encoder codes
# as STRIPE_RANKS (no candidates for a pixel that is not flat), flat bands with a flat
# corner below, STRIPE_CODED.
_ys, _xs = np.mgrid[0:24, 0:32]
CM_RANKS = np.clip(40 + _xs * 5 + np.random.default_rng(6).normal(0, 6, _xs.shape), 0,
                   255).astype(np.uint8)
CM_RANKS[:3, :5] = 100
CM_RANKS[12:] = 30 + _xs[12:] // 8 * 40
CM_SMOOTH = np.clip(60 + _xs * 3 + _ys + np.random.default_rng(7).normal(0, 4, _xs.shape),
                    0, 255).astype(np.uint8)
# 16 x 40, 8 colours: 8 rows of a texture, then the same rows in reverse order (an image
# mirrored top to bottom), where the row match (5.3.3) finds each row's source.
_ys, _xs = np.mgrid[0:8, 0:40]
_TOP = ((_xs * 3 + _ys * 5 + (_xs * _ys) % 7 + (_xs // 5) * (_ys % 3)) % 8).astype(np.uint8)
CM_MIRRORED = np.concatenate([_TOP, _TOP[::-1]])
# 24 x 32, 3 greys: a diagonal ramp ordered-dithered by a 4 x 4 Bayer matrix, which
# repeats 4 rows up and 4 columns to the right (a STRIPE_CODED_UU stripe's UU, 5.3.2).
_ys, _xs = np.mgrid[0:24, 0:32]
_BAYER_4 = np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]])
CM_DITHERED = np.floor((_xs + _ys) / 54 * 2 + (_BAYER_4[_ys % 4, _xs % 4] + 0.5) / 16
                       ).astype(np.uint8)
# 24 x 32, the same dither of a ramp across, but two pixels changed: rows repeat the row 4
# up (row repeats of STRIPE_CODED_UU, 5.3.2) but for rows 6 and 17.
CM_DITHERED_ROWS = np.floor(_xs / 31 * 2 + (_BAYER_4[_ys % 4, _xs % 4] + 0.5) / 16
                            ).astype(np.uint8)
CM_DITHERED_ROWS[6, 9] = 2
# Bilevel "text" for STRIPE_CODED_WIDE: three 5 x 7 glyphs, drawn in lines of words.
_GLYPHS = [np.array([[int(bit) for bit in row] for row in glyph.split()], np.uint8)
           for glyph in ("01110 10001 10001 11111 10001 10001 10001",
                         "11110 10001 11110 10001 10001 10001 11110",
                         "01111 10000 10000 10000 10000 10000 01111")]
_TEXT = ("ABC CAB BAC ACB", "CBA ABC CAB BCA", "BAC ACB ABC CBA")
CM_TEXT = np.zeros((9 * len(_TEXT), 6 * len(_TEXT[0]) + 2), np.uint8)
for _line, _words in enumerate(_TEXT):
    for _at, _letter in enumerate(_words):
        if _letter != " ":
            CM_TEXT[9 * _line + 1:9 * _line + 8, 6 * _at + 1:6 * _at + 6] = \
                _GLYPHS["ABC".index(_letter)]
CM_DITHERED_ROWS[17, 30] = 0
# 16 x 24 grey + alpha, 16 colours (4 greys 80 apart x 4 alphas 20 apart): alpha falls in
# steps across the columns, grey is noise; the encoder weighs alpha 64 (5.3.1). A plain
# distance would put the colours of the other alphas first in every order (20^2 < 80^2);
# weighed, those of the pixel's own alpha come first (80^2 < 64 x 20^2), 5.3.5.
GREY_BY_ALPHA = np.array([[grey, alpha] for alpha in (255, 235, 215, 195)
                          for grey in (0, 80, 160, 240)], np.uint8)
_ys, _xs = np.mgrid[0:16, 0:24]
CM_WEIGHTED = (4 * (_xs // 6) + np.random.default_rng(7).integers(0, 4, _xs.shape)
               ).astype(np.uint8)
# 14 x 40, 4 colours, for spans (5.3.4): a background 0 with a shape of 1 whose left edge
# moves a row (spans ending before and after the row above's), lone pixels of 2 in flat
# rows (one first in its row), a 2-column tile of 3 repeated along rows 10 and 11 (the
# match agreeing over spans, then not), and rows that reach the image's right edge.
CM_SPANS = np.zeros((14, 40), np.uint8)
for _y in range(2, 9):
    CM_SPANS[_y, 12 - _y // 2 + (_y % 3):30] = 1
CM_SPANS[4, 35] = CM_SPANS[9, 3] = CM_SPANS[12, 20] = 2
CM_SPANS[10:12, 2:38:6] = 3
CM_SPANS[10:12, 3:38:6] = 3
CM_SPANS[11, 26] = CM_SPANS[13, 0] = 2


def _spans_and_matches(seed: int = 8) -> np.ndarray:
    """14 x 40 indices on a background of 1 (so v is not 0): rows holding a 5-index tile
    twice (the row match on where a span starts), rows with two lone pixels, and rows
    copying earlier ones (the match followed over spans, into pixels a span has not
    decoded yet). Chosen so that six misreadings of 5.3.4 each decode it wrongly."""
    rng = np.random.default_rng(seed)
    indices = np.full((14, 40), 1, np.uint8)
    tile = rng.integers(0, 4, 5).astype(np.uint8)
    for y in range(14):
        kind = rng.integers(0, 4)
        if kind == 0:
            start = int(rng.integers(0, 10))
            indices[y, start:start + 5] = tile
            indices[y, start + 13:start + 18] = tile
        elif kind == 1:
            for x in rng.integers(0, 40, 2):
                indices[y, x] = rng.integers(0, 4)
        elif kind == 2 and y:
            indices[y] = indices[rng.integers(0, y)]
    return indices


CM_SPANS_AND_MATCHES = _spans_and_matches()
# 4 x 40000, two colours: 0 but for a 1 in each row after the first, at columns 20000,
# 9000 and 25000. Spans of 40000 pixels (bit_length 16) and of 14997 to 30997 (14 and
# 15) share buckets up to 15 (5.3.4).
CM_LONG_SPANS = np.zeros((4, 40000), np.uint8)
CM_LONG_SPANS[[1, 2, 3], [20000, 9000, 25000]] = 1
# A coded stripe (mode byte 0, then 4 bytes) of a 1 x 1 image with 3 colours whose bits
# say "not L", bucket 2, value 3: rank 2 where 2 colours are left. Found by trying data.
CM_BAD_RANK = bytes.fromhex("00 80 00 00 00")


def tokens_of(indices: np.ndarray, palette: np.ndarray) -> bytes:
    return rle.encode_runs(indices.ravel(), len(palette))


def build(indices: np.ndarray, palette: np.ndarray, *, method: int = METHOD_RLE,
          flags: int = 0, tokens: bytes | None = None, body: bytes | None = None,
          stripe_height: int | None = None, **header_overrides) -> bytes:
    """A .gcp file for an index image (H, W) and palette (K, C), fields overridable."""
    height, width = indices.shape
    if method == METHOD_CM:
        tokens = b""
        if body is None:
            body = cm.encode_body(indices, palette, stripe_height,
                                  compact=bool(flags & COMPACT))
    if tokens is None:
        tokens = tokens_of(indices, palette)
    if body is None:
        body = tokens if method == METHOD_RLE else entropy.compress_tokens(
            tokens, token_size=rle.token_size(len(palette)))
    fields = dict(version=container.VERSION, channels=palette.shape[1], method=method,
                  flags=flags, width=width, height=height, palette_size=len(palette),
                  tokens_length=len(tokens), body_length=len(body))
    fields.update(header_overrides)
    return container.pack(Header(**fields), palette, body)


def cm_plain_body(indices: np.ndarray, palette: np.ndarray, stripe_height: int | None = None,
                  compact: bool = False) -> bytes:
    """A method-cm body of STRIPE_CODED stripes (one, unless ``stripe_height`` says),
    whatever the encoder would choose: for vectors that pin the candidates' path on pixels
    the encoder would code by rank alone (STRIPE_RANKS) or write uncoded (STRIPE_PACKED)."""
    weights = cm.channel_weights_for(indices, palette)
    tables = cm.PaletteTables(palette, weights)
    stripe_height = stripe_height or len(indices)
    stripes = [bytes([cm.STRIPE_CODED]) + cm.code_stripe_data(indices[top:top + count],
                                                              tables, cm.STRIPE_CODED)
               for top, count in cm.stripe_rows(len(indices), stripe_height)]
    return cm.join_stripes(stripe_height, weights, stripes, compact)


def cm_body_in_modes(indices: np.ndarray, palette: np.ndarray, stripe_height: int,
                     modes: list[int], uu_offsets: list[tuple[int, int]] | None = None
                     ) -> bytes:
    """A method-cm body whose stripes are coded in the given coded ``modes``, one a stripe
    (with UU at ``uu_offsets``' in STRIPE_CODED_UU), whatever the encoder would choose."""
    weights = cm.channel_weights_for(indices, palette)
    tables = cm.PaletteTables(palette, weights)
    rows = cm.stripe_rows(len(indices), stripe_height)
    uu_offsets = uu_offsets or [cm.TWO_UP] * len(rows)
    stripes = [cm.stripe_prefix(mode, uu) + cm.code_stripe_data(indices[top:top + count],
                                                                tables, mode, uu)
               for (top, count), mode, uu in zip(rows, modes, uu_offsets, strict=True)]
    return cm.join_stripes(stripe_height, weights, stripes)


def row_match_tables_body() -> bytes:
    """cm-small-tables-row-match's body: one STRIPE_CODED stripe with table_shrink 6, whose
    coded data differs from its coding with the row match's table also cut to 12 bits,
    so that the vector tells a decoder that shrinks that table too (5.3.1 shrinks models 1
    to 3 and the match table alone)."""
    mode = cm.mode_byte(cm.STRIPE_CODED, 6)
    body = cm_body_in_modes(CM_ROW_NOISE, GREYS_8, len(CM_ROW_NOISE), [mode])
    exact_key = cm.row_match_key

    def shrunk_key(row: bytearray, x: int) -> int:
        key = exact_key(row, x)
        return key & 0xFFF if key >= 0 else -1

    try:
        cm.row_match_key = shrunk_key
        shrunk = cm_body_in_modes(CM_ROW_NOISE, GREYS_8, len(CM_ROW_NOISE), [mode])
    finally:
        cm.row_match_key = exact_key
    assert body != shrunk
    return body


def small_tables_body() -> bytes:
    """cm-small-tables' body; each stripe's coded data differs from its coding with
    table_shrink 0, so that the vector tells a decoder that ignores table_shrink."""
    modes = [cm.mode_byte(cm.STRIPE_CODED, 6), cm.mode_byte(cm.STRIPE_RANKS, 4)]
    body = cm_body_in_modes(CM_GREY_TEXTURE, GREY_RAMP, 12, modes)
    full = cm_body_in_modes(CM_GREY_TEXTURE, GREY_RAMP, 12, [cm.mode_of(m) for m in modes])
    _, _, stripes = cm.split_stripes(body, 32, 24, 1, 256)
    _, _, full_stripes = cm.split_stripes(full, 32, 24, 1, 256)
    assert all(bytes(a[1:]) != bytes(b[1:]) for a, b in zip(stripes, full_stripes, strict=True))
    return body


def chunk(stream: bytes) -> bytes:
    """One chunk of a method-lzma body: compressed_length, then the .lzma stream."""
    return len(stream).to_bytes(4, "little") + stream


def with_crc_fixed(data: bytes) -> bytes:
    return data[:-4] + zlib.crc32(data[:-4]).to_bytes(4, "little")


def compact_patch(data: bytes, **fields: bytes) -> bytes:
    """A compact-form file with header fields replaced by the raw bytes given (varints,
    valid or not), the CRC recomputed."""
    raw, at = {}, container.COMPACT_PREFIX_SIZE
    for name, most_bytes in container.COMPACT_FIELDS:
        end = varint.end_of(data, at, most_bytes)
        raw[name], at = data[at:end], end
    raw.update(fields)
    return with_crc_fixed(data[:container.COMPACT_PREFIX_SIZE] + b"".join(raw.values())
                          + data[at:])


def patch(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    """Overwrite one header field and recompute the CRC."""
    patched = bytearray(data)
    struct.pack_into(fmt, patched, offset, value)
    return with_crc_fixed(bytes(patched))


def valid_vectors() -> dict[str, tuple[bytes, np.ndarray, str]]:
    """name: (file bytes, expected pixels (H, W, C), note)."""
    cases = {
        "rle-example": (EXAMPLE, BLUE_RED, "The worked example of spec section 8.",
                        dict(flags=container.FLAG_EXACT)),
        "lzma-example": (EXAMPLE, BLUE_RED, "The same image as rle-example, method lzma.",
                         dict(flags=container.FLAG_EXACT, method=METHOD_LZMA)),
        "grey-1x1": (np.zeros((1, 1), np.uint8), GREYS[1:2], "One grey pixel.", {}),
        "grey-3x1-column": (np.array([[0], [1], [2]], np.uint8), GREYS,
                            "A 1-pixel-wide column of three greys.", {}),
        "rgba-3x2": (np.array([[0, 1, 2], [2, 1, 0]], np.uint8), RGBA[:3],
                     "RGBA, alpha is a channel like the others.", {}),
        "grey-alpha-2x2": (np.array([[0, 1], [1, 1]], np.uint8),
                           np.array([[20, 255], [220, 0]], np.uint8),
                           "Grey+alpha, channels = 2.", {}),
        "short-run-16": (np.zeros((4, 4), np.uint8), BLUE_RED[:1],
                         "One run of exactly MAX_SHORT_RUN = 16 pixels: one token 0F.", {}),
        "short-run-17": (np.zeros((1, 17), np.uint8), BLUE_RED[:1],
                         "A run of 17 = MAX_SHORT_RUN + 1 pixels: tokens 0F 00.", {}),
        "short-index-15": (np.full((1, 3), 15, np.uint8), SEVENTEEN[:16],
                           "Index 15, the highest a short token holds: token F2.", {}),
        "long-run-256": (np.zeros((16, 16), np.uint8), SEVENTEEN,
                         "17 colours: long tokens. One run of MAX_LONG_RUN = 256: 00 FF.", {}),
        "long-run-257": (np.zeros((1, 257), np.uint8), SEVENTEEN,
                         "A run of 257 = MAX_LONG_RUN + 1: tokens 00 FF 00 00.", {}),
        "run-crosses-rows": (np.array([[0, 1, 1], [1, 1, 0], [0, 0, 0]], np.uint8), BLUE_RED,
                             "Runs continue from the end of one row into the next.", {}),
        "palette-256": (RAMP.reshape(16, 16), ALL_COLOURS,
                        "All 256 indices, each used once.", {}),
        "unused-palette-entry": (np.zeros((2, 2), np.uint8), BLUE_RED,
                                 "A palette entry no pixel uses is allowed.", {}),
        "lzma-short-tokens": (np.repeat(np.arange(4, dtype=np.uint8), 1000).reshape(40, 100),
                              RGBA, "Method lzma, one-byte tokens, runs over 16.",
                              dict(method=METHOD_LZMA)),
        "lzma-long-tokens": (np.repeat(np.arange(17, dtype=np.uint8), 300).reshape(51, 100),
                             SEVENTEEN, "Method lzma, two-byte tokens, runs over 256.",
                             dict(method=METHOD_LZMA)),
        "lzma-two-chunks": (ALTERNATING, GREYS[:2],
                            "Method lzma with two chunks: 524288 + 75712 token bytes.",
                            dict(method=METHOD_LZMA)),
        "cm-example": (EXAMPLE, BLUE_RED, "The worked example of spec section 5.3.8.",
                       dict(flags=container.FLAG_EXACT, method=METHOD_CM,
                            body=cm_plain_body(EXAMPLE, BLUE_RED))),
        "cm-packed-example": (EXAMPLE, BLUE_RED, "The worked example of section 5.3.8 as "
                              "the reference encoder writes it: the stripe packed, 03 1F, "
                              "and the palette coded.",
                              dict(flags=container.FLAG_EXACT | CODED, method=METHOD_CM)),
        "cm-packed-4-bits": (CM_NOISE % 16, ALL_COLOURS[:16], "Method cm, 16 colours of "
                             "noise: a packed stripe of 4 bits an index.",
                             dict(method=METHOD_CM)),
        "cm-packed-5-bits": (CM_NOISE % 17, ALL_COLOURS[:17], "Method cm, 17 colours of "
                             "noise in stripes of 4 rows: packed stripes of 5 bits an "
                             "index, the last stripe's bits ending inside a byte.",
                             dict(method=METHOD_CM, stripe_height=4)),
        "cm-blocks": (CM_BLOCKS, RGBA,
                      "Method cm, 21 x 10 in blocks of 3 x 2 (5.3.1): the body holds the "
                      "7 x 5 image of blocks behind the prefix 00 00 00 00 03 02.",
                      dict(method=METHOD_CM)),
        "cm-blocks-cut": (CM_BLOCKS[:9, :20], RGBA,
                          "Method cm, 20 x 9 in blocks of 3 x 2: the last column of blocks "
                          "2 pixels wide, the last row 1 high.",
                          dict(method=METHOD_CM, body=cm.join_blocks(
                              3, 2, cm_plain_body(CM_BLOCKS[::2, ::3][:5, :7], RGBA)))),
        "cm-one-colour": (np.zeros((3, 5), np.uint8), GREYS[1:2],
                          "Method cm, one colour: the one candidate has no bit (5.3.4), so "
                          "the coded data is the coder's 4 final bytes alone.",
                          dict(method=METHOD_CM,
                               body=cm_plain_body(np.zeros((3, 5), np.uint8), GREYS[1:2]))),
        "cm-packed-0-bits": (np.zeros((3, 5), np.uint8), GREYS[1:2],
                             "Method cm, one colour as the reference encoder writes it: a "
                             "packed stripe of 0 bits an index, its mode byte alone.",
                             dict(method=METHOD_CM)),
        "cm-one-colour-64x64": (np.zeros((64, 64), np.uint8), GREYS[1:2],
                                "Method cm, one colour, 4096 pixels: still no bit (a bit a "
                                "pixel would make 5 bytes of coded data, not 4).",
                                dict(method=METHOD_CM,
                                     body=cm_plain_body(np.zeros((64, 64), np.uint8),
                                                        GREYS[1:2]))),
        "cm-alpha-and-duplicates": (CM_ALPHA_INDICES, ALPHA_AND_DUPLICATES,
                                    "Method cm, RGBA: colours that differ in alpha alone, "
                                    "and two colours twice. Distances, the bias gradients "
                                    "and the nearest colour's ties count alpha; ties follow "
                                    "order[L].", dict(method=METHOD_CM)),
        "cm-bias-share-boundary": (CM_BIAS_SHARE, GREY_RAMP,
                                   "Method cm, 256 greys: a flat 60 with a brighter pixel "
                                   "at positions 8 and 16, where ranked x 8 = position (the "
                                   "corrected anchor, 5.3.5), then one in nine from 27 on, "
                                   "below it (the MED anchor, though the correction is "
                                   "not 0).",
                                   dict(method=METHOD_CM,
                                        body=cm_plain_body(CM_BIAS_SHARE, GREY_RAMP))),
        "cm-grey-alpha": (np.array([[0, 1], [1, 1]], np.uint8),
                          np.array([[20, 255], [220, 0]], np.uint8),
                          "Method cm, grey+alpha.",
                          dict(method=METHOD_CM, body=cm_plain_body(
                              np.array([[0, 1], [1, 1]], np.uint8),
                              np.array([[20, 255], [220, 0]], np.uint8)))),
        "cm-rgba-stripes": (CM_PATTERN % 4, RGBA,
                            "Method cm, RGBA, stripe_height 4: 4 stripes, the last of 2 rows.",
                            dict(method=METHOD_CM,
                                 body=cm_plain_body(CM_PATTERN % 4, RGBA, 4))),
        "cm-seventeen": (CM_PATTERN % 17, SEVENTEEN,
                         "Method cm, 17 colours: ranks with several buckets.",
                         dict(method=METHOD_CM, body=cm_plain_body(CM_PATTERN % 17,
                                                                   SEVENTEEN))),
        "cm-palette-256": (CM_RAMP_256, ALL_COLOURS,
                           "Method cm, 256 colours: a ramp with jumps, ranks in buckets 1 to "
                           "8 (values of up to 8 bits).",
                           dict(method=METHOD_CM, body=cm_plain_body(CM_RAMP_256,
                                                                     ALL_COLOURS))),
        "cm-grey-texture": (CM_GREY_TEXTURE, GREY_RAMP,
                            "Method cm, grey, 256 levels: a textured gradient, most pixels "
                            "ranked from a bias-corrected anchor.",
                            dict(method=METHOD_CM, body=cm_plain_body(CM_GREY_TEXTURE,
                                                                      GREY_RAMP))),
        "cm-row": (CM_PATTERN[:1] % 3, GREYS, "Method cm, a 1-pixel-high row.",
                   dict(method=METHOD_CM, body=cm_plain_body(CM_PATTERN[:1] % 3, GREYS))),
        "cm-spans": (CM_SPANS, RGBA, "Method cm, spans (5.3.4): flat rows coded whole or "
                     "pixel by pixel up to a pixel that is not v, with and without a match.",
                     dict(method=METHOD_CM, body=cm_plain_body(CM_SPANS, RGBA))),
        "cm-spans-and-matches": (CM_SPANS_AND_MATCHES, RGBA, "Method cm, spans (5.3.4) "
                                 "where v is 1, with the row match on at a span's start "
                                 "and a match over pixels the span has not decoded yet.",
                                 dict(method=METHOD_CM,
                                      body=cm_plain_body(CM_SPANS_AND_MATCHES, RGBA))),
        "cm-long-spans": (CM_LONG_SPANS, GREYS[:2], "Method cm, spans longer than 32767 "
                          "pixels, whose bucket is capped at 15 (5.3.4).",
                          dict(method=METHOD_CM, body=cm_plain_body(CM_LONG_SPANS,
                                                                    GREYS[:2]))),
        "cm-column": (CM_PATTERN[:, :1] % 3, GREYS, "Method cm, a 1-pixel-wide column.",
                      dict(method=METHOD_CM, body=cm_plain_body(CM_PATTERN[:, :1] % 3,
                                                                GREYS, 5))),
        "cm-ranks": (CM_RANKS, GREY_RAMP,
                     "Method cm, 256 greys, two stripes of 12 rows: a noisy ramp with a flat "
                     "corner (stripe_mode 2, STRIPE_RANKS: its pixels that are not flat "
                     "are coded by rank alone), then flat bands (stripe_mode 0).",
                     dict(method=METHOD_CM, body=cm_body_in_modes(
                         CM_RANKS, GREY_RAMP, 12, [cm.STRIPE_RANKS, cm.STRIPE_CODED]))),
        "cm-smooth": (CM_SMOOTH, GREY_RAMP,
                      "Method cm, 256 greys, two stripes of 12 rows of a noisy ramp, in the "
                      "smooth modes: stripe_mode 5 (STRIPE_RANKS_SMOOTH), then 4 "
                      "(STRIPE_CODED_SMOOTH); a ranked pixel's anchor is found from the "
                      "smooth prediction, not the blend (5.3.5).",
                      dict(method=METHOD_CM, body=cm_body_in_modes(
                          CM_SMOOTH, GREY_RAMP, 12,
                          [cm.STRIPE_RANKS_SMOOTH, cm.STRIPE_CODED_SMOOTH]))),
        "cm-small-tables": (CM_GREY_TEXTURE, GREY_RAMP,
                            "Method cm, 256 greys, two stripes of 12 rows of a textured "
                            "gradient, with small tables: mode bytes 60 (STRIPE_CODED, "
                            "table_shrink 6: models 1 to 3 and the match read the low 12 "
                            "bits of each index) and 42 (STRIPE_RANKS, table_shrink 4: 14 "
                            "bits); both code otherwise than with table_shrink 0 (5.3.1).",
                            dict(method=METHOD_CM, body=small_tables_body())),
        "cm-small-tables-row-match": (CM_ROW_NOISE, GREYS_8,
                                      "Method cm, 8 greys at random, 64 x 48 in one stripe, "
                                      "mode byte 60 (STRIPE_CODED, table_shrink 6): the row "
                                      "match's table keeps its 2^16 entries, which "
                                      "table_shrink does not cut (5.3.1); a reading that "
                                      "cuts it to 12 bits codes otherwise.",
                                      dict(method=METHOD_CM, body=row_match_tables_body())),
        "cm-uu-offset": (CM_DITHERED, GREYS,
                         "Method cm, 3 greys, 32 x 24: a diagonal ramp ordered-dithered "
                         "by a 4 x 4 matrix, in two stripes of 12 rows, both stripe_mode 6 "
                         "(STRIPE_CODED_UU): UU 4 rows up and 4 columns right "
                         "(04 04), then 3 rows up and 2 columns left (03 FE) (5.3.2).",
                         dict(method=METHOD_CM, body=cm_body_in_modes(
                             CM_DITHERED, GREYS, 12, [cm.STRIPE_CODED_UU] * 2,
                             [(4, 4), (3, -2)]))),
        "cm-wide-match": (CM_TEXT, GREYS[:2],
                          "Method cm, 2 greys, 92 x 27: three 5 x 7 glyphs in three lines "
                          "of words, in two stripes of 14 rows, both stripe_mode 7 "
                          "(STRIPE_CODED_WIDE): the match and, with 2 colours, model 3 "
                          "keyed by WIDE_TEMPLATE's 38 pixels (5.3.3, 5.3.4).",
                          dict(method=METHOD_CM, body=cm_body_in_modes(
                              CM_TEXT, GREYS[:2], 14, [cm.STRIPE_CODED_WIDE] * 2))),
        "cm-wide-match-3-colours": (CM_TEXT, GREYS,
                                    "cm-wide-match's indices with a palette of 3 greys (the "
                                    "third unused): stripe_mode 7 with model 3 keyed by the "
                                    "six neighbours, as with any palette but of 2 colours "
                                    "(5.3.4).",
                                    dict(method=METHOD_CM, body=cm_body_in_modes(
                                        CM_TEXT, GREYS, 14, [cm.STRIPE_CODED_WIDE] * 2))),
        "cm-uu-repeats": (CM_DITHERED_ROWS, GREYS,
                          "Method cm, 3 greys, 32 x 24: a ramp across ordered-dithered by a "
                          "4 x 4 matrix, in two stripes of 12 rows, both stripe_mode 6 "
                          "(STRIPE_CODED_UU) with UU 4 rows up (04 00): from row 4 of each "
                          "stripe a bit a row says it repeats the row 4 up, as all do but "
                          "rows 6 and 17 (stripe rows 6 and 5), one pixel changed in each "
                          "(5.3.2).",
                          dict(method=METHOD_CM, body=cm_body_in_modes(
                              CM_DITHERED_ROWS, GREYS, 12, [cm.STRIPE_CODED_UU] * 2,
                              [(4, 0), (4, 0)]))),
        "cm-row-match": (CM_MIRRORED, ALL_COLOURS[::32],
                         "Method cm, 8 colours, 16 x 40: 8 rows of a texture, then the same "
                         "rows in reverse order; from the ninth row on, the row match (slot "
                         "7, R) predicts each row from its source.",
                         dict(method=METHOD_CM, body=cm_plain_body(CM_MIRRORED,
                                                                   ALL_COLOURS[::32]))),
        "cm-channel-weights": (CM_WEIGHTED, GREY_BY_ALPHA,
                               "Method cm, grey + alpha, 16 colours (greys 80 apart, "
                               "alphas 20 apart): alpha steps down across the columns "
                               "under grey noise; channel weights 1 and 64 put the colours "
                               "of a colour's own alpha first in its order, where a plain "
                               "distance would put the other alphas first (5.3.5).",
                               dict(method=METHOD_CM, body=cm_plain_body(CM_WEIGHTED,
                                                                         GREY_BY_ALPHA))),
        "cm-stored": (CM_NOISE, ALL_COLOURS,
                      "Method cm: a stripe of noise, stored (stripe_mode 1) as it codes "
                      "no shorter.", dict(method=METHOD_CM)),
        "coded-palette-example": (EXAMPLE, BLUE_RED,
                                  "rle-example with its palette coded (2.7.1): 03 00 00 14 "
                                  "80.",
                                  dict(flags=container.FLAG_EXACT | CODED)),
        "coded-palette-escapes": (RAMP.reshape(16, 16), RANDOM_RGBA,
                                  "Method lzma, a coded palette of 256 random RGBA colours: "
                                  "escapes, and k up to 7 (2.7.1).",
                                  dict(flags=CODED, method=METHOD_LZMA)),
        "cm-coded-palette": (CM_GREY_TEXTURE, GREY_RAMP, "Method cm, a coded grey palette "
                             "of all 256 levels, 1 apart.", dict(flags=CODED,
                                                                    method=METHOD_CM)),
        **compact_cases(),
    }
    out = {name: (build(indices, palette, **options), palette[indices], note)
           for name, (indices, palette, note, options) in cases.items()}
    # Two tokens in a row with the same index: an encoder would merge them; a decoder
    # must still accept them.
    split = np.zeros((1, 4), np.uint8)
    out["split-run"] = (build(split, BLUE_RED, tokens=bytes([0x01, 0x01])), BLUE_RED[split],
                        "Adjacent tokens with the same index (01 01) are valid.")
    reach, reach_indices = lzma_reaching_back(4096)
    out["lzma-distance-equals-dictionary"] = (
        reach, RGBA_SIXTEEN[reach_indices],
        "Method lzma, dictionary_size 4096 and a match 4096 bytes back: the farthest a "
        "match may reach (5.2).")
    example_tokens = tokens_of(EXAMPLE, BLUE_RED)
    for name, (dictionary, lc, lp, pb), what in (
            ("lzma-dictionary-2-20", (1 << 20, 3, 0, 2), "dictionary_size 2^20, the largest"),
            ("lzma-pb4", (4096, 0, 0, 4), "properties lc 0, lp 0, pb 4"),
            ("lzma-lc0-lp4", (4096, 0, 4, 0), "properties lc 0, lp 4, pb 0: lc + lp is 4")):
        out[name] = (build(EXAMPLE, BLUE_RED, method=METHOD_LZMA, body=chunk(
            lzma_alone(example_tokens, dictionary, lc, lp, pb))), BLUE_RED[EXAMPLE],
            f"Method lzma with {what} (5.2): valid.")
    one_colour = np.zeros((200, 4), np.uint8)
    out["cm-one-colour-uu"] = (
        build(one_colour, GREYS[1:2], method=METHOD_CM, body=cm.join_stripes(
            200, (1,), [cm.stripe_prefix(cm.STRIPE_CODED_UU, (1, 0)) + ONE_COLOUR_DATA])),
        GREYS[1:2][one_colour],
        "Method cm, one colour, 200 rows in STRIPE_CODED_UU with UU one row up: no row has "
        "a bit (5.3.2, 5.3.4), so the data is the coder's 4 final bytes, of any value: "
        f"{ONE_COLOUR_DATA.hex(' ')}, which read as row bits would run past their end.")
    for name, (block_width, block_height) in (("cm-blocks-1-by-4", (1, 4)),
                                              ("cm-blocks-4-by-1", (4, 1))):
        blocks = CM_BLOCKS[::2, ::3]
        image = blocks.repeat(block_height, axis=0).repeat(block_width, axis=1)
        out[name] = (build(image, RGBA, method=METHOD_CM, body=cm.join_blocks(
            block_width, block_height, cm_plain_body(blocks, RGBA))), RGBA[image],
            f"Method cm in blocks {block_width} wide and {block_height} high (5.3.1): one "
            "side of 1 is valid, only both are not.")
    return out


# Four bytes a one-colour stripe may end with: as row bits of 5.3.2, they decode to rows
# that do not repeat and then run past the data, a reading 5.3.4 rules out.
ONE_COLOUR_DATA = bytes.fromhex("7942bdf2")


def lzma_alone(data: bytes, dictionary: int, lc: int, lp: int, pb: int) -> bytes:
    """``data`` as an lzma stream in the .lzma ("alone") form with these properties: an
    unknown size and an end marker, as section 5.2 has it."""
    import lzma

    return lzma.compress(data, format=lzma.FORMAT_ALONE, filters=[{
        "id": lzma.FILTER_LZMA1, "dict_size": dictionary, "lc": lc, "lp": lp, "pb": pb}])


def one_colour_row_bits(rows: int, uu_rows: int) -> bytes:
    """A coder's bytes holding a row bit for each row of a one-colour stripe from
    ``uu_rows`` on (rows alternately not repeating and repeating, three at a time): what a
    decoder that reads row bits with one colour would take, which 5.3.4 does not allow."""
    coder, model, repeated = cm.Encoder(), cm.StripeModel(1, 0), 0
    for y in range(uu_rows, rows):
        repeated = model.code_row_repeat(coder, (y // 3) % 2, repeated)
    return coder.finish()


def compact_cases() -> dict[str, tuple[np.ndarray, np.ndarray, str, dict]]:
    """Valid vectors of the compact form (2.10): name: (indices, palette, note, options)."""
    return {
        "compact-rle-example": (EXAMPLE, BLUE_RED, "The worked example of section 8 in the "
                                "compact form: a 17-byte header.",
                                dict(flags=container.FLAG_EXACT | COMPACT)),
        "compact-coded-example": (EXAMPLE, BLUE_RED, "The worked example of section 8 as "
                                  "gcp encode -k 2 --method rle writes it: compact, the "
                                  "palette coded; 28 bytes.",
                                  dict(flags=container.FLAG_EXACT | CODED | COMPACT)),
        "compact-lzma-example": (EXAMPLE, BLUE_RED, "lzma-example in the compact form.",
                                 dict(flags=container.FLAG_EXACT | COMPACT,
                                      method=METHOD_LZMA)),
        "compact-wide": (np.arange(300, dtype=np.uint8).reshape(1, 300) % 2, BLUE_RED,
                         "Compact, 300 x 1: width is the two-byte varint AC 02; "
                         "tokens_length and body_length 300 too.", dict(flags=COMPACT)),
        "compact-coded-palette": (RAMP.reshape(16, 16), RANDOM_RGBA, "Compact, method lzma, "
                                  "a coded palette: palette_code_length right after "
                                  "body_length's varint.",
                                  dict(flags=CODED | COMPACT, method=METHOD_LZMA)),
        "compact-cm-example": (EXAMPLE, BLUE_RED, "cm-example in the compact form: "
                               "stripe_height the byte 02, no stripe_length.",
                               dict(flags=container.FLAG_EXACT | COMPACT, method=METHOD_CM,
                                    body=cm_plain_body(EXAMPLE, BLUE_RED, compact=True))),
        "compact-cm-stripes": (CM_NOISE % 17, ALL_COLOURS[:17], "Compact, method cm in "
                               "stripes of 4 rows: a varint stripe_length for each stripe "
                               "but the last.", dict(flags=COMPACT, method=METHOD_CM,
                                                     stripe_height=4)),
        "compact-cm-blocks": (CM_BLOCKS, RGBA, "Compact, method cm in blocks of 3 x 2: the "
                              "prefix 00 03 02.", dict(flags=COMPACT, method=METHOD_CM)),
    }


# 16 RGBA colours, one for each index a short token holds.
RGBA_SIXTEEN = np.stack([np.arange(16) * 17, 255 - np.arange(16) * 17, np.full(16, 40),
                         np.full(16, 255)], axis=1).astype(np.uint8)


def lzma_reaching_back(distance: int) -> tuple[bytes, np.ndarray]:
    """A method-lzma file whose one chunk declares a 4096-byte dictionary and whose tokens
    repeat 300 random tokens ``distance`` bytes back, so that its LZMA data has a match of
    that distance (checked); and its indices (1, W)."""
    import lzma

    random_tokens = np.random.default_rng(distance).integers(0, 256, distance, np.uint8)
    tokens = bytes(random_tokens) + bytes(random_tokens[:300])
    runs = np.frombuffer(tokens, np.uint8)
    indices = np.repeat(runs >> 4, (runs & 15).astype(np.int64) + 1)[None, :]
    options = {"id": lzma.FILTER_LZMA1, "dict_size": 8192, "lc": 4, "lp": 0, "pb": 0}
    stream = lzma.compress(tokens, format=lzma.FORMAT_ALONE, filters=[options])

    def declaring(size: int) -> bytes:
        return stream[:1] + struct.pack("<I", size) + stream[5:]

    def reads(size: int) -> bool:
        try:
            return lzma.decompress(declaring(size), format=lzma.FORMAT_ALONE) == tokens
        except lzma.LZMAError:
            return False
    # The repeat is coded as a match (random tokens do not compress, and it is the only
    # place they recur), and liblzma reads it under a 4096-byte dictionary only when the
    # match reaches no farther.
    assert len(stream) < len(tokens) - 200
    assert reads(4096) == (distance <= 4096) and reads(distance)
    file = build(indices, RGBA_SIXTEEN, method=METHOD_LZMA, tokens=tokens,
                 body=chunk(declaring(4096)))
    return file, indices


def invalid_vectors() -> dict[str, tuple[bytes, str, str]]:
    """name: (file bytes, field a decoder must report, note)."""
    good = build(EXAMPLE, BLUE_RED)  # tokens 02 14: tokens_length 2
    long_good = build(EXAMPLE, SEVENTEEN)  # tokens 00 02 01 04: tokens_length 4
    tokens = tokens_of(EXAMPLE, BLUE_RED)
    stream = entropy.compress_chunk(tokens, token_size=1)
    two_chunk_body = entropy.compress_tokens(tokens_of(ALTERNATING, BLUE_RED), token_size=1)

    def lzma_file(body: bytes, tokens_length: int = len(tokens)) -> bytes:
        return build(EXAMPLE, BLUE_RED, method=METHOD_LZMA, body=body,
                     tokens_length=tokens_length)

    def lzma_chunk(chunk_tokens: bytes) -> bytes:
        return chunk(entropy.compress_chunk(chunk_tokens, token_size=1))

    return {
        "empty": (b"", "length", "An empty file."),
        "bad-signature": (b"\x89PNG" + good[4:], "signature", "A PNG signature."),
        "bad-signature-4-bytes": (b"\x89GCX", "signature",
                                  "4 bytes that differ from the signature's first 4: rule 2, "
                                  "though shorter than a header."),
        "signature-prefix-5-bytes": (good[:5], "length",
                                     "The signature's first 5 bytes alone: a prefix breaks "
                                     "rule 3, not rule 2."),
        "short-header": (good[:20], "length", "Cut inside the header."),
        "signature-and-version": (good[:10], "length",
                                  "The signature, version and channels alone: 10 "
                                  "bytes, under the 12 every header has."),
        "version-2": (patch(good, 8, "<B", 2), "version", "version is 2."),
        "channels-0": (patch(good, 9, "<B", 0), "channels", "channels is 0."),
        "channels-5": (patch(good, 9, "<B", 5), "channels", "channels is 5."),
        "method-3": (patch(good, 10, "<B", 3), "method", "method is 3."),
        "flags-bit-3": (patch(good, 11, "<B", 0x08), "flags", "An undefined flag bit."),
        "width-0": (patch(good, 12, "<I", 0), "width", "width is 0."),
        "height-0": (patch(good, 16, "<I", 0), "height", "height is 0."),
        "palette-size-0": (patch(good, 20, "<H", 0), "palette_size", "palette_size is 0."),
        "palette-size-257": (patch(good, 20, "<H", 257), "palette_size",
                             "palette_size is 257."),
        "too-many-pixels": (patch(patch(good, 12, "<I", 65536), 16, "<I", 65536),
                            "pixel_count", "65536 x 65536 is over DEFAULT_MAX_PIXELS."),
        "tokens-length-odd": (patch(long_good, 22, "<Q", 5), "tokens_length",
                              "Long tokens: tokens_length 5 is not a multiple of 2."),
        "tokens-length-too-small": (patch(good, 22, "<Q", 0), "tokens_length",
                                    "tokens_length 0 cannot cover 8 pixels."),
        "tokens-length-too-large": (patch(good, 22, "<Q", 9), "tokens_length",
                                    "tokens_length 9 is more than 1 per pixel."),
        "rle-body-length-mismatch": (patch(good, 30, "<Q", 3), "body_length",
                                     "Method rle with body_length != tokens_length."),
        "truncated": (good[:-6], "length", "The last 6 bytes are missing."),
        "body-length-huge": (patch(build(EXAMPLE, BLUE_RED, method=METHOD_LZMA), 30, "<Q",
                                   2**64 - 1), "length",
                             "body_length 2^64 - 1: 38 + P + body_length + 4 passes 2^64."),
        "trailing-bytes": (with_crc_fixed(good[:-4] + b"\x00\x00" + good[-4:]), "length",
                           "Two bytes after the body."),
        "crc-mismatch": (good[:-1] + bytes([good[-1] ^ 0xFF]), "crc", "The CRC is wrong."),
        "index-out-of-range": (build(EXAMPLE, BLUE_RED, tokens=bytes([0x02, 0x24])), "index",
                               "Short token 24: index 2 with palette_size 2."),
        "long-index-out-of-range": (build(EXAMPLE, SEVENTEEN, tokens=bytes([0, 2, 17, 4])),
                                    "index", "Long token 11 04: index 17, palette_size 17."),
        "runs-overflow": (build(EXAMPLE, BLUE_RED, tokens=bytes([0x02, 0x15])), "runs",
                          "Runs cover 9 pixels of 8."),
        "runs-short": (build(EXAMPLE, BLUE_RED, tokens=bytes([0x02, 0x13])), "runs",
                       "Runs cover 7 pixels of 8."),
        "runs-overflow-long-tokens": (build(EXAMPLE, SEVENTEEN,
                                            tokens=bytes([0x00, 0x02, 0x01, 0x05])), "runs",
                                      "Long tokens (17 colours) whose runs cover 9 pixels "
                                      "of 8."),
        "lzma-chunk-too-short": (lzma_file((10).to_bytes(4, "little") + stream[:10]),
                                 "lzma_chunk_length", "A chunk's compressed_length is 10."),
        "lzma-chunk-past-end": (lzma_file((len(stream) + 5).to_bytes(4, "little") + stream),
                                "lzma_chunk_length",
                                "compressed_length reaches 5 bytes past the body."),
        "lzma-bytes-after-chunks": (lzma_file(chunk(stream) + b"\x00\x00"), "lzma_chunk_length",
                                    "Two bytes after the last chunk."),
        "lzma-missing-chunk": (
            build(ALTERNATING, BLUE_RED, method=METHOD_LZMA,
                  body=two_chunk_body[:4 + int.from_bytes(two_chunk_body[:4], "little")]),
            "lzma_chunk_length", "tokens_length needs two chunks; the body has one."),
        "lzma-bad-properties": (lzma_file(chunk(bytes([225]) + stream[1:])), "lzma_properties",
                                "lzma properties byte 225."),
        "lzma-lc-plus-lp-5": (lzma_file(chunk(bytes([(1 * 5 + 1) * 9 + 4]) + stream[1:])),
                              "lzma_properties",
                              "lzma properties lc 4, lp 1, pb 1: lc + lp is over 4."),
        "lzma-huge-dictionary": (lzma_file(chunk(stream[:1] + struct.pack("<I", 1 << 30)
                                                 + stream[5:])),
                                 "lzma_dictionary_size", "A 1 GiB lzma dictionary."),
        "lzma-small-dictionary": (lzma_file(chunk(stream[:1] + struct.pack("<I", 2048)
                                                  + stream[5:])),
                                  "lzma_dictionary_size",
                                  "A 2048-byte lzma dictionary: under 4096."),
        "lzma-dictionary-2-20-plus-16": (
            lzma_file(chunk(stream[:1] + struct.pack("<I", (1 << 20) + 16) + stream[5:])),
            "lzma_dictionary_size", "A dictionary of 2^20 + 16 bytes: over 2^20."),
        "lzma-dictionary-not-multiple-of-16": (
            lzma_file(chunk(stream[:1] + struct.pack("<I", 8190) + stream[5:])),
            "lzma_dictionary_size", "An 8190-byte lzma dictionary: not a multiple of 16."),
        "lzma-distance-past-dictionary": (lzma_reaching_back(4097)[0], "lzma_data",
                                          "dictionary_size 4096 and a match 4097 bytes back."),
        "lzma-size-mismatch": (lzma_file(chunk(stream[:5] + struct.pack("<Q", 6) + stream[13:])),
                               "lzma_uncompressed_size",
                               "lzma uncompressed_size 6, chunk length 2."),
        "lzma-known-size": (lzma_file(chunk(stream[:5] + struct.pack("<Q", 2) + stream[13:])),
                            "lzma_uncompressed_size",
                            "lzma uncompressed_size 2, the chunk's length: only all ones "
                            "is allowed."),
        "lzma-corrupt-data": (lzma_file(chunk(stream[:13] + b"\xff" * (len(stream) - 13))),
                              "lzma_data", "Range-coded data that is not LZMA."),
        "lzma-truncated-data": (lzma_file(chunk(stream[:-4])), "lzma_data",
                                "The lzma stream stops before its end."),
        "lzma-expands-past-tokens-length": (lzma_file(lzma_chunk(tokens + b"\x00\x00")),
                                            "lzma_data",
                                            "A chunk decompresses to 4 bytes where it must "
                                            "hold 2."),
        "lzma-ends-short": (lzma_file(lzma_chunk(tokens[:1])), "lzma_data",
                            "A chunk decompresses to 1 byte where it must hold 2."),
        "lzma-trailing-data": (lzma_file(chunk(stream + b"\x00\x00")), "lzma_data",
                               "Two bytes after the lzma end marker, inside the chunk."),
        "lzma-index-out-of-range": (lzma_file(lzma_chunk(bytes([0x02, 0x94]))), "index",
                                    "Short token 94 (index 9) inside an lzma body."),
        **invalid_cm_vectors(),
        **invalid_palette_code_vectors(),
        **invalid_compact_vectors(),
    }


def invalid_compact_vectors() -> dict[str, tuple[bytes, str, str]]:
    """The compact form's rules (3, 8, 11, 12, 13, 22 to 24), each broken alone."""
    good = build(EXAMPLE, BLUE_RED, flags=COMPACT)  # a 17-byte header: 04 02 01 02 02
    lzma_good = build(EXAMPLE, BLUE_RED, flags=COMPACT, method=METHOD_LZMA)
    weights = bytes([1, 1, 1])
    stripe = bytes([cm.STRIPE_PACKED, 0x1F])  # EXAMPLE's two rows, 0 0 0 1 and 1 1 1 1
    first_row = bytes([cm.STRIPE_PACKED, 0x10])  # its first row alone, 4 bits padded by 0

    def cm_file(body: bytes) -> bytes:
        return build(EXAMPLE, BLUE_RED, flags=COMPACT, method=METHOD_CM, body=body)

    return {
        "compact-short-header": (good[:15], "length",
                                 "Compact, cut inside the header's varints."),
        "compact-width-not-canonical": (compact_patch(good, width=b"\x84\x00"), "width",
                                        "Compact, width 4 as 84 00: not canonical."),
        "compact-width-2-32": (compact_patch(good, width=varint.encode(2**32)), "width",
                               "Compact, width 2^32 in 5 bytes: over 2^32 - 1."),
        "compact-height-6-bytes": (compact_patch(good, height=b"\x82\x80\x80\x80\x80\x00"),
                                   "height", "Compact, height in 6 bytes: its 5th still has "
                                   "the top bit."),
        "compact-width-0": (compact_patch(good, width=b"\x00", height=b"\x82\x00"), "width",
                            "Compact, width 0 and height 2 as 82 00: rule 8 reports width "
                            "first."),
        "compact-tokens-length-not-canonical": (compact_patch(good, tokens_length=b"\x82\x00"),
                                                "tokens_length",
                                                "Compact, tokens_length 2 as 82 00."),
        "compact-body-length-2-64": (compact_patch(lzma_good,
                                                   body_length=varint.encode(2**64)),
                                     "body_length", "Compact, body_length 2^64 in 10 bytes."),
        "compact-truncated": (good[:-3], "length", "Compact, the last 3 bytes missing."),
        "compact-cm-stripe-height-not-canonical": (
            cm_file(b"\x82\x00" + weights + stripe * 2), "cm_stripes",
            "Compact, method cm: stripe_height 2 as 82 00."),
        "compact-cm-blocks-short": (cm_file(b"\x00\x02"), "cm_stripes",
                                    "Compact, method cm: BLOCK_MARKER 00 and one block side."),
        "compact-cm-stripe-length-past-end": (cm_file(b"\x01" + weights + b"\x80"),
                                              "cm_stripes", "Compact, method cm in stripes "
                                              "of 1 row: the first stripe_length's varint "
                                              "runs past the body."),
        "compact-cm-last-stripe-empty": (cm_file(b"\x01" + weights + b"\x02" + first_row),
                                         "cm_stripes", "Compact, method cm in stripes of 1 "
                                         "row: the first stripe (a valid packed row) takes "
                                         "every byte, none is left for the last."),
        "compact-cm-stripe-length-not-canonical": (
            cm_file(b"\x01" + weights + b"\x82\x00" + first_row + first_row), "cm_stripes",
            "Compact, method cm in stripes of 1 row: the first stripe_length, 2, as 82 00."),
        "compact-cm-stripe-height-past-end": (cm_file(b"\x81"), "cm_stripes",
                                              "Compact, method cm: the body is one byte, a "
                                              "stripe_height varint that goes on past it."),
        "compact-cm-stripe-height-6-bytes": (
            cm_file(b"\x81\x80\x80\x80\x80\x00" + weights + stripe), "cm_stripes",
            "Compact, method cm: stripe_height in 6 bytes, its 5th still with the top bit."),
        "compact-cm-no-channel-weights": (cm_file(b"\x02\x01\x01"), "cm_stripes",
                                          "Compact, method cm, 3 channels: the body ends "
                                          "after stripe_height and two channel weights."),
        "compact-cut-before-palette-size": (good[:14], "length",
                                            "Compact, cut after height, before "
                                            "palette_size_minus_one."),
    }


def with_palette_code(indices: np.ndarray, palette: np.ndarray, code: bytes) -> bytes:
    """An rle file of ``indices`` whose palette is ``code`` (flags bit 1), whatever the
    code says: for vectors of a malformed palette_code."""
    plain = build(indices, palette)
    cut = container.HEADER_SIZE + palette.size
    head = bytearray(plain[:container.HEADER_SIZE])
    head[11] |= CODED
    return with_crc_fixed(bytes(head) + struct.pack("<H", len(code)) + code + plain[cut:])


def invalid_palette_code_vectors() -> dict[str, tuple[bytes, str, str]]:
    # Codes as 0 (first order) 000 100, then 1 padding bit.
    two_greys = np.array([[0], [1]], np.uint8)
    pixels = np.array([[0, 1]], np.uint8)
    coded = build(EXAMPLE, BLUE_RED, flags=CODED)
    # The order bit, one grey by escape (z 255: m becomes 267, k 6), then 14 ones, a zero
    # and 6 bits: z 896.
    too_large = int("0" + "1" * 15 + "1" * 8 + "1" * 14 + "0" + "0" * 6 + "000",
                    2).to_bytes(6, "big")
    return {
        "coded-palette-short-file": (coded[:39], "length",
                                     "flags bit 1 set, and the file ends inside "
                                     "palette_code_length."),
        "palette-code-past-end": (with_palette_code(EXAMPLE, BLUE_RED, b"\x00"),
                                  "palette_code", "The code of coded-palette-example cut "
                                  "to its first byte: the values read past it."),
        "palette-code-value-256": (with_palette_code(pixels, two_greys, too_large),
                                   "palette_code", "A Rice code of z = 896, over 255."),
        "palette-code-padding": (with_palette_code(pixels, two_greys, b"\x09"),
                                 "palette_code", "Greys 0 and 1 coded as 0 000 100, then "
                                 "padding bit 1, not 0."),
        "palette-code-unread-byte": (with_palette_code(pixels, two_greys, b"\x08\x00"),
                                     "palette_code", "Greys 0 and 1 coded in one byte, "
                                     "then a byte the code does not read."),
    }


def invalid_cm_vectors() -> dict[str, tuple[bytes, str, str]]:
    """Method cm's rules 11 and 20 to 28, each broken alone."""
    good_body = cm_plain_body(EXAMPLE, BLUE_RED)  # 4 + 3 + 8 + 1 + 4 bytes: one stripe
    head = good_body[:4 + 3]  # stripe_height and the three channel weights

    def cm_file(body: bytes, indices: np.ndarray = EXAMPLE, palette: np.ndarray = BLUE_RED
                ) -> bytes:
        return build(indices, palette, method=METHOD_CM, body=body)

    def one_stripe(data: bytes, stripe_height: int = 2, channels: int = 3) -> bytes:
        return cm.join_stripes(stripe_height, (1,) * channels, [data])

    coded = good_body[len(head) + 8:]
    return {
        "cm-tokens-length-1": (patch(cm_file(good_body), 22, "<Q", 1), "tokens_length",
                               "Method cm with tokens_length 1."),
        "cm-body-empty": (cm_file(b""), "cm_stripes", "A cm body of 0 bytes."),
        "cm-no-channel-weights": (cm_file(good_body[:6]), "cm_stripes",
                                  "A cm body of 6 bytes: stripe_height and two of the "
                                  "three channel weights."),
        "cm-stripe-height-0": (cm_file(b"\0\0\0\0" + good_body[4:]), "cm_stripes",
                               "stripe_height 0 (so blocks) and block sides 1 and 1."),
        "cm-blocks-short": (cm_file(b"\0\0\0\0\x02"), "cm_stripes",
                            "stripe_height 0 (so blocks) and one byte: no block_height."),
        "cm-block-side-0": (cm_file(b"\0\0\0\0\x00\x02" + good_body), "cm_stripes",
                            "Blocks of 0 x 2."),
        "cm-blocks-in-blocks": (cm_file(b"\0\0\0\0\x02\x01" + b"\0\0\0\0\x02\x01"
                                        + good_body), "cm_stripes",
                                "Blocks of 2 x 1 whose image's body starts with blocks "
                                "again (a stripe_height of 0 there)."),
        "cm-stripe-height-too-large": (cm_file(struct.pack("<I", 3) + good_body[4:]),
                                       "cm_stripes", "stripe_height 3 of a 2-row image."),
        "cm-channel-weight-0": (cm_file(head[:5] + b"\0" + good_body[6:]), "cm_stripes",
                                "A channel weight of 0 (the second channel's)."),
        "cm-channel-weight-65": (cm_file(head[:6] + b"\x41" + good_body[7:]), "cm_stripes",
                                 "A channel weight of 65, one over MAX_CHANNEL_WEIGHT."),
        "cm-missing-lengths": (cm_file(struct.pack("<I", 1) + good_body[4:len(head) + 8]),
                               "cm_stripes",
                               "stripe_height 1: two stripe lengths, room for one."),
        "cm-stripe-length-0": (cm_file(head + bytes(8) + coded), "cm_stripes",
                               "A stripe_length of 0."),
        "cm-stripe-past-end": (cm_file(head + struct.pack("<Q", len(coded) + 1) + coded),
                               "cm_stripes", "A stripe_length 1 past the body's end."),
        "cm-bytes-after-stripes": (cm_file(good_body + b"\0"), "cm_stripes",
                                   "A byte after the last stripe."),
        "cm-stripe-mode-8": (cm_file(one_stripe(b"\x08" + coded[1:])), "cm_stripes",
                             "stripe_mode 8."),
        "cm-table-shrink-7": (cm_file(one_stripe(b"\x70" + coded[1:])), "cm_stripes",
                              "A coded stripe's mode byte 70: STRIPE_CODED with "
                              "table_shrink 7, one over MAX_TABLE_SHRINK."),
        "cm-stored-table-shrink": (cm_file(one_stripe(b"\x11" + bytes(8))), "cm_stripes",
                                   "A stored stripe's mode byte 11: table_shrink 1 where "
                                   "nothing is coded."),
        "cm-uu-short": (cm_file(one_stripe(b"\x06\x04")), "cm_stripes",
                        "A STRIPE_CODED_UU stripe of 2 bytes: uu_rows, no uu_shift."),
        "cm-uu-rows-0": (cm_file(one_stripe(b"\x06\x00\x00" + coded[1:])), "cm_stripes",
                         "A STRIPE_CODED_UU stripe with uu_rows 0."),
        "cm-packed-length": (cm_file(one_stripe(b"\x03\x1f\x00")), "cm_stripes",
                             "A packed stripe of 2 bytes where 8 indices of 1 bit take 1."),
        "cm-packed-padding": (cm_file(one_stripe(b"\x03\x1f", 1), np.zeros((1, 5), np.uint8)),
                              "cm_stripes", "1 x 5, 2 colours: indices 0 0 0 1 1, then "
                              "padding bits 111, not 000."),
        "cm-packed-index-out-of-range": (cm_file(one_stripe(b"\x03\xc0", 1, 1),
                                                 np.zeros((1, 1), np.uint8), GREYS),
                                         "index", "1 x 1, 3 colours: a packed index of 2 "
                                         "bits, 11 (3), then zero padding."),
        "cm-stored-length": (cm_file(one_stripe(b"\x01" + bytes(7))), "cm_stripes",
                             "A stored stripe of 7 index bytes for 8 pixels."),
        "cm-stored-index-out-of-range": (cm_file(one_stripe(b"\x01" + bytes(7) + b"\x02")),
                                         "index", "A stored stripe holding index 2 of 2."),
        "cm-rank-too-large": (cm_file(one_stripe(CM_BAD_RANK, 1, 1), np.zeros((1, 1), np.uint8),
                                      GREYS), "cm_rank",
                              "1 x 1, 3 colours: the first pixel is not L (0), and its rank "
                              "codes as 2, with 2 colours left."),
        "cm-data-truncated": (cm_file(one_stripe(coded[:-1])), "cm_data",
                              "The coded data without its last byte."),
        "cm-data-trailing": (cm_file(one_stripe(coded + b"\0")), "cm_data",
                             "A byte after the coded data, inside the stripe."),
        "cm-one-colour-uu-row-bits": (
            cm_file(cm.join_stripes(200, (1,), [cm.stripe_prefix(cm.STRIPE_CODED_UU, (1, 0))
                                                 + one_colour_row_bits(200, 1)]),
                    np.zeros((200, 4), np.uint8), GREYS[1:2]), "cm_data",
            "One colour, 200 rows in STRIPE_CODED_UU with UU one row up, and row bits coded: "
            "with one colour no row has a bit (5.3.2, 5.3.4), so the data must be the "
            "coder's 4 final bytes."),
    }


def write_all(folder: Path = HERE) -> dict:
    manifest = {"valid": [], "invalid": []}
    for name, (data, pixels, note) in valid_vectors().items():
        (folder / f"{name}.gcp").write_bytes(data)
        height, width, channels = pixels.shape
        entry = {"file": f"{name}.gcp", "note": note, "width": width, "height": height,
                 "channels": channels,
                 "pixels_sha256": hashlib.sha256(pixels.tobytes()).hexdigest()}
        if pixels.size <= MAX_HEX_PIXELS:
            entry["pixels_hex"] = pixels.tobytes().hex()
        manifest["valid"].append(entry)
    for name, (data, field, note) in invalid_vectors().items():
        (folder / f"invalid-{name}.gcp").write_bytes(data)
        manifest["invalid"].append({"file": f"invalid-{name}.gcp", "note": note,
                                    "field": field})
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


if __name__ == "__main__":
    written = write_all()
    print(f"wrote {len(written['valid'])} valid and {len(written['invalid'])} invalid vectors")
