"""An image beside its .gcp version: PSNR, sizes, and a picture to look at.

``measure`` reads an image file's bytes and a .gcp file's bytes and says how close and how
small the .gcp is. ``side_by_side`` lays images out in a row, each with an optional caption
above and palette swatches below, as one RGB picture (alpha shown over a checkerboard).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import codec, imageio, lookup, quantizer, target
from .container import DEFAULT_MAX_PIXELS
from .errors import ImageError

GAP = 8                 # pixels between panels and around the picture
BACKGROUND = 255        # white
CHECKER = (204, 255)    # the two greys behind transparent pixels
CHECKER_SIZE = 8
CAPTION_HEIGHT = 22
SWATCH_MIN, SWATCH_MAX = 8, 32


@dataclass(frozen=True)
class Comparison:
    """An original image, its decoded .gcp version and the numbers that compare them."""

    original: np.ndarray  # uint8 (H, W, C)
    decoded: np.ndarray   # uint8 (H, W, C), the same shape
    palette: np.ndarray   # uint8 (K, C)
    image_file_size: int
    gcp_file_size: int

    @property
    def psnr(self) -> float:
        """Peak signal-to-noise ratio in dB over every channel (with alpha, of the colours
        as seen: ``psnr``); inf when they look the same."""
        return psnr(self.original, self.decoded)

    @property
    def size_ratio(self) -> float:
        """The .gcp file's size over the original image file's size."""
        return self.gcp_file_size / self.image_file_size

    @property
    def bits_per_pixel(self) -> float:
        """Bits of the .gcp file per pixel."""
        return 8 * self.gcp_file_size / (self.original.shape[0] * self.original.shape[1])

    @property
    def image_bits_per_pixel(self) -> float:
        """Bits of the original image file per pixel."""
        return 8 * self.image_file_size / (self.original.shape[0] * self.original.shape[1])

    def picture(self) -> np.ndarray:
        """Original and decoded side by side, the palette's swatches below the decoded one."""
        count = len(self.palette)
        return side_by_side(
            [self.original, self.decoded], palettes=[None, self.palette],
            captions=["original", f"gcp: {count} colour{'s' if count > 1 else ''}"])


def psnr(original: np.ndarray, decoded: np.ndarray) -> float:
    """Peak signal-to-noise ratio (dB) of two uint8 images (H, W, C) of one shape; inf
    when they look the same. With alpha (C = 2 or 4) the colours are compared as seen,
    premultiplied by their alpha (``gcp.quantizer.premultiplied``), as the encoder fits
    them: a colour where alpha is 0 is not seen and counts for nothing."""
    original, decoded = quantizer.as_seen(original), quantizer.as_seen(decoded)
    return target.psnr_for_mse(lookup.squared_difference(original, decoded) / original.size)


def measure(image_data: bytes, gcp_data: bytes, *, image_name: str = "image",
            gcp_name: str = "file", max_pixels: int = DEFAULT_MAX_PIXELS) -> Comparison:
    """Decode both files and check they are the same picture (size and channels)."""
    original = imageio.decode_image(image_data, max_pixels=max_pixels, name=image_name)
    decoded = codec.decode(gcp_data, max_pixels=max_pixels)
    if original.shape != decoded.shape:
        raise ImageError(f"{image_name} is {_shape_words(original)} but {gcp_name} is "
                         f"{_shape_words(decoded)}; they are not the same picture",
                         field="shape")
    palette = codec.read_info(gcp_data, max_pixels=max_pixels).palette
    return Comparison(original, decoded, palette, len(image_data), len(gcp_data))


def _shape_words(image: np.ndarray) -> str:
    height, width, channels = image.shape
    return f"{width} x {height} with {channels} channel{'s' if channels > 1 else ''}"


def to_rgb(image: np.ndarray) -> np.ndarray:
    """uint8 (H, W, C) as (H, W, 3) RGB: grey repeated, alpha over a checkerboard."""
    channels = image.shape[2]
    colour = image[:, :, :3] if channels >= 3 else np.repeat(image[:, :, :1], 3, axis=2)
    if channels in (1, 3):
        return np.ascontiguousarray(colour)
    alpha = image[:, :, -1:].astype(np.float64) / 255
    rows, columns = np.indices(image.shape[:2]) // CHECKER_SIZE
    checker = np.where((rows + columns) % 2 == 0, *CHECKER)[:, :, None]
    blended = alpha * colour + (1 - alpha) * checker
    return np.rint(blended).astype(np.uint8)


def swatches(palette: np.ndarray, width: int) -> np.ndarray:
    """The palette as square swatches in rows of at most ``width`` pixels, RGB."""
    count = len(palette)
    size = max(SWATCH_MIN, min(SWATCH_MAX, width // count))
    per_row = max(1, width // size)
    rows = -(-count // per_row)
    grid = np.full((rows * size, per_row * size, 3), BACKGROUND, np.uint8)
    colours = to_rgb(palette[None, :, :])[0]
    for index, colour in enumerate(colours):
        top, left = (index // per_row) * size, (index % per_row) * size
        grid[top:top + size - 1, left:left + size - 1] = colour  # a 1-pixel seam between
    return grid


def side_by_side(images: Sequence[np.ndarray], *,
                 palettes: Sequence[np.ndarray | None] | None = None,
                 captions: Sequence[str] | None = None) -> np.ndarray:
    """One RGB picture: ``images`` in a row, each with its caption above, swatches below."""
    palettes = palettes if palettes is not None else [None] * len(images)
    captions = captions if captions is not None else [""] * len(images)
    columns = [_column(to_rgb(image), palette, caption)
               for image, palette, caption in zip(images, palettes, captions, strict=True)]
    height = max(column.shape[0] for column in columns) + 2 * GAP
    width = sum(column.shape[1] for column in columns) + GAP * (len(columns) + 1)
    canvas = np.full((height, width, 3), BACKGROUND, np.uint8)
    left = GAP
    for column in columns:
        canvas[GAP:GAP + column.shape[0], left:left + column.shape[1]] = column
        left += column.shape[1] + GAP
    return canvas


def _column(image: np.ndarray, palette: np.ndarray | None, caption: str) -> np.ndarray:
    parts = []
    if caption:
        parts.append(_caption(caption, image.shape[1]))
    parts.append(image)
    if palette is not None:
        parts.append(np.full((GAP, image.shape[1], 3), BACKGROUND, np.uint8))
        grid = swatches(palette, image.shape[1])
        padded = np.full((grid.shape[0], image.shape[1], 3), BACKGROUND, np.uint8)
        padded[:, :grid.shape[1]] = grid
        parts.append(padded)
    return np.concatenate(parts, axis=0)


def _caption(text: str, width: int) -> np.ndarray:
    """A white band with ``text`` in black, cut to fit ``width``."""
    import cv2

    band = np.full((CAPTION_HEIGHT, width, 3), BACKGROUND, np.uint8)
    cv2.putText(band, text, (2, CAPTION_HEIGHT - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                (0, 0, 0), 1, cv2.LINE_AA)
    return band
