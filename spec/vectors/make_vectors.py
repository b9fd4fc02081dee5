"""Write the test vectors of spec/format.md into this folder, with manifest.json.

    python spec/vectors/make_vectors.py

Each valid vector is a .gcp file and the pixels it must decode to (in the manifest, as
hex of the row-major bytes). Each invalid vector breaks exactly one decoder rule, with a
correct CRC unless the CRC is the rule, and names the ``field`` a decoder must report.
The tests regenerate the set and require it to equal what is committed.
"""

from __future__ import annotations

import json
import struct
import sys
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from gcp import container, entropy, rle  # noqa: E402
from gcp.container import METHOD_LZMA, METHOD_RLE, Header  # noqa: E402


def build(pixels_indices: np.ndarray, palette: np.ndarray, *, method: int = METHOD_RLE,
          flags: int = 0, tokens: bytes | None = None, body: bytes | None = None,
          **header_overrides) -> bytes:
    """A .gcp file for an index image (H, W) and palette (K, C), fields overridable."""
    height, width = pixels_indices.shape
    if tokens is None:
        tokens = rle.encode_runs(pixels_indices.ravel())
    if body is None:
        body = tokens if method == METHOD_RLE else entropy.compress_tokens(tokens)
    fields = dict(version=container.VERSION, channels=palette.shape[1], method=method,
                  flags=flags, width=width, height=height, palette_size=len(palette),
                  tokens_length=len(tokens), body_length=len(body))
    fields.update(header_overrides)
    return container.pack(Header(**fields), palette, body)


def with_crc_fixed(data: bytes) -> bytes:
    return data[:-4] + zlib.crc32(data[:-4]).to_bytes(4, "little")


def patch(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    """Overwrite one header field and recompute the CRC."""
    patched = bytearray(data)
    struct.pack_into(fmt, patched, offset, value)
    return with_crc_fixed(bytes(patched))


def valid_vectors() -> dict[str, tuple[bytes, np.ndarray, str]]:
    blue_red = np.array([[0, 0, 255], [255, 0, 0]], np.uint8)
    example = np.array([[0, 0, 0, 1], [1, 1, 1, 1]], np.uint8)
    greys = np.array([[0], [128], [255]], np.uint8)
    rgba = np.array([[0, 0, 0, 0], [255, 255, 255, 255], [10, 200, 30, 128]], np.uint8)
    grey_alpha = np.array([[20, 255], [220, 0]], np.uint8)
    ramp = np.arange(256, dtype=np.uint8)
    all_colours = np.stack([ramp, 255 - ramp, ramp // 2], axis=1)
    vectors = {
        "rle-example": (example, blue_red, "The worked example of spec 'Worked example'.",
                        dict(flags=container.FLAG_EXACT)),
        "lzma-example": (example, blue_red, "The same image as rle-example, method lzma.",
                         dict(flags=container.FLAG_EXACT, method=METHOD_LZMA)),
        "grey-1x1": (np.zeros((1, 1), np.uint8), greys[1:2], "One grey pixel.", {}),
        "grey-3x1-column": (np.array([[0], [1], [2]], np.uint8), greys,
                            "A 1-pixel-wide column of three greys.", {}),
        "rgba-3x2": (np.array([[0, 1, 2], [2, 1, 0]], np.uint8), rgba,
                     "RGBA, alpha is a channel like the others.", {}),
        "grey-alpha-2x2": (np.array([[0, 1], [1, 1]], np.uint8), grey_alpha,
                           "Grey+alpha, channels = 2.", {}),
        "run-256": (np.zeros((16, 16), np.uint8), blue_red[:1],
                    "One run of exactly MAX_RUN = 256 pixels: a single token 00 ff.", {}),
        "run-257": (np.zeros((1, 257), np.uint8), blue_red[:1],
                    "A run of 257 = MAX_RUN + 1 pixels: tokens 00 ff 00 00.", {}),
        "run-crosses-rows": (np.array([[0, 1, 1], [1, 1, 0], [0, 0, 0]], np.uint8), blue_red,
                             "Runs continue from the end of one row into the next.", {}),
        "palette-256": (ramp.reshape(16, 16), all_colours,
                        "All 256 indices, each used once.", {}),
        "unused-palette-entry": (np.zeros((2, 2), np.uint8), blue_red,
                                 "A palette entry no pixel uses is allowed.", {}),
        "lzma-long-runs": (np.repeat(np.arange(4, dtype=np.uint8), 1000).reshape(40, 100),
                           np.vstack([rgba, [[1, 2, 3, 4]]]).astype(np.uint8),
                           "Method lzma over runs longer than MAX_RUN.",
                           dict(method=METHOD_LZMA)),
    }
    out = {}
    for name, (indices, palette, note, options) in vectors.items():
        data = build(indices, palette, **options)
        out[name] = (data, palette[indices], note)

    # Two tokens in a row with the same index: an encoder would merge them; a decoder
    # must still accept them.
    tokens = bytes([0, 1, 0, 1])
    indices = np.zeros((1, 4), np.uint8)
    out["split-run"] = (build(indices, blue_red, tokens=tokens), blue_red[indices],
                        "Adjacent tokens with the same index (00 01 00 01) are valid.")
    # An lzma header that states the uncompressed size instead of all ones.
    lzma_body = entropy.compress_tokens(rle.encode_runs(example.ravel()))
    lzma_body = lzma_body[:5] + struct.pack("<Q", 4) + lzma_body[13:]
    out["lzma-known-size"] = (build(example, blue_red, method=METHOD_LZMA, body=lzma_body),
                              blue_red[example],
                              "lzma uncompressed_size = tokens_length (4) instead of all ones.")
    return out


def invalid_vectors() -> dict[str, tuple[bytes, str, str]]:
    blue_red = np.array([[0, 0, 255], [255, 0, 0]], np.uint8)
    example = np.array([[0, 0, 0, 1], [1, 1, 1, 1]], np.uint8)
    good = build(example, blue_red)
    lzma_body = entropy.compress_tokens(rle.encode_runs(example.ravel()))

    def lzma_file(body: bytes, tokens_length: int = 4) -> bytes:
        return build(example, blue_red, method=METHOD_LZMA, body=body,
                     tokens_length=tokens_length)

    def raw_lzma(tokens: bytes) -> bytes:
        return entropy.compress_tokens(tokens)

    vectors = {
        "empty": (b"", "length", "An empty file."),
        "bad-signature": (b"\x89PNG" + good[4:], "signature", "A PNG signature."),
        "short-header": (good[:20], "length", "Cut inside the header."),
        "version-2": (patch(good, 8, "<B", 2), "version", "version is 2."),
        "channels-0": (patch(good, 9, "<B", 0), "channels", "channels is 0."),
        "channels-5": (patch(good, 9, "<B", 5), "channels", "channels is 5."),
        "method-2": (patch(good, 10, "<B", 2), "method", "method is 2."),
        "flags-bit-1": (patch(good, 11, "<B", 0x02), "flags", "An undefined flag bit."),
        "width-0": (patch(good, 12, "<I", 0), "width", "width is 0."),
        "height-0": (patch(good, 16, "<I", 0), "height", "height is 0."),
        "palette-size-0": (patch(good, 20, "<H", 0), "palette_size", "palette_size is 0."),
        "palette-size-257": (patch(good, 20, "<H", 257), "palette_size",
                             "palette_size is 257."),
        "too-many-pixels": (patch(patch(good, 12, "<I", 65536), 16, "<I", 65536),
                            "pixel_count", "65536 x 65536 is over DEFAULT_MAX_PIXELS."),
        "tokens-length-odd": (patch(good, 22, "<Q", 5), "tokens_length",
                              "tokens_length is odd."),
        "tokens-length-too-small": (patch(good, 22, "<Q", 0), "tokens_length",
                                    "tokens_length 0 cannot cover 8 pixels."),
        "tokens-length-too-large": (patch(good, 22, "<Q", 18), "tokens_length",
                                    "tokens_length 18 is more than 2 per pixel."),
        "rle-body-length-mismatch": (patch(good, 30, "<Q", 6), "body_length",
                                     "Method rle with body_length != tokens_length."),
        "truncated": (good[:-6], "length", "The last 6 bytes are missing."),
        "trailing-bytes": (with_crc_fixed(good[:-4] + b"\x00\x00" + good[-4:]), "length",
                           "Two bytes after the body."),
        "crc-mismatch": (good[:-1] + bytes([good[-1] ^ 0xFF]), "crc", "The CRC is wrong."),
        "index-out-of-range": (build(example, blue_red, tokens=bytes([0, 2, 2, 4])), "index",
                               "Index 2 with palette_size 2."),
        "runs-overflow": (build(example, blue_red, tokens=bytes([0, 2, 1, 5])), "runs",
                          "Runs cover 9 pixels of 8."),
        "runs-short": (build(example, blue_red, tokens=bytes([0, 2, 1, 3])), "runs",
                       "Runs cover 7 pixels of 8."),
        "lzma-short-header": (lzma_file(lzma_body[:10]), "lzma_header",
                              "A 10-byte lzma body."),
        "lzma-bad-properties": (lzma_file(bytes([225]) + lzma_body[1:]), "lzma_properties",
                                "lzma properties byte 225."),
        "lzma-lc-plus-lp-5": (lzma_file(bytes([(1 * 5 + 1) * 9 + 4]) + lzma_body[1:]),
                              "lzma_properties",
                              "lzma properties lc 4, lp 1, pb 1: lc + lp is over 4."),
        "lzma-huge-dictionary": (lzma_file(lzma_body[:1] + struct.pack("<I", 1 << 30)
                                           + lzma_body[5:]),
                                 "lzma_dictionary_size", "A 1 GiB lzma dictionary."),
        "lzma-size-mismatch": (lzma_file(lzma_body[:5] + struct.pack("<Q", 6) + lzma_body[13:]),
                               "lzma_uncompressed_size",
                               "lzma uncompressed_size 6, tokens_length 4."),
        "lzma-corrupt-data": (lzma_file(lzma_body[:13] + b"\xff" * (len(lzma_body) - 13)),
                              "lzma_data", "Range-coded data that is not LZMA."),
        "lzma-truncated-data": (lzma_file(lzma_body[:-4]), "lzma_data",
                                "The lzma stream stops before its end."),
        "lzma-expands-past-tokens-length": (
            lzma_file(raw_lzma(bytes([0, 2, 1, 4, 0, 0])), tokens_length=4), "lzma_data",
            "Decompresses to 6 bytes where tokens_length is 4."),
        "lzma-ends-short": (lzma_file(raw_lzma(bytes([0, 7])), tokens_length=4), "lzma_data",
                            "Decompresses to 2 bytes where tokens_length is 4."),
        "lzma-trailing-data": (lzma_file(lzma_body + b"\x00\x00"), "lzma_data",
                               "Two bytes after the lzma end marker."),
        "lzma-index-out-of-range": (lzma_file(raw_lzma(bytes([0, 2, 9, 4]))), "index",
                                    "Index 9 inside an lzma body."),
    }
    return vectors


def write_all(folder: Path = HERE) -> dict:
    manifest = {"valid": [], "invalid": []}
    for name, (data, pixels, note) in valid_vectors().items():
        (folder / f"{name}.gcp").write_bytes(data)
        height, width, channels = pixels.shape
        manifest["valid"].append({
            "file": f"{name}.gcp", "note": note, "width": width, "height": height,
            "channels": channels, "pixels_hex": pixels.tobytes().hex(),
        })
    for name, (data, field, note) in invalid_vectors().items():
        (folder / f"invalid-{name}.gcp").write_bytes(data)
        manifest["invalid"].append({"file": f"invalid-{name}.gcp", "note": note,
                                    "field": field})
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


if __name__ == "__main__":
    written = write_all()
    print(f"wrote {len(written['valid'])} valid and {len(written['invalid'])} invalid vectors")
