#!/usr/bin/env bash
# Runs the Python test suite with an interpreter that has numpy and pytest
# (Debian's python3-numpy / python3-pytest). Exit 77 (ctest: skipped) when
# none is available; pytest's "no tests collected" (5) counts as a failure
# here because this suite always has tests.
set -u
here=$(cd "$(dirname "$0")" && pwd)
for py in /usr/bin/python3 python3; do
  if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import numpy, pytest' >/dev/null 2>&1; then
    exec "$py" -m pytest -q -p no:cacheprovider "$here" "$@"
  fi
done
echo "SKIP: no python3 with numpy and pytest (Debian: python3-numpy python3-pytest)"
exit 77
