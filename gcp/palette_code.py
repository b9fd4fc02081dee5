"""The coded palette (spec/format.md, 2.7.1): a palette's bytes as adaptive Rice codes of
each channel's difference from a prediction, zigzagged.

Bytes in, bytes out; the container decides where the code goes and when it is used.
The code starts with one bit a channel, its order: 0, each value is predicted by the
previous colour's in that channel (0 before the first colour); 1, by that plus the step
between the two colours before (a sorted grey palette's steps are nearly all alike).
Then colour by colour, channel by channel, the difference from the prediction, taken
modulo 256 as -128..127 and zigzagged to ``z`` (0, -1, 1, -2 ... become 0, 1, 2, 3 ...),
is written as a Rice code whose parameter ``k`` follows a running sum ``m`` of that
channel's past ``z``. Bits are written most significant first; the last byte is padded
with zero bits.
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
    """The code of uint8 (palette_size, channels) ``palette``: each channel in the order
    whose codes are shorter (first order where equal)."""
    orders, codes = [], []
    for values in palette.T.tolist():
        first, second = channel_codes(values, False), channel_codes(values, True)
        second_order = sum(map(len, second)) < sum(map(len, first))
        orders.append("1" if second_order else "0")
        codes.append(second if second_order else first)
    text = "".join(orders) + "".join(code for colour in zip(*codes, strict=True)
                                     for code in colour)
    text += "0" * (-len(text) % 8)
    return int(text, 2).to_bytes(len(text) // 8, "big") if text else b""


def shortest_order(palette: np.ndarray) -> np.ndarray:
    """The order (int64 (palette_size,), a permutation) an encoder stores uint8
    (palette_size, channels) ``palette`` in: the given order or ``nearest_tour``'s,
    whichever codes shorter (the given where equal). An encoder's choice: the code
    predicts each colour from the one before, so a path that steps to a near colour each
    time codes in fewer bits than one sorted by its first channel, which jumps in the
    others."""
    given = np.arange(len(palette))
    if len(palette) < 3:
        return given
    tour = nearest_tour(palette)
    return tour if len(encode(palette[tour])) < len(encode(palette)) else given


def nearest_tour(palette: np.ndarray) -> np.ndarray:
    """int64 (palette_size,): a path through uint8 (palette_size, channels) ``palette``
    from its darkest colour (least sum of bytes; the first such), each step to the nearest
    colour not yet visited by squared distance (the first such)."""
    colours = palette.astype(np.int64)
    unvisited = np.ones(len(colours), bool)
    at = int(np.argmin(colours.sum(axis=1)))
    path = [at]
    unvisited[at] = False
    for _ in range(len(colours) - 1):
        distance = ((colours - colours[at]) ** 2).sum(axis=1)
        distance[~unvisited] = np.iinfo(np.int64).max
        at = int(np.argmin(distance))
        path.append(at)
        unvisited[at] = False
    return np.array(path, np.int64)


def channel_codes(values: list[int], second_order: bool) -> list[str]:
    """The Rice code of each of one channel's ``values`` (0..255, colour by colour), as
    strings of '0' and '1', predicted in the first or the ``second_order``."""
    codes = []
    m, previous, step = PALETTE_RICE_START, 0, 0
    for i, value in enumerate(values):
        z = zigzag((value - previous - step) % 256)
        k = rice_parameter(m)
        if z >> k < PALETTE_ESCAPE:
            codes.append("1" * (z >> k) + "0" + (format(z & ((1 << k) - 1), f"0{k}b")
                                                 if k else ""))
        else:
            codes.append("1" * PALETTE_ESCAPE + format(z, f"0{PALETTE_ESCAPE_BITS}b"))
        m = next_sum(m, z)
        if second_order and i > 0:
            step = (value - previous) % 256
        previous = value
    return codes


def decode(code: bytes | memoryview, palette_size: int, channels: int) -> np.ndarray:
    """Read-only uint8 (palette_size, channels) from ``code``; ``FormatError`` (field palette_code)
    when it reads past the code, gives a z over 255, or leaves nonzero padding bits or
    whole bytes unread."""
    code = bytes(code)
    # The bits as a '0'/'1' string: a unary run is one find(), a k-bit field one int().
    bits = format(int.from_bytes(code, "big"), f"0{8 * len(code)}b") if code else ""
    values = bytearray(palette_size * channels)
    sums = [PALETTE_RICE_START] * channels
    previous = [0] * channels
    steps = [0] * channels
    position = _advance(bits, 0, channels)
    second_order = [bit == "1" for bit in bits[:channels]]
    for at in range(palette_size * channels):
        channel = at % channels
        zero = bits.find("0", position, position + PALETTE_ESCAPE)
        if zero < 0:  # PALETTE_ESCAPE ones (or the code ends first): the escape
            start = position + PALETTE_ESCAPE
            position = _advance(bits, start, PALETTE_ESCAPE_BITS)
            z = int(bits[start:position], 2)
        else:
            k = rice_parameter(sums[channel])
            ones = zero - position
            position = _advance(bits, zero + 1, k)
            z = (ones << k) | (int(bits[zero + 1:position], 2) if k else 0)
            if z > 255:
                raise FormatError(f"the palette code gives {z} for colour {at // channels}, "
                                  f"channel {channel}; at most 255 is allowed",
                                  field="palette_code")
        sums[channel] = next_sum(sums[channel], z)
        values[at] = (previous[channel] + steps[channel] + unzigzag(z)) % 256
        if second_order[channel] and at >= channels:
            steps[channel] = (values[at] - previous[channel]) % 256
        previous[channel] = values[at]
    _check_end(bits, position)
    return np.frombuffer(bytes(values), np.uint8).reshape(palette_size, channels)


def _advance(bits: str, start: int, count: int) -> int:
    """The bit position after ``count`` bits from ``start``; reading past the code is a
    FormatError."""
    end = start + count
    if end > len(bits):
        raise FormatError(f"the palette code reads past its {len(bits) // 8} bytes",
                          field="palette_code")
    return end


def _check_end(bits: str, position: int) -> None:
    """The code ends in the byte of its last bit, padded with zero bits."""
    used_bytes = -(-position // 8)
    if used_bytes < len(bits) // 8:
        raise FormatError(f"the palette code leaves {len(bits) // 8 - used_bytes} of its "
                          f"{len(bits) // 8} bytes unread", field="palette_code")
    if "1" in bits[position:]:
        raise FormatError("the palette code's padding bits are not zero",
                          field="palette_code")
