"""The one error family gcp raises on purpose.

``GcpError`` is a ``ValueError``. Its subclasses say whose fault it is:

- ``FormatError``: the bytes break the .gcp spec (spec/format.md, "Decoder rules").
  ``field`` is the name the spec gives the field or rule that failed.
- ``ImageError``: an input image cannot be read, or an output image cannot be written.
- ``ParameterError``: the caller asked for something out of range (k, effort, an array shape).
- ``PaletteError``: a palette file (``--palette``) cannot be read, or holds no usable
  palette (no colours, or over 256).
- ``LimitError``: an image is larger than the pixel limit in force (``max_pixels``), or
  its file longer than an image within that limit can be.
- ``BackendError``: the compute backend asked for cannot run on this machine.
"""

from __future__ import annotations


class GcpError(ValueError):
    """Base of every error gcp raises on purpose; ``field`` names what was wrong."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class FormatError(GcpError):
    """The data is not a valid .gcp file; ``field`` is the spec's name for the broken rule."""


class ImageError(GcpError):
    """An image file could not be read or written."""


class ParameterError(GcpError):
    """An argument is out of its allowed range."""


class PaletteError(GcpError):
    """A palette file cannot be read, or holds no usable palette (none, or over 256)."""


class LimitError(GcpError):
    """An image has more pixels than the limit in force (or its file more bytes than such
    an image needs)."""


class BackendError(GcpError):
    """The compute backend asked for cannot run here (no OpenCL device, say)."""


class QualityError(GcpError):
    """The encoded image's PSNR is below the minimum asked for (``min_psnr``).

    ``psnr`` and ``min_psnr`` in dB; ``colours``: the palette's size.
    """

    def __init__(self, psnr: float, min_psnr: float, colours: int) -> None:
        super().__init__(self.describe_values(psnr, min_psnr, colours, "min_psnr"),
                         field="min_psnr")
        self.psnr, self.min_psnr, self.colours = psnr, min_psnr, colours

    def __reduce__(self):
        # Pickled (a worker process's error) and copied from its own arguments, which
        # BaseException's default (the message alone) would not pass back.
        return type(self), (self.psnr, self.min_psnr, self.colours), self.__dict__

    def describe(self, option: str) -> str:
        """The message, naming the minimum as ``option`` ('--min-psnr' on the command line)."""
        return self.describe_values(self.psnr, self.min_psnr, self.colours, option)

    @staticmethod
    def describe_values(psnr: float, min_psnr: float, colours: int, option: str) -> str:
        return (f"PSNR {psnr:.2f} dB is below {option} {min_psnr:g} "
                f"({colours} colour{'s' if colours != 1 else ''})")
