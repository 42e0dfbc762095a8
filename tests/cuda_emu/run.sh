#!/usr/bin/env bash
# Host emulation check of the cuda plug-in, for machines WITHOUT a GPU
# (docs/backend-cuda.md, "Checking without a GPU"). Not a substitute for
# scripts/gpu-check.sh: it proves the plug-in's logic, not the device.
#
#   tests/cuda_emu/run.sh [BUILD_DIR]     (default <repo>/build; needs its libddgan_internal.a)
#
# What it does: the two .cu files are turned into host C++ (each
# `kernel<<<grid, block, 0, s>>>(args)` becomes emu_launch(grid, block,
# kernel, args), which runs every thread of a block on its own std::thread
# with a std::barrier for __syncthreads), cuda_ops.c / cuda_conv.c /
# cuda_matmul.c are compiled unchanged against the stub headers here (a
# cuDNN stand-in that computes convolutions with ref and only symmetric
# padding, as cuDNN; a naive column-major GEMM for cuBLAS), and the 139-case
# parity table runs against ref in float32 (1e-5 / 1e-4) and float64 (1e-12),
# plus the Philox draws. Device memory is host memory from ref.
#
# What it cannot check: the device's libm, cuDNN's and cuBLAS's numerics and
# algorithms, real concurrency, streams, the memory pool, launch limits.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
[ $# -gt 0 ] && shift  # the rest (a case-name filter) goes to the program
out=$build/cuda-emu
mkdir -p "$out"
lib=$build/lib/libddgan_internal.a
[ -f "$lib" ] || { echo "cuda_emu: $lib not found: build the project first" >&2; exit 2; }
inc=(-I"$here" -I"$root/include" -I"$root/lib" -I"$root/backends" -I"$root/tests/common")
for f in cuda_pointwise cuda_norm; do
    python3 - "$root/backends/cuda/$f.cu" "$out/$f.cpp" <<'PY'
import re, sys
s = open(sys.argv[1]).read()
s, n = re.subn(r'([A-Za-z_0-9]+(?:<[a-z]+>)?)<<<([^,]+), ([^,]+), 0, s>>>\(', r'emu_launch(\2, \3, \1, ', s)
if '<<<' in s:
    sys.exit('cuda_emu: a launch of %s was not rewritten' % sys.argv[1])
open(sys.argv[2], 'w').write(s)
PY
    g++ -std=c++20 -O1 -ffp-contract=off -include "$here/emu.hpp" "${inc[@]}" -c "$out/$f.cpp" -o "$out/$f.o"
done
for f in cuda_ops cuda_conv cuda_matmul; do
    gcc -std=c11 -O1 -D_GNU_SOURCE -ffp-contract=off "${inc[@]}" -c "$root/backends/cuda/$f.c" -o "$out/$f.o"
done
for f in harness fake_cudnn fake_cublas; do
    gcc -std=c11 -O1 -D_GNU_SOURCE "${inc[@]}" -c "$here/$f.c" -o "$out/$f.o"
done
gcc -std=c11 -O1 -D_GNU_SOURCE "${inc[@]}" -c "$root/tests/common/op_table.c" -o "$out/op_table.o"
g++ "$out"/*.o "$lib" -lz -lpng -ljpeg -fopenmp -lm -ldl -lpthread -o "$out/cuda_emu"
"$out/cuda_emu" "$@"
