#!/usr/bin/env bash
# Installs the build into a scratch prefix, checks what the shared library exports, then
# builds a C and a C++ consumer each four ways (find_package with usnet::usnet and with
# usnet::usnet_static; pkg-config with usnet, usnet-static, and `--static` in a prefix that
# holds only the archive) and runs every one: a UDP datagram over usnet's loopback, checked.
set -euo pipefail
build_dir=$1
src_dir=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
prefix=$scratch/prefix
CC=${CC:-cc}
CXX=${CXX:-c++}
fail() {
  echo "install test: FAILED: $*" >&2
  exit 1
}

cmake --install "$build_dir" --prefix "$prefix" >/dev/null
pcdir=$(dirname "$(find "$prefix" -name usnet.pc)")
libdir=$(dirname "$pcdir")

# The shared library: its SONAME, and exactly the C API the archive defines, nothing else
# (no C++ internals, no fmt, no libstdc++ instantiations).
readelf -d "$libdir/libusnet.so" | grep -q 'Library soname: \[libusnet.so.0\]' ||
  fail "libusnet.so has no SONAME libusnet.so.0"
nm -D --defined-only "$libdir/libusnet.so" >"$scratch/dynsym"
if awk '!($2 == "A" && $3 == "USNET_0") && $3 !~ /^usnet_/' "$scratch/dynsym" | grep .; then
  fail "libusnet.so exports the symbols above, outside the C API"
fi
awk '$2 == "T" {sub(/@.*/, "", $3); print $3}' "$scratch/dynsym" | sort -u >"$scratch/exported"
nm -g --defined-only "$libdir/libusnet.a" 2>/dev/null |
  awk '$2 == "T" && $3 ~ /^usnet_/ {print $3}' | sort -u >"$scratch/api"
diff "$scratch/api" "$scratch/exported" >&2 ||
  fail "the C API in libusnet.a (<) and the exports of libusnet.so (>) differ"
echo "install test: libusnet.so.0 exports the $(wc -l <"$scratch/api") functions of the C API only"

# Runs a consumer (bounded in time) and checks whether it loads libusnet.so.0.
check() {
  local exe=$1 linkage=$2
  if readelf -d "$exe" | grep -q 'NEEDED.*libusnet\.so'; then
    [[ $linkage == shared ]] || fail "$exe should not need libusnet.so"
  else
    [[ $linkage == static ]] || fail "$exe does not load libusnet.so"
  fi
  timeout 30 "$exe" || fail "$exe exited with status $?"
  echo "install test: $(basename "$exe") ($linkage) ok"
}

# find_package(usnet): a C-only project and a C++ project.
for lang in c cxx; do
  cmake -S "$src_dir/$lang" -B "$scratch/cmake-$lang" -G Ninja \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$scratch/cmake-$lang" >/dev/null
  check "$scratch/cmake-$lang/${lang}_shared" shared
  check "$scratch/cmake-$lang/${lang}_static" static
done

# pkg-config, as the README shows: the shared library (an rpath for the scratch prefix, where
# the loader does not look), the archive by name, and `--static` where only the archive is.
strict=(-O3 -Wall -Wextra -Wpedantic -Werror)
static_only=$scratch/static-prefix
cp -a "$prefix" "$static_only"
rm "$static_only/${libdir#"$prefix/"}"/libusnet.so*
build_pc() {
  local out=$1 pcpath=$2
  shift 2
  # shellcheck disable=SC2046
  PKG_CONFIG_PATH=$pcpath "$@" -o "$out" $(PKG_CONFIG_PATH=$pcpath pkg-config "${pc_args[@]}")
}
for lang in c cxx; do
  if [[ $lang == c ]]; then
    compile=("$CC" -std=c11 "${strict[@]}" "$src_dir/c/main.c")
  else
    compile=("$CXX" -std=c++20 "${strict[@]}" "$src_dir/cxx/main.cpp")
  fi
  pc_args=(--cflags --libs usnet)
  build_pc "$scratch/pc-$lang-shared" "$pcdir" "${compile[@]}" -Wl,-rpath,"$libdir"
  check "$scratch/pc-$lang-shared" shared
  pc_args=(--cflags --libs usnet-static)
  build_pc "$scratch/pc-$lang-static" "$pcdir" "${compile[@]}"
  check "$scratch/pc-$lang-static" static
  pc_args=(--cflags --libs --static usnet)
  build_pc "$scratch/pc-$lang-static-only" "${static_only}/${pcdir#"$prefix/"}" "${compile[@]}"
  check "$scratch/pc-$lang-static-only" static
done
echo "install test: C and C++ consumers work with find_package and pkg-config, shared and static"
