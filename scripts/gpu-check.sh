#!/usr/bin/env bash
# gpu-check.sh: build libddgan with the cuda plug-in on a GPU machine, check
# its parity with the ref backend and time it, in a few minutes, printing one
# table at the end (docs/backend-cuda.md, "Running gpu-check").
#
#   scripts/gpu-check.sh [BUILD_DIR]        (default: <repo>/build-gpu)
#
# Needs: CMake >= 3.25, a C/C++ compiler, the CUDA toolkit (nvcc) with cuBLAS
# and cuDNN 9, zlib and libpng headers, a CUDA driver and GPU. Optional: oneDNN +
# OpenBLAS (the cpu plug-in, for a CPU row), CMocka (the ctest suite), PyTorch
# with CUDA (bench/bench_torch_gpu.py: the same workloads on PyTorch, exact and
# TF32, with ratios libddgan/PyTorch). Nothing is downloaded.
#
# Environment:
#   GPU_CHECK_JOBS=N     build parallelism (default: nproc)
#   GPU_CHECK_CPU=1      also time the cpu backend (slow: minutes)
#   GPU_CHECK_ITERS=K    timed training iterations (default 20)
#   GPU_CHECK_BACKEND=NAME   backend under test (default cuda; "cpu" dry-runs the
#                        script on a machine without a GPU)
#   GPU_CHECK_SAMPLES, GPU_CHECK_BATCH, GPU_CHECK_NF   benchmark sizes (defaults
#                        100, 64, 128 = the CIFAR-10 workload; smaller only for dry runs)
#   GPU_CHECK_TORCH=0    skip the PyTorch side by side (default: run it when
#                        torch with CUDA is importable)
#   GPU_CHECK_PYTHON=PY  the Python that has PyTorch (default python3)
#   GPU_CHECK_TORCH_DEVICE=cpu   run the PyTorch side on the CPU (dry runs only)
#   GPU_CHECK_TORCH_ARGS="..."   extra options for bench_torch_gpu.py (--detach,
#                        --fir native, --cudnn-benchmark)
#   DDGAN_WITH_DNNL=ON|OFF   force the cpu plug-in on/off (default: ON when oneDNN is found)
#   CUDAToolkit_ROOT, CUDNN_ROOT   where CMake looks for the toolkit and cuDNN
#
# CPU dry run (no GPU; checks the script, not the backend):
#   GPU_CHECK_BACKEND=cpu GPU_CHECK_SAMPLES=4 GPU_CHECK_BATCH=4 GPU_CHECK_NF=32 \
#   GPU_CHECK_ITERS=1 GPU_CHECK_JOBS=1 GPU_CHECK_TORCH_DEVICE=cpu scripts/gpu-check.sh
# (the configure step still asks for the CUDA toolkit: -DDDGAN_WITH_CUDA=ON).
#
# Exit status: 0 when everything ran and parity passed, 1 otherwise (the
# optional PyTorch rows never change it).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-gpu}
jobs=${GPU_CHECK_JOBS:-$(nproc 2>/dev/null || echo 4)}
iters=${GPU_CHECK_ITERS:-20}
be=${GPU_CHECK_BACKEND:-cuda}
samples=${GPU_CHECK_SAMPLES:-100}
batch=${GPU_CHECK_BATCH:-64}
nf=${GPU_CHECK_NF:-128}
logs=$build/gpu-check-logs
mkdir -p "$logs"

declare -a rows=()
status=0
row() { rows+=("$(printf '%-40s %s' "$1" "$2")"); }
die() {
    echo "gpu-check: $*" >&2
    row "gpu-check stopped" "$*"
    status=1
    finish
}
finish() {
    echo
    echo "==================== gpu-check summary ===================="
    printf '%s\n' "${rows[@]}"
    echo "logs: $logs"
    echo "============================================================"
    exit $status
}

# ---- machine -------------------------------------------------------------
if command -v nvidia-smi >/dev/null 2>&1; then
    gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
    row "GPU (nvidia-smi)" "${gpu:-none reported}"
else
    row "GPU (nvidia-smi)" "nvidia-smi not found"
fi

# ---- configure -----------------------------------------------------------
dnnl=${DDGAN_WITH_DNNL:-}
if [ -z "$dnnl" ]; then
    # the cpu plug-in only when oneDNN's header is visible to the compiler
    if echo '#include <dnnl.h>' | ${CC:-cc} -E -x c - >/dev/null 2>&1; then dnnl=ON; else dnnl=OFF; fi
fi
# cuDNN outside the toolkit: PyTorch's pip wheel (nvidia-cudnn-cu*) when present
if [ -z "${CUDNN_ROOT:-}" ] && command -v python3 >/dev/null 2>&1; then
    wheel=$(python3 -c 'import os, nvidia.cudnn as m; print(os.path.dirname(m.__file__) if m.__file__ else list(m.__path__)[0])' 2>/dev/null || true)
    if [ -n "$wheel" ] && [ -e "$wheel/include/cudnn.h" ]; then
        export CUDNN_ROOT=$wheel
        echo "gpu-check: using cuDNN from $wheel"
    fi
fi
tests=OFF
if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists cmocka; then tests=ON; fi
echo "gpu-check: configuring $build (cpu plug-in $dnnl, CMocka tests $tests)"
if ! cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DDDGAN_WITH_CUDA=ON \
        -DDDGAN_WITH_DNNL="$dnnl" -DDDGAN_BUILD_TESTS="$tests" -DDDGAN_BUILD_EXAMPLES=ON \
        -DDDGAN_BUILD_BENCH=ON -DDDGAN_BUILD_PARITY=ON >"$logs/configure.log" 2>&1; then
    tail -30 "$logs/configure.log" >&2
    die "cmake configure failed (see configure.log)"
fi
row "configure" "ok (cpu plug-in $dnnl, CMocka tests $tests)"

# ---- build ---------------------------------------------------------------
targets=(ddgan ddgan_backend_cuda list_backends parity_main bench_model)
[ "$dnnl" = ON ] && targets+=(ddgan_backend_cpu)
[ "$tests" = ON ] && targets+=(test_ops_cuda)
t0=$(date +%s)
if ! cmake --build "$build" -j"$jobs" --target "${targets[@]}" >"$logs/build.log" 2>&1; then
    grep -E "error|Error" "$logs/build.log" | head -30 >&2
    die "build failed (see build.log)"
fi
row "build" "ok in $(( $(date +%s) - t0 )) s"

# ---- availability ----------------------------------------------------------
"$build/bin/list_backends" >"$logs/list_backends.log" 2>&1
cat "$logs/list_backends.log"
be_line=$(grep -E "^$be " "$logs/list_backends.log" || true)
if ! echo "$be_line" | grep -qE "^$be +yes"; then
    die "$be backend unavailable: ${be_line:-not listed}"
fi
row "$be backend" "available ($(grep -o '"auto" selects: .*' "$logs/list_backends.log"))"

# ---- parity ----------------------------------------------------------------
run_parity() { # name, args...
    local name=$1
    shift
    if timeout 600 "$build/bin/parity_main" "$@" >"$logs/$name.log" 2>&1; then
        row "$name" "PASS"
    else
        row "$name" "FAIL (rc $?, see $name.log)"
        status=1
    fi
    cat "$logs/$name.log"
    # the per-check lines go into the table too
    while IFS= read -r l; do rows+=("    $l"); done < <(grep -E '^(op table|philox|golden)' "$logs/$name.log")
}
run_parity parity-exact --backend "$be"
run_parity parity-fast --backend "$be" --fast --no-f64

if [ "$tests" = ON ]; then
    if (cd "$build" && timeout 900 ctest -R '^ops_cuda$' --output-on-failure) >"$logs/ctest.log" 2>&1; then
        row "ctest ops_cuda" "PASS"
    else
        row "ctest ops_cuda" "FAIL (see ctest.log)"
        status=1
    fi
fi

# ---- benchmarks ------------------------------------------------------------
bench() { # label, env..., -- , args...
    local label=$1
    shift
    local envs=()
    while [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    if env "${envs[@]}" timeout 900 "$build/bin/bench_model" "$@" >"$logs/bench-$label.log" 2>&1; then
        local l
        l=$(grep '^bench_model' "$logs/bench-$label.log")
        local ss its
        ss=$(echo "$l" | sed -n 's/.*sample_s=\([^ ]*\).*/\1/p')
        its=$(echo "$l" | sed -n 's/.*train_it_per_s=\([^ ]*\).*/\1/p')
        local shown=$label
        [ "$label" = cpu ] || shown="$be $label"
        row "bench $shown" "sample $samples x 4 steps (nf $nf): ${ss} s   train b$batch: ${its} it/s"
        eval "bench_${label//-/_}_s=$ss; bench_${label//-/_}_its=$its"
    else
        row "bench $label" "FAIL (see bench-$label.log)"
        tail -5 "$logs/bench-$label.log" >&2
        status=1
    fi
}
sizes=(--samples "$samples" --train-batch "$batch" --nf "$nf")
bench exact DDGAN_CUDA_FAST=0 -- --backend "$be" "${sizes[@]}" --train-iters "$iters"
bench fast DDGAN_CUDA_FAST=1 -- --backend "$be" "${sizes[@]}" --train-iters "$iters"
if [ "${GPU_CHECK_CPU:-0}" = 1 ] && [ "$dnnl" = ON ]; then
    bench cpu DDGAN_CUDA_FAST=0 -- --backend cpu "${sizes[@]}" --train-iters 2
    if [ -n "${bench_cpu_s:-}" ] && [ -n "${bench_exact_s:-}" ]; then
        # shellcheck disable=SC2154 # bench_*_its are assigned by bench()'s eval
        row "speed-up $be (exact) vs cpu" "$(awk -v a="$bench_cpu_s" -v b="$bench_exact_s" -v c="$bench_exact_its" -v d="$bench_cpu_its" \
            'BEGIN { printf "sampling x%.1f, training x%.1f", a / b, c / d }')"
    fi
fi

# ---- PyTorch side by side (optional) -----------------------------------------
# bench/bench_torch_gpu.py: the same workloads (sizes $samples, $batch, $nf) on
# PyTorch models written from the reference spec, exact (no TF32) and TF32,
# against bench_model's exact and fast rows. A failure here is a row of the
# table, not a failure of gpu-check.
kv() { # line, key: the value of key=value in a result line
    echo "$1" | sed -n "s/.* $2=\([^ ]*\).*/\1/p"
}
torch_bench() { # label (exact|fast), precision flag
    local label=$1 flag=$2
    local log=$logs/torch-$label.log rc=0
    # shellcheck disable=SC2086 # GPU_CHECK_TORCH_ARGS: extra options, split on purpose
    timeout 900 "$py" "$root/bench/bench_torch_gpu.py" --device "$tdev" "$flag" --nf "$nf" \
        --samples "$samples" --train-batch "$batch" --train-iters "$iters" ${GPU_CHECK_TORCH_ARGS:-} \
        >"$log" 2>&1 || rc=$?
    local l
    l=$(grep '^bench_torch ' "$log" || true)
    if [ "$rc" != 0 ] || [ -z "$l" ]; then
        row "PyTorch $label" "FAIL (rc $rc, see torch-$label.log; optional, not counted)"
        tail -5 "$log" >&2
        return
    fi
    local ver ss its its0 mem
    ver=$(kv "$l" torch)
    ss=$(kv "$l" sample_s)
    its=$(kv "$l" train_it_per_s)
    its0=$(kv "$l" train_nor1_it_per_s)
    mem=$(kv "$l" peak_mem_mib)
    local tf=TF32
    [ "$(kv "$l" precision)" = exact ] && tf="no TF32"
    case $mem in -*) mem= ;; *) mem=", peak ${mem} MiB" ;; esac
    row "PyTorch $ver $tdev $label ($tf)" \
        "sample $samples x 4 steps (nf $nf): ${ss} s   train b$batch: ${its} it/s (R1), ${its0} it/s (no R1)$mem"
    local our_s our_its
    eval "our_s=\${bench_${label}_s:-}; our_its=\${bench_${label}_its:-}"
    if [ -n "$our_s" ] && [ -n "$our_its" ]; then
        row "libddgan/PyTorch $label" "$(awk -v a="$our_s" -v b="$ss" -v c="$our_its" -v d="$its" 'BEGIN {
            printf "sampling time x%.2f (%s %.2fx faster)   training it/s x%.2f (R1; target >= 1)", a / b,
                (a <= b ? "libddgan" : "PyTorch"), (a <= b ? b / a : a / b), c / d }')"
    fi
}
tdev=${GPU_CHECK_TORCH_DEVICE:-cuda}
py=${GPU_CHECK_PYTHON:-python3}
if [ "${GPU_CHECK_TORCH:-1}" = 0 ]; then
    row "PyTorch comparison" "skipped (GPU_CHECK_TORCH=0)"
elif ! command -v "$py" >/dev/null 2>&1 ||
    ! "$py" -c 'import sys, torch; sys.exit(0 if sys.argv[1] == "cpu" or torch.cuda.is_available() else 1)' \
        "$tdev" >/dev/null 2>&1; then
    if [ "$tdev" = cpu ]; then
        row "PyTorch comparison" "skipped (no torch for $py)"
    else
        row "PyTorch comparison" "skipped (no torch with CUDA)"
    fi
else
    torch_bench exact --exact
    torch_bench fast --tf32
fi
if [ "$samples" = 100 ] && [ "$nf" = 128 ] && [ -n "${bench_exact_s:-}" ] && [ -n "${bench_fast_s:-}" ]; then
    row "targets (100 CIFAR-10 samples)" "$(awk -v e="$bench_exact_s" -v f="$bench_fast_s" 'BEGIN {
        printf "exact %.0f ms (target < 150: %s)   fast %.0f ms (target < 25: %s)   paper: 210 ms on a V100",
            1000 * e, (e < 0.150 ? "met" : "NOT met"), 1000 * f, (f < 0.025 ? "met" : "NOT met") }')"
fi

finish
