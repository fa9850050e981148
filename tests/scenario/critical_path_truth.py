#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The scenario's true critical paths (`requests`; definition: common/sim/critical_truth.h and
tests/scenario/README.md): their own invariants, and a comparison with a product database.

usage: critical_path_truth.py invariants PLUGIN_DIR WORK_DIR
         writes the `requests` scenario's truth (no trace needed) and checks, for every path:
         - the segments tile [start_ts, end_ts) in seq order, each of positive length;
         - every state is one of the allowed ones;
         - following the links in order from the path's thread (each link leaves the worker the
           path is on, at a segment boundary) gives each segment's worker, and the path ends on
           its own thread;
         - against the truth's other tables (an independent record of the same run): a host
           thread `running` on the path is on a CPU of the host then (cpu_state); a guest
           thread's `vmm`, `vcpu_halted` and `running` segments lie in its vCPU's `vmm`, `idle`
           and `guest` intervals (vcpu_state);
         - the scenario shows what it is for: every VM of the host has a request path that
           reaches the host's I/O thread (block_device there), the injection (interrupted), a
           preemption of its vCPU thread by another VM's vCPU thread, and a wake-up by a guest
           thread of another vCPU (the IPI);
         - compare() finds the truth equal to itself, and finds each of three perturbed copies
           (a segment boundary moved by 1 ns, a state changed, a link removed) different.
       critical_path_truth.py product PLUGIN_DIR WORK_DIR [SEED ...]
         the `requests` scenario per seed (default 3), fused by the product with `critical-path`
         naming every true path's thread; its paths must equal the truth's (see product()).
       critical_path_truth.py compare TRUTH_DB PRODUCT_DB [--tolerance NS] [--qualifiers] [--link-states]
         compares the product's critical_path, critical_path_segment and critical_path_link
         with the truth's, path by path (same machine by name, same tid), segment by segment
         (see compare_paths()); exit 1 on a difference.
"""
import os
import sqlite3
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "params")]
from intervals import covered  # noqa: E402

PARAMS = ("seed=3,vms=2,pcpus=2,vcpus-per-vm=2,guest-threads=3,host-threads=1,wake-causes=true,"
          "requests=true,net-irq-rate=100,drift-ppm=0,duration-ns=400000000")
STATES = {"running", "preempted", "blocked", "timer", "network", "block_device", "ipi", "interrupted",
          "user_input", "unknown", "default", "vcpu_preempted", "vmm", "vcpu_halted"}
SHOW = 5


def write_truth(plugin_dir, work, params=PARAMS):
    from bt_cli import babeltrace2
    os.makedirs(work, exist_ok=True)
    truth = os.path.join(work, "truth.sqlite")
    if os.path.exists(truth):
        os.remove(truth)
    r = subprocess.run(babeltrace2(plugin_dir) + [
        "run", "--component=src:source.vm.scenario", f'--params={params},truth="{truth}"',
        "--component=mux:filter.utils.muxer", "--component=out:sink.utils.dummy",
        "--connect=src:mux", "--connect=mux:out"], capture_output=True, text=True)
    if r.returncode != 0 or "Sanitizer" in r.stderr or "runtime error:" in r.stderr:
        sys.stderr.write(r.stderr[-4000:])
        raise SystemExit(f"FAIL: the scenario exited {r.returncode}")
    return truth


def load_paths(db, names):
    """{(machine name, tid): (path row, [segments], [links])} of a database; machines by name."""
    paths = {}
    for pid, mid, tid, name, start, end in db.execute(
            "SELECT id, machine_id, tid, name, start_ts, end_ts FROM critical_path ORDER BY id"):
        segs = [(ts, dur, names.get(m, m), t, state, q) for ts, dur, m, t, state, q in db.execute(
            "SELECT ts, dur, machine_id, tid, state, qualifier FROM critical_path_segment WHERE path_id = ? "
            "ORDER BY seq", (pid,))]
        links = [(ts, names.get(a, a), at, names.get(b, b), bt, state) for ts, a, at, b, bt, state in db.execute(
            "SELECT ts, from_machine_id, from_tid, to_machine_id, to_tid, state FROM critical_path_link "
            "WHERE path_id = ? ORDER BY seq", (pid,))]
        paths[(names.get(mid, mid), tid)] = ((pid, name, start, end), segs, links)
    return paths


def check_path(key, row, segs, links):
    """The structural invariants of one path; returns problems."""
    problems = []
    _pid, _name, start, end = row
    if not segs:
        return [f"{key}: no segment"]
    at = start
    for k, (ts, dur, m, tid, state, q) in enumerate(segs):
        if ts != at:
            problems.append(f"{key}: segment #{k} starts at {ts}, the previous ended at {at}")
        if dur <= 0:
            problems.append(f"{key}: segment #{k} has length {dur}")
        if state not in STATES:
            problems.append(f"{key}: segment #{k} has the state `{state}`")
        at = ts + dur
    if at != end:
        problems.append(f"{key}: the segments end at {at}, the path at {end}")
    # Links: replayed in order at the segment boundaries.
    cur, j = key, 0
    for k, (ts, dur, m, tid, state, q) in enumerate(segs):
        while j < len(links) and links[j][0] <= ts:
            lts, fm, ft, tm, tt, lstate = links[j]
            if (fm, ft) != cur:
                problems.append(f"{key}: link #{j} at {lts} leaves {(fm, ft)}, the path is on {cur}")
            if lstate not in STATES:
                problems.append(f"{key}: link #{j} has the state `{lstate}`")
            boundaries = {ts} | ({segs[k - 1][0]} if k else set())
            if lts not in boundaries:
                problems.append(f"{key}: link #{j} at {lts} is not at a segment boundary")
            cur, j = (tm, tt), j + 1
        if (m, tid) != cur:
            problems.append(f"{key}: segment #{k} at {ts} is on {(m, tid)}, the links lead to {cur}")
            cur = (m, tid)
    while j < len(links) and links[j][0] <= end:
        lts, fm, ft, tm, tt, _ = links[j]
        if (fm, ft) != cur:
            problems.append(f"{key}: link #{j} at {lts} leaves {(fm, ft)}, the path is on {cur}")
        cur, j = (tm, tt), j + 1
    if j != len(links):
        problems.append(f"{key}: {len(links) - j} link(s) after the end")
    if cur != key:
        problems.append(f"{key}: the path ends on {cur}")
    return problems[:SHOW * 4]


def invariants(plugin_dir, work):
    truth_path = write_truth(plugin_dir, work)
    db = sqlite3.connect(truth_path)
    names = dict(db.execute("SELECT id, name FROM machine"))
    host = next(n for n, in db.execute("SELECT name FROM machine WHERE parent IS NULL"))
    vms = [n for n, in db.execute("SELECT name FROM machine WHERE parent = ?", (host,))]
    paths = load_paths(db, names)
    failures = []
    # Independent records: what runs on the host's CPUs, each vCPU's state, who is which vCPU.
    on_cpu = {}
    for ts, dur, tid in db.execute("SELECT ts, dur, tid FROM cpu_state WHERE machine = ? ORDER BY ts", (host,)):
        on_cpu.setdefault(tid, []).append((ts, ts + dur))
    for tid in on_cpu:
        on_cpu[tid].sort()
    vcpu_of_tid = {(vm, tid): vcpu for vm, vcpu, tid in db.execute("SELECT vm, vcpu_id, host_tid FROM vcpu")}
    vcpu_tids = {tid for (_vm, tid) in vcpu_of_tid}
    states = {}
    for ts, dur, vm, vcpu, state in db.execute("SELECT ts, dur, vm, vcpu_id, state FROM vcpu_state ORDER BY ts"):
        states.setdefault((vm, vcpu, state), []).append((ts, ts + dur))
    cpus = int(db.execute("SELECT cpus FROM machine WHERE name = ?", (vms[0],)).fetchone()[0]) if vms else 1
    seen = {}
    for key, (row, segs, links) in sorted(paths.items()):
        failures += check_path(key, row, segs, links)
        vm = key[0]
        home = 1 % cpus  # the request thread's vCPU (requests.cpp)
        for ts, dur, m, tid, state, q in segs:
            # cpu_state switches when the model's switch is over: up to the 400 ns of a syscall exit it
            # records right after the sched_switch (scheduler.cpp) later than the switch itself.
            if m == host and state == "running" and dur > 500 and \
                    not covered(on_cpu.get(tid, []), ts + 500, ts + dur):
                failures.append(f"{key}: host thread {tid} is `running` on the path over [{ts}, {ts + dur}) "
                                f"but not on a CPU of the host (cpu_state)")
            if (m, tid) == key and state in ("vmm", "vcpu_halted", "running"):
                want = {"vmm": "vmm", "vcpu_halted": "idle", "running": "guest"}[state]
                if not covered(states.get((vm, home, want), []), ts, ts + dur):
                    failures.append(f"{key}: `{state}` over [{ts}, {ts + dur}) is not in the `{want}` state of "
                                    f"its vCPU {home} (vcpu_state)")
        # What the scenario is for.
        feats = seen.setdefault(vm, set())
        own_vcpu = next((tid for (v, tid), c in vcpu_of_tid.items() if v == vm and c == home), None)
        for ts, dur, m, tid, state, q in segs:
            if m == host and state == "block_device":
                feats.add("host disk")
            if (m, tid) == key and state == "interrupted":
                feats.add("injection")
        for ts, fm, ft, tm, tt, state in links:
            if (fm, ft) == (host, own_vcpu) and tm == host and tt in vcpu_tids and (vm, tt) not in vcpu_of_tid:
                feats.add("preempted by another VM's vCPU")
            if (fm, ft) == key and tm == vm and tt != key[1]:
                feats.add("woken by a guest thread")
        print(f"{key[0]}/{key[1]} {row[1]}: [{row[2]}, {row[3]}), {len(segs)} segments, {len(links)} links; "
              f"time by state: " + ", ".join(f"{s} {t / 1e6:.2f} ms" for s, t in sorted(
                  by_state(segs).items(), key=lambda kv: -kv[1])))
    for vm in vms:
        missing = {"host disk", "injection", "preempted by another VM's vCPU", "woken by a guest thread"} - \
            seen.get(vm, set())
        if vm not in seen:
            failures.append(f"{vm}: no request path in the truth")
        elif missing:
            failures.append(f"{vm}: the request path never shows: {', '.join(sorted(missing))}")
    failures += self_test(truth_path, work)
    print("".join(f"MISMATCH {f}\n" for f in failures)
          + (f"FAIL: {len(failures)} problem(s)" if failures else
             f"OK: {len(paths)} true critical paths keep their invariants"))
    return 1 if failures else 0


def self_test(truth_path, work):
    """compare_paths() on the truth itself and on perturbed copies of it."""
    import shutil
    failures = []
    same = compare_paths(truth_path, truth_path)
    if same:
        failures.append(f"compare: the truth differs from itself: {same[:2]}")
    # A boundary moved inside the path (the first segment that is not the last), a state, a link.
    edits = {
        "moved boundary": "UPDATE critical_path_segment SET dur = dur - 1 WHERE rowid = (SELECT rowid FROM "
                          "critical_path_segment WHERE path_id = 1 AND seq = 5); UPDATE critical_path_segment "
                          "SET ts = ts - 1, dur = dur + 1 WHERE path_id = 1 AND seq = 6",
        "changed state": "UPDATE critical_path_segment SET state = CASE state WHEN 'running' THEN 'preempted' "
                         "ELSE 'running' END WHERE path_id = 1 AND seq = 7",
        "removed link": "DELETE FROM critical_path_link WHERE path_id = 1 AND seq = 1",
    }
    for label, sql in edits.items():
        copy = os.path.join(work, "perturbed.sqlite")
        shutil.copyfile(truth_path, copy)
        db = sqlite3.connect(copy)
        db.executescript(sql)
        db.commit()
        db.close()
        if not compare_paths(truth_path, copy):
            failures.append(f"compare: a copy with a {label} is found equal to the truth")
        else:
            print(f"compare: a copy with a {label} differs, as it must")
    return failures


def by_state(segs):
    out = {}
    for _ts, dur, _m, _tid, state, _q in segs:
        out[state] = out.get(state, 0) + dur
    return out


def normalize(segs, links, start, end):
    """Segments clipped to [start, end), zero-length ones dropped, adjacent ones of the same worker,
    state and qualifier merged; links collapsed (collapse()). How the product cuts a worker's
    time into edges (a vertex wherever it woke someone) is not part of the path."""
    out = []
    for ts, dur, m, tid, state, q in segs:
        a, b = max(ts, start), min(ts + dur, end)
        if b <= a:
            continue
        if out and out[-1][2:] == (m, tid, state, q or None) and out[-1][0] + out[-1][1] == a:
            out[-1] = (out[-1][0], b - out[-1][0]) + out[-1][2:]
        else:
            out.append((a, b - a, m, tid, state, q or None))
    return out, collapse([link for link in links if start <= link[0] <= end])


def collapse(links):
    """Hand-off chains through workers that hold the path for no time become one hand-off: links
    at one instant where each leaves the worker the previous one reached (X->V, V->P at t is X->P;
    the truth goes through a preempted vCPU thread that the product may skip), keeping the first
    one's state; then links from a worker to itself are dropped."""
    out = []
    for link in links:
        if out and out[-1][0] == link[0] and (out[-1][3], out[-1][4]) == (link[1], link[2]):
            out[-1] = out[-1][:3] + link[3:5] + out[-1][5:]
        else:
            out.append(link)
    return [link for link in out if (link[1], link[2]) != (link[3], link[4])]


def compare_paths(truth_path, product_path, tolerance=0, qualifiers=False, link_states=False):
    """Compares the product's critical paths with the truth's: for every true path, the product's
    path of the same thread (machine by name, tid), over the truth's [start_ts, end_ts) (the
    product's path may begin or end at other vertices of the same thread), after normalize():
    the same number of segments, each with the same worker and state and its ts and dur within
    `tolerance` ns (guest times pass through the fused run's clock transforms); the same links
    (ts within `tolerance`, from, to). `qualifiers`: also the segments' qualifiers (the vmm exit
    reason's name, the guest IRQ's name); `link_states`: also the links' states. Returns the
    differences, one sentence each."""
    truth, product = sqlite3.connect(truth_path), sqlite3.connect(product_path)
    t_paths = load_paths(truth, dict(truth.execute("SELECT id, name FROM machine")))
    p_paths = load_paths(product, dict(product.execute("SELECT id, name FROM machine")))
    out = []
    for key, (row, segs, links) in sorted(t_paths.items()):
        if key not in p_paths:
            out.append(f"{key}: no critical path of this thread in the product")
            continue
        _pid, _name, start, end = row
        e_segs, e_links = normalize(segs, links, start, end)
        a_segs, a_links = normalize(p_paths[key][1], p_paths[key][2], start, end)

        def same_seg(e, a):
            return (abs(e[0] - a[0]) <= tolerance and abs(e[1] - a[1]) <= 2 * tolerance and e[2:5] == a[2:5]
                    and (not qualifiers or e[5] == a[5]))

        def same_link(e, a):
            return abs(e[0] - a[0]) <= tolerance and e[1:5] == a[1:5] and (not link_states or e[5] == a[5])

        def shifted(e, a, by):
            return (abs(e[0] - a[0]) <= tolerance + by and abs(e[1] - a[1]) <= 2 * tolerance + by
                    and e[2:5] == a[2:5] and (not qualifiers or e[5] == a[5]))

        # Segments: in order, except that a segment shorter than twice the tolerance may stand on
        # one side only, between two that match (a guest event placed up to `tolerance` away
        # from the truth lets a host event of the other machine fall on the other side of it: a
        # 148 ns `vmm` before a hand-off, say); the next segment then matches within its length.
        i = j = 0
        while i < len(e_segs) and j < len(a_segs):
            if same_seg(e_segs[i], a_segs[j]):
                i, j = i + 1, j + 1
            elif a_segs[j][1] < 2 * tolerance and j + 1 < len(a_segs) and shifted(e_segs[i], a_segs[j + 1], a_segs[j][1]):
                j += 1
            elif e_segs[i][1] < 2 * tolerance and i + 1 < len(e_segs) and shifted(e_segs[i + 1], a_segs[j], e_segs[i][1]):
                i += 1
            else:
                break
        # What is left at the end on one side only may be as short (the path's end is a guest event).
        if sum(seg[1] for seg in e_segs[i:] + a_segs[j:]) < 2 * tolerance and (i == len(e_segs) or j == len(a_segs)):
            i, j = len(e_segs), len(a_segs)
        if i < len(e_segs) or j < len(a_segs):
            out.append(f"{key}: {len(e_segs)} true segments, {len(a_segs)} in the product; first difference "
                       f"at true #{i}, product #{j}: expected {e_segs[i:i + 2]}, got {a_segs[j:j + 2]}")
        first = next((k for k in range(max(len(e_links), len(a_links)))
                      if k >= len(e_links) or k >= len(a_links) or not same_link(e_links[k], a_links[k])), None)
        if first is not None:
            out.append(f"{key}: {len(e_links)} true links, {len(a_links)} in the product; first difference "
                       f"#{first}: expected {e_links[first:first + 2]}, got {a_links[first:first + 2]}")
    return out


def product(plugin_dir, work, seeds):
    """The product's fused critical paths of every request thread against the truth, one run per
    seed: the scenario's traces as CTF, filter.vm.fuse, sink.vm.sqlite with `critical-path`, then
    compare_paths() with the qualifiers and a tolerance of the fused run's own sync accuracy (the
    largest `sync.accuracy_ns` of its guests, rounded up: guest timestamps pass through the
    transforms; durations get twice that)."""
    import math
    from bt_cli import babeltrace2
    bt = babeltrace2(plugin_dir)
    failures = []
    for seed in seeds:
        run_dir = os.path.join(work, f"seed-{seed}")
        params = PARAMS.replace("seed=3,", f"seed={seed},") + ",disk-irq-rate=0"
        truth = write_truth(plugin_dir, run_dir, params)
        ctf, db = os.path.join(run_dir, "ctf"), os.path.join(run_dir, "product.db")
        subprocess.run(["rm", "-rf", ctf, db], check=True)
        steps = [bt + ["run", "--component=src:source.vm.scenario", f"--params={params}",
                       "--component=mux:filter.utils.muxer", "--component=out:sink.ctf.fs",
                       f'--params=path="{ctf}",quiet=true', "--connect=src:mux", "--connect=mux:out"]]
        tdb = sqlite3.connect(truth)
        vms = [n for n, in tdb.execute("SELECT name FROM machine WHERE parent IS NOT NULL ORDER BY name")]
        selectors = ",".join(f"{m}/{t}" for m, t in tdb.execute(
            "SELECT m.name, p.tid FROM critical_path p JOIN machine m ON m.id = p.machine_id ORDER BY p.id"))
        steps.append(bt + [os.path.join(ctf, "host")] + [os.path.join(ctf, vm) for vm in vms] +
                     ["-c", "filter.vm.fuse", "-c", "sink.vm.sqlite", "-p", f'path="{db}",critical-path="{selectors}"'])
        for step in steps:
            r = subprocess.run(step, capture_output=True, text=True)
            if r.returncode != 0 or "Sanitizer" in r.stderr or "runtime error:" in r.stderr:
                sys.stderr.write(r.stderr[-4000:])
                raise SystemExit(f"FAIL: {' '.join(step[-6:])} exited {r.returncode}")
        got = sqlite3.connect(db)
        accuracy = max((a for a, in got.execute(
            "SELECT accuracy_ns FROM sync WHERE method <> 'reference' AND accuracy_ns IS NOT NULL")), default=0)
        tolerance = math.ceil(accuracy)
        if tolerance > 1000:
            failures.append(f"seed {seed}: the fused run's sync accuracy is {accuracy} ns, not a few hundred")
        diffs = compare_paths(truth, db, tolerance, qualifiers=True)
        failures += [f"seed {seed}: {d}" for d in diffs]
        t_paths = load_paths(tdb, dict(tdb.execute("SELECT id, name FROM machine")))
        for key, (_row, segs, links) in sorted(t_paths.items()):
            print(f"seed {seed}, {key[0]}/{key[1]}: {len(segs)} true segments, {len(links)} links "
                  f"(tolerance {tolerance} ns): {'differs' if any(str(key) in d for d in diffs) else 'equal'}")
    print("".join(f"MISMATCH {f}\n" for f in failures)
          + (f"FAIL: {len(failures)} difference(s)" if failures else
             "OK: the product's fused critical paths equal the truth, segment by segment"))
    return 1 if failures else 0


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "product":
        return product(sys.argv[2], sys.argv[3], [int(s) for s in sys.argv[4:]] or [3])
    if len(sys.argv) >= 4 and sys.argv[1] == "invariants":
        return invariants(sys.argv[2], sys.argv[3])
    if len(sys.argv) >= 4 and sys.argv[1] == "compare":
        args = sys.argv[4:]
        tolerance = int(args[args.index("--tolerance") + 1]) if "--tolerance" in args else 0
        diffs = compare_paths(sys.argv[2], sys.argv[3], tolerance, "--qualifiers" in args, "--link-states" in args)
        print("".join(f"MISMATCH {d}\n" for d in diffs)
              + (f"FAIL: {len(diffs)} path(s) differ" if diffs else "OK: the product's critical paths equal the truth"))
        return 1 if diffs else 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
