#!/usr/bin/env bash
# The main job of the README: sets everything up, builds, runs the analyses on the shipped
# traces (a KVM host fused with its guest, a host alone, Trace Compass's stub), and prints a
# short summary of each database.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup-debian.sh"
build=${VM_BUILD_DIR:-$top/build}
VM_BUILD_DIR=$build "$top/scripts/build.sh"
out="$build/demo"
mkdir -p "$out"
tar -xJf "$top/traces/lab/basic-host-4s.tar.xz" -C "$out"
tar -xJf "$top/traces/lab/container-2s.tar.xz" -C "$out"
bt=(babeltrace2 --omit-home-plugin-path --plugin-path="$build/plugins")

run() {  # name trace
  local db="$out/$1.db"
  echo "### $1: ${2#$top/}"
  echo "\$ babeltrace2 --plugin-path=build/plugins ${2#$top/} -c sink.vm.sqlite -p 'path=\"${db#$top/}\"'"
  "${bt[@]}" "$2" -c sink.vm.sqlite -p "path=\"$db\""
  "$top/scripts/summary.sh" "$db" 3
  echo
}
# A host and its guest, fused: one source per trace into filter.vm.fuse, then sink.vm.sqlite.
fused() {  # name host guest
  local db="$out/$1.db"
  echo "### $1: ${2#$out/} + ${3#$out/} (fused)"
  echo "\$ babeltrace2 --plugin-path=build/plugins run -c host:source.ctf.fs -p 'inputs=[\"HOST\"]'" \
    "-c guest:source.ctf.fs -p 'inputs=[\"GUEST\"]' -c fuse:filter.vm.fuse -c out:sink.vm.sqlite" \
    "-p 'path=\"${db#$top/}\"' --connect host:fuse --connect guest:fuse --connect fuse:out"
  "${bt[@]}" run -c host:source.ctf.fs -p "inputs=[\"$2\"]" -c guest:source.ctf.fs -p "inputs=[\"$3\"]" \
    -c fuse:filter.vm.fuse -c out:sink.vm.sqlite -p "path=\"$db\"" --connect host:fuse --connect guest:fuse \
    --connect fuse:out
  "$top/scripts/summary.sh" "$db" 3
  echo
}
fused lab-container-2s "$(dirname "$(find "$out/slice-c/host" -name metadata)")" \
  "$(dirname "$(find "$out/slice-c/guest" -name metadata)")"
run lab-basic-host-4s "$out/slice"
run oneqemukvm-host "$top/traces/tc-stubs/OneQemuKvm-lttng/host"
echo "Databases: $out/*.db  (try: sqlite3 $out/lab-container-2s.db 'SELECT * FROM thread_delay LIMIT 5';"
echo "more questions and their queries: docs/sql-cookbook.md)"
