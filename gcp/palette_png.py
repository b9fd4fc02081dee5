"""PNG files of palette images (colour type 3): a decoded .gcp written as it is stored.

A .gcp holds a palette and an index a pixel, which is what a palette PNG ("PNG-8", as
pngquant writes) holds too: PLTE the colours, tRNS their alpha, IDAT the indices in 1,
2, 4 or 8 bits each, the fewest that hold the palette. Written so, a decoded image is
the same pixels as a colour PNG, at a fraction of its size and of the time to compress
it. Bytes in, bytes out; zlib from the standard library.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLOUR_TYPE_PALETTE = 3
ZLIB_LEVEL = 6                 # libpng's and Pillow's default
FILTER_NONE = 0                # every row unfiltered, as the PNG spec advises for palettes
STEP_BYTES = 1 << 21           # rows are packed and compressed about this many bytes at a time
IDAT_BYTES = 1 << 20           # the zlib stream is cut into IDAT chunks of at most this many
WINDOW_BYTES = 1 << 15         # deflate's window: what a band is primed with
ZLIB_HEADER = bytes([0x78, 0x9C])  # deflate, a 32 KB window, level 6's flag, no dictionary
COMPRESS_THREADS = min(os.cpu_count() or 1, 4)  # bands deflated at once
CHANNELS_WRITTEN = (2, 3, 4)   # grey + alpha, RGB, RGBA; grey stays a grey PNG


def bit_depth(palette_size: int) -> int:
    """The fewest bits a pixel, of 1, 2, 4 and 8, that index ``palette_size`` colours."""
    return next(depth for depth in (1, 2, 4, 8) if palette_size <= 1 << depth)


def encode(palette: np.ndarray, indices: np.ndarray) -> bytes:
    """A palette PNG of uint8 (H, W) ``indices`` into a uint8 (K, C) ``palette``, K from 1
    to 256, C in ``CHANNELS_WRITTEN``: read back (as RGBA where C is 2 or 4, which a tRNS
    chunk says), its pixels are ``palette[indices]``, grey + alpha widened to RGBA."""
    size, channels = palette.shape
    if channels not in CHANNELS_WRITTEN or not 1 <= size <= 256:
        raise ValueError(f"a palette PNG holds 1 to 256 colours of 2, 3 or 4 channels, not "
                         f"{size} of {channels}")
    height, width = indices.shape
    depth = bit_depth(size)
    colours = palette[:, [0, 0, 0]] if channels == 2 else palette[:, :3]
    chunks = [_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth,
                                          COLOUR_TYPE_PALETTE, 0, 0, 0)),
              _chunk(b"PLTE", np.ascontiguousarray(colours).tobytes())]
    if channels in (2, 4):
        chunks.append(_chunk(b"tRNS", np.ascontiguousarray(palette[:, -1]).tobytes()))
    stream = b"".join(_compressed_rows(indices, depth))
    chunks += [_chunk(b"IDAT", stream[at:at + IDAT_BYTES])
               for at in range(0, len(stream), IDAT_BYTES)]
    return b"".join([PNG_SIGNATURE, *chunks, _chunk(b"IEND", b"")])


def _chunk(kind: bytes, data: bytes) -> bytes:
    return b"".join((struct.pack(">I", len(data)), kind, data,
                     struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))))


def _compressed_rows(indices: np.ndarray, depth: int) -> Iterator[bytes]:
    """The zlib stream of the scanlines (a filter byte, then the row packed to ``depth``
    bits a pixel), in pieces as it is made.

    Bands of rows are deflated side by side, as pigz does: each band a raw deflate stream
    primed with the WINDOW_BYTES before it (so that it matches what one stream would) and
    ended at a byte boundary by a sync flush, the last one by the final block; the zlib
    header and the Adler-32 of all the scanlines go around them."""
    yield ZLIB_HEADER
    adler, tail = 1, b""
    bands = _scanline_bands(indices, depth)
    band = next(bands)
    pending: deque = deque()
    with ThreadPoolExecutor(max_workers=COMPRESS_THREADS) as pool:
        while band is not None:
            following = next(bands, None)
            adler = zlib.adler32(band, adler)
            pending.append(pool.submit(_deflated, band, tail, following is None))
            tail, band = band[-WINDOW_BYTES:], following
            if len(pending) > COMPRESS_THREADS:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    yield struct.pack(">I", adler)


def _scanline_bands(indices: np.ndarray, depth: int) -> Iterator[bytes]:
    """The scanlines, about STEP_BYTES of whole rows at a time."""
    height, width = indices.shape
    row_bytes = -(-width * depth // 8)
    rows = max(1, STEP_BYTES // (row_bytes + 1))
    for top in range(0, height, rows):
        band = indices[top:top + rows]
        scanlines = np.empty((len(band), row_bytes + 1), np.uint8)
        scanlines[:, 0] = FILTER_NONE
        scanlines[:, 1:] = _packed(band, depth, row_bytes)
        yield scanlines.tobytes()


def _deflated(band: bytes, primer: bytes, last: bool) -> bytes:
    """``band`` as raw deflate blocks after ``primer`` (the stream's bytes before it),
    ending byte-aligned, or with the final block where ``last``."""
    options = {"zdict": primer} if primer else {}
    compressor = zlib.compressobj(ZLIB_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS, **options)
    return compressor.compress(band) + compressor.flush(zlib.Z_FINISH if last
                                                        else zlib.Z_SYNC_FLUSH)


def _packed(band: np.ndarray, depth: int, row_bytes: int) -> np.ndarray:
    """uint8 (rows, row_bytes): each row's indices at ``depth`` bits each, the first in
    the high bits of its byte, the last byte's unused bits 0."""
    if depth == 8:
        return band
    per_byte = 8 // depth
    padded = np.zeros((len(band), row_bytes * per_byte), np.uint8)
    padded[:, :band.shape[1]] = band
    grouped = padded.reshape(len(band), row_bytes, per_byte)
    packed = np.zeros((len(band), row_bytes), np.uint8)
    for place in range(per_byte):
        packed |= grouped[:, :, place] << (8 - depth * (place + 1))
    return packed
