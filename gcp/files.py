"""Reading inputs and writing outputs safely: '-' for the standard streams, atomic files.

An output is written to a temporary file beside it and then renamed into place, so a
failure at any point (a full disk, an interrupt) leaves no partial file and never harms a
file already there. Without ``force``, an existing file is never replaced, even one that
appears while we work: the final step links rather than renames.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import tempfile

from .errors import GcpError

STDIO = "-"


class OutputExistsError(GcpError):
    """The output file exists and overwriting was not asked for."""


def read_input(path: str) -> bytes:
    """All bytes of the file at ``path``, or of standard input for '-'."""
    if path == STDIO:
        return sys.stdin.buffer.read()
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", path)
    with open(path, "rb") as file:
        return file.read()


def check_writable(path: str, *, force: bool) -> None:
    """Fail early, before any work, if ``path`` cannot be an output."""
    if path == STDIO:
        return
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "is a folder", path)
    if not force and os.path.lexists(path):
        raise OutputExistsError(f"{path} already exists; use --force to overwrite it",
                                field="output")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, "folder does not exist", folder)


def write_output(path: str, data: bytes, *, force: bool = False) -> None:
    """Write ``data`` to ``path`` atomically (or to standard output for '-')."""
    if path == STDIO:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    check_writable(path, force=force)
    folder = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(
        dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        if force:
            os.replace(temporary, path)
        else:
            _link_without_clobbering(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
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
