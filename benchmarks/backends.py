"""The OpenCL backend against the numpy reference: whole encodes, assignment throughput,
fit plus assignment as the encoder runs them, kernel build latency, and the
full-resolution update step on each backend.

    python benchmarks/backends.py [IMAGES or FOLDERS...] [--runs 3] [--k 16 256]

Meant for the 16.8-MP renders (../shared/corpus/make-large.sh DIR): pass DIR. Prints
per image the median wall time of `gcp encode --backend opencl` and `--backend numpy`
(whole processes, run alternately) and their ratio; each backend's assignment throughput
in megapixels per second at each k; and, once, the OpenCL program's first build with
empty caches against a cached build. Writes benchmarks/results/backends.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
from common import (
    RESULTS,
    environment_note,
    gcp_command,
    image_paths,
    load,
    run_command,
    scratch,
)

from gcp import quantizer
from gcp.backends import load_pixels, select_backend


def whole_encodes(path: Path, runs: int) -> dict:
    """Median wall time of a whole `gcp encode` with each backend, run alternately."""
    times: dict[str, list[float]] = {"opencl": [], "numpy": []}
    with scratch() as folder:
        for _ in range(runs):
            for backend in times:
                command = [*gcp_command(), "encode", str(path), str(Path(folder) / "x.gcp"),
                           "-f", "--backend", backend]
                started = time.perf_counter()
                run_command(command)
                times[backend].append(time.perf_counter() - started)
    medians = {backend: statistics.median(values) for backend, values in times.items()}
    return {"opencl_s": round(medians["opencl"], 3), "numpy_s": round(medians["numpy"], 3),
            "ratio": round(medians["opencl"] / medians["numpy"], 3)}


def assignment_throughput(pixels: np.ndarray, k: int, runs: int) -> dict:
    """Megapixels per second of each backend's assign(), pixels already loaded."""
    palette = quantizer.fit_palette(pixels, k).palette
    result = {"k": k, "palette_size": len(palette)}
    reference = None
    for name in ("opencl", "numpy"):
        backend = select_backend(name)
        started = time.perf_counter()
        pixel_set = backend.load(pixels)
        result[f"{name}_upload_s"] = round(time.perf_counter() - started, 4)
        labels = pixel_set.assign(palette)  # warm: POCL specializes the kernel on first run
        times = []
        for _ in range(runs if name == "opencl" else 1):
            started = time.perf_counter()
            labels = pixel_set.assign(palette)
            times.append(time.perf_counter() - started)
        seconds = statistics.median(times)
        result[f"{name}_assign_s"] = round(seconds, 4)
        result[f"{name}_mpix_per_s"] = round(len(pixels) / seconds / 1e6, 1)
        if reference is None:
            reference = labels
        else:
            result["labels_equal"] = bool(np.array_equal(reference, labels))
        result[f"{name}_device"] = backend.device
    return result


def fit_and_assign(pixels: np.ndarray, k: int, runs: int) -> dict:
    """What the encoder does between reading the image and coding it, per backend: the fit
    (its search on the backend) and the assignment of every pixel (by distinct colour where
    that is cheaper), median seconds of ``runs``; and whether both backends give one palette."""
    result = {"k": k}
    palettes = []
    for name in ("opencl", "numpy"):
        backend = select_backend(name)
        fits, assigns = [], []
        for _ in range(runs):
            started = time.perf_counter()
            palette = quantizer.fit_palette(pixels, k, search=backend.nearest_two).palette
            fitted = time.perf_counter()
            load_pixels(backend, pixels, k).assign(palette)
            fits.append(fitted - started)
            assigns.append(time.perf_counter() - fitted)
        palettes.append(palette)
        result[f"{name}_fit_s"] = round(statistics.median(fits), 3)
        result[f"{name}_assign_s"] = round(statistics.median(assigns), 3)
        result[f"{name}_total_s"] = round(statistics.median(
            [fit + assign for fit, assign in zip(fits, assigns, strict=True)]), 3)
    result["palettes_equal"] = bool(np.array_equal(*palettes))
    return result


def update_step_cost(pixels: np.ndarray, k: int, runs: int) -> dict:
    """Time of one full-resolution update step (per-cluster counts and sums) per backend."""
    palette = quantizer.fit_palette(pixels, k).palette
    result = {"k": k}
    for name in ("opencl", "numpy"):
        pixel_set = select_backend(name).load(pixels)
        labels = pixel_set.assign(palette)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            pixel_set.cluster_sums(labels, len(palette))
            times.append(time.perf_counter() - started)
        result[f"{name}_update_s"] = round(statistics.median(times), 4)
    return result


BUILD_PROBE = textwrap.dedent("""
    import json, time
    import numpy as np
    started = time.perf_counter()
    from gcp.backends.opencl import OpenCLBackend
    backend = OpenCLBackend.for_device(None)
    opened = time.perf_counter()
    backend.kernel(3)
    built = time.perf_counter()
    backend.load(np.zeros((1024, 3), np.uint8)).assign(np.zeros((16, 3), np.uint8))
    first_run = time.perf_counter()
    print(json.dumps({"open_s": opened - started, "build_s": built - opened,
                      "first_run_s": first_run - built}))
""")


def build_latency() -> dict:
    """The kernel's build and first run with empty caches, then again with them filled."""
    with scratch() as folder:
        env = dict(os.environ, XDG_CACHE_HOME=folder, POCL_CACHE_DIR=os.path.join(folder, "pocl"))
        # The project first, then whatever the caller had (a GPU machine's carried wheels).
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH")]))

        def probe() -> dict:
            output = subprocess.run([sys.executable, "-c", BUILD_PROBE], env=env, check=True,
                                    capture_output=True, text=True).stdout
            return {key: round(value, 3) for key, value in json.loads(output).items()}

        return {"cold": probe(), "cached": probe()}


def markdown(report: dict) -> str:
    lines = [f"Measured {environment_note()}; OpenCL device: {report['device']}.", "",
             "Whole `gcp encode` (default options), median wall time:", "",
             "| image | MP | --backend opencl s | --backend numpy s | opencl / numpy |",
             "| --- | --- | --- | --- | --- |"]
    for row in report["images"]:
        lines.append(f"| {row['image']} | {row['megapixels']:.1f} | {row['opencl_s']} | "
                     f"{row['numpy_s']} | {row['ratio']} |")
    lines += ["", "Assignment alone (pixels already on the device), megapixels per second:", "",
              "| image | k | OpenCL MP/s | numpy MP/s | OpenCL upload s | labels equal |",
              "| --- | --- | --- | --- | --- | --- |"]
    for row in report["images"]:
        for entry in row["assign"]:
            lines.append(f"| {row['image']} | {entry['k']} | {entry['opencl_mpix_per_s']} | "
                         f"{entry['numpy_mpix_per_s']} | {entry['opencl_upload_s']} | "
                         f"{entry['labels_equal']} |")
    lines += ["", "Fit and assignment as the encoder runs them (fit's search on the backend; "
              "assignment by distinct colour where cheaper), median seconds:", "",
              "| image | k | OpenCL fit | OpenCL assign | OpenCL total | numpy fit | "
              "numpy assign | numpy total | same palette |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in report["images"]:
        for entry in row["fit_assign"]:
            lines.append(f"| {row['image']} | {entry['k']} | {entry['opencl_fit_s']} | "
                         f"{entry['opencl_assign_s']} | {entry['opencl_total_s']} | "
                         f"{entry['numpy_fit_s']} | {entry['numpy_assign_s']} | "
                         f"{entry['numpy_total_s']} | {entry['palettes_equal']} |")
    lines += ["", "A full-resolution update step (per-cluster counts and sums; effort >= 6):", "",
              "| image | k | OpenCL s | numpy s |", "| --- | --- | --- | --- |"]
    for row in report["images"]:
        for entry in row["update"]:
            lines.append(f"| {row['image']} | {entry['k']} | {entry['opencl_update_s']} | "
                         f"{entry['numpy_update_s']} |")
    build = report["build"]
    lines += ["", "OpenCL program, first build with empty caches against a cached build "
              "(seconds):", "", "| | open device | build | first run |",
              "| --- | --- | --- | --- |",
              f"| empty caches | {build['cold']['open_s']} | {build['cold']['build_s']} | "
              f"{build['cold']['first_run_s']} |",
              f"| cached | {build['cached']['open_s']} | {build['cached']['build_s']} | "
              f"{build['cached']['first_run_s']} |"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", nargs="*")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--k", type=int, nargs="+", default=[16, 256])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--name", default="backends")
    arguments = parser.parse_args()
    report = {"device": select_backend("opencl").device, "images": [],
              "build": build_latency()}
    print(f"device: {report['device']}\nbuild: {report['build']}", flush=True)
    for path in image_paths(arguments.images):
        pixels = load(path)
        flat = pixels.reshape(-1, pixels.shape[2])
        row = {"image": path.name, "megapixels": len(flat) / 1e6,
               **whole_encodes(path, arguments.runs),
               "assign": [assignment_throughput(flat, k, arguments.runs) for k in arguments.k],
               "fit_assign": [fit_and_assign(flat, k, arguments.runs) for k in arguments.k],
               "update": [update_step_cost(flat, 16, arguments.runs)]}
        print(json.dumps(row), flush=True)
        report["images"].append(row)
    arguments.out.mkdir(parents=True, exist_ok=True)
    (arguments.out / f"{arguments.name}.json").write_text(json.dumps(report, indent=1) + "\n")
    (arguments.out / f"{arguments.name}.md").write_text(markdown(report))


if __name__ == "__main__":
    main()
