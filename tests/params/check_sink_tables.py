# SPDX-License-Identifier: MIT
"""Every table and view of a real run's database is named by `babeltrace2 help sink.vm.sqlite`
(on a line of its own, as the first word) and has a row in the README's tables under
"## The tables".

usage: check_sink_tables.py PLUGIN_DIR SOURCE_DIR WORK_DIR
The database is written by sink.vm.sqlite from the shipped OneQemuKvm host stub.
"""
import os
import re
import shutil
import sqlite3
import subprocess
import sys

from bt_cli import babeltrace2


def main():
    plugin_dir, source_dir, work = sys.argv[1:4]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    bt = babeltrace2(plugin_dir)
    db = os.path.join(work, "stub.db")
    trace = os.path.join(source_dir, "traces", "tc-stubs", "OneQemuKvm-lttng", "host")
    subprocess.run(bt + [trace, "-c", "sink.vm.sqlite", "-p", f'path="{db}"'], check=True, capture_output=True)
    with sqlite3.connect(db) as connection:
        names = [(kind, name) for kind, name in connection.execute(
            "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' "
            "ORDER BY type, name")]
    help_text = subprocess.run(bt + ["help", "sink.vm.sqlite"], check=True, capture_output=True, text=True).stdout
    with open(os.path.join(source_dir, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    section = re.search(r"^## The tables\n(.*?)(?=^## )", readme, re.MULTILINE | re.DOTALL)
    readme_rows = set(re.findall(r"^\| `([a-z_]+)` \|", section.group(1) if section else "", re.MULTILINE))

    problems = []
    if not names:
        problems.append(f"the database {db} has no table")
    for kind, name in names:
        if not re.search(r"^\s+" + re.escape(name) + r"\b", help_text, re.MULTILINE):
            problems.append(f"`babeltrace2 help sink.vm.sqlite` does not name the {kind} `{name}`")
        if name not in readme_rows:
            problems.append(f"README.md, \"## The tables\": no row for the {kind} `{name}`")
    problems += check_indexes(bt, trace, work)
    for problem in problems:
        print("FAIL:", problem)
    print(f"{len(names)} tables and views checked, {len(problems)} problems")
    return 1 if problems else 0


# The indexes of the interval tables for each value of `indexes`, as its help in
# plugins/vm/sqlite-sink/params.h names them; the other tables' indexes are always there.
BY_TIME = {"cpu_state_by_ts", "thread_state_by_ts", "vcpu_state_by_ts"}
BY_KEY = {"cpu_state_by_cpu", "thread_state_by_tid", "vcpu_state_by_vcpu"}
ALWAYS = {"thread_by_tid", "vcpu_halt_by_vcpu", "container_thread_by_tid"}


def check_indexes(bt, trace, work):
    problems = []
    # writer-thread=false creates the indexes at commit, on the one thread: the same choice.
    cases = ((None, True, BY_TIME), ("time", True, BY_TIME), ("key", True, BY_KEY), ("both", True, BY_TIME | BY_KEY),
             ("key", False, BY_KEY), (None, False, BY_TIME))
    for value, writer_thread, wanted in cases:
        db = os.path.join(work, f"indexes-{value}-{writer_thread}.db")
        params = f'path="{db}"' + (f',indexes="{value}"' if value else "") + \
            ("" if writer_thread else ",writer-thread=false")
        subprocess.run(bt + [trace, "-c", "sink.vm.sqlite", "-p", params], check=True, capture_output=True)
        with sqlite3.connect(db) as connection:
            have = {name for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'")}
            # A time window is searched through the index on ts when there is one.
            plan = " ".join(row[-1] for row in connection.execute(
                "EXPLAIN QUERY PLAN SELECT * FROM thread_state WHERE ts BETWEEN 1 AND 2"))
        if have != wanted | ALWAYS:
            problems.append(f"indexes={value}, writer-thread={writer_thread}: the database has the indexes {sorted(have)}, "
                            f"expected {sorted(wanted | ALWAYS)}")
        if ("thread_state_by_ts" in wanted) != ("thread_state_by_ts" in plan):
            problems.append(f"indexes={value}, writer-thread={writer_thread}: a time-window query on thread_state "
                            f"is planned as `{plan}`")
    return problems


if __name__ == "__main__":
    sys.exit(main())
