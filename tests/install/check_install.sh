#!/usr/bin/env bash
# usage: check_install.sh BUILD_DIR CONSUMER_SRC SCRATCH SANITIZE CC CXX INCLUDE_DIR
set -euo pipefail
build=$1 consumer=$2 scratch=$3 sanitize=$4 cc=$5 cxx=$6 incdir=$7
rm -rf "$scratch"
mkdir -p "$scratch"
prefix=$scratch/prefix
san_flags=()
if [ -n "$sanitize" ]; then
  san_flags=(-fsanitize="${sanitize//;/,}" -fno-omit-frame-pointer)
fi

echo "== install into a scratch prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
lib=$(find "$prefix" -name 'libddgan.so.0' | head -n1)
[ -n "$lib" ] || { echo "FAIL: libddgan.so.0 not installed"; exit 1; }
libdir=$(dirname "$lib")
readelf -d "$lib" | grep -q 'SONAME.*\[libddgan.so.0\]' || { echo "FAIL: SONAME is not libddgan.so.0"; exit 1; }
[ -f "$prefix/include/ddgan/ddgan.h" ] || { echo "FAIL: header not installed"; exit 1; }

echo "== exported symbols: only ddgan_*"
bad=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^ddgan_' | grep -v '^DDGAN_0$' || true)
if [ -n "$bad" ]; then echo "FAIL: symbols exported without the ddgan_ prefix:"; echo "$bad"; exit 1; fi
echo "   $(nm -D --defined-only "$lib" | grep -c ' ddgan_') ddgan_ symbols"

echo "== imported symbols: no exit/abort/assert"
bad=$(nm -D --undefined-only "$lib" | awk '{print $2}' | sed 's/@.*//' | grep -xE 'exit|_exit|_Exit|abort|__assert_fail|quick_exit' || true)
if [ -n "$bad" ]; then echo "FAIL: the library imports $bad"; exit 1; fi

echo "== plug-ins: installed next to the library, exporting only their entry point; the core links no CUDA/oneDNN"
for plugin in "$libdir"/ddgan/libddgan-backend-*.so; do
  [ -e "$plugin" ] || continue
  exported=$(nm -D --defined-only "$plugin" | awk '{print $3}' | grep -v '^$' | sort -u)
  bad=$(echo "$exported" | grep -vxE 'ddgan_backend_plugin_entry|DDGAN_[A-Z0-9_]*' || true)
  if [ -n "$bad" ]; then echo "FAIL: $(basename "$plugin") exports more than its entry point:"; echo "$bad"; exit 1; fi
  echo "   $(basename "$plugin"): ddgan_backend_plugin_entry only"
done
bad=$(readelf -d "$lib" | grep NEEDED | grep -iE 'cuda|cudnn|cublas|dnnl|openblas' || true)
if [ -n "$bad" ]; then echo "FAIL: the core library links $bad"; exit 1; fi
for tool in ddgan; do
  [ -x "$prefix/bin/$tool" ] || { echo "FAIL: $tool not installed"; exit 1; }
done
"$prefix/bin/ddgan" backends >/dev/null || { echo "FAIL: the installed ddgan tool does not run"; exit 1; }

echo "== the public header is pedantic C99 and C++"
echo '#include <ddgan/ddgan.h>
int main(void) { return ddgan_version_number() == DDGAN_VERSION_NUMBER ? 0 : 1; }' > "$scratch/c99.c"
"$cc" -std=c99 -pedantic -Wall -Wextra -Werror -I"$incdir" -c "$scratch/c99.c" -o "$scratch/c99.o"
cp "$scratch/c99.c" "$scratch/cxx.cpp"
"$cxx" -std=c++11 -pedantic -Wall -Wextra -Werror -I"$incdir" -c "$scratch/cxx.cpp" -o "$scratch/cxx.o"

echo "== consumer through find_package(ddgan)"
cmake -S "$consumer" -B "$scratch/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="${san_flags[*]:-}" >/dev/null
cmake --build "$scratch/cmake-build" >/dev/null
LD_LIBRARY_PATH="$libdir" "$scratch/cmake-build/consumer"

echo "== consumer through pkg-config"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
flags=$(pkg-config --cflags --libs ddgan)
# shellcheck disable=SC2086
"$cc" -std=c11 "${san_flags[@]}" "$consumer/main.c" $flags -o "$scratch/consumer-pc"
LD_LIBRARY_PATH="$libdir" "$scratch/consumer-pc"
echo "install: all checks passed"
