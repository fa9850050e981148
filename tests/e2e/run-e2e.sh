#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end tests through the real `babeltrace2` CLI: run the plugin as a user would, then
# compare SQL query results with expected rows, and check the bad-input behaviour.
# usage: run-e2e.sh PLUGIN_DIR SOURCE_DIR TEST_DATA_DIR WORK_DIR [CASE...]
# Each case is one ctest test (tests/CMakeLists.txt) and works in its own WORK_DIR/CASE, so
# that cases run in parallel; without CASE, every case runs in turn.
set -uo pipefail
plugin_dir=$1 src=$2 data=$3 work_root=$4
shift 4
bt=(babeltrace2 --omit-home-plugin-path --plugin-path="$plugin_dir")
va=("$src/scripts/vm-analyze" --plugin-dir "$plugin_dir" --quiet)
passed=0 failed=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }
check_eq() {  # name expected actual
  if [ "$2" == "$3" ]; then pass "$1"; else fail "$1"; diff <(echo "$2") <(echo "$3") | head -20; fi
}
expect_error() {  # name output-file expected-text rc (and no database at $db)
  # babeltrace2 wraps cause messages at 80 columns: compare with the lines joined.
  if [ "$4" -ne 0 ] && tr -s ' \n' ' ' <"$2" | grep -qF -- "$3" && [ ! -e "$db" ] && ! ls "$db".tmp-* >/dev/null 2>&1 && ! ls "$(dirname "$db")"/.vm-* >/dev/null 2>&1; then
    pass "$1"
  else fail "$1 (rc=$4)"; grep -vE '^[0-9]{2}-[0-9]{2} ' "$2" | head -30; fi
}

# The host and guest of the lab's basic pair, through filter.vm.fuse (a `run` graph; append the sink).
lab_host="$data/lab/basic/host/kernel" lab_guest="$data/lab/basic/guest/kernel"
fuse_run=(run -c "h:source.ctf.fs" -p "inputs=[\"$lab_host\"]" -c "g:source.ctf.fs" -p "inputs=[\"$lab_guest\"]"
          -c fuse:filter.vm.fuse --connect h:fuse --connect g:fuse --connect fuse:out)

# 1. The `convert` shorthand of the README, on the OneQemuKvm host stub. Expected rows: the
#    Trace Compass oracle, derived in tests/unit/vcpu_tracker_test.cpp.
case_convert_stub() {
  local db="$work/oneqemukvm.db"
  "${bt[@]}" "$src/traces/tc-stubs/OneQemuKvm-lttng/host" -c sink.vm.sqlite -p "path=\"$db\"" 2>"$work/oneqemukvm.err"
  check_eq "convert shorthand: vcpu 0 timeline of the OneQemuKvm host stub" \
"1|4|unknown|
5|40|guest|
45|15|vmm|MSR_WRITE
60|35|guest|
95|5|vmm|MSR_WRITE
100|50|preempted|
150|5|vmm|MSR_WRITE
155|40|guest|
195|15|vmm|MSR_WRITE
210|35|guest|
245|15|vmm|MSR_WRITE
260|35|guest|
295|5|vmm|MSR_WRITE
300|50|preempted|
350|5|vmm|MSR_WRITE" \
  "$(sqlite3 "$db" "SELECT ts, dur, state, exit_reason_name FROM vcpu_state ORDER BY ts")"
}

# 2. Exit counts on the real lab host, against an independent count of the kvm_x86_exit events
#    (babeltrace2's text output and a short script), per vCPU thread and reason.
case_lab_host_exits() {
  local host="$lab_host" db="$work/lab-host.db"
  "${bt[@]}" "$host" -c sink.vm.sqlite -p "path=\"$db\"" 2>"$work/lab-host.err" || fail "lab host run: $(cat "$work/lab-host.err")"
  local expected actual total grep_total
  expected=$(babeltrace2 "$host" | python3 "$src/tests/e2e/count_exits.py")
  actual=$(sqlite3 "$db" "SELECT v.host_tid, e.exit_reason, e.exits FROM exit_stats e JOIN vcpu v USING (machine_id, vcpu_id)
                          ORDER BY v.host_tid, e.exit_reason")
  check_eq "lab host: exit_stats.exits equals the independent count of kvm_x86_exit" "$expected" "$actual"
  total=$(sqlite3 "$db" "SELECT SUM(exits) FROM exit_stats")
  grep_total=$(babeltrace2 "$host" | grep -c 'kvm_x86_exit: ')
  check_eq "lab host: total exits" "$grep_total" "$total"
}

# 3. Bad input: one clear error naming the problem and the fix, and no database.
#    Input problems are caught by scripts/vm-analyze (babeltrace2's own source fails before our
#    sink exists); problems met while reading are reported by the sink itself.
case_bad_input_paths() {
  db="$work/bad.db"
  "${va[@]}" -o "$db" "$work/no-such-trace" >"$work/bad1.out" 2>&1
  expect_error "nonexistent trace path: named, with the fix" "$work/bad1.out" \
    "trace path '$work/no-such-trace' does not exist. Give the folder of an LTTng trace" $?

  mkdir -p "$work/empty-dir"
  "${va[@]}" -o "$db" "$work/empty-dir" >"$work/bad1b.out" 2>&1
  expect_error "folder without a trace: named, with the fix" "$work/bad1b.out" "no CTF trace under '$work/empty-dir'" $?

  "${bt[@]}" "$src/traces/tc-stubs/OneQemuKvm/host" -c sink.vm.sqlite -p 'path="/proc/forbidden/out.db"' >"$work/bad3.out" 2>&1
  expect_error "unwritable output path (babeltrace2 CLI): path, reason and fix" "$work/bad3.out" \
    "the folder \`/proc/forbidden\` of the output path \`/proc/forbidden/out.db\` cannot be used (No such file or directory). Create it first" $?
  "${va[@]}" -o /proc/forbidden/out.db "$src/traces/tc-stubs/OneQemuKvm/host" >"$work/bad3b.out" 2>&1
  expect_error "unwritable output path (vm-analyze)" "$work/bad3b.out" \
    "cannot write the output database '/proc/forbidden/out.db'" $?

  "${bt[@]}" "$src/traces/tc-stubs/OneQemuKvm/host" -c sink.vm.sqlite -p "paht=\"$db\"" >"$work/bad4.out" 2>&1
  expect_error "mistyped parameter: named, with the right one" "$work/bad4.out" \
    "unknown parameter \`paht\`; did you mean \`path\`? (known parameters: path, writer-thread, indexes, critical-path, exec-graph, graph-file)" $?

  "${bt[@]}" "$src/traces/tc-stubs/OneQemuKvm-lttng/host" "$src/traces/tc-stubs/OneQemuKvm-lttng/guest" \
    -c filter.vm.fuse -p 'evidence-dir="/proc/forbidden"' -c sink.vm.sqlite -p "path=\"$db\"" >"$work/bad5.out" 2>&1
  expect_error "unusable evidence-dir: named, with the reason and the fix" "$work/bad5.out" \
    "parameter \`evidence-dir\`: \`/proc/forbidden\` cannot be used: pass 1's guest-matching evidence: cannot create its temporary file in \`/proc/forbidden\`: No such file or directory" $?
}

case_bad_input_truncated() {
  db="$work/bad.db"
  local trunc="$work/truncated"
  cp -r "$lab_host" "$trunc"
  truncate -s 5000000 "$trunc/ch0_0"
  "${va[@]}" -o "$db" "$trunc" >"$work/bad2.out" 2>&1
  expect_error "truncated data stream: the file is named, with the fix" "$work/bad2.out" \
    "the data stream file '$trunc/ch0_0' is truncated or corrupted" $?
}

# Garbage inside a packet: the packet index is fine, decoding fails mid-run, in our sink's graph.
case_bad_input_corrupted() {
  db="$work/bad.db"
  local corrupt="$work/corrupted"
  cp -r "$lab_host" "$corrupt"
  rm -rf "$corrupt/index"
  python3 -c "f = open('$corrupt/ch0_0', 'r+b'); f.seek(2 * 1024 * 1024 + 5000); f.write(b'\\xff' * 4096)"
  "${bt[@]}" "$corrupt" -c sink.vm.sqlite -p "path=\"$db\"" >"$work/bad2b.out" 2>&1
  expect_error "corrupted data stream (decoding fails mid-run): sink says no database, with the fix" "$work/bad2b.out" \
    "failed, so no database was written at \`$db\`" $?
  check_eq "corrupted data stream: the sink names the trace" 1 \
    "$(tr -s ' \n' ' ' <"$work/bad2b.out" | grep -cF 'reading the input trace `tl-host` (stream')"
}

# 4. A trace without KVM events: success, a warning with the lttng command, "no VM" in the database.
case_no_kvm() {
  local db="$work/nokvm.db" rc
  "${bt[@]}" "$data/real/tviz-wget-k-20180802-115406/kernel" -c sink.vm.sqlite -p "path=\"$db\"" >"$work/nokvm.out" 2>&1
  rc=$?
  if [ $rc -eq 0 ] && grep -q "lttng enable-event --kernel 'kvm_x86_\*'" "$work/nokvm.out" &&
     [ "$(sqlite3 "$db" 'SELECT vms_found FROM run')" == "0" ]; then
    pass "trace without KVM events: warning with the lttng command, vms_found = 0"
  else fail "trace without KVM events (rc=$rc)"; cat "$work/nokvm.out"; fi
}

# 5. filter.vm.fuse from the CLI, composed with babeltrace2's own sinks.
case_fuse_sinks() {
  local inputs_total=$((936929 + 249966))  # shared/traces/lab/README.md
  local readback tagged counted pretty
  "${bt[@]}" "${fuse_run[@]}" -c out:sink.ctf.fs -p "path=\"$work/fused-ctf\"" >"$work/fuse-ctf.out" 2>&1 ||
    fail "fuse -> sink.ctf.fs: $(tail -5 "$work/fuse-ctf.out")"
  # One pass (the default) ends each machine's output trace with its vm_sync stream: the pieces of
  # its transform and its learned model (vm_sync_segment, vm_sync_entry events), not trace events.
  local sync_events
  sync_events=$(babeltrace2 "$work/fused-ctf" 2>/dev/null | grep -c ' vm_sync_\(segment\|entry\): ')
  readback=$(babeltrace2 "$work/fused-ctf" 2>/dev/null | grep -vc ' vm_sync_\(segment\|entry\): ')
  check_eq "round trip: fused output written by sink.ctf.fs reads back with every event" "$inputs_total" "$readback"
  check_eq "round trip: the vm_sync streams hold each machine's pieces and learned model" "1" \
    "$(babeltrace2 "$work/fused-ctf" 2>/dev/null | grep -c 'vm_sync_segment: .*vm_machine = "guest-basic"' | awk '{print ($1 > 1)}')"
  tagged=$(babeltrace2 "$work/fused-ctf" 2>/dev/null | grep -m1 'guest-basic' | grep -oE 'vm_machine = "guest-basic", vm_layer = 1, vm_vcpu = [01], vm_pcpu = -?[0-9]+' | wc -l)
  check_eq "round trip: guest events carry vm_machine, vm_layer, vm_vcpu, vm_pcpu" "1" "$tagged"
  counted=$("${bt[@]}" "${fuse_run[@]}" -c out:sink.utils.counter 2>/dev/null | awk '/Event messages/ {n = $1} END {print n}')
  check_eq "fuse -> sink.utils.counter counts every event, and the vm_sync events" "$((inputs_total + sync_events))" "$counted"
  pretty=$("${bt[@]}" "${fuse_run[@]}" -c out:sink.text.pretty 2>/dev/null | grep -vc ' vm_sync_\(segment\|entry\): ')
  check_eq "fuse -> sink.text.pretty prints every event" "$inputs_total" "$pretty"
  # One pass: the transform's pieces travel as vm_sync_segment events of a `vm_sync` stream. Written
  # by sink.ctf.fs and read back by sink.vm.sqlite, they give the same sync_segment rows as the
  # direct run, and they are not counted as trace events.
  local segments="SELECT m.name, seq, from_ts, to_ts, alpha_text, beta_text, accuracy_ns FROM sync_segment s JOIN machine m ON m.id = s.machine ORDER BY m.name, seq"
  "${bt[@]}" "${fuse_run[@]}" -p 'sync-mode="one-pass"' -c out:sink.vm.sqlite -p "path=\"$work/one-pass.db\"" >/dev/null 2>&1
  "${bt[@]}" "${fuse_run[@]}" -p 'sync-mode="one-pass"' -c out:sink.ctf.fs -p "path=\"$work/one-pass-ctf\"" >/dev/null 2>&1
  "${bt[@]}" "$work/one-pass-ctf" -c sink.vm.sqlite -p "path=\"$work/one-pass-readback.db\"" >/dev/null 2>&1
  check_eq "one pass: the guest's transform has pieces (learning after the lead)" "1" \
    "$(sqlite3 "$work/one-pass.db" "SELECT COUNT(*) > 1 FROM sync_segment s JOIN machine m ON m.id = s.machine WHERE m.name = 'guest-basic'")"
  check_eq "one pass round trip through sink.ctf.fs: the same sync_segment rows" \
    "$(sqlite3 "$work/one-pass.db" "$segments")" "$(sqlite3 "$work/one-pass-readback.db" "$segments" 2>&1)"
  check_eq "one pass round trip through sink.ctf.fs: every event, no segment counted as one" "$inputs_total" \
    "$(sqlite3 "$work/one-pass-readback.db" "SELECT SUM(count) FROM event_stat" 2>&1)"
}

# The convert shorthand gives the filter one pre-muxed input: the bounded re-sort gives the
# same synchronization as the run graph.
case_fuse_convert() {
  "${bt[@]}" "${fuse_run[@]}" -c out:sink.vm.sqlite -p "path=\"$work/fused-run.db\"" >/dev/null 2>&1
  "${bt[@]}" "$lab_host" "$lab_guest" -c filter.vm.fuse -c sink.vm.sqlite -p "path=\"$work/fused-convert.db\"" >"$work/convert.out" 2>&1
  local q="SELECT m.name, s.alpha_text, s.beta_text, s.method, s.quality FROM sync s JOIN machine m ON m.id = s.machine ORDER BY m.name"
  check_eq "convert shorthand: same synchronization as the run graph" "$(sqlite3 "$work/fused-run.db" "$q")" \
    "$(sqlite3 "$work/fused-convert.db" "$q" 2>&1)"
}

# sync="FILE": reuse a previous run's synchronization: one pass, the same intervals. The reuse
# takes each machine's transform of table `sync`: for a two-pass run, the one its intervals were
# made with; a one-pass run's intervals follow its pieces (`sync_segment`), which are not reused.
case_fuse_sync_file() {
  "${bt[@]}" "${fuse_run[@]}" -p 'sync-mode="two-pass"' -c out:sink.vm.sqlite -p "path=\"$work/fused-run.db\"" >/dev/null 2>&1
  "${bt[@]}" "${fuse_run[@]}" -p "sync=\"$work/fused-run.db\"" \
    -c out:sink.vm.sqlite -p "path=\"$work/fused-reused.db\"" >"$work/reused.out" 2>&1
  digest() { sqlite3 "$1" "SELECT ts, dur, state, machine_id, vcpu_id FROM vcpu_state ORDER BY ts, machine_id, vcpu_id" | md5sum; }
  check_eq "sync=FILE reuses the previous synchronization: same vcpu_state rows" "$(digest "$work/fused-run.db")" \
    "$(digest "$work/fused-reused.db" 2>&1)"
  check_eq "sync=FILE: the sync table says where the transform came from" "reused from $work/fused-run.db" \
    "$(sqlite3 "$work/fused-reused.db" "SELECT method FROM sync s JOIN machine m ON m.id = s.machine WHERE m.name = 'guest-basic'" 2>&1)"
}

# reference="tl-guest": the guest's clock is the reference; the host gets the inverse transform. The
# parameters name the machines by hostname; the machines are named after their LTTng trace names.
case_fuse_reference() {
  "${bt[@]}" "${fuse_run[@]}" -p 'reference="tl-guest",sync="tl-host=1,-117650000"' \
    -c out:sink.vm.sqlite -p "path=\"$work/reference.db\"" >"$work/reference.out" 2>&1
  check_eq "reference parameter: the named machine is the reference" "host-basic|formula (given) guest-basic|reference" \
    "$(sqlite3 "$work/reference.db" "SELECT GROUP_CONCAT(m.name || '|' || s.method, ' ') FROM sync s JOIN machine m ON m.id = s.machine" 2>&1)"
}

# guest-vm="GUEST=PID": the user links a guest to its VM; sync="MACHINE=ALPHA,BETA": the user's
# transform (here the lab README's offset, 117.65 ms, without drift).
case_fuse_given() {
  "${bt[@]}" "${fuse_run[@]}" -p 'guest-vm="tl-guest=204",sync="tl-guest=1,117650000"' \
    -c out:sink.vm.sqlite -p "path=\"$work/given.db\"" >"$work/given.out" 2>&1
  check_eq "guest-vm and sync formulas: the user's link and transform are used and recorded" \
    "parameter|204|1|117650000|formula (given)" \
    "$(sqlite3 "$work/given.db" "SELECT g.method, g.qemu_pid, s.alpha_text, s.beta_text, s.method FROM guest_match g JOIN sync s ON s.machine = g.machine" 2>&1)"
  db="$work/no-such.db"
  "${bt[@]}" "${fuse_run[@]}" -p 'guest-vm="tl-guest:204"' -c out:sink.utils.dummy >"$work/bad-guest-vm.out" 2>&1
  expect_error "guest-vm with a bad item: named, with the expected form" "$work/bad-guest-vm.out" \
    "parameter \`guest-vm\`: \`tl-guest:204\` is not GUEST=PID" $?
}

# Bad input: the sync table records what happened, and a warning says it.
case_sync_fail() {
  /usr/bin/python3 "$src/scripts/xml2ctf.py" "$src/tests/data/sync-fail/guest.xml" "$work/sync-fail/guest" >/dev/null
  /usr/bin/python3 "$src/scripts/xml2ctf.py" "$src/tests/data/sync-fail/host.xml" "$work/sync-fail/host" >/dev/null
  "${bt[@]}" run -c "h:source.ctf.fs" -p "inputs=[\"$work/sync-fail/host\"]" -c "g:source.ctf.fs" \
    -p "inputs=[\"$work/sync-fail/guest\"]" -c fuse:filter.vm.fuse -c out:sink.vm.sqlite -p "path=\"$work/fail.db\"" \
    --connect h:fuse --connect g:fuse --connect fuse:out >"$work/fail.out" 2>&1
  check_eq "contradictory sync points: quality fail in the sync table" "guest|fail|vmsync" \
    "$(sqlite3 "$work/fail.db" "SELECT m.name, s.quality, s.method FROM sync s JOIN machine m ON m.id = s.machine WHERE m.name = 'guest'")"
}

case_no_host() {
  "${bt[@]}" run -c "g:source.ctf.fs" -p "inputs=[\"$src/traces/tc-stubs/OneQemuKvm/guest\"]" \
    -c "o:source.ctf.fs" -p "inputs=[\"$data/real/tviz-wget-k-20180802-115406/kernel\"]" \
    -c fuse:filter.vm.fuse -c out:sink.vm.sqlite -p "path=\"$work/nohost.db\"" \
    --connect g:fuse --connect o:fuse --connect fuse:out >"$work/nohost.out" 2>&1
  if grep -q "guest trace \`guest\` (vm_uid 123456) has no host among the inputs" "$work/nohost.out" &&
     grep -q "could not be synchronized" "$work/nohost.out" &&
     [ "$(sqlite3 "$work/nohost.db" "SELECT s.quality || '|' || s.method || '|' || s.alpha FROM sync s JOIN machine m ON m.id = s.machine WHERE m.name = 'guest'")" == "absent|none|1.0" ]; then
    pass "guest without its host, machines without sync points: warnings, quality absent, identity kept"
  else fail "guest without its host (see $work/nohost.out)"; grep -v '^[0-9][0-9]-' "$work/nohost.out" | head; fi
}

# Lab container scenario (guest runs an `unshare --pid` container; lttng-modules 2.13 statedump
# layout): the container tables against the vtid/vpid contexts of every guest event. The
# namespace inode is the child_ns_inum of the trace's sched_process_fork of tid 401 (the
# container's init, `babeltrace2 guest/kernel | grep 'child_tid = 401'`).
case_container() {
  local chost="$data/lab/container/host/kernel" cguest="$data/lab/container/guest/kernel"
  "${bt[@]}" run -c "h:source.ctf.fs" -p "inputs=[\"$chost\"]" -c "g:source.ctf.fs" -p "inputs=[\"$cguest\"]" \
    -c fuse:filter.vm.fuse -c out:sink.vm.sqlite -p "path=\"$work/container.db\"" \
    --connect h:fuse --connect g:fuse --connect fuse:out >"$work/container.out" 2>&1
  if /usr/bin/python3 "$src/tests/e2e/check_container_contexts.py" "$work/container.db" "$cguest" guest-container \
      >"$work/container-check.out" 2>&1; then
    pass "lab container: every containerized guest thread has the namespace and vtid/vpid its events carry"
  else fail "lab container (see $work/container-check.out)"; head -12 "$work/container-check.out"; fi
  check_eq "lab container: the unshare namespace is a child of the guest's root namespace" \
    "4026531836||0
4026532224|4026531836|1" \
    "$(sqlite3 "$work/container.db" "SELECT c.ns_inum, c.parent_ns_inum, c.ns_level FROM container c JOIN machine m ON m.id = c.machine_id WHERE m.name = 'guest-container' ORDER BY c.ns_level")"
}

# scripts/summary.sh on the OneQemuKvm host stub alone (a host, no guest trace). Expected values
# from the Trace Compass timeline of case 1: the vCPU tiles 1..355 ns (354 ns); 5 kvm_x86_exit
# (MSR_WRITE) and the hypervisor time of every vmm row, 15+5+5+15+15+5+5 = 65 ns; 2 preemptions
# of 50 ns by tid 30, which the stub names `any`. The run lasts 354 ns: the units are ns.
case_summary_host_only() {
  local db="$work/stub.db" out="$work/summary.out"
  "${bt[@]}" "$src/traces/tc-stubs/OneQemuKvm-lttng/host" -c sink.vm.sqlite -p "path=\"$db\"" 2>"$work/stub.err"
  "$src/scripts/summary.sh" "$db" 3 >"$out" 2>&1 || fail "summary.sh on the host-only stub failed: $(tail -3 "$out")"
  check_eq "summary, host only, tiny trace: the vCPU share in ns" "qemu-tid31  0     52.3   18.4  28.2       0.0   1.1      354" \
    "$(grep -E '^qemu-tid31 +0 +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9]+ *$' "$out" | sed 's/ *$//')"
  check_eq "summary, host only, tiny trace: exits in ns" "MSR_WRITE 5 65 13" \
    "$(grep -E '^qemu-tid31 +0 +MSR_WRITE' "$out" | awk '{print $3, $4, $5, $6}')"
  check_eq "summary, host only, tiny trace: preemptions in ns, by the stub's thread \`any\`" "30 any 2 100" \
    "$(grep -E '^qemu-tid31 +0 +30 ' "$out" | awk '{print $3, $4, $5, $6}')"
  check_eq "summary, host only: the units are named in the headers" "traced_ns vmm_ns avg_ns preempted_ns" \
    "$(grep -oE '\b(traced|vmm|avg|preempted)_(ns|µs|ms|s)\b' "$out" | tr '\n' ' ' | sed 's/ $//')"
  check_eq "summary, host only: the VM's unknown CPU status is explained, with the fuse command" "1 1" \
    "$(grep -c '^  ? on a VM.s rows (status NULL in cpu_state)' "$out") $(grep -c "babeltrace2 HOST_TRACE GUEST_TRACE -c filter.vm.fuse" "$out")"
  check_eq "summary, host only: the guest-thread section says it needs a guest trace" "1" \
    "$(sed -n '/^== Top 3 guest threads/,/^$/p' "$out" | grep -c '(none: needs a guest trace.')"
  check_eq "summary, host only: the container section says a guest's containers need its trace" "1" \
    "$(sed -n '/^== Containers/,$p' "$out" | grep -c 'Containers inside a guest need a guest trace')"
  check_eq "summary, host only: no idle-task note without an idle-task row" "0" "$(grep -c 'swapper (idle)' "$out")"
  # The stub's 5 exits are all MSR_WRITE: no HLT exit, so no halt to explain.
  check_eq "summary, host only: the wake-up section says no vCPU halted" "1" \
    "$(sed -n '/^== Wake-ups/,/^$/p' "$out" | grep -c '(none: no vCPU halted (no HLT exit))')"
}

# scripts/summary.sh on the shipped container slice, host and guest fused: the guest sections
# have rows and no "needs a guest trace"; the vCPU threads waited for idle CPUs (tid 0), and the
# note says what that is. Independent check of the note's claim: every preempted interval charged
# to tid 0 begins at a sched_wakeup, on a CPU whose cpu_state then runs tid 0.
case_summary_fused() {
  local db="$work/fused.db" out="$work/summary.out" host guest
  tar -xJf "$src/traces/lab/container-2s.tar.xz" -C "$work"
  host=$(dirname "$(find "$work/slice-c/host" -name metadata)") guest=$(dirname "$(find "$work/slice-c/guest" -name metadata)")
  "${bt[@]}" "$host" "$guest" -c filter.vm.fuse -c sink.vm.sqlite -p "path=\"$db\"" 2>"$work/fused.err"
  "$src/scripts/summary.sh" "$db" 3 >"$out" 2>&1 || fail "summary.sh on the fused slice failed: $(tail -3 "$out")"
  check_eq "summary, fused: no \"needs a guest trace\", no unexplained ?" "0 0" \
    "$(grep -c 'needs a guest trace' "$out") $(grep -cE '^host-container +[0-9]+ +[^ ]+ +\? ' "$out")"
  # One halt per HLT exit: the wake-up section's halts add up to vcpu_state's HLT exits.
  check_eq "summary, fused: the wake-up section counts every HLT exit" \
    "$(sqlite3 "$db" "SELECT COUNT(*) FROM vcpu_state WHERE begin_event = 'kvm_exit' AND exit_reason_name = 'HLT'")" \
    "$(sed -n '/^== Wake-ups/,/^$/p' "$out" | awk '$1 == "guest-container" {n += $4} END {print n + 0}')"
  check_eq "summary, fused: guest threads and the container are listed" "3 1" \
    "$(sed -n '/^== Top 3 guest threads/,/^$/p' "$out" | grep -c '^guest-container ') $(sed -n '/^== Containers/,$p' "$out" | grep -c '^guest-container  4026532224 ')"
  check_eq "summary, fused: tid 0 is shown as the idle task, and explained as wake-up latency" "2 1" \
    "$(grep -cE '^guest-container +[01] +0 +swapper \(idle\) ' "$out") $(tr -s ' \n' ' ' <"$out" | grep -o 'wake-up latency on an idle CPU' | wc -l)"
  check_eq "summary, fused: every preemption charged to tid 0 is a wait after a wake-up on a CPU running tid 0" "0" \
    "$(sqlite3 "$db" "SELECT COUNT(*) FROM vcpu_state v JOIN machine vm ON vm.id = v.machine_id
                      WHERE v.state = 'preempted' AND v.preempting_tid = 0 AND (v.begin_event != 'sched_wakeup' OR NOT EXISTS (
                        SELECT 1 FROM cpu_state c WHERE c.host_machine_id = vm.parent_id AND c.pcpu = v.pcpu
                          AND c.ts <= v.ts AND v.ts < c.ts + c.dur AND c.tid = 0))")"
}

# scripts/vm-analyze on a data stream with garbage inside a packet: babeltrace2's chain is shown,
# and the last stderr line is our sink's cause, on one line.
case_vm_analyze_cause() {
  db="$work/bad.db"
  local corrupt="$work/corrupted" rc last
  cp -r "$lab_host" "$corrupt"
  rm -rf "$corrupt/index"
  python3 -c "f = open('$corrupt/ch0_0', 'r+b'); f.seek(2 * 1024 * 1024 + 5000); f.write(b'\\xff' * 4096)"
  "${va[@]}" -o "$db" "$corrupt" >"$work/va.out" 2>"$work/va.err"
  rc=$?
  last=$(tail -1 "$work/va.err")
  expect_error "vm-analyze, corrupted data stream: fails, no database" "$work/va.err" "reading the input trace \`tl-host\`" $rc
  check_eq "vm-analyze: the last stderr line is our cause, on one line" \
    "vm-analyze: error: reading the input trace \`tl-host\` (stream N was the last one read) failed, so no database was written at \`$db\`." \
    "$(sed -E 's/\(stream [0-9]+ was/(stream N was/' <<<"${last%%. *}.")"
  check_eq "vm-analyze: babeltrace2's chain comes before it, with source.ctf.fs's causes" "1 1" \
    "$(head -n -1 "$work/va.err" | grep -c '^ERROR: ') $(head -n -1 "$work/va.err" | grep -q "^CAUSED BY \[.*'source.ctf.fs'\]" && echo 1)"
}

# The README's ready-to-paste commands, from "Every command below runs as is" to the parameter
# table of source.vm.scenario, run as written in a copy of a clone's top (the scripts, the
# shipped traces, the built plugin as build/plugins); their /tmp folders are moved into WORK_DIR.
case_readme_commands() {
  local top="$work/top" rc
  mkdir -p "$top/build/plugins"  # babeltrace2 does not follow a symbolic link to a plugin folder: a copy
  ln -s "$src/scripts" "$top/scripts" && ln -s "$src/traces" "$top/traces" &&
    cp "$plugin_dir/babeltrace-plugin-vm.so" "$top/build/plugins/"
  mkdir -p "$top/build/bin" && cp "$plugin_dir/../bin/vm-critical-path" "$top/build/bin/"  # README: critical paths
  python3 - "$src/README.md" "$work" >"$work/readme.sh" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
text = text[text.index("Every command below runs as is"):text.index("`source.vm.scenario` parameters")]
for block in re.findall(r"```sh\n(.*?)```", text, re.S):
    print(block.replace("/tmp/vm-", sys.argv[2] + "/vm-"), end="")
PY
  (cd "$top" && bash -e "$work/readme.sh") >"$work/readme.out" 2>&1
  rc=$?
  check_eq "README: the ready-to-paste commands run as written (see $work/readme.out)" "0" "$rc"
  # VMs: the lab host's QEMU 204 (traces/README.md), the stub's one vCPU thread, the lab guest,
  # and make-scenario.sh's default vms=2 (its nested guest is not visible from the host alone).
  check_eq "README: they write the host, stub, fused and scenario databases" "1|1|1|2" \
    "$(for d in host stub fused scenario; do sqlite3 "$top/$d.db" "SELECT COUNT(*) FROM machine WHERE role = 'guest'" 2>&1; done | paste -sd'|')"
}

# Two guests cloned from one image share a hostname (issue 10, the lab's twovm setup). No shipped
# host trace runs two VMs, so the traces come from source.vm.scenario (a host running vm1 and
# vm2, written by sink.ctf.fs), and both guests' metadata get the hostname `cloud-guest`, as
# clones have; their LTTng trace names (`trace_name`, vm1 and vm2) are kept. Expected: each guest
# is named after its trace name, and linked to the QEMU process of the scenario's truth
# (guest_vm table).
case_twovm_names() {
  local ctf="$work/ctf" truth="$work/truth.sqlite" db="$work/twovm.db" g
  "${bt[@]}" run -c src:source.vm.scenario \
    -p "seed=1,vms=2,pcpus=2,vcpus-per-vm=2,duration-ns=1000000000,truth=\"$truth\"" \
    -c mux:filter.utils.muxer -c out:sink.ctf.fs -p "path=\"$ctf\",quiet=true" -x src:mux -x mux:out \
    >"$work/scenario.out" 2>&1 || fail "twovm: scenario traces: $(tail -5 "$work/scenario.out")"
  for g in vm1 vm2; do sed -i 's/^\thostname = "[^"]*";/\thostname = "cloud-guest";/' "$ctf/$g/metadata"; done
  "${bt[@]}" run -c "h:source.ctf.fs" -p "inputs=[\"$ctf/host\"]" -c "a:source.ctf.fs" -p "inputs=[\"$ctf/vm1\"]" \
    -c "b:source.ctf.fs" -p "inputs=[\"$ctf/vm2\"]" -c fuse:filter.vm.fuse -c out:sink.vm.sqlite -p "path=\"$db\"" \
    --connect h:fuse --connect a:fuse --connect b:fuse --connect fuse:out >"$work/twovm.out" 2>&1 ||
    fail "twovm: fused run: $(tail -5 "$work/twovm.out")"
  check_eq "twovm: both guest traces have the hostname cloud-guest" "cloud-guest|2" \
    "$(sqlite3 "$db" "SELECT hostname, COUNT(*) FROM trace WHERE hostname = 'cloud-guest'" 2>&1)"
  check_eq "twovm: two guests sharing a hostname get their trace names, each linked to its QEMU process (truth)" \
    "$(sqlite3 "$truth" "SELECT guest || '|' || host || '|' || qemu_pid FROM guest_vm WHERE host = 'host' ORDER BY guest")" \
    "$(sqlite3 "$db" "SELECT m.name || '|' || p.name || '|' || g.qemu_pid FROM guest_match g JOIN machine m ON m.id = g.machine JOIN machine p ON p.id = m.parent_id ORDER BY m.name" 2>&1)"
  # guest-vm names each guest by its trace name (the shared hostname would name both).
  local pids
  pids=$(sqlite3 "$truth" "SELECT GROUP_CONCAT(guest || '=' || qemu_pid, ',') FROM guest_vm WHERE host = 'host'")
  "${bt[@]}" run -c "h:source.ctf.fs" -p "inputs=[\"$ctf/host\"]" -c "a:source.ctf.fs" -p "inputs=[\"$ctf/vm1\"]" \
    -c "b:source.ctf.fs" -p "inputs=[\"$ctf/vm2\"]" -c fuse:filter.vm.fuse -p "guest-vm=\"$pids\"" \
    -c out:sink.vm.sqlite -p "path=\"$work/given.db\"" \
    --connect h:fuse --connect a:fuse --connect b:fuse --connect fuse:out >"$work/given.out" 2>&1 ||
    fail "twovm: guest-vm run: $(tail -5 "$work/given.out")"
  check_eq "twovm: guest-vm=\"$pids\" links each guest by its trace name" \
    "$(sqlite3 "$truth" "SELECT guest || '|parameter|' || qemu_pid FROM guest_vm WHERE host = 'host' ORDER BY guest")" \
    "$(sqlite3 "$work/given.db" "SELECT m.name || '|' || g.method || '|' || g.qemu_pid FROM guest_match g JOIN machine m ON m.id = g.machine ORDER BY m.name" 2>&1)"
}

all_cases=(convert-stub lab-host-exits bad-input-paths bad-input-truncated bad-input-corrupted no-kvm fuse-sinks
           fuse-convert fuse-sync-file fuse-reference fuse-given sync-fail no-host container summary-host-only
           summary-fused vm-analyze-cause readme-commands twovm-names)
[ $# -gt 0 ] || set -- "${all_cases[@]}"
for name in "$@"; do
  if ! declare -F "case_${name//-/_}" >/dev/null; then
    fail "unknown case \`$name\` (cases: ${all_cases[*]})"
    continue
  fi
  work="$work_root/$name"
  rm -rf "$work" && mkdir -p "$work"
  "case_${name//-/_}"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
