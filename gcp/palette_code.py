"""The coded palette (spec/format.md, 2.7.1): a palette's bytes as adaptive Rice codes of
each channel's difference from the colour before, zigzagged.

Bytes in, bytes out; the container decides where the code goes and when it is used.
Colour by colour, channel by channel, the difference from the previous colour's value in
that channel (0 before the first colour), taken modulo 256 as -128..127 and zigzagged to
``z`` (0, -1, 1, -2 ... become 0, 1, 2, 3 ...), is written as a Rice code whose parameter
``k`` follows a running sum ``m`` of that channel's past ``z``. Bits are written most
significant first; the last byte is padded with zero bits.
"""

from __future__ import annotations

import numpy as np

from .errors import FormatError

PALETTE_RICE_START = 16   # each channel's m before its first value
PALETTE_ESCAPE = 15       # this many one bits: z follows in PALETTE_ESCAPE_BITS bits
PALETTE_ESCAPE_BITS = 8


def rice_parameter(m: int) -> int:
    """k for a channel's running sum ``m`` (0 to 1023): bit_length(m >> 2) - 1, at least 0."""
    return max(0, (m >> 2).bit_length() - 1)


def next_sum(m: int, z: int) -> int:
    """The channel's running sum after a value ``z``: about 4 x the recent mean of z."""
    return m - (m >> 2) + z


def zigzag(difference: int) -> int:
    """0..255 for a difference modulo 256 read as -128..127: 0, -1, 1, ... give 0, 1, 2, ..."""
    signed = difference - 256 if difference >= 128 else difference
    return 2 * signed if signed >= 0 else -2 * signed - 1


def unzigzag(z: int) -> int:
    """The signed difference of ``z``, -128..127."""
    return -((z + 1) >> 1) if z & 1 else z >> 1


def encode(palette: np.ndarray) -> bytes:
    """The code of uint8 (palette_size, channels) ``palette``."""
    bits: list[str] = []
    channels = palette.shape[1]
    sums = [PALETTE_RICE_START] * channels
    previous = [0] * channels
    for colour in palette.tolist():
        for channel, value in enumerate(colour):
            z = zigzag((value - previous[channel]) % 256)
            k = rice_parameter(sums[channel])
            if z >> k < PALETTE_ESCAPE:
                bits.append("1" * (z >> k) + "0" + (format(z & ((1 << k) - 1), f"0{k}b")
                                                     if k else ""))
            else:
                bits.append("1" * PALETTE_ESCAPE + format(z, f"0{PALETTE_ESCAPE_BITS}b"))
            sums[channel] = next_sum(sums[channel], z)
            previous[channel] = value
    text = "".join(bits)
    text += "0" * (-len(text) % 8)
    return int(text, 2).to_bytes(len(text) // 8, "big") if text else b""


class _BitReader:
    """Bits of ``code``, most significant first; reading past its end is a FormatError."""

    def __init__(self, code: bytes) -> None:
        self.code = code
        self.position = 0  # in bits

    def bit(self) -> int:
        byte = self.position >> 3
        if byte >= len(self.code):
            raise FormatError(f"the palette code reads past its {len(self.code)} bytes",
                              field="palette_code")
        self.position += 1
        return (self.code[byte] >> (7 - ((self.position - 1) & 7))) & 1

    def bits(self, count: int) -> int:
        value = 0
        for _ in range(count):
            value = (value << 1) | self.bit()
        return value


def decode(code: bytes | memoryview, palette_size: int, channels: int) -> np.ndarray:
    """uint8 (palette_size, channels) from ``code``; ``FormatError`` (field palette_code)
    when it reads past the code, gives a z over 255, or leaves nonzero padding bits or
    whole bytes unread."""
    reader = _BitReader(bytes(code))
    palette = np.empty((palette_size, channels), np.uint8)
    sums = [PALETTE_RICE_START] * channels
    previous = [0] * channels
    for index in range(palette_size):
        for channel in range(channels):
            ones = 0
            while ones < PALETTE_ESCAPE and reader.bit():
                ones += 1
            if ones == PALETTE_ESCAPE:
                z = reader.bits(PALETTE_ESCAPE_BITS)
            else:
                k = rice_parameter(sums[channel])
                z = (ones << k) | reader.bits(k)
                if z > 255:
                    raise FormatError(f"the palette code gives {z} for colour {index}, "
                                      f"channel {channel}; at most 255 is allowed",
                                      field="palette_code")
            sums[channel] = next_sum(sums[channel], z)
            previous[channel] = (previous[channel] + unzigzag(z)) % 256
            palette[index, channel] = previous[channel]
    _check_end(reader)
    return palette


def _check_end(reader: _BitReader) -> None:
    """The code ends in the byte of its last bit, padded with zero bits."""
    used_bytes = -(-reader.position // 8)
    if used_bytes < len(reader.code):
        raise FormatError(f"the palette code leaves {len(reader.code) - used_bytes} of its "
                          f"{len(reader.code)} bytes unread", field="palette_code")
    if reader.position & 7 and reader.bits(8 - (reader.position & 7)):
        raise FormatError("the palette code's padding bits are not zero",
                          field="palette_code")
