#!/usr/bin/env bash
# End-to-end tests through the real `babeltrace2` CLI: run the plugin as a user would, then
# compare SQL query results with expected rows, and check the bad-input behaviour.
# usage: run-e2e.sh PLUGIN_DIR SOURCE_DIR TEST_DATA_DIR WORK_DIR
set -uo pipefail
plugin_dir=$1 src=$2 data=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
bt=(babeltrace2 --omit-home-plugin-path --plugin-path="$plugin_dir")
passed=0 failed=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }
check_eq() {  # name expected actual
  if [ "$2" == "$3" ]; then pass "$1"; else fail "$1"; diff <(echo "$2") <(echo "$3") | head -20; fi
}

# 1. The `convert` shorthand of the README, on the OneQemuKvm host stub. Expected rows: the
#    Trace Compass oracle, derived in tests/unit/vcpu_tracker_test.cpp.
db="$work/oneqemukvm.db"
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

# 2. Exit counts on the real lab host, against an independent count of the kvm_x86_exit events
#    (babeltrace2's text output and a short script), per vCPU thread and reason.
host="$data/lab/basic/host/kernel"
db="$work/lab-host.db"
"${bt[@]}" "$host" -c sink.vm.sqlite -p "path=\"$db\"" 2>"$work/lab-host.err" || fail "lab host run: $(cat "$work/lab-host.err")"
expected=$(babeltrace2 "$host" | python3 "$src/tests/e2e/count_exits.py")
actual=$(sqlite3 "$db" "SELECT v.host_tid, e.exit_reason, e.exits FROM exit_stats e JOIN vcpu v USING (machine_id, vcpu_id)
                        ORDER BY v.host_tid, e.exit_reason")
check_eq "lab host: exit_stats.exits equals the independent count of kvm_x86_exit" "$expected" "$actual"
total=$(sqlite3 "$db" "SELECT SUM(exits) FROM exit_stats")
grep_total=$(babeltrace2 "$host" | grep -c 'kvm_x86_exit: ')
check_eq "lab host: total exits" "$grep_total" "$total"

# 3. Bad input: one clear error naming the problem and the fix, and no database.
#    Input problems are caught by scripts/vm-analyze (babeltrace2's own source fails before our
#    sink exists); problems met while reading are reported by the sink itself.
va=("$src/scripts/vm-analyze" --plugin-dir "$plugin_dir" --quiet)
db="$work/bad.db"
expect_error() {  # name output-file expected-text rc
  # babeltrace2 wraps cause messages at 80 columns: compare with the lines joined.
  if [ "$4" -ne 0 ] && tr -s ' \n' ' ' <"$2" | grep -qF -- "$3" && [ ! -e "$db" ] && ! ls "$db".tmp-* >/dev/null 2>&1; then
    pass "$1"
  else fail "$1 (rc=$4)"; grep -vE '^[0-9]{2}-[0-9]{2} ' "$2" | head -30; fi
}

"${va[@]}" -o "$db" "$work/no-such-trace" >"$work/bad1.out" 2>&1
expect_error "nonexistent trace path: named, with the fix" "$work/bad1.out" \
  "trace path '$work/no-such-trace' does not exist. Give the folder of an LTTng trace" $?

mkdir -p "$work/empty-dir"
"${va[@]}" -o "$db" "$work/empty-dir" >"$work/bad1b.out" 2>&1
expect_error "folder without a trace: named, with the fix" "$work/bad1b.out" "no CTF trace under '$work/empty-dir'" $?

trunc="$work/truncated"
cp -r "$data/lab/basic/host/kernel" "$trunc"
truncate -s 5000000 "$trunc/ch0_0"
"${va[@]}" -o "$db" "$trunc" >"$work/bad2.out" 2>&1
expect_error "truncated data stream: the file is named, with the fix" "$work/bad2.out" \
  "the data stream file '$trunc/ch0_0' is truncated or corrupted" $?

# Garbage inside a packet: the packet index is fine, decoding fails mid-run, in our sink's graph.
corrupt="$work/corrupted"
cp -r "$data/lab/basic/host/kernel" "$corrupt"
rm -rf "$corrupt/index"
python3 -c "f = open('$corrupt/ch0_0', 'r+b'); f.seek(2 * 1024 * 1024 + 5000); f.write(b'\\xff' * 4096)"
"${bt[@]}" "$corrupt" -c sink.vm.sqlite -p "path=\"$db\"" >"$work/bad2b.out" 2>&1
expect_error "corrupted data stream (decoding fails mid-run): sink says no database, with the fix" "$work/bad2b.out" \
  "reading the input trace failed, so no database was written at \`$db\`" $?

"${bt[@]}" "$src/traces/tc-stubs/OneQemuKvm/host" -c sink.vm.sqlite -p 'path="/proc/forbidden/out.db"' >"$work/bad3.out" 2>&1
expect_error "unwritable output path (babeltrace2 CLI): path, reason and fix" "$work/bad3.out" \
  "cannot write the output database \`/proc/forbidden/out.db\`: No such file or directory. Give a path in an existing, writable directory" $?
"${va[@]}" -o /proc/forbidden/out.db "$src/traces/tc-stubs/OneQemuKvm/host" >"$work/bad3b.out" 2>&1
expect_error "unwritable output path (vm-analyze)" "$work/bad3b.out" \
  "cannot write the output database '/proc/forbidden/out.db'" $?

"${bt[@]}" "$src/traces/tc-stubs/OneQemuKvm/host" -c sink.vm.sqlite -p "paht=\"$db\"" >"$work/bad4.out" 2>&1
expect_error "mistyped parameter: named, with the right one" "$work/bad4.out" \
  "unknown parameter \`paht\`; did you mean \`path\`? (known parameters: path)" $?

# 4. A trace without KVM events: success, a warning with the lttng command, "no VM" in the database.
db="$work/nokvm.db"
"${bt[@]}" "$data/real/tviz-wget-k-20180802-115406/kernel" -c sink.vm.sqlite -p "path=\"$db\"" >"$work/nokvm.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q "lttng enable-event --kernel 'kvm_x86_\*'" "$work/nokvm.out" &&
   [ "$(sqlite3 "$db" 'SELECT vms_found FROM run')" == "0" ]; then
  pass "trace without KVM events: warning with the lttng command, vms_found = 0"
else fail "trace without KVM events (rc=$rc)"; cat "$work/nokvm.out"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
