#!/usr/bin/env bash
# Runs libFuzzer targets (tests/fuzz) at the lowest priority.
#   scripts/fuzz.sh [seconds per target (600)] [target ...]   (default: all)
# Builds build-fuzz (clang, -DDDGAN_FUZZ=ON) if needed. Each target starts
# from a copy of its committed seeds (tests/fuzz/corpus/<t>) in
# build-fuzz/work/<t> and writes crashes there under artifacts/; copy a
# reproducer into the committed corpus once the bug is fixed.
# Logs: build-fuzz/work/<t>.log (the last line has the execs and coverage).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors config_json idx cifar png checkpoint)
b=build-fuzz
if [ ! -f "$b/CMakeCache.txt" ]; then
  cmake -S . -B "$b" -DDDGAN_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
    -DCMAKE_CXX_COMPILER=clang++ -DDDGAN_WITH_OPENMP=OFF -DDDGAN_WITH_DNNL=OFF \
    -DDDGAN_WITH_CUDA=OFF -DDDGAN_BUILD_EXAMPLES=OFF -DDDGAN_BUILD_BENCH=OFF
fi
nice -n 19 cmake --build "$b" -j2 --target "${targets[@]/#/fuzz_}"
for t in "${targets[@]}"; do
  w=$b/work/$t
  mkdir -p "$w/corpus" "$w/artifacts"
  cp -n tests/fuzz/corpus/"$t"/* "$w/corpus/" 2>/dev/null || true
  echo "fuzz.sh: $t for ${secs}s (log $w.log)"
  # -rss_limit_mb: a leak or a decompression bomb shows up as a finding, not as swapping
  DDGAN_BACKEND= nice -n 19 "$b/bin/fuzz_$t" "$w/corpus" -artifact_prefix="$w/artifacts/" \
    -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    > "$w.log" 2>&1 || echo "fuzz.sh: $t stopped with a finding (see $w.log)"
  grep -E "^(#[0-9]+.*(DONE|pulse)|stat::number_of_executed_units)" "$w.log" | tail -2
done
