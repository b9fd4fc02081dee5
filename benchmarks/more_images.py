"""Writes test images of the kinds the repository lacks into DIR, for the benchmarks.

    python benchmarks/more_images.py DIR

- Photos bundled in scikit-image's wheel (downloaded with pip, nothing installed): a cat,
  a rocket, a motorcycle, a retina scan, a deep-sky photograph (Hubble), a stained
  tissue section, textures (brick, grass, gravel) and the moon in grey.
- Synthetic ones, made from a seed: a dark copy of samples/astronaut.png (12% of its
  levels), a low-contrast copy of samples/coffee.bmp (levels 100 to 140), a deep-sky
  render (dim nebulae, noise, 400 stars) and a foggy low-contrast gradient; a screenshot
  (windows, text, icons, anti-aliased edges) and pixel art (a 96 x 64 sprite sheet of
  12 colours, tiles repeated, scaled 6x by nearest neighbour).

Dark and low-contrast images are where a palette fitted on a coarse colour grid loses
most (issue 12); the photos are ones the fit was not tuned on.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SCIKIT_IMAGE_PHOTOS = ("chelsea.png", "rocket.jpg", "motorcycle_left.png", "retina.jpg",
                       "hubble_deep_field.jpg", "ihc.png", "brick.png", "grass.png",
                       "gravel.png", "moon.png")


def scikit_image_photos(folder: Path) -> None:
    """Extract SCIKIT_IMAGE_PHOTOS from scikit-image's wheel, fetched by pip."""
    with tempfile.TemporaryDirectory() as download:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "--only-binary=:all:", "-d", download, "scikit-image"], check=True)
        [wheel] = Path(download).glob("scikit_image-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            for name in SCIKIT_IMAGE_PHOTOS:
                (folder / name).write_bytes(archive.read(f"skimage/data/{name}"))


def deep_sky(rng: np.random.Generator, height: int = 600, width: int = 800) -> np.ndarray:
    """uint8 (H, W, 3) BGR: dim coloured nebulae, sensor noise and 400 stars."""
    rows, columns = np.mgrid[0:height, 0:width]
    image = np.zeros((height, width, 3))
    for _ in range(6):
        centre_x, centre_y = rng.uniform(0, width), rng.uniform(0, height)
        spread = rng.uniform(60, 250)
        glow = np.exp(-((columns - centre_x) ** 2 + (rows - centre_y) ** 2) / (2 * spread**2))
        image += rng.uniform(5, 40, 3) * glow[:, :, None]
    image += rng.normal(0, 1.5, image.shape) + 3
    for _ in range(400):
        x, y = rng.integers(0, width), rng.integers(0, height)
        brightness, radius = rng.uniform(30, 255), rng.uniform(0.5, 2)
        near = slice(max(0, y - 6), y + 7), slice(max(0, x - 6), x + 7)
        star = np.exp(-((columns[near] - x) ** 2 + (rows[near] - y) ** 2) / (2 * radius**2))
        image[near] += brightness * star[:, :, None] * rng.uniform(0.7, 1, 3)
    return np.clip(image, 0, 255).round().astype(np.uint8)


def fog(rng: np.random.Generator, height: int = 600, width: int = 800) -> np.ndarray:
    """uint8 (H, W, 3): smooth colour waves within about 40 levels, with noise."""
    rows, columns = np.mgrid[0:height, 0:width]
    image = np.stack([120 + 20 * np.sin(columns / 90) + 10 * rows / height,
                      125 + 15 * np.cos(rows / 70),
                      130 + 12 * np.sin((columns + rows) / 120)], axis=-1)
    image += rng.normal(0, 2, image.shape)
    return np.clip(image, 0, 255).round().astype(np.uint8)


LOREM = ("lorem", "ipsum", "dolor", "sit", "amet")


def screenshot(rng: np.random.Generator, height: int = 720, width: int = 1280) -> np.ndarray:
    """uint8 (H, W, 3): flat windows with title bars, anti-aliased text and icons."""
    image = np.full((height, width, 3), (236, 236, 236), np.uint8)
    for _ in range(6):
        top, left = int(rng.integers(0, height - 200)), int(rng.integers(0, width - 300))
        bottom = top + int(rng.integers(150, 400))
        right = left + int(rng.integers(250, 600))
        cv2.rectangle(image, (left, top), (right, bottom), (255, 255, 255), -1)
        cv2.rectangle(image, (left, top), (right, top + 24), (200, 120, 40), -1)
        cv2.rectangle(image, (left, top), (right, bottom), (120, 120, 120), 1)
        cv2.putText(image, "Window", (left + 8, top + 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (255, 255, 255), 1, cv2.LINE_AA)
        for line in range(top + 44, min(bottom, height) - 8, 18):
            words = " ".join(LOREM[:int(rng.integers(2, 6))])
            cv2.putText(image, words * 2, (left + 10, line), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                        (30, 30, 30), 1, cv2.LINE_AA)
        for icon in range(3):
            centre = (right - 20 - 22 * icon, bottom - 20)
            cv2.circle(image, centre, 8, (int(rng.integers(0, 255)), 90, 200), -1, cv2.LINE_AA)
    return image


def pixel_art(rng: np.random.Generator) -> np.ndarray:
    """uint8 (384, 576, 3): 8 x 8 tiles of a 12-colour palette in a 96 x 64 sheet, some
    repeated, scaled 6x by nearest neighbour."""
    palette = rng.integers(0, 256, (12, 3)).astype(np.uint8)
    tiles = [rng.integers(0, 12, (8, 8)) for _ in range(10)]
    for tile in tiles[:4]:
        tile[:] = np.maximum(tile, tile[:, ::-1])  # symmetric sprites
    sheet = np.zeros((64, 96), np.int64)
    for row in range(8):
        for column in range(12):
            sheet[row * 8:row * 8 + 8, column * 8:column * 8 + 8] = \
                tiles[int(rng.integers(0, len(tiles)))]
    return np.repeat(np.repeat(palette[sheet], 6, axis=0), 6, axis=1)


def synthetic_images(folder: Path) -> None:
    rng = np.random.default_rng(1)
    astronaut = cv2.imread(str(ROOT / "samples" / "astronaut.png"))
    coffee = cv2.imread(str(ROOT / "samples" / "coffee.bmp"))
    images = {
        "syn-dark-astronaut.png": np.rint(astronaut * 0.12).astype(np.uint8),
        "syn-lowcontrast-coffee.png": np.rint(100 + coffee * (40 / 255)).astype(np.uint8),
        "syn-deepsky.png": deep_sky(rng),
        "syn-fog.png": fog(rng),
        "syn-screenshot.png": screenshot(rng),
        "syn-pixel-art.png": pixel_art(rng),
    }
    for name, image in images.items():
        cv2.imwrite(str(folder / name), image)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    folder = parser.parse_args().folder
    folder.mkdir(parents=True, exist_ok=True)
    scikit_image_photos(folder)
    synthetic_images(folder)
    for path in sorted(folder.iterdir()):
        print(path)


if __name__ == "__main__":
    main()
