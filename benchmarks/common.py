"""Shared pieces of the benchmark scripts: images, PSNR, timing, peers' command lines.

Every script runs gcp and its peers side by side in one run and prints ratios; figures
from different runs or machines are not compared.
"""

from __future__ import annotations

import compileall
import functools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gcp import imageio  # noqa: E402
from gcp.compare import psnr  # noqa: E402, F401  (the scripts' one PSNR is gcp's)

DEFAULT_IMAGES = [ROOT / "samples", ROOT / "tests" / "data"]
IMAGE_SUFFIXES = {".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".ppm"}
RESULTS = ROOT / "benchmarks" / "results"


def image_paths(arguments: list[str]) -> list[Path]:
    """Files named, and the images inside folders named (sorted), in order."""
    paths: list[Path] = []
    for argument in arguments or [str(p) for p in DEFAULT_IMAGES]:
        path = Path(argument)
        if path.is_dir():
            paths += sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            paths.append(path)
    return paths


def load(path: Path) -> np.ndarray:
    """uint8 (H, W, C) RGB(A) or grey, as gcp reads it."""
    return imageio.decode_image(path.read_bytes(), name=str(path))


def blurred_psnr(original: np.ndarray, decoded: np.ndarray, sigma: float = 1.5) -> float:
    """PSNR in dB of the two images after a Gaussian blur of ``sigma`` pixels: a rough
    stand-in for viewing from a distance, where dithering's fine patterns average out."""
    import cv2

    def blurred(image: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(image.astype(np.float32), (0, 0), sigma)

    error = np.mean((blurred(original) - blurred(decoded)) ** 2, dtype=np.float64)
    return float("inf") if error == 0 else float(10 * np.log10(255.0**2 / error))


def match_channels(decoded: np.ndarray, channels: int) -> np.ndarray:
    """A peer's output with the original's channel count (grey from RGB, alpha dropped or
    added; grey + alpha from RGBA)."""
    if decoded.shape[2] == channels:
        return decoded
    if channels == 1:
        return decoded[:, :, :1]
    if channels == 3 and decoded.shape[2] == 4:
        return decoded[:, :, :3]
    if channels == 2 and decoded.shape[2] == 4:  # grey + alpha, written as RGBA (pngquant)
        return np.ascontiguousarray(decoded[:, :, [0, 3]])
    if channels == 4 and decoded.shape[2] == 3:
        return np.dstack([decoded, np.full(decoded.shape[:2], 255, np.uint8)])
    if channels in (3, 4) and decoded.shape[2] in (1, 2):
        # A peer stored grey pixels as grey (zopflipng does, for a palette of greys).
        grey = np.repeat(decoded[:, :, :1], 3, axis=2)
        return match_channels(grey if decoded.shape[2] == 1 else
                              np.dstack([grey, decoded[:, :, 1:]]), channels)
    raise ValueError(f"cannot compare {decoded.shape[2]} channels with {channels}")


def median_time(function: Callable[[], object], runs: int) -> tuple[float, object]:
    """Median wall time of ``runs`` calls, and the last call's result."""
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def run_command(command: list[str]) -> None:
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def gcp_command() -> list[str]:
    """How to run this checkout's gcp as a fresh process, as an installed gcp runs: from
    compiled bytecode. Where PYTHONDONTWRITEBYTECODE is set (as on some build machines)
    every run would compile gcp's modules again, about 40 ms that no user pays; so the
    package is compiled here once and the variable is dropped for the processes timed."""
    _compile_once()
    return [sys.executable, "-m", "gcp"]


@functools.cache
def _compile_once() -> None:
    compileall.compile_dir(str(ROOT / "gcp"), quiet=1)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def have(program: str) -> bool:
    return shutil.which(program) is not None


def as_png(path: Path, folder: str) -> Path:
    """``path`` itself if it is a PNG, else a PNG copy in ``folder`` (for pngquant)."""
    if path.suffix.lower() == ".png":
        return path
    copy = Path(folder) / (path.stem + ".png")
    copy.write_bytes(imageio.encode_image(load(path), ".png"))
    return copy


def scratch() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="gcp-bench-")


def environment_note() -> str:
    """One line on where the figures come from."""
    import platform

    return (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{time.strftime('%Y-%m-%d')}")
