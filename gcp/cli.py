"""The ``gcp`` command: a thin layer over ``gcp.encode``, ``gcp.decode`` and ``gcp.read_info``.

Every error is one line on stderr, "gcp: error: ...", and an exit status: 1 for bad data
(an unreadable image, a corrupt .gcp file, a failed write), 2 for bad usage (an option out
of range, a missing argument, an output that exists without --force), 99 for a result
below --min-psnr (as pngquant's "quality too low"). ``encode --skip-if-larger`` exits 98
when its one output was not written. No tracebacks.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import sys
import threading
from collections.abc import Iterable
from typing import NoReturn

import click

from . import __version__, backends, batch, cm_engine, codec, files, imageio, palettes, quantizer
from . import compare as compare_module
from .backends import BACKEND_NAMES
from .codec import timed_stage
from .container import DEFAULT_MAX_PIXELS
from .errors import GcpError, ParameterError, QualityError

logger = logging.getLogger("gcp")

EXIT_DATA = 1
EXIT_USAGE = 2
EXIT_SKIPPED = 98  # --skip-if-larger left the one output unwritten (pngquant's status)
EXIT_QUALITY = 99  # the PSNR is below --min-psnr: pngquant's status for "quality too low"
EXIT_INTERRUPTED = 130

CHANNEL_NAMES = {1: "grey", 2: "grey+alpha", 3: "RGB", 4: "RGBA"}


# click 8.2 and later raise this for a bare "gcp"; its message is the whole help.
_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


class _OneLineGroup(click.Group):
    """A click group whose errors, of any kind, come out as one line and an exit status."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra):
        try:
            status = super().main(args=args, prog_name=prog_name or "gcp",
                                  complete_var=complete_var, standalone_mode=False, **extra)
        except _NO_ARGS_IS_HELP as error:  # plain "gcp": the help, on stderr
            click.echo(error.format_message(), err=True)
            status = EXIT_USAGE
        except click.UsageError as error:
            hint = f" (see '{error.ctx.command_path} --help')" if error.ctx else ""
            status = _fail(error.format_message() + hint, EXIT_USAGE)
        except click.ClickException as error:
            status = _fail(error.format_message(), error.exit_code)
        except (files.OutputExistsError, ParameterError, batch.NameClashError,
                batch.DaskUnavailableError) as error:
            status = _fail(str(error), EXIT_USAGE)
        except QualityError as error:
            status = _fail(f"{error.describe('--min-psnr')}; nothing written", EXIT_QUALITY)
        except GcpError as error:
            status = _fail(str(error), EXIT_DATA)
        except OSError as error:
            status = _fail(batch.describe_error(error), EXIT_DATA)
        except MemoryError:
            status = _fail("out of memory", EXIT_DATA)
        except (KeyboardInterrupt, click.Abort):
            status = _fail("interrupted", EXIT_INTERRUPTED)
        if not standalone_mode:
            return status
        sys.exit(status or 0)


def _is_terminal(stream) -> bool:
    """True for a stream on a terminal; False for files, pipes and closed streams (None)."""
    return stream is not None and stream.isatty()


def _fail(message: str, status: int) -> int:
    click.echo(f"gcp: error: {message}", err=True)
    return status


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


@click.group("gcp", cls=_OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="gcp")
def cli() -> None:
    """gcp: a palette image codec.

    K-Means picks the colours, pixels become palette indices, and the indices are
    run-length coded and compressed into a small .gcp file.
    """


class _TwoFormCommand(click.Command):
    """A command with two usage lines: one file (INPUT OUTPUT) or a batch (INPUT... -o DIR)."""

    usage_forms = ("[OPTIONS] INPUT OUTPUT", "[OPTIONS] INPUT... -o DIR")

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        first, *others = self.usage_forms
        formatter.write_usage(ctx.command_path, first)
        for form in others:
            formatter.write_usage(ctx.command_path, form, prefix="   or: ")


def _batch_options(function):
    """-o DIR, -j N and --scheduler: what turns a command into a batch over many files."""
    function = click.option(
        "--scheduler", metavar="ADDRESS", default=None,
        help="With -o: run the batch on the Dask cluster at ADDRESS (tcp://host:8786) "
        "instead of local processes. Needs gcp[dask] here and gcp on the workers.")(function)
    function = click.option(
        "-j", "--jobs", "workers", metavar="N", type=click.IntRange(min=1), default=None,
        help="With -o: how many worker processes (default: one per core); 1 works in this "
        "process.")(function)
    return click.option(
        "-o", "--output-dir", metavar="DIR", default=None,
        type=click.Path(file_okay=False),
        help="Write one output per INPUT into DIR (made if missing), named after it.")(function)


class _Decibels(click.ParamType):
    """A PSNR in dB: a finite number above 0."""

    name = "DB"

    def convert(self, value, param, ctx) -> float:
        try:
            decibels = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of dB", param, ctx)
        if not (math.isfinite(decibels) and decibels > 0):
            self.fail(f"{value!r} is not a finite number of dB above 0", param, ctx)
        return decibels


_paths_argument = click.argument("paths", metavar="INPUT OUTPUT", nargs=-1, required=True,
                                 type=click.Path(dir_okay=False, allow_dash=True))


@cli.command(cls=_TwoFormCommand)
@_paths_argument
@click.option("-k", "--colors", "k", type=click.IntRange(1, 256), default=codec.DEFAULT_COLORS,
              show_default=True, help="Most colours in the palette.")
@click.option("--effort", type=click.IntRange(1, 9), default=quantizer.DEFAULT_EFFORT,
              show_default=True, help="1 is fastest, 9 gives the best palette and smallest file.")
@click.option("--method", type=click.Choice(codec.METHODS), default=codec.DEFAULT_METHOD,
              show_default=True,
              help="Body coding: rle (plain runs), lzma (runs, compressed) or cm (each pixel "
                   "from its neighbours; smallest files, coded by OpenCL).")
@click.option("--algorithm", type=click.Choice(codec.ALGORITHMS),
              default=codec.DEFAULT_ALGORITHM, show_default=True,
              help="kmeans (colours are cluster means) or kmedoids (colours from the image).")
@click.option("--dither", is_flag=True,
              help="Floyd-Steinberg dithering: smoother gradients, larger files.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the K-Means initialisation; same seed, same file.")
@click.option("--max-iter", type=click.IntRange(min=1), default=quantizer.DEFAULT_MAX_ITER,
              show_default=True, help="Most K-Means iterations per start.")
@click.option("--tol", type=click.FloatRange(min=0), default=quantizer.DEFAULT_TOL,
              show_default=True, help="Stop K-Means when centres move less than this "
              "(relative to the colour variance).")
@click.option("--target-psnr", type=_Decibels(), default=None,
              help="Use the fewest colours (up to -k) whose palette reaches this PSNR in dB.")
@click.option("--min-psnr", type=_Decibels(), default=None,
              help="Write nothing, and exit 99, when the PSNR is below this (dB).")
@click.option("--backend", type=click.Choice(BACKEND_NAMES), default="auto", show_default=True,
              help="Where pixels are assigned: OpenCL if available (auto), opencl, or numpy.")
@click.option("--device", metavar="SPEC", default=None,
              help="OpenCL device as PLATFORM[:DEVICE], index or name part (like PYOPENCL_CTX).")
@click.option("--palette", "palette_path", metavar="FILE", default=None,
              type=click.Path(dir_okay=False, allow_dash=True),
              help="Use the palette of FILE instead of fitting one: a .gcp file, a GIMP "
              "palette (.gpl) or an image of at most 256 colours (- for standard input). "
              "Not with -k.")
@click.option("--skip-if-larger", is_flag=True,
              help="Write nothing for a result no smaller than its input (exit status 98 "
              "for one file; counted as skipped in a batch).")
@_max_pixels_option
@_batch_options
@_force_option
@_verbosity_options
def encode(paths: tuple[str, ...], k: int, effort: int, method: str, algorithm: str,
           dither: bool, seed: int, max_iter: int, tol: float, target_psnr: float | None,
           min_psnr: float | None, backend: str, device: str | None,
           palette_path: str | None, skip_if_larger: bool,
           max_pixels: int, output_dir: str | None, workers: int | None,
           scheduler: str | None, force: bool, verbose: bool, quiet: bool) -> None:
    """Quantize INPUT (PNG, BMP, JPEG, ...) to at most K colours and write OUTPUT (.gcp).

    Use - for standard input or output. With -o DIR, every INPUT is encoded into DIR
    (a.png -> DIR/a.gcp) by parallel workers; a bad file is reported and the rest go on.
    """
    _configure_logging(verbose, quiet)
    if output_dir is None:
        single_paths = _single_paths(paths, scheduler)
    _check_palette_path(palette_path, paths, output_dir)
    palette = _given_palette(palette_path, max_pixels)
    if palette is not None and target_psnr is not None:
        raise click.UsageError("--target-psnr and --palette cannot both be given: the "
                               "palette sets the colours")
    options = {"k": _most_colours(k, target_psnr), "seed": seed, "method": method,
               "effort": effort, "max_iter": max_iter, "tol": tol, "backend": backend,
               "device": device, "max_pixels": max_pixels, "algorithm": algorithm,
               "dither": dither, "palette": palette, "target_psnr": target_psnr,
               "min_psnr": min_psnr}
    if output_dir is None:
        if method == "cm":
            threading.Thread(target=cm_engine.warm_up, args=(device,), daemon=True).start()
        most = options["k"] if palette is None else len(palette)
        show_bar = _is_terminal(sys.stderr) and not (quiet or verbose)
        with _StageBar(dither, fit=palette is None, show=show_bar) as bar:
            transform = functools.partial(batch.encode_file_bytes, progress=bar.update,
                                          **options)
            _convert_one(*single_paths, _skipping(transform, skip_if_larger),
                         functools.partial(_read_and_warm_up, max_pixels=max_pixels,
                                           backend=backend, device=device, most=most,
                                           method=method, dither=dither),
                         force=force)
        return
    transform = _skipping(functools.partial(batch.encode_file_bytes, **options),
                          skip_if_larger)
    # A batch's failures are printed after the file's name: "file" avoids saying it twice.
    read = functools.partial(files.read_image_input, max_pixels=max_pixels, name="file")
    jobs = batch.plan_jobs(_batch_inputs(paths), output_dir, ".gcp")
    _run_batch(jobs, transform, read, "encoding", "encoded", output_dir=output_dir,
               workers=workers, scheduler=scheduler, force=force, verbose=verbose, quiet=quiet)


@cli.command(cls=_TwoFormCommand)
@_paths_argument
@click.option("--format", "image_format", metavar="EXT", default=None,
              help="Image type to write, as an extension (png, bmp...); by default OUTPUT's, "
              "or png on standard output and in a batch.")
@_max_pixels_option
@_batch_options
@_force_option
@_verbosity_options
def decode(paths: tuple[str, ...], image_format: str | None, max_pixels: int,
           output_dir: str | None, workers: int | None, scheduler: str | None,
           force: bool, verbose: bool, quiet: bool) -> None:
    """Decode INPUT (.gcp) and write the image to OUTPUT, typed by its extension.

    Use - for standard input or output (standard output is PNG unless --format says).
    With -o DIR, every INPUT is decoded into DIR (a.gcp -> DIR/a.png, or --format's type).
    """
    _configure_logging(verbose, quiet)
    single = _single_paths(paths, scheduler) if output_dir is None else None
    extension = _output_extension(single[1] if single else None, image_format)
    transform = functools.partial(batch.decode_file_bytes, extension=extension,
                                  max_pixels=max_pixels)
    read = functools.partial(files.read_gcp_input, max_pixels=max_pixels)
    if single:
        _convert_one(*single, transform, read, force=force)
        return
    jobs = batch.plan_jobs(_batch_inputs(paths), output_dir, extension)
    _run_batch(jobs, transform, read, "decoding", "decoded", output_dir=output_dir,
               workers=workers, scheduler=scheduler, force=force, verbose=verbose, quiet=quiet)


def _most_colours(k: int, target_psnr: float | None) -> int:
    """-k, or 256 when --target-psnr is given without it (as pngquant's --quality may use
    every colour)."""
    source = click.get_current_context().get_parameter_source("k")
    if target_psnr is not None and source is click.core.ParameterSource.DEFAULT:
        return quantizer.MAX_COLORS
    return k


def _check_palette_path(palette_path: str | None, paths: tuple[str, ...],
                        output_dir: str | None) -> None:
    """Refuse, before reading anything, a ``--palette FILE`` that is standard input where
    INPUT is too, or that an output would replace (the palette file is an input too)."""
    if palette_path is None:
        return
    if palette_path == files.STDIO and files.STDIO in paths:
        raise click.UsageError("- (standard input) cannot be both INPUT and --palette")
    outputs = ([paths[-1]] if output_dir is None
               else [job.target for job in batch.plan_jobs(paths, output_dir, ".gcp")])
    for output in outputs:
        files.check_not_input(output, palette_path)


def _given_palette(palette_path: str | None, max_pixels: int):
    """The palette of ``--palette FILE``, uint8 (K, C), or None without it.

    ``-k`` given as well is a usage error: the palette says how many colours there are.
    """
    if palette_path is None:
        return None
    source = click.get_current_context().get_parameter_source("k")
    if source is not None and source is not click.core.ParameterSource.DEFAULT:
        raise click.UsageError("-k/--colors and --palette cannot both be given: the "
                               "palette sets the colours")
    data = files.read_palette_input(palette_path, max_pixels=max_pixels)
    palette = palettes.palette_from_file_bytes(data, palette_path, max_pixels=max_pixels)
    logger.debug("palette: %d colours of %d channel(s) from %s", *palette.shape, palette_path)
    return palette


def _skipping(transform: batch.Transform, skip_if_larger: bool) -> batch.Transform:
    """``transform``, made to give ``batch.NotSmaller`` for a result no smaller than its
    input when ``skip_if_larger`` (--skip-if-larger)."""
    if not skip_if_larger:
        return transform
    return functools.partial(batch.skip_if_larger, transform)


class _StageBar:
    """A progress bar on stderr over the encoder's stages (fit, assign, dither, encode)."""

    def __init__(self, dither: bool, *, fit: bool = True, show: bool) -> None:
        self.stages = [*(["fit"] if fit else []), "assign", *(["dither"] if dither else []),
                       "encode"]
        self.show = show
        self.bar = None

    def __enter__(self) -> _StageBar:
        if self.show:
            self.bar = click.progressbar(length=1000, label="encoding", file=sys.stderr,
                                         show_eta=False).__enter__()
        return self

    def update(self, stage: str, fraction: float) -> None:
        if self.bar is None or stage not in self.stages:
            return
        position = (self.stages.index(stage) + fraction) / len(self.stages)
        self.bar.label = f"encoding: {stage}"
        self.bar.update(int(1000 * position) - self.bar.pos)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            if exc[0] is None:
                self.bar.update(1000 - self.bar.pos)
            self.bar.__exit__(*exc)


def _read_and_warm_up(path: str, *, max_pixels: int, backend: str, device: str | None,
                      most: int, method: str, dither: bool = False) -> bytearray:
    """``files.read_image_input``; then, where the fit will run on OpenCL, its device is
    opened in a background thread while the image is decoded. A grey image's header
    (``imageio.declared_grey``) rules that out before decoding (``backend_for_colours``):
    importing pyopencl beside the numpy fit made a small grey encode 1.5x slower. Where
    it will not, and the header declares an image that dithering opens a device for
    (``dither_opencl.worth_opening``), that device is opened so instead."""
    data = files.read_image_input(path, max_pixels=max_pixels)
    channels = 1 if imageio.declared_grey(data) else None
    if backends.backend_for_colours(backend, most, method == "cm", channels) != "numpy":
        threading.Thread(target=backends.warm_up, args=(backend, device),
                         daemon=True).start()
    elif dither and backend != "numpy":
        from .backends import dither_opencl

        size = imageio.declared_size(data)
        if size is not None and dither_opencl.worth_opening(size[1], size[0]):
            threading.Thread(target=dither_opencl.warm_up, args=(device,),
                             daemon=True).start()
    return data


def _convert_one(input_path: str, output_path: str, transform: batch.Transform,
                 read: batch.Reader, *, force: bool) -> None:
    """The one-file form: fail early on the output, then read, transform and write.

    A ``batch.NotSmaller`` result (--skip-if-larger) writes nothing, says so in one line
    and ends with status 98.
    """
    files.check_writable(output_path, force=force, input_path=input_path)
    with timed_stage("read"):
        data = read(input_path)
    result = transform(data, input_path)
    if isinstance(result, batch.NotSmaller):
        shown = "standard input" if input_path == files.STDIO else input_path
        logger.warning("skipped %s: the result would be %s bytes, not smaller than its %s; "
                       "nothing written", shown, f"{result.result_size:,}",
                       f"{result.input_size:,}")
        raise click.exceptions.Exit(EXIT_SKIPPED)
    with timed_stage("write"):
        files.write_output(output_path, result, force=force, input_path=input_path)


def _single_paths(paths: tuple[str, ...], scheduler: str | None) -> tuple[str, str]:
    """INPUT and OUTPUT of the one-file form, checked."""
    if scheduler is not None:
        raise click.UsageError("--scheduler runs a batch: give -o DIR")
    if len(paths) == 1:
        raise click.UsageError("missing OUTPUT; give INPUT OUTPUT, or INPUT... -o DIR")
    if len(paths) > 2:
        raise click.UsageError(f"{len(paths)} paths given; give INPUT OUTPUT for one file, "
                               "or INPUT... -o DIR for several")
    input_path, output_path = paths
    if output_path == files.STDIO and _is_terminal(sys.stdout):
        raise click.UsageError("standard output is a terminal; redirect it or name an "
                               "OUTPUT file")
    return input_path, output_path


def _batch_inputs(paths: tuple[str, ...]) -> tuple[str, ...]:
    if files.STDIO in paths:
        raise click.UsageError("- (standard input) cannot be part of a batch (-o DIR)")
    return paths


def _run_batch(jobs: list[batch.Job], transform: batch.Transform, read: batch.Reader,
               doing: str, done: str, *,
               output_dir: str, workers: int | None, scheduler: str | None, force: bool,
               verbose: bool, quiet: bool) -> None:
    """Run a batch with a progress bar (on a terminal), then report every failure.

    Exits 1 when any file failed, 99 when every failure was a PSNR below --min-psnr; the
    failures are listed in the order of the inputs.
    """
    with contextlib.ExitStack() as stack:
        if scheduler is not None:
            client = stack.enter_context(batch.connect_dask(scheduler))
            outcomes = batch.run_dask(jobs, transform, client=client, force=force, read=read)
        else:
            outcomes = batch.run_local(
                jobs, transform, workers=workers or batch.default_workers(), force=force,
                read=read, worker_setup=functools.partial(_configure_logging, verbose, quiet))
        stack.enter_context(contextlib.closing(outcomes))
        os.makedirs(output_dir, exist_ok=True)  # once the batch can run
        show_bar = _is_terminal(sys.stderr) and not quiet
        failures, skipped = _failures(outcomes, len(jobs), doing, show_bar=show_bar)
    for job in jobs:  # in the order of the inputs
        if job in failures:
            click.echo(f"gcp: error: {job.source}: {failures[job].error}", err=True)
    written = len(jobs) - len(failures) - skipped
    skipped_text = f", {skipped} skipped (not smaller than their input)" if skipped else ""
    if failures:
        click.echo(f"gcp: {len(failures)} of {len(jobs)} files failed; "
                   f"{written} {done} into {output_dir}{skipped_text}", err=True)
        too_low = all(outcome.too_low for outcome in failures.values())
        raise click.exceptions.Exit(EXIT_QUALITY if too_low else EXIT_DATA)
    logger.info("%d file%s %s into %s%s", written, "" if written == 1 else "s", done,
                output_dir, skipped_text)


def _failures(outcomes: Iterable[batch.Outcome], total: int, label: str, *,
              show_bar: bool) -> tuple[dict[batch.Job, batch.Outcome], int]:
    """The outcome of each failed job, and how many were skipped (--skip-if-larger),
    after a progress bar (if shown) of all of them."""
    failures: dict[batch.Job, batch.Outcome] = {}
    skipped = 0
    with click.progressbar(length=total, label=label, file=sys.stderr,
                           hidden=not show_bar) as bar:
        for outcome in outcomes:
            bar.update(1)
            if not outcome.ok:
                failures[outcome.job] = outcome
            elif outcome.skipped:
                skipped += 1
                logger.debug("%s skipped: not smaller than its input", outcome.job.source)
            else:
                logger.debug("%s -> %s", outcome.job.source, outcome.job.target)
    return failures, skipped


def _output_extension(output_path: str | None, image_format: str | None) -> str:
    if image_format:
        extension = "." + image_format.lower().lstrip(".")
    elif output_path is None or output_path == files.STDIO:
        extension = ".png"
    else:
        extension = os.path.splitext(output_path)[1].lower()
    if not extension or not imageio.can_write(extension):
        shown = extension or "no extension"
        raise click.BadParameter(f"cannot write images of type {shown!r}; use .png, .bmp, "
                                 ".tif, .jpg, .webp, .ppm...",
                                 param_hint="--format" if image_format else "OUTPUT")
    return extension


@cli.command()
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Print the same facts as JSON.")
@click.option("--palette-out", metavar="OUT.gpl", default=None,
              type=click.Path(dir_okay=False, allow_dash=True),
              help="Also write the palette as a GIMP palette to OUT.gpl (RGB: grey as "
              "R=G=B, alpha left out); with -, to standard output, the facts then going to "
              "standard error.")
@_max_pixels_option
@_force_option
def info(path: str, as_json: bool, palette_out: str | None, max_pixels: int,
         force: bool) -> None:
    """Show the header, palette and size savings of a .gcp FILE."""
    _configure_logging(verbose=False, quiet=False)
    if palette_out is not None:
        files.check_writable(palette_out, force=force, input_path=path)
    details = codec.read_info(files.read_gcp_input(path, max_pixels=max_pixels),
                              max_pixels=max_pixels)
    if palette_out is not None:
        _write_palette(palette_out, path, details.palette, force=force)
    to_stderr = palette_out == files.STDIO
    if as_json:
        import json  # here: encodes and decodes, the calls that must start fast, need none

        click.echo(json.dumps({"file": path, **details.as_dict()}, indent=2), err=to_stderr)
        return
    swatches = not to_stderr and _is_terminal(sys.stdout) and os.environ.get("NO_COLOR") is None
    for line in _info_lines(path, details, swatches):
        click.echo(line, err=to_stderr)


def _write_palette(output_path: str, path: str, palette, *, force: bool) -> None:
    """``palette`` uint8 (K, C) as a GIMP palette named after ``path``, to ``output_path``;
    a warning when alpha below 255 is left out."""
    rgb, lost_alpha = palettes.to_rgb(palette)
    if lost_alpha:
        logger.warning("a GIMP palette has no alpha: writing the colours without the "
                       "transparency")
    name = "gcp" if path == files.STDIO else os.path.splitext(os.path.basename(path))[0]
    files.write_output(output_path, palettes.write_gpl(rgb, name), force=force,
                       input_path=path)


@cli.command()
@click.argument("image_path", metavar="IMAGE", type=click.Path(dir_okay=False, allow_dash=True))
@click.argument("gcp_path", metavar="FILE", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-o", "--output", "output_path", metavar="PICTURE", default=None,
              type=click.Path(dir_okay=False, allow_dash=True),
              help="Also write IMAGE, FILE decoded and its palette side by side to PICTURE "
              "(typed by its extension; - is PNG on standard output).")
@_max_pixels_option
@_force_option
def compare(image_path: str, gcp_path: str, output_path: str | None, max_pixels: int,
            force: bool) -> None:
    """Compare IMAGE with FILE, its .gcp version: PSNR, sizes and bits per pixel.

    The numbers go to standard output (to standard error when PICTURE is -).
    """
    if image_path == files.STDIO and gcp_path == files.STDIO:
        raise click.UsageError("IMAGE and FILE cannot both be - (standard input)")
    extension = None
    if output_path is not None:
        extension = _output_extension(output_path, None)
        files.check_writable(output_path, force=force, input_path=(image_path, gcp_path))
    comparison = compare_module.measure(
        files.read_image_input(image_path, max_pixels=max_pixels),
        files.read_gcp_input(gcp_path, max_pixels=max_pixels), image_name=image_path,
        gcp_name=gcp_path, max_pixels=max_pixels)
    if output_path is not None:
        picture = imageio.encode_image(comparison.picture(), extension)
        files.write_output(output_path, picture, force=force,
                           input_path=(image_path, gcp_path))
    for line in _compare_lines(image_path, gcp_path, comparison):
        click.echo(line, err=output_path == files.STDIO)


def _compare_lines(image_path: str, gcp_path: str,
                   comparison: compare_module.Comparison) -> list[str]:
    height, width, channels = comparison.original.shape
    shown_psnr = ("inf (identical)" if comparison.psnr == float("inf")
                  else f"{comparison.psnr:.2f} dB")
    return [
        f"image:       {image_path}: {width} x {height}, {channels} channel"
        f"{'s' if channels > 1 else ''}, {comparison.image_file_size:,} bytes "
        f"({comparison.image_bits_per_pixel:.3f} bits/pixel)",
        f"gcp:         {gcp_path}: {len(comparison.palette)} colours, "
        f"{comparison.gcp_file_size:,} bytes ({comparison.bits_per_pixel:.3f} bits/pixel)",
        f"size ratio:  {comparison.size_ratio:.4f} (gcp / image file)",
        f"PSNR:        {shown_psnr}",
    ]


def _info_lines(path: str, details: codec.Info, swatches: bool) -> list[str]:
    pixels = details.width * details.height
    lines = [
        f"file:          {path}",
        f"format:        gcp version {details.version}, method {details.method}, "
        f"{'compact' if details.compact else 'fixed'} header of {details.header_length} bytes",
        f"size:          {details.width} x {details.height}, {details.channels} channel"
        f"{'s' if details.channels > 1 else ''} ({CHANNEL_NAMES[details.channels]})",
        f"lossless:      {'yes: the palette holds every source colour' if details.exact else 'no'}",
        f"file size:     {details.file_size:,} bytes",
        f"raw size:      {details.raw_size:,} bytes ({details.width} x {details.height} x "
        f"{details.channels})",
        f"ratio:         {details.compression_ratio:.2f} : 1 "
        f"({100 * (1 - details.file_size / details.raw_size):.1f}% saved)",
        f"bits/pixel:    {details.bits_per_pixel:.3f} over {pixels:,} pixels",
        f"palette:       {details.palette_size} colour{'s' if details.palette_size > 1 else ''}"
        + (f", coded in {details.palette_stored_length:,} bytes (as is: "
           f"{details.palette.size:,})" if details.coded_palette else ""),
    ]
    for index, colour in enumerate(details.palette):
        swatch = f" {_swatch(colour)}" if swatches else ""
        lines.append(f"  {index:3d}  {codec.colour_hex(colour)}{swatch}")
    return lines


def _swatch(colour) -> str:
    """Two spaces on a 24-bit background of the colour (alpha ignored)."""
    red, green, blue = (colour[0],) * 3 if len(colour) <= 2 else colour[:3]
    return f"\x1b[48;2;{red};{green};{blue}m    \x1b[0m"


def main() -> NoReturn:
    """Console-script entry point (``gcp``, ``python -m gcp``)."""
    _leave(cli.main(prog_name="gcp", standalone_mode=False) or 0)


def _leave(status: int) -> NoReturn:
    """End the process with ``status`` once stdout, stderr and the log are flushed,
    without the interpreter's teardown: freeing every module, the arrays and the OpenCL
    runtime's buffers and threads took about 0.1 s after a 16.8-MP encode had written its
    file (farm-bench: 0.89-0.96x the whole encode). A stream that cannot be flushed (a closed
    pipe) takes the normal exit, which reports it as Python always has."""
    logging.shutdown()
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        sys.exit(status)
    os._exit(status)
