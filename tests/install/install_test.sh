#!/usr/bin/env bash
# Installs the build into a scratch prefix, then builds and runs a consumer program found
# through find_package(usnet) and, separately, through pkg-config.
set -euo pipefail
build_dir=$1
src_dir=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cmake --install "$build_dir" --prefix "$scratch/prefix" >/dev/null
cmake -S "$src_dir/consumer" -B "$scratch/cmake-build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$scratch/prefix" >/dev/null
cmake --build "$scratch/cmake-build" >/dev/null
"$scratch/cmake-build/consumer"
export PKG_CONFIG_PATH="$scratch/prefix/lib/pkgconfig:$scratch/prefix/lib/x86_64-linux-gnu/pkgconfig"
# shellcheck disable=SC2046
c++ -std=c++20 "$src_dir/consumer/main.cpp" -o "$scratch/pc-consumer" \
  $(pkg-config --cflags --libs --static usnet)
"$scratch/pc-consumer"
echo "install test: find_package and pkg-config consumers both work"
