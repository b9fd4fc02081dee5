"""The ``gcp`` command: a thin layer over ``gcp.encode``, ``gcp.decode`` and ``gcp.read_info``.

Every error is one line on stderr, "gcp: error: ...", and an exit status: 1 for bad data
(an unreadable image, a corrupt .gcp file, a failed write), 2 for bad usage (an option out
of range, a missing argument, an output that exists without --force). No tracebacks.
"""

from __future__ import annotations

import json
import logging
import os
import sys

import click

from . import __version__, codec, files, imageio, quantizer
from .backends import BACKEND_NAMES
from .codec import timed_stage
from .container import DEFAULT_MAX_PIXELS
from .errors import GcpError, ParameterError

logger = logging.getLogger("gcp")

EXIT_DATA = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

CHANNEL_NAMES = {1: "grey", 2: "grey+alpha", 3: "RGB", 4: "RGBA"}


class _OneLineGroup(click.Group):
    """A click group whose errors, of any kind, come out as one line and an exit status."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra):
        try:
            status = super().main(args=args, prog_name=prog_name or "gcp",
                                  complete_var=complete_var, standalone_mode=False, **extra)
        except click.UsageError as error:
            hint = f" (see '{error.ctx.command_path} --help')" if error.ctx else ""
            status = _fail(error.format_message() + hint, EXIT_USAGE)
        except click.ClickException as error:
            status = _fail(error.format_message(), error.exit_code)
        except files.OutputExistsError as error:
            status = _fail(str(error), EXIT_USAGE)
        except ParameterError as error:
            status = _fail(str(error), EXIT_USAGE)
        except GcpError as error:
            status = _fail(str(error), EXIT_DATA)
        except OSError as error:
            status = _fail(_describe_os_error(error), EXIT_DATA)
        except MemoryError:
            status = _fail("out of memory", EXIT_DATA)
        except (KeyboardInterrupt, click.Abort):
            status = _fail("interrupted", EXIT_INTERRUPTED)
        if not standalone_mode:
            return status
        sys.exit(status or 0)


def _fail(message: str, status: int) -> int:
    click.echo(f"gcp: error: {message}", err=True)
    return status


def _describe_os_error(error: OSError) -> str:
    reason = error.strerror or str(error)
    if error.filename:
        return f"{error.filename}: {reason}"
    return reason


def _configure_logging(verbose: bool, quiet: bool) -> None:
    if not any(getattr(h, "_gcp_cli", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("gcp: %(message)s"))
        handler._gcp_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
    for handler in logger.handlers:
        if getattr(handler, "_gcp_cli", False):
            handler.stream = sys.stderr  # click's test runner swaps the stream per call
    logger.setLevel(logging.DEBUG if verbose else logging.ERROR if quiet else logging.INFO)


def _verbosity_options(function):
    function = click.option("-q", "--quiet", is_flag=True,
                            help="Print nothing but errors.")(function)
    return click.option("-v", "--verbose", is_flag=True,
                        help="Print the backend, the device and each stage's time.")(function)


_max_pixels_option = click.option(
    "--max-pixels", type=click.IntRange(min=1), default=DEFAULT_MAX_PIXELS, show_default=True,
    help="Refuse images with more pixels than this (a guard against decompression bombs).")
_force_option = click.option("-f", "--force", is_flag=True,
                             help="Overwrite the output if it exists.")


@click.group(cls=_OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="gcp")
def cli() -> None:
    """gcp: a palette image codec.

    K-Means picks the colours, pixels become palette indices, and the indices are
    run-length coded and compressed into a small .gcp file.
    """


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False, allow_dash=True))
@click.argument("output_path", metavar="OUTPUT", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-k", "--colors", "k", type=click.IntRange(1, 256), default=codec.DEFAULT_COLORS,
              show_default=True, help="Most colours in the palette.")
@click.option("--effort", type=click.IntRange(1, 9), default=quantizer.DEFAULT_EFFORT,
              show_default=True, help="1 is fastest, 9 gives the best palette and smallest file.")
@click.option("--method", type=click.Choice(codec.METHODS), default=codec.DEFAULT_METHOD,
              show_default=True, help="Body coding: rle (plain runs) or lzma (runs, compressed).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the K-Means initialisation; same seed, same file.")
@click.option("--max-iter", type=click.IntRange(min=1), default=quantizer.DEFAULT_MAX_ITER,
              show_default=True, help="Most K-Means iterations per start.")
@click.option("--tol", type=click.FloatRange(min=0), default=quantizer.DEFAULT_TOL,
              show_default=True, help="Stop K-Means when centres move less than this "
              "(relative to the colour variance).")
@click.option("--backend", type=click.Choice(BACKEND_NAMES), default="auto", show_default=True,
              help="Where pixels are assigned: OpenCL if available (auto), opencl, or numpy.")
@click.option("--device", metavar="SPEC", default=None,
              help="OpenCL device as PLATFORM[:DEVICE], index or name part (like PYOPENCL_CTX).")
@_max_pixels_option
@_force_option
@_verbosity_options
def encode(input_path: str, output_path: str, k: int, effort: int, method: str, seed: int,
           max_iter: int, tol: float, backend: str, device: str | None, max_pixels: int,
           force: bool, verbose: bool, quiet: bool) -> None:
    """Quantize INPUT (PNG, BMP, JPEG, ...) to at most K colours and write OUTPUT (.gcp).

    Use - for standard input or output.
    """
    _configure_logging(verbose, quiet)
    files.check_writable(output_path, force=force, input_path=input_path)
    with timed_stage("read"):
        image = imageio.decode_image(files.read_input(input_path), max_pixels=max_pixels,
                                     name=input_path)
    data = codec.encode(image, k, seed=seed, method=method, effort=effort, max_iter=max_iter,
                        tol=tol, backend=backend, device=device, max_pixels=max_pixels)
    with timed_stage("write"):
        files.write_output(output_path, data, force=force, input_path=input_path)


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False, allow_dash=True))
@click.argument("output_path", metavar="OUTPUT", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--format", "image_format", metavar="EXT", default=None,
              help="Image type to write, as an extension (png, bmp...); by default OUTPUT's.")
@_max_pixels_option
@_force_option
@_verbosity_options
def decode(input_path: str, output_path: str, image_format: str | None, max_pixels: int,
           force: bool, verbose: bool, quiet: bool) -> None:
    """Decode INPUT (.gcp) and write the image to OUTPUT, typed by its extension.

    Use - for standard input or output (standard output is PNG unless --format says).
    """
    _configure_logging(verbose, quiet)
    extension = _output_extension(output_path, image_format)
    files.check_writable(output_path, force=force, input_path=input_path)
    with timed_stage("read"):
        data = files.read_gcp_input(input_path, max_pixels=max_pixels)
    with timed_stage("decode"):
        image = codec.decode(data, max_pixels=max_pixels)
    with timed_stage("write"):
        files.write_output(output_path, imageio.encode_image(image, extension), force=force,
                           input_path=input_path)


def _output_extension(output_path: str, image_format: str | None) -> str:
    if image_format:
        extension = "." + image_format.lower().lstrip(".")
    elif output_path == files.STDIO:
        extension = ".png"
    else:
        extension = os.path.splitext(output_path)[1].lower()
    if not extension or not imageio.can_write(extension):
        shown = extension or "no extension"
        raise click.BadParameter(f"cannot write images of type {shown!r}; use .png, .bmp, "
                                 ".tif, .jpg, .webp, .ppm...", param_hint="OUTPUT")
    return extension


@cli.command()
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Print the same facts as JSON.")
@_max_pixels_option
def info(path: str, as_json: bool, max_pixels: int) -> None:
    """Show the header, palette and size savings of a .gcp FILE."""
    details = codec.read_info(files.read_gcp_input(path, max_pixels=max_pixels),
                              max_pixels=max_pixels)
    if as_json:
        click.echo(json.dumps({"file": path, **details.as_dict()}, indent=2))
        return
    swatches = (sys.stdout is not None and sys.stdout.isatty()
                and os.environ.get("NO_COLOR") is None)
    for line in _info_lines(path, details, swatches):
        click.echo(line)


def _info_lines(path: str, details: codec.Info, swatches: bool) -> list[str]:
    pixels = details.width * details.height
    lines = [
        f"file:          {path}",
        f"format:        gcp version {details.version}, method {details.method}",
        f"size:          {details.width} x {details.height}, {details.channels} channel"
        f"{'s' if details.channels > 1 else ''} ({CHANNEL_NAMES[details.channels]})",
        f"lossless:      {'yes: the palette holds every source colour' if details.exact else 'no'}",
        f"file size:     {details.file_size:,} bytes",
        f"raw size:      {details.raw_size:,} bytes ({details.width} x {details.height} x "
        f"{details.channels})",
        f"ratio:         {details.compression_ratio:.2f} : 1 "
        f"({100 * (1 - details.file_size / details.raw_size):.1f}% saved)",
        f"bits/pixel:    {details.bits_per_pixel:.3f} over {pixels:,} pixels",
        f"palette:       {details.palette_size} colour{'s' if details.palette_size > 1 else ''}",
    ]
    for index, colour in enumerate(details.palette):
        swatch = f" {_swatch(colour)}" if swatches else ""
        lines.append(f"  {index:3d}  {codec.colour_hex(colour)}{swatch}")
    return lines


def _swatch(colour) -> str:
    """Two spaces on a 24-bit background of the colour (alpha ignored)."""
    red, green, blue = (colour[0],) * 3 if len(colour) <= 2 else colour[:3]
    return f"\x1b[48;2;{red};{green};{blue}m    \x1b[0m"


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="gcp")
