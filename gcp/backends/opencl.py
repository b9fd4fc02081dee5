"""The OpenCL backend: ``assign.cl`` through pyopencl, on a GPU or on the CPU through POCL.

One context and queue per device, one built program per (context, channel count), one
kernel object kept per program: nothing is rebuilt per call. A ``PixelSet`` uploads its
pixels once and can then be assigned against as many palettes as the caller likes.
"""

from __future__ import annotations

import atexit
import glob
import logging
import os
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from importlib import resources

import numpy as np

from ..errors import BackendError
from .kernel_cache import build_program

logger = logging.getLogger("gcp")

WORK_GROUP_SIZE = 128
# Pixels each work-item assigns (PIXELS_PER_ITEM in assign.cl); measured best on POCL.
PIXELS_PER_ITEM = 8
ITEM_PIXELS_PER_GROUP = WORK_GROUP_SIZE * PIXELS_PER_ITEM
# Pixels one work-group of cluster_sums adds up (far below the 2^24 its counters allow).
SUM_SPAN = 1 << 16
# Seconds to compare one pixel with one colour on a CPU device (see __init__.py,
# load_pixels); a GPU never needs the colour table.
CPU_SECONDS_PER_PAIR = 0.25e-9
# Seconds per pixel of assignment by distinct colour on a CPU device, its kernels finding
# the colours and looking the labels up: POCL, 2 cores, 10-21 ms at 0.26 MP, 14-15 ms at
# 1 MP, 40-56 ms at 16.8 MP (k = 16 to 64; 130-190 ms with numpy's keys).
CPU_TABLE_SECONDS_PER_PIXEL = 2.5e-9
# Uploads are split into buffers no larger than this, or the device's own limit if lower.
MAX_BUFFER_BYTES = 1 << 30

# Where NVIDIA's OpenCL driver library lies when its container runtime mounts it.
NVIDIA_OPENCL_LIBRARIES = ("/usr/lib/x86_64-linux-gnu/libnvidia-opencl.so.1",
                           "/usr/lib64/libnvidia-opencl.so.1",
                           "/usr/local/nvidia/lib64/libnvidia-opencl.so.1",
                           "/usr/lib/aarch64-linux-gnu/libnvidia-opencl.so.1")
SYSTEM_VENDORS = "/etc/OpenCL/vendors"  # the ICD loader's folder of .icd files

_DEVICE_TYPE_PREFERENCE = ("GPU", "ACCELERATOR", "CPU")
_backends: dict[int, OpenCLBackend] = {}  # by the device's handle
_unusable: dict[int, str] = {}  # why a device cannot be used, by its handle
_opening = threading.Lock()  # around opening a device and the two dicts above
# Built on a device when it is opened, to find a compiler that cannot build for it.
PROBE_SOURCE = "__kernel void probe(__global int *out) { out[0] = 1; }"
Check = Callable[["OpenCLBackend"], object]  # a build that raises BackendError if it fails


def _import_pyopencl():
    _make_nvidia_driver_visible()
    try:
        import pyopencl
    except ImportError as error:  # pragma: no cover - pyopencl is a dependency
        raise BackendError(f"pyopencl cannot be imported ({error})") from None
    return pyopencl


def _make_nvidia_driver_visible(libraries: tuple[str, ...] = NVIDIA_OPENCL_LIBRARIES,
                                system_vendors: str = SYSTEM_VENDORS) -> str | None:
    """Let the ICD loader find NVIDIA's OpenCL library when no .icd file names it.

    GPU containers often carry libnvidia-opencl.so.1 (mounted by the NVIDIA container
    runtime) without /etc/OpenCL/vendors/nvidia.icd, so the loader sees only POCL. Then
    we point OCL_ICD_VENDORS at a private folder holding an .icd file for it beside copies
    of the system's, removed when the process ends. (pyopencl's wheels bundle a loader that
    adds their own POCL to whatever folder it reads, so the CPU device stays.) Done before
    the loader's first scan; a user's own OCL_ICD_VENDORS is respected. Returns the folder
    made, or None when nothing was needed.
    """
    if "OCL_ICD_VENDORS" in os.environ or glob.glob(os.path.join(system_vendors, "*nvidia*")):
        return None
    found = [path for path in libraries if os.path.exists(path)]
    if not found:
        return None
    vendors = tempfile.mkdtemp(prefix="gcp-opencl-vendors-")
    atexit.register(shutil.rmtree, vendors, ignore_errors=True)
    with open(os.path.join(vendors, "nvidia.icd"), "w") as icd:
        icd.write(found[0] + "\n")
    for existing in glob.glob(os.path.join(system_vendors, "*.icd")):
        shutil.copyfile(existing, os.path.join(vendors, os.path.basename(existing)))
    os.environ["OCL_ICD_VENDORS"] = vendors
    logger.debug("OpenCL: pointed OCL_ICD_VENDORS at %s for %s", vendors, found[0])
    return vendors


def list_devices() -> list[tuple[int, int, object]]:
    """Every OpenCL device as (platform index, device index, pyopencl.Device).

    Raises ``BackendError`` when pyopencl is missing or no platform is installed.
    """
    cl = _import_pyopencl()
    try:
        platforms = cl.get_platforms()
        found = [
            (p, d, device)
            for p, platform in enumerate(platforms)
            for d, device in enumerate(platform.get_devices())
        ]
    except cl.Error as error:
        raise BackendError(f"no OpenCL platform found: {error}") from None
    if not found:
        raise BackendError("no OpenCL device found")
    return found


def describe(device) -> str:
    """'device name on platform name (type)' for messages."""
    cl = _import_pyopencl()
    kind = cl.device_type.to_string(device.type)
    return f"{device.name.strip()} on {device.platform.name.strip()} ({kind})"


def _matches(spec: str, index: int, name: str) -> bool:
    spec = spec.strip()
    if spec.isdigit():
        return int(spec) == index
    return spec.lower() in name.lower()


def choose_device(spec: str | None = None):
    """The OpenCL device named by ``spec``, by PYOPENCL_CTX, or the best one found (the
    first of ``candidate_devices``; ``OpenCLBackend.for_device`` passes over those that
    cannot build kernels)."""
    return candidate_devices(spec)[0]


def candidate_devices(spec: str | None = None) -> list:
    """The OpenCL devices ``spec`` names, in order, or without one every device, best first.

    ``spec`` reads as PYOPENCL_CTX does: "PLATFORM[:DEVICE]", each part an index or a
    case-insensitive piece of the name ("0:1", "nvidia", "portable:cpu"). Without one, a
    GPU is preferred to an accelerator, and that to a CPU. Never prompts.
    """
    devices = list_devices()
    spec = spec if spec is not None else os.environ.get("PYOPENCL_CTX") or None
    if spec:
        platform_spec, _, device_spec = spec.partition(":")
        chosen = [
            device
            for p, d, device in devices
            if (not platform_spec or _matches(platform_spec, p, device.platform.name))
            and (not device_spec or _matches(device_spec, d, device.name))
        ]
        if not chosen:
            names = "; ".join(f"{p}:{d} {describe(device)}" for p, d, device in devices)
            raise BackendError(f"no OpenCL device matches {spec!r} (found: {names})")
        return chosen
    return [device for _, _, device in _ranked(devices, _DEVICE_TYPE_PREFERENCE)]


def first_cpu_backend(spec: str | None = None) -> OpenCLBackend | None:
    """The backend of the first CPU device ``spec`` names (without one, ``PYOPENCL_CTX``,
    else any) that opens, or None: no other kind of device is opened to find it."""
    cl = _import_pyopencl()
    devices = [device for device in candidate_devices(spec)
               if device.type & cl.device_type.CPU]
    if not devices:
        return None
    return OpenCLBackend.opened(devices[_first_usable(devices)])


def device_spec_preferring(kinds: tuple[str, ...], check: Check | None = None) -> str:
    """"PLATFORM:DEVICE" (indices) of the first device that can build kernels, of the
    earliest type in ``kinds`` ("CPU", "GPU", "ACCELERATOR"), for a caller whose kernels
    suit some devices better than the default order does; ``check`` as for
    ``OpenCLBackend.opened``. ``PYOPENCL_CTX``, when set, is returned as it is. Raises
    ``BackendError`` when no device can build kernels."""
    if os.environ.get("PYOPENCL_CTX"):
        return os.environ["PYOPENCL_CTX"]
    ranked = _ranked(list_devices(), kinds)
    platform, device_index, _ = ranked[_first_usable([device for _, _, device in ranked],
                                                     check)]
    return f"{platform}:{device_index}"


def _first_usable(devices: list, check: Check | None = None) -> int:
    """The position in ``devices`` of the first that opens and builds kernels (opening
    it, once per process); ``BackendError`` naming each one's failure where none does."""
    failures = []
    for position, device in enumerate(devices):
        try:
            OpenCLBackend.opened(device, check)
        except BackendError as error:
            failures.append(str(error))
            continue
        return position
    raise BackendError("; ".join(failures))


def _ranked(devices: list, kinds: tuple[str, ...]) -> list:
    """``devices`` (as ``list_devices`` gives them) by the place of their type in
    ``kinds``, those of no type in it last; the listing's order among equals."""
    cl = _import_pyopencl()

    def rank(entry) -> int:
        kind = cl.device_type.to_string(entry[2].type)
        for position, preferred in enumerate(kinds):
            if preferred in kind:
                return position
        return len(kinds)

    return sorted(devices, key=rank)


def build_failure(error: Exception) -> str:
    """One line for a failed build: the compiler's first error line from pyopencl's
    message (which holds the whole build log), else its first line."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line.lower()]
    return (errors or lines or ["no message"])[0]


class OpenCLBackend:
    """A context and queue on one device, with its built kernels."""

    name = "opencl"

    def __init__(self, device) -> None:
        cl = _import_pyopencl()
        self.cl = cl
        self.device = describe(device)
        try:
            self.context = cl.Context([device])
            self.queue = cl.CommandQueue(self.context)
        except cl.Error as error:
            raise BackendError(f"cannot open OpenCL device {self.device}: {error}") from None
        self.max_buffer_bytes = min(MAX_BUFFER_BYTES, device.max_mem_alloc_size)
        # A CPU device works in host memory: its buffers can use the pixels where they lie
        # (USE_HOST_PTR) instead of a copy, 6 ms against 40-57 ms for 16.8 MP on POCL.
        self.shares_host_memory = bool(device.type & cl.device_type.CPU)
        # POCL on 2 cores: 16.8 MP at k = 16 in 60-95 ms, at 32 in 118 ms, at 64 in
        # 150-210 ms, at 256 in 0.5 s (0.2-0.35 ns a pair).
        self.seconds_per_pair = CPU_SECONDS_PER_PAIR if self.shares_host_memory else None
        self.table_seconds_per_pixel = CPU_TABLE_SECONDS_PER_PIXEL
        self._kernels: dict[int, tuple[object, object, object]] = {}
        # A kernel object holds its arguments: callers in several threads (a warm-up thread,
        # Dask worker threads) take turns building, setting and running it.
        self.lock = threading.RLock()
        self.build_seconds: dict[int | str, float] = {}

    def _check_it_builds(self) -> None:
        """Build a one-line kernel, so that a device whose compiler cannot build for it is
        found out when it is chosen, not after an encode has begun. pip's POCL 3.0 (LLVM
        14) refuses CPUs newer than LLVM 14 knows: "unknown target CPU 'generic'" on an
        AMD Zen 5."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                build_program(self.cl, self.context, PROBE_SOURCE, [])
            except self.cl.Error as error:
                raise BackendError(f"OpenCL device {self.device} cannot build kernels "
                                   f"({build_failure(error)})") from None

    @classmethod
    def for_device(cls, spec: str | None = None) -> OpenCLBackend:
        """The backend for a device spec, made once per device and process and then reused,
        whichever spec names the device (method cm's "0:0" and the fit's default may be
        one device: one context, one set of built programs). Of the devices the spec
        names (without one, of every device, best first), the first that can build
        kernels; ``BackendError`` naming each one's failure where none can."""
        devices = candidate_devices(spec)
        return cls.opened(devices[_first_usable(devices)])

    @classmethod
    def opened(cls, device, check: Check | None = None) -> OpenCLBackend:
        """The backend of ``device``, opened once per process; ``BackendError``, each time
        it is asked, where the device cannot be opened or cannot build kernels. Whether it
        can is found out once, when it is opened: by ``check`` (a build the caller needs
        anyway, such as method cm's kernels, which raises ``BackendError``), else by a
        one-line kernel (17-20 ms on POCL)."""
        key = device.int_ptr
        with _opening:  # a warm-up thread may open the device the caller is opening
            if key in _unusable:
                raise BackendError(_unusable[key])
            if key not in _backends:
                try:
                    backend = cls(device)
                    (check or cls._check_it_builds)(backend)
                except BackendError as error:
                    _unusable[key] = str(error)
                    raise
                _backends[key] = backend
            return _backends[key]

    def kernel(self, channels: int):
        """The ``assign_nearest`` kernel for ``channels``, built on first use only."""
        return self.kernels(channels)[0]

    def kernels(self, channels: int) -> tuple[object, object]:
        """``(assign_nearest, cluster_sums)`` for ``channels``, built on first use only."""
        with self.lock:
            return self._kernels_for(channels)[:2]

    def colour_kernels(self, channels: int) -> tuple[object, object]:
        """``(mark_colours, table_labels)`` for ``channels`` (1 to 3), built on first use."""
        with self.lock:
            return self._kernels_for(channels)[3:5]

    def nearest_two(self, points: np.ndarray, centres: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The fit's search on the device; takes and gives what the numpy reference
        ``numpy_backend.nearest_two`` does, bit for bit."""
        cl = self.cl
        points = np.ascontiguousarray(points, np.float32)
        centres = np.ascontiguousarray(centres, np.float32)
        count, channels = points.shape
        labels = np.empty(count, np.uint8)
        nearest = np.empty(count, np.float32)
        second = np.empty(count, np.float32)
        if count == 0:
            return labels.astype(np.intp), nearest, second
        flags = cl.mem_flags
        host = flags.USE_HOST_PTR if self.shares_host_memory else flags.COPY_HOST_PTR
        with self.lock:
            kernel = self._kernels_for(channels)[2]
            point_buffer = cl.Buffer(self.context, flags.READ_ONLY | host, hostbuf=points)
            centre_buffer = cl.Buffer(self.context, flags.READ_ONLY | flags.COPY_HOST_PTR,
                                      hostbuf=centres)
            outputs = [cl.Buffer(self.context, flags.WRITE_ONLY, size=array.nbytes)
                       for array in (labels, nearest, second)]
            kernel(self.queue, (_global_size(count),), (WORK_GROUP_SIZE,), point_buffer,
                   np.uint32(count), centre_buffer, np.uint32(len(centres)), *outputs)
            for array, buffer in zip((labels, nearest, second), outputs, strict=True):
                cl.enqueue_copy(self.queue, array, buffer)
            self.queue.finish()
        return labels.astype(np.intp), nearest, second

    def colour_index(self, pixels: np.ndarray) -> OpenCLColourIndex:
        """``pixels`` (uint8 (N, C), C <= 3) for assignment by distinct colour, on the
        device (``colour_table.KeyedColours`` is the reference)."""
        return OpenCLColourIndex(self, pixels)

    def _kernels_for(self, channels: int) -> tuple:
        if channels not in self._kernels:
            source = resources.files("gcp.backends").joinpath("assign.cl").read_text()
            started = time.perf_counter()
            with warnings.catch_warnings():
                # Build logs full of harmless notes must not reach the user.
                warnings.simplefilter("ignore")
                try:
                    program = build_program(self.cl, self.context, source,
                                            [f"-DCHANNELS={channels}",
                                             f"-DPIXELS_PER_ITEM={PIXELS_PER_ITEM}"])
                except self.cl.Error as error:
                    raise BackendError(f"OpenCL build failed on {self.device}: "
                                       f"{build_failure(error)}") from None
            kernels = [program.assign_nearest, program.cluster_sums, program.nearest_two]
            if channels <= 3:
                kernels += [program.mark_colours, program.table_labels]
            self._kernels[channels] = tuple(kernels)
            self.build_seconds[channels] = time.perf_counter() - started
        return self._kernels[channels]

    def load(self, pixels: np.ndarray) -> OpenCLPixelSet:
        return OpenCLPixelSet(self, pixels)


class OpenCLPixelSet:
    """Pixels uploaded once, in buffers of at most ``max_buffer_bytes``; on a CPU device
    the buffers use the pixels' own memory, which this set keeps."""

    def __init__(self, backend: OpenCLBackend, pixels: np.ndarray) -> None:
        cl = backend.cl
        self.backend = backend
        self.pixel_count, self.channels = pixels.shape
        self.kernel, self.sum_kernel = backend.kernels(self.channels)
        self.labels: np.ndarray | None = None  # the last labels assign() gave, on the device too
        pixels = np.ascontiguousarray(pixels, np.uint8)
        self.host_pixels = pixels  # the buffers' memory, where the device shares the host's
        try:
            self.chunks = [(start, count, pixel_buffer,
                            cl.Buffer(backend.context, cl.mem_flags.READ_WRITE, size=count))
                           for start, count, pixel_buffer in _pixel_buffers(backend, pixels)]
        except cl.Error as error:
            raise BackendError(f"cannot upload {self.pixel_count} pixels to "
                               f"{backend.device}: {error}") from None

    def assign(self, palette: np.ndarray) -> np.ndarray:
        cl = self.backend.cl
        palette = np.ascontiguousarray(palette, np.uint8)
        palette_buffer = cl.Buffer(self.backend.context,
                                   cl.mem_flags.READ_ONLY | cl.mem_flags.COPY_HOST_PTR,
                                   hostbuf=palette)
        labels = np.empty(self.pixel_count, np.uint8)
        with self.backend.lock:
            self._run(palette_buffer, len(palette), labels)
        self.labels = labels
        return labels

    def cluster_sums(self, labels: np.ndarray, palette_size: int
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Pixel count (K,) and channel sums (K, C), int64, of each label, on the device.

        Labels from this set's last ``assign`` are already on the device; others are
        uploaded first.
        """
        cl = self.backend.cl
        entries = palette_size * (self.channels + 1)
        counts = np.zeros(palette_size, np.int64)
        sums = np.zeros((palette_size, self.channels), np.int64)
        with self.backend.lock:
            for start, count, pixel_buffer, label_buffer in self.chunks:
                if labels is not self.labels:
                    cl.enqueue_copy(self.backend.queue, label_buffer, labels[start:start + count])
                groups = -(-count // SUM_SPAN)
                partial = np.empty((groups, palette_size, self.channels + 1), np.uint32)
                partial_buffer = cl.Buffer(self.backend.context, cl.mem_flags.WRITE_ONLY,
                                           size=partial.nbytes)
                self.sum_kernel(self.backend.queue, (groups * WORK_GROUP_SIZE,),
                                (WORK_GROUP_SIZE,), pixel_buffer, np.uint32(count),
                                label_buffer, np.uint32(palette_size), np.uint32(SUM_SPAN),
                                partial_buffer, cl.LocalMemory(4 * entries))
                cl.enqueue_copy(self.backend.queue, partial, partial_buffer)
                totals = partial.sum(axis=0, dtype=np.int64)
                counts += totals[:, 0]
                sums += totals[:, 1:]
            if labels is not self.labels:
                self.labels = None  # the device now holds other labels
        return counts, sums

    def _run(self, palette_buffer, palette_size: int, labels: np.ndarray) -> None:
        cl = self.backend.cl
        queue = self.backend.queue
        for start, count, pixel_buffer, label_buffer in self.chunks:
            self.kernel(queue, (_global_size(count),), (WORK_GROUP_SIZE,), pixel_buffer,
                        np.uint32(count),
                        palette_buffer, np.uint32(palette_size), label_buffer)
            cl.enqueue_copy(queue, labels[start:start + count], label_buffer)
        queue.finish()


class OpenCLColourIndex:
    """Pixels of up to three channels on the device, for assignment by distinct colour:
    which colours occur (``present``) and each pixel's label from a table of one byte per
    possible colour (``labels``), by the kernels ``mark_colours`` and ``table_labels``.
    The same results as ``colour_table.KeyedColours``, without its (N,) keys in memory."""

    def __init__(self, backend: OpenCLBackend, pixels: np.ndarray) -> None:
        self.backend = backend
        self.pixel_count, self.channels = pixels.shape
        self.table_size = 1 << (8 * self.channels)
        self.pixels = np.ascontiguousarray(pixels, np.uint8)  # the buffers' memory on a CPU
        self.mark, self.lookup = backend.colour_kernels(self.channels)
        try:
            self.chunks = _pixel_buffers(backend, self.pixels)
        except backend.cl.Error as error:
            raise BackendError(f"cannot upload {self.pixel_count} pixels to "
                               f"{backend.device}: {error}") from None

    def present(self) -> np.ndarray:
        """bool (2^(8 C),): True at the key of every colour the pixels hold."""
        cl, queue = self.backend.cl, self.backend.queue
        present = np.empty(self.table_size, np.uint8)
        with self.backend.lock:
            buffer = cl.Buffer(self.backend.context, cl.mem_flags.READ_WRITE,
                               size=self.table_size)
            cl.enqueue_fill_buffer(queue, buffer, np.uint8(0), 0, self.table_size)
            for _, count, pixel_buffer in self.chunks:
                self.mark(queue, (_global_size(count),), (WORK_GROUP_SIZE,), pixel_buffer,
                          np.uint32(count), buffer)
            cl.enqueue_copy(queue, present, buffer)
            queue.finish()
        return present.view(np.bool_)

    def labels(self, table: np.ndarray) -> np.ndarray:
        """uint8 (N,): ``table`` (uint8 (2^(8 C),)) at each pixel's key."""
        cl, queue = self.backend.cl, self.backend.queue
        labels = np.empty(self.pixel_count, np.uint8)
        flags = cl.mem_flags
        with self.backend.lock:
            table_buffer = cl.Buffer(self.backend.context, flags.READ_ONLY | flags.COPY_HOST_PTR,
                                     hostbuf=np.ascontiguousarray(table, np.uint8))
            for start, count, pixel_buffer in self.chunks:
                label_buffer = cl.Buffer(self.backend.context, flags.WRITE_ONLY, size=count)
                self.lookup(queue, (_global_size(count),), (WORK_GROUP_SIZE,), pixel_buffer,
                            np.uint32(count), table_buffer, label_buffer)
                cl.enqueue_copy(queue, labels[start:start + count], label_buffer)
            queue.finish()
        return labels


def _pixel_buffers(backend: OpenCLBackend, pixels: np.ndarray) -> list[tuple[int, int, object]]:
    """(first pixel, pixel count, read-only buffer) of each part of contiguous uint8
    ``pixels`` (N, C), parts of at most ``max_buffer_bytes``; on a device that shares the
    host's memory the buffers use the pixels where they lie. Raises ``cl.Error``."""
    cl = backend.cl
    flags = cl.mem_flags
    host = flags.USE_HOST_PTR if backend.shares_host_memory else flags.COPY_HOST_PTR
    channels = pixels.shape[1]
    per_buffer = max(ITEM_PIXELS_PER_GROUP, backend.max_buffer_bytes // channels)
    per_buffer -= per_buffer % ITEM_PIXELS_PER_GROUP
    return [(start, len(part), cl.Buffer(backend.context, flags.READ_ONLY | host, hostbuf=part))
            for start in range(0, len(pixels), per_buffer)
            for part in [pixels[start:start + per_buffer]]]


def _global_size(pixel_count: int) -> int:
    """Work-items for ``pixel_count`` pixels, PIXELS_PER_ITEM each, in whole work-groups."""
    items = -(-pixel_count // PIXELS_PER_ITEM)
    return -(-items // WORK_GROUP_SIZE) * WORK_GROUP_SIZE
