"""Given palettes (``gcp encode --palette``, ``gcp info --palette-out``): bytes in, bytes out.

A palette is a uint8 array (K, C), 1 <= K <= 256, C = 1 grey, 2 grey+alpha, 3 RGB,
4 RGBA; row i is index i. It comes from one of three kinds of file, told by their bytes:

- a .gcp file: its stored palette, as stored;
- a GIMP palette (.gpl): a first line ``GIMP Palette``, optional ``Name:`` and
  ``Columns:`` lines, ``#`` comments and blank lines, then one colour a line,
  ``R G B [name]``, each value 0 to 255; always RGB;
- an image gcp reads, of at most 256 distinct colours: its colours in the order they
  first appear, rows top to bottom.

The order is kept exactly, and so are repeated colours: a pixel nearest a repeated colour
takes its first position (ties go to the lowest index), so the later copies go unused.

Fitting a palette to an image (``match_channels``): the file keeps the image's channels,
widened where the palette needs more: to colour when a palette colour is not grey
(R = G = B), to alpha when a palette colour's alpha is below 255. A palette is narrowed to
the image's channels where nothing is lost (an all-grey RGB palette is grey for a grey
image; an all-opaque RGBA palette is RGB for an RGB image) and widened otherwise: grey to
R = G = B, no alpha to alpha 255, as pngquant's ``--map`` treats an opaque map.
"""

from __future__ import annotations

import codecs
import re

import numpy as np

from . import container, imageio
from .container import DEFAULT_MAX_PIXELS
from .errors import ImageError, PaletteError, ParameterError

MAX_COLORS = container.MAX_PALETTE_SIZE  # 256: an index is one byte
# Most bytes and lines of a .gpl file, checked before it is split into lines: 256 colour
# lines with long names and generous comments fit many times over.
MAX_GPL_BYTES = 1 << 20
MAX_GPL_LINES = 1 << 14
GPL_MAGIC = "GIMP Palette"
_GPL_HEADER_KEYS = ("Name:", "Columns:")
_GPL_COLOUR = re.compile(r"([0-9]+)\s+([0-9]+)\s+([0-9]+)(?:\s.*)?")
_OPAQUE = 255


def is_gpl(start: bytes) -> bool:
    """True when ``start`` (a file's first bytes) begins as a GIMP palette does."""
    text = bytes(start).removeprefix(codecs.BOM_UTF8)
    return text.startswith(GPL_MAGIC.encode())


def read_gpl(data: bytes, name: str = "palette") -> np.ndarray:
    """The colours of a GIMP palette file: uint8 (K, 3), in the file's order.

    ``PaletteError`` for a file over ``MAX_GPL_BYTES`` or ``MAX_GPL_LINES`` (checked before
    it is split), a missing ``GIMP Palette`` line, a line that is neither a colour, a
    comment, a blank nor a header line, a value over 255, no colours, or over 256.
    ``data`` is any bytes-like object (a ``TypeError`` for anything else).
    """
    data = container.byte_string(data, "a palette file")
    _check_gpl_size(data, name)
    lines = bytes(data).removeprefix(codecs.BOM_UTF8).decode("utf-8", "replace").splitlines()
    if not lines or lines[0].strip() != GPL_MAGIC:
        raise PaletteError(f"{name} is not a GIMP palette: its first line is not "
                           f"{GPL_MAGIC!r}", field="palette")
    colours: list[tuple[int, int, int]] = []
    for number, line in enumerate(lines[1:], start=2):
        colour = _gpl_line(line, number, name, in_header=not colours)
        if colour is None:
            continue
        if len(colours) == MAX_COLORS:
            raise PaletteError(f"{name} has more than {MAX_COLORS} colours (line {number}); "
                               f"a palette holds at most {MAX_COLORS}", field="palette_size")
        colours.append(colour)
    if not colours:
        raise PaletteError(f"{name} has no colours", field="palette_size")
    return np.array(colours, np.uint8)


def _check_gpl_size(data: bytes, name: str) -> None:
    if len(data) > MAX_GPL_BYTES:
        raise PaletteError(f"{name} is over {MAX_GPL_BYTES} bytes, too long for a GIMP "
                           f"palette of at most {MAX_COLORS} colours", field="palette")
    if data.count(b"\n") >= MAX_GPL_LINES:
        raise PaletteError(f"{name} has over {MAX_GPL_LINES} lines, too many for a GIMP "
                           f"palette of at most {MAX_COLORS} colours", field="palette")


def _gpl_line(line: str, number: int, name: str, *, in_header: bool
              ) -> tuple[int, int, int] | None:
    """One line of a .gpl file after the first: its colour, or None for a line that holds
    none (blank, comment, or a ``Name:``/``Columns:`` line before the first colour)."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    if in_header and text.startswith(_GPL_HEADER_KEYS):
        return None
    match = _GPL_COLOUR.fullmatch(text)
    if match is None:
        raise PaletteError(f"{name} line {number}: expected 'R G B [name]', got "
                           f"{_shown(text)}", field="palette")
    # Leading zeros dropped and the digits counted first: int() of over 4,300 digits
    # raises its own ValueError, and none of them can be a byte anyway.
    digits = [value.lstrip("0") or "0" for value in match.groups()]
    if max(len(value) for value in digits) > 3 or max(int(value) for value in digits) > 255:
        raise PaletteError(f"{name} line {number}: {_shown(text)} has a value over 255",
                           field="palette")
    return tuple(int(value) for value in digits)  # type: ignore[return-value]


def _shown(text: str, limit: int = 40) -> str:
    """``text`` quoted for a one-line message, cut to ``limit`` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def write_gpl(palette: np.ndarray, name: str = "gcp") -> bytes:
    """A GIMP palette file of ``palette``, integers (K, 3) RGB, in its order; ``read_gpl``
    gives the same array back. Each colour is named ``Index i``, as GIMP names the
    colours of an indexed image. Any integer dtype will do; ``ParameterError`` for a value
    outside 0 to 255, floats, another shape, a count of colours ``read_gpl`` refuses
    (none, or over 256), or a ``name`` that is no string: nothing is wrapped silently."""
    try:
        rgb = np.asarray(palette)
    except (ValueError, TypeError) as error:
        raise ParameterError(f"palette is not an array: {error}", field="palette") from None
    if rgb.ndim != 2 or rgb.shape[1] != 3 or rgb.dtype.kind not in "iu":
        raise ParameterError(f"palette is {rgb.dtype} {rgb.shape}; expected integers (K, 3)",
                             field="palette")
    if rgb.size and (rgb.min() < 0 or rgb.max() > 255):
        raise ParameterError(f"palette holds {rgb.min()} to {rgb.max()}; a colour's values "
                             "are 0 to 255", field="palette")
    if not 1 <= len(rgb) <= container.MAX_PALETTE_SIZE:
        raise ParameterError(f"palette has {len(rgb)} colours; a GIMP palette gcp reads "
                             f"back holds 1 to {container.MAX_PALETTE_SIZE}", field="palette")
    if not isinstance(name, str):
        raise ParameterError(f"name is {name!r}; it must be a string", field="name")
    safe_name = "".join(c if c.isprintable() else " " for c in name).strip() or "gcp"
    lines = [GPL_MAGIC, f"Name: {safe_name}", "Columns: 16", "#"]
    lines += [f"{red:3d} {green:3d} {blue:3d}\tIndex {index}"
              for index, (red, green, blue) in enumerate(rgb.tolist())]
    return ("\n".join(lines) + "\n").encode()


def to_rgb(palette: np.ndarray) -> tuple[np.ndarray, bool]:
    """``palette`` uint8 (K, C) as RGB (K, 3): grey as R = G = B, alpha dropped.

    Also says whether dropping the alpha lost something (some alpha below 255).
    """
    channels = palette.shape[1]
    lost_alpha = channels in (2, 4) and bool((palette[:, -1] != _OPAQUE).any())
    colour = palette[:, :channels - 1] if channels in (2, 4) else palette
    if colour.shape[1] == 1:
        colour = np.repeat(colour, 3, axis=1)
    return np.ascontiguousarray(colour), lost_alpha


def image_palette(image: np.ndarray, name: str = "palette") -> np.ndarray:
    """The distinct colours of ``image`` uint8 (H, W, C), in the order they first appear
    (rows top to bottom): uint8 (K, C). ``PaletteError`` when there are over 256."""
    channels = image.shape[2]
    pixels = image.reshape(-1, channels)
    keys = np.zeros(len(pixels), np.uint32)
    for channel in range(channels):  # one 32-bit key per colour: C <= 4 bytes
        keys |= pixels[:, channel].astype(np.uint32) << (8 * channel)
    _, first = np.unique(keys, return_index=True)
    if len(first) > MAX_COLORS:
        raise PaletteError(f"{name} has {len(first)} colours; a palette image may have at "
                           f"most {MAX_COLORS}", field="palette_size")
    return np.ascontiguousarray(pixels[np.sort(first)])


def palette_from_file_bytes(data: bytes, name: str = "palette", *,
                            max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """The palette a file holds, uint8 (K, C), told by its bytes: a .gcp file's stored
    palette, a GIMP palette's colours (RGB), or an image's distinct colours.

    Raises ``PaletteError`` for none of the three or an unusable palette, and what
    ``gcp.read_info`` and ``imageio.decode_image`` raise for a broken .gcp file or image.
    ``data`` is any bytes-like object (a ``TypeError`` for anything else).
    """
    data = container.byte_string(data, "a palette file")
    if bytes(data[:len(container.SIGNATURE)]) == container.SIGNATURE:
        _, palette, _ = container.unpack(data, max_pixels=max_pixels)
        return np.array(palette)
    if is_gpl(data[:len(GPL_MAGIC) + len(codecs.BOM_UTF8)]):
        return read_gpl(data, name)
    try:
        imageio.check_file_start(data[:imageio.FILE_START_SIZE], max_pixels=max_pixels,
                                 name=name)
    except ImageError:
        raise PaletteError(f"{name} is neither a .gcp file, a GIMP palette (.gpl) nor an "
                           "image gcp reads", field="palette") from None
    return image_palette(imageio.decode_image(data, max_pixels=max_pixels, name=name), name)


def match_channels(image: np.ndarray, palette: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """``image`` uint8 (H, W, Ci) and ``palette`` uint8 (K, Cp) on common channels C:
    ``(image (H, W, C), palette (K, C))``, C the fewest that hold both exactly (see the
    module's docstring). Either is returned as it is when it has C channels already."""
    image_colour, image_alpha = _layout(image.shape[2])
    palette_colour, palette_alpha = _layout(palette.shape[1])
    if palette_colour and not image_colour and _all_grey(palette):
        palette, palette_colour = _without_colour(palette), False
    if palette_alpha and not image_alpha and _all_opaque(palette):
        palette, palette_alpha = palette[:, :-1], False
    colour, alpha = image_colour or palette_colour, image_alpha or palette_alpha
    return _widened(image, colour, alpha), _widened(palette, colour, alpha)


def _layout(channels: int) -> tuple[bool, bool]:
    """(has colour, has alpha) of a channel count 1 to 4."""
    return channels >= 3, channels in (2, 4)


def _all_grey(palette: np.ndarray) -> bool:
    return bool((palette[:, 0] == palette[:, 1]).all() and
                (palette[:, 1] == palette[:, 2]).all())


def _all_opaque(palette: np.ndarray) -> bool:
    return bool((palette[:, -1] == _OPAQUE).all())


def _without_colour(palette: np.ndarray) -> np.ndarray:
    """An all-grey RGB(A) palette (K, 3 or 4) as grey (K, 1) or grey+alpha (K, 2)."""
    return np.ascontiguousarray(palette[:, [0, 3]] if palette.shape[1] == 4 else palette[:, :1])


def _widened(array: np.ndarray, colour: bool, alpha: bool) -> np.ndarray:
    """``array`` uint8 (..., C) with grey repeated to RGB if ``colour`` asks and alpha 255
    added if ``alpha`` asks; unchanged when it has both already."""
    has_colour, has_alpha = _layout(array.shape[-1])
    if has_colour == colour and has_alpha == alpha:
        return array
    colour_part = array[..., :-1] if has_alpha else array
    if colour and not has_colour:
        colour_part = np.repeat(colour_part, 3, axis=-1)
    if has_alpha:
        alpha_part = array[..., -1:]
    else:
        alpha_part = np.full((*array.shape[:-1], 1), _OPAQUE, np.uint8)
    parts = [colour_part, alpha_part] if alpha else [colour_part]
    return np.ascontiguousarray(np.concatenate(parts, axis=-1))
