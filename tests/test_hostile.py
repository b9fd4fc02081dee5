"""Hostile and broken .gcp input: every input is decoded or rejected with ``GcpError``.

Mutations of valid files (bit flips, byte changes, truncations, insertions, deletions,
header and lzma-header rewrites, new bodies), with the CRC recomputed where the point is
to reach the checks behind it; random headers over random tokens; random bytes. Each input
goes through ``gcp.decode`` and ``gcp.read_info``: either both agree it is valid and the
image matches its header and palette, or a ``GcpError`` names a field of spec section 6.
Nothing else may escape, and no input may take 2 seconds (``CEILING_S``).

Budget: a few thousand inputs in all, some seconds. ``tests/fuzz/`` runs longer.
"""

from __future__ import annotations

import dataclasses
import struct
import time
import tracemalloc
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gcp
from gcp import container, entropy, rle, varint
from gcp.container import (
    FLAG_CODED_PALETTE,
    FLAG_COMPACT,
    HEADER_SIZE,
    METHOD_LZMA,
    METHOD_RLE,
    Header,
)
from tests.conftest import OPENCL_DEVICE, SPEC_FIELDS, VECTORS, requires_opencl

CEILING_S = 2.0
# And this much more for each pixel the header declares: a body that stays plausible to
# its end (a width's high bit flipped in a method-cm file: 210 bytes declaring 28 MP of
# spans, refused at its stripe's end after 2.6 s) is decoded in time linear in its pixels,
# as any codec's is, on one core where it is one stripe. The slowest stripe decodes at
# about 2.6 MP/s a core (k = 256, noise) in the kernel, and at about 8 us a pixel in the
# pure-Python reference, which method cm takes where no OpenCL device builds; the ceiling
# still catches a hang or a decoder whose work grows faster than the pixels.
CEILING_S_PER_PIXEL = 0.5e-6 if OPENCL_DEVICE is not None else 20e-6
EXAMPLES = 250  # per property below: 2,250 hypothesis inputs in all
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Offset and struct format of each header field after the signature (spec section 2).
HEADER_FIELDS = {
    "version": (8, "<B"), "channels": (9, "<B"), "method": (10, "<B"), "flags": (11, "<B"),
    "width": (12, "<I"), "height": (16, "<I"), "palette_size": (20, "<H"),
    "tokens_length": (22, "<Q"), "body_length": (30, "<Q"),
}
# Values at and around every boundary the rules draw, per field width.
EDGE_VALUES = {
    "<B": [0, 1, 2, 3, 4, 5, 127, 128, 254, 255],
    "<H": [0, 1, 2, 255, 256, 257, 0x7FFF, 0xFFFF],
    "<I": [0, 1, 2, 3, 255, 256, 257, 16384, 16385, 65536, 2**31 - 1, 2**31, 2**32 - 1],
    "<Q": [0, 1, 2, 3, 4, 5, 6, 8, 13, 255, 256, 512, 2**31, 2**32, 2**63, 2**64 - 1],
}
# Offsets in the body of the first lzma chunk's fields (spec section 5.2).
LZMA_HEADER_FIELDS = {"compressed_length": (0, "<I"), "properties": (4, "<B"),
                      "dictionary_size": (5, "<I"), "uncompressed_size": (9, "<Q")}


def fixed_form(data: bytes) -> bytes:
    """An rle or lzma file in the fixed form (spec 2.10), whichever form it is in."""
    header, palette, body = container.unpack(data)
    assert header.method != container.METHOD_CM  # cm's framing differs between the forms
    return container.pack(dataclasses.replace(header, flags=header.flags & ~FLAG_COMPACT),
                          palette, bytes(body))


def _seed_files() -> list[bytes]:
    """Valid vectors, and a few encoder outputs with longer bodies, every channel count,
    in the compact form as written and in the fixed form."""
    files = [path.read_bytes() for path in sorted(VECTORS.glob("*.gcp"))
             if not path.name.startswith("invalid-")]
    rng = np.random.default_rng(6)
    for channels, method in ((1, "rle"), (2, "lzma"), (3, "lzma"), (4, "rle")):
        image = rng.integers(0, 3, (9, 37, channels), dtype=np.uint8) * 100
        image[3:6] = 7  # a few long runs among the short ones
        written = gcp.encode(image, k=4, method=method, backend="numpy")
        files += [written, fixed_form(written)]
    return files


SEEDS = _seed_files()
FIXED_SEEDS = [data for data in SEEDS if not data[11] & FLAG_COMPACT]  # fields at offsets
COMPACT_SEEDS = [data for data in SEEDS if data[11] & FLAG_COMPACT]
LZMA_SEEDS = [data for data in FIXED_SEEDS if data[10] == METHOD_LZMA]


def with_crc(data: bytes | bytearray) -> bytes:
    """``data`` with its last 4 bytes replaced by the CRC of the bytes before them."""
    if len(data) < 4:
        return bytes(data)
    return bytes(data[:-4]) + zlib.crc32(data[:-4]).to_bytes(4, "little")


def body_offset(data: bytes) -> int:
    """Where the body starts: after the palette as is, or after a coded one (spec 2.7.1)."""
    if data[11] & FLAG_CODED_PALETTE and len(data) >= HEADER_SIZE + 2:
        return HEADER_SIZE + 2 + struct.unpack_from("<H", data, HEADER_SIZE)[0]
    palette_size, channels = struct.unpack_from("<H", data, 20)[0], data[9]
    return HEADER_SIZE + palette_size * channels


def check_error(error: gcp.GcpError) -> None:
    """A rejection names a field of spec section 6, with a one-line message."""
    assert error.field in SPEC_FIELDS, (error.field, str(error))
    message = str(error)
    assert message.strip() and "\n" not in message


def check_image(image: np.ndarray, info: gcp.Info) -> None:
    """A decoded image has the header's shape and only the palette's colours."""
    assert image.dtype == np.uint8
    assert image.shape == (info.height, info.width, info.channels)
    as_items = f"V{info.channels}"
    pixels = np.ascontiguousarray(image).reshape(-1, info.channels).view(as_items).ravel()
    palette = np.ascontiguousarray(info.palette).view(as_items).ravel()
    assert np.isin(pixels, palette).all()


def detached(error: BaseException) -> BaseException:
    """``error`` without its traceback and the exception it was raised in (kept, from
    None or not): kept in a local of a frame that its traceback reaches (through the
    frames' callers), the error makes a cycle that holds the decoder's frames and arrays
    until the collector's next full pass (50,000 frames after 3,000 fuzzed inputs)."""
    error.__context__ = error.__cause__ = None
    return error.with_traceback(None)


def decode_or_reject(data: bytes, **options) -> gcp.GcpError | np.ndarray:
    """Decode ``data``; return the image or the ``GcpError``. Anything else fails the test."""
    started = time.perf_counter()
    try:
        image = gcp.decode(data, **options)
    except gcp.GcpError as error:
        check_error(error)
        outcome: gcp.GcpError | np.ndarray = detached(error)
    else:
        outcome = image
    ceiling = CEILING_S
    try:
        info = gcp.read_info(data, **options)
    except gcp.GcpError as error:
        check_error(error)
        assert isinstance(outcome, gcp.GcpError), "read_info rejects what decode accepts"
        assert error.field == outcome.field  # rules 1-14 come first in both
    else:
        assert info.file_size == len(data)
        if isinstance(outcome, np.ndarray):
            check_image(outcome, info)
        ceiling += CEILING_S_PER_PIXEL * info.width * info.height
    elapsed = time.perf_counter() - started
    assert elapsed < ceiling, f"{elapsed:.2f} s for {len(data)} bytes"
    return outcome


# Mutations of valid files --------------------------------------------------------------

def positions_in(data: bytes, extra: int = 0) -> st.SearchStrategy[int]:
    """Offsets into ``data`` after the signature (up to ``extra`` past its end): a changed
    signature is refused at once, and every one-bit change of it is tried below."""
    return st.integers(len(container.SIGNATURE), len(data) - 1 + extra)


# Found by hypothesis (test_bit_flips_and_byte_changes, 2026-11-28): a 210-byte method-cm
# file of 92 x 27 pixels that, with its width's bit 20 set (1,048,668 x 27), has its one
# stripe's 69 bytes decode as spans to the stripe's end, where the coder is found short of
# its data: 2.6 s, linear in the width.
WIDENED_CM_FILE = bytes.fromhex(
    "894743500d0a1a0a010102005c0000001b00000002000000000000000000a6000000000000000080"
    "0e0000000146000000000000004b000000000000000766860966ca3711334e44e27cfea6873e16ea"
    "f5b1b421b8f2ec6b3b4f285f674bae06d09e598ac4349820c5000000608ff230944c7c7efc572db2"
    "fc1d4c105520b05a6548d807bd1961f869939df94c655cdc401d9dba1a74ca48372b93051aac0000"
    "55ff21b5da3bb01b47d29ef9ff7b00d09f94e2a1ef04b983fc4035f40874654d0f37f59a219f6f12"
    "6b2e0000000012a2bd7d")


@requires_opencl  # the pure-Python reference decodes those 28 MP at about 8 us a pixel
def test_a_widened_cm_file_is_refused_in_time_linear_in_its_pixels():
    data = bytearray(WIDENED_CM_FILE)
    data[14] ^= 1 << 4
    assert gcp.read_info(with_crc(data)).width == 92 + (1 << 20)
    assert isinstance(decode_or_reject(with_crc(data)), gcp.FormatError)


@settings(FUZZ, max_examples=2 * EXAMPLES)
@given(st.sampled_from(SEEDS), st.data(), st.sampled_from(["flip a bit", "set the byte"]),
       st.booleans())
def test_bit_flips_and_byte_changes(data, draw, how, fix_crc):
    edits = draw.draw(st.lists(st.tuples(positions_in(data), st.integers(0, 255)),
                               min_size=1, max_size=8))
    mutated = bytearray(data)
    for position, value in edits:
        if how == "flip a bit":
            mutated[position] ^= 1 << value % 8
        else:
            mutated[position] = value
    decode_or_reject(with_crc(mutated) if fix_crc else bytes(mutated))


@FUZZ
@given(st.sampled_from(SEEDS), st.data(), st.binary(min_size=1, max_size=16),
       st.integers(0, 16), st.booleans())
def test_insertions_and_deletions(data, draw, inserted, deleted, fix_crc):
    position = draw.draw(positions_in(data, extra=1))
    mutated = data[:position] + inserted + data[position + deleted:]
    decode_or_reject(with_crc(mutated) if fix_crc else mutated)


@pytest.mark.parametrize("data", SEEDS, ids=range(len(SEEDS)))
def test_every_truncation(data):
    for length in range(len(data)):
        cut = data[:length]
        outcome = decode_or_reject(cut)
        assert isinstance(outcome, gcp.GcpError)
        assert isinstance(decode_or_reject(with_crc(cut)), gcp.GcpError)


@pytest.mark.parametrize("name", ["rle-example.gcp", "lzma-example.gcp"])
def test_every_single_bit_flip(name):
    """Every bit of two small files, with the stored CRC and with a recomputed one."""
    data = (VECTORS / name).read_bytes()
    for position in range(len(data)):
        for bit in range(8):
            mutated = bytearray(data)
            mutated[position] ^= 1 << bit
            outcome = decode_or_reject(bytes(mutated))
            assert isinstance(outcome, gcp.GcpError)  # a CRC-32 catches every 1-bit error
            decode_or_reject(with_crc(mutated))


header_rewrites = st.lists(
    st.sampled_from(sorted(HEADER_FIELDS)).flatmap(lambda name: st.tuples(
        st.just(name),
        st.sampled_from(EDGE_VALUES[HEADER_FIELDS[name][1]])
        | st.integers(0, 2 ** (8 * struct.calcsize(HEADER_FIELDS[name][1])) - 1))),
    min_size=1, max_size=4)


@FUZZ
@given(st.sampled_from(FIXED_SEEDS), header_rewrites, st.booleans())
def test_header_field_rewrites(data, rewrites, fit_body_length):
    """Header fields set to edge and random values, CRC recomputed; with
    ``fit_body_length``, body_length (and for rle tokens_length) is then set to what the
    file holds, so the rules after the length check are reached too."""
    mutated = bytearray(data)
    for name, value in rewrites:
        offset, fmt = HEADER_FIELDS[name]
        struct.pack_into(fmt, mutated, offset, value)
    if fit_body_length:
        body_length = max(0, len(mutated) - body_offset(mutated) - 4)
        struct.pack_into("<Q", mutated, 30, body_length)
        if mutated[10] == METHOD_RLE:
            struct.pack_into("<Q", mutated, 22, body_length)
    decode_or_reject(with_crc(mutated))


lzma_header_rewrites = st.lists(
    st.sampled_from(sorted(LZMA_HEADER_FIELDS)).flatmap(lambda name: st.tuples(
        st.just(name),
        st.sampled_from(EDGE_VALUES[LZMA_HEADER_FIELDS[name][1]] + [4, 57, 58, 224, 225,
                                                                    2**20, 2**20 + 1])
        | st.integers(0, 2 ** (8 * struct.calcsize(LZMA_HEADER_FIELDS[name][1])) - 1))),
    min_size=1, max_size=3)


@FUZZ
@given(st.sampled_from(LZMA_SEEDS), lzma_header_rewrites)
def test_lzma_header_rewrites(data, rewrites):
    mutated = bytearray(data)
    start = body_offset(data)
    for name, value in rewrites:
        offset, fmt = LZMA_HEADER_FIELDS[name]
        if fmt == "<B":
            value %= 256
        elif fmt == "<I":
            value %= 2**32
        struct.pack_into(fmt, mutated, start + offset, value)
    decode_or_reject(with_crc(mutated))


def rebuilt(data: bytes, body: bytes, tokens_length: int | None = None) -> bytes:
    """``data`` with a new body, body_length (and tokens_length) to match, CRC recomputed."""
    start = body_offset(data)
    mutated = bytearray(data[:start] + body + b"\0\0\0\0")
    struct.pack_into("<Q", mutated, 30, len(body))
    if tokens_length is not None:
        struct.pack_into("<Q", mutated, 22, tokens_length)
    return with_crc(mutated)


@FUZZ
@given(st.sampled_from(FIXED_SEEDS), st.binary(max_size=300), st.booleans())
def test_new_bodies(data, body, compress):
    """Random token streams behind a valid header: raw for rle, or compressed for lzma so
    that they reach the token checks; and random lzma bodies."""
    if data[10] == METHOD_RLE:
        decode_or_reject(rebuilt(data, body, tokens_length=len(body)))
    elif compress:
        token_size = rle.token_size(struct.unpack_from("<H", data, 20)[0])
        decode_or_reject(rebuilt(data, entropy.compress_tokens(body, token_size=token_size),
                                 tokens_length=len(body)))
    else:
        decode_or_reject(rebuilt(data, data[body_offset(data):body_offset(data) + 17] + body))


COMPACT_FIELDS = container.COMPACT_FIELDS  # the compact form's varints (spec 2.10)
VARINT_EDGES = [0, 1, 2, 127, 128, 255, 256, 16383, 16384, 2**32 - 1, 2**32, 2**63,
                2**64 - 1, 2**64, 2**70]
compact_values = (st.sampled_from(VARINT_EDGES).map(varint.encode)
                  | st.integers(0, 2**72).map(varint.encode)
                  | st.binary(min_size=0, max_size=12))  # overlong, cut, not canonical


def compact_fields(data: bytes) -> tuple[dict[str, bytes], int]:
    """The raw bytes of each varint field of a compact header, and where the last ends."""
    raw, at = {}, container.COMPACT_PREFIX_SIZE
    for name, most_bytes in COMPACT_FIELDS:
        end = varint.end_of(data, at, most_bytes)
        raw[name], at = data[at:end], end
    return raw, at


def with_fitted_compact_lengths(data: bytes) -> bytes:
    """A compact file with body_length (and for rle tokens_length) set to what it holds
    and its CRC recomputed; only the CRC where its header's varints do not all end."""
    if container.compact_header_end(data) is None:
        return with_crc(data)
    raw, end = compact_fields(data)
    if data[11] & FLAG_CODED_PALETTE:
        if len(data) < end + 2:
            return with_crc(data)
        palette_length = 2 + struct.unpack_from("<H", data, end)[0]
    else:
        palette_length = (raw["palette_size_minus_one"][0] + 1) * data[9]
    body_length = varint.encode(max(0, len(data) - end - palette_length - 4))
    raw["body_length"] = body_length
    if data[10] == METHOD_RLE:
        raw["tokens_length"] = body_length
    return with_crc(data[:container.COMPACT_PREFIX_SIZE] + b"".join(raw.values())
                    + data[end:])


@FUZZ
@given(st.sampled_from(COMPACT_SEEDS),
       st.dictionaries(st.sampled_from([name for name, _ in COMPACT_FIELDS]), compact_values,
                       min_size=1, max_size=3), st.booleans())
def test_compact_header_rewrites(data, rewrites, fit_body_length):
    """A compact header's fields replaced by edge varints, random ones, or any bytes
    (overlong, cut short, not canonical), CRC recomputed; with ``fit_body_length``,
    body_length (and for rle tokens_length) then set to what the file holds."""
    raw, end = compact_fields(data)
    raw.update(rewrites)
    mutated = data[:container.COMPACT_PREFIX_SIZE] + b"".join(raw.values()) + data[end:]
    decode_or_reject(with_fitted_compact_lengths(mutated) if fit_body_length
                     else with_crc(mutated))


# Random headers, random bytes --------------------------------------------------------

@FUZZ
@given(st.integers(1, 4), st.sampled_from([METHOD_RLE, METHOD_LZMA]), st.integers(0, 7),
       st.integers(1, 40), st.integers(1, 40), st.integers(1, 256), st.data())
def test_random_headers_over_random_tokens(channels, method, flags, width, height,
                                           palette_size, draw):
    """Consistent headers (lengths, CRC) over random runs and indices: many decode, and
    those must match their header; the rest are rejected for their tokens."""
    pixel_count = width * height
    runs = draw.draw(st.lists(st.integers(1, 300), min_size=1, max_size=12))
    runs[-1] = max(1, pixel_count - sum(runs[:-1]))  # often exact, sometimes over
    index_limit = draw.draw(st.sampled_from([palette_size, 256]))
    indices = draw.draw(st.lists(st.integers(0, index_limit - 1), min_size=len(runs),
                                 max_size=len(runs)))
    tokens = rle.encode_runs(np.repeat(np.array(indices, np.uint8), runs), palette_size)
    palette = np.frombuffer(draw.draw(st.binary(min_size=palette_size * channels,
                                                max_size=palette_size * channels)), np.uint8)
    body = tokens if method == METHOD_RLE else entropy.compress_tokens(
        tokens, token_size=rle.token_size(palette_size))
    header = Header(1, channels, method, flags, width, height, palette_size, len(tokens),
                    len(body))
    decode_or_reject(container.pack(header, palette.reshape(palette_size, channels), body))


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes(data):
    assert isinstance(decode_or_reject(data), gcp.GcpError)


@FUZZ
@given(st.binary(max_size=120), st.booleans())
def test_random_bytes_after_the_signature(rest, fix_crc):
    data = container.SIGNATURE + bytes([1]) + rest
    decode_or_reject(with_crc(data) if fix_crc else data)


# Limits before allocation, input types, regressions -----------------------------------

def peak_allocation(function, *args, **options) -> int:
    """Bytes allocated at the peak of ``function(*args)``, numpy arrays included."""
    tracemalloc.start()
    try:
        function(*args, **options)
    except gcp.GcpError:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def header_only(width: int, height: int, tokens_length: int, method: int = METHOD_RLE,
                body: bytes = b"") -> bytes:
    palette = np.zeros((1, 4), np.uint8)
    return container.pack(Header(1, 4, method, 0, width, height, 1, tokens_length,
                                 len(body) if method == METHOD_LZMA else tokens_length),
                          palette, body)


@pytest.mark.parametrize(("data", "field"), [
    (header_only(65535, 65535, 65535 * 65535), "length"),
    (header_only(65535, 65535, 65535 * 65535, METHOD_LZMA,
                 entropy.compress_tokens(b"\x0f" * 1000, token_size=1)), "lzma_chunk_length"),
], ids=["rle", "lzma"])
def test_huge_declared_image_allocates_nothing_for_it(data, field):
    """A 16 GiB image declared in a tiny file, under a raised limit: rejected, having
    allocated no more than the file's own size and the lzma stage's small steps."""
    with pytest.raises(gcp.GcpError) as raised:
        gcp.decode(data, max_pixels=2**40)
    assert raised.value.field == field
    assert peak_allocation(gcp.decode, data, max_pixels=2**40) < 1 << 20


def test_decoding_allocates_little_beside_the_image():
    """One token per pixel: the image is 1 MiB; no array of one entry per token is made
    (int64 run lengths alone would be 8 MiB)."""
    indices = np.tile(np.arange(2, dtype=np.uint8), 1 << 19)
    data = gcp.encode(indices.reshape(1024, 1024), k=2, method="rle", backend="numpy")
    image_bytes = 1 << 20
    assert peak_allocation(gcp.decode, data) < 2.5 * image_bytes


def test_running_out_of_memory_is_a_gcp_error(monkeypatch):
    def no_memory(*args):
        raise MemoryError

    monkeypatch.setattr(rle, "expand_tokens", no_memory)
    with pytest.raises(gcp.LimitError) as raised:
        gcp.decode((VECTORS / "rle-example.gcp").read_bytes())
    assert raised.value.field == "memory" and "4x2" in str(raised.value)


def test_limits_raised_past_64_bits_give_format_errors():
    """max_pixels of 2**70 lets a 2**64-pixel header through to the body checks, which
    must still fail cleanly and at once: no OverflowError, no list of 2**45 chunks."""
    pixels = (2**32 - 1) ** 2
    for name in ("rle-example.gcp", "lzma-example.gcp"):
        data = bytearray((VECTORS / name).read_bytes())
        struct.pack_into("<II", data, 12, 2**32 - 1, 2**32 - 1)
        struct.pack_into("<Q", data, 22, pixels)
        if data[10] == METHOD_RLE:
            struct.pack_into("<Q", data, 30, pixels)
        outcome = decode_or_reject(with_crc(data), max_pixels=2**70)
        assert outcome.field == ("length" if data[10] == METHOD_RLE else "lzma_chunk_length")


@pytest.mark.parametrize("wrap", [
    bytes, bytearray, memoryview, lambda data: np.frombuffer(data, np.uint8),
    lambda data: memoryview(bytes(byte for value in data for byte in (value, 0)))[::2],
], ids=["bytes", "bytearray", "memoryview", "numpy", "strided-memoryview"])
def test_any_bytes_like_input_is_read(wrap):
    data = (VECTORS / "lzma-example.gcp").read_bytes()
    assert np.array_equal(gcp.decode(wrap(data)), gcp.decode(data))
    assert gcp.read_info(wrap(data)).file_size == len(data)


@pytest.mark.parametrize("data", ["\x89GCP", None, 38, [0x89, 0x47]],
                         ids=["str", "None", "int", "list"])
def test_non_bytes_input_is_a_type_error(data):
    for function in (gcp.decode, gcp.read_info):
        with pytest.raises(TypeError, match="bytes"):
            function(data)


@pytest.mark.parametrize(("max_pixels", "error"), [
    (None, TypeError), (1.5, TypeError), (True, TypeError), (0, gcp.ParameterError),
    (-1, gcp.ParameterError),
])
def test_bad_max_pixels_is_refused(max_pixels, error):
    data = (VECTORS / "rle-example.gcp").read_bytes()
    for function in (gcp.decode, gcp.read_info):
        with pytest.raises(error, match="max_pixels"):
            function(data, max_pixels=max_pixels)
