#!/usr/bin/env bash
# The README's first command: install the packages, build libddgan (Release)
# into build/, and run the main job on its built-in default.
# Until training lands (issues [4/9], [6/9]) the main job prints the backends
# and the default DDGAN diffusion schedule (T = 4).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DDDGAN_BUILD_TESTS=OFF
cmake --build build -j"$(nproc)"
./build/bin/list_backends
echo
./build/bin/schedule_info "$@"
