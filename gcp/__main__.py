"""The ``gcp`` command's entry: ``python -m gcp`` and the ``gcp`` script both start here.

Before numpy loads, the process asks OpenBLAS (numpy's and OpenCV's) for one thread
unless the user chose a number: gcp's matrix products are small, and OpenBLAS's idle
threads spin for about 0.1 s of CPU after loading and after each product, on cores that
the OpenCL kernels and the fit are using (with one thread: whole encodes 0.95x the time,
a batch of 16 encodes 0.85x, decodes unchanged, CPU 0.58-0.94x; benchmarks/README.md).
A program that imports gcp as a library keeps its own setting: this module is the
command's alone.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from .cli import main  # after the setting above, which OpenBLAS reads as numpy loads

if __name__ == "__main__":
    main()
