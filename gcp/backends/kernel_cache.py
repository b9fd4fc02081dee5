"""Built OpenCL programs kept on disk, so that a new process loads a binary instead of
building from source.

POCL caches what it compiles, but still reads and hashes the source each time: a
program built from source took 24-28 ms of every gcp process (method cm's, the fit's
and the device check's, each), where one built from its binary takes 3-4 ms. pyopencl
keeps binaries only for drivers without such a cache, so gcp keeps its own.

A binary is kept under ``cache_folder()`` in a file named by a hash of everything it was
built from: the source, the build options, the device and its driver, pyopencl's
version. The file holds KERNEL_CACHE_MAGIC, the SHA-256 of the binary and the binary; a
file that does not check out, or a binary the driver refuses, is built again from
source and replaced. Files are written whole (a temporary file, then a rename); a cache
that cannot be read or written is passed over. ``GCP_KERNEL_CACHE`` names the folder,
or turns the cache off when empty, as ``PYOPENCL_NO_CACHE`` does too.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

KERNEL_CACHE_MAGIC = b"gcp-opencl-binary-1\n"
DIGEST_SIZE = 32  # SHA-256
CACHE_FOLDER_VARIABLE = "GCP_KERNEL_CACHE"


def cache_folder() -> Path | None:
    """Where binaries are kept: ``GCP_KERNEL_CACHE``, else gcp/kernels in the user's cache
    folder (``XDG_CACHE_HOME``, else ~/.cache); None where the cache is off."""
    if os.environ.get("PYOPENCL_NO_CACHE"):
        return None
    named = os.environ.get(CACHE_FOLDER_VARIABLE)
    if named is not None:
        return Path(named) if named else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gcp" / "kernels"


def build_program(cl, context, source: str, options: list[str]):
    """``source`` built with ``options`` for ``context``'s one device: from its cached
    binary where there is a good one, else from source (then cached). Raises what
    pyopencl's build of the source raises."""
    device = context.devices[0]
    path = _binary_path(cl, device, source, options)
    binary = _read_binary(path) if path is not None else None
    if binary is not None:
        try:
            return cl.Program(context, [device], [binary]).build(options=options)
        except cl.Error:
            pass  # a binary this driver will not take: built again below
    program = cl.Program(context, source).build(options=options)
    if path is not None:
        _write_binary(path, program.binaries[0])
    return program


def _binary_path(cl, device, source: str, options: list[str]) -> Path | None:
    folder = cache_folder()
    if folder is None:
        return None
    key = hashlib.sha256()
    for part in (source, *options, device.name, device.vendor, device.version,
                 device.driver_version, device.platform.name, device.platform.version,
                 cl.VERSION_TEXT):
        key.update(part.encode("utf-8", "replace") + b"\0")
    return folder / f"{key.hexdigest()}.bin"


def _read_binary(path: Path) -> bytes | None:
    """The binary kept at ``path``, or None where there is none or it does not check out."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head = len(KERNEL_CACHE_MAGIC)
    if not data.startswith(KERNEL_CACHE_MAGIC) or len(data) <= head + DIGEST_SIZE:
        return None
    digest, binary = data[head:head + DIGEST_SIZE], data[head + DIGEST_SIZE:]
    return binary if hashlib.sha256(binary).digest() == digest else None


def _write_binary(path: Path, binary: bytes) -> None:
    """Keep ``binary`` at ``path``, whole or not at all; a cache that cannot be written
    is passed over."""
    if not binary:
        return
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
        with os.fdopen(descriptor, "wb") as file:
            file.write(KERNEL_CACHE_MAGIC + hashlib.sha256(binary).digest() + binary)
        os.replace(temporary, path)
        temporary = None
    except OSError:
        return
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
