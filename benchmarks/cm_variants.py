"""What a cheaper method cm would save and cost: variants of ``gcp/backends/cm.cl``'s
encoder built as C (``cm_kernel_profile.py``'s harness), each timed against the kernel as
it is, in turns, on two middle stripes of each image, and their coded sizes compared.

A variant is a set of text replacements in ``cm.cl``: mixing fewer counters, leaving out
the rank bits' probability map or the blended prediction. The encoder is the decoder's
mirror, so its time and size are what a decoder of that variant would take and read.
No variant is a format: the figures say where the kernel's time goes, and what each part
is worth in size (benchmarks/README.md, "A cheaper coder?"). A replacement whose text
``cm.cl`` no longer holds stops the script, naming the variant.

    python benchmarks/cm_variants.py IMAGE:K[:MODE] ... [--rounds 3] [--variants a,b]

MODE is a stripe mode of spec 5.3.1 by number (default 0, STRIPE_CODED). Needs gcc. Not
part of the tests.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from cm_kernel_profile import HARNESS, dump_inputs

from gcp import cm, codec, imageio
from gcp.backends import cm_opencl

SOURCE = Path(cm_opencl.__file__).with_name("cm.cl")
APM = "    if (cells) {\n        /* A rank bit"
NO_APM = (APM, APM.replace("(cells)", "(0 && cells)"))
RANK_CALL = ("    return mix_and_code(c, bit, counters, RANK_INPUTS - 1, weights, pal,\n"
             "                        scratch + RANK_MAP_AT + contexts[0] * APM_CELLS);")


def rank_counters(value_bits: str, unary_bits: str) -> tuple[str, str]:
    """A rank bit mixing fewer counters: C statements that rearrange ``counters`` and set
    ``count`` for the bits below a value's leading 1 and for the unary bits."""
    return RANK_CALL, ("    int count = RANK_INPUTS - 1;\n"
                       f"    if (step >= MAX_BUCKET - 1) {{ {value_bits} }} "
                       f"else {{ {unary_bits} }}\n"
                       + RANK_CALL.replace("RANK_INPUTS - 1, weights", "count, weights"))


VALUE_TWO = rank_counters("counters[1] = counters[2]; count = 2;", "")
UNARY_THREE = rank_counters("", "counters[1] = counters[2]; counters[2] = counters[3]; "
                                "count = 3;")
CHEAP_RANKS = rank_counters("counters[1] = counters[2]; count = 2;",
                            "counters[1] = counters[2]; counters[2] = counters[3]; count = 3;")
CANDIDATES_THREE = ("    return mix_and_code(c, bit, counters, MODEL_COUNT, weights, pal, 0);",
                    "    return mix_and_code(c, bit, counters, 3, weights, pal, 0);")
NO_BLEND = [
    ("                predictions(prediction, near, pal, guesses);",
     "                if (0) predictions(prediction, near, pal, guesses);"),
    ("                    blend(guesses, bias, pal->channels, corrected);",
     "                    for (uint ch = 0; ch < pal->channels; ch++) "
     "corrected[ch] = prediction[ch];"),
    ("                if (moved && (ulong)ranked",
     "                if (0 && moved && (ulong)ranked"),
    ("                    bias_update(bias + BIAS_VALUES * ch, value - corrected[ch], "
     "guess_errors);",
     "                    if (0) bias_update(bias + BIAS_VALUES * ch, value - corrected[ch], "
     "guess_errors);"),
]
VARIANTS: dict[str, list[tuple[str, str]]] = {
    "as is": [],
    "no map": [NO_APM],               # rank bits coded with the mixer's P (5.3.5)
    "value bits 2": [VALUE_TWO],      # bits below the leading 1: rank counter, model 3's
    "unary bits 3": [UNARY_THREE],    # unary bits: rank counter, model 3's, gradients'
    "candidates 3": [CANDIDATES_THREE],  # candidates: models 0, 1 and 2 (5.3.4)
    "no blend": NO_BLEND,             # the rank anchor is the MED anchor; no bias tables
    "all but blend": [NO_APM, CHEAP_RANKS, CANDIDATES_THREE],
}


def variant_source(name: str, replacements: list[tuple[str, str]]) -> str:
    text = SOURCE.read_text()
    for old, new in replacements:
        if text.count(old) != 1:
            raise SystemExit(f"variant {name!r}: cm.cl no longer holds {old.strip()[:50]!r}")
        text = text.replace(old, new)
    return text


def build(folder: Path, name: str) -> Path:
    """The harness for one variant, built by gcc -O3 as ``cm_kernel_profile.py`` builds it."""
    here = folder / re.sub(r"\W", "_", name)
    here.mkdir()
    (here / "cm.cl").write_text(variant_source(name, VARIANTS[name]))
    (here / "harness.c").write_text(HARNESS)
    subprocess.run(["gcc", "-O3", "-std=gnu11", "-w",
                    *cm_opencl.build_options(prefetch_lines=True),
                    "-o", str(here / "harness"), str(here / "harness.c")], check=True)
    return here / "harness"


def case_arguments(folder: Path, image_path: str, k: int, mode: int) -> list[str]:
    """The harness's arguments for the two middle stripes of ``image_path`` at ``k``."""
    image = imageio.decode_image(Path(image_path).read_bytes())
    _, palette, indices = codec.decode_indices(codec.encode(image, k, method="lzma"))
    height, width = indices.shape
    stripe_height = cm.stripe_height_for(width, height)
    rows = cm.stripe_rows(height, stripe_height)
    count = min(2, len(rows))
    dump_inputs(folder, indices, palette, (1,) * palette.shape[1])
    coding = cm.mode_byte(mode, cm.SMALL_TABLE_SHRINK)
    return [str(value) for value in (folder, width, height, stripe_height, len(palette),
                                     palette.shape[1], coding, (len(rows) - count) // 2,
                                     count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="+", help="IMAGE:K or IMAGE:K:MODE")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help="comma-separated, of: " + ", ".join(VARIANTS))
    args = parser.parse_args()
    names = ["as is"] + [name for name in args.variants.split(",") if name != "as is"]
    for name in names:
        if name not in VARIANTS:
            parser.error(f"no variant {name!r}")
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        harnesses = {name: build(folder, name) for name in names}
        print("| image | k | mode | as is: s, bytes | "
              + " | ".join(f"{name}: time, size" for name in names[1:]) + " |")
        print("| --- " * (4 + len(names) - 1) + "|")
        for number, case in enumerate(args.cases):
            image_path, k, *mode = case.split(":")
            inputs = folder / f"case{number}"
            inputs.mkdir()
            arguments = case_arguments(inputs, image_path, int(k), int(mode[0]) if mode else 0)
            seconds: dict[str, list[float]] = {name: [] for name in names}
            sizes: dict[str, int] = {}
            for _ in range(args.rounds):
                for name, harness in harnesses.items():
                    run = subprocess.run([str(harness), *arguments], capture_output=True,
                                         text=True, check=True)
                    sizes[name] = sum(int(length) for length in run.stdout.split())
                    seconds[name].append(float(re.search(r": ([\d.]+) s", run.stderr)[1]))
            base = statistics.median(seconds["as is"])
            cells = [f"{statistics.median(seconds[name]) / base:.3f}x, "
                     f"{sizes[name] / sizes['as is']:.4f}x" for name in names[1:]]
            print(f"| {Path(image_path).name} | {k} | {mode[0] if mode else 0} | "
                  f"{base:.3f}, {sizes['as is']:,} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
