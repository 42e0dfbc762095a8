#!/usr/bin/env bash
# ABI check of libddgan.so against the committed baseline abi/libddgan.abi
# (docs/abi-policy.md). Builds only the library, with debug info, in
# ${DDGAN_ABI_BUILD:-build-ci/abi}, describes it with abidw and compares the
# two descriptions with abidiff.
#   scripts/abi-check.sh            fails on a removed or changed function or
#                                   public type; added functions, appended
#                                   enumerators and members appended to
#                                   struct_size structs pass (and are listed)
#   scripts/abi-check.sh --update   rewrites the baseline (and the
#                                   suppressions derived from it): only for
#                                   a deliberate, documented ABI change or a
#                                   release (docs/abi-policy.md)
set -euo pipefail
cd "$(dirname "$0")/.."
b=${DDGAN_ABI_BUILD:-build-ci/abi}
mkdir -p "$b"
# -fdebug-prefix-map: no machine paths in the ABI description
cmake -S . -B "$b" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ \
  -DDDGAN_BUILD_TESTS=OFF -DDDGAN_BUILD_EXAMPLES=OFF -DDDGAN_BUILD_BENCH=OFF \
  -DDDGAN_WITH_DNNL=OFF -DDDGAN_WITH_CUDA=OFF -DDDGAN_WITH_OPENMP=OFF \
  "-DCMAKE_C_FLAGS=-fdebug-prefix-map=$PWD=." > "$b.configure.log"
cmake --build "$b" -j"$(nproc)" --target ddgan > "$b.build.log"
lib=$(readlink -f "$b/lib/libddgan.so")
# Public types only (--drop-private-types): the handles stay opaque, so
# internal structs may change freely. Both sides are described the same way.
abidw --headers-dir include/ddgan --drop-private-types --no-corpus-path --no-comp-dir-path \
  --no-show-locs --drop-undefined-syms --out-file "$b/libddgan.abi" "$lib"
if [ "${1:-}" = --update ]; then
  cp "$b/libddgan.abi" abi/libddgan.abi
  python3 scripts/abi-suppressions.py abi/libddgan.abi > abi/suppressions.abignore
  echo "abi-check: baseline abi/libddgan.abi and abi/suppressions.abignore rewritten"
  exit 0
fi
set +e
abidiff --suppressions abi/suppressions.abignore --no-show-locs abi/libddgan.abi "$b/libddgan.abi" \
  > "$b.report" 2>&1
rc=$?
set -e
cat "$b.report"
# abidiff's exit status is a bit field: 1 error, 2 usage error, 4 ABI change,
# 8 incompatible change (a removed function or symbol). Added functions only
# set bit 4, so with bit 4 the report decides: it passes when every reported
# change is an addition.
if (( rc & 3 )); then
  echo "abi-check: abidiff failed to run (status $rc)"; exit 1
fi
if (( rc & 8 )); then
  echo "abi-check: INCOMPATIBLE ABI change (removed function or symbol)"; exit 1
fi
if (( rc & 4 )); then
  if grep -Eq "[1-9][0-9]* (Removed|Changed)" "$b.report"; then
    echo "abi-check: ABI changed (a function or public type changed); if deliberate, see docs/abi-policy.md"
    exit 1
  fi
  echo "abi-check: only additions (compatible)"
  exit 0
fi
echo "abi-check: no ABI change"
