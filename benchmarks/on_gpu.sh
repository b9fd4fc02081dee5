#!/usr/bin/env bash
# Issue 3, must-have 6, in one go on a machine with an NVIDIA GPU: does pyopencl see
# NVIDIA's OpenCL driver (and if not, why), do the OpenCL tests pass there, and the
# figures of benchmarks/backends.py (assignment MP/s at k = 16 and 256, whole encodes).
# Issue 11: method cm's kernels there: the parity tests against the reference, and
# encode and decode throughput at 16.8 MP (benchmarks/cm_speed.py).
#
#   bash benchmarks/on_gpu.sh [LARGE_DIR] [OUT_DIR]
#
# LARGE_DIR holds the 16.8-MP renders of ../shared/corpus/make-large.sh (default .large);
# results go to OUT_DIR (default $OUT, else /tmp/gcp-gpu). Where pyopencl is missing and
# a folder .whl holds its wheels, they are installed into /tmp/site first: a GPU machine
# that cannot reach PyPI gets them carried (benchmarks/README.md, "On a GPU").
set -uo pipefail
large=${1:-.large}
out=${2:-${OUT:-/tmp/gcp-gpu}}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

if ! python3 -c "import pyopencl" 2>/dev/null && compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi

echo "== GPU and OpenCL driver files"
nvidia-smi -L 2>&1 || echo "(no nvidia-smi)"
ls -l /etc/OpenCL/vendors 2>&1
for library in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
  ls -l "$library"/libnvidia-opencl.so* 2>/dev/null
done

echo "== OpenCL devices, as gcp lists them (OCL_ICD_DEBUG=7 shows the loader's search)"
python3 - <<'EOF'
import logging, os, sys
logging.basicConfig(stream=sys.stderr, level=logging.DEBUG, format="%(message)s")
from gcp.backends import opencl
try:
    for platform, device, handle in opencl.list_devices():
        print(f"{platform}:{device}  {opencl.describe(handle)}")
except Exception as error:
    print(f"no devices: {error}")
print("OCL_ICD_VENDORS =", os.environ.get("OCL_ICD_VENDORS"))
EOF
OCL_ICD_DEBUG=7 python3 -c "import pyopencl; pyopencl.get_platforms()" 2>&1 | head -40

echo "== gcp encode --backend opencl -v (must name the GPU)"
python3 -m gcp encode "$large/licorice-l.png" "$out/licorice.gcp" -f --backend opencl -v 2>&1

echo "== OpenCL tests"
timeout 60 python3 -m pytest -q -p no:cacheprovider tests/test_backends.py 2>&1 | tail -15

# 239 tests took about 265 s one at a time on an H200 (NVIDIA builds each kernel variant):
# where pytest-xdist is installed (the lent machines' image has it) they run 8 at a time.
echo "== method cm: kernels against the reference (tests/test_cm.py, on the GPU)"
parallel=()
python3 -c "import xdist" 2>/dev/null && parallel=(-n 8)
timeout 300 python3 -m pytest -q -p no:cacheprovider --tb=line "${parallel[@]}" tests/test_cm.py 2>&1 | tail -8

# The cm body on the GPU and on the machine's own CPU through POCL, in-process: MP/s and
# size for stripes of 2^14, 2^16 and 2^20 pixels (the encoder's default), the bytes checked
# equal on both devices. One stripe is one work-item, so a GPU needs many small stripes.
echo "== method cm: body throughput at 16.8 MP, GPU against POCL, by stripe size"
for image in licorice-l symbolic-d; do
  timeout 90 python3 benchmarks/cm_speed.py "$large/$image.png" --body-only --runs 1 \
    --k 16 256 --device nvidia --device portable --stripe-pixels 16384 65536 1048576 2>&1
done

echo "== method cm: whole gcp encode and decode to PPM of 16.8 MP at k = 16, GPU and POCL"
for device in nvidia portable; do
  for run in 1 2; do
    PYOPENCL_CTX=$device timeout 30 python3 -m gcp encode "$large/licorice-l.png" \
      "$out/cm.gcp" -f --method cm -v 2>&1 | grep -E "backend|encode|body"
    TIMEFORMAT="$device: whole decode to PPM %R s"
    time PYOPENCL_CTX=$device timeout 30 python3 -m gcp decode "$out/cm.gcp" /tmp/cm.ppm -f
  done
done
rm -f "$out/cm.gcp"

echo "== benchmarks/backends.py"
timeout 150 python3 benchmarks/backends.py "$large" --runs 1 --k 16 256 --out "$out" \
  --name backends-gpu 2>&1
