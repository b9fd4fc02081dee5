"""The Pillow plugin (gcp/pillow.py), through Pillow's own API: Image.open, load, save."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import gcp
from gcp import container
from tests.conftest import ROOT, VECTORS

Image = pytest.importorskip("PIL.Image", reason="Pillow is the optional 'pillow' extra")
from gcp import pillow as gcp_pillow  # noqa: E402  (needs Pillow, checked just above)

MANIFEST = json.loads((VECTORS / "manifest.json").read_text())
RNG = np.random.default_rng(7)


@pytest.fixture(scope="module", autouse=True)
def registered() -> None:
    gcp_pillow.register()


@pytest.fixture(scope="module")
def gcp_files(real_images) -> dict[str, bytes]:
    """A .gcp file of each channel count: grey, grey+alpha, RGB, RGBA (k=16).

    The alpha planes are the camera photo's grey levels: alpha that varies (the logo's own
    alpha is 255 everywhere).
    """
    alpha = real_images["camera"]
    grey_alpha = np.dstack([real_images["astronaut"][:, :, :1], alpha])
    rgba = np.dstack([real_images["astronaut"], alpha])
    images = {"grey": real_images["camera"], "grey+alpha": grey_alpha,
              "rgb": real_images["astronaut"], "rgba": rgba}
    return {name: gcp.encode(image, 16, backend="numpy") for name, image in images.items()}


def open_bytes(data: bytes):
    return Image.open(io.BytesIO(data))


def as_rgba_array(image) -> np.ndarray:
    return np.asarray(image.convert("RGBA"))


def decoded_as_rgba(data: bytes) -> np.ndarray:
    """gcp.decode's pixels as RGBA, the way Pillow converts L, LA, RGB and RGBA."""
    pixels = gcp.decode(data)
    channels = pixels.shape[2]
    colour = pixels[:, :, :1].repeat(3, axis=2) if channels <= 2 else pixels[:, :, :3]
    if channels in (2, 4):
        alpha = pixels[:, :, -1:]
    else:
        alpha = np.full((*pixels.shape[:2], 1), 255, np.uint8)
    return np.dstack([colour, alpha])


# Registration ------------------------------------------------------------------------


def test_register_adds_the_extension_mime_type_opener_and_saver():
    assert Image.registered_extensions()[".gcp"] == "GCP"
    assert Image.MIME["GCP"] == "image/x-gcp"
    assert "GCP" in Image.OPEN and "GCP" in Image.SAVE


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_import_gcp_does_not_import_pillow():
    result = run_python("""
        import sys
        import gcp
        gcp.encode(__import__("numpy").zeros((2, 2, 3), "uint8"), backend="numpy")
        assert "PIL" not in sys.modules, "import gcp imported PIL"
    """)
    assert result.returncode == 0, result.stderr


def test_importing_the_plugin_registers_nothing_until_register_is_called():
    result = run_python("""
        import gcp.pillow
        from PIL import Image
        Image.init()
        assert ".gcp" not in Image.registered_extensions()
        assert "GCP" not in Image.OPEN
        gcp.pillow.register()
        assert Image.registered_extensions()[".gcp"] == "GCP"
    """)
    assert result.returncode == 0, result.stderr


def test_register_twice_registers_the_format_once():
    gcp_pillow.register()
    assert Image.ID.count("GCP") == 1


# Reading -----------------------------------------------------------------------------


@pytest.mark.parametrize("name, mode", [("grey", "L"), ("grey+alpha", "LA"), ("rgb", "P"),
                                        ("rgba", "P")])
def test_open_gives_the_mode_of_the_files_channel_count(gcp_files, name, mode):
    data = gcp_files[name]
    info = gcp.read_info(data)
    with open_bytes(data) as image:
        assert image.format == "GCP"
        assert image.mode == mode
        assert image.size == (info.width, info.height)


@pytest.mark.parametrize("name", ["grey", "grey+alpha", "rgb", "rgba"])
def test_open_gives_the_same_pixels_as_gcp_decode(gcp_files, name):
    data = gcp_files[name]
    with open_bytes(data) as image:
        assert np.array_equal(as_rgba_array(image), decoded_as_rgba(data))


@pytest.mark.parametrize("name", ["grey", "grey+alpha"])
def test_grey_files_open_as_their_samples(gcp_files, name):
    data = gcp_files[name]
    with open_bytes(data) as image:
        assert np.array_equal(np.asarray(image).reshape(gcp.decode(data).shape),
                              gcp.decode(data))


def test_rgb_file_opens_as_its_palette_and_indices(gcp_files):
    data = gcp_files["rgb"]
    info = gcp.read_info(data)
    with open_bytes(data) as image:
        assert image.getpalette() == info.palette.ravel().tolist()
        indices = np.asarray(image)
    assert indices.max() < info.palette_size
    assert np.array_equal(info.palette[indices], gcp.decode(data))
    assert "transparency" not in image.info


def test_rgba_file_opens_as_palette_with_an_alpha_table(gcp_files):
    data = gcp_files["rgba"]
    info = gcp.read_info(data)
    assert info.channels == 4 and len(np.unique(info.palette[:, 3])) > 1  # real alpha
    with open_bytes(data) as image:
        assert image.getpalette() == info.palette[:, :3].ravel().tolist()
        assert image.info["transparency"] == info.palette[:, 3].tobytes()
        assert np.array_equal(np.asarray(image.convert("RGBA")), gcp.decode(data))


def test_open_reports_whether_the_file_is_exact(gcp_files):
    few_colours = np.zeros((4, 4, 3), np.uint8)
    with open_bytes(gcp.encode(few_colours)) as image:
        assert image.info["gcp_exact"] is True
    with open_bytes(gcp_files["rgb"]) as image:
        assert image.info["gcp_exact"] is False


class ReadRecorder(io.BytesIO):
    """A file that remembers the furthest byte anyone read."""

    furthest = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.furthest = max(self.furthest, self.tell())
        return chunk


def test_open_reads_only_the_header_and_palette_until_pixels_are_needed(gcp_files):
    data = gcp_files["rgb"]
    header = container.parse_header(data)
    palette_end = header.header_length + header.palette_length
    recorder = ReadRecorder(data)
    image = Image.open(recorder)
    assert image.size == (512, 512) and image.mode == "P" and image.palette.mode == "RGB"
    assert recorder.furthest == palette_end  # getpalette() would load: it is not called
    image.load()
    assert recorder.furthest == len(data)


def test_a_corrupt_body_is_found_on_load_not_on_open(gcp_files):
    data = bytearray(gcp_files["rgb"])
    data[-1] ^= 0xFF  # the CRC
    image = open_bytes(bytes(data))
    assert image.size == (512, 512)
    with pytest.raises(OSError, match="crc") as raised:
        image.load()
    assert isinstance(raised.value.__cause__, gcp.FormatError)


def test_open_from_a_path_by_extension(tmp_path, gcp_files):
    path = tmp_path / "picture.gcp"
    path.write_bytes(gcp_files["rgba"])
    with Image.open(path) as image:
        assert image.format == "GCP"
        assert np.array_equal(as_rgba_array(image), gcp.decode(gcp_files["rgba"]))


@pytest.mark.parametrize("entry", MANIFEST["valid"], ids=lambda e: e["file"])
def test_valid_vectors_open_to_their_pixels(entry):
    data = (VECTORS / entry["file"]).read_bytes()
    with open_bytes(data) as image:
        assert image.size == (entry["width"], entry["height"])
        assert np.array_equal(as_rgba_array(image), decoded_as_rgba(data))


def header_breaks_the_spec(data: bytes) -> bool:
    """The header or the palette, which Pillow reads on opening, breaks a rule."""
    try:
        header = container.parse_header(data, max_pixels=1 << 40)
        stored = data[header.header_length:header.header_length + header.palette_length]
        if len(stored) == header.palette_length:
            container.read_palette(header, stored)
    except gcp.FormatError:
        return True
    return False


@pytest.mark.parametrize("entry", MANIFEST["invalid"], ids=lambda e: e["file"])
def test_invalid_vectors_fail_as_pillow_expects(entry):
    """A broken header or coded palette: not identified (SyntaxError inside). A broken
    body: OSError on load."""
    data = (VECTORS / entry["file"]).read_bytes()
    if header_breaks_the_spec(data):
        with pytest.raises(Image.UnidentifiedImageError):
            open_bytes(data)
        return
    image = open_bytes(data)
    with pytest.raises(OSError, match="broken gcp file") as raised:
        image.load()
    assert raised.value.__cause__.field == entry["field"]


def test_an_image_over_pillows_pixel_limit_is_refused_by_pillow():
    """Pillow's limit (MAX_IMAGE_PIXELS), not gcp's, and before the body is read."""
    width, height = 16_000, 12_000  # over twice Image.MAX_IMAGE_PIXELS, under gcp's 2**28
    assert 2 * Image.MAX_IMAGE_PIXELS < width * height <= gcp.DEFAULT_MAX_PIXELS
    least_tokens, _ = container.token_stream_bounds(width * height, 1)
    header = container.Header(version=1, channels=3, method=container.METHOD_LZMA, flags=0,
                              width=width, height=height, palette_size=1,
                              tokens_length=least_tokens, body_length=100)
    header_and_palette = container.pack(header, np.zeros((1, 3), np.uint8), b"")[:-4]
    with pytest.raises(Image.DecompressionBombError):
        open_bytes(header_and_palette)


def test_non_gcp_data_raises_syntax_error_from_the_plugin(real_images):
    png = (ROOT / "samples" / "camera.png").read_bytes()
    with pytest.raises(SyntaxError):
        gcp_pillow.GcpImageFile(io.BytesIO(png))
    with pytest.raises(Image.UnidentifiedImageError):
        Image.open(io.BytesIO(png), formats=["GCP"])


def test_other_formats_still_open_after_register(real_images):
    with Image.open(ROOT / "samples" / "camera.png") as image:
        assert image.format == "PNG"
        assert np.array_equal(np.asarray(image), real_images["camera"][:, :, 0])


# Writing -----------------------------------------------------------------------------


def test_save_passes_the_encoders_options(tmp_path, real_images):
    pixels = real_images["coffee"]
    path = tmp_path / "coffee.gcp"
    Image.fromarray(pixels).save(path, colors=8, seed=3, effort=2, method="rle",
                                 algorithm="kmedoids", backend="numpy")
    expected = gcp.encode(pixels, 8, seed=3, effort=2, method="rle", algorithm="kmedoids",
                          backend="numpy")
    assert path.read_bytes() == expected


def test_save_passes_a_given_palette_on(tmp_path, real_images):
    pixels = real_images["coffee"]
    palette = np.array([[250, 250, 250], [0, 0, 0], [180, 40, 40]], np.uint8)
    path = tmp_path / "coffee.gcp"
    Image.fromarray(pixels).save(path, palette=palette, backend="numpy")
    assert path.read_bytes() == gcp.encode(pixels, palette=palette, backend="numpy")
    assert np.array_equal(gcp.read_info(path.read_bytes()).palette, palette)


def test_save_with_no_options_uses_the_encoders_defaults(tmp_path, real_images):
    pixels = real_images["coffee"]
    path = tmp_path / "coffee.gcp"
    Image.fromarray(pixels).save(path)
    assert path.read_bytes() == gcp.encode(pixels)


@pytest.mark.parametrize("name", ["grey", "grey+alpha", "rgb", "rgba"])
def test_open_then_save_round_trips_every_channel_count(tmp_path, gcp_files, name):
    data = gcp_files[name]
    path = tmp_path / "again.gcp"
    with open_bytes(data) as image:
        image.save(path, colors=16, backend="numpy")
    saved = path.read_bytes()
    assert gcp.read_info(saved).channels == gcp.read_info(data).channels
    assert gcp.read_info(saved).exact
    assert np.array_equal(gcp.decode(saved), gcp.decode(data))


@pytest.mark.parametrize("mode, channels", [("1", 1), ("L", 1), ("LA", 2), ("RGB", 3),
                                            ("RGBA", 4), ("PA", 4), ("CMYK", 3)])
def test_save_converts_each_mode_to_the_closest_channel_count(tmp_path, mode, channels):
    image = Image.fromarray(RNG.integers(0, 256, (6, 5, 3), dtype=np.uint8)).convert(mode)
    path = tmp_path / "small.gcp"
    image.save(path, colors=256)
    assert gcp.read_info(path.read_bytes()).channels == channels
    assert np.array_equal(decoded_as_rgba(path.read_bytes()), as_rgba_array(image))


def test_palette_image_is_stored_exactly_when_its_colours_fit(tmp_path):
    palette = RNG.integers(0, 256, (12, 3), dtype=np.uint8)
    image = Image.fromarray(RNG.integers(0, 12, (20, 30), dtype=np.uint8), mode="P")
    image.putpalette(palette.ravel().tolist())
    path = tmp_path / "palette.gcp"
    image.save(path, colors=12)
    saved = path.read_bytes()
    assert gcp.read_info(saved).exact and gcp.read_info(saved).channels == 3
    assert np.array_equal(gcp.decode(saved), np.asarray(image.convert("RGB")))


def test_palette_image_with_transparency_is_saved_as_rgba(tmp_path):
    image = Image.fromarray(RNG.integers(0, 4, (8, 8), dtype=np.uint8), mode="P")
    image.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9])
    image.info["transparency"] = bytes([255, 128, 0, 255])
    path = tmp_path / "alpha.gcp"
    image.save(path)
    saved = path.read_bytes()
    assert gcp.read_info(saved).channels == 4
    assert np.array_equal(gcp.decode(saved), np.asarray(image.convert("RGBA")))


def test_save_to_a_stream_by_format_name(real_images):
    stream = io.BytesIO()
    Image.fromarray(real_images["camera"][:, :, 0]).save(stream, format="GCP", colors=4)
    assert stream.getvalue() == gcp.encode(real_images["camera"], 4)


@pytest.mark.parametrize("mode", ["I", "F", "I;16"])
def test_save_refuses_modes_it_cannot_hold_without_loss(tmp_path, mode):
    image = Image.new(mode, (3, 3))
    with pytest.raises(OSError, match=f"cannot write mode {mode}"):
        image.save(tmp_path / "deep.gcp")
    assert not (tmp_path / "deep.gcp").exists()


def test_save_rejects_an_out_of_range_option_as_gcp_does(tmp_path):
    with pytest.raises(gcp.ParameterError) as raised:
        Image.new("RGB", (2, 2)).save(tmp_path / "x.gcp", colors=0)
    assert raised.value.field == "k"


# codec.decode_indices, which the plugin reads P images with --------------------------


@pytest.mark.parametrize("method", ["rle", "lzma", "cm"])
def test_decode_indices_gives_the_stored_palette_and_indices(real_images, method):
    data = gcp.encode(real_images["coffee"], 16, method=method, backend="numpy")
    header, palette, indices = gcp.codec.decode_indices(data)
    assert (header.width, header.height) == (600, 400)
    assert indices.shape == (400, 600) and indices.dtype == np.uint8
    assert np.array_equal(palette, gcp.read_info(data).palette)
    assert np.array_equal(palette[indices], gcp.decode(data))
