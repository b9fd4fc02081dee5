"""Coverage-guided fuzzing of ``gcp.decode`` and ``gcp.read_info`` with atheris (libFuzzer).

Not a pytest module (pytest collects only ``test_*.py``) and atheris is not a test
dependency; see README.md beside this file for how to run it and what it has found.

Each input is tried three ways: as it is; with its CRC recomputed, so that the rules
after the CRC are reached; and with body_length (and, for rle, tokens_length) set to what
the file holds and the CRC recomputed, so that mutated bodies reach the lzma and token
checks. The checks are those of tests/test_hostile.py: decoded (matching read_info's
header and palette) or rejected with a GcpError naming a field of spec section 6, each
in under 2 seconds. Anything else is a crash that libFuzzer saves.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy  # noqa: E402,F401  (loaded first, so that it is not instrumented)

with atheris.instrument_imports(include=["gcp"]):
    # gcp imports its codec on first use, so the modules a decode runs are named here to
    # be instrumented: gcp.codec brings the container, the palette code and every method.
    # gcp alone: atheris's hooks on numpy's comparisons kept their array results alive,
    # and the fuzzer's memory grew by about 0.3 GB every 100,000 inputs until it ran out.
    import gcp.codec  # noqa: F401  (instrumented before anything else imports it)

from gcp.container import (  # noqa: E402
    COMPACT_PREFIX_SIZE,
    FLAG_COMPACT,
    HEADER_SIZE,
    METHOD_RLE,
)
from tests.test_hostile import (  # noqa: E402
    body_offset,
    decode_or_reject,
    with_crc,
    with_fitted_compact_lengths,
)


def with_fitted_lengths(data: bytes) -> bytes:
    """``data`` with body_length (and tokens_length for rle) matching its size, CRC fixed,
    in either form (spec 2.10)."""
    if data[11] & FLAG_COMPACT:
        return with_fitted_compact_lengths(data)
    fitted = bytearray(data)
    body_length = max(0, len(fitted) - body_offset(fitted) - 4)
    struct.pack_into("<Q", fitted, 30, body_length)
    if fitted[10] == METHOD_RLE:
        struct.pack_into("<Q", fitted, 22, body_length)
    return with_crc(fitted)


# A few hundred bytes of LZMA can declare and fill an image of the default limit (2**28
# pixels, 1.4 GB to decode as RGBA): legitimate, but beyond -rss_limit_mb. The fuzzer
# works under a lower limit; the checks are the same at any scale.
FUZZ_MAX_PIXELS = 1 << 24


def fuzz_one_input(data: bytes) -> None:
    decode_or_reject(data, max_pixels=FUZZ_MAX_PIXELS)
    if len(data) >= 4:
        decode_or_reject(with_crc(data), max_pixels=FUZZ_MAX_PIXELS)
    compact = len(data) >= COMPACT_PREFIX_SIZE and data[11] & FLAG_COMPACT
    if compact or len(data) >= HEADER_SIZE:
        decode_or_reject(with_fitted_lengths(data), max_pixels=FUZZ_MAX_PIXELS)


def main() -> None:
    atheris.Setup(sys.argv, fuzz_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
