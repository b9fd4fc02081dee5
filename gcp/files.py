"""Reading inputs and writing outputs safely: '-' for the standard streams, atomic files.

An output is written to a temporary file beside it and then renamed into place, so a
failure at any point (a full disk, an interrupt) leaves no partial file and never harms a
file already there. Without ``force``, an existing file is never replaced, even one that
appears while we work: the final step links rather than renames. An output is never the
input itself, even with ``force``, nor a device, pipe or socket; a symbolic link is
written through (its target is replaced, the link stays).

A .gcp input is read no further than its header says it ends, and an image input is
judged by its first bytes before the rest is read and read no further than an image within
the pixel limit can be long; so an endless stream (``/dev/zero``) or a huge file is
refused after its first bytes, not read into memory.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import BinaryIO

from . import container, imageio, palettes
from .errors import FormatError, GcpError, ImageError, PaletteError

STDIO = "-"

Buffer = bytes | bytearray | memoryview
# An output file's bytes: whole, or pieces written in order (``codec.Pieces``).
Output = Buffer | Iterable[Buffer]

_READ_STEP = 1 << 20


class OutputExistsError(GcpError):
    """The output file exists and overwriting was not asked for."""


class SameFileError(OutputExistsError):
    """The output is the input file: writing it would destroy the input."""


class SpecialFileError(OutputExistsError):
    """The output is a device, pipe or socket, which a file must not replace."""


def _standard_stream(name: str) -> BinaryIO:
    """The binary side of sys.stdin or sys.stdout; OSError if the process has none."""
    stream = getattr(sys, name)
    if stream is None:
        raise OSError(errno.EBADF, f"standard {name[3:]}put is closed", STDIO)
    return stream.buffer


@contextlib.contextmanager
def _open_input(path: str) -> Iterator[BinaryIO]:
    if path == STDIO:
        yield _standard_stream("stdin")
        return
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", path)
    with open(path, "rb") as file:
        yield file


def read_input(path: str) -> bytes:
    """All bytes of the file at ``path``, or of standard input for '-'."""
    with _open_input(path) as stream:
        return stream.read()


def _read_at_most(stream: BinaryIO, size: int) -> bytearray:
    """Up to ``size`` bytes of ``stream``, read in steps: nothing is allocated for bytes
    the stream does not hold, whatever ``size`` is."""
    data = bytearray()
    while len(data) < size:
        step = stream.read(min(size - len(data), _READ_STEP))
        if not step:
            break
        data += step
    return data


def read_gcp_input(path: str, *, max_pixels: int = container.DEFAULT_MAX_PIXELS
                   ) -> bytearray:
    """The bytes of the .gcp file at ``path`` (or standard input for '-').

    The header is read and checked first (``FormatError``, ``LimitError`` as ``decode``
    raises them), then no more than the file length it declares: a longer input is a
    ``FormatError`` (field ``length``) without being read to its end.
    """
    with _open_input(path) as stream:
        return _read_gcp(stream, bytearray(), max_pixels)


def _read_gcp(stream: BinaryIO, data: bytearray, max_pixels: int) -> bytearray:
    """``read_gcp_input`` from an open ``stream`` of which ``data`` was read already."""
    data += _read_at_most(stream, container.LEADING_SIZE - len(data))
    file_length = _parse_header(data, max_pixels).file_length
    data += _read_at_most(stream, file_length + 1 - len(data))
    if len(data) > file_length:
        raise FormatError(f"file goes on past the {file_length} bytes its header declares",
                          field="length")
    return data


def _parse_header(data: bytearray, max_pixels: int) -> container.Header:
    """``container.parse_header``, saying what to do when the data is an image instead."""
    try:
        return container.parse_header(data, max_pixels=max_pixels)
    except FormatError as error:
        if error.field == "signature" and imageio.is_common_image(bytes(data)):
            raise FormatError(f"{error}: it is an image; gcp encode makes a .gcp file of it",
                              field=error.field) from None
        raise


def read_image_input(path: str, *, max_pixels: int = container.DEFAULT_MAX_PIXELS,
                     name: str | None = None) -> bytearray:
    """The bytes of the image file at ``path`` (or standard input for '-'), called ``name``
    (by default ``path``) in errors.

    Its first bytes are checked first (``imageio.check_file_start``: ``ImageError`` for no
    image, ``LimitError`` for too many pixels declared), then it is read up to
    ``imageio.max_file_size(max_pixels)`` bytes: a longer input is a ``LimitError``
    without being read to its end.
    """
    with _open_input(path) as stream:
        return _read_image(stream, bytearray(), max_pixels, name or path)


def _read_image(stream: BinaryIO, data: bytearray, max_pixels: int, name: str) -> bytearray:
    """``read_image_input`` from an open ``stream`` of which ``data`` was read already."""
    data += _read_at_most(stream, imageio.FILE_START_SIZE - len(data))
    imageio.check_file_start(data, max_pixels=max_pixels, name=name)
    data += _read_at_most(stream, imageio.max_file_size(max_pixels) + 1 - len(data))
    imageio.check_file_size(len(data), max_pixels=max_pixels, name=name)
    return data


def read_palette_input(path: str, *, max_pixels: int = container.DEFAULT_MAX_PIXELS
                       ) -> bytearray:
    """The bytes of the palette file at ``path`` (``gcp encode --palette``; '-' for
    standard input): a .gcp file, read as ``read_gcp_input`` reads one; a GIMP palette,
    read to at most ``palettes.MAX_GPL_BYTES`` (``PaletteError`` beyond); or an image,
    read as ``read_image_input`` reads one. A file that is none of them is a
    ``PaletteError``. Read once, from its first bytes on, so that a pipe will do."""
    with _open_input(path) as stream:
        data = _read_at_most(stream, container.HEADER_SIZE)
        if data.startswith(container.SIGNATURE):
            return _read_gcp(stream, data, max_pixels)
        if not palettes.is_gpl(data):
            try:
                return _read_image(stream, data, max_pixels, path)
            except ImageError:
                raise PaletteError(f"{path} is neither a .gcp file, a GIMP palette (.gpl) "
                                   "nor an image gcp reads", field="palette") from None
        data += _read_at_most(stream, palettes.MAX_GPL_BYTES + 1 - len(data))
    if len(data) > palettes.MAX_GPL_BYTES:
        raise PaletteError(f"{path} is over {palettes.MAX_GPL_BYTES} bytes, too long for a "
                           "GIMP palette", field="palette")
    return data


def check_writable(path: str, *, force: bool,
                   input_path: str | Sequence[str] | None = None) -> None:
    """Fail early, before any work, if ``path`` cannot be an output (of ``input_path``,
    or of each of several inputs)."""
    if path == STDIO:
        return
    check_not_input(path, input_path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "is a folder", path)
    if path.endswith((os.sep, "/")):
        raise IsADirectoryError(errno.EISDIR, "is a folder's name, not a file's", path)
    if _is_special(path):
        raise SpecialFileError(f"{path} is a device, pipe or socket, not a file: gcp "
                               "would replace it; use - for standard output",
                               field="output")
    if not force and os.path.lexists(path):
        raise OutputExistsError(f"{path} already exists; use --force to overwrite it",
                                field="output")
    folder = os.path.dirname(os.path.realpath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, "folder does not exist", folder)


def _is_special(path: str) -> bool:
    """True when ``path`` exists (through links) and is neither a file nor a folder."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def check_not_input(path: str, input_path: str | Sequence[str] | None) -> None:
    """``SameFileError`` where the output ``path`` is ``input_path``'s file (or one of
    several inputs'), through links."""
    if any(_same_file(source, path) for source in _inputs(input_path)):
        raise SameFileError(f"{path} is the input file; writing it would destroy the input",
                            field="output")


def _inputs(input_path: str | Sequence[str] | None) -> tuple[str, ...]:
    if input_path is None:
        return ()
    return (input_path,) if isinstance(input_path, str) else tuple(input_path)


def _same_file(input_path: str, output_path: str) -> bool:
    """True when both names lead to one file (links included); False if either is missing."""
    if STDIO in (input_path, output_path):
        return False
    try:
        return os.path.samefile(input_path, output_path)
    except OSError:
        return False


def write_output(path: str, data: Output, *, force: bool = False,
                 input_path: str | Sequence[str] | None = None) -> None:
    """Write ``data`` to ``path`` atomically (or to standard output for '-'): bytes, or
    pieces of bytes written in order (``codec.Pieces``).

    A failure (a full disk, a folder we may not write in, or one making a piece) is an
    ``OSError`` naming ``path`` or the piece's own error, and leaves neither a temporary
    file nor a change to a file already there.
    """
    if path == STDIO:
        stdout = _standard_stream("stdout")
        for piece in _pieces_of(data):
            written = stdout.write(piece)
            if written is not None and written < memoryview(piece).nbytes:
                # A pipe whose reader went away mid-write takes part of a large write
                # without an error: the output was cut short, which is a failure.
                raise BrokenPipeError(errno.EPIPE, "Broken pipe")
        stdout.flush()
        return
    check_writable(path, force=force, input_path=input_path)
    target = os.path.realpath(path)  # through symbolic links: replace the file, not a link
    try:
        _write_through_temporary(os.path.dirname(target), target, data, force=force)
    except OSError as error:
        # Name the output, not the temporary file the error may be about.
        raise OSError(error.errno, f"cannot write it: {error.strerror or error}",
                      path) from None


def _pieces_of(data: Output) -> Iterable[Buffer]:
    return (data,) if isinstance(data, Buffer) else data


# The temporary file beside the output is named after it where that fits a file name's
# 255 bytes with the random part and ".part" (about 15 more); a longer name gets a plain
# prefix instead.
MAX_NAMED_TEMPORARY = 200


def _write_through_temporary(folder: str, path: str, data: Output, *, force: bool) -> None:
    name = os.path.basename(path)
    prefix = f".{name}." if len(os.fsencode(name)) <= MAX_NAMED_TEMPORARY else ".gcp-output."
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as file:
            for piece in _pieces_of(data):
                file.write(piece)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        if force:
            os.replace(temporary, path)
        else:
            _link_without_clobbering(temporary, path)
    finally:
        with contextlib.suppress(OSError):  # gone already, or the folder went read-only
            os.unlink(temporary)


def _link_without_clobbering(temporary: str, path: str) -> None:
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise OutputExistsError(f"{path} already exists; use --force to overwrite it",
                                field="output") from None
    except OSError:
        # No hard links on this file system: rename, after one last look.
        if os.path.lexists(path):
            raise OutputExistsError(f"{path} already exists; use --force to overwrite it",
                                    field="output") from None
        os.rename(temporary, path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
