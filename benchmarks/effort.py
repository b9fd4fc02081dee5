"""What each --effort level costs and buys: encode time, PSNR and file size, side by side.

    python benchmarks/effort.py [IMAGES or FOLDERS...] [--k 16] [--efforts 1 3 5 7 9]
                                [--runs 3] [--dither]

Each level runs as a whole `gcp encode` process (median time of --runs). Prints, per
image, each level's time, PSNR and size relative to the default level (5), and writes
benchmarks/results/effort.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from common import (
    RESULTS,
    environment_note,
    gcp_command,
    image_paths,
    load,
    median_time,
    psnr,
    run_command,
    scratch,
)

import gcp
from gcp.quantizer import DEFAULT_EFFORT


def measure(path: Path, k: int, efforts: list[int], runs: int, dither: bool) -> list[dict]:
    image = load(path)
    rows = []
    with scratch() as folder:
        out = Path(folder) / "out.gcp"
        for effort in efforts:
            command = [*gcp_command(), "encode", str(path), str(out), "-k", str(k), "-f",
                       "--effort", str(effort), *(["--dither"] if dither else [])]
            seconds, _ = median_time(lambda command=command: run_command(command), runs)
            data = out.read_bytes()
            rows.append({"image": path.name, "k": k, "effort": effort, "dither": dither,
                         "seconds": round(seconds, 3), "bytes": len(data),
                         "psnr": round(psnr(image, gcp.decode(data)), 3)})
    return rows


def relative(rows: list[dict]) -> list[dict]:
    """Each row with time, size and PSNR against the default level of the same image."""
    base = {row["image"]: row for row in rows if row["effort"] == DEFAULT_EFFORT}
    for row in rows:
        reference = base.get(row["image"])
        if reference:
            row["time_vs_default"] = round(row["seconds"] / reference["seconds"], 3)
            row["size_vs_default"] = round(row["bytes"] / reference["bytes"], 4)
            row["psnr_vs_default"] = round(row["psnr"] - reference["psnr"], 3)
    return rows


def markdown(rows: list[dict], runs: int) -> str:
    lines = [f"Measured {environment_note()}; whole `gcp encode` process, median of {runs}.",
             "", "| image | effort | time s | PSNR dB | bytes | time / effort 5 | "
             "size / effort 5 | PSNR - effort 5 |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        lines.append(f"| {row['image']} | {row['effort']} | {row['seconds']:.3f} | "
                     f"{row['psnr']:.2f} | {row['bytes']:,} | "
                     f"{row.get('time_vs_default', 'n/a')} | {row.get('size_vs_default', 'n/a')}"
                     f" | {row.get('psnr_vs_default', 'n/a'):+} |")
    lines += ["", summary(rows)]
    return "\n".join(lines) + "\n"


def summary(rows: list[dict]) -> str:
    lines = []
    for effort in sorted({row["effort"] for row in rows}):
        mine = [row for row in rows if row["effort"] == effort and "time_vs_default" in row]
        if mine:
            time_ratio = statistics.median(r["time_vs_default"] for r in mine)
            lines.append(
                f"effort {effort}: time x{time_ratio:.2f}, "
                f"PSNR {statistics.mean(r['psnr_vs_default'] for r in mine):+.3f} dB, size "
                f"x{statistics.median(r['size_vs_default'] for r in mine):.3f} "
                f"(medians and mean over {len(mine)} images, against effort {DEFAULT_EFFORT})")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", nargs="*")
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--efforts", type=int, nargs="+", default=[1, 3, 5, 7, 9])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dither", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--name", default="effort")
    arguments = parser.parse_args()
    efforts = sorted(set(arguments.efforts) | {DEFAULT_EFFORT})
    rows = []
    for path in image_paths(arguments.images):
        image_rows = measure(path, arguments.k, efforts, arguments.runs, arguments.dither)
        rows += relative(image_rows)
        for row in image_rows:
            print(f"{row['image']:<18} effort {row['effort']} {row['seconds']:7.3f} s "
                  f"{row['psnr']:6.2f} dB {row['bytes']:>9,} B", flush=True)
    print(summary(rows))
    arguments.out.mkdir(parents=True, exist_ok=True)
    (arguments.out / f"{arguments.name}.json").write_text(json.dumps(rows, indent=1) + "\n")
    (arguments.out / f"{arguments.name}.md").write_text(markdown(rows, arguments.runs))


if __name__ == "__main__":
    main()
