#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The critical path of the O_DIRECT `dd` reader of the lab `cpath` recording (issue 12, item 8),
checked against what the host's own trace says.

usage: cpath_lab.py PLUGIN_DIR ARCHIVE WORK_DIR

ARCHIVE is traces/lab/cpath-3s.tar.xz (provenance: traces/lab/cpath/README.md): 3 s of the host
and of the guests `guesta` (dd if=/dev/vda iflag=direct, tid 334) and `guestb` (two CPU hogs) of
one recording, cut over one 3 s window of the host's clock (each guest's bounds in its own clock).
The filter links and synchronizes the guests from the slice itself (TCP, KVM windows, injected
interrupts); VM_CPATH_SYNC=given passes the transforms and links of the fused run of the whole
recording instead (traces/README.md). The sink writes the critical path of guesta-cpath/334.

Checks (exit 1 on a failure):
- the path covers its thread's [first, last vertex) and its segments tile it;
- it crosses into the host: host threads hold part of it, among them a thread of guesta's QEMU
  process (pid 212: its I/O) and a vCPU thread of guestb (preempting guesta's vCPU);
- every hand-off leaving a host thread leaves it while it runs, by the host's own thread_state
  (the kernel model's intervals from sched_switch, independent of the execution graph): the
  thread that raised the interrupt, woke a thread, or held the CPU, did so while running;
- every `running` segment of a host thread lies in that thread's `running` (or `interrupted`)
  time in thread_state, and every `preempted` one in its `wait_cpu` time.
It prints the path's time by machine and state.
"""
import os
import sqlite3
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "params")]
from intervals import covered  # noqa: E402

# The fused run of the whole recording (traces/README.md, "Transforms"): its sync rows
# (alpha_text, beta_text) and its vcpu table (guesta: QEMU pid 212, guestb: 214).
SYNC = ("guesta-cpath=0.999996851682667284539,5656052609962.34805727;"
        "guestb-cpath=1.00000005809917532934,-103538577227.440060206")
GUEST_VM = "guesta-cpath=212,guestb-cpath=214"
READER = "guesta-cpath/334"
GIVEN = os.environ.get("VM_CPATH_SYNC") == "given"


def main():
    if len(sys.argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    plugin_dir, archive, work = sys.argv[1:]
    from bt_cli import babeltrace2
    bt = babeltrace2(plugin_dir)
    os.makedirs(work, exist_ok=True)
    subprocess.run(["rm", "-rf", os.path.join(work, "slice-cpath")], check=True)
    subprocess.run(["tar", "-xJf", archive, "-C", work], check=True)
    traces = []
    for machine in ("host", "guesta", "guestb"):
        for root, _dirs, files in os.walk(os.path.join(work, "slice-cpath", machine)):
            if "metadata" in files:
                traces.append(root)
    db = os.path.join(work, "cpath.db")
    if os.path.exists(db):
        os.remove(db)
    # One source per trace into the filter (the `run` command): the guests' clocks are about a
    # second ahead of the host's, so a muxer in front of the filter (the convert shorthand) would
    # hand it messages that the transforms put out of order.
    graph = ["run"]
    for k, trace in enumerate(traces):
        graph += [f"--component=src{k}:source.ctf.fs", f'--params=inputs=["{trace}"]']
    graph += ["--component=fuse:filter.vm.fuse", *([f'--params=guest-vm="{GUEST_VM}",sync="{SYNC}"'] if GIVEN else []),
              "--component=out:sink.vm.sqlite", f'--params=path="{db}",critical-path="{READER}"']
    graph += [f"--connect=src{k}:fuse" for k in range(len(traces))] + ["--connect=fuse:out"]
    r = subprocess.run(bt + graph, capture_output=True, text=True)
    if r.returncode != 0 or "Sanitizer" in r.stderr or "runtime error:" in r.stderr:
        sys.stderr.write(r.stderr[-4000:])
        print(f"FAIL: the fused run exited {r.returncode}")
        return 1
    c = sqlite3.connect(db)
    failures = []
    names = dict(c.execute("SELECT id, name FROM machine"))
    host = next(i for i, role in c.execute("SELECT id, role FROM machine") if role == "host")
    path = c.execute("SELECT id, start_ts, end_ts FROM critical_path WHERE selector = ?", (READER,)).fetchone()
    if not path:
        print(f"FAIL: no critical path for {READER}")
        return 1
    pid, start, end = path
    segs = c.execute("SELECT ts, dur, machine_id, tid, state FROM critical_path_segment WHERE path_id = ? "
                     "ORDER BY seq", (pid,)).fetchall()
    links = c.execute("SELECT ts, from_machine_id, from_tid, to_machine_id, to_tid, state FROM critical_path_link "
                      "WHERE path_id = ? ORDER BY seq", (pid,)).fetchall()
    at = start
    for ts, dur, _m, _t, _s in segs:
        if ts != at or dur <= 0:
            failures.append(f"the segments do not tile the path at {ts} (expected {at}, dur {dur})")
            break
        at = ts + dur
    if at != end:
        failures.append(f"the segments end at {at}, the path at {end}")

    # The host's own view: thread_state intervals per host thread and state.
    states = {}
    for ts, dur, tid, state in c.execute("SELECT ts, dur, tid, state FROM thread_state WHERE machine_id = ? "
                                         "ORDER BY ts", (host,)):
        states.setdefault((tid, state), []).append((ts, ts + dur))

    def runs_at(tid, t):
        """Running (or interrupted, i.e. on its CPU) over an interval that contains t or ends at t."""
        return any(x <= t <= y for s in ("running", "interrupted") for x, y in states.get((tid, s), []))

    guesta_pid, guestb_vcpus = 212, {t for t, in c.execute(
        "SELECT v.host_tid FROM vcpu v JOIN machine m ON m.id = v.machine_id WHERE m.name = 'guestb-cpath'")}
    qemu_a = {t for t, in c.execute("SELECT tid FROM thread WHERE machine_id = ? AND pid = ?", (host, guesta_pid))}
    on_host = {t for _ts, _d, m, t, _s in segs if m == host}
    if not on_host:
        failures.append("the path never crosses into the host")
    if not on_host & qemu_a:
        failures.append(f"no thread of guesta's QEMU (pid {guesta_pid}) holds the path")
    if not on_host & guestb_vcpus:
        failures.append(f"no vCPU thread of guestb ({sorted(guestb_vcpus)}) holds the path")

    checked = bad = 0
    for ts, fm, ft, tm, tt, state in links:
        if fm != host:
            continue
        checked += 1
        if not runs_at(ft, ts):
            bad += 1
            if bad <= 5:
                failures.append(f"hand-off at {ts} from host thread {ft} to {names[tm]}/{tt} ({state}): "
                                f"thread_state has {ft} not running then")
    seg_checked = seg_bad = 0
    for ts, dur, m, tid, state in segs:
        if m != host or state not in ("running", "preempted"):
            continue
        seg_checked += 1
        want = ("running", "interrupted") if state == "running" else ("wait_cpu",)
        merged = sorted(iv for s in want for iv in states.get((tid, s), []))
        if not covered(merged, ts, ts + dur):
            seg_bad += 1
            if seg_bad <= 5:
                failures.append(f"host thread {tid} is `{state}` on the path over [{ts}, {ts + dur}) but "
                                f"thread_state has it in none of {want} there")
    print(f"{READER}: [{start}, {end}) {(end - start) / 1e6:.1f} ms, {len(segs)} segments, {len(links)} "
          f"hand-offs; host threads on the path: {len(on_host)} (guesta's QEMU: {sorted(on_host & qemu_a)}, "
          f"guestb's vCPUs: {sorted(on_host & guestb_vcpus)})")
    print(f"hand-offs leaving a host thread: {checked}, {checked - bad} while it runs (thread_state)")
    print(f"host `running`/`preempted` segments: {seg_checked}, {seg_checked - seg_bad} agree with thread_state")
    print("time on the path by machine and state:")
    for m, state, n, dur, pct in c.execute("SELECT machine_id, state, segments, dur, percent FROM critical_path_by_machine "
                                           "WHERE path_id = ? ORDER BY machine_id, dur DESC", (pid,)):
        print(f"  {names[m]:14} {state:15} {n:5} segments {dur / 1e6:9.2f} ms {pct:6.2f} %")
    print("".join(f"FAIL {f}\n" for f in failures) + ("FAIL" if failures else "OK"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
