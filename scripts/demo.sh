#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
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

run() {  # name trace [note]
  local db="$out/$1.db"
  echo "### $1: ${2#$top/}"
  [ -z "${3:-}" ] || echo "$3" | fold -s -w 98 | sed 's/ *$//'
  echo "\$ babeltrace2 --plugin-path=build/plugins ${2#$top/} -c sink.vm.sqlite -p 'path=\"${db#$top/}\"'"
  "${bt[@]}" "$2" -c sink.vm.sqlite -p "path=\"$db\""
  "$top/scripts/summary.sh" "$db" 3
  echo
}
# A host and its guest, fused: one source per trace into filter.vm.fuse, then sink.vm.sqlite.
fused() {  # name host guest
  local db="$out/$1.db"
  echo "### $1: ${2#$out/} + ${3#$out/} (fused)"
  echo "\$ babeltrace2 --plugin-path=build/plugins run -c host:source.ctf.fs -p 'inputs=[\"${2#$top/}\"]'" \
    "-c guest:source.ctf.fs -p 'inputs=[\"${3#$top/}\"]' -c fuse:filter.vm.fuse -c out:sink.vm.sqlite" \
    "-p 'path=\"${db#$top/}\",exec-graph=true' --connect host:fuse --connect guest:fuse --connect fuse:out"
  "${bt[@]}" run -c host:source.ctf.fs -p "inputs=[\"$2\"]" -c guest:source.ctf.fs -p "inputs=[\"$3\"]" \
    -c fuse:filter.vm.fuse -c out:sink.vm.sqlite -p "path=\"$db\",exec-graph=true" --connect host:fuse --connect guest:fuse \
    --connect fuse:out
  "$top/scripts/summary.sh" "$db" 3
  echo
}
fused lab-container-2s "$(dirname "$(find "$out/slice-c/host" -name metadata)")" \
  "$(dirname "$(find "$out/slice-c/guest" -name metadata)")"
# The critical path of the guest thread that lost the most time to the host (its vCPU preempted
# or in the hypervisor while it ran), computed from the stored execution graph alone.
critical() {  # name
  local db="$out/$1.db" sel
  sel=$(sqlite3 "$db" "SELECT m.name || '/' || d.tid FROM thread_delay d JOIN machine m ON m.id = d.machine_id
                       WHERE m.layer >= 1 AND d.tid > 0 ORDER BY d.vcpu_preempted_ns + d.vmm_ns DESC LIMIT 1")
  echo "### $1: the critical path of $sel, the guest thread that lost the most time to the host"
  echo "\$ build/bin/vm-critical-path ${db#$top/} $sel"
  "$build/bin/vm-critical-path" "$db" "$sel"
  sqlite3 -header -column "$db" "
    SELECT p.tid, p.name, m.name AS machine, b.state, b.segments, ROUND(b.dur / 1e6, 2) AS ms, b.percent
    FROM critical_path_by_machine b JOIN critical_path p ON p.id = b.path_id JOIN machine m ON m.id = b.machine_id
    ORDER BY b.dur DESC LIMIT 8"
  echo
}
critical lab-container-2s
run lab-basic-host-4s "$out/slice"
run oneqemukvm-host "$top/traces/tc-stubs/OneQemuKvm-lttng/host" \
  "Trace Compass's OneQemuKvm stub, a test trace (traces/tc-stubs/README.md): 22 events with timestamps\
 of 1 to 355 ns, so the summary counts in ns. Its host threads are tid 31 'qemucpu1', the vCPU thread,\
 and tid 30, which the stub names 'any'. Its events carry no pid context, so the VM is named after\
 the vCPU thread: qemu-tid31. The expected intervals are Trace Compass's (tests/e2e/run-e2e.sh)."
echo "Databases: $out/*.db  (try: sqlite3 $out/lab-container-2s.db 'SELECT * FROM thread_delay LIMIT 5';"
echo "more questions and their queries: docs/sql-cookbook.md)"
