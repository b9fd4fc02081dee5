"""Fuzzing of the image reader, ``gcp.imageio.decode_image``, with atheris (libFuzzer).

What ``gcp encode`` does with a file from anywhere: every input must come back as a
uint8 (H, W, C) image, C from 1 to 4, of the size its header declares where
``imageio.declared_size`` reads one, or raise ``ImageError`` / ``LimitError``; no other
exception, no crash inside OpenCV, nothing over 2 seconds. The pixel limit is 2**22 so
that accepted inputs stay small. OpenCV is not instrumented: coverage feedback comes
from gcp's own code only, so this is closer to random mutation than the .gcp harness.

If the first corpus folder is empty, a few small PNG, BMP, JPEG, TIFF, WebP and GIF
files are written to it to start from. See README.md beside this file.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import atheris
import numpy as np

with atheris.instrument_imports(include=["gcp"]):
    from gcp import imageio
    from gcp.errors import ImageError, LimitError

MAX_PIXELS = 1 << 22
CEILING_S = 2.0


def write_seeds(folder: Path) -> None:
    rng = np.random.default_rng(0)
    images = {
        "grey": rng.integers(0, 256, (9, 13, 1), dtype=np.uint8),
        "rgb": rng.integers(0, 4, (17, 5, 3), dtype=np.uint8) * 60,
        "rgba": rng.integers(0, 256, (6, 6, 4), dtype=np.uint8),
    }
    for name, image in images.items():
        for extension in (".png", ".bmp", ".jpg", ".tif", ".webp", ".gif"):
            if extension in (".jpg", ".gif") and image.shape[2] != 3:
                continue
            (folder / f"{name}{extension}").write_bytes(imageio.encode_image(image, extension))


def fuzz_one_input(data: bytes) -> None:
    started = time.perf_counter()
    try:
        image = imageio.decode_image(data, max_pixels=MAX_PIXELS)
    except (ImageError, LimitError):
        pass
    else:
        assert image.dtype == np.uint8 and image.ndim == 3 and 1 <= image.shape[2] <= 4
        assert 0 < image.shape[0] * image.shape[1] <= MAX_PIXELS
        # The size gcp checks against its limits before decoding is the size decoded.
        size = imageio.declared_size(data)
        assert size is None or image.shape[1::-1] == size
    assert time.perf_counter() - started < CEILING_S


def main() -> None:
    folders = [Path(arg) for arg in sys.argv[1:] if not arg.startswith("-")]
    if folders and folders[0].is_dir() and not any(folders[0].iterdir()):
        write_seeds(folders[0])
    atheris.Setup(sys.argv, fuzz_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
