"""Shared fixtures: the real images in samples/ and tests/data/, and small helpers."""

from __future__ import annotations

import atexit
import os
import re
import shutil
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from gcp import imageio

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
DATA = Path(__file__).resolve().parent / "data"
VECTORS = ROOT / "spec" / "vectors"
SPEC = ROOT / "spec" / "format.md"

# Kernels built while testing are kept in a folder of the tests' own, not the user's cache.
if "GCP_KERNEL_CACHE" not in os.environ:
    os.environ["GCP_KERNEL_CACHE"] = tempfile.mkdtemp(prefix="gcp-test-kernels-")
    atexit.register(shutil.rmtree, os.environ["GCP_KERNEL_CACHE"], ignore_errors=True)

REAL_IMAGES = {
    "astronaut": SAMPLES / "astronaut.png",
    "coffee": SAMPLES / "coffee.bmp",
    "camera": SAMPLES / "camera.png",
    "logo": SAMPLES / "logo.png",
    "color": DATA / "color.png",
}


def spec_decoder_rules() -> list[tuple[int, set[str], list[str]]]:
    """The table of spec/format.md section 6: (rule number, fields, vector names) per row."""
    section = SPEC.read_text().split("## 6. Decoder rules", 1)[1].split("\n## ", 1)[0]
    rules = []
    for row in re.findall(r"^\| (\d+) \|(.*)\|$", section, flags=re.MULTILINE):
        number, rest = row
        field_cell, _, vector_cell = (cell.strip() for cell in rest.split("|"))
        rules.append((int(number), set(re.findall(r"`([^`]+)`", field_cell)),
                      re.findall(r"`([^`]+)`", vector_cell)))
    return rules


SPEC_FIELDS = frozenset().union(*(fields for _, fields, _ in spec_decoder_rules()))


def exif_segment(entries: list[tuple[int, int, int, int]], order: str = "<") -> bytes:
    """An APP1 segment holding EXIF: a TIFF structure of one directory of ``entries``
    (tag, type, count, value as a SHORT)."""
    tiff = (b"II" if order == "<" else b"MM") + struct.pack(order + "HIH", 42, 8, len(entries))
    for tag, kind, count, value in entries:
        tiff += struct.pack(order + "HHIHH", tag, kind, count, value, 0)
    payload = b"Exif\x00\x00" + tiff + struct.pack(order + "I", 0)
    return b"\xff\xe1" + struct.pack(">H", 2 + len(payload)) + payload


def with_segments_after_app0(jpeg: bytes, segments: bytes) -> bytes:
    assert jpeg[2:4] == b"\xff\xe0"
    after_app0 = 4 + int.from_bytes(jpeg[4:6], "big")
    return jpeg[:after_app0] + segments + jpeg[after_app0:]


def png_with_size(width: int, height: int) -> bytes:
    """A small PNG whose IHDR (CRC fixed) declares width x height."""
    data = bytearray(imageio.encode_image(np.zeros((2, 2, 3), np.uint8), ".png"))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    return bytes(data)


def bmp_with_size(width: int, height: int) -> bytes:
    """A small BMP whose 40-byte header declares width x height (negative: top-down)."""
    data = bytearray(imageio.encode_image(np.zeros((2, 2, 3), np.uint8), ".bmp"))
    data[18:26] = struct.pack("<ii", width, height)
    return bytes(data)


def load(name: str) -> np.ndarray:
    return imageio.decode_image(REAL_IMAGES[name].read_bytes(), name=name)


@pytest.fixture(scope="session")
def real_images() -> dict[str, np.ndarray]:
    return {name: load(name) for name in REAL_IMAGES}


def psnr(original: np.ndarray, decoded: np.ndarray) -> float:
    error = np.mean((original.astype(np.float64) - decoded.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else 10 * np.log10(255.0**2 / error)


def colour_count(image: np.ndarray) -> int:
    return len(np.unique(image.reshape(-1, image.shape[-1]), axis=0))


def opencl_device_and_reason() -> tuple[str | None, str]:
    """A description of the OpenCL device tests can use and "", or None and why not: no
    OpenCL at all, or no device whose compiler can build kernels (pip's POCL 3.0 on a CPU
    newer than its LLVM 14 knows, such as an AMD Zen 5)."""
    from gcp.backends.opencl import OpenCLBackend
    from gcp.errors import BackendError

    try:
        return OpenCLBackend.for_device(None).device, ""
    except BackendError as error:
        return None, f"no usable OpenCL device: {error}"


OPENCL_DEVICE, NO_OPENCL_REASON = opencl_device_and_reason()


def opencl_device_or_none() -> str | None:
    """A description of the OpenCL device tests can use, or None without one."""
    return OPENCL_DEVICE


def pytest_report_header(config) -> str:
    return f"OpenCL: {OPENCL_DEVICE or NO_OPENCL_REASON}"


requires_opencl = pytest.mark.skipif(OPENCL_DEVICE is None, reason=NO_OPENCL_REASON)
