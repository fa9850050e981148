#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The host-only analysis of a source.vm.scenario trace against the scenario's truth: every halt
(vcpu_halt) and every vCPU's guest_layer (vcpu_state), from the host's trace alone.

usage: scenario_truth.py PLUGIN_DIR SOURCE_DIR WORK_DIR CASE
  CASE truth: the scenario with `wake-causes` (timer, reschedule IPIs, paravirtual kicks, disk
              and net interrupts signalled by named host threads) and `nested-events` (vm1 runs
              vm1-l2: nested entries, exits handled by L0 or reflected to L1), new naming; the
              host trace through sink.vm.sqlite, compared with the truth:
              - vcpu_halt: the analysis's rows of the host's VMs equal the truth's, every column
                of the truth (ts, dur, vCPU, slept, wake_vector, wake_reason, waker_tid, waker VM
                and vCPU, device); only a halt still open at the end of the trace (the analysis's
                last row of a vCPU, `unknown`) is not in the truth;
              - vcpu_state: per vCPU of the host's VMs, from the first KVM event of its thread to
                the end, the (state, guest_layer, nested_exit_to) intervals equal the truth's.
       old-naming: the same scenario also written in the pre-2.7.2 naming (kvm_entry, kvm_exit,
              kvm_inj_virq, kvm_apic_ipi, kvm_apic_accept_irq, kvm_nested_vmrun,
              kvm_nested_vmexit, kvm_nested_vmexit_inject): both traces give the same vcpu_halt
              and vcpu_state rows, and both equal the truth.
       requests: the `requests` scenario (critical_path_truth.py's parameters: request threads, the
              host disk's I/O thread signalling vm1's and vm2's disk interrupts, no nesting): the
              same comparisons, without the nested guest.
A sanitizer-built plugin runs with its runtimes preloaded; a sanitizer report fails the test.
"""
import os
import re
import sqlite3
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "params"), os.path.join(HERE, "..", "scale")]
from bt_cli import babeltrace2  # noqa: E402
from compare import clip, merge  # noqa: E402  (the scale test's interval helpers)

PARAMS = ("seed=7,vms=2,pcpus=2,vcpus-per-vm=2,nested=true,nested-vcpus=1,guest-threads=4,"
          "wake-causes=true,nested-events=true,disk-irq-rate=300,net-irq-rate=200,drift-ppm=0")
REQUESTS = ("seed=3,vms=2,pcpus=2,vcpus-per-vm=2,guest-threads=3,host-threads=1,wake-causes=true,"
            "requests=true,net-irq-rate=100,drift-ppm=0")
EVENTS = int(os.environ.get("VM_SCENARIO_TRUTH_EVENTS", "200000"))
SHOW = 5


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0 or re.search(r"AddressSanitizer|LeakSanitizer|runtime error:", r.stderr):
        sys.stderr.write(r.stderr[-4000:])
        raise SystemExit(f"FAIL: {' '.join(cmd[:8])} ... exited {r.returncode}")
    return r


def generate(bt, work, params, with_truth):
    """Writes the scenario's host trace as CTF (and the truth); returns the analysed database."""
    os.makedirs(work, exist_ok=True)
    ctf = os.path.join(work, "ctf")
    truth = os.path.join(work, "truth.sqlite")
    db = os.path.join(work, "analysis.db")
    subprocess.run(["rm", "-rf", ctf, truth, db], check=True)
    extra = f',truth="{truth}"' if with_truth else ""
    run(bt + ["run", "--component=src:source.vm.scenario", f"--params={params},events={EVENTS}{extra}",
              "--component=mux:filter.utils.muxer", "--component=out:sink.ctf.fs",
              f'--params=path="{ctf}",quiet=true', "--connect=src:mux", "--connect=mux:out"])
    run(bt + [os.path.join(ctf, "host"), "-c", "sink.vm.sqlite", "-p", f'path="{db}"'])
    return db


def compare_with_truth(truth_path, db_path, label, nested=True):
    truth, got = sqlite3.connect(truth_path), sqlite3.connect(db_path)
    failures = []
    end = int(truth.execute("SELECT value FROM scenario WHERE key='end-ns'").fetchone()[0])
    ids = {name: mid for mid, name in got.execute("SELECT id, name FROM machine")}
    # The host's VMs, named qemu-PID from the host's trace alone.
    vms = {vm: ids.get(f"qemu-{pid}") for vm, pid in
           truth.execute("SELECT name, qemu_pid FROM machine WHERE parent = 'host'")}
    names = {mid: vm for vm, mid in vms.items()}

    # ---- vcpu_halt
    counts = {}
    for vm, mid in sorted(vms.items()):
        if mid is None:
            failures.append(f"vcpu_halt: no machine qemu-PID for {vm} in the analysis")
            continue
        expected = [tuple(r) for r in truth.execute(
            "SELECT ts, dur, vcpu_id, slept, wake_vector, wake_reason, waker_tid, waker_vm, waker_vcpu_id, device "
            "FROM vcpu_halt WHERE vm = ? ORDER BY vcpu_id, ts", (vm,))]
        analysed = [r[:7] + (names.get(r[7], r[7]),) + r[8:] for r in got.execute(
            "SELECT ts, dur, vcpu_id, slept, wake_vector, wake_reason, waker_tid, waker_machine_id, waker_vcpu_id, "
            "device FROM vcpu_halt WHERE machine_id = ? ORDER BY vcpu_id, ts", (mid,))]
        # A halt still open when the trace ends: the analysis's last row of its vCPU, `unknown`.
        last = {}
        for r in analysed:
            last[r[2]] = r
        still_open = [r for r in last.values() if r[5] == "unknown" and r[0] + r[1] >= max(
            (e[0] + e[1] for e in expected if e[2] == r[2]), default=0)]
        analysed = [r for r in analysed if r not in still_open]
        missing = sorted(set(expected) - set(analysed))
        extra = sorted(set(analysed) - set(expected))
        for r in expected:
            key = (r[5], r[3])
            counts[key] = counts.get(key, 0) + 1
        line = (f"vcpu_halt {vm}: {len(expected)} true halts, {len(analysed)} analysed "
                f"(+{len(still_open)} open at the end)")
        if missing or extra or len(expected) != len(analysed):
            failures.append(f"{line}; missing {missing[:SHOW]}; unexpected {extra[:SHOW]}")
        else:
            print(f"{label}: {line}, equal")
    by_reason = {}
    for (reason, slept), n in sorted(counts.items()):
        by_reason.setdefault(reason, [0, 0])[0 if slept else 1] += n
    print(f"{label}: halts per wake_reason (slept, not slept): "
          + ", ".join(f"{reason} {a}+{b}" for reason, (a, b) in sorted(by_reason.items())))
    for reason in ("timer", "ipi", "disk", "net", "none"):
        if reason not in by_reason:
            failures.append(f"vcpu_halt: the scenario has no halt woken by `{reason}`: the test shows nothing")

    # ---- vcpu_state: state, guest_layer, nested_exit_to
    compared = rows = layer2 = 0
    for vm, vcpu_id, first_kvm in truth.execute(
            "SELECT v.vm, v.vcpu_id, v.first_kvm_ts FROM vcpu v JOIN machine m ON m.name = v.vm "
            "WHERE m.parent = 'host' ORDER BY v.vm, v.vcpu_id"):
        mid = vms.get(vm)
        sql = "SELECT ts, dur, state, guest_layer, nested_exit_to FROM vcpu_state WHERE {} = ? AND vcpu_id = ? ORDER BY ts"
        analysed = got.execute(sql.format("machine_id"), (mid, vcpu_id)).fetchall()
        expected = truth.execute(sql.format("vm"), (vm, vcpu_id)).fetchall()
        stop = min(end, max((r[0] + r[1] for r in analysed), default=0))
        a = merge(clip([(r[0], r[1], tuple(r[2:])) for r in analysed], first_kvm, stop))
        e = merge(clip([(r[0], r[1], tuple(r[2:])) for r in expected], first_kvm, stop))
        compared += 1
        rows += len(e)
        layer2 += sum(1 for r in e if r[2][1] == 2)
        if a != e:
            first = next(k for k in range(max(len(a), len(e))) if k >= len(a) or k >= len(e) or a[k] != e[k])
            failures.append(f"vcpu_state {vm} vCPU {vcpu_id}: {len(e)} true intervals, {len(a)} analysed; first "
                            f"difference #{first}: expected {e[first:first + 3]}, got {a[first:first + 3]}")
    print(f"{label}: vcpu_state: {compared} vCPUs, {rows} true (state, guest_layer, nested_exit_to) intervals "
          f"compared, {layer2} of them in layer 2")
    if layer2 == 0 and nested:
        failures.append("vcpu_state: no interval in layer 2: the nested guest was not seen")
    return failures


def rows_of(db_path):
    db = sqlite3.connect(db_path)
    halts = db.execute("SELECT m.name, h.* FROM vcpu_halt h JOIN machine m ON m.id = h.machine_id").fetchall()
    states = db.execute("SELECT m.name, s.* FROM vcpu_state s JOIN machine m ON m.id = s.machine_id").fetchall()
    return sorted(halts, key=repr), sorted(states, key=repr)


def main():
    plugin_dir, _src, work, case = sys.argv[1:5]
    bt = babeltrace2(plugin_dir)
    failures = []
    if case == "requests":
        db = generate(bt, os.path.join(work, case), REQUESTS, True)
        failures += compare_with_truth(os.path.join(work, case, "truth.sqlite"), db, "requests", nested=False)
        print("".join(f"MISMATCH {failure}\n" for failure in failures)
              + (f"FAIL: {len(failures)} problem(s)" if failures else "OK: the host-only analysis equals the truth"))
        return 1 if failures else 0
    new_db = generate(bt, os.path.join(work, case, "new"), PARAMS, True)
    truth = os.path.join(work, case, "new", "truth.sqlite")
    failures += compare_with_truth(truth, new_db, "new naming")
    if case == "old-naming":
        old_db = generate(bt, os.path.join(work, case, "old"), PARAMS + ',naming="old"', False)
        failures += compare_with_truth(truth, old_db, "old naming")
        (new_halts, new_states), (old_halts, old_states) = rows_of(new_db), rows_of(old_db)
        for table, a, b in (("vcpu_halt", new_halts, old_halts), ("vcpu_state", new_states, old_states)):
            line = f"{table}: {len(a)} rows in the new naming, {len(b)} in the old"
            if a != b:
                diff = sorted(set(a) ^ set(b), key=repr)
                failures.append(f"{line}; they differ, e.g. {diff[:SHOW]}")
            else:
                print(f"old naming: {line}, identical")
    elif case != "truth":
        raise SystemExit(f"unknown case {case}")
    print("".join(f"MISMATCH {failure}\n" for failure in failures)
          + (f"FAIL: {len(failures)} problem(s)" if failures else "OK: the host-only analysis equals the scenario's truth"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
