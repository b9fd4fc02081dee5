"""gcp.backends.kernel_cache: built programs kept on disk and loaded again, safely."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from gcp.backends import kernel_cache
from tests.conftest import requires_opencl

SOURCE = """__kernel void twice(__global const int *in, __global int *out)
{ size_t i = get_global_id(0); out[i] = 2 * in[i] + OFFSET; }"""
OPTIONS = ["-DOFFSET=3"]


@pytest.fixture
def backend(tmp_path, monkeypatch):
    from gcp.backends.opencl import OpenCLBackend

    monkeypatch.setenv(kernel_cache.CACHE_FOLDER_VARIABLE, str(tmp_path / "kernels"))
    return OpenCLBackend.for_device(None)


def run(backend, program) -> list[int]:
    cl = backend.cl
    values = np.arange(5, dtype=np.int32)
    out = np.empty_like(values)
    flags = cl.mem_flags
    source = cl.Buffer(backend.context, flags.READ_ONLY | flags.COPY_HOST_PTR, hostbuf=values)
    target = cl.Buffer(backend.context, flags.WRITE_ONLY, out.nbytes)
    program.twice(backend.queue, (5,), None, source, target)
    cl.enqueue_copy(backend.queue, out, target)
    return out.tolist()


def kept(tmp_path) -> list:
    return sorted((tmp_path / "kernels").glob("*.bin"))


def from_binaries(backend, monkeypatch) -> list[str]:
    """Records, for the builds that follow, whether each came from a binary or source."""
    made = []
    program = backend.cl.Program

    def recording(context, *args):
        made.append("binary" if len(args) == 2 else "source")
        return program(context, *args)

    monkeypatch.setattr(backend.cl, "Program", recording)
    return made


@requires_opencl
def test_a_built_program_is_kept_and_loaded_from_its_binary(backend, tmp_path, monkeypatch):
    first = kernel_cache.build_program(backend.cl, backend.context, SOURCE, OPTIONS)
    assert len(kept(tmp_path)) == 1
    made = from_binaries(backend, monkeypatch)
    second = kernel_cache.build_program(backend.cl, backend.context, SOURCE, OPTIONS)
    assert made == ["binary"]
    assert run(backend, first) == run(backend, second) == [3, 5, 7, 9, 11]


@requires_opencl
def test_other_options_or_source_are_another_binary(backend, tmp_path):
    kernel_cache.build_program(backend.cl, backend.context, SOURCE, OPTIONS)
    kernel_cache.build_program(backend.cl, backend.context, SOURCE, ["-DOFFSET=4"])
    kernel_cache.build_program(backend.cl, backend.context, SOURCE + "\n", OPTIONS)
    assert len(kept(tmp_path)) == 3


@requires_opencl
@pytest.mark.parametrize("damage", ["truncated", "flipped", "magic", "empty", "garbage"])
def test_a_damaged_binary_is_built_again_from_source_and_replaced(backend, tmp_path,
                                                                  monkeypatch, damage):
    kernel_cache.build_program(backend.cl, backend.context, SOURCE, OPTIONS)
    [path] = kept(tmp_path)
    data = path.read_bytes()
    damaged = {"truncated": data[:-7], "flipped": data[:-1] + bytes([data[-1] ^ 1]),
               "magic": b"X" + data[1:], "empty": b"",
               # checks out, but the driver will not take it
               "garbage": data[:len(kernel_cache.KERNEL_CACHE_MAGIC)]
               + hashlib.sha256(b"not a binary").digest() + b"not a binary"}
    path.write_bytes(damaged[damage])
    made = from_binaries(backend, monkeypatch)
    program = kernel_cache.build_program(backend.cl, backend.context, SOURCE, OPTIONS)
    assert made == (["binary", "source"] if damage == "garbage" else ["source"])
    assert run(backend, program) == [3, 5, 7, 9, 11]
    assert path.read_bytes() == data


@requires_opencl
def test_the_cache_can_be_turned_off(backend, tmp_path, monkeypatch):
    monkeypatch.setenv(kernel_cache.CACHE_FOLDER_VARIABLE, "")
    assert kernel_cache.cache_folder() is None
    kernel_cache.build_program(backend.cl, backend.context, SOURCE, OPTIONS)
    monkeypatch.setenv(kernel_cache.CACHE_FOLDER_VARIABLE, str(tmp_path / "kernels"))
    monkeypatch.setenv("PYOPENCL_NO_CACHE", "1")
    kernel_cache.build_program(backend.cl, backend.context, SOURCE, OPTIONS)
    assert kept(tmp_path) == []


@requires_opencl
def test_a_cache_that_cannot_be_written_is_passed_over(backend, tmp_path, monkeypatch):
    blocker = tmp_path / "a file"
    blocker.write_bytes(b"")
    monkeypatch.setenv(kernel_cache.CACHE_FOLDER_VARIABLE, str(blocker / "kernels"))
    program = kernel_cache.build_program(backend.cl, backend.context, SOURCE, OPTIONS)
    assert run(backend, program) == [3, 5, 7, 9, 11]
    assert list(tmp_path.glob("**/*.part")) == []


def test_the_default_folder_is_in_the_users_cache(monkeypatch, tmp_path):
    monkeypatch.delenv(kernel_cache.CACHE_FOLDER_VARIABLE, raising=False)
    monkeypatch.delenv("PYOPENCL_NO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert kernel_cache.cache_folder() == tmp_path / "gcp" / "kernels"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert kernel_cache.cache_folder() == tmp_path / ".cache" / "gcp" / "kernels"
