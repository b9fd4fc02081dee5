"""Every vector of spec/vectors: valid ones decode to their pixels, invalid ones are
rejected with the field the spec names."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import zlib

import numpy as np
import pytest

import gcp
from gcp import cm, palette_code
from tests.conftest import SPEC, VECTORS, spec_decoder_rules

SPEC_TEXT = SPEC.read_text()

MANIFEST = json.loads((VECTORS / "manifest.json").read_text())


def test_manifest_lists_every_vector_file():
    listed = {entry["file"] for entry in MANIFEST["valid"] + MANIFEST["invalid"]}
    on_disk = {path.name for path in VECTORS.glob("*.gcp")}
    assert listed == on_disk


@pytest.mark.parametrize("entry", MANIFEST["valid"], ids=lambda e: e["file"])
def test_valid_vector_decodes_to_its_pixels(entry):
    data = (VECTORS / entry["file"]).read_bytes()
    image = gcp.decode(data)
    assert image.shape == (entry["height"], entry["width"], entry["channels"])
    assert image.dtype == np.uint8
    assert hashlib.sha256(image.tobytes()).hexdigest() == entry["pixels_sha256"]
    if "pixels_hex" in entry:
        assert image.tobytes().hex() == entry["pixels_hex"]


@pytest.mark.parametrize("entry", MANIFEST["valid"], ids=lambda e: e["file"])
def test_valid_vector_info_matches_its_header(entry):
    info = gcp.read_info((VECTORS / entry["file"]).read_bytes())
    assert (info.width, info.height, info.channels) == (
        entry["width"], entry["height"], entry["channels"])


@pytest.mark.parametrize("entry", MANIFEST["invalid"], ids=lambda e: e["file"])
def test_invalid_vector_is_rejected_naming_its_field(entry):
    data = (VECTORS / entry["file"]).read_bytes()
    with pytest.raises(gcp.GcpError) as raised:
        gcp.decode(data)
    assert raised.value.field == entry["field"], str(raised.value)


def test_worked_example_bytes_match_the_spec():
    """spec/format.md section 8, byte for byte."""
    expected = bytes.fromhex(
        "89474350 0d0a1a0a 01 03 00 01 04000000 02000000 0200"
        " 0200000000000000 0200000000000000 0000ff ff0000 02 14 9b3da092".replace(" ", ""))
    assert (VECTORS / "rle-example.gcp").read_bytes() == expected
    # gcp codes the palette (section 2.7.1): flags 03, then 03 00 00 14 80 for the palette.
    coded = bytes.fromhex(
        "89474350 0d0a1a0a 01 03 00 03 04000000 02000000 0200"
        " 0200000000000000 0200000000000000 0300 001480 02 14 e905f8e9".replace(" ", ""))
    assert (VECTORS / "coded-palette-example.gcp").read_bytes() == coded
    # The compact form (2.10): the header's fields as varints, 04 02 01 02 02.
    compact = bytes.fromhex(
        "89474350 0d0a1a0a 01 03 00 05 04 02 01 02 02 0000ff ff0000 02 14 416bafa2"
        .replace(" ", ""))
    assert (VECTORS / "compact-rle-example.gcp").read_bytes() == compact
    # gcp writes the compact form with the palette coded: 28 bytes.
    written = bytes.fromhex(
        "89474350 0d0a1a0a 01 03 00 07 04 02 01 02 02 0300 001480 02 14 2121097a"
        .replace(" ", ""))
    assert (VECTORS / "compact-coded-example.gcp").read_bytes() == written
    blue, red = [0, 0, 255], [255, 0, 0]
    image = np.array([[blue, blue, blue, red], [red, red, red, red]], np.uint8)
    assert gcp.encode(image, k=2, method="rle") == written
    lzma_example = (VECTORS / "lzma-example.gcp").read_bytes()
    assert lzma_example[-33:] == bytes.fromhex(
        "19000000 04 00100000 ffffffffffffffff 000105e507603fffef8c8000 7720f07c"
        .replace(" ", ""))


def test_the_channel_weights_vector_depends_on_its_weights():
    """cm-channel-weights read with weights 1, 1 (its CRC made right again) is refused or
    decodes to other pixels: the vector checks the weighted distance (5.3.5)."""
    data = bytearray((VECTORS / "cm-channel-weights.gcp").read_bytes())
    body = gcp.container.unpack(bytes(data))[2]
    at = len(data) - 4 - len(body) + cm.CM_STRIPE_HEADER_SIZE
    assert tuple(data[at:at + 2]) == (1, 64)
    data[at + 1] = 1
    data[-4:] = zlib.crc32(bytes(data[:-4])).to_bytes(4, "little")
    original = gcp.decode((VECTORS / "cm-channel-weights.gcp").read_bytes())
    try:
        assert not np.array_equal(gcp.decode(bytes(data)), original)
    except gcp.FormatError as error:
        assert error.field in ("cm_rank", "cm_data")


def test_the_cm_worked_example_matches_the_spec():
    """spec/format.md section 5.3.8: the file's bytes, and the coder's state after each
    decision as the table gives it."""
    spec_hex = SPEC_TEXT.split("#### 5.3.8 Example", 1)[1].split("\n### ", 1)[0]
    dump = spec_hex.split("coded data\n\n", 1)[1].split("\n\n", 1)[0]
    assert (VECTORS / "cm-example.gcp").read_bytes() == bytes.fromhex(dump)
    blue, red = [0, 0, 255], [255, 0, 0]
    image = np.array([[blue, blue, blue, red], [red, red, red, red]], np.uint8)
    compact = (VECTORS / "compact-cm-example.gcp").read_bytes()
    assert len(compact) == 36 and compact[11:17] == bytes.fromhex("05 04 02 01 00 09")
    assert compact[17 + 6:-4] == bytes.fromhex("02 01 01 01 00 8B FF F0 03")
    # The encoder packs so small a stripe (03 1F) and codes the palette (03 00 00 14 80);
    # cm-packed-example is that in the fixed form, gcp writes it compact.
    packed = (VECTORS / "cm-packed-example.gcp").read_bytes()
    assert "`03 1F`" in spec_hex and len(packed) == 64
    assert packed[38:43] == bytes.fromhex("03 00 00 14 80")
    assert packed[-6:-4] == bytes.fromhex("03 1F")
    written = gcp.encode(image, k=2, method="cm")
    assert written[8:-4] == bytes.fromhex("01 03 02 07 04 02 01 00 06 03 00 00 14 80"
                                          " 02 01 01 01 03 1F")
    assert np.array_equal(gcp.decode(written), gcp.decode(packed))
    states = []

    class Tracing(cm.Encoder):
        def code(self, p, bit):
            bit = super().code(p, bit)
            states.append(f"| {p} | {bit} | {self.low:08X} | {self.high:08X} |")
            return bit

    coder = Tracing()
    rows = [bytearray([0, 0, 0, 1]), bytearray([1, 1, 1, 1])]
    cm.code_stripe(coder, rows, 4, cm.PaletteTables(np.array([blue, red], np.uint8)),
                   cm.StripeModel(3), encoding=True)
    assert coder.finish() == bytes.fromhex("8BFFF003")
    assert len(states) == 9
    for state in states:
        assert state in spec_hex, state


def test_the_palette_code_example_matches_the_spec():
    """Section 2.7.1's example: blue and red code as 00 14 80."""
    section = SPEC_TEXT.split("### 2.7.1 Coded palette", 1)[1].split("\n### ", 1)[0]
    assert "`palette_code` = `00 14 80`" in section
    blue_red = np.array([[0, 0, 255], [255, 0, 0]], np.uint8)
    assert palette_code.encode(blue_red) == bytes.fromhex("00 14 80")
    assert palette_code.decode(bytes.fromhex("00 14 80"), 2, 3).tolist() == blue_red.tolist()


def _vector_generator():
    spec = importlib.util.spec_from_file_location("make_vectors", VECTORS / "make_vectors.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_invalid_vector_is_named_by_its_rule_in_the_spec():
    """Section 6 of the spec and the manifest agree: each vector its rule lists exists and
    names one of that rule's fields, and each invalid vector is listed by some rule."""
    fields_by_vector = {f"invalid-{name}.gcp": fields
                        for _, fields, names in spec_decoder_rules() for name in names}
    manifest = {entry["file"]: entry["field"] for entry in MANIFEST["invalid"]}
    assert set(fields_by_vector) == set(manifest)
    for file, field in manifest.items():
        assert field in fields_by_vector[file], file


def test_every_rule_has_a_vector():
    rules = spec_decoder_rules()
    assert [number for number, _, _ in rules] == list(range(1, len(rules) + 1))
    assert all(names for _, _, names in rules)


def test_generator_writes_what_the_manifest_lists():
    """make_vectors.py and the committed manifest name the same vectors and fields (the
    bytes of lzma vectors follow the encoder's settings, so only the names are compared)."""
    generator = _vector_generator()
    generated = {f"invalid-{name}.gcp": field
                 for name, (_, field, _) in generator.invalid_vectors().items()}
    assert generated == {entry["file"]: entry["field"] for entry in MANIFEST["invalid"]}
    assert {f"{name}.gcp" for name in generator.valid_vectors()} == {
        entry["file"] for entry in MANIFEST["valid"]}
