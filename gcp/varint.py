"""Varints of the compact form (spec 2.10): unsigned LEB128, canonical, of bounded length.

A value is written 7 bits a byte, the lowest first; every byte but the last has its top
bit (0x80) set. A varint is canonical when its last byte is not 0 or it is one byte long,
so that every value has exactly one form. Bytes in, values out; each failure raises
``FormatError`` naming the field the caller gives.
"""

from __future__ import annotations

from .errors import FormatError

MORE = 0x80  # top bit of a byte: another byte of the varint follows


def encode(value: int) -> bytes:
    """The canonical varint of ``value`` >= 0."""
    if value < 0:
        raise ValueError(f"a varint holds a value >= 0, not {value}")
    out = bytearray()
    while value >= MORE:
        out.append(value & 0x7F | MORE)
        value >>= 7
    out.append(value)
    return bytes(out)


def end_of(data: bytes | memoryview, at: int, most_bytes: int) -> int | None:
    """Where the varint at ``at`` ends: after its first byte below 0x80, or after
    ``most_bytes`` bytes, whichever comes first; None where ``data`` ends before that."""
    for end in range(at, at + most_bytes):
        if end >= len(data):
            return None
        if data[end] < MORE:
            return end + 1
    return at + most_bytes


def read(data: bytes | memoryview, at: int, most_bytes: int, limit: int, field: str,
         name: str) -> tuple[int, int]:
    """(value, end) of the varint ``name`` at ``at``: canonical, of at most ``most_bytes``
    bytes and a value of at most ``limit``; else ``FormatError`` naming ``field``."""
    end = end_of(data, at, most_bytes)
    if end is None:
        raise FormatError(f"{name} runs past the end of its {len(data)} bytes", field=field)
    if data[end - 1] >= MORE:
        raise FormatError(f"{name} is a varint of more than {most_bytes} bytes", field=field)
    if end - at > 1 and data[end - 1] == 0:
        raise FormatError(f"{name} is a varint with a last byte of 0, not in its shortest "
                          "form", field=field)
    value = 0
    for shift, byte in enumerate(data[at:end]):
        value |= (byte & 0x7F) << (7 * shift)
    if value > limit:
        raise FormatError(f"{name} is {value}; at most {limit}", field=field)
    return value, end
