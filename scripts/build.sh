#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Configures and builds the project into a build folder (default: build/). Extra arguments go
# to CMake's configure step, e.g. -DCMAKE_BUILD_TYPE=Debug. The build's progress lines are
# filtered out; warnings and errors are shown, and a failed build fails this script.
# Environment: VM_BUILD_DIR (the build folder), VM_BUILD_JOBS (parallel jobs, default: nproc).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${VM_BUILD_DIR:-$top/build}
cmake -S "$top" -B "$build" -DVM_WERROR=ON "$@" >/dev/null
# `grep -v` fails when it has nothing to print (a clean build): only cmake's status counts.
if ! cmake --build "$build" -j "${VM_BUILD_JOBS:-$(nproc)}" 2>&1 | { grep -vE '^\[ *[0-9]+%\]|^-- ' || true; }; then
  echo "build.sh: the build failed (the compiler's errors are above)" >&2
  exit 1
fi
if [ ! -f "$build/plugins/babeltrace-plugin-vm.so" ]; then
  echo "build.sh: the build finished but $build/plugins/babeltrace-plugin-vm.so is missing" >&2
  exit 1
fi
