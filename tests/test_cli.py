"""The command line through click's CliRunner: exit codes, one-line errors, no clobbering."""

from __future__ import annotations

import io
import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

import gcp
from gcp import imageio
from gcp.cli import cli
from tests.conftest import (
    REAL_IMAGES,
    VECTORS,
    colour_count,
    exif_segment,
    with_segments_after_app0,
)


def run(*args, input=None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def assert_one_line_error(result, status):
    assert result.exit_code == status, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gcp: error: "), result.stderr
    assert "Traceback" not in result.output


@pytest.fixture()
def encoded(tmp_path):
    out = tmp_path / "astronaut.gcp"
    result = run("encode", REAL_IMAGES["astronaut"], out, "-k", 8)
    assert result.exit_code == 0, result.output
    return out


def test_encode_then_decode_png_and_bmp(tmp_path, encoded):
    assert encoded.read_bytes()[:4] == b"\x89GCP"
    for name in ("back.png", "back.bmp"):
        result = run("decode", encoded, tmp_path / name)
        assert result.exit_code == 0, result.output
        image = gcp.imageio.decode_image((tmp_path / name).read_bytes())
        assert image.shape == (512, 512, 3) and colour_count(image) <= 8


def test_encode_reads_bmp(tmp_path):
    out = tmp_path / "coffee.gcp"
    assert run("encode", REAL_IMAGES["coffee"], out).exit_code == 0
    assert gcp.read_info(out.read_bytes()).width == 600


def test_cli_file_equals_api_bytes(tmp_path, encoded, real_images):
    assert encoded.read_bytes() == gcp.encode(real_images["astronaut"], 8)


def test_encode_options_reach_the_encoder(tmp_path, real_images):
    out = tmp_path / "x.gcp"
    result = run("encode", REAL_IMAGES["coffee"], out, "--colors", 5, "--seed", 9,
                 "--method", "rle", "--effort", 2, "--max-iter", 50, "--tol", 0.001,
                 "--backend", "numpy")
    assert result.exit_code == 0, result.output
    expected = gcp.encode(real_images["coffee"], 5, seed=9, method="rle", effort=2,
                          max_iter=50, tol=0.001, backend="numpy")
    assert out.read_bytes() == expected


def test_existing_output_is_not_overwritten_without_force(tmp_path, encoded):
    before = encoded.read_bytes()
    result = run("encode", REAL_IMAGES["coffee"], encoded)
    assert_one_line_error(result, 2)
    assert "--force" in result.stderr
    assert encoded.read_bytes() == before
    assert run("encode", REAL_IMAGES["coffee"], encoded, "--force").exit_code == 0
    assert encoded.read_bytes() != before


def test_decode_does_not_clobber_either(tmp_path, encoded):
    target = tmp_path / "keep.png"
    target.write_bytes(b"precious")
    assert_one_line_error(run("decode", encoded, target), 2)
    assert target.read_bytes() == b"precious"


@pytest.mark.parametrize("args", [
    ["encode", "IN", "OUT", "-k", "0"], ["encode", "IN", "OUT", "-k", "257"],
    ["encode", "IN", "OUT", "--effort", "11"], ["encode", "IN", "OUT", "--method", "zip"],
    ["encode", "IN"], ["decode"], ["encode", "IN", "OUT", "--bogus"], ["frobnicate"],
])
def test_bad_usage_exits_2_with_one_line(args):
    assert_one_line_error(run(*args), 2)


def test_missing_input_exits_1(tmp_path):
    result = run("encode", tmp_path / "none.png", tmp_path / "out.gcp")
    assert_one_line_error(result, 1)
    assert not (tmp_path / "out.gcp").exists()


def test_non_image_input_exits_1_and_writes_nothing(tmp_path):
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"this is not a picture")
    result = run("encode", junk, tmp_path / "out.gcp")
    assert_one_line_error(result, 1)
    assert os.listdir(tmp_path) == ["junk.png"]


def test_corrupt_gcp_exits_1_naming_the_field(tmp_path, encoded):
    data = bytearray(encoded.read_bytes())
    data[-1] ^= 0xFF
    bad = tmp_path / "bad.gcp"
    bad.write_bytes(bytes(data))
    result = run("decode", bad, tmp_path / "out.png")
    assert_one_line_error(result, 1)
    assert "crc" in result.stderr
    assert not (tmp_path / "out.png").exists()


def test_unknown_output_type_exits_2(tmp_path, encoded):
    assert_one_line_error(run("decode", encoded, tmp_path / "out.xyz"), 2)


def test_decode_to_a_format_without_alpha_warns_once(tmp_path):
    logo = tmp_path / "logo.gcp"
    assert run("encode", REAL_IMAGES["logo"], logo, "-k", 8).exit_code == 0
    result = run("decode", logo, tmp_path / "logo.jpg")
    assert result.exit_code == 0, result.output
    assert result.stderr == ("gcp: .jpg images have no alpha channel: writing the colours "
                             "without the transparency\n")
    assert gcp.imageio.decode_image((tmp_path / "logo.jpg").read_bytes()).shape[2] == 3
    assert run("decode", logo, tmp_path / "quiet.jpg", "-q").stderr == ""


def test_decode_colour_to_a_grey_only_format_exits_1(tmp_path, encoded):
    assert_one_line_error(run("decode", encoded, tmp_path / "back.pgm"), 1)
    assert not (tmp_path / "back.pgm").exists()


def test_inputs_given_to_the_wrong_command_say_which_to_use(tmp_path, encoded):
    result = run("encode", encoded, tmp_path / "again.gcp")
    assert_one_line_error(result, 1)
    assert "is a .gcp file already; gcp decode" in result.stderr
    for command in (["decode", REAL_IMAGES["coffee"], tmp_path / "x.png"],
                    ["info", REAL_IMAGES["astronaut"]]):
        result = run(*command)
        assert_one_line_error(result, 1)
        assert "not a .gcp file: it is an image; gcp encode" in result.stderr
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"hello there, not a picture")
    assert "it is an image" not in run("info", junk).stderr


def test_info_text(encoded):
    result = run("info", encoded)
    assert result.exit_code == 0, result.output
    for words in ("512 x 512", "3 channels", "palette:       8 colours", "method lzma",
                  "bits/pixel", "ratio", "raw size:      786,432 bytes"):
        assert words in result.output
    assert "\x1b[" not in result.output  # no swatches when stdout is not a terminal


def test_info_says_when_and_how_short_the_palette_is_coded(tmp_path):
    ys, xs = np.mgrid[0:32, 0:32]
    grey = ((xs * 8 + ys) % 256).astype(np.uint8)[:, :, None]
    source, target = tmp_path / "ramp.png", tmp_path / "ramp.gcp"
    source.write_bytes(gcp.imageio.encode_image(grey, ".png"))
    assert run("encode", source, target, "-k", "256").exit_code == 0
    facts = json.loads(run("info", target, "--json").output)
    assert facts["coded_palette"] and facts["palette_size"] == 256
    coded = facts["palette_code_length"] + 2
    assert coded < 256
    assert f"palette:       256 colours, coded in {coded} bytes (as is: 256)" in (
        run("info", target).output)


def test_info_names_the_header_form(tmp_path, encoded):
    """gcp writes the compact form (spec 2.10); info says so, and of a fixed-form vector."""
    facts = json.loads(run("info", encoded, "--json").output)
    assert facts["compact"] and facts["header_length"] < 38
    assert f"compact header of {facts['header_length']} bytes" in run("info", encoded).output
    fixed = json.loads(run("info", VECTORS / "rle-example.gcp", "--json").output)
    assert not fixed["compact"] and fixed["header_length"] == 38
    assert "fixed header of 38 bytes" in run("info", VECTORS / "rle-example.gcp").output


def test_info_json(encoded):
    result = run("info", encoded, "--json")
    facts = json.loads(result.output)
    assert facts["width"] == 512 and facts["palette_size"] == 8
    assert facts["file_size"] == encoded.stat().st_size
    assert len(facts["palette_hex"]) == 8 and facts["method"] == "lzma"


def test_info_swatches_on_a_terminal(encoded):
    from gcp.cli import _info_lines

    lines = _info_lines("x.gcp", gcp.read_info(encoded.read_bytes()), swatches=True)
    assert any("\x1b[48;2;" in line for line in lines)


def test_version_and_help():
    assert gcp.__version__ in run("--version").output
    for command in ("encode", "decode", "info"):
        result = run(command, "--help")
        assert result.exit_code == 0 and "Usage:" in result.output


def test_verbose_names_backend_device_and_stage_times(tmp_path):
    result = run("encode", REAL_IMAGES["camera"], tmp_path / "c.gcp", "-v")
    assert result.exit_code == 0
    for stage in ("read", "fit", "assign", "encode", "write", "backend:"):
        assert stage in result.stderr


def test_quiet_prints_nothing(tmp_path):
    result = run("encode", REAL_IMAGES["camera"], tmp_path / "c.gcp", "-q")
    assert result.exit_code == 0 and result.output == ""


def test_lossless_small_palette_through_the_cli(tmp_path):
    image = np.zeros((8, 8, 3), np.uint8)
    image[::2] = [10, 20, 30]
    source = tmp_path / "two.png"
    source.write_bytes(gcp.imageio.encode_image(image, ".png"))
    run("encode", source, tmp_path / "two.gcp")
    run("decode", tmp_path / "two.gcp", tmp_path / "two-back.png")
    back = gcp.imageio.decode_image((tmp_path / "two-back.png").read_bytes())
    assert np.array_equal(back, image)


def test_dither_option_reaches_the_encoder(tmp_path, real_images):
    out = tmp_path / "d.gcp"
    assert run("encode", REAL_IMAGES["camera"], out, "-k", 4, "--dither").exit_code == 0
    assert out.read_bytes() == gcp.encode(real_images["camera"], 4, dither=True)


class _Left(Exception):
    """Raised by the stand-in for os._exit, with the status it was given."""


def _entry_point(monkeypatch, argv):
    """Run the console entry point ``main`` in process; returns how it left: ("now", status)
    through os._exit, or ("exit", status) through SystemExit."""
    from gcp import cli as cli_module

    def leave_now(status):
        raise _Left(status)

    monkeypatch.setattr(cli_module.os, "_exit", leave_now)
    monkeypatch.setattr("sys.argv", ["gcp", *map(str, argv)])
    try:
        cli_module.main()
    except _Left as left:
        return "now", left.args[0]
    except SystemExit as done:
        return "exit", done.code
    raise AssertionError("main returned")


def test_entry_point_leaves_at_once_with_the_status_after_flushing(monkeypatch, capsys,
                                                                   encoded):
    assert _entry_point(monkeypatch, ["info", encoded]) == ("now", 0)
    assert "format:" in capsys.readouterr().out
    assert _entry_point(monkeypatch, ["info", encoded.with_name("none.gcp")]) == ("now", 1)
    assert capsys.readouterr().err.startswith("gcp: error: ")


def test_entry_point_takes_the_normal_exit_when_stdout_cannot_be_flushed(monkeypatch,
                                                                          tmp_path):
    """An encode writes nothing to stdout, so only the last flush meets the closed pipe."""
    class ClosedPipe(io.StringIO):
        def flush(self):
            raise BrokenPipeError

    monkeypatch.setattr("sys.stdout", ClosedPipe())
    out = tmp_path / "coffee.gcp"
    assert _entry_point(monkeypatch, ["encode", REAL_IMAGES["coffee"], out, "-k", 4]) \
        == ("exit", 0)
    assert gcp.read_info(out.read_bytes()).palette_size == 4


def test_a_jpeg_with_exif_orientation_is_encoded_as_viewers_show_it(tmp_path):
    """A phone's JPEG stored on its side with Orientation 6: the .gcp, which has no field
    for the tag, holds the image upright, and decodes so."""
    stored = np.random.default_rng(3).integers(0, 256, (9, 13, 3), dtype=np.uint8)
    source = tmp_path / "phone.jpg"
    source.write_bytes(with_segments_after_app0(imageio.encode_image(stored, ".jpg"),
                                                exif_segment([(274, 3, 1, 6)])))
    result = run("encode", source, tmp_path / "phone.gcp", "-k", 8)
    assert result.exit_code == 0, result.output
    assert gcp.decode((tmp_path / "phone.gcp").read_bytes()).shape == (13, 9, 3)
