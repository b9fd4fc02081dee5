"""spec/decoder.py, a decoder written from spec/format.md alone, against the vectors and
against gcp: the spec is enough to read every file gcp writes, and gcp keeps to the spec."""

from __future__ import annotations

import hashlib
import importlib.util
import json

import numpy as np
import pytest

import gcp
from gcp import cm, cm_engine, codec, container, imageio
from tests.conftest import ROOT, SAMPLES, VECTORS

MANIFEST = json.loads((VECTORS / "manifest.json").read_text())
_spec = importlib.util.spec_from_file_location("spec_decoder", ROOT / "spec" / "decoder.py")
spec_decoder = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(spec_decoder)
RNG = np.random.default_rng(31)


def test_the_spec_decoder_stands_alone():
    """Only the standard library: what a reader of the spec would have."""
    source = (ROOT / "spec" / "decoder.py").read_text()
    imports = {line.split()[1] for line in source.splitlines()
               if line.startswith(("import ", "from "))}
    assert imports == {"__future__", "hashlib", "lzma", "struct", "sys", "zlib"}


@pytest.mark.parametrize("entry", MANIFEST["valid"], ids=lambda e: e["file"])
def test_valid_vector_gives_the_manifest_pixels(entry):
    width, height, channels, pixels = spec_decoder.decode((VECTORS / entry["file"]).read_bytes())
    assert (width, height, channels) == (entry["width"], entry["height"], entry["channels"])
    assert hashlib.sha256(pixels).hexdigest() == entry["pixels_sha256"]


@pytest.mark.parametrize("entry", MANIFEST["invalid"], ids=lambda e: e["file"])
def test_invalid_vector_is_refused_naming_the_manifest_field(entry):
    with pytest.raises(spec_decoder.InvalidFile) as raised:
        spec_decoder.decode((VECTORS / entry["file"]).read_bytes())
    assert raised.value.field == entry["field"], str(raised.value)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize(("k", "method"), [(2, "rle"), (16, "lzma"), (17, "rle"),
                                           (200, "lzma"), (2, "cm"), (16, "cm"),
                                           (200, "cm")])
def test_files_gcp_writes_decode_alike(channels, k, method):
    image = RNG.integers(0, 256, (37, 53, channels), dtype=np.uint8)
    image[:, 20:] = image[:1, 20:]  # long vertical runs beside the noise
    data = gcp.encode(image, k, method=method, backend="numpy")
    width, height, decoded_channels, pixels = spec_decoder.decode(data)
    assert (height, width, decoded_channels) == image.shape
    assert pixels == gcp.decode(data).tobytes()


def test_a_cm_file_of_several_stripes_decodes_alike(monkeypatch):
    """Real texture, 17 colours, stripes of 2^12 pixels: the last one shorter."""
    monkeypatch.setattr(cm, "TARGET_STRIPE_PIXELS", 1 << 12)
    image = imageio.decode_image((SAMPLES / "astronaut.png").read_bytes())[200:290, 150:250]
    data = gcp.encode(np.ascontiguousarray(image), 17, method="cm", backend="numpy")
    header, _, body = container.unpack(data)
    stripe_height, _, stripes = cm.split_stripes(body, header.width, header.height,
                                                  header.channels, header.palette_size,
                                                  header.compact)
    assert (stripe_height, len(stripes)) == (40, 3)
    assert spec_decoder.decode(data)[3] == gcp.decode(data).tobytes()


def test_a_grey_photo_at_256_colours_decodes_alike(monkeypatch):
    """camera at k = 256 codes most pixels by rank, so the bias-corrected anchor is in use
    (without the correction the bytes differ), and the spec's decoder reads it."""
    image = imageio.decode_image((SAMPLES / "camera.png").read_bytes())[100:140, 120:168]
    data = gcp.encode(np.ascontiguousarray(image), 256, method="cm", backend="numpy")
    assert spec_decoder.decode(data)[3] == gcp.decode(data).tobytes()
    _, palette, indices = codec.decode_indices(data)
    body = bytes(container.unpack(data)[2])
    monkeypatch.setattr(cm, "BIAS_SHARE", 0)  # corrected at a stripe's first pixel only
    assert cm_engine.encode(indices, palette, engine="reference") != body


def test_a_token_stream_of_two_chunks_decodes_alike():
    """Over 2^19 bytes of long tokens: two LZMA chunks."""
    image = RNG.integers(0, 256, (300, 1000, 3), dtype=np.uint8)
    data = gcp.encode(image, 256, effort=1, backend="numpy")
    assert gcp.read_info(data).tokens_length > spec_decoder.LZMA_CHUNK_LENGTH
    assert spec_decoder.decode(data)[3] == gcp.decode(data).tobytes()


def test_the_pixel_limit_is_checked_before_anything_else_is_read():
    data = (VECTORS / "rle-example.gcp").read_bytes()
    with pytest.raises(spec_decoder.InvalidFile, match="pixel_count"):
        spec_decoder.decode(data, max_pixels=7)
