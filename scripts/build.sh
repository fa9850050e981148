#!/usr/bin/env bash
# Configures and builds the project into a build folder (default: build/). Extra arguments go
# to CMake's configure step, e.g. -DCMAKE_BUILD_TYPE=Debug.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${VM_BUILD_DIR:-$top/build}
cmake -S "$top" -B "$build" -DVM_WERROR=ON "$@" >/dev/null
cmake --build "$build" -j "$(nproc)" 2>&1 | grep -vE '^\[ *[0-9]+%\]|^-- ' || true
test -f "$build/plugins/babeltrace-plugin-vm.so"
