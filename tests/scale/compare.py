#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compares a sink.vm.sqlite database with the truth of the source.vm.scenario run it analysed.

usage: compare.py TRUTH.sqlite ANALYSIS.db --mode fused|host-only

Checks, and exits 1 on the first kind that fails (printing the first few mismatches):
  - vCPU states: for every vCPU of the truth that the analysis can see (host-only: the host's
    VMs, named qemu-PID; fused: every guest, by hostname), from the first KVM event of its
    thread (before it no trace tells the state, and the analysis says `unknown`) to the end
    of the analysis, the analysis's vcpu_state rows equal the truth's: same boundaries, state,
    pcpu, preempting_tid, exit_reason. Adjacent rows that differ only in columns the truth does
    not model (guest_status, begin_event) are merged first. vCPUs whose rows come from a
    guest's trace (the nested guest's vCPUs, timed by that guest's transform) may move each
    boundary by the sync's reported accuracy.
  - fused: the recovered transforms (table sync) are within their reported accuracy_ns of the
    true ones over the run, and every guest is matched to its true VM (table guest_match).
    With --segments (filter.vm.fuse's one-pass mode): every row of sync_segment is within its
    accuracy_ns of the true transform over its own [from_ts, to_ts], and the widest of a
    machine's bounds is the tolerance of the vCPU states its clock times.
  - fused, when the truth has PID namespaces (source.vm.scenario `containers`, or the LM <= 2.11
    statedump): the analysis's container tree and container_thread rows (every thread's
    namespace, vtid, vpid, vppid at every level) equal the truth's exactly, per machine.
  - fused, when the truth has guest device interrupts (`disk-irq-rate`, `net-irq-rate`): each
    guest's irq_handler_entry count (table event_stat) equals its true interrupts (the scenario's
    guests have no other interrupt handlers).
"""
import argparse
import sqlite3
import sys
from fractions import Fraction


def rows(db, sql, *args):
    return db.execute(sql, args).fetchall()


def merge(intervals):
    """[(ts, dur, key)] -> merged, zero-length dropped."""
    out = []
    for ts, dur, key in intervals:
        if dur <= 0:
            continue
        if out and out[-1][2] == key and out[-1][0] + out[-1][1] == ts:
            out[-1] = (out[-1][0], out[-1][1] + dur, key)
        else:
            out.append((ts, dur, key))
    return out


def clip(intervals, begin, end):
    out = []
    for ts, dur, key in intervals:
        a, b = max(ts, begin), min(ts + dur, end)
        if b > a:
            out.append((a, b - a, key))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("truth")
    parser.add_argument("analysis")
    parser.add_argument("--mode", choices=["fused", "host-only"], required=True)
    parser.add_argument("--show", type=int, default=5)
    parser.add_argument("--segments", action="store_true",
                        help="fused, filter.vm.fuse in one-pass mode: check the transforms of table sync_segment "
                             "(each within its accuracy of the truth over its own span) instead of table sync "
                             "(whose accuracy covers the lead window's sync points only)")
    args = parser.parse_args()
    truth = sqlite3.connect(args.truth)
    got = sqlite3.connect(args.analysis)
    failures = []

    end_truth = int(rows(truth, "SELECT value FROM scenario WHERE key='end-ns'")[0][0])
    machines = {name: mid for mid, name in rows(got, "SELECT id, name FROM machine")}
    truth_machines = {name: (parent, layer, qemu_pid) for name, parent, layer, qemu_pid in
                      rows(truth, "SELECT name, parent, layer, qemu_pid FROM machine")}
    sync = {}
    if args.mode == "fused":
        for mid, alpha, beta, accuracy, quality in rows(
                got, "SELECT machine, alpha_text, beta_text, accuracy_ns, quality FROM sync"):
            sync[mid] = (Fraction(alpha), Fraction(beta), accuracy, quality)

    # ---- guest matching and clock transforms
    if args.mode == "fused":
        names = {mid: name for name, mid in machines.items()}
        for guest, host, qemu_pid in rows(truth, "SELECT guest, host, qemu_pid FROM guest_vm"):
            if guest not in machines:
                failures.append(f"guest_match: no machine named {guest} in the analysis")
                continue
            match = rows(got, "SELECT host, qemu_pid, method, confidence FROM guest_match WHERE machine=?",
                         machines[guest])
            if not match or names.get(match[0][0]) != host or match[0][1] != qemu_pid:
                failures.append(f"guest_match: {guest} should be QEMU {qemu_pid} on {host}, got {match}")
            else:
                print(f"guest_match: {guest} -> {host} QEMU {qemu_pid} ({match[0][2]}, confidence {match[0][3]:.4f})")
        start_truth = int(rows(truth, "SELECT value FROM scenario WHERE key='start-ns'")[0][0])
        for name, alpha_text, beta_text in rows(truth, "SELECT machine, alpha_text, beta_text FROM clock"):
            if name not in machines:
                continue
            alpha, beta = Fraction(alpha_text), Fraction(beta_text)
            got_alpha, got_beta, accuracy, quality = sync[machines[name]]
            if args.segments:
                segments = rows(got, "SELECT seq, from_ts, to_ts, alpha_text, beta_text, accuracy_ns "
                                     "FROM sync_segment WHERE machine=? ORDER BY seq", machines[name])
                if not segments:
                    failures.append(f"sync_segment: {name}: no segment")
                widest = 0
                for seq, from_ts, to_ts, seg_alpha, seg_beta, seg_accuracy in segments:
                    # Both lines are linear: the largest error over the segment is at an end.
                    seg_worst = float(max(abs(Fraction(seg_alpha) * ((t - beta) / alpha) + Fraction(seg_beta) - t)
                                          for t in (from_ts, to_ts)))
                    line = (f"sync_segment: {name} #{seq} [{from_ts}, {to_ts}]: error {seg_worst:.1f} ns, "
                            f"reported accuracy {seg_accuracy} ns")
                    if seg_accuracy is None or seg_worst > float(seg_accuracy) + 1:
                        failures.append(line)
                    else:
                        print(line)
                        widest = max(widest, float(seg_accuracy))
                # The vCPU states timed by this machine's clock may move by the widest bound.
                sync[machines[name]] = (got_alpha, got_beta, widest if segments else None, quality)
                continue
            worst = 0
            for host_ts in (start_truth, end_truth):
                guest_ts = (host_ts - beta) / alpha
                worst = max(worst, abs(got_alpha * guest_ts + got_beta - host_ts))
            worst = float(worst)
            line = f"sync: {name}: error {worst:.1f} ns over the run, reported accuracy {accuracy} ns ({quality})"
            if accuracy is None or worst > float(accuracy) + 1:
                failures.append(line)
            else:
                print(line)

    # ---- PID namespaces
    has_ns = rows(truth, "SELECT name FROM sqlite_master WHERE name='container_thread'") and \
        rows(truth, "SELECT count(*) FROM container_thread")[0][0] > 0
    if args.mode == "fused" and has_ns:
        names = {mid: name for name, mid in machines.items()}
        for table, sql_truth, sql_got in (
                ("container", "SELECT machine, ns_inum, parent_ns_inum, ns_level FROM container",
                 "SELECT machine_id, ns_inum, parent_ns_inum, ns_level FROM container"),
                ("container_thread", "SELECT machine, tid, ns_level, ns_inum, vtid, vpid, vppid FROM container_thread",
                 "SELECT machine_id, tid, ns_level, ns_inum, vtid, vpid, vppid FROM container_thread")):
            expected = set(rows(truth, sql_truth))
            got_rows = set((names.get(r[0]),) + tuple(r[1:]) for r in rows(got, sql_got))
            missing, extra = sorted(expected - got_rows, key=str), sorted(got_rows - expected, key=str)
            line = f"{table}: {len(expected)} true rows, {len(got_rows)} analysed"
            if missing or extra:
                failures.append(f"{line}; missing {missing[:args.show]}; unexpected {extra[:args.show]}")
            else:
                print(line + ", equal")

    # ---- guest device interrupts
    has_irq = rows(truth, "SELECT name FROM sqlite_master WHERE name='guest_irq'") and \
        rows(truth, "SELECT count(*) FROM guest_irq")[0][0] > 0
    if args.mode == "fused" and has_irq:
        for vm, expected in rows(truth, "SELECT vm, count(*) FROM guest_irq GROUP BY vm ORDER BY vm"):
            counted = rows(got, "SELECT sum(count) FROM event_stat WHERE machine_id=? AND name='irq_handler_entry'",
                           machines.get(vm, -1))[0][0] or 0
            line = f"guest_irq: {vm}: {expected} true device interrupts, {counted} irq_handler_entry analysed"
            if counted != expected:
                failures.append(line)
            else:
                print(line)

    # ---- vCPU states
    vcpus = rows(truth, "SELECT vm, vcpu_id, host, host_tid, host_pid, first_kvm_ts FROM vcpu ORDER BY vm, vcpu_id")
    compared = 0
    interval_count = 0
    state_failures = []
    for vm, vcpu_id, host, host_tid, host_pid, first_kvm in vcpus:
        nested = truth_machines[host][1] > 0  # its host is itself a guest
        if args.mode == "host-only":
            if nested:
                continue  # invisible from the host's trace
            machine_name = f"qemu-{host_pid}"
        else:
            machine_name = vm
        if machine_name not in machines:
            state_failures.append(f"{vm} vCPU {vcpu_id}: no machine {machine_name} in the analysis")
            continue
        mid = machines[machine_name]
        analysis = rows(got, "SELECT ts, dur, state, pcpu, preempting_tid, exit_reason FROM vcpu_state "
                             "WHERE machine_id=? AND vcpu_id=? ORDER BY ts", mid, vcpu_id)
        expected = rows(truth, "SELECT ts, dur, state, pcpu, preempting_tid, exit_reason FROM vcpu_state "
                               "WHERE vm=? AND vcpu_id=? ORDER BY ts", vm, vcpu_id)
        if not analysis:
            state_failures.append(f"{vm} vCPU {vcpu_id}: no vcpu_state rows")
            continue
        tolerance = 0
        if nested and args.mode == "fused":
            accuracy = sync[machines[host]][2]
            if accuracy is None:  # not synchronized: reported above as a sync failure
                state_failures.append(f"{vm} vCPU {vcpu_id}: its guest {host} has no bounded sync, "
                                      "so its states cannot be placed")
                continue
            tolerance = int(float(accuracy)) + 1
        known = [r for r in analysis if r[2] != "unknown"]
        first_known = known[0][0] if known else None
        if first_known is None or abs(first_known - first_kvm) > tolerance:
            state_failures.append(f"{vm} vCPU {vcpu_id}: analysis knows the state from {first_known}, "
                                  f"the first KVM event of its thread is at {first_kvm}")
        end = min(end_truth, analysis[-1][0] + analysis[-1][1])
        begin = first_kvm + tolerance
        a = merge(clip([(r[0], r[1], tuple(r[2:])) for r in analysis], begin, end - tolerance))
        e = merge(clip([(r[0], r[1], tuple(r[2:])) for r in expected], begin, end - tolerance))
        compared += 1
        interval_count += len(e)
        mismatches = []
        for k in range(max(len(a), len(e))):
            ra = a[k] if k < len(a) else None
            re_ = e[k] if k < len(e) else None
            if ra and re_ and ra[2] == re_[2] and abs(ra[0] - re_[0]) <= tolerance and \
                    abs(ra[0] + ra[1] - re_[0] - re_[1]) <= tolerance:
                continue
            mismatches.append((k, re_, ra))
            if len(mismatches) >= args.show:
                break
        if mismatches:
            header = f"{vm} vCPU {vcpu_id} (host tid {host_tid}, analysis machine {machine_name}): " \
                     f"{len(e)} true intervals, {len(a)} analysed; first mismatches (ts, dur, (state, pcpu, " \
                     f"preempting_tid, exit_reason)):"
            lines = [header] + [f"    #{k}: expected {x}\n         got      {y}" for k, x, y in mismatches]
            state_failures.append("\n".join(lines))
    print(f"vcpu_state: {compared} vCPUs, {interval_count} true intervals compared")
    failures += state_failures
    for failure in failures:
        print("MISMATCH " + failure)
    if failures:
        print(f"FAIL: {len(failures)} problem(s)")
        return 1
    print("OK: the analysis equals the truth")
    return 0


if __name__ == "__main__":
    sys.exit(main())
