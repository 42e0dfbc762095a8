#!/usr/bin/env bash
# The README's first command: install the packages, build libddgan (Release)
# into build/, and run the main job on its built-in default: DDGAN (T = 4)
# trained on the 25-Gaussian grid (`ddgan train --preset toy25`), which writes
# a scatter plot of 2,500 samples and prints how many of the 25 modes it covers.
# Extra arguments go to `ddgan train` (e.g. --steps 20000, --backend ref).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DDDGAN_BUILD_TESTS=OFF
cmake --build build -j"$(nproc)"
./build/bin/ddgan backends
echo
# a new folder per run: earlier runs are never overwritten
exp=runs/toy25-$(date +%Y%m%d-%H%M%S)
./build/bin/ddgan train --preset toy25 --exp "$exp" "$@"
