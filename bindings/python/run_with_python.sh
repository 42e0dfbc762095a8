#!/usr/bin/env bash
# usage: run_with_python.sh SCRIPT [ARGS...]
# Runs SCRIPT with a python3 that has numpy, with this source tree's ddgan package
# (bindings/python) on PYTHONPATH; the library comes from $DDGAN_LIBRARY (set by
# ctest). Exit 77 (ctest: skipped) when no such python3 exists or when libddgan is
# built with sanitizers (their runtime cannot be loaded into an uninstrumented
# python: DDGAN_SANITIZED non-empty).
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${DDGAN_SANITIZED:-}" ] && [ "${DDGAN_SANITIZED}" != 0 ]; then
  echo "SKIP: libddgan is built with sanitizers (not loadable through ctypes)"
  exit 77
fi
for py in /usr/bin/python3 python3; do
  if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import numpy' >/dev/null 2>&1; then
    export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
    exec "$py" "$@"
  fi
done
echo "SKIP: no python3 with numpy (Debian: python3-numpy)"
exit 77
