#!/usr/bin/env bash
# The main job of the README: sets everything up, builds, runs the host-only vCPU analysis
# (sink.vm.sqlite) on the shipped traces, and prints a short summary of each database.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup-debian.sh"
build=${VM_BUILD_DIR:-$top/build}
VM_BUILD_DIR=$build "$top/scripts/build.sh"
out="$build/demo"
mkdir -p "$out"
tar -xJf "$top/traces/lab/basic-host-4s.tar.xz" -C "$out"
bt=(babeltrace2 --omit-home-plugin-path --plugin-path="$build/plugins")

run() {  # name trace
  local db="$out/$1.db"
  echo "### $1: ${2#$top/}"
  echo "\$ babeltrace2 --plugin-path=build/plugins ${2#$top/} -c sink.vm.sqlite -p 'path=\"${db#$top/}\"'"
  "${bt[@]}" "$2" -c sink.vm.sqlite -p "path=\"$db\""
  "$top/scripts/summary.sh" "$db" 3
  echo
}
run lab-basic-host-4s "$out/slice"
run oneqemukvm-host "$top/traces/tc-stubs/OneQemuKvm-lttng/host"
echo "Databases: $out/*.db  (try: sqlite3 $out/lab-basic-host-4s.db 'SELECT * FROM exit_stats')"
