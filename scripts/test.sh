#!/usr/bin/env bash
# The README's second command (and what CI runs): install the packages, then
#   1. gcc, Release, warnings as errors: build and run every test;
#   2. gcc, AddressSanitizer + UBSan: build and run every test;
#   3. clang, warnings as errors: build and run every test;
#   4. ThreadSanitizer on "ref" (OpenMP off): the threading, crash, OOM,
#      misuse and fuzz-replay tests (docs/hardening.md);
#   5. the ABI check against abi/libddgan.abi (scripts/abi-check.sh).
# Build trees go to build-ci/<name>. Set DDGAN_TEST_QUICK=1 to run step 1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)
root=build-ci

run_suite() {
  local name=$1; shift
  echo "=============================================================="
  echo "== $name"
  echo "=============================================================="
  cmake -S . -B "$root/$name" -DDDGAN_WERROR=ON "$@"
  # optional per suite: build_targets (space-separated), ctest_filter (a -R regex)
  cmake --build "$root/$name" -j"$jobs" ${build_targets:+--target $build_targets}
  (cd "$root/$name" && ctest --output-on-failure -j"$jobs" ${ctest_filter:+-R "$ctest_filter"})
}

run_suite gcc-release -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++
if [ "${DDGAN_TEST_QUICK:-0}" != 1 ]; then
  run_suite gcc-asan-ubsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc \
    -DCMAKE_CXX_COMPILER=g++ "-DDDGAN_SANITIZE=address;undefined" -DDDGAN_WITH_CUDA=OFF
  run_suite clang-release -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang \
    -DCMAKE_CXX_COMPILER=clang++ -DDDGAN_WITH_CUDA=OFF
  build_targets="test_threads test_crash_safety test_oom test_api_misuse test_context $(printf 'fuzz_replay_%s ' \
    safetensors config_json idx cifar png checkpoint)" ctest_filter='^(threads|crash_safety|oom|api_misuse|context|fuzz_.*)$' \
    run_suite tsan-ref -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDDGAN_SANITIZE=thread -DDDGAN_WITH_OPENMP=OFF \
    -DDDGAN_WITH_DNNL=OFF -DDDGAN_WITH_CUDA=OFF -DDDGAN_BUILD_EXAMPLES=OFF -DDDGAN_BUILD_BENCH=OFF
  DDGAN_ABI_BUILD="$root/abi" bash scripts/abi-check.sh
fi
echo "test.sh: all suites passed"
