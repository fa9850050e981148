#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Critical paths of real lab recordings across layers (issue 12), checked against what each
hypervisor's own trace says.

usage: lab_paths.py cpath PLUGIN_DIR ARCHIVE WORK_DIR
       lab_paths.py nested PLUGIN_DIR NESTED_DIR WORK_DIR

cpath: ARCHIVE is traces/lab/cpath-3s.tar.xz (provenance: traces/README.md): 3 s of the host and
of the guests `guesta` (dd if=/dev/vda iflag=direct, tid 334) and `guestb` (two CPU hogs) of one
recording, cut over one 3 s window of the host's clock (each guest's bounds in its own clock). The
filter links and synchronizes the guests from the slice itself (TCP, KVM windows, injected
interrupts); VM_CPATH_SYNC=given passes the transforms and links of the fused run of the whole
recording instead. The path of guesta-cpath/334 must cross into the host: a thread of guesta's
QEMU process (pid 212: its I/O) and a vCPU thread of guestb (preempting guesta's vCPU) hold it.

nested: NESTED_DIR is the unpacked shared/traces/lab/nested (host L0, guest L1 running its own
KVM guest, l2). The path of L2's `dd` (O_DIRECT write to its virtio disk) must go L2 -> the L1
vCPU thread running L2 -> L0: a `vcpu_preempted` hand-off from L1's vCPU thread of L2 into the
dd thread, and one from an L0 vCPU thread of L1 into that L1 thread.

Both then check the path against the hypervisors' own `thread_state` (the kernel model's
intervals from sched_switch, independent of the execution graph), for every machine that runs
guests:
- every hand-off leaving one of their threads leaves it while it runs (the thread that raised an
  interrupt, woke a thread or held the CPU did so while running; for a thread of L1, `vmm` counts:
  its vCPU is then in L0's hypervisor, where L0 resumed it), or at the very start of a wait of
  its own (the path hands off there to whoever ends the wait);
- every `running` segment of one of their threads lies in its `running` (or `interrupted`) time,
  every `preempted` one in its `wait_cpu` time;
and the path's segments tile it. They print the path's time by machine and state.
"""
import os
import sqlite3
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "params")]
from intervals import covered  # noqa: E402

# cpath: the fused run of the whole recording (traces/README.md, "Transforms"): its sync rows
# (alpha_text, beta_text) and its vcpu table (guesta: QEMU pid 212, guestb: 214).
CPATH_SYNC = ("guesta-cpath=0.999996851682667284539,5656052609962.34805727;"
              "guestb-cpath=1.00000005809917532934,-103538577227.440060206")
CPATH_GUEST_VM = "guesta-cpath=212,guestb-cpath=214"


def traces_under(root):
    out = []
    for path, _dirs, files in sorted(os.walk(root)):
        if "metadata" in files:
            out.append(path)
    return out


def fuse(plugin_dir, traces, db, sink_params, fuse_params=None):
    """One source per trace into filter.vm.fuse (the `run` command: with the convert shorthand's
    muxer in front of the filter, a guest whose clock runs ahead would come out of order once
    transformed), then sink.vm.sqlite. Returns an error message or None."""
    from bt_cli import babeltrace2
    if os.path.exists(db):
        os.remove(db)
    graph = ["run"]
    for k, trace in enumerate(traces):
        graph += [f"--component=src{k}:source.ctf.fs", f'--params=inputs=["{trace}"]']
    graph += ["--component=fuse:filter.vm.fuse"] + ([f"--params={fuse_params}"] if fuse_params else [])
    graph += ["--component=out:sink.vm.sqlite", f"--params=path=\"{db}\",{sink_params}"]
    graph += [f"--connect=src{k}:fuse" for k in range(len(traces))] + ["--connect=fuse:out"]
    r = subprocess.run(babeltrace2(plugin_dir) + graph, capture_output=True, text=True)
    if r.returncode != 0 or "Sanitizer" in r.stderr or "runtime error:" in r.stderr:
        sys.stderr.write(r.stderr[-4000:])
        return f"the fused run exited {r.returncode}"
    return None


def check_path(c, pid, hypervisors):
    """The tiling and the thread_state checks of path `pid` for the machine ids `hypervisors`.
    Returns (failures, segments, links)."""
    failures = []
    names = dict(c.execute("SELECT id, name FROM machine"))
    start, end = c.execute("SELECT start_ts, end_ts FROM critical_path WHERE id = ?", (pid,)).fetchone()
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
    states = {}
    for m, ts, dur, tid, state in c.execute("SELECT machine_id, ts, dur, tid, state FROM thread_state ORDER BY ts"):
        if m in hypervisors:
            states.setdefault((m, tid, state), []).append((ts, ts + dur))

    def runs_at(m, tid, t):
        """On its CPU over an interval that contains t or ends at t: running, interrupted, or (a
        thread of a guest that is itself a hypervisor) `vmm`: current on its vCPU while the vCPU is
        in the outer hypervisor, where a resume from vcpu_preempted hands off."""
        return any(x <= t <= y for s in ("running", "interrupted", "vmm") for x, y in states.get((m, tid, s), []))

    def wait_begins_at(m, tid, t):
        """A wait of the thread (blocked, for a CPU, or its vCPU's) begins at t: the path hands off
        at the start of that wait, to whoever ends it, and walks that thread back to t."""
        return any(x == t for s in ("blocked", "wait_cpu", "vcpu_preempted", "vcpu_halted")
                   for x, _y in states.get((m, tid, s), []))

    checked = bad = at_wait = 0
    for ts, fm, ft, tm, tt, state in links:
        if fm not in hypervisors:
            continue
        checked += 1
        if not runs_at(fm, ft, ts) and wait_begins_at(fm, ft, ts):
            at_wait += 1
        elif not runs_at(fm, ft, ts):
            bad += 1
            if bad <= 5:
                failures.append(f"hand-off at {ts} from {names[fm]}/{ft} to {names[tm]}/{tt} ({state}): "
                                f"thread_state has {ft} not running then")
    seg_checked = seg_bad = 0
    for ts, dur, m, tid, state in segs:
        if m not in hypervisors or state not in ("running", "preempted"):
            continue
        seg_checked += 1
        want = ("running", "interrupted") if state == "running" else ("wait_cpu",)
        merged = sorted(iv for s in want for iv in states.get((m, tid, s), []))
        if not covered(merged, ts, ts + dur):
            seg_bad += 1
            if seg_bad <= 5:
                failures.append(f"{names[m]}/{tid} is `{state}` on the path over [{ts}, {ts + dur}) but its "
                                f"thread_state has it in none of {want} there")
    print(f"path {pid}: [{start}, {end}) {(end - start) / 1e6:.1f} ms, {len(segs)} segments, {len(links)} hand-offs")
    print(f"hand-offs leaving a thread of {sorted(names[m] for m in hypervisors)}: {checked}: "
          f"{checked - bad - at_wait} while it runs, {at_wait} at the start of its own wait, {bad} otherwise "
          f"(thread_state)")
    print(f"their `running`/`preempted` segments: {seg_checked}, {seg_checked - seg_bad} agree with thread_state")
    print("time on the path by machine and state:")
    for m, state, n, dur, pct in c.execute("SELECT machine_id, state, segments, dur, percent FROM "
                                           "critical_path_by_machine WHERE path_id = ? ORDER BY machine_id, dur DESC",
                                           (pid,)):
        print(f"  {names[m]:14} {state:15} {n:5} segments {dur / 1e6:9.2f} ms {pct:6.2f} %")
    return failures, segs, links


def cpath(plugin_dir, archive, work):
    os.makedirs(work, exist_ok=True)
    subprocess.run(["rm", "-rf", os.path.join(work, "slice-cpath")], check=True)
    subprocess.run(["tar", "-xJf", archive, "-C", work], check=True)
    traces = [t for m in ("host", "guesta", "guestb") for t in traces_under(os.path.join(work, "slice-cpath", m))]
    db = os.path.join(work, "cpath.db")
    given = os.environ.get("VM_CPATH_SYNC") == "given"
    error = fuse(plugin_dir, traces, db, 'critical-path="guesta-cpath/334"',
                 f'guest-vm="{CPATH_GUEST_VM}",sync="{CPATH_SYNC}"' if given else None)
    if error:
        return [error]
    c = sqlite3.connect(db)
    host = next(i for i, role in c.execute("SELECT id, role FROM machine") if role == "host")
    row = c.execute("SELECT id FROM critical_path WHERE selector = 'guesta-cpath/334'").fetchone()
    if not row:
        return ["no critical path for guesta-cpath/334"]
    failures, segs, _links = check_path(c, row[0], {host})
    guestb_vcpus = {t for t, in c.execute(
        "SELECT v.host_tid FROM vcpu v JOIN machine m ON m.id = v.machine_id WHERE m.name = 'guestb-cpath'")}
    qemu_a = {t for t, in c.execute("SELECT tid FROM thread WHERE machine_id = ? AND pid = 212", (host,))}
    on_host = {t for _ts, _d, m, t, _s in segs if m == host}
    print(f"host threads on the path: {len(on_host)} (guesta's QEMU: {sorted(on_host & qemu_a)}, guestb's vCPUs: "
          f"{sorted(on_host & guestb_vcpus)})")
    if not on_host:
        failures.append("the path never crosses into the host")
    if not on_host & qemu_a:
        failures.append("no thread of guesta's QEMU (pid 212) holds the path")
    if not on_host & guestb_vcpus:
        failures.append(f"no vCPU thread of guestb ({sorted(guestb_vcpus)}) holds the path")
    return failures


def nested(plugin_dir, nested_dir, work):
    os.makedirs(work, exist_ok=True)
    traces = [os.path.join(nested_dir, m, "kernel") for m in ("host", "guest", "l2")]
    db = os.path.join(work, "nested.db")
    error = fuse(plugin_dir, traces, db, 'critical-path="dd"')
    if error:
        return [error]
    c = sqlite3.connect(db)
    ids = {name: i for i, name in c.execute("SELECT id, name FROM machine")}
    l0, l1, l2 = ids.get("host-nested"), ids.get("guest-nested"), ids.get("l2-nested")
    if None in (l0, l1, l2):
        return [f"machines host-nested, guest-nested, l2-nested expected, got {sorted(ids)}"]
    row = c.execute("SELECT id, tid FROM critical_path WHERE machine_id = ? AND name = 'dd'", (l2,)).fetchone()
    if not row:
        return ["no critical path for L2's dd"]
    pid, dd = row
    failures, segs, links = check_path(c, pid, {l0, l1})
    l1_vcpus = {t for t, in c.execute("SELECT host_tid FROM vcpu WHERE machine_id = ?", (l2,))}  # threads of L1
    l0_vcpus = {t for t, in c.execute("SELECT host_tid FROM vcpu WHERE machine_id = ?", (l1,))}  # threads of L0
    machines = {m for _ts, _d, m, _t, _s in segs}
    if machines != {l0, l1, l2}:
        failures.append(f"the path is on machines {sorted(machines)}, not on all of L0, L1, L2")
    into_dd = [ln for ln in links if (ln[1], ln[3], ln[4]) == (l1, l2, dd) and ln[2] in l1_vcpus
               and ln[5] == "vcpu_preempted"]
    into_l1 = [ln for ln in links if (ln[1], ln[3]) == (l0, l1) and ln[2] in l0_vcpus and ln[4] in l1_vcpus
               and ln[5] == "vcpu_preempted"]
    print(f"L2 dd (tid {dd}): {len(into_dd)} hand-offs from L1's vCPU thread of L2 {sorted(l1_vcpus)}, "
          f"{len(into_l1)} from L0's vCPU threads of L1 {sorted(l0_vcpus)} into it")
    if not into_dd:
        failures.append("no vcpu_preempted hand-off from L1's vCPU thread of L2 into dd")
    if not into_l1:
        failures.append("no vcpu_preempted hand-off from an L0 vCPU thread of L1 into L1's vCPU thread of L2")
    return failures


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("cpath", "nested"):
        sys.stderr.write(__doc__)
        return 2
    failures = (cpath if sys.argv[1] == "cpath" else nested)(*sys.argv[2:])
    print("".join(f"FAIL {f}\n" for f in failures) + ("FAIL" if failures else "OK"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
