#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets (clang, -DVM_FUZZ=ON), replays the committed findings, then runs
# each target for SECONDS seconds.
#
# usage: tests/fuzz/run.sh SECONDS [TARGET...]
#   TARGET   fuzz_host_analysis fuzz_kernel_model fuzz_fused_cpu_model fuzz_convex_hull fuzz_wake_model
#            fuzz_exec_graph fuzz_host_only_graph
#            (default: all)
#   VM_FUZZ_BUILD_DIR  the build folder (default: build-fuzz)
#   VM_FUZZ_JOBS       parallel build jobs, and targets fuzzed at once (default: 2)
#   VM_FUZZ_INT32      set: ids within the 32-bit range lttng-modules declares (tests/fuzz/fuzz_events.h)
#   VM_FUZZ_SEED       libFuzzer's -seed (default: a random one). With a seed and an empty corpus a
#                      run explores the same inputs in the same order, so a slower machine sees a
#                      prefix of what a longer run with that seed saw: CI uses a fixed seed and a
#                      new crash shows up in a developer's long run first, not as a random CI failure.
# Each target's corpus grows in VM_FUZZ_BUILD_DIR/corpus/TARGET; a crash, leak or slow input (over
# 10 s) leaves its input as VM_FUZZ_BUILD_DIR/crash-TARGET-* (or leak-, timeout-), which
# `build-fuzz/tests/fuzz/TARGET FILE` replays. Exit status 1 when any target found something
# (a committed finding that fails again included).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -ge 1 ] || { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
seconds=$1
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] ||
  targets=(fuzz_host_analysis fuzz_kernel_model fuzz_fused_cpu_model fuzz_convex_hull fuzz_wake_model fuzz_exec_graph fuzz_host_only_graph)
build=${VM_FUZZ_BUILD_DIR:-$top/build-fuzz}
jobs=${VM_FUZZ_JOBS:-2}
CC=clang CXX=clang++ cmake -S "$top" -B "$build" -DVM_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
start=$(date +%s)
cmake --build "$build" -j "$jobs" --target "${targets[@]}" | { grep -E 'error|warning' || true; }
echo "run.sh: built ${#targets[@]} targets in $(($(date +%s) - start)) s"

status=0
# The committed findings (tests/fuzz/findings/TARGET/*): each must now pass.
for target in "${targets[@]}"; do
  inputs=("$top/tests/fuzz/findings/$target"/*)
  [ -e "${inputs[0]}" ] || continue
  if "$build/tests/fuzz/$target" "${inputs[@]}" >"$build/$target.findings.log" 2>&1; then
    echo "run.sh: $target: the ${#inputs[@]} committed findings pass"
  else
    status=1
    echo "run.sh: $target FAILS a committed finding: $build/$target.findings.log"
    grep -E 'ERROR|SUMMARY|runtime error|Running:' "$build/$target.findings.log" | head -5
  fi
done

seed_flag=()
[ -z "${VM_FUZZ_SEED:-}" ] || seed_flag=(-seed="$VM_FUZZ_SEED")
fuzz() {  # TARGET: SECONDS of fuzzing; the verdict on one line
  local target=$1 log="$build/$1.log"
  mkdir -p "$build/corpus/$target"
  if "$build/tests/fuzz/$target" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 ${seed_flag[@]+"${seed_flag[@]}"} \
      -artifact_prefix="$build/crash-$target-" "$build/corpus/$target" >"$log" 2>&1; then
    echo "run.sh: $target: no finding in ${seconds} s ($(awk '/^stat::number_of_executed_units/ {print $2}' "$log") runs," \
      "$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+'), corpus $(ls "$build/corpus/$target" | wc -l) inputs)"
  else
    echo "run.sh: $target FOUND something: $log"
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -5
    return 1
  fi
}
# `jobs` targets at a time.
pids=()
for target in "${targets[@]}"; do
  fuzz "$target" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$jobs" ]; then
    wait "${pids[0]}" || status=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
