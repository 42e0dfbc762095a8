#!/usr/bin/env bash
# The README's second command (and what CI runs): install the packages, then
#   1. gcc, Release, warnings as errors: build and run every test;
#   2. gcc, AddressSanitizer + UBSan: build and run every test;
#   3. clang, warnings as errors: build and run every test.
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
  cmake --build "$root/$name" -j"$jobs"
  (cd "$root/$name" && ctest --output-on-failure -j"$jobs")
}

run_suite gcc-release -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++
if [ "${DDGAN_TEST_QUICK:-0}" != 1 ]; then
  run_suite gcc-asan-ubsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc \
    -DCMAKE_CXX_COMPILER=g++ "-DDDGAN_SANITIZE=address;undefined" -DDDGAN_WITH_CUDA=OFF
  run_suite clang-release -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang \
    -DCMAKE_CXX_COMPILER=clang++ -DDDGAN_WITH_CUDA=OFF
fi
echo "test.sh: all suites passed"
