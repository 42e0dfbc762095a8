#!/usr/bin/env bash
# usage: check_install.sh BUILD_DIR SCRATCH PYTHON_SUBDIR
# Installs the build into a scratch prefix and imports the installed ddgan package
# with PYTHONPATH=<prefix>/PYTHON_SUBDIR and no DDGAN_LIBRARY: it must find the
# installed libddgan.so.0 by itself and sample a toy generator. Exit 77 (ctest:
# skipped) under sanitizers or without a python3 with numpy.
set -euo pipefail
build=$1 scratch=$2 pysub=$3
if [ -n "${DDGAN_SANITIZED:-}" ] && [ "${DDGAN_SANITIZED}" != 0 ]; then
  echo "SKIP: libddgan is built with sanitizers (not loadable through ctypes)"
  exit 77
fi
py=
for cand in /usr/bin/python3 python3; do
  if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import numpy' >/dev/null 2>&1; then py=$cand; break; fi
done
[ -n "$py" ] || { echo "SKIP: no python3 with numpy"; exit 77; }
rm -rf "$scratch"
mkdir -p "$scratch"
prefix=$scratch/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
[ -f "$prefix/$pysub/ddgan/__init__.py" ] || { echo "FAIL: package not installed in $prefix/$pysub"; exit 1; }
[ -f "$prefix/$pysub/ddgan/_install.py" ] || { echo "FAIL: _install.py not installed"; exit 1; }
cd "$scratch"
env -u DDGAN_LIBRARY PYTHONPATH="$prefix/$pysub" "$py" - "$prefix" <<'PY'
import os, sys
import ddgan
prefix = os.path.realpath(sys.argv[1])
path = os.path.realpath(ddgan.library_path)
assert ddgan.found_by == "install prefix", ddgan.found_by
assert path.startswith(prefix + os.sep), (path, prefix)
assert os.path.realpath(ddgan.__file__).startswith(prefix + os.sep)
with ddgan.Context(backend="ref", seed=1, threads=1) as ctx:
    g = ddgan.Generator.from_json(ctx, {"cls": "ToyMLP", "hidden_dim": 16, "n_hidden": 1, "t_emb_dim": 8})
    x = ddgan.sample(g, ddgan.Schedule(ctx), 8, seed=3)
    assert x.shape == (8, 2) and bool((abs(x) < 100).all())
print("installed package: ddgan %s from %s, library %s" % (ddgan.version(), ddgan.__file__, path))
PY
echo "python install: all checks passed"
