"""Backends agree: the OpenCL kernel's labels equal the numpy reference's exactly."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import gcp
from gcp.backends import (
    AUTO_OPENCL_MIN_COLORS,
    backend_for_colours,
    load_pixels,
    numpy_backend,
    select_backend,
)
from gcp.backends.colour_table import (
    ColourTablePixelSet,
    KeyedColours,
    colour_keys,
    colours_of_keys,
)
from gcp.backends.numpy_backend import assign_labels
from tests.conftest import psnr, requires_opencl

RNG = np.random.default_rng(2024)


def brute_force_labels(pixels, palette):
    distances = ((pixels[:, None, :].astype(int) - palette[None].astype(int)) ** 2).sum(2)
    return distances.argmin(1)  # first minimum: ties go to the lowest index


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("k", [1, 2, 16, 255, 256])
def test_numpy_backend_is_exact_with_lowest_index_ties(channels, k):
    pixels = RNG.integers(0, 256, (3001, channels), dtype=np.uint8)
    palette = RNG.integers(0, 256, (k, channels), dtype=np.uint8)
    palette[k // 2:] = palette[: k - k // 2]  # duplicates force ties
    assert np.array_equal(assign_labels(pixels, palette), brute_force_labels(pixels, palette))


@requires_opencl
@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("k", [1, 2, 16, 255, 256])
@pytest.mark.parametrize("pixel_count", [1, 127, 100_003])
def test_opencl_labels_equal_numpy_labels(channels, k, pixel_count):
    pixels = RNG.integers(0, 256, (pixel_count, channels), dtype=np.uint8)
    palette = RNG.integers(0, 256, (k, channels), dtype=np.uint8)
    palette[k // 2:] = palette[: k - k // 2]
    opencl = select_backend("opencl").load(pixels)
    assert np.array_equal(opencl.assign(palette), assign_labels(pixels, palette))


@requires_opencl
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("k", [1, 2, 17, 256])
@pytest.mark.parametrize("point_count", [1, 1023, 40_001])
def test_opencl_fit_search_equals_the_reference_bit_for_bit(channels, k, point_count):
    """Float32 distances, labels and second distances, ties included, as numpy has them."""
    points = RNG.random((point_count, channels)) * 255
    points[::7] = np.round(points[::7])  # whole values too, as exact colours are
    centres = RNG.random((k, channels)) * 255
    centres[k // 2:] = centres[: k - k // 2]  # duplicates force ties
    opencl = select_backend("opencl").nearest_two(points, centres)
    reference = numpy_backend.nearest_two(points, centres)
    for got, expected in zip(opencl, reference, strict=True):
        assert got.dtype == expected.dtype and np.array_equal(got, expected)


@pytest.mark.parametrize("backend", ["numpy", pytest.param("opencl", marks=requires_opencl)])
@pytest.mark.parametrize("channels", [1, 2, 3])
@pytest.mark.parametrize("k", [1, 2, 16, 256])
def test_assignment_by_distinct_colour_equals_every_pixel_assigned(backend, channels, k):
    """The colour table gives each pixel its colour's label: the brute force's exactly."""
    colours = RNG.integers(0, 256, (300, channels), dtype=np.uint8)
    pixels = colours[RNG.integers(0, 300, 20_000)]
    pixels[-1] = 255  # the last pixel's key is read apart from the others
    palette = RNG.integers(0, 256, (k, channels), dtype=np.uint8)
    palette[k // 2:] = palette[: k - k // 2]
    table = ColourTablePixelSet(select_backend(backend), pixels)
    assert len(table.colours) == len(np.unique(pixels, axis=0))
    assert np.array_equal(table.assign(palette), brute_force_labels(pixels, palette))
    labels = brute_force_labels(pixels, palette)
    counts, sums = table.cluster_sums(table.assign(palette), k)
    assert np.array_equal(counts, np.bincount(labels, minlength=k))
    assert np.array_equal(sums[:, 0], np.bincount(labels, pixels[:, 0], minlength=k))


@requires_opencl
@pytest.mark.parametrize("channels", [1, 2, 3])
@pytest.mark.parametrize("count", [1, 7, 8, 1025, 20_000])
@pytest.mark.parametrize("buffer_bytes", [None, 3 * 1024])
@pytest.mark.parametrize("shared", [True, False])
def test_opencl_colour_index_kernels_equal_the_keyed_reference(monkeypatch, channels, count,
                                                               buffer_bytes, shared):
    """mark_colours and table_labels against KeyedColours: the colours present, and every
    pixel's entry of a table, in one buffer or split over several, with the pixels used in
    place (a CPU device) or copied (as for a GPU)."""
    backend = select_backend("opencl")
    monkeypatch.setattr(backend, "shares_host_memory", shared)
    pixels = RNG.integers(0, 256, (count, channels), dtype=np.uint8)
    pixels[RNG.integers(0, count, count // 2)] = pixels[0]  # repeated colours
    pixels[-1] = 255
    table = RNG.integers(0, 256, 1 << (8 * channels), dtype=np.uint8)
    saved = backend.max_buffer_bytes
    backend.max_buffer_bytes = buffer_bytes or saved
    try:
        index = backend.colour_index(pixels)
        if buffer_bytes and count == 20_000:
            assert len(index.chunks) > 1
        reference = KeyedColours(pixels)
        present = index.present()
        assert present.dtype == np.bool_ and np.array_equal(present, reference.present())
        assert np.array_equal(index.labels(table), reference.labels(table))
    finally:
        backend.max_buffer_bytes = saved


def test_pixels_go_through_the_colour_table_only_where_it_is_cheaper():
    """Measured costs decide: every pixel against the palette, or each colour once."""
    numpy = select_backend("numpy")
    many = RNG.integers(0, 256, (1 << 20, 3), dtype=np.uint8)
    few = many[:1000]
    assert isinstance(load_pixels(numpy, many, 16), ColourTablePixelSet)
    assert isinstance(load_pixels(numpy, few, 16), numpy_backend.NumpyPixelSet)
    assert isinstance(load_pixels(numpy, many[:, :1], 16), ColourTablePixelSet)
    assert isinstance(load_pixels(numpy, np.repeat(many, 2, axis=1)[:, :4], 256),
                      numpy_backend.NumpyPixelSet)  # no table for four channels

    class Gpu:
        seconds_per_pair = None

        @staticmethod
        def load(pixels):
            return "every pixel"

    assert load_pixels(Gpu(), many, 256) == "every pixel"


@pytest.mark.parametrize("channels", [1, 2, 3])
def test_colour_keys_round_trip(channels):
    pixels = RNG.integers(0, 256, (1001, channels), dtype=np.uint8)
    keys = colour_keys(pixels)
    assert keys.max() < 1 << (8 * channels)
    assert np.array_equal(colours_of_keys(keys, channels), pixels)
    assert np.array_equal(colour_keys(pixels[:1]), keys[:1])


@requires_opencl
def test_opencl_pixel_set_is_reused_across_palettes():
    pixels = RNG.integers(0, 256, (5000, 3), dtype=np.uint8)
    pixel_set = select_backend("opencl").load(pixels)
    for k in (3, 40):
        palette = RNG.integers(0, 256, (k, 3), dtype=np.uint8)
        assert np.array_equal(pixel_set.assign(palette), assign_labels(pixels, palette))


@requires_opencl
def test_opencl_backend_and_kernels_are_built_once():
    backend = select_backend("opencl")
    assert select_backend("opencl") is backend
    assert backend.kernel(3) is backend.kernel(3)


@requires_opencl
def test_opencl_splits_uploads_larger_than_its_buffer_limit():
    backend = select_backend("opencl")
    pixels = RNG.integers(0, 256, (10_000, 3), dtype=np.uint8)
    palette = RNG.integers(0, 256, (16, 3), dtype=np.uint8)
    saved = backend.max_buffer_bytes
    backend.max_buffer_bytes = 3 * 1024
    try:
        pixel_set = backend.load(pixels)
        assert len(pixel_set.chunks) > 1
        assert np.array_equal(pixel_set.assign(palette), assign_labels(pixels, palette))
    finally:
        backend.max_buffer_bytes = saved


@requires_opencl
@pytest.mark.parametrize("shares_host_memory", [True, False])
def test_pixels_are_used_in_place_on_a_cpu_device_and_copied_elsewhere(shares_host_memory,
                                                                        monkeypatch):
    backend = select_backend("opencl")
    monkeypatch.setattr(backend, "shares_host_memory", shares_host_memory)
    cl = backend.cl
    pixels = RNG.integers(0, 256, (5_001, 3), dtype=np.uint8)
    palette = RNG.integers(0, 256, (16, 3), dtype=np.uint8)
    pixel_set = backend.load(pixels)
    flags = pixel_set.chunks[0][2].get_info(cl.mem_info.FLAGS)
    assert bool(flags & cl.mem_flags.USE_HOST_PTR) == shares_host_memory
    assert bool(flags & cl.mem_flags.COPY_HOST_PTR) != shares_host_memory
    assert np.array_equal(pixel_set.assign(palette), assign_labels(pixels, palette))


@requires_opencl
@pytest.mark.parametrize("name", ["astronaut", "logo", "camera"])
def test_backends_give_the_same_file(real_images, name):
    image = real_images[name]
    with_opencl = gcp.encode(image, 16, backend="opencl")
    with_numpy = gcp.encode(image, 16, backend="numpy")
    assert abs(psnr(image, gcp.decode(with_opencl)) - psnr(image, gcp.decode(with_numpy))) < 0.05
    assert with_opencl == with_numpy  # exact labels: the very same bytes


def run_without_opencl(code: str) -> subprocess.CompletedProcess:
    """Run Python with every OpenCL platform hidden.

    OCL_ICD_VENDORS names a folder that does not exist: the ICD loader then loads no
    driver. (An existing empty folder is not enough with pyopencl's wheels, whose bundled
    loader always adds the POCL it ships.)
    """
    env = dict(os.environ, OCL_ICD_VENDORS=os.path.join(os.path.dirname(__file__), "data",
                                                          "no-such-vendors-folder"))
    env.pop("PYOPENCL_CTX", None)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=120)


def test_auto_falls_back_to_numpy_with_one_line_when_opencl_is_hidden():
    result = run_without_opencl("""
        import logging, sys
        logging.basicConfig(stream=sys.stderr, format="%(message)s")
        from gcp.backends import select_backend
        print(select_backend("auto").name)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "numpy"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "OpenCL is not available" in lines[0]


def test_opencl_backend_without_a_device_is_a_clear_error():
    result = run_without_opencl("""
        from gcp.backends import select_backend
        from gcp.errors import BackendError
        try:
            select_backend("opencl")
        except BackendError as error:
            print("BackendError:", error)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("BackendError: no OpenCL platform found")


@requires_opencl
def test_unknown_device_spec_is_a_clear_error():
    with pytest.raises(gcp.BackendError, match="no OpenCL device matches"):
        select_backend("opencl", device="no-such-device-anywhere")


@requires_opencl
def test_device_spec_by_index_and_by_name():
    from gcp.backends.opencl import choose_device, list_devices

    first = list_devices()[0]
    assert choose_device("0:0") == first[2]
    assert choose_device(first[2].platform.name.split()[0]) is not None


def reference_cluster_sums(pixels, labels, palette_size):
    counts = np.bincount(labels, minlength=palette_size)
    sums = np.stack([np.bincount(labels, pixels[:, c], minlength=palette_size)
                     for c in range(pixels.shape[1])], axis=1).astype(np.int64)
    return counts, sums


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("k", [1, 16, 256])
def test_numpy_cluster_sums_are_exact(channels, k):
    pixels = RNG.integers(0, 256, (70_001, channels), dtype=np.uint8)
    labels = RNG.integers(0, k, 70_001).astype(np.uint8)
    counts, sums = select_backend("numpy").load(pixels).cluster_sums(labels, k)
    want_counts, want_sums = reference_cluster_sums(pixels, labels, k)
    assert np.array_equal(counts, want_counts) and np.array_equal(sums, want_sums)


@requires_opencl
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("k", [1, 16, 256])
def test_opencl_cluster_sums_equal_numpy(channels, k):
    # more than one work-group span, and not a multiple of it
    pixels = RNG.integers(0, 256, (200_003, channels), dtype=np.uint8)
    palette = RNG.integers(0, 256, (k, channels), dtype=np.uint8)
    pixel_set = select_backend("opencl").load(pixels)
    labels = pixel_set.assign(palette)  # labels left on the device
    on_device = pixel_set.cluster_sums(labels, k)
    other = RNG.integers(0, k, len(pixels)).astype(np.uint8)  # labels to upload
    uploaded = pixel_set.cluster_sums(other, k)
    for (counts, sums), used in ((on_device, labels), (uploaded, other)):
        want_counts, want_sums = reference_cluster_sums(pixels, used, k)
        assert np.array_equal(counts, want_counts) and np.array_equal(sums, want_sums)


@requires_opencl
def test_backends_give_the_same_file_with_the_update_step(real_images):
    image = real_images["coffee"]
    assert gcp.encode(image, 16, effort=6, backend="opencl") == gcp.encode(
        image, 16, effort=6, backend="numpy")


def encode_without_opencl(tmp_path, *options: str) -> subprocess.CompletedProcess:
    """``gcp encode`` of the logo in a process that sees no OpenCL platform."""
    from tests.conftest import REAL_IMAGES

    env = dict(os.environ, OCL_ICD_VENDORS=os.path.join(os.path.dirname(__file__), "data",
                                                          "no-such-vendors-folder"))
    env.pop("PYOPENCL_CTX", None)
    return subprocess.run([sys.executable, "-m", "gcp", "encode", str(REAL_IMAGES["logo"]),
                           str(tmp_path / "logo.gcp"), "-f", *options], env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_reports_the_fallback_once_even_with_the_warm_up_thread(tmp_path):
    """gcp encode warms OpenCL up in a thread while the image is read; the notice that
    OpenCL is missing still comes out, once, from the encoder itself."""
    result = encode_without_opencl(tmp_path, "-k", str(AUTO_OPENCL_MIN_COLORS))
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "OpenCL is not available" in lines[0]


def test_auto_takes_numpy_for_small_palettes_without_trying_opencl(tmp_path):
    result = encode_without_opencl(tmp_path, "-k", str(AUTO_OPENCL_MIN_COLORS - 1), "-v")
    assert result.returncode == 0, result.stderr
    assert "OpenCL" not in result.stderr and "backend: numpy" in result.stderr


def test_backend_for_colours():
    assert backend_for_colours("auto", AUTO_OPENCL_MIN_COLORS - 1) == "numpy"
    assert backend_for_colours("auto", AUTO_OPENCL_MIN_COLORS) == "auto"
    assert backend_for_colours("opencl", 2) == "opencl"
    assert backend_for_colours("numpy", 256) == "numpy"
    assert backend_for_colours("auto", 2, opencl_anyway=True) == "auto"
    assert backend_for_colours("numpy", 2, opencl_anyway=True) == "numpy"
    # A grey image has at most 256 values: nothing for a device to speed up.
    assert backend_for_colours("auto", 256, channels=1) == "numpy"
    assert backend_for_colours("auto", 256, channels=2) == "auto"
    assert backend_for_colours("auto", 256, channels=None) == "auto"
    assert backend_for_colours("opencl", 256, channels=1) == "opencl"
    assert backend_for_colours("auto", 256, opencl_anyway=True, channels=1) == "auto"


def test_cli_opens_no_opencl_for_a_grey_image_at_a_large_k(tmp_path, monkeypatch):
    """Neither the warm-up thread nor the encoder opens OpenCL for a grey PNG at k = 256
    (importing pyopencl beside the numpy fit made small grey encodes 1.5x slower); a
    colour one warms up as before."""
    from click.testing import CliRunner

    from gcp import cli, imageio

    started = []
    monkeypatch.setattr(gcp.backends, "warm_up", lambda *args: started.append(args))
    grey = tmp_path / "grey.png"
    grey.write_bytes(imageio.encode_image(RNG.integers(0, 256, (20, 30, 1), np.uint8),
                                          ".png"))
    colour = tmp_path / "colour.png"
    colour.write_bytes(imageio.encode_image(RNG.integers(0, 256, (20, 30, 3), np.uint8),
                                            ".png"))
    runner = CliRunner()
    result = runner.invoke(cli.cli, ["encode", str(grey), str(tmp_path / "g.gcp"), "-k",
                                     "256", "-v"])
    assert result.exit_code == 0, result.output
    assert started == [] and "backend: numpy" in result.output
    result = runner.invoke(cli.cli, ["encode", str(colour), str(tmp_path / "c.gcp"), "-k",
                                     "256"])
    assert result.exit_code == 0, result.output
    assert started == [("auto", None)]


@requires_opencl
def test_one_backend_per_device_whatever_spec_names_it():
    from gcp.backends import opencl

    default = select_backend("opencl")
    spec = opencl.device_spec_preferring(("GPU", "ACCELERATOR", "CPU"))
    assert select_backend("opencl", spec) is default


class _FakeDevice:
    def __init__(self, kind: str, name: str, platform: str) -> None:
        import pyopencl as cl

        self.type = getattr(cl.device_type, kind)
        self.name = name
        self.platform = type("Platform", (), {"name": platform})()


@requires_opencl
def test_auto_prefers_a_gpu_and_specs_pick_by_index_or_name(monkeypatch):
    from gcp.backends import opencl

    cpu = _FakeDevice("CPU", "pthread-AMD EPYC", "Portable Computing Language")
    gpu = _FakeDevice("GPU", "NVIDIA H100 80GB HBM3", "NVIDIA CUDA")
    accelerator = _FakeDevice("ACCELERATOR", "FPGA", "Vendor X")
    monkeypatch.setattr(opencl, "list_devices",
                        lambda: [(0, 0, cpu), (1, 0, accelerator), (2, 0, gpu)])
    monkeypatch.delenv("PYOPENCL_CTX", raising=False)
    assert opencl.choose_device() is gpu
    assert opencl.choose_device("0") is cpu
    assert opencl.choose_device("portable:epyc") is cpu
    assert opencl.choose_device("nvidia") is gpu
    monkeypatch.setenv("PYOPENCL_CTX", "1:0")
    assert opencl.choose_device() is accelerator
    monkeypatch.setattr(opencl, "list_devices", lambda: [(0, 0, cpu), (1, 0, accelerator)])
    monkeypatch.delenv("PYOPENCL_CTX")
    assert opencl.choose_device() is accelerator


# NVIDIA's driver without an .icd file ----------------------------------------------------
# No NVIDIA driver here: these tests give _make_nvidia_driver_visible a stand-in library
# file and system vendors folder, and check what it leaves for the ICD loader to read.

@pytest.fixture()
def no_user_vendors(monkeypatch):
    """OCL_ICD_VENDORS unset during the test, and as it was afterwards."""
    monkeypatch.setenv("OCL_ICD_VENDORS", "")
    monkeypatch.delenv("OCL_ICD_VENDORS")


def fake_driver(tmp_path, *system_icds: str) -> tuple[str, str]:
    library = tmp_path / "libnvidia-opencl.so.1"
    library.write_bytes(b"")
    vendors = tmp_path / "vendors"
    vendors.mkdir()
    for name in system_icds:
        (vendors / name).write_text(f"/opt/{name}.so\n")
    return str(library), str(vendors)


def test_nvidia_library_without_an_icd_file_gets_one(tmp_path, no_user_vendors):
    from gcp.backends import opencl

    library, system = fake_driver(tmp_path, "intel.icd")
    folder = opencl._make_nvidia_driver_visible(("/no/such.so", library), system)
    assert os.environ["OCL_ICD_VENDORS"] == folder
    assert sorted(os.listdir(folder)) == ["intel.icd", "nvidia.icd"]
    assert Path(folder, "nvidia.icd").read_text() == library + "\n"
    assert Path(folder, "intel.icd").read_text() == "/opt/intel.icd.so\n"


@pytest.mark.parametrize("case", ["user's own folder", "system icd", "no library"])
def test_nvidia_icd_is_left_alone_when_not_needed(tmp_path, no_user_vendors, monkeypatch,
                                                  case):
    from gcp.backends import opencl

    library, system = fake_driver(tmp_path, *(["nvidia.icd"] if case == "system icd" else []))
    if case == "user's own folder":
        monkeypatch.setenv("OCL_ICD_VENDORS", "/mine")
    libraries = ("/no/such.so",) if case == "no library" else (library,)
    assert opencl._make_nvidia_driver_visible(libraries, system) is None
    assert os.environ.get("OCL_ICD_VENDORS") == ("/mine" if case == "user's own folder"
                                                 else None)


def test_nvidia_icd_folder_is_removed_when_the_process_ends(tmp_path):
    library, system = fake_driver(tmp_path)
    env = {key: value for key, value in os.environ.items() if key != "OCL_ICD_VENDORS"}
    result = subprocess.run(
        [sys.executable, "-c", "from gcp.backends import opencl; print(opencl."
         f"_make_nvidia_driver_visible(({library!r},), {system!r}))"],
        env=env, capture_output=True, text=True, timeout=60)
    folder = result.stdout.strip()
    assert result.returncode == 0 and "gcp-opencl-vendors-" in folder, result
    assert not os.path.exists(folder)


@requires_opencl
def test_a_kernel_can_prefer_a_cpu_device_and_pyopencl_ctx_still_rules(monkeypatch):
    from gcp.backends import opencl

    cpu = _FakeDevice("CPU", "pthread-AMD EPYC", "Portable Computing Language")
    gpu = _FakeDevice("GPU", "NVIDIA H200", "NVIDIA CUDA")
    unusable = []

    def opened(cls, device, check=None):
        if device in unusable:
            raise gcp.BackendError(f"{device.name} cannot build kernels (simulated)")
        return device

    monkeypatch.setattr(opencl.OpenCLBackend, "opened", classmethod(opened))
    monkeypatch.setattr(opencl, "list_devices", lambda: [(0, 0, gpu), (1, 0, cpu)])
    monkeypatch.delenv("PYOPENCL_CTX", raising=False)
    assert opencl.device_spec_preferring(("CPU", "ACCELERATOR", "GPU")) == "1:0"
    assert opencl.device_spec_preferring(("GPU", "CPU")) == "0:0"
    unusable.append(cpu)  # a CPU its compiler cannot build for: the next kind is taken
    assert opencl.device_spec_preferring(("CPU", "ACCELERATOR", "GPU")) == "0:0"
    unusable.append(gpu)
    with pytest.raises(gcp.BackendError, match=r"EPYC cannot build.*H200 cannot build"):
        opencl.device_spec_preferring(("CPU", "GPU"))
    unusable.clear()
    monkeypatch.setattr(opencl, "list_devices", lambda: [(0, 0, gpu)])
    assert opencl.device_spec_preferring(("CPU", "ACCELERATOR", "GPU")) == "0:0"
    monkeypatch.setenv("PYOPENCL_CTX", "nvidia")
    assert opencl.device_spec_preferring(("CPU",)) == "nvidia"


@requires_opencl
def test_threads_opening_one_device_share_one_backend(monkeypatch):
    """``gcp encode`` opens method cm's device in a warm-up thread while the main thread
    may open it for the fit: one context and one set of built programs, not two. The
    probe is slowed so that, unguarded, both threads would be inside it at once."""
    import threading
    import time

    from gcp.backends import opencl

    probe = opencl.OpenCLBackend._check_it_builds

    def slow_probe(self):
        time.sleep(0.05)
        probe(self)

    monkeypatch.setattr(opencl.OpenCLBackend, "_check_it_builds", slow_probe)
    monkeypatch.setattr(opencl, "_backends", {})
    monkeypatch.setattr(opencl, "_unusable", {})
    monkeypatch.delenv("PYOPENCL_CTX", raising=False)
    device = opencl.candidate_devices()[0]
    opened = []
    threads = [threading.Thread(target=lambda: opened.append(opencl.OpenCLBackend.opened(device)))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(opened) == 4 and all(backend is opened[0] for backend in opened)


@requires_opencl
def test_method_cm_checks_its_device_by_building_its_own_kernels(monkeypatch, caplog):
    """The coder's kernels are built anyway, so they are the device's check and the
    one-line probe is not built too (17-20 ms of every decode on POCL); where they do not
    build, the coder falls back to its reference in one line."""
    from gcp import cm_engine
    from gcp.backends import cm_opencl, opencl

    def no_probe(self):
        raise AssertionError("the probe was built")

    monkeypatch.setattr(opencl.OpenCLBackend, "_check_it_builds", no_probe)
    monkeypatch.setattr(opencl, "_backends", {})
    monkeypatch.setattr(opencl, "_unusable", {})
    monkeypatch.setattr(cm_engine, "_notified", set())
    monkeypatch.delenv("PYOPENCL_CTX", raising=False)
    indices = np.arange(60, dtype=np.uint8).reshape(6, 10) % 3
    palette = np.array([[0, 0, 0], [90, 90, 90], [255, 255, 255]], np.uint8)
    body = cm_engine.encode(indices, palette, engine="opencl")
    assert body == cm_engine.encode(indices, palette, engine="reference")
    monkeypatch.setattr(opencl, "_backends", {})
    monkeypatch.setattr(opencl, "_unusable", {})
    monkeypatch.setattr(cm_opencl, "_programs", {})

    class BrokenSource:  # cm.cl as resources.files would give it, broken
        def joinpath(self, name):
            return self

        def read_text(self):
            return "not OpenCL C"

    monkeypatch.setattr(cm_opencl.resources, "files", lambda package: BrokenSource())
    with caplog.at_level(logging.WARNING, logger="gcp"):
        assert cm_engine.encode(indices, palette) == body
    notices = [record.getMessage() for record in caplog.records]
    assert len(notices) == 1 and "pure-Python reference" in notices[0]
    assert "build of cm.cl failed" in notices[0] and "\n" not in notices[0]


def test_a_device_whose_compiler_cannot_build_is_passed_over_in_one_line(monkeypatch,
                                                                         caplog):
    """pip's POCL 3.0 (LLVM 14) builds nothing on a CPU newer than LLVM 14 knows ("unknown
    target CPU 'generic'" on an AMD Zen 5). Such a device is found out when it is opened:
    "auto" falls back to numpy and method cm to its reference, each saying why in one
    line, and the encode's bytes are those of a working device."""
    from gcp import backends, cm_engine
    from gcp.backends import opencl

    try:
        opencl.list_devices()
    except gcp.BackendError:
        pytest.skip("no OpenCL platform at all: nothing to build on")
    image = np.random.default_rng(3).integers(0, 256, (12, 20, 3), np.uint8)
    expected = gcp.encode(image, 128, backend="numpy", method="cm")
    monkeypatch.setattr(opencl, "PROBE_SOURCE", "__kernel void probe( { this is not C")
    monkeypatch.setattr(opencl, "_backends", {})
    monkeypatch.setattr(opencl, "_unusable", {})
    monkeypatch.setattr(backends, "_auto_fell_back", set())
    monkeypatch.setattr(cm_engine, "_notified", set())
    monkeypatch.delenv("PYOPENCL_CTX", raising=False)
    caplog.clear()  # a notice of the expected bytes' encode, where no device builds here
    with pytest.raises(gcp.BackendError, match="cannot build kernels") as raised:
        select_backend("opencl")
    assert "\n" not in str(raised.value)
    with caplog.at_level(logging.WARNING, logger="gcp"):
        assert gcp.encode(image, 128, method="cm") == expected  # the fit quietly on numpy
        assert select_backend("auto").name == "numpy"
    notices = [record.getMessage() for record in caplog.records]
    assert len(notices) == 2 and all("\n" not in notice for notice in notices)
    assert "pure-Python reference" in notices[0] and "numpy backend" in notices[1]
    assert all("cannot build kernels" in notice for notice in notices)


@requires_opencl
def test_method_cm_codes_on_the_device_its_preference_names(monkeypatch):
    from gcp import cm_engine
    from gcp.backends import cm_opencl, opencl

    asked = []

    def spec(kinds, check=None):
        asked.append(kinds)
        return "0:0"

    monkeypatch.setattr(opencl, "device_spec_preferring", spec)
    indices = np.zeros((3, 5), np.uint8)
    palette = np.array([[0, 0, 0], [255, 255, 255]], np.uint8)
    body = cm_engine.encode(indices, palette, engine="opencl")
    assert asked == [cm_opencl.DEVICE_PREFERENCE]
    assert cm_opencl.DEVICE_PREFERENCE[0] == "CPU"
    assert np.array_equal(cm_engine.decode(body, 5, 3, palette, engine="opencl"), indices)
    assert len(asked) == 2
    cm_engine.encode(indices, palette, engine="opencl", device="0:0")
    assert len(asked) == 2  # a named device is taken as it is
