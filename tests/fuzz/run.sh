#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets (clang, -DVM_FUZZ=ON) and runs each for SECONDS seconds.
#
# usage: tests/fuzz/run.sh SECONDS [TARGET...]
#   TARGET   fuzz_host_analysis fuzz_kernel_model fuzz_fused_cpu_model fuzz_convex_hull (default: all)
#   VM_FUZZ_BUILD_DIR  the build folder (default: build-fuzz)
#   VM_FUZZ_JOBS       parallel build jobs (default: 2)
#   VM_FUZZ_INT32      set: ids within the 32-bit range lttng-modules declares (tests/fuzz/fuzz_events.h)
# Each target's corpus grows in VM_FUZZ_BUILD_DIR/corpus/TARGET; a crash leaves its input as
# VM_FUZZ_BUILD_DIR/crash-TARGET-*, which `build-fuzz/tests/fuzz/TARGET FILE` replays. Exit
# status 1 when any target found something.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -ge 1 ] || { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
seconds=$1
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_host_analysis fuzz_kernel_model fuzz_fused_cpu_model fuzz_convex_hull)
build=${VM_FUZZ_BUILD_DIR:-$top/build-fuzz}
CC=clang CXX=clang++ cmake -S "$top" -B "$build" -DVM_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
start=$(date +%s)
cmake --build "$build" -j "${VM_FUZZ_JOBS:-2}" --target "${targets[@]}" | { grep -E 'error|warning' || true; }
echo "run.sh: built ${#targets[@]} targets in $(($(date +%s) - start)) s"
status=0
for target in "${targets[@]}"; do
  mkdir -p "$build/corpus/$target"
  if "$build/tests/fuzz/$target" -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="$build/crash-$target-" "$build/corpus/$target" >"$build/$target.log" 2>&1; then
    echo "run.sh: $target: no finding in ${seconds} s ($(grep -E '^stat::number_of_executed_units' "$build/$target.log" | awk '{print $2}') runs, corpus $(ls "$build/corpus/$target" | wc -l) inputs)"
  else
    status=1
    echo "run.sh: $target FOUND something: $build/$target.log"
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$build/$target.log" | head -5
  fi
done
exit $status
