"""The quality target (gcp.target, ``target_psnr``) and the floor (``min_psnr``), through
the API and the command line."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

import gcp
from gcp import codec, target
from gcp.cli import EXIT_QUALITY, cli
from gcp.compare import psnr
from tests.conftest import REAL_IMAGES, load

K_MAX = 32


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def small(name: str, side: int = 64) -> np.ndarray:
    """A real image shrunk to about ``side`` pixels across: uint8 (H, W, C)."""
    image = load(name)
    scale = side / max(image.shape[:2])
    shrunk = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return shrunk if shrunk.ndim == 3 else shrunk[:, :, None]


def decoded_psnr(image: np.ndarray, data: bytes) -> float:
    return psnr(image, gcp.decode(data))


@pytest.fixture(scope="module")
def psnr_by_k() -> dict[str, dict[int, float]]:
    """The exhaustive search: PSNR of the real encoding at every k from 1 to K_MAX."""
    return {name: {k: decoded_psnr(small(name), gcp.encode(small(name), k, backend="numpy"))
                   for k in range(1, K_MAX + 1)}
            for name in ("astronaut", "coffee", "camera", "logo")}


def smallest_k(curve: dict[int, float], target_psnr: float) -> int | None:
    return next((k for k in sorted(curve) if curve[k] >= target_psnr), None)


@pytest.mark.parametrize("name", ["astronaut", "coffee", "camera", "logo"])
def test_target_takes_the_fewest_colours_an_exhaustive_search_finds(name, psnr_by_k):
    image, curve = small(name), psnr_by_k[name]
    # targets inside the curve's range, where the choice is neither 1 nor K_MAX
    targets = np.linspace(curve[2] + 0.1, curve[K_MAX] - 0.1, 5)
    for target_psnr in targets:
        best = smallest_k(curve, target_psnr)
        data, report = gcp.encode_report(image, K_MAX, target_psnr=float(target_psnr),
                                         backend="numpy")
        assert report.k == best, (target_psnr, report, curve)
        assert report.reached and report.psnr >= target_psnr
        assert report.psnr == decoded_psnr(image, data)
        assert data == gcp.encode(image, best, backend="numpy")  # the plain fit at k


def test_an_unreachable_target_takes_k_max(psnr_by_k):
    image = small("astronaut")
    too_high = psnr_by_k["astronaut"][K_MAX] + 1
    data, report = gcp.encode_report(image, K_MAX, target_psnr=too_high, backend="numpy")
    assert report.k == K_MAX and not report.reached
    assert data == gcp.encode(image, K_MAX, backend="numpy")
    assert "not reached" in report.describe()


def test_a_target_at_or_below_one_colour_takes_one(psnr_by_k):
    image = small("coffee")
    _, report = gcp.encode_report(image, K_MAX, target_psnr=psnr_by_k["coffee"][1],
                                  backend="numpy")
    assert report.k == 1 and report.colours == 1


def test_an_image_with_few_colours_is_stored_exactly_when_the_target_needs_it():
    image = np.zeros((40, 40, 3), np.uint8)
    image[:, 10:] = (200, 30, 10)
    image[20:, :] = (10, 90, 250)
    image[30:, 30:] = (255, 255, 255)
    data, report = gcp.encode_report(image, 16, target_psnr=60)
    assert report.colours == 4 and report.exact and report.psnr == math.inf
    assert np.array_equal(gcp.decode(data), image)


def test_the_search_costs_a_few_fits_not_one_per_k(monkeypatch):
    """Counts the real fits (fit_palette calls) of one search, against K_MAX of them."""
    image = small("astronaut", 96)
    calls = []
    original = codec._fit_palette
    monkeypatch.setattr(codec, "_fit_palette",
                        lambda pixels, k, *args, **kw: calls.append(k) or original(
                            pixels, k, *args, **kw))
    _, report = gcp.encode_report(image, 64, target_psnr=30, backend="numpy")
    assert report.reached
    assert len(calls) <= target.MAX_FITS < 64 // 4
    assert report.k in calls and report.k - 1 in calls  # the bracket closed by real fits


def test_the_choice_is_deterministic():
    image = small("logo", 80)
    first = gcp.encode(image, 48, target_psnr=33, backend="numpy")
    assert gcp.encode(image, 48, target_psnr=33, backend="numpy") == first
    assert gcp.encode(image, 48, target_psnr=33, seed=1, backend="numpy") == gcp.encode(
        image, 48, target_psnr=33, seed=1, backend="numpy")


def test_assigned_mse_is_the_decoded_images_error():
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (5000, 3), dtype=np.uint8)
    palette = rng.integers(0, 256, (7, 3), dtype=np.uint8)
    labels = rng.integers(0, 7, 5000).astype(np.uint8)
    error = target.assigned_mse(pixels, palette, labels)
    assert target.psnr_for_mse(error) == psnr(pixels, palette[labels])
    assert math.isclose(target.mse_for_psnr(target.psnr_for_mse(error)), error)
    assert target.assigned_mse(pixels[:256], pixels[:256], np.arange(256, dtype=np.uint8)) == 0
    assert target.psnr_for_mse(0.0) == math.inf


def test_the_estimate_falls_with_k_and_is_near_the_truth(psnr_by_k):
    image = small("coffee")
    estimate = target.MseEstimate(image.reshape(-1, 3), seed=0, effort=5, max_iter=300,
                                  tol=1e-4)
    estimates = [target.psnr_for_mse(estimate.mse(k)) for k in (2, 4, 8, 16, 32)]
    assert estimates == sorted(estimates)
    for k, estimated in zip((2, 4, 8, 16, 32), estimates, strict=True):
        assert abs(estimated - psnr_by_k["coffee"][k]) < 1.5, (k, estimated)


def test_min_psnr_refuses_a_result_below_it_and_passes_one_above():
    image = small("astronaut")
    reached = decoded_psnr(image, gcp.encode(image, 8, backend="numpy"))
    with pytest.raises(gcp.QualityError) as caught:
        gcp.encode(image, 8, min_psnr=reached + 0.5, backend="numpy")
    assert caught.value.psnr == reached and caught.value.min_psnr == reached + 0.5
    assert caught.value.field == "min_psnr" and isinstance(caught.value, gcp.GcpError)
    assert gcp.encode(image, 8, min_psnr=reached, backend="numpy") == gcp.encode(
        image, 8, backend="numpy")


def test_min_psnr_judges_the_dithered_result():
    image = small("astronaut")
    plain = decoded_psnr(image, gcp.encode(image, 8, backend="numpy"))
    dithered = decoded_psnr(image, gcp.encode(image, 8, dither=True, backend="numpy"))
    assert dithered < plain
    floor = (dithered + plain) / 2
    with pytest.raises(gcp.QualityError):
        gcp.encode(image, 8, dither=True, min_psnr=floor, backend="numpy")
    data, report = gcp.encode_report(image, 8, dither=True, backend="numpy")
    assert report.psnr == dithered == decoded_psnr(image, data) and report.dithered


def test_target_and_min_together():
    image = small("coffee")
    _, report = gcp.encode_report(image, K_MAX, target_psnr=30, min_psnr=28,
                                  backend="numpy")
    assert report.reached and report.psnr >= 30
    with pytest.raises(gcp.QualityError):  # the target cannot be met, nor the floor
        gcp.encode(image, 4, target_psnr=40, min_psnr=35, backend="numpy")


@pytest.mark.parametrize("value", [0, -3, math.nan, math.inf, "30", True])
@pytest.mark.parametrize("option", ["target_psnr", "min_psnr"])
def test_psnr_options_must_be_finite_positive_numbers(option, value):
    with pytest.raises(gcp.ParameterError) as caught:
        gcp.encode(np.zeros((4, 4, 3), np.uint8), **{option: value})
    assert caught.value.field == option


# The command line.


@pytest.fixture()
def astronaut_small(tmp_path):
    path = tmp_path / "astronaut.png"
    path.write_bytes(gcp.imageio.encode_image(small("astronaut"), ".png"))
    return path


def test_cli_min_psnr_failure_writes_nothing_and_exits_99(tmp_path, astronaut_small):
    out = tmp_path / "out.gcp"
    result = run("encode", astronaut_small, out, "-k", 4, "--min-psnr", 45)
    assert result.exit_code == EXIT_QUALITY == 99, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gcp: error: PSNR "), result.stderr
    assert "is below --min-psnr 45" in lines[0] and "Traceback" not in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == [astronaut_small]


def test_cli_min_psnr_met_writes_the_file(tmp_path, astronaut_small):
    out = tmp_path / "out.gcp"
    result = run("encode", astronaut_small, out, "-k", 16, "--min-psnr", 20)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == gcp.encode(small("astronaut"), 16)


def test_cli_target_verbose_says_colours_and_psnr(tmp_path, astronaut_small):
    out = tmp_path / "out.gcp"
    result = run("encode", astronaut_small, out, "-k", K_MAX, "--target-psnr", 27, "-v",
                 "--backend", "numpy")
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    colours = gcp.read_info(data).palette_size
    reached = decoded_psnr(small("astronaut"), data)
    assert reached >= 27
    assert (f"gcp: colours {colours} of {K_MAX}, PSNR {reached:.2f} dB (target 27)"
            in result.stderr), result.stderr


def test_cli_verbose_says_when_the_target_is_out_of_reach(tmp_path, astronaut_small):
    result = run("encode", astronaut_small, tmp_path / "out.gcp", "-k", 4,
                 "--target-psnr", 50, "-v", "--backend", "numpy")
    assert result.exit_code == 0, result.output
    assert "colours 4 of 4, PSNR" in result.stderr
    assert "(target 50, not reached with -k 4)" in result.stderr


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "loud"])
@pytest.mark.parametrize("option", ["--target-psnr", "--min-psnr"])
def test_cli_psnr_options_are_checked(tmp_path, astronaut_small, option, value):
    out = tmp_path / "out.gcp"
    result = run("encode", astronaut_small, out, option, value)
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and not out.exists()


def test_cli_batch_exits_99_when_every_failure_is_below_the_minimum(tmp_path):
    logo = REAL_IMAGES["logo"]  # about 40 dB at 16 colours
    astronaut = REAL_IMAGES["astronaut"]  # about 27.6 dB
    result = run("encode", logo, astronaut, "-o", tmp_path / "out", "--min-psnr", 35,
                 "-j", 1)
    assert result.exit_code == EXIT_QUALITY, result.output
    assert (tmp_path / "out" / "logo.gcp").exists()
    assert not (tmp_path / "out" / "astronaut.gcp").exists()
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "astronaut.png: PSNR" in errors[0]
    assert "1 of 2 files failed" in result.stderr


def test_cli_batch_exits_1_when_another_failure_is_among_them(tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    result = run("encode", REAL_IMAGES["astronaut"], broken, "-o", tmp_path / "out",
                 "--min-psnr", 35, "-j", 1)
    assert result.exit_code == 1, result.output
    assert "2 of 2 files failed" in result.stderr


def test_the_bracket_closes_at_neighbours_up_to_64_colours_then_within_a_32nd():
    def search(low: int, high: int) -> target._Search:
        choice = target.Choice(high, np.zeros((1, 3), np.uint8), np.zeros(1, np.uint8),
                               False, 1.0, 48.0, True)
        return target._Search(40.0, 256, low=low, high=choice)

    assert search(9, 10).settled and not search(8, 10).settled
    assert search(63, 64).settled and not search(62, 64).settled
    assert search(194, 200).settled and not search(193, 200).settled  # 200 / 32 = 6.25
    assert target._Search(40.0, 16, low=16).settled
    assert not target._Search(40.0, 16, low=15).settled
