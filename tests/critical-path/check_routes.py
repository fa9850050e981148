# SPDX-License-Identifier: MIT
"""Both routes to a critical path give the same rows: sink.vm.sqlite with `critical-path` on a real
trace (DB1), and vm-critical-path on a copy of DB1 whose critical_path* rows were deleted, with the
same selectors (DB2). The three tables are compared as multisets of rows, every column. The
oracle is the sink's own route: the command must reproduce it from the stored graph alone.
Then the command's errors: a missing database, a database without the graph (the message names
the sink parameter), a selector that selects nothing (the database is left as it was), a
malformed selector (also in the sink); and a second run replaces the paths instead of adding.

usage: check_routes.py PLUGIN_DIR VM_CRITICAL_PATH SOURCE_DIR WORK_DIR CASE
CASE: host-slice (traces/lab/basic-host-4s.tar.xz) or basic-pair DATA_DIR (the lab basic host
and guest fused, unpacked by scripts/unpack-traces.sh into DATA_DIR).
"""
import filecmp
import glob
import os
import shutil
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "params"))
from bt_cli import babeltrace2  # noqa: E402

TABLES = ["critical_path", "critical_path_segment", "critical_path_link"]
problems = []


def check(condition, message):
    if not condition:
        problems.append(message)
        print("FAIL:", message)


def rows(db, table):
    with sqlite3.connect(db) as c:
        cols = [r[1] for r in c.execute(f'PRAGMA table_info("{table}")')]
        out = c.execute(f'SELECT {", ".join(cols)} FROM "{table}"').fetchall()
    key = lambda t: tuple((v is None, type(v).__name__, v if v is not None else 0) for v in t)
    return sorted(out, key=key)


def run(cmd, ok=True):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if ok and p.returncode != 0:
        print(p.stdout, p.stderr)
        raise SystemExit(f"FAIL: {' '.join(cmd)} exited with {p.returncode}")
    return p


def main():
    plugin_dir, tool, source_dir, work, case = sys.argv[1:6]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    bt = babeltrace2(plugin_dir)
    db1, db2 = os.path.join(work, "sink.db"), os.path.join(work, "command.db")
    if case == "host-slice":
        subprocess.run(["tar", "-xJf", os.path.join(source_dir, "traces", "lab", "basic-host-4s.tar.xz"), "-C", work],
                       check=True)
        trace = glob.glob(os.path.join(work, "slice", "tl-host", "*", "kernel"))[0]
        graph = [trace]
        # Threads of the slice (its sched_switch next_comm / next_tid): the QEMU threads by name,
        # run-host.sh by tid, socat on machine 1, ksoftirqd/1 (a name of the form TEXT/DIGITS),
        # and the swappers (tid 0, one per CPU).
        selectors = ["qemu-system-x86", "256", "1/321", "ksoftirqd/1", "0"]
    else:
        data = sys.argv[6]
        lab = os.path.join(data, "lab", "basic")
        graph = ["-c", "s0:source.ctf.fs", "-p", f'inputs=["{lab}/host/kernel"]', "-c", "s1:source.ctf.fs",
                 "-p", f'inputs=["{lab}/guest/kernel"]', "-c", "fuse:filter.vm.fuse", "--connect", "s0:fuse",
                 "--connect", "s1:fuse", "--connect", "fuse:out"]
        # The host's QEMU threads by name; guest threads (tests/e2e's lab pair: run-guest.sh,
        # socat) by machine name, machine id and name.
        selectors = ["qemu-system-x86", "guest-basic/245", "2/361", "run-guest.sh"]
    sink = ["-c", "out:sink.vm.sqlite", "-p", f'path="{db1}",critical-path="{",".join(selectors)}"']
    if case == "host-slice":
        run(bt + graph + sink)
    else:
        run(bt + ["run"] + graph + sink)

    paths = rows(db1, "critical_path")
    check(len(paths) >= len(selectors), f"the sink wrote {len(paths)} paths for {len(selectors)} selectors")
    check(len(rows(db1, "critical_path_segment")) > len(paths), "the sink's paths have almost no segment")
    print(f"sink: {len(paths)} paths, {len(rows(db1, 'critical_path_segment'))} segments, "
          f"{len(rows(db1, 'critical_path_link'))} links")

    shutil.copy(db1, db2)
    with sqlite3.connect(db2) as c:
        for t in TABLES:
            c.execute(f"DELETE FROM {t}")
    run([tool, db2] + selectors)
    for t in TABLES:
        a, b = rows(db1, t), rows(db2, t)
        check(a == b, f"{t}: the sink wrote {len(a)} rows, vm-critical-path {len(b)}; "
                      f"{len(set(a) - set(b))} only in the sink's, {len(set(b) - set(a))} only in the command's")

    # A second run of the command replaces the paths of the same threads.
    run([tool, db2] + selectors)
    for t in TABLES:
        check(len(rows(db2, t)) == len(rows(db1, t)), f"{t}: a second run added rows instead of replacing them")

    # Errors.
    p = run([tool, os.path.join(work, "missing.db"), "1"], ok=False)
    check(p.returncode == 1 and "no database" in p.stderr, f"missing database: {p.returncode} {p.stderr!r}")
    plain = os.path.join(work, "plain.db")
    run(bt + (graph if case == "host-slice" else ["run"] + graph) +
        ["-c", "out:sink.vm.sqlite", "-p", f'path="{plain}"'])
    with sqlite3.connect(plain) as c:
        names = {r[0] for r in c.execute("SELECT name FROM sqlite_master")}
    check(not any(n.startswith(("critical_path", "exec_graph")) for n in names),
          "without critical-path the sink created graph or path tables")
    p = run([tool, plain, "1"], ok=False)
    check(p.returncode == 1 and "critical-path" in p.stderr and "exec_graph" in p.stderr,
          f"database without the graph: {p.returncode} {p.stderr!r}")
    before = os.path.join(work, "before.db")
    shutil.copy(db2, before)
    p = run([tool, db2, "256", "no-such-command"], ok=False)
    check(p.returncode == 1 and "`no-such-command` selects nothing" in p.stderr,
          f"selector matching nothing: {p.returncode} {p.stderr!r}")
    check(filecmp.cmp(before, db2, shallow=False), "a failed vm-critical-path run changed the database")
    p = run([tool, db2, "host/"], ok=False)
    check(p.returncode == 2 and "critical-path selector `host/`" in p.stderr, f"malformed selector: {p.stderr!r}")
    bad = os.path.join(work, "bad.db")
    p = run(bt + (graph if case == "host-slice" else ["run"] + graph) +
            ["-c", "out:sink.vm.sqlite", "-p", f'path="{bad}",critical-path="12,,13"'], ok=False)
    check(p.returncode != 0 and "is empty" in p.stderr and not os.path.exists(bad),
          f"sink with a malformed selector: {p.returncode} {p.stderr[-400:]!r}")

    print(f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
