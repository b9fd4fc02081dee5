"""Image files in and out: channel order, bit depth, palettes, limits."""

from __future__ import annotations

import struct
import time
import tracemalloc
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gcp import imageio
from gcp.errors import ImageError, LimitError
from tests.conftest import (
    REAL_IMAGES,
    bmp_with_size,
    exif_segment,
    png_with_size,
    with_segments_after_app0,
)

PIL = pytest.importorskip("PIL.Image", reason="Pillow writes the odd PNG kinds these tests read")


def png_bytes(image) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_rgb_order_is_kept():
    image = np.zeros((2, 3, 3), np.uint8)
    image[0, 0] = [255, 0, 0]
    back = imageio.decode_image(imageio.encode_image(image, ".png"))
    assert back[0, 0].tolist() == [255, 0, 0]


def test_rgba_round_trip():
    image = np.random.default_rng(0).integers(0, 256, (4, 5, 4), dtype=np.uint8)
    assert np.array_equal(imageio.decode_image(imageio.encode_image(image, ".png")), image)


def test_grey_png_is_one_channel():
    assert imageio.decode_image(REAL_IMAGES["camera"].read_bytes()).shape == (512, 512, 1)


def test_sixteen_bit_is_rounded_to_eight():
    data = png_bytes(PIL.fromarray(np.full((2, 2), 257 * 200 + 100, np.uint16)))
    image = imageio.decode_image(data)
    assert image.dtype == np.uint8 and image[0, 0, 0] == 200


def test_sixteen_bit_rounding_is_exact_and_needs_no_wide_copy():
    """Every 16-bit value rounds to the nearest 8-bit one, without a uint32 copy of the
    whole image (that alone would be twice the 16-bit image's size)."""
    ramp = np.arange(1 << 16, dtype=np.uint16)
    image = np.stack([ramp, ramp[::-1], ramp], axis=1).reshape(4096, 16, 3).repeat(8, axis=1)
    tracemalloc.start()
    try:
        eight_bit = imageio._to_uint8(image, "ramp")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.array_equal(eight_bit, np.round(image / 257).astype(np.uint8))
    assert peak < image.nbytes


def test_palette_png_reads_as_its_colours():
    indexed = PIL.fromarray(np.array([[0, 1], [1, 0]], np.uint8), "P")
    indexed.putpalette([10, 20, 30, 200, 100, 0])
    image = imageio.decode_image(png_bytes(indexed))
    assert image[0, 0, :3].tolist() == [10, 20, 30] and image[0, 1, :3].tolist() == [200, 100, 0]


def test_grey_alpha_png_stays_two_channels():
    pixels = np.dstack([np.full((2, 2), 90, np.uint8), np.full((2, 2), 40, np.uint8)])
    image = imageio.decode_image(png_bytes(PIL.fromarray(pixels, "LA")))
    assert image.shape == (2, 2, 2) and image[0, 0].tolist() == [90, 40]


def test_grey_alpha_is_written_as_rgba_png():
    image = np.dstack([np.full((2, 2), 90, np.uint8), np.full((2, 2), 40, np.uint8)])
    back = imageio.decode_image(imageio.encode_image(image, ".png"))
    assert back[0, 0].tolist() == [90, 90, 90, 40]


def test_jpeg_is_read():
    image = np.full((8, 8, 3), 128, np.uint8)
    assert imageio.decode_image(imageio.encode_image(image, ".jpg")).shape == (8, 8, 3)


def test_png_size_is_checked_before_decoding():
    data = bytearray(imageio.encode_image(np.zeros((4, 4, 3), np.uint8), ".png"))
    data[16:24] = (100_000).to_bytes(4, "big") * 2  # IHDR claims 100000 x 100000
    with pytest.raises(LimitError):
        imageio.decode_image(bytes(data))


def test_bmp_size_is_checked_before_decoding():
    data = imageio.encode_image(np.zeros((30, 40, 3), np.uint8), ".bmp")
    assert imageio.declared_size(data) == (40, 30)
    with pytest.raises(LimitError):
        imageio.decode_image(data, max_pixels=1000)


@pytest.mark.parametrize("data", [b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\0" * 30])
def test_unreadable_input_is_an_image_error(data):
    with pytest.raises(ImageError):
        imageio.decode_image(data)


def test_truncated_png_is_an_image_error():
    data = REAL_IMAGES["astronaut"].read_bytes()
    with pytest.raises(ImageError):
        imageio.decode_image(data[: len(data) // 2])


def core_header_bmp(width: int, height: int, rows: int | None = None) -> bytes:
    """An OS/2 1.x BMP (12-byte BITMAPCOREHEADER: u16 width and height), 24-bit, black,
    with pixels for ``rows`` rows (all by default)."""
    row = width * 3 + (-width * 3) % 4
    header = struct.pack("<IHHHH", 12, width, height, 1, 24)
    offset = 14 + len(header)
    pixels = bytes(row * (height if rows is None else rows))
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + header + pixels


def test_bmp_core_header_size_is_read_as_16_bits():
    """Read as a later header's i32 fields, this 3x2 image would claim 131075 x 1572865."""
    data = core_header_bmp(3, 2)
    assert imageio.declared_size(data) == (3, 2)
    assert imageio.decode_image(data).shape[:2] == (2, 3)
    with pytest.raises(LimitError):
        imageio.decode_image(data, max_pixels=5)


@pytest.mark.parametrize("make", [png_with_size, bmp_with_size, core_header_bmp],
                         ids=["png", "bmp", "bmp-core"])
@pytest.mark.parametrize(("width", "height"), [(0, 4), (4, 0), (0, 0)])
def test_image_without_pixels_is_refused_before_decoding(make, width, height, capfd):
    with pytest.raises(ImageError, match=f"{width}x{height} pixels"):
        imageio.decode_image(make(width, height))
    assert capfd.readouterr().err == ""


def test_library_messages_do_not_reach_stderr(capfd):
    """libpng prints 'libpng error: IDAT: CRC error' itself; it becomes the error's reason."""
    data = bytearray(REAL_IMAGES["logo"].read_bytes())
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(ImageError, match="CRC error"):
        imageio.decode_image(bytes(data))
    assert capfd.readouterr().err == ""


def jpeg_with_size(width: int, height: int) -> bytes:
    """A small JPEG whose start-of-frame segment declares width x height."""
    data = bytearray(imageio.encode_image(np.full((8, 8, 3), 100, np.uint8), ".jpg"))
    frame = data.index(b"\xff\xc0")
    data[frame + 5:frame + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.mark.parametrize("make", [png_with_size, bmp_with_size, jpeg_with_size,
                                  lambda width, height: core_header_bmp(width, height, rows=1)],
                         ids=["png", "bmp", "jpeg", "bmp-core"])
def test_size_is_checked_before_opencv_sees_the_data(make, monkeypatch):
    """A 600-byte JPEG claiming 20000 x 20000 pixels once cost 7 s and 2.3 GB to refuse."""
    def no_decoding():
        raise AssertionError("OpenCV was asked to decode an image over the limit")

    data = make(20000, 20000)
    monkeypatch.setattr(imageio, "_cv2", no_decoding)
    with pytest.raises(LimitError, match="20000x20000"):
        imageio.decode_image(data)


def image_file(shape: tuple[int, int, int], kind: str) -> bytes:
    """A file of uint8 pixels of ``shape`` (H, W, C): kind an extension OpenCV writes,
    or 'gif' (through Pillow)."""
    image = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    if kind == "gif":
        import io

        buffer = io.BytesIO()
        PIL.fromarray(image[:, :, 0]).save(buffer, format="GIF")
        return buffer.getvalue()
    return imageio.encode_image(image, kind)


SIZED_KINDS = [".png", ".bmp", ".jpg", ".tif", ".webp", "gif"]


@pytest.mark.parametrize("kind", SIZED_KINDS)
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_declared_grey_is_true_only_where_the_decoded_image_is_one_channel(kind, channels):
    if kind in (".jpg", "gif", ".bmp") and channels in (2, 4):
        channels -= 1
    data = image_file((6, 9, channels), kind)
    decoded = imageio.decode_image(data).shape[2]
    grey = imageio.declared_grey(data)
    assert not grey or decoded == 1  # never says grey for colour or alpha
    if kind in (".png", ".jpg"):  # the formats it reads
        assert grey == (decoded == 1)


def test_declared_grey_reads_no_further_than_the_header_and_never_raises():
    grey_png = image_file((6, 9, 1), ".png")
    grey_jpeg = image_file((6, 9, 1), ".jpg")
    assert imageio.declared_grey(grey_png) and imageio.declared_grey(grey_jpeg)
    for data in (grey_png[:25], grey_jpeg[:4], b"", b"\x89PNG", grey_jpeg[:2] + b"\xff"):
        assert imageio.declared_grey(data) is False
    palette_png = png_bytes(PIL.fromarray(np.zeros((4, 4), np.uint8)).convert("P"))
    assert imageio.declared_grey(palette_png) is False  # decoded as colour


@pytest.mark.parametrize("kind", SIZED_KINDS)
@pytest.mark.parametrize("shape", [(1, 1, 3), (7, 33, 1), (100, 3, 3), (5, 300, 4)])
def test_declared_size_is_the_decoded_size(kind, shape):
    if kind in (".jpg", "gif") and shape[2] == 4:
        shape = (*shape[:2], 3)
    data = image_file(shape, kind)
    assert imageio.declared_size(data) == (shape[1], shape[0])
    assert imageio.decode_image(data).shape[:2] == shape[:2]


@pytest.mark.parametrize("kind", SIZED_KINDS)
def test_every_sized_kind_is_limited_before_opencv_sees_it(kind, monkeypatch):
    """A 20000 x 20000 GIF (296 KB) or deflated TIFF (1.7 MB) took 13 s and 3 GB to be
    refused after decoding; each kind with a readable header is refused from it."""
    data = image_file((6, 5, 3), kind)

    def no_decoding():
        raise AssertionError("OpenCV was asked to decode an image over the limit")

    monkeypatch.setattr(imageio, "_cv2", no_decoding)
    with pytest.raises(LimitError, match="5x6 = 30 pixels"):
        imageio.decode_image(data, max_pixels=29)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([image_file((9, 11, 3), kind) for kind in SIZED_KINDS]),
       st.lists(st.tuples(st.integers(0), st.integers(0, 255)), min_size=1, max_size=6),
       st.integers(1))
def test_mutated_images_are_read_or_refused_with_gcp_errors(data, changes, cut):
    """Changed bytes and truncations of PNG, BMP, JPEG, TIFF, WebP and GIF files: an image
    of the declared size, or ImageError / LimitError; nothing else."""
    mutated = bytearray(data)
    for position, value in changes:
        mutated[position % len(mutated)] = value
    mutated = bytes(mutated[:cut])
    started = time.perf_counter()
    try:
        image = imageio.decode_image(mutated)
    except (ImageError, LimitError):
        pass
    else:
        size = imageio.declared_size(mutated)
        assert size is None or image.shape[1::-1] == size
    assert time.perf_counter() - started < 2.0


def with_stray_bytes_after_app0(jpeg: bytes, stray: bytes) -> bytes:
    """``jpeg`` with ``stray`` between its APP0 segment and the next, as a fuzzer made it."""
    assert jpeg[2:4] == b"\xff\xe0"
    after_app0 = 4 + int.from_bytes(jpeg[4:6], "big")
    return jpeg[:after_app0] + stray + jpeg[after_app0:]


def assert_a_huge_frame_is_refused_before_decoding(jpeg: bytes, monkeypatch) -> None:
    """``jpeg`` with its frame made 17490 x 18760 is refused by the pixel limit before
    OpenCV is asked to decode it."""
    huge = bytearray(jpeg)
    struct.pack_into(">HH", huge, jpeg.index(b"\xff\xc0") + 5, 18760, 17490)

    def no_decoding():
        raise AssertionError("OpenCV was asked to decode an image over the limit")

    monkeypatch.setattr(imageio, "_cv2", no_decoding)
    with pytest.raises(LimitError, match="17490x18760"):
        imageio.decode_image(bytes(huge), max_pixels=1 << 22)


@pytest.mark.parametrize("stray", [b"IHDR\x06", b"\x00\xff\x00\x01", b"\xff\xff\x00"])
def test_a_jpegs_size_is_read_past_stray_bytes_between_segments(stray, monkeypatch):
    """libjpeg skips bytes between segments to the next marker ("extraneous bytes"), so
    such a file decodes at its frame's size, and that size must be read before OpenCV
    sees the file: the fuzzer's 274-byte JPEG declared 17490 x 18760 behind five stray
    bytes, and OpenCV took 1-4 s and 2 GB before the limit refused it."""
    jpeg = with_stray_bytes_after_app0(image_file((9, 11, 3), ".jpg"), stray)
    assert imageio.declared_size(jpeg) == (11, 9)
    assert imageio.decode_image(jpeg).shape == (9, 11, 3)
    assert_a_huge_frame_is_refused_before_decoding(jpeg, monkeypatch)


@pytest.mark.parametrize("filler", [b"\xff" * 1000, b"\xff\xd0" * 500, b"\xff\x00" * 500,
                                    b"\xff\x01\xff\xd7" * 250])
def test_runs_libjpeg_passes_over_before_a_jpegs_frame_are_passed_over(filler):
    """Fill bytes, stuffed zeros and markers with no length (TEM, RSTn) before the frame:
    libjpeg reads past them, and so does the search for the frame, in C (runs of 64 MB
    took 5-9 s a byte or a marker at a time)."""
    jpeg = with_stray_bytes_after_app0(image_file((9, 11, 3), ".jpg"), filler)
    assert imageio.declared_size(jpeg) == (11, 9)
    assert imageio.decode_image(jpeg).shape == (9, 11, 3)


def test_a_jpegs_frame_is_looked_for_in_a_bounded_number_of_segments(monkeypatch):
    """Empty segments (a length of 2) before the frame are walked one by one: past
    MAX_JPEG_SEGMENTS the size is unknown, as it is after a length libjpeg refuses."""
    jpeg = image_file((9, 11, 3), ".jpg")
    monkeypatch.setattr(imageio, "MAX_JPEG_SEGMENTS", 16)  # OpenCV's file has 3 before
    empty = b"\xff\xe1\x00\x02"
    assert imageio.declared_size(with_stray_bytes_after_app0(jpeg, empty * 5)) == (11, 9)
    assert imageio.declared_size(with_stray_bytes_after_app0(jpeg, empty * 16)) is None
    assert imageio.declared_size(with_stray_bytes_after_app0(jpeg, b"\xff\xdb\x00\x01")) is None


@pytest.mark.parametrize("marker", [0xE0, 0xE1, 0xEE, 0xEF, 0xFE, 0xDC])
@pytest.mark.parametrize("length", [0, 1])
def test_a_length_under_2_skips_nothing_in_the_segments_libjpeg_skips(marker, length,
                                                                    monkeypatch):
    """libjpeg skips an APPn, COM or DNL segment by its length less its own 2 bytes: a
    length of 0 or 1 skips nothing, and it reads on after it. The fuzzer's 179-byte JPEG
    had an APP0 of length 0 before a frame of 14368 x 22096, which the walk took for a
    length libjpeg refuses: OpenCV took 3.5 s to decode it before the limit refused it.
    (Here the frame is made 17490 x 18760.)"""
    jpeg = image_file((9, 11, 3), ".jpg")
    empty = bytes([0xFF, marker]) + length.to_bytes(2, "big")
    data = with_stray_bytes_after_app0(jpeg, empty)
    assert imageio.declared_size(data) == (11, 9)
    assert imageio.decode_image(data).shape == (9, 11, 3)
    assert_a_huge_frame_is_refused_before_decoding(data, monkeypatch)


@pytest.mark.parametrize("marker", [0xDB, 0xC4, 0xDD])
def test_a_length_under_2_where_libjpeg_refuses_it_leaves_the_size_unknown(marker):
    data = with_stray_bytes_after_app0(image_file((9, 11, 3), ".jpg"),
                                       bytes([0xFF, marker, 0, 1]))
    assert imageio.declared_size(data) is None
    with pytest.raises(ImageError):
        imageio.decode_image(data)


def test_a_jpegs_frame_after_64_kb_of_metadata_is_checked_before_decoding(monkeypatch):
    """Camera JPEGs can carry more than the 64 KB the first check reads (EXIF with a
    thumbnail, ICC profiles) before their frame: its size is still read, from the whole
    file, before OpenCV decodes it."""
    comment = b"\xff\xfe" + (40_002).to_bytes(2, "big") + bytes(40_000)  # COM segments
    jpeg = with_stray_bytes_after_app0(image_file((9, 11, 3), ".jpg"), comment * 2)
    assert imageio.declared_size(jpeg[:imageio.FILE_START_SIZE]) is None
    assert imageio.declared_size(jpeg) == (11, 9)
    assert imageio.decode_image(jpeg).shape == (9, 11, 3)
    assert_a_huge_frame_is_refused_before_decoding(jpeg, monkeypatch)


def test_a_tiffs_repeated_width_tag_is_read_as_libtiff_reads_it():
    """A directory whose later entry is also ImageWidth (here the Compression entry's tag
    changed to 256, as a fuzzer found): libtiff keeps the first, and so must the size
    gcp checks before decoding."""
    data = bytearray(image_file((9, 11, 3), ".tif"))
    directory = struct.unpack_from("<I", data, 4)[0]
    entries = struct.unpack_from("<H", data, directory)[0]
    tags = [struct.unpack_from("<H", data, directory + 2 + 12 * i)[0] for i in range(entries)]
    compression = directory + 2 + 12 * tags.index(259)
    struct.pack_into("<H", data, compression, 256)
    image = imageio.decode_image(bytes(data))
    assert image.shape[1::-1] == imageio.declared_size(bytes(data)) == (11, 9)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_tiffs_orientation_turns_its_declared_size_as_opencv_turns_the_image(orientation):
    """OpenCV's TIFF reader applies Orientation 5 to 8 (a quarter turn), even unchanged
    (a JPEG's EXIF orientation it ignores then; gcp applies that one itself): the size
    declared is the size decoded."""
    data = bytearray(image_file((9, 13, 1), ".tif"))
    directory = struct.unpack_from("<I", data, 4)[0]
    entries = struct.unpack_from("<H", data, directory)[0]
    tags = [struct.unpack_from("<H", data, directory + 2 + 12 * i)[0] for i in range(entries)]
    planar = directory + 2 + 12 * tags.index(284)  # PlanarConfiguration, 1 as the default
    struct.pack_into("<HHIHH", data, planar, 274, 3, 1, orientation, 0)
    image = imageio.decode_image(bytes(data))
    assert image.shape[1::-1] == imageio.declared_size(bytes(data))
    assert image.shape[:2] == ((13, 9) if orientation >= 5 else (9, 13))


def as_opencv_orients(data: bytes, channels: int) -> np.ndarray:
    """The image as OpenCV's imdecode gives it where it applies EXIF orientation (colour
    or grey, not unchanged), in gcp's channel order."""
    import cv2

    flag = cv2.IMREAD_COLOR if channels == 3 else cv2.IMREAD_GRAYSCALE
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if channels == 3 else image[:, :, None]


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("channels", [1, 3])
def test_a_jpeg_is_turned_as_its_exif_orientation_says_as_opencv_turns_it(orientation, order,
                                                                         channels):
    """gcp reads images unchanged (alpha, 16 bits), where OpenCV ignores EXIF; it turns a
    JPEG itself, to the pixels OpenCV gives where it applies the tag, and declares that
    size before decoding."""
    data = with_segments_after_app0(image_file((9, 13, channels), ".jpg"),
                                    exif_segment([(274, 3, 1, orientation)], order))
    image = imageio.decode_image(data)
    assert imageio.jpeg_orientation(data) == orientation
    assert image.shape[:2] == ((13, 9) if orientation >= 5 else (9, 13))
    assert image.shape[1::-1] == imageio.declared_size(data)
    assert image.flags.c_contiguous
    assert np.array_equal(image, as_opencv_orients(data, channels))


@pytest.mark.parametrize("entries", [
    [(274, 3, 1, 0)], [(274, 3, 1, 9)],  # not an orientation
    [(274, 4, 1, 6)], [(274, 3, 2, 6)],  # not one SHORT
    [(275, 3, 1, 6)],                    # another tag
    [],
])
def test_a_jpeg_whose_exif_gives_no_orientation_is_taken_as_stored(entries):
    stored = image_file((9, 13, 3), ".jpg")
    data = with_segments_after_app0(stored, exif_segment(entries))
    assert imageio.jpeg_orientation(data) == 1
    assert np.array_equal(imageio.decode_image(data), imageio.decode_image(stored))
    assert imageio.declared_size(data) == (13, 9)


@pytest.mark.parametrize("cut", [6, 8, 10, 14, 20, 25])
def test_a_cut_exif_structure_is_no_orientation_and_no_error(cut):
    """A segment whose TIFF structure ends early (its length says so): nothing is read
    past it, and the image is as stored."""
    whole = exif_segment([(274, 3, 1, 6)])
    payload = whole[4:4 + cut]
    segment = b"\xff\xe1" + struct.pack(">H", 2 + len(payload)) + payload
    data = with_segments_after_app0(image_file((9, 13, 3), ".jpg"), segment)
    assert imageio.jpeg_orientation(data) == 1
    assert imageio.decode_image(data).shape == (9, 13, 3)


def test_the_first_exif_segment_is_read_past_other_app1_segments():
    """XMP is an APP1 segment too; a second EXIF segment is not read."""
    xmp = b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta/>"
    segments = (b"\xff\xe1" + struct.pack(">H", 2 + len(xmp)) + xmp
                + exif_segment([(274, 3, 1, 8)]) + exif_segment([(274, 3, 1, 3)]))
    data = with_segments_after_app0(image_file((9, 13, 3), ".jpg"), segments)
    assert imageio.jpeg_orientation(data) == 8
    assert np.array_equal(imageio.decode_image(data), as_opencv_orients(data, 3))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientations_turn_a_grey_and_a_colour_array_alike(orientation):
    image = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(imageio.oriented(image, orientation)[:, :, 0],
                          imageio.oriented(image[:, :, 0], orientation))


@pytest.mark.parametrize(("kind", "code"), [(1, "B"), (6, "b"), (8, "h"), (9, "i")])
def test_a_tiff_width_of_another_integer_type_is_read_before_a_repeat(kind, code):
    """libtiff reads ImageWidth in any integer type, here a byte or a signed one, and
    ignores a later ImageWidth (the fuzzer's file: SBYTE 13, then SHORT 9)."""
    data = bytearray(image_file((9, 13, 1), ".tif"))
    directory = struct.unpack_from("<I", data, 4)[0]
    entries = struct.unpack_from("<H", data, directory)[0]
    at = {struct.unpack_from("<H", data, directory + 2 + 12 * i)[0]: directory + 2 + 12 * i
          for i in range(entries)}
    struct.pack_into("<HHI", data, at[256], 256, kind, 1)
    struct.pack_into("<I", data, at[256] + 8, 0)
    struct.pack_into("<" + code, data, at[256] + 8, 13)
    struct.pack_into("<HHIHH", data, at[259], 256, 3, 1, 9, 0)  # Compression made a width
    image = imageio.decode_image(bytes(data))
    assert image.shape[1::-1] == imageio.declared_size(bytes(data)) == (13, 9)


@pytest.mark.parametrize("chunk", [b"IDAT", b"IEND", b"tEXt"])
def test_png_chunk_longer_than_the_file_is_refused_before_opencv(chunk, monkeypatch):
    """Found by tests/fuzz/fuzz_image.py: a 218-byte PNG whose IDAT claimed 0xFEFFFFA0
    bytes made OpenCV take 4 GB and 7 s before failing."""
    data = bytearray(png_with_size(2, 2))
    if chunk == b"tEXt":
        text = b"Comment\0hello"
        crc = zlib.crc32(chunk + text).to_bytes(4, "big")
        data[33:33] = struct.pack(">I", len(text)) + chunk + text + crc
    position = data.index(chunk) - 4
    data[position:position + 4] = (0xFEFFFFA0).to_bytes(4, "big")

    def no_decoding():
        raise AssertionError("OpenCV was given a PNG with a chunk past the file's end")

    monkeypatch.setattr(imageio, "_cv2", no_decoding)
    with pytest.raises(ImageError, match=f"'{chunk.decode()}' chunk at byte {position}"):
        imageio.decode_image(bytes(data))


@pytest.mark.parametrize(("first_end", "idat_first"), [(b"a" * 92, False), (b"", False),
                                                       (b"a" * 92, True)])
def test_a_png_is_checked_past_an_iend_that_does_not_end_it(first_end, idat_first,
                                                             monkeypatch):
    """Found by tests/fuzz/fuzz_image.py: with no IDAT before it, or with data in it, an
    IEND is not where OpenCV stops; a 322-byte file read on to a second IEND claiming
    0x77F9BC73 bytes, and OpenCV took 2-3 s and about 1 GB to fail."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + \
            zlib.crc32(kind + body).to_bytes(4, "big")

    data = png_with_size(5, 17)
    header = data[:33]  # the signature and IHDR
    idat = chunk(b"IDAT", zlib.compress(bytes(17 * 16)))
    start = header + (idat if idat_first else b"") + chunk(b"IEND", first_end)
    claim = struct.pack(">I", 0x77F9BC73) + b"IEND" + bytes(40)

    def no_decoding():
        raise AssertionError("OpenCV was given a PNG with a chunk past the file's end")

    monkeypatch.setattr(imageio, "_cv2", no_decoding)
    with pytest.raises(ImageError, match=f"'IEND' chunk at byte {len(start)}"):
        imageio.decode_image(start + claim)


def test_png_with_data_after_iend_is_still_read():
    data = png_with_size(2, 2) + b"\xff\xff\xff\xff trailing garbage"
    assert imageio.decode_image(data).shape == (2, 2, 3)


# Judged by the first bytes ------------------------------------------------------------

# Every format this OpenCV writes (float formats from float samples, grey ones from grey):
# its first bytes must pass check_file_start, which asks OpenCV itself about the ones
# declared_size does not read.
WRITTEN_FORMATS = [".bmp", ".png", ".jpg", ".jp2", ".tif", ".webp", ".ppm", ".pgm", ".pbm",
                   ".pam", ".sr", ".gif", ".avif", ".pfm", ".hdr"]


@pytest.mark.parametrize("extension", WRITTEN_FORMATS)
def test_first_bytes_of_every_written_format_are_an_image(extension):
    import cv2

    if not cv2.haveImageWriter("x" + extension):
        pytest.skip(f"this OpenCV build writes no {extension}")
    image = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    if extension in (".pfm", ".hdr"):
        image = image.astype(np.float32) / 255
    if extension in (".pgm", ".pbm"):
        image = image[:, :, 0]
    ok, encoded = cv2.imencode(extension, image)
    assert ok
    imageio.check_file_start(encoded.tobytes()[:64], name="start")


@pytest.mark.parametrize("start", [bytes(64), b"#!/bin/sh\necho hello\n", b"GCP?\0\0"],
                         ids=["zeros", "text", "unknown"])
def test_first_bytes_of_no_format_are_refused(start):
    with pytest.raises(ImageError, match="start is not an image OpenCV can read"):
        imageio.check_file_start(start, name="start")


def test_a_file_longer_than_any_image_within_the_limit_is_refused():
    image = imageio.encode_image(np.zeros((2, 2, 3), np.uint8), ".png")
    limit = imageio.max_file_size(4)
    assert imageio.decode_image(image + bytes(limit - len(image)), max_pixels=4).shape[:2] \
        == (2, 2)
    with pytest.raises(LimitError, match=f"over {limit} bytes"):
        imageio.decode_image(image + bytes(limit + 1 - len(image)), max_pixels=4)


# Written as the format can hold it -----------------------------------------------------

LOSSLESS_WRITTEN = [".png", ".bmp", ".tif", ".ppm", ".pgm", ".pnm", ".pam", ".sr", ".ras"]
LOSSY_WRITTEN = [".jpg", ".webp", ".avif", ".jp2", ".gif"]


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("extension", LOSSLESS_WRITTEN + LOSSY_WRITTEN)
def test_every_format_is_written_readably_or_refused(extension, channels, caplog):
    """No format gets a file OpenCV cannot read back: alpha is left out with a warning
    where the format has none, grey is widened where only colour is written, and colour
    to a grey-only format is refused."""
    import cv2

    if not cv2.haveImageWriter("x" + extension):
        pytest.skip(f"this OpenCV build writes no {extension}")
    image = np.random.default_rng(channels).integers(0, 256, (64, 64, channels), np.uint8)
    if channels in (2, 4):
        image[..., -1] = np.where(image[..., -1] > 127, 255, 0)  # one-bit alpha, for GIF
    colours = image[..., :-1] if channels in (2, 4) else image
    colour_channels = colours.shape[2] if colours.shape[2] == 3 else 1
    if colour_channels == 3 and extension in imageio.GREY_ONLY:
        with pytest.raises(ImageError, match="grey only"):
            imageio.encode_image(image, extension)
        return
    back = imageio.decode_image(imageio.encode_image(image, extension))
    alpha_dropped = channels in (2, 4) and extension in imageio.WITHOUT_ALPHA
    assert ("no alpha channel" in caplog.text) == alpha_dropped
    if not alpha_dropped and channels in (2, 4):
        assert back.shape[2] in (2, 4)
    if extension in LOSSLESS_WRITTEN:
        kept = back[..., :back.shape[2] - (0 if alpha_dropped or channels in (1, 3) else 1)]
        assert np.array_equal(kept, np.broadcast_to(colours, kept.shape))


def test_formats_answered_without_opencv_are_ones_it_writes():
    import cv2

    for extension in imageio.ALWAYS_WRITTEN:
        assert imageio.can_write(extension) and cv2.haveImageWriter("x" + extension)
    assert not imageio.ALWAYS_WRITTEN & imageio.NOT_WRITTEN


def test_black_and_white_and_float_formats_are_not_offered():
    for extension in (".pbm", ".pfm", ".hdr"):
        assert not imageio.can_write(extension)
    assert imageio.can_write(".ppm")


def test_signature_check_without_a_temporary_folder_leaves_it_to_opencv(monkeypatch):
    import tempfile

    def no_folder(*args, **kwargs):
        raise PermissionError(13, "read-only file system")

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", no_folder)
    image = np.full((8, 8, 3), 90, np.uint8)
    ppm = imageio.encode_image(image, ".ppm")
    assert np.array_equal(imageio.decode_image(ppm), image)
    with pytest.raises(ImageError, match="not an image OpenCV can read"):
        imageio.decode_image(b"plain text, no picture")


@pytest.mark.parametrize("extension, channels", [(".ppm", 3), (".pnm", 3), (".pgm", 1),
                                                 (".pnm", 1), (".ppm", 1), (".ppm", 4),
                                                 (".pgm", 2)])
@pytest.mark.parametrize("height, width", [(1, 1), (3, 7), (17, 2)])
def test_netpbm_is_written_as_opencv_writes_it(extension, channels, height, width):
    """gcp writes binary PPM and PGM itself (no copy through OpenCV's encoder): the bytes
    must be OpenCV's, for grey widened to RGB and alpha left out too."""
    import cv2

    rng = np.random.default_rng(height * width + channels)
    image = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
    written = imageio.encode_image(image, extension)
    stored = image[:, :, :3] if channels == 4 else image[:, :, :1] if channels == 2 else image
    if extension == ".ppm" and channels == 1:
        stored = np.repeat(stored, 3, axis=2)
    bgr = stored[:, :, ::-1] if stored.shape[2] == 3 else stored[:, :, 0]
    ok, expected = cv2.imencode(extension, np.ascontiguousarray(bgr))
    assert ok and written == expected.tobytes()
    assert np.array_equal(imageio.decode_image(written).reshape(stored.shape), stored)


def _decoded_through_bgr(data: bytes) -> np.ndarray:
    """What OpenCV gives asked for the file as it is, turned to RGB(A) as gcp does."""
    import cv2

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image.ndim == 2:
        return image[:, :, None]
    if data[:2] == b"\xff\xd8" and (orientation := imageio.jpeg_orientation(data)) != 1:
        image = imageio.oriented(image, orientation)
    code = cv2.COLOR_BGR2RGB if image.shape[2] == 3 else cv2.COLOR_BGRA2RGBA
    return cv2.cvtColor(np.ascontiguousarray(image), code)


@pytest.mark.parametrize(("kind", "options", "straight"), [
    ("PNG", {}, True), ("PNG", {"pnginfo": "gamma"}, True), ("PNG", {"optimize": True}, True),
    ("PNG", {"transparency": (0, 0, 0)}, False), ("JPEG", {"quality": 90}, True),
    ("JPEG", {"progressive": True, "subsampling": 0}, True), ("JPEG", {"exif": 6}, True),
    ("JPEG", {"mode": "CMYK"}, False), ("JPEG", {"mode": "L"}, False),
])
def test_plain_colour_files_decode_straight_to_rgb_with_the_same_pixels(kind, options,
                                                                        straight):
    """8-bit RGB PNGs without tRNS and three-component JPEGs are decoded straight to RGB
    (no channel swap after): the pixels are those of OpenCV's own BGR turned round,
    orientation included; other kinds take the old path."""
    import io

    from PIL import PngImagePlugin

    options = dict(options)
    pixels = np.random.default_rng(4).integers(0, 256, (30, 41, 3), dtype=np.uint8)
    pixels[:, 20:] = pixels[:1, 20:]
    image = PIL.fromarray(pixels).convert(options.pop("mode", "RGB"))
    if options.pop("pnginfo", None):
        info = PngImagePlugin.PngInfo()
        info.add(b"gAMA", struct.pack(">I", 45455))
        options["pnginfo"] = info
    if (turn := options.pop("exif", None)) is not None:
        exif = PIL.Exif()
        exif[0x0112] = turn
        options["exif"] = exif.tobytes()
    buffer = io.BytesIO()
    image.save(buffer, format=kind, **options)
    data = buffer.getvalue()
    assert imageio._is_plain_colour(data) is straight
    decoded = imageio.decode_image(data)
    assert np.array_equal(decoded, _decoded_through_bgr(data))
    if turn == 6:
        assert decoded.shape == (41, 30, 3)
