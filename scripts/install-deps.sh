#!/usr/bin/env bash
# Installs the Debian 12 packages libddgan needs to build and test.
# Run as root (or through sudo). Safe to re-run.
set -euo pipefail
packages=(
  build-essential cmake pkg-config clang binutils
  libcmocka-dev libdnnl-dev libopenblas-dev libpng-dev zlib1g-dev libjpeg62-turbo-dev
  python3 python3-numpy python3-pytest
  abigail-tools libclang-rt-14-dev  # ABI check (abidiff); libFuzzer for scripts/fuzz.sh
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
SUDO=
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
