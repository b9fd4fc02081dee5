"""Writes test images of the kinds the repository lacks into DIR, for the benchmarks.

    python benchmarks/more_images.py DIR [--set first|second|...|ninth|tenth|all]

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

The second set (``--set second``), made after the first had been measured and tuned on,
holds kinds neither the fit nor method cm had seen:

- scikit-image's grey photos and scans: coins, a cell, a page of text, text on a
  blackboard, a clock with motion blur and a retinal scan of 102 x 102 pixels. Grey images
  of at most 256 levels are coded losslessly at k = 256, method cm's hardest case.
- Synthetic: a smooth colour gradient (banding), a sky with sensor noise, uniform noise
  (incompressible), a Mandelbrot render (mirror-symmetric top to bottom), a line chart
  (flat colours, anti-aliased lines and text), an RGBA colour wheel with a soft alpha
  edge, and grey noise under a radial alpha gradient (grey + alpha).

The third set (``--set third``), made after method cm's spans were measured on the other
two, holds kinds that photos take on their way to a palette tool, from seeds:

- a photo (scikit-image's cat) after JPEG at quality 20: blocks and ringing;
- a photo (the right motorcycle) with film grain (Gaussian, sigma 7, on the luminance);
- a grey photo (the cat) as a clustered-dot halftone at 45 degrees, 6-pixel cells: a
  periodic pattern of two levels over a whole image;
- text on a window, rendered at three times the width and folded into the red, green
  and blue subpixels, as ClearType does: coloured fringes on every glyph;
- a cartoon: flat shapes with linear gradient fills and anti-aliased outlines.

The fourth set (``--set fourth``), made after the third had been measured, holds layouts
and palettes none of the others has, from seeds:

- a game's tile map: 20 tiles of 16 x 16 pixels (noise, bricks, waves, discs), each of
  3 to 7 colours, laid on a grid in runs, and 40 round sprites at any position;
- a photo (the rocket) ordered-dithered (8 x 8 Bayer) to the 3-3-2 levels: an image
  already of few colours, in a periodic pattern;
- a panorama 2592 x 400: five photos side by side, each scaled to 400 rows;
- a tall infographic 360 x 3000: bars, discs and lines of text.

The fifth set (``--set fifth``), made after the fourth had been measured and the channel
weights and palette order tried on all four, holds kinds none of them has, from seeds:

- a night photo: the rocket at 12% of its light with shot noise and read noise, and 12
  lamps with a warm glow (dark, noisy and colour at once);
- a radiograph: grey within levels 60 to 115, soft overlapping shapes and fine noise;
- an RGBA icon sheet: 48 rounded icons with gradients, white glyphs and soft shadows on
  a transparent ground;
- a knitted fabric of 2 MP: a 12 x 8 stitch repeated in bands of three yarns, shaded,
  its rows swaying, with noise (a periodic texture at a size the benchmarks run fast);
- a street map: flat land-use cells, hatched parks, a river, roads and labels.

The sixth set (``--set sixth``), made after method cm's speed had been measured and no
size change taken, holds kinds none of the five has, from seeds and the repository's own
samples (nothing downloaded):

- a scanned page of 2.2 MP (A4 at 150 dpi): off-white paper with fibres and noise, grey
  text, a coloured stamp and the scanner's slight shading;
- a thermal image: a smooth temperature field with warm bodies and noise through the
  inferno colour map (colours along one curve, as plots and false-colour images have);
- a web page in a dark theme: near-black panels, grey text, coloured accents and two
  photo inserts (samples/astronaut.png and samples/coffee.bmp scaled down);
- a light web page with the same layout, the photos larger: mixed flat and photo
  content in one image.

The seventh set (``--set seventh``), made after images with alpha were found fitted on
their raw channels, holds kinds none of the six has, again from seeds and the samples:

- a technical drawing of 2 MP: antialiased black lines, circles and dimension text on
  white, with a hatched section (fine periodic diagonals) and thin blue centre lines;
- a product cut-out (RGBA): samples/coffee.bmp cut to a rectangle with a 2-px
  antialiased edge and a soft drop shadow (black at falling alpha) on a transparent
  ground, colour kept under alpha 0 as some exporters leave it;
- a QR-code-like grid of 8-px black and white modules with its three finder squares;
- a photo shown at twice its size, nearest neighbour (as a HiDPI screenshot of it is):
  every 2 x 2 block one colour.

The eighth set (``--set eighth``), made after ordered dither of a ramp was found to cost
method cm 20 times WebP's file, holds ordered dither of several kinds, from formulas and
the samples:

- a 768 x 512 horizontal ramp dithered by the 4 x 4 Bayer matrix to black and white;
- a diagonal ramp dithered (4 x 4) to 4 greys, whose pattern repeats 4 rows up and 4
  columns right;
- samples/camera.png dithered by the 8 x 8 matrix to black and white (a 1-bit rendering);
- a sky gradient with a sun's glow dithered (4 x 4) to 3 levels a channel;
- samples/astronaut.png dithered (4 x 4) to the 216 web-safe colours, as 1990s GIFs were.

The ninth set (``--set ninth``), made after a 16 x 16 icon was found larger in method cm
than in WebP lossless by the file's fixed bytes alone, holds small images, where a
format's framing is a large part of the file:

- a 16 x 16 favicon and a 48 x 48 icon from samples/astronaut.png's face, a 32 x 32 icon
  from samples/logo.png;
- a 32 x 32 rounded icon with a glyph and alpha (one of the fifth set's icons, smaller);
- a 24 x 24 sprite of 6 colours, drawn by formula (pixel art at its own size);
- a 128 x 85 thumbnail of samples/coffee.bmp;
- a 120 x 32 button label: anti-aliased white text on a gradient;
- a 64 x 64 checkerboard of 4-pixel squares and a 96 x 24 strip of 3-pixel stripes;
- two gradient strips as web pages tile them: 1 x 300 (light blue to white, 46 colours)
  and 600 x 1 (red to blue, 343 colours).

The tenth set (``--set tenth``), made after a fax-like page was found larger in method cm
than in WebP lossless, holds text, from formulas:

- a 1728 x 2200 fax page (A4 at 200 dpi): 60 lines of words in black on white, bilevel;
- a 960 x 600 terminal: monospace words in five colours on a dark ground, anti-aliased;
- a 1024 x 640 spreadsheet: a grid of numbers in cells, a header row, two filled columns.
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
SCIKIT_IMAGE_GREY = ("coins.png", "cell.png", "page.png", "text.png", "clock_motion.png",
                     "microaneurysms.png")
THIRD_SOURCES = ("chelsea.png", "motorcycle_right.png")  # the third set's sources
FOURTH_SOURCES = ("chelsea.png", "rocket.jpg", "motorcycle_left.png", "brick.png",
                  "gravel.png")  # the fourth set's sources
FIFTH_SOURCES = ("rocket.jpg",)  # the fifth set's source
SIXTH_INSERTS = ("samples/astronaut.png", "samples/coffee.bmp")  # the web pages' photos
SEVENTH_SOURCES = ("samples/coffee.bmp", "samples/astronaut.png")  # cut-out, doubled photo
EIGHTH_SOURCES = ("samples/camera.png", "samples/astronaut.png")  # dithered photos
STRIPE_COLOURS = np.array([[40, 40, 200], [200, 200, 200], [90, 60, 30]], np.uint8)
NINTH_SOURCES = ("samples/astronaut.png", "samples/logo.png", "samples/coffee.bmp")
BAYER_8 = np.array([[0, 32, 8, 40, 2, 34, 10, 42], [48, 16, 56, 24, 50, 18, 58, 26],
                    [12, 44, 4, 36, 14, 46, 6, 38], [60, 28, 52, 20, 62, 30, 54, 22],
                    [3, 35, 11, 43, 1, 33, 9, 41], [51, 19, 59, 27, 49, 17, 57, 25],
                    [15, 47, 7, 39, 13, 45, 5, 37], [63, 31, 55, 23, 61, 29, 53, 21]])


def scikit_image_photos(folder: Path, names: tuple[str, ...]) -> None:
    """Extract ``names`` from scikit-image's wheel, fetched by pip."""
    with tempfile.TemporaryDirectory() as download:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "--only-binary=:all:", "-d", download, "scikit-image"], check=True)
        [wheel] = Path(download).glob("scikit_image-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            for name in names:
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


def gradient(height: int = 768, width: int = 1024) -> np.ndarray:
    """uint8 (H, W, 3) BGR: three smooth ramps and a wave, no noise (banding shows)."""
    rows, columns = np.mgrid[0:height, 0:width]
    y, x = rows / height, columns / width
    image = np.stack([255 * (1 - x * y), 255 * (0.5 + 0.5 * np.sin(6 * y)), 255 * x], axis=-1)
    return np.clip(image, 0, 255).astype(np.uint8)


def sky(rng: np.random.Generator, height: int = 768, width: int = 1024) -> np.ndarray:
    """uint8 (H, W, 3) BGR: a vertical dusk gradient with sensor noise (sigma 2)."""
    t = np.linspace(0, 1, height)[:, None, None]
    image = np.broadcast_to(np.array([0.2, 0.4, 0.95]) + np.array([0.7, 0.3, -0.3]) * t,
                            (height, width, 3)) * 255
    return np.clip(image + rng.normal(0, 2, image.shape), 0, 255).astype(np.uint8)


def mandelbrot(height: int = 600, width: int = 900, iterations: int = 80) -> np.ndarray:
    """uint8 (H, W, 3) BGR: escape-time bands, symmetric top to bottom."""
    plane = (np.linspace(-2.2, 0.8, width)[None, :]
             + 1j * np.linspace(-1.1, 1.1, height)[:, None])
    z = np.zeros_like(plane)
    counts = np.zeros(plane.shape)
    for _ in range(iterations):
        inside = np.abs(z) <= 4
        z[inside] = z[inside] ** 2 + plane[inside]
        counts[inside] += 1
    level = np.log1p(counts) / np.log1p(iterations)
    image = np.stack([255 * (1 - level), 255 * np.sin(3 * level) ** 2, 255 * level ** 0.5],
                     axis=-1)
    return image.astype(np.uint8)


def chart(height: int = 600, width: int = 800) -> np.ndarray:
    """uint8 (H, W, 3) BGR: five anti-aliased data series, a legend and axes on white."""
    image = np.full((height, width, 3), 250, np.uint8)
    series = ((180, 119, 31), (14, 127, 255), (44, 160, 44), (40, 39, 214), (189, 103, 148))
    for number, colour in enumerate(series):
        steps = np.arange(70)
        points = np.stack([60 + 10 * steps,
                           300 + 120 * np.sin(steps / (5 + number)) + 20 * number], axis=-1)
        cv2.polylines(image, [points.astype(np.int32)], False, colour, 2, cv2.LINE_AA)
        top = 40 + 30 * number
        cv2.rectangle(image, (620, top), (640, top + 20), colour, -1)
        cv2.putText(image, f"series {number}", (650, top + 17), cv2.FONT_HERSHEY_SIMPLEX,
                    0.5, (40, 40, 40), 1, cv2.LINE_AA)
    cv2.line(image, (60, 540), (760, 540), (0, 0, 0), 1, cv2.LINE_AA)
    cv2.line(image, (60, 40), (60, 540), (0, 0, 0), 1, cv2.LINE_AA)
    return image


def colour_wheel(size: int = 512) -> np.ndarray:
    """uint8 (S, S, 4) BGRA: hue by angle, saturation by radius, alpha fading at the rim."""
    rows, columns = np.mgrid[0:size, 0:size] - size / 2
    radius = np.hypot(rows, columns) / (size / 2)
    hue = (np.arctan2(rows, columns) + np.pi) / (2 * np.pi) * 180
    hsv = np.stack([hue, np.clip(radius, 0, 1) * 255, np.full_like(radius, 230)], axis=-1)
    bgr = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)
    alpha = (np.clip((1 - radius) * 40, 0, 1) * 255).astype(np.uint8)
    return np.dstack([bgr, alpha])


def grey_under_alpha(rng: np.random.Generator, size: int = 512) -> np.ndarray:
    """uint8 (S, S, 2) grey + alpha: grey noise (sigma 20) under a radial alpha ramp."""
    rows, columns = np.mgrid[0:size, 0:size] - size / 2
    alpha = np.clip(1 - np.hypot(rows, columns) / (size / 2), 0, 1) * 255
    grey = np.clip(128 + rng.normal(0, 20, alpha.shape), 0, 255)
    return np.dstack([grey, alpha]).astype(np.uint8)


def second_synthetic_images(folder: Path) -> None:
    from PIL import Image  # cv2 writes no grey + alpha PNG

    rng = np.random.default_rng(2)
    images = {
        "syn-gradient.png": gradient(),
        "syn-sky.png": sky(rng),
        "syn-noise.png": rng.integers(0, 256, (512, 512, 3), dtype=np.uint8),
        "syn-mandelbrot.png": mandelbrot(),
        "syn-chart.png": chart(),
        "syn-wheel-rgba.png": colour_wheel(),
    }
    for name, image in images.items():
        cv2.imwrite(str(folder / name), image)
    Image.fromarray(grey_under_alpha(rng), "LA").save(folder / "syn-grey-alpha.png")


def halftone(grey: np.ndarray, cell: int = 6) -> np.ndarray:
    """uint8 (H, W) of 0 and 255: a clustered-dot screen at 45 degrees over ``grey``."""
    rows, columns = np.mgrid[0:grey.shape[0], 0:grey.shape[1]].astype(np.float64)
    u, v = (rows + columns) / np.sqrt(2), (rows - columns) / np.sqrt(2)
    spot = (np.cos(2 * np.pi * u / cell) + np.cos(2 * np.pi * v / cell) + 2) / 4  # 0 to 1
    return np.where(grey / 255.0 > spot, 255, 0).astype(np.uint8)


def subpixel_text(rng: np.random.Generator, height: int = 480, width: int = 720) -> np.ndarray:
    """uint8 (H, W, 3) BGR: lines of text drawn at 3x the width, each third of a pixel
    given to one subpixel (R, G, B from the left), on a window with a title bar."""
    wide = np.full((height, width * 3), 250, np.uint8)
    wide[:36] = 60
    cv2.putText(wide, "Settings - Display", (30, 26), cv2.FONT_HERSHEY_SIMPLEX, 0.7, 235, 1,
                cv2.LINE_AA)
    words = ["palette", "colour", "index", "stripe", "coder", "match", "span", "render"]
    for line in range(16):
        text = " ".join(rng.choice(words, 6))
        cv2.putText(wide, text, (40, 70 + 26 * line), cv2.FONT_HERSHEY_SIMPLEX, 0.55,
                    int(rng.integers(0, 90)), 1, cv2.LINE_AA)
    subpixels = wide.reshape(height, width, 3)  # R, G, B thirds of each pixel
    return np.ascontiguousarray(subpixels[:, :, ::-1])


def cartoon(rng: np.random.Generator, height: int = 768, width: int = 1024) -> np.ndarray:
    """uint8 (H, W, 3) BGR: 40 shapes with linear gradient fills and dark anti-aliased
    outlines over a sky gradient."""
    rows = np.mgrid[0:height, 0:width][0]
    image = np.empty((height, width, 3), np.float64)
    image[:] = np.array([235, 200, 150]) - rows[:, :, None] / height * np.array([60, 60, 20])
    for _ in range(40):
        mask = np.zeros((height, width), np.uint8)
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        axes = (int(rng.integers(30, 200)), int(rng.integers(30, 150)))
        angle = float(rng.uniform(0, 180))
        cv2.ellipse(mask, centre, axes, angle, 0, 360, 255, -1, cv2.LINE_AA)
        start, end = rng.uniform(40, 255, 3), rng.uniform(40, 255, 3)
        along = np.clip((rows - centre[1] + axes[1]) / (2 * axes[1]), 0, 1)[:, :, None]
        fill = start * (1 - along) + end * along
        weight = (mask / 255.0)[:, :, None]
        image = image * (1 - weight) + fill * weight
        outline = np.zeros((height, width), np.uint8)
        cv2.ellipse(outline, centre, axes, angle, 0, 360, 255, 2, cv2.LINE_AA)
        image = image * (1 - (outline / 255.0)[:, :, None]) + 30 * (outline / 255.0)[:, :, None]
    return np.clip(image, 0, 255).round().astype(np.uint8)


def third_images(folder: Path) -> None:
    """The third set, from the two photos of ``THIRD_SOURCES`` in ``folder``."""
    rng = np.random.default_rng(3)
    cat = cv2.imread(str(folder / "chelsea.png"))
    _, jpeg = cv2.imencode(".jpg", cat, [cv2.IMWRITE_JPEG_QUALITY, 20])
    cv2.imwrite(str(folder / "jpeg-q20-cat.png"), cv2.imdecode(jpeg, cv2.IMREAD_COLOR))
    motorcycle = cv2.imread(str(folder / "motorcycle_right.png")).astype(np.float64)
    grain = rng.normal(0, 7, motorcycle.shape[:2])[:, :, None]
    cv2.imwrite(str(folder / "grain-motorcycle.png"),
                np.clip(motorcycle + grain, 0, 255).round().astype(np.uint8))
    cv2.imwrite(str(folder / "halftone-cat.png"),
                halftone(cv2.cvtColor(cat, cv2.COLOR_BGR2GRAY).astype(np.float64)))
    cv2.imwrite(str(folder / "subpixel-text.png"), subpixel_text(rng))
    cv2.imwrite(str(folder / "cartoon.png"), cartoon(rng))


def tile_map(rng: np.random.Generator, height: int = 768, width: int = 1280,
             tile: int = 16) -> np.ndarray:
    """uint8 (H, W, 3): 20 tiles of 3 to 7 colours on a grid, each cell repeating the
    one to its left (70%) or above (50% of the rest), and 40 round sprites of 24 x 24."""
    rows, columns = np.mgrid[0:tile, 0:tile]
    tiles = []
    for number in range(20):
        colours = rng.integers(0, 256, (int(rng.integers(3, 8)), 3)).astype(np.uint8)
        kind = number % 4
        if kind == 0:  # noise
            pattern = rng.integers(0, len(colours), (tile, tile))
        elif kind == 1:  # bricks, some chipped
            pattern = ((rows % 8 == 0) | ((columns + rows // 8 * 8) % 16 == 0)).astype(int)
            pattern += rng.random((tile, tile)) < 0.1
        elif kind == 2:  # waves
            pattern = np.rint((np.sin(columns / 2.5 + rows / 4) + 1) * (len(colours) - 1) / 2)
        else:  # a disc on a hatched ground
            pattern = (((columns - 7.5) ** 2 + (rows - 7.5) ** 2) < 30) * 2
            pattern += (columns + rows) % 5 == 0
        tiles.append(colours[np.clip(pattern.astype(int), 0, len(colours) - 1)])
    grid = np.zeros((height // tile, width // tile), np.int64)
    for r in range(grid.shape[0]):
        for c in range(grid.shape[1]):
            if c and rng.random() < 0.7:
                grid[r, c] = grid[r, c - 1]
            elif r and rng.random() < 0.5:
                grid[r, c] = grid[r - 1, c]
            else:
                grid[r, c] = rng.integers(0, len(tiles))
    image = np.stack(tiles)[grid].transpose(0, 2, 1, 3, 4).reshape(height, width, 3)
    sprite = rng.integers(0, 256, (24, 24, 3)).astype(np.uint8)
    disc = np.hypot(*np.mgrid[-11.5:12.5, -11.5:12.5]) < 11
    for _ in range(40):
        y, x = int(rng.integers(0, height - 24)), int(rng.integers(0, width - 24))
        image[y:y + 24, x:x + 24][disc] = sprite[disc]
    return image


def bayer_dithered(photo: np.ndarray, levels: tuple[int, ...] = (4, 8, 8)) -> np.ndarray:
    """uint8 (H, W, 3) BGR ``photo`` at ``levels`` per channel (blue, green, red),
    ordered-dithered by the 8 x 8 Bayer matrix."""
    height, width = photo.shape[:2]
    threshold = np.tile(BAYER_8 / 64 - 0.5, (height // 8 + 1, width // 8 + 1))
    steps = np.array(levels) - 1
    level = np.floor(photo / 255 * steps + 0.5 + threshold[:height, :width, None])
    return np.rint(np.clip(level, 0, steps) / steps * 255).astype(np.uint8)


def panorama(photos: list[np.ndarray], height: int = 400) -> np.ndarray:
    """uint8 (height, W, 3): BGR ``photos`` (grey ones made BGR) scaled to ``height`` rows
    and set side by side."""
    parts = []
    for photo in photos:
        if photo.ndim == 2:
            photo = cv2.cvtColor(photo, cv2.COLOR_GRAY2BGR)
        width = round(photo.shape[1] * height / photo.shape[0])
        parts.append(cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA))
    return np.hstack(parts)


def infographic(rng: np.random.Generator, height: int = 3000, width: int = 360) -> np.ndarray:
    """uint8 (H, W, 3): 40 rows of a coloured bar, a disc and a line of text."""
    image = np.full((height, width, 3), 245, np.uint8)
    for item in range(40):
        top = 20 + item * 72
        colour = tuple(int(v) for v in rng.integers(40, 220, 3))
        cv2.rectangle(image, (20, top), (20 + int(rng.integers(40, 320)), top + 30), colour, -1)
        cv2.putText(image, f"item {item}: {rng.integers(0, 1000)}", (24, top + 52),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, (40, 40, 40), 1, cv2.LINE_AA)
        cv2.circle(image, (330, top + 15), 12, colour, -1, cv2.LINE_AA)
    return image


def fourth_images(folder: Path) -> None:
    """The fourth set, from the photos of ``FOURTH_SOURCES`` in ``folder``."""
    rng = np.random.default_rng(4)
    cv2.imwrite(str(folder / "tilemap.png"), tile_map(rng))
    rocket = cv2.imread(str(folder / "rocket.jpg")).astype(np.float64)
    cv2.imwrite(str(folder / "bayer-rocket.png"), bayer_dithered(rocket))
    photos = [cv2.imread(str(folder / name), cv2.IMREAD_UNCHANGED) for name in FOURTH_SOURCES]
    cv2.imwrite(str(folder / "panorama.png"), panorama(photos))
    cv2.imwrite(str(folder / "tall-infographic.png"), infographic(rng))


def night_photo(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """uint8 (H, W, 3) BGR: ``photo`` at 12% of its light with shot noise (Poisson, about 14
    photons at white) and read noise (sigma 1), and 12 lamps with a warm glow."""
    height, width = photo.shape[:2]
    light = photo.astype(np.float64) * 0.12
    rows, columns = np.mgrid[0:height, 0:width]
    for _ in range(12):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        glow = np.exp(-((columns - x) ** 2 + (rows - y) ** 2) / (2 * rng.uniform(4, 30) ** 2))
        light += glow[:, :, None] * np.array([90.0, 170.0, 255.0]) * rng.uniform(0.5, 1)
    photons = rng.poisson(np.clip(light, 0, 255) * (14 / 255.0)) * (255 / 14.0)
    return np.clip(photons + rng.normal(0, 1, light.shape), 0, 255).round().astype(np.uint8)


def radiograph(rng: np.random.Generator, height: int = 900, width: int = 700) -> np.ndarray:
    """uint8 (H, W) grey within levels 60 to 115: soft overlapping bone-like shapes, a
    slow falloff and fine noise (sigma 1.2): low contrast, one channel."""
    rows, columns = np.mgrid[0:height, 0:width].astype(np.float64)
    image = 60 + 12 * (1 - rows / height) + 6 * np.sin(columns / width * np.pi)
    for _ in range(14):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        long, short = rng.uniform(80, 300), rng.uniform(15, 45)
        angle = rng.uniform(0, np.pi)
        u = (columns - x) * np.cos(angle) + (rows - y) * np.sin(angle)
        v = -(columns - x) * np.sin(angle) + (rows - y) * np.cos(angle)
        image += rng.uniform(8, 18) * np.exp(-(u / long) ** 4 - (v / short) ** 2)
    image += rng.normal(0, 1.2, image.shape)
    return np.clip(image, 0, 255).round().astype(np.uint8)


def icon_sheet(rng: np.random.Generator, size: int = 64, across: int = 8, down: int = 6
               ) -> np.ndarray:
    """uint8 (H, W, 4) BGRA: 48 rounded-square icons with a vertical gradient, a white
    glyph and a soft drop shadow, on a transparent sheet."""
    image = np.zeros((down * size, across * size, 4), np.float64)
    rows = np.mgrid[0:size, 0:size][0]
    for row in range(down):
        for column in range(across):
            shape = np.zeros((size, size), np.uint8)
            cv2.rectangle(shape, (10, 8), (size - 12, size - 14), 255, -1, cv2.LINE_AA)
            shape = cv2.GaussianBlur(shape, (0, 0), 1.2)  # rounded, anti-aliased corners
            shadow = cv2.GaussianBlur(np.roll(shape, (4, 2), (0, 1)), (0, 0), 3) * 0.45
            top, bottom = rng.uniform(60, 255, 3), rng.uniform(20, 200, 3)
            fill = top + (bottom - top) * (rows / size)[:, :, None]
            glyph = np.zeros((size, size), np.uint8)
            if (row + column) % 3 == 0:
                cv2.circle(glyph, (size // 2 - 1, size // 2 - 3), 12, 255, 3, cv2.LINE_AA)
            elif (row + column) % 3 == 1:
                cv2.putText(glyph, chr(65 + (row * across + column) % 26), (21, 42),
                            cv2.FONT_HERSHEY_SIMPLEX, 1.0, 255, 2, cv2.LINE_AA)
            else:
                cv2.line(glyph, (20, 40), (44, 18), 255, 4, cv2.LINE_AA)
            alpha, glyph_share = shape / 255.0, glyph / 255.0
            colour = fill * (1 - glyph_share[:, :, None]) + 255 * glyph_share[:, :, None]
            coverage = alpha + shadow / 255.0 * (1 - alpha)
            # Over a shadow (black) the colour shows as much as its own alpha covers.
            shown = colour * (alpha / np.maximum(coverage, 1e-9))[:, :, None]
            cell = image[row * size:(row + 1) * size, column * size:(column + 1) * size]
            cell[:, :, :3], cell[:, :, 3] = shown, coverage * 255
    return np.clip(image, 0, 255).round().astype(np.uint8)


def knit(rng: np.random.Generator, height: int = 1200, width: int = 1600) -> np.ndarray:
    """uint8 (H, W, 3) BGR: a knitted fabric, a 12 x 8 stitch in three yarn colours
    repeated over a 2-MP image, shaded, with a slow sway of the rows and noise (sigma 3)."""
    rows, columns = np.mgrid[0:height, 0:width].astype(np.float64)
    columns = columns + 3 * np.sin(rows / 150)
    u, v = (columns % 12) / 12, (rows % 8) / 8
    stitch = np.cos(np.pi * (2 * np.abs(u - 0.5) - v)) * 0.5 + 0.5  # a V of yarn
    yarns = rng.uniform(40, 220, (3, 3))
    stripe = ((rows // 24) % 3).astype(int)  # bands of colour, three rows of stitches each
    image = yarns[stripe] * (0.55 + 0.45 * stitch)[:, :, None]
    image += rng.normal(0, 3, image.shape)
    return np.clip(image, 0, 255).round().astype(np.uint8)


def street_map(rng: np.random.Generator, height: int = 900, width: int = 1200) -> np.ndarray:
    """uint8 (H, W, 3) BGR: land-use regions (Voronoi cells in 7 flat colours, parks
    hatched), a river, roads and labels, all anti-aliased."""
    uses = np.array([[230, 235, 240], [200, 225, 200], [215, 215, 235], [190, 220, 240],
                     [225, 225, 225], [235, 230, 210], [205, 235, 225]], np.float64)
    sites = rng.uniform(0, [width, height], (60, 2))
    rows, columns = np.mgrid[0:height, 0:width]
    nearest = np.argmin((columns[:, :, None] - sites[:, 0]) ** 2
                        + (rows[:, :, None] - sites[:, 1]) ** 2, axis=2)
    use = rng.integers(0, len(uses), len(sites))[nearest]
    image = uses[use].astype(np.uint8)
    parks = (use == 1) & ((columns + rows) % 9 == 0)
    image[parks] = (150, 190, 150)
    river = [(0, int(height * 0.4))]
    for x in range(60, width + 60, 60):
        river.append((x, int(river[-1][1] + rng.integers(-40, 41))))
    cv2.polylines(image, [np.array(river, np.int32)], False, (220, 180, 120), 14, cv2.LINE_AA)
    for _ in range(25):
        start = tuple(int(v) for v in rng.uniform(0, [width, height]))
        end = tuple(int(v) for v in rng.uniform(0, [width, height]))
        cv2.line(image, start, end, (150, 150, 150), 7, cv2.LINE_AA)
        cv2.line(image, start, end, (255, 255, 255), 5, cv2.LINE_AA)
    for _ in range(30):
        place = (int(rng.integers(0, width - 80)), int(rng.integers(15, height)))
        cv2.putText(image, "Street " + str(int(rng.integers(1, 99))), place,
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4, (60, 60, 60), 1, cv2.LINE_AA)
    return image


def fifth_images(folder: Path) -> None:
    """The fifth set, from the photo of ``FIFTH_SOURCES`` in ``folder``."""
    rng = np.random.default_rng(5)
    rocket = cv2.imread(str(folder / "rocket.jpg"))
    cv2.imwrite(str(folder / "night-rocket.png"), night_photo(rocket, rng))
    cv2.imwrite(str(folder / "radiograph.png"), radiograph(rng))
    cv2.imwrite(str(folder / "icons-rgba.png"), icon_sheet(rng))
    cv2.imwrite(str(folder / "knit.png"), knit(rng))
    cv2.imwrite(str(folder / "street-map.png"), street_map(rng))


def scanned_page(rng: np.random.Generator, height: int = 1754, width: int = 1240
                 ) -> np.ndarray:
    """uint8 (H, W, 3) BGR: an A4 page at 150 dpi, off-white paper with fibres, noise and a
    slight shading from the scanner's lamp, 40 lines of grey text and a red stamp."""
    rows, columns = np.mgrid[0:height, 0:width]
    shade = 1.0 - 0.04 * ((columns / width - 0.5) ** 2 + (rows / height - 0.3) ** 2)
    fibres = cv2.GaussianBlur(rng.normal(0, 1, (height, width)), (0, 0), 1.5) * 2.0
    paper = (np.array([226.0, 238.0, 244.0]) * shade[:, :, None] + fibres[:, :, None]
             + rng.normal(0, 1.2, (height, width, 3)))
    ink = np.zeros((height, width), np.uint8)
    words = ["palette", "colour", "scanned", "invoice", "total", "page", "stamp", "date"]
    for line in range(40):
        text = " ".join(rng.choice(words, int(rng.integers(5, 9))))
        cv2.putText(ink, text, (110, 180 + 36 * line), cv2.FONT_HERSHEY_SIMPLEX, 0.75, 255, 2,
                    cv2.LINE_AA)
    cv2.putText(ink, "REPORT", (110, 120), cv2.FONT_HERSHEY_DUPLEX, 1.6, 255, 3, cv2.LINE_AA)
    coverage = cv2.GaussianBlur(ink.astype(np.float64) / 255.0, (0, 0), 0.7)[:, :, None]
    page = paper * (1 - coverage) + np.array([60.0, 55.0, 50.0]) * coverage
    stamp = np.zeros((height, width), np.uint8)
    cv2.circle(stamp, (950, 1500), 110, 255, 8, cv2.LINE_AA)
    cv2.putText(stamp, "PAID", (860, 1520), cv2.FONT_HERSHEY_DUPLEX, 2.0, 255, 5, cv2.LINE_AA)
    blotch = stamp.astype(np.float64) / 255.0 * rng.uniform(0.55, 0.9, (height, width))
    page = page * (1 - blotch[:, :, None]) + np.array([70.0, 60.0, 200.0]) * blotch[:, :, None]
    return np.clip(page, 0, 255).round().astype(np.uint8)


def thermal(rng: np.random.Generator, height: int = 480, width: int = 640) -> np.ndarray:
    """uint8 (H, W, 3) BGR: a smooth temperature field, six warm bodies and sensor noise
    (sigma 1.5 levels) through OpenCV's inferno colour map."""
    rows, columns = np.mgrid[0:height, 0:width]
    field = 60 + 25 * np.sin(columns / 97.0) * np.cos(rows / 71.0)
    for _ in range(6):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        sx, sy = rng.uniform(15, 60), rng.uniform(30, 110)
        field += rng.uniform(80, 150) * np.exp(-((columns - x) / sx) ** 2 - ((rows - y) / sy) ** 2)
    field += rng.normal(0, 1.5, field.shape)
    grey = np.clip(field, 0, 255).round().astype(np.uint8)
    return cv2.applyColorMap(grey, cv2.COLORMAP_INFERNO)


def web_page(rng: np.random.Generator, photos: list[np.ndarray], dark: bool,
             height: int = 900, width: int = 1440) -> np.ndarray:
    """uint8 (H, W, 3) BGR: a page with a header bar, a side menu, cards of text, coloured
    buttons and ``photos`` (BGR) inserted, in a dark theme (near-black panels, grey text)
    or a light one (the photos twice as large)."""
    ground, panel, text, muted = (((18, 18, 20), (32, 30, 30), (215, 215, 210), (120, 118, 115))
                                  if dark else
                                  ((245, 245, 245), (255, 255, 255), (35, 35, 35), (130, 130, 130)))
    image = np.full((height, width, 3), ground, np.uint8)
    cv2.rectangle(image, (0, 0), (width, 56), panel, -1)
    cv2.putText(image, "gcp gallery", (24, 38), cv2.FONT_HERSHEY_DUPLEX, 0.9, text, 1,
                cv2.LINE_AA)
    cv2.rectangle(image, (0, 56), (220, height), panel, -1)
    for item in range(12):
        cv2.putText(image, f"Section {item + 1}", (24, 100 + 40 * item),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.55, muted, 1, cv2.LINE_AA)
    accents = [(235, 130, 60), (90, 200, 120), (60, 90, 230), (200, 80, 200)]
    scale = 1 if dark else 2
    left = 250
    for index, photo in enumerate(photos):
        size = 180 * scale
        insert = cv2.resize(photo, (size, size * photo.shape[0] // photo.shape[1]),
                            interpolation=cv2.INTER_AREA)
        top = 90 + index * (insert.shape[0] + 30) if dark else 90
        image[top:top + insert.shape[0], left:left + insert.shape[1]] = insert
        if not dark:
            left += insert.shape[1] + 30
    column = 250 + (180 + 40 if dark else 0)
    top = 90 if dark else 90 + 180 * scale + 40
    for card in range(4):
        y = top + card * 140
        if y + 120 > height:
            break
        cv2.rectangle(image, (column, y), (width - 30, y + 120), panel, -1, cv2.LINE_AA)
        for line in range(3):
            words = " ".join(rng.choice(LOREM, int(rng.integers(6, 12))))
            cv2.putText(image, words, (column + 16, y + 30 + 26 * line),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.5, text if line == 0 else muted, 1,
                        cv2.LINE_AA)
        cv2.rectangle(image, (width - 150, y + 80), (width - 50, y + 108),
                      accents[card % len(accents)], -1, cv2.LINE_AA)
    return image


def sixth_images(folder: Path) -> None:
    """The sixth set, with the photos of ``SIXTH_INSERTS`` from the repository."""
    rng = np.random.default_rng(6)
    photos = [cv2.imread(str(ROOT / name)) for name in SIXTH_INSERTS]
    cv2.imwrite(str(folder / "scanned-page.png"), scanned_page(rng))
    cv2.imwrite(str(folder / "thermal.png"), thermal(rng))
    cv2.imwrite(str(folder / "web-dark.png"), web_page(rng, photos, dark=True))
    cv2.imwrite(str(folder / "web-light.png"), web_page(rng, photos, dark=False))


def technical_drawing(rng: np.random.Generator, height: int = 1200, width: int = 1600
                      ) -> np.ndarray:
    """uint8 (H, W, 3) BGR: black antialiased outlines, circles, dimension lines and text
    on white, a section hatched at 45 degrees every 6 px, and blue dash-dot centre lines."""
    image = np.full((height, width, 3), 255, np.uint8)
    black, blue = (0, 0, 0), (200, 80, 0)
    hatch = np.zeros((height, width), np.uint8)
    for start in range(-height, width, 6):
        cv2.line(hatch, (start, height), (start + height, 0), 255, 1, cv2.LINE_AA)
    section = np.zeros((height, width), np.uint8)
    cv2.rectangle(section, (300, 350), (700, 850), 255, -1)
    cv2.circle(section, (500, 600), 90, 0, -1)
    shade = hatch * (section > 0)
    image -= shade[:, :, None]
    cv2.rectangle(image, (300, 350), (700, 850), black, 2, cv2.LINE_AA)
    cv2.circle(image, (500, 600), 90, black, 2, cv2.LINE_AA)
    for _ in range(24):
        x, y = int(rng.integers(800, 1500)), int(rng.integers(150, 1050))
        radius = int(rng.integers(20, 120))
        cv2.circle(image, (x, y), radius, black, 1 + int(rng.integers(0, 2)), cv2.LINE_AA)
    for x in range(820, 1500, 170):
        cv2.line(image, (x, 120), (x, 1080), blue, 1, cv2.LINE_AA)
    for y in range(200, 1100, 220):
        cv2.line(image, (250, y), (1550, y), black, 1, cv2.LINE_AA)
        cv2.putText(image, f"{int(rng.integers(10, 999))}.{int(rng.integers(0, 9))} mm",
                    (260, y - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.6, black, 1, cv2.LINE_AA)
    cv2.rectangle(image, (40, 40), (width - 40, height - 40), black, 3, cv2.LINE_AA)
    return image


def product_cutout(photo: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 4) BGRA: ``photo`` cut to a rectangle with a 2-px edge and a
    soft black drop shadow, on a transparent ground that keeps the photo's colour."""
    height, width = photo.shape[:2]
    shape = np.zeros((height, width), np.uint8)
    cv2.rectangle(shape, (60, 50), (width - 90, height - 80), 255, -1)
    shape = cv2.GaussianBlur(cv2.erode(shape, np.ones((25, 25), np.uint8)), (0, 0), 0.8)
    mask = cv2.dilate(shape, np.ones((25, 25), np.uint8))
    shadow = cv2.GaussianBlur(np.roll(mask, (18, 22), (0, 1)), (0, 0), 9) * 0.55
    alpha = np.maximum(mask.astype(np.float64), shadow)
    colour = photo.astype(np.float64) * (mask[:, :, None] / 255)  # black where the shadow is
    kept = np.where(alpha[:, :, None] > 0, colour, photo)
    return np.dstack([kept, alpha]).round().astype(np.uint8)


def qr_grid(rng: np.random.Generator, modules: int = 41, module: int = 8) -> np.ndarray:
    """uint8 (H, W) grey: random black and white modules of ``module`` px, a 4-module
    quiet zone and the three finder squares of a QR code."""
    grid = rng.integers(0, 2, (modules, modules)).astype(np.uint8)
    finder = np.zeros((7, 7), np.uint8)
    finder[[0, 6], :] = finder[:, [0, 6]] = 1
    finder[2:5, 2:5] = 1
    for top, left in ((0, 0), (0, modules - 7), (modules - 7, 0)):
        grid[top:top + 7, left:left + 7] = finder
    grid = np.pad(grid, 4)
    return ((1 - grid) * 255).repeat(module, 0).repeat(module, 1).astype(np.uint8)


def seventh_images(folder: Path) -> None:
    """The seventh set, from seeds and the photos of ``SEVENTH_SOURCES``."""
    rng = np.random.default_rng(7)
    coffee, astronaut = (cv2.imread(str(ROOT / name)) for name in SEVENTH_SOURCES)
    cv2.imwrite(str(folder / "technical-drawing.png"), technical_drawing(rng))
    cv2.imwrite(str(folder / "product-cutout.png"), product_cutout(coffee))
    cv2.imwrite(str(folder / "qr-grid.png"), qr_grid(rng))
    cv2.imwrite(str(folder / "doubled-photo.png"),
                astronaut.repeat(2, axis=0).repeat(2, axis=1))


BAYER_4 = np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]])


def ordered(values: np.ndarray, levels: int, matrix: np.ndarray) -> np.ndarray:
    """uint8 of ``values`` (floats 0 to 1, (H, W) or (H, W, C)) at ``levels`` evenly
    spaced levels, ordered-dithered by the Bayer ``matrix`` (n x n, entries 0 to n^2 - 1)."""
    height, width = values.shape[:2]
    side = matrix.shape[0]
    threshold = np.tile((matrix + 0.5) / side ** 2 - 0.5, (height // side + 1, width // side + 1))
    threshold = threshold[:height, :width]
    if values.ndim == 3:
        threshold = threshold[:, :, None]
    level = np.clip(np.floor(values * (levels - 1) + 0.5 + threshold), 0, levels - 1)
    return np.rint(level / (levels - 1) * 255).astype(np.uint8)


def sky_gradient(height: int = 768, width: int = 1024) -> np.ndarray:
    """float (H, W, 3) BGR, 0 to 1: a sky from deep blue to a pale horizon, with a warm
    glow around a low sun on the right."""
    rows, columns = np.mgrid[0:height, 0:width] / np.array([height, width])[:, None, None]
    top, horizon = np.array([0.55, 0.25, 0.08]), np.array([0.95, 0.85, 0.80])
    sky = top + (horizon - top) * rows[..., None] ** 1.5
    glow = np.exp(-((columns - 0.8) ** 2 + (rows - 0.85) ** 2) / 0.05)[..., None]
    return np.clip(sky * (1 - glow) + np.array([0.55, 0.8, 1.0]) * glow, 0, 1)


def eighth_images(folder: Path) -> None:
    """The eighth set, ordered dither: from ramps and the photos of ``EIGHTH_SOURCES``."""
    camera, astronaut = (cv2.imread(str(ROOT / name), flags) for name, flags in
                         zip(EIGHTH_SOURCES, (cv2.IMREAD_GRAYSCALE, cv2.IMREAD_COLOR),
                             strict=True))
    rows, columns = np.mgrid[0:512, 0:768]
    cv2.imwrite(str(folder / "ramp-bayer-bw.png"), ordered(columns / 767, 2, BAYER_4))
    cv2.imwrite(str(folder / "diagonal-bayer-greys.png"),
                ordered((rows + columns) / 1278, 4, BAYER_4))
    cv2.imwrite(str(folder / "camera-bayer-bw.png"), ordered(camera / 255, 2, BAYER_8))
    cv2.imwrite(str(folder / "sky-bayer-colours.png"), ordered(sky_gradient(), 3, BAYER_4))
    cv2.imwrite(str(folder / "astronaut-bayer-websafe.png"),
                ordered(astronaut / 255, 6, BAYER_4))


def sprite(size: int = 24) -> np.ndarray:
    """uint8 (size, size, 3) BGR: a symmetric creature in 6 colours, outlined, on a flat
    background, as pixel art is drawn at its own size."""
    rows, columns = np.mgrid[0:size, 0:size] - (size - 1) / 2
    across = np.abs(columns)
    body = (rows / (size * 0.42)) ** 2 + (across / (size * 0.36)) ** 2 <= 1
    outline = body & ~((rows / (size * 0.42 - 1)) ** 2 + (across / (size * 0.36 - 1)) ** 2
                       <= 1)
    eyes = (np.abs(rows + size * 0.1) <= 1) & (np.abs(across - size * 0.15) <= 1)
    belly = body & (rows > size * 0.05) & (across < size * 0.2)
    feet = (rows > size * 0.38) & (across > size * 0.12) & (across < size * 0.3)
    colours = np.array([[70, 50, 40], [60, 170, 90], [30, 60, 20], [250, 250, 250],
                        [150, 220, 240], [40, 90, 200]], np.uint8)
    index = np.zeros((size, size), np.int64)
    index[body], index[belly], index[outline] = 1, 4, 2
    index[eyes], index[feet & ~body] = 3, 5
    return colours[index]


def button_label(height: int = 32, width: int = 120) -> np.ndarray:
    """uint8 (H, W, 3) BGR: white anti-aliased text on a vertical blue gradient."""
    rows = np.linspace(0, 1, height)[:, None, None]
    image = np.array([210, 140, 60]) * (1 - rows) + np.array([150, 80, 20]) * rows
    image = np.broadcast_to(image, (height, width, 3)).copy()
    text = np.zeros((height, width), np.uint8)
    cv2.putText(text, "Download", (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 255, 1,
                cv2.LINE_AA)
    share = (text / 255.0)[:, :, None]
    return np.rint(image * (1 - share) + 255 * share).astype(np.uint8)


def gradient_strip(start: tuple[int, int, int], end: tuple[int, int, int], length: int
                   ) -> np.ndarray:
    """uint8 (length, 3) BGR: a linear gradient from ``start`` to ``end``, rounded."""
    t = np.linspace(0, 1, length)[:, None]
    return np.rint(np.array(start) * (1 - t) + np.array(end) * t).astype(np.uint8)


def fax_page(rng: np.random.Generator, height: int = 2200, width: int = 1728
             ) -> np.ndarray:
    """uint8 (H, W): a bilevel page, black words (0) on white (255), as a fax has it."""
    page = np.full((height, width), 255, np.uint8)
    words = ["the", "invoice", "total", "amount", "payable", "within", "days", "of",
             "receipt", "please", "contact", "our", "office", "account", "number"]
    for line in range(60):
        x = 100
        while x < width - 260:
            word = str(rng.choice(words))
            cv2.putText(page, word, (x, 120 + line * 34), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 0, 2)
            x += 16 * len(word) + 14
    return np.where(page > 128, 255, 0).astype(np.uint8)


def terminal(rng: np.random.Generator, height: int = 600, width: int = 960) -> np.ndarray:
    """uint8 (H, W, 3) BGR: monospace words in five colours on a dark ground."""
    image = np.full((height, width, 3), 30, np.uint8)
    colours = [(200, 200, 200), (100, 200, 100), (240, 160, 80), (90, 120, 230),
               (90, 220, 220)]
    words = ["def", "return", "import", "self", "for", "in", "if", "else", "print", "x",
             "=", "+", "(", ")", ":", "numpy", "array", "0", "1", "42"]
    for line in range(height // 17 - 1):
        x = 8
        while x < width - 80 and rng.random() > 0.12:
            word = str(rng.choice(words))
            colour = colours[int(rng.integers(0, len(colours)))]
            cv2.putText(image, word, (x, 16 + line * 17), cv2.FONT_HERSHEY_PLAIN, 1.0, colour,
                        1, cv2.LINE_AA)
            x += 10 * len(word) + 10
    return image


def spreadsheet(rng: np.random.Generator, height: int = 640, width: int = 1024
                ) -> np.ndarray:
    """uint8 (H, W, 3) BGR: cells of 20 x 96 pixels with numbers, grid lines, a grey header
    row and two columns filled pale blue."""
    image = np.full((height, width, 3), 255, np.uint8)
    image[:, 96 * 2:96 * 3] = (250, 235, 215)
    image[:, 96 * 5:96 * 6] = (250, 235, 215)
    image[:20] = (225, 225, 225)
    for row in range(height // 20):
        for column in range(width // 96):
            text = f"Col {column + 1}" if row == 0 else f"{rng.uniform(0, 9999):.2f}"
            cv2.putText(image, text, (96 * column + 6, 20 * row + 15), cv2.FONT_HERSHEY_SIMPLEX,
                        0.4, (40, 40, 40), 1, cv2.LINE_AA)
    image[::20] = (200, 200, 200)
    image[:, ::96] = (200, 200, 200)
    return image


def tenth_images(folder: Path) -> None:
    """The tenth set, text: from formulas."""
    rng = np.random.default_rng(10)
    cv2.imwrite(str(folder / "fax-page.png"), fax_page(rng))
    cv2.imwrite(str(folder / "terminal.png"), terminal(rng))
    cv2.imwrite(str(folder / "spreadsheet.png"), spreadsheet(rng))


def ninth_images(folder: Path) -> None:
    """The ninth set, small images: from ``NINTH_SOURCES`` and formulas."""
    astronaut, logo, coffee = (cv2.imread(str(ROOT / name), cv2.IMREAD_UNCHANGED)
                               for name in NINTH_SOURCES)
    face = astronaut[40:230, 150:340]

    def smaller(image: np.ndarray, width: int, height: int) -> np.ndarray:
        return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)

    rows, columns = np.mgrid[0:64, 0:64]
    images = {
        "favicon-16.png": smaller(face, 16, 16),
        "icon-48.png": smaller(face, 48, 48),
        "logo-32.png": smaller(logo, 32, 32),
        "icon-alpha-32.png": icon_sheet(np.random.default_rng(9), 64, 1, 1)[::2, ::2],
        "sprite-24.png": sprite(),
        "thumb-128.png": smaller(coffee, 128, 85),
        "button-label.png": button_label(),
        "checker-64.png": ((rows // 4 + columns // 4) % 2 * 255).astype(np.uint8),
        "stripes-3.png": STRIPE_COLOURS[np.arange(96) // 3 % 3][None].repeat(24, axis=0),
        "gradient-1x300.png": gradient_strip((255, 240, 224), (255, 255, 255), 300)[:, None],
        "gradient-600x1.png": gradient_strip((40, 40, 200), (200, 120, 30), 600)[None],
    }
    for name, image in images.items():
        cv2.imwrite(str(folder / name), image)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--set", choices=("first", "second", "third", "fourth", "fifth",
                                          "sixth", "seventh", "eighth", "ninth", "tenth", "both",
                                          "all"),
                        default="first",
                        help="the first set of kinds, the second, the third, the fourth, "
                             "the fifth, the sixth, the seventh, the eighth, the ninth, the "
                             "tenth (see above), both first and second, or all ten")
    arguments = parser.parse_args()
    folder = arguments.folder
    folder.mkdir(parents=True, exist_ok=True)
    first = arguments.set in ("first", "both", "all")
    second = arguments.set in ("second", "both", "all")
    third = arguments.set in ("third", "all")
    fourth = arguments.set in ("fourth", "all")
    fifth = arguments.set in ("fifth", "all")
    sixth = arguments.set in ("sixth", "all")
    seventh = arguments.set in ("seventh", "all")
    eighth = arguments.set in ("eighth", "all")
    ninth = arguments.set in ("ninth", "all")
    tenth = arguments.set in ("tenth", "all")
    # One download of scikit-image's wheel for every set asked for.
    owned = SCIKIT_IMAGE_PHOTOS * first + SCIKIT_IMAGE_GREY * second
    sources = set(THIRD_SOURCES * third + FOURTH_SOURCES * fourth
                  + FIFTH_SOURCES * fifth) - set(owned)
    if owned or sources:
        scikit_image_photos(folder, owned + tuple(sorted(sources)))
    if first:
        synthetic_images(folder)
    if second:
        second_synthetic_images(folder)
    if third:
        third_images(folder)
    if fourth:
        fourth_images(folder)
    if fifth:
        fifth_images(folder)
    if sixth:
        sixth_images(folder)
    if seventh:
        seventh_images(folder)
    if eighth:
        eighth_images(folder)
    if ninth:
        ninth_images(folder)
    if tenth:
        tenth_images(folder)
    for name in sources:  # sources of the later sets that no set asked for owns
        (folder / name).unlink()
    for path in sorted(folder.iterdir()):
        print(path)


if __name__ == "__main__":
    main()
