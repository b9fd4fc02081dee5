"""A Pillow plugin for .gcp files: ``Image.open`` reads them, ``Image.save`` writes them.

    import gcp.pillow
    from PIL import Image

    gcp.pillow.register()                     # explicit: importing registers nothing
    image = Image.open("photo.gcp")           # reads the header and palette only
    image.load()                              # decodes the pixels
    image.save("again.gcp", colors=8, effort=7)

Modes when reading, one per channel count (the file's own model, nothing invented):

- 1 grey: ``L``, the grey levels themselves.
- 2 grey+alpha: ``LA``.
- 3 RGB: ``P``, the file's palette as it is (``getpalette()``), the indices as stored.
- 4 RGBA: ``P`` with the palette's RGB and ``info["transparency"]`` a bytes table of
  each entry's alpha, as Pillow's PNG plugin reads a palette PNG with a tRNS chunk;
  ``convert("RGBA")`` gives exactly the pixels ``gcp.decode`` gives.

``info["gcp_exact"]`` is the header's FLAG_EXACT: the file holds its source's colours.

Writing converts the image to L, LA, RGB or RGBA (a ``P`` image to RGBA when it has
transparency, to RGB otherwise) and encodes it with ``gcp.encode``: the palette is fitted
again, which keeps every colour exactly when the image has at most ``colors`` of them.
``save`` takes the encoder's options: ``colors`` (k, default 16), ``seed``, ``effort``,
``method``, ``algorithm``, ``max_iter``, ``tol``, ``backend``, ``device``,
``max_pixels``, and ``palette`` (a uint8 (K, C) array used as it is instead of a fitted
palette, as ``gcp.encode`` takes it); as with Pillow's own formats, options it does not
know are ignored.

Errors follow Pillow's plugins: data that is not gcp, or a gcp header that breaks the
spec, raises ``SyntaxError`` in ``_open`` (so ``Image.open`` tries the other formats and
then raises ``UnidentifiedImageError``); a body that breaks the spec raises ``OSError``
from ``load()``, with the ``gcp.FormatError`` as its cause. There is no partial image
(``ImageFile.LOAD_TRUNCATED_IMAGES`` does not apply). The pixel limit is Pillow's
(``Image.MAX_IMAGE_PIXELS``), checked by ``Image.open`` before anything is decoded.

Pillow is an optional dependency (``pip install '.[pillow]'``); ``import gcp`` does
not import it.
"""

from __future__ import annotations

from typing import IO

import numpy as np
from PIL import Image, ImageFile, ImagePalette

from . import codec, container
from .errors import GcpError

FORMAT = "GCP"
FORMAT_DESCRIPTION = "gcp palette image"
EXTENSION = ".gcp"
MIME_TYPE = "image/x-gcp"
DECODER_NAME = "gcp"

MODE_BY_CHANNELS = {1: "L", 2: "LA", 3: "P", 4: "P"}

# What each Pillow mode is converted to before encoding; a mode not here cannot be saved.
# "P" is absent: it depends on the image's transparency (see ``_savable_mode``).
SAVE_MODE = {
    "1": "L", "L": "L", "LA": "LA", "La": "LA", "PA": "RGBA",
    "RGB": "RGB", "RGBX": "RGB", "CMYK": "RGB", "YCbCr": "RGB",
    "RGBA": "RGBA", "RGBa": "RGBA",
}
# The ``save`` keywords passed on to ``gcp.encode``; "colors" becomes its ``k``.
SAVE_OPTIONS = ("colors", "seed", "effort", "method", "algorithm", "max_iter", "tol",
                "backend", "device", "max_pixels", "palette")

# Image.open checks Image.MAX_IMAGE_PIXELS itself, after _open: gcp's own limit must not
# refuse earlier what Pillow's user allowed.
_ANY_PIXEL_COUNT = container.MAX_DIMENSION * container.MAX_DIMENSION


def _accept(prefix: bytes) -> bool:
    return prefix[: len(container.SIGNATURE)] == container.SIGNATURE


class GcpImageFile(ImageFile.ImageFile):
    """A .gcp file opened by Pillow: header and palette now, pixels on ``load()``."""

    format = FORMAT
    format_description = FORMAT_DESCRIPTION

    def _open(self) -> None:
        assert self.fp is not None
        head = self.fp.read(container.LEADING_SIZE)
        if not _accept(head):
            raise SyntaxError("not a gcp file")
        try:
            header = container.parse_header(head, max_pixels=_ANY_PIXEL_COUNT)
        except GcpError as error:
            raise SyntaxError(f"invalid gcp header: {error}") from error
        self.fp.seek(header.header_length)
        palette_bytes = self.fp.read(header.palette_length)
        if len(palette_bytes) != header.palette_length:
            raise SyntaxError(f"gcp file ends inside its {header.palette_length}-byte palette")
        try:
            palette = container.read_palette(header, palette_bytes)
        except GcpError as error:
            raise SyntaxError(f"invalid gcp palette: {error}") from error

        self._size = (header.width, header.height)
        self._mode = MODE_BY_CHANNELS[header.channels]
        if self._mode == "P":
            self.palette = ImagePalette.raw("RGB", palette[:, :3].tobytes())
            if header.channels == 4:
                self.info["transparency"] = palette[:, 3].tobytes()
        self.info["gcp_exact"] = header.exact
        # One tile from offset 0: the decoder reads and checks the whole file (CRC included).
        self.tile = [_tile(DECODER_NAME, (0, 0, *self._size), 0)]


def _tile(decoder: str, extents: tuple[int, int, int, int], offset: int) -> tuple:
    """A tile descriptor: ``ImageFile._Tile`` where Pillow has it (11.1+), else a tuple."""
    make = getattr(ImageFile, "_Tile", None)
    return make(decoder, extents, offset, None) if make else (decoder, extents, offset, None)


class GcpDecoder(ImageFile.PyDecoder):
    """Decodes a whole .gcp file into the image: indices for ``P``, samples for ``L``/``LA``."""

    _pulls_fd = True

    def decode(self, buffer: bytes) -> tuple[int, int]:
        assert self.fd is not None
        data = self.fd.read()
        pixel_count = self.state.xsize * self.state.ysize
        try:
            if self.mode == "P":
                _, _, pixels = codec.decode_indices(data, max_pixels=pixel_count)
            else:
                pixels = codec.decode(data, max_pixels=pixel_count)
        except GcpError as error:
            raise OSError(f"broken gcp file: {error}") from error
        if pixels.shape[:2] != (self.state.ysize, self.state.xsize):
            raise OSError("gcp file changed size since it was opened")
        self.set_as_raw(pixels.tobytes())
        return -1, 0


def _savable_mode(image: Image.Image) -> str:
    """The mode ``image`` is converted to before encoding: L, LA, RGB or RGBA."""
    if image.mode == "P":
        has_alpha = "transparency" in image.info or (
            image.palette is not None and image.palette.mode == "RGBA")
        return "RGBA" if has_alpha else "RGB"
    if image.mode not in SAVE_MODE:
        raise OSError(f"cannot write mode {image.mode} as GCP; convert it to L, LA, RGB or "
                      "RGBA first")
    return SAVE_MODE[image.mode]


def _save(image: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    """Pillow's save handler: encode ``image`` with ``gcp.encode`` and write the file."""
    options = {name: image.encoderinfo[name] for name in SAVE_OPTIONS
               if name in image.encoderinfo}
    k = options.pop("colors", codec.DEFAULT_COLORS)
    mode = _savable_mode(image)
    pixels = np.asarray(image if image.mode == mode else image.convert(mode))
    fp.write(codec.encode(pixels, k, **options))


def register() -> None:
    """Teach Pillow the GCP format: open, save, the .gcp extension and its MIME type.

    Safe to call more than once.
    """
    Image.register_open(FORMAT, GcpImageFile, _accept)
    Image.register_decoder(DECODER_NAME, GcpDecoder)
    Image.register_save(FORMAT, _save)
    Image.register_extension(FORMAT, EXTENSION)
    Image.register_mime(FORMAT, MIME_TYPE)
