"""gcp compare (numbers and the side-by-side picture) and benchmarks/gallery.py."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

import gcp
from gcp import compare
from tests.conftest import ROOT, colour_count, psnr
from tests.test_cli import assert_one_line_error, run


@pytest.fixture()
def pair(tmp_path):
    """A small RGB photo-like image (PNG) and its .gcp at 4 colours."""
    rows, columns = np.indices((24, 40))
    image = np.stack([rows * 10, columns * 6, (rows + columns) * 4], axis=2).astype(np.uint8)
    png = tmp_path / "grad.png"
    png.write_bytes(gcp.imageio.encode_image(image, ".png"))
    packed = tmp_path / "grad.gcp"
    packed.write_bytes(gcp.encode(image, 4))
    return image, png, packed


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_psnr_is_the_float_mean_of_the_colours_as_seen(channels):
    """Summed in integers by bands, the error is the one numpy's float64 mean gives: the
    colours as seen (premultiplied where there is alpha), and inf for the same image."""
    rng = np.random.default_rng(channels)
    original = rng.integers(0, 256, (31, 17, channels), dtype=np.uint8)
    decoded = rng.integers(0, 256, (31, 17, channels), dtype=np.uint8)
    seen = gcp.quantizer.as_seen
    assert compare.psnr(original, decoded) == psnr(seen(original), seen(decoded))
    assert compare.psnr(original, original) == float("inf")


def number_after(label: str, text: str) -> float:
    match = re.search(rf"^{label}:\s+(\S+)", text, re.MULTILINE)
    assert match, text
    return float(match.group(1))


def test_compare_prints_psnr_ratio_and_bits_per_pixel(pair):
    image, png, packed = pair
    result = run("compare", png, packed)
    assert result.exit_code == 0, result.stderr
    decoded = gcp.decode(packed.read_bytes())
    assert number_after("PSNR", result.stdout) == round(psnr(image, decoded), 2)
    ratio = packed.stat().st_size / png.stat().st_size
    assert number_after("size ratio", result.stdout) == round(ratio, 4)
    bits = 8 * packed.stat().st_size / (24 * 40)
    assert f"({bits:.3f} bits/pixel)" in result.stdout
    assert result.stderr == ""


def test_compare_picture_holds_both_images_and_the_palette(pair, tmp_path):
    image, png, packed = pair
    side = tmp_path / "side.png"
    assert run("compare", png, packed, "-o", side).exit_code == 0
    picture = gcp.imageio.decode_image(side.read_bytes())
    decoded = gcp.decode(packed.read_bytes())
    top, left = compare.GAP + compare.CAPTION_HEIGHT, compare.GAP
    second = left + 40 + compare.GAP
    assert np.array_equal(picture[top:top + 24, left:left + 40], image)
    assert np.array_equal(picture[top:top + 24, second:second + 40], decoded)
    below = picture[top + 24:, second:second + 40].reshape(-1, 3)
    swatch_colours = {tuple(c) for c in below} - {(255, 255, 255)}
    assert swatch_colours == {tuple(c) for c in gcp.read_info(packed.read_bytes()).palette}
    assert picture.shape[1] == 2 * 40 + 3 * compare.GAP


def test_compare_picture_on_stdout_sends_the_numbers_to_stderr(pair):
    _, png, packed = pair
    result = run("compare", png, packed, "-o", "-")
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes[:4] == b"\x89PNG" and "PSNR:" in result.stderr


def test_compare_of_different_pictures_is_one_line_exit_1(pair, tmp_path):
    _, png, _ = pair
    other = tmp_path / "other.gcp"
    other.write_bytes(gcp.encode(np.zeros((5, 5, 3), np.uint8), 2))
    result = run("compare", png, other, "-o", tmp_path / "side.png")
    assert_one_line_error(result, 1)
    assert "not the same picture" in result.stderr
    assert not (tmp_path / "side.png").exists()


def test_compare_of_an_exact_file_says_identical(tmp_path):
    image = np.zeros((6, 6, 3), np.uint8)
    image[:3] = [200, 10, 10]
    png, packed = tmp_path / "two.png", tmp_path / "two.gcp"
    png.write_bytes(gcp.imageio.encode_image(image, ".png"))
    packed.write_bytes(gcp.encode(image, 4))
    assert "PSNR:        inf (identical)" in run("compare", png, packed).stdout


def test_compare_usage_errors(pair):
    _, png, packed = pair
    assert_one_line_error(run("compare", "-", "-"), 2)
    assert_one_line_error(run("compare", png, packed, "-o", "side.unknown"), 2)


def test_alpha_is_shown_over_a_checkerboard():
    image = np.zeros((16, 16, 4), np.uint8)
    image[..., :3] = [10, 200, 30]
    image[:, 8:, 3] = 255  # right half opaque, left half transparent
    rgb = compare.to_rgb(image)
    assert np.all(rgb[:, 8:] == [10, 200, 30])
    assert {int(v) for v in np.unique(rgb[:, :8])} == set(compare.CHECKER)
    grey = compare.to_rgb(np.full((2, 2, 1), 77, np.uint8))
    assert grey.shape == (2, 2, 3) and np.all(grey == 77)


def test_swatches_wrap_a_large_palette_into_rows():
    palette = np.arange(256 * 3, dtype=np.uint32).reshape(256, 3).astype(np.uint8)
    grid = compare.swatches(palette, width=100)
    assert grid.shape[1] <= 100 and grid.shape[0] > compare.SWATCH_MIN
    assert colour_count(grid) >= 200  # the colours, not just the background


def test_gallery_script_writes_picture_and_markdown(tmp_path):
    rows, columns = np.indices((40, 48))
    image = np.stack([rows * 6, columns * 5, rows * columns % 256], axis=2).astype(np.uint8)
    source = tmp_path / "tiny.png"
    source.write_bytes(gcp.imageio.encode_image(image, ".png"))
    folder = tmp_path / "gallery"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gallery.py"), str(folder), "--image",
         str(source), "--colors", "2", "8", "--crop", "0,0,32,32"],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    picture = gcp.imageio.decode_image((folder / "tiny.png").read_bytes())
    assert picture.shape[1] == 3 * 32 + 4 * compare.GAP  # original, k=2, k=8
    snippet = (folder / "gallery.md").read_text()
    assert snippet in result.stdout
    for k in (2, 8):
        data = gcp.encode(image, k, seed=0)
        quality = psnr(image, gcp.decode(data))
        assert f"| {k} | {len(data):,} | {8 * len(data) / (40 * 48):.3f} |" in snippet
        assert f"{quality:.2f} dB |" in snippet
