#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The test command of the README: sets everything up, builds, and runs every test (unit, graph,
# end-to-end). Needs the shared folder beside the checkout (../shared) or VM_SHARED_DIR.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup-debian.sh"
build=${VM_BUILD_DIR:-$top/build}
shared=${VM_SHARED_DIR:-$top/../shared}
VM_BUILD_DIR=$build "$top/scripts/build.sh" -DVM_SHARED_DIR="$shared" "$@"
cd "$build"
ctest --output-on-failure -j "$(nproc)"
