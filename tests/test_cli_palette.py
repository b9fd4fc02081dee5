"""gcp encode --palette, gcp info --palette-out and gcp encode --skip-if-larger."""

from __future__ import annotations

import os

import numpy as np
import pytest

import gcp
from gcp import imageio, palettes
from tests.conftest import REAL_IMAGES
from tests.test_batch import error_lines, small_image
from tests.test_cli import assert_one_line_error, run
from tests.test_cli_streams import gcp_process

# Not in ascending order, with a repeat: both must survive.
GIVEN = np.array([[200, 30, 30], [0, 0, 0], [30, 30, 200], [250, 250, 250], [0, 0, 0],
                  [30, 200, 30]], np.uint8)


@pytest.fixture()
def gpl_file(tmp_path):
    path = tmp_path / "given.gpl"
    path.write_bytes(palettes.write_gpl(GIVEN, "given"))
    return path


def write_image(path, image):
    path.write_bytes(imageio.encode_image(image, os.path.splitext(path)[1]))
    return path


# --- encode --palette ---------------------------------------------------------------------


def test_encode_with_a_gpl_gives_the_api_bytes_and_keeps_the_order(tmp_path, gpl_file,
                                                                   real_images):
    out = tmp_path / "coffee.gcp"
    result = run("encode", REAL_IMAGES["coffee"], out, "--palette", gpl_file)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == gcp.encode(real_images["coffee"], palette=GIVEN)
    assert np.array_equal(gcp.read_info(out.read_bytes()).palette, GIVEN)


def test_encode_with_a_palette_from_an_image_and_from_a_gcp_file(tmp_path, real_images):
    swatch = write_image(tmp_path / "swatch.png", GIVEN[None, [3, 0, 3, 5]])
    out = tmp_path / "a.gcp"
    assert run("encode", REAL_IMAGES["astronaut"], out, "--palette", swatch).exit_code == 0
    assert gcp.read_info(out.read_bytes()).palette.tolist() == GIVEN[[3, 0, 5]].tolist()
    again = tmp_path / "b.gcp"
    assert run("encode", REAL_IMAGES["coffee"], again, "--palette", out).exit_code == 0
    assert gcp.read_info(again.read_bytes()).palette.tolist() == GIVEN[[3, 0, 5]].tolist()


def test_encode_with_a_palette_and_dither(tmp_path, gpl_file, real_images):
    out = tmp_path / "d.gcp"
    assert run("encode", REAL_IMAGES["coffee"], out, "--palette", gpl_file,
               "--dither").exit_code == 0
    assert out.read_bytes() == gcp.encode(real_images["coffee"], palette=GIVEN, dither=True)
    assert out.read_bytes() != gcp.encode(real_images["coffee"], palette=GIVEN)


def test_a_grey_image_with_a_colour_palette_is_stored_as_rgb(tmp_path, gpl_file):
    out = tmp_path / "camera.gcp"
    assert run("encode", REAL_IMAGES["camera"], out, "--palette", gpl_file).exit_code == 0
    info = gcp.read_info(out.read_bytes())
    assert info.channels == 3 and np.array_equal(info.palette, GIVEN)


def test_exact_only_when_every_pixel_is_reproduced(tmp_path, gpl_file):
    image = np.repeat(GIVEN[None, [0, 2, 5]], 4, axis=0)
    source = write_image(tmp_path / "three.png", image)
    assert run("encode", source, tmp_path / "x.gcp", "--palette", gpl_file).exit_code == 0
    assert gcp.read_info((tmp_path / "x.gcp").read_bytes()).exact
    image[1, 1] = [201, 30, 30]
    write_image(source, image)
    assert run("encode", source, tmp_path / "y.gcp", "--palette", gpl_file).exit_code == 0
    assert not gcp.read_info((tmp_path / "y.gcp").read_bytes()).exact


@pytest.mark.parametrize("k_option", [["-k", "16"], ["--colors", "4"]])
def test_k_and_palette_together_is_a_usage_error(tmp_path, gpl_file, k_option):
    out = tmp_path / "x.gcp"
    result = run("encode", REAL_IMAGES["camera"], out, "--palette", gpl_file, *k_option)
    assert_one_line_error(result, 2)
    assert "--palette" in result.stderr and not out.exists()


@pytest.mark.parametrize(("text", "words"), [
    ("GIMP Palette\n0 0 0\n1 2\n", "line 3"),
    ("GIMP Palette\n0 0 0\n0 0 300\n", "over 255"),
    ("GIMP Palette\nName: empty\n# nothing\n", "no colours"),
    ("GIMP Palette\n" + "1 1 1\n" * 257, "more than 256"),
    ("a shopping list\n", "neither a .gcp file"),
    ("", "neither a .gcp file"),
])
def test_a_bad_palette_file_is_one_line_exit_1_and_no_output(tmp_path, text, words):
    bad = tmp_path / "bad.gpl"
    bad.write_text(text)
    out = tmp_path / "x.gcp"
    result = run("encode", REAL_IMAGES["camera"], out, "--palette", bad)
    assert_one_line_error(result, 1)
    assert words in result.stderr and not out.exists()


def test_an_image_palette_of_over_256_colours_and_a_missing_file_exit_1(tmp_path):
    many = write_image(tmp_path / "many.png", small_image(1, size=32))
    out = tmp_path / "x.gcp"
    result = run("encode", REAL_IMAGES["camera"], out, "--palette", many)
    assert_one_line_error(result, 1)
    assert "colours" in result.stderr
    assert_one_line_error(run("encode", REAL_IMAGES["camera"], out, "--palette",
                              tmp_path / "none.gpl"), 1)
    assert not out.exists()


def test_palette_in_a_batch_and_a_pipe(tmp_path, gpl_file):
    sources = [write_image(tmp_path / f"in{i}.png", small_image(i)) for i in range(3)]
    result = run("encode", *sources, "-o", tmp_path / "out", "--palette", gpl_file, "-j", 2)
    assert result.exit_code == 0, result.output
    for index in range(3):
        data = (tmp_path / "out" / f"in{index}.gcp").read_bytes()
        assert data == gcp.encode(small_image(index), palette=GIVEN)
    piped = run("encode", "-", "-", "--palette", gpl_file,
                input=REAL_IMAGES["coffee"].read_bytes())
    assert piped.exit_code == 0
    assert piped.stdout_bytes == gcp.encode(imageio.decode_image(
        REAL_IMAGES["coffee"].read_bytes()), palette=GIVEN)


# --- info --palette-out -------------------------------------------------------------------


def test_info_palette_out_then_encode_palette_gives_the_same_palette(tmp_path, gpl_file):
    first = tmp_path / "first.gcp"
    assert run("encode", REAL_IMAGES["astronaut"], first, "--palette", gpl_file).exit_code == 0
    written = tmp_path / "p.gpl"
    result = run("info", first, "--palette-out", written)
    assert result.exit_code == 0 and "palette:" in result.stdout
    assert written.read_bytes().startswith(b"GIMP Palette\nName: first\n")
    second = tmp_path / "second.gcp"
    assert run("encode", REAL_IMAGES["coffee"], second, "--palette", written).exit_code == 0
    assert np.array_equal(gcp.read_info(second.read_bytes()).palette, GIVEN)


def test_round_trip_of_a_fitted_grey_palette_stays_grey(tmp_path):
    fitted = tmp_path / "camera.gcp"
    assert run("encode", REAL_IMAGES["camera"], fitted, "-k", 6).exit_code == 0
    written = tmp_path / "grey.gpl"
    assert run("info", fitted, "--palette-out", written).exit_code == 0
    grey = gcp.read_info(fitted.read_bytes()).palette
    assert np.array_equal(palettes.read_gpl(written.read_bytes()), np.repeat(grey, 3, axis=1))
    again = tmp_path / "again.gcp"
    assert run("encode", REAL_IMAGES["camera"], again, "--palette", written).exit_code == 0
    assert again.read_bytes() == fitted.read_bytes()  # same palette, so the same file


def test_palette_out_is_written_like_every_output(tmp_path, gpl_file):
    source = tmp_path / "s.gcp"
    assert run("encode", REAL_IMAGES["camera"], source, "--palette", gpl_file).exit_code == 0
    target = tmp_path / "keep.gpl"
    target.write_text("precious")
    result = run("info", source, "--palette-out", target)
    assert_one_line_error(result, 2)
    assert target.read_text() == "precious" and result.stdout == ""
    assert run("info", source, "--palette-out", target, "--force").exit_code == 0
    assert np.array_equal(palettes.read_gpl(target.read_bytes()), GIVEN)
    assert [name for name in os.listdir(tmp_path) if name.endswith(".part")] == []


def test_palette_out_to_standard_output_sends_the_facts_to_stderr(tmp_path, gpl_file):
    source = tmp_path / "s.gcp"
    assert run("encode", REAL_IMAGES["camera"], source, "--palette", gpl_file).exit_code == 0
    result = run("info", source, "--palette-out", "-")
    assert result.exit_code == 0
    assert np.array_equal(palettes.read_gpl(result.stdout_bytes), GIVEN)
    assert "palette:" in result.stderr


def test_palette_out_of_a_transparent_file_warns_once(tmp_path):
    image = np.zeros((4, 4, 4), np.uint8)
    image[:2] = [10, 20, 30, 255]
    source = write_image(tmp_path / "alpha.png", image)
    encoded = tmp_path / "alpha.gcp"
    assert run("encode", source, encoded).exit_code == 0
    result = run("info", encoded, "--palette-out", tmp_path / "alpha.gpl")
    assert result.exit_code == 0
    assert result.stderr == ("gcp: a GIMP palette has no alpha: writing the colours without "
                             "the transparency\n")
    colours = palettes.read_gpl((tmp_path / "alpha.gpl").read_bytes())
    assert colours.tolist() == gcp.read_info(encoded.read_bytes()).palette[:, :3].tolist()


def test_palette_out_of_a_broken_file_writes_nothing(tmp_path):
    broken = tmp_path / "broken.gcp"
    broken.write_bytes(b"\x89GCP\r\n\x1a\n" + b"\0" * 40)
    assert_one_line_error(run("info", broken, "--palette-out", tmp_path / "p.gpl"), 1)
    assert not (tmp_path / "p.gpl").exists()


# --- encode --skip-if-larger --------------------------------------------------------------

# A 2 x 2 PNG is smaller than its .gcp file (about 80 against 85 bytes); an 8 x 8 one of
# noise is larger (about 270 against 180).


def test_skip_if_larger_single_file_writes_nothing_and_exits_98(tmp_path):
    tiny = write_image(tmp_path / "tiny.ppm", small_image(0, size=2))
    out = tmp_path / "tiny.gcp"
    assert len(gcp.encode(small_image(0, size=2))) >= tiny.stat().st_size  # the premise
    result = run("encode", tiny, out, "--skip-if-larger")
    assert result.exit_code == 98, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"gcp: skipped {tiny}:")
    assert "not smaller" in lines[0] and not out.exists()
    assert run("encode", tiny, out, "--skip-if-larger", "-q").stderr == ""
    assert run("encode", tiny, out).exit_code == 0 and out.exists()  # without the option


def test_skip_if_larger_writes_a_smaller_result(tmp_path):
    source = write_image(tmp_path / "noise.png", small_image(0))
    out = tmp_path / "noise.gcp"
    result = run("encode", source, out, "--skip-if-larger")
    assert result.exit_code == 0 and result.stderr == ""
    assert out.read_bytes() == gcp.encode(small_image(0))
    assert out.stat().st_size < source.stat().st_size


def test_skip_if_larger_in_a_batch_counts_the_skipped(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    larger = [write_image(folder / f"big{i}.png", small_image(i)) for i in range(3)]
    tiny = [write_image(folder / f"tiny{i}.ppm", small_image(i, size=2)) for i in range(2)]
    out = tmp_path / "out"
    result = run("encode", *larger, *tiny, "-o", out, "-j", 2, "--skip-if-larger")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (f"gcp: 3 files encoded into {out}, 2 skipped (not smaller "
                             "than their input)\n")
    assert sorted(os.listdir(out)) == ["big0.gcp", "big1.gcp", "big2.gcp"]


def test_skip_if_larger_in_a_batch_with_a_failure(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    good = write_image(folder / "good.png", small_image(0))
    tiny = write_image(folder / "tiny.ppm", small_image(0, size=2))
    junk = folder / "junk.png"
    junk.write_bytes(b"not a picture")
    out = tmp_path / "out"
    result = run("encode", good, tiny, junk, "-o", out, "-j", 1, "--skip-if-larger")
    assert result.exit_code == 1
    assert len(error_lines(result.stderr)) == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"gcp: 1 of 3 files failed; 1 encoded into {out}, 1 skipped (not smaller than "
        "their input)")
    assert os.listdir(out) == ["good.gcp"]


def test_skip_if_larger_in_a_pipe_compares_with_the_bytes_read(tmp_path):
    tiny = imageio.encode_image(small_image(0, size=2), ".ppm")
    result = run("encode", "-", "-", "--skip-if-larger", input=tiny)
    assert result.exit_code == 98 and result.stdout_bytes == b""
    assert "skipped standard input" in result.stderr
    larger = imageio.encode_image(small_image(0), ".png")
    process = gcp_process("encode", "-", "-", "--skip-if-larger", "--backend", "numpy",
                          input=larger)
    assert process.returncode == 0, process.stderr
    assert process.stdout == gcp.encode(small_image(0))
    process = gcp_process("encode", "-", "-", "--skip-if-larger", "--backend", "numpy",
                          input=tiny)
    assert process.returncode == 98 and process.stdout == b""
    assert process.stderr.decode().count("\n") == 1
