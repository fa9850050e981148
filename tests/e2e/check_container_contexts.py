#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Checks the `container` and `container_thread` tables of a database against the
`vtid` / `vpid` contexts that an LTTng trace carries on every event.

usage: check_container_contexts.py DATABASE TRACE_DIR MACHINE_NAME

Contexts with vtid 0 are skipped: the kernel reports 0 for a thread that is
already detached from its namespace while it exits.
The contexts are recorded by the kernel for the thread running the event, in
that thread's own (deepest) PID namespace, so they are an independent oracle:
- every thread whose events show vtid != tid lives in a namespace below the
  root: the database must list it in `container_thread`, and its deepest
  level must carry that vtid and vpid, in a namespace of level >= 1 whose
  chain of parents in `container` reaches the root namespace (level 0);
- every thread whose events show vtid == tid and that the database places in
  namespaces must have that tid at its deepest level too.
Prints a summary; exits 1 on the first mismatches (up to 10 shown).
"""
import sqlite3
import sys

import bt2


def contexts(trace_dir):
    """tid -> set of (vtid, vpid) seen in the event contexts."""
    seen = {}
    for msg in bt2.TraceCollectionMessageIterator(trace_dir):
        if type(msg) is not bt2._EventMessageConst:
            continue
        ctx = msg.event.common_context_field
        tid, vtid = int(ctx['tid']), int(ctx['vtid'])
        if tid == 0 or vtid == 0:
            continue  # idle, or a dying thread already detached from its namespace (the kernel says 0)
        seen.setdefault(tid, set()).add((vtid, int(ctx['vpid'])))
    return seen


def main():
    db_path, trace_dir, machine = sys.argv[1:4]
    db = sqlite3.connect(db_path)
    (machine_id,) = db.execute('SELECT id FROM machine WHERE name = ?', (machine,)).fetchone()
    deepest = {}
    for tid, level, ns, vtid, vpid in db.execute(
            'SELECT tid, ns_level, ns_inum, vtid, vpid FROM container_thread WHERE machine_id = ? '
            'ORDER BY tid, ns_level', (machine_id,)):
        deepest[tid] = (level, ns, vtid, vpid)
    parents = {ns: (parent, level) for ns, parent, level in db.execute(
        'SELECT ns_inum, parent_ns_inum, ns_level FROM container WHERE machine_id = ?', (machine_id,))}

    def reaches_root(ns):
        for _ in range(64):
            if ns not in parents:
                return False
            parent, level = parents[ns]
            if level == 0:
                return parent is None
            ns = parent
        return False

    problems = []
    inside = 0
    for tid, pairs in sorted(contexts(trace_dir).items()):
        if len(pairs) != 1:
            problems.append('tid {}: several (vtid, vpid) contexts {}'.format(tid, sorted(pairs)))
            continue
        vtid, vpid = next(iter(pairs))
        row = deepest.get(tid)
        if vtid != tid:
            inside += 1
            if row is None:
                problems.append('tid {} (vtid {} in its events) is in no container'.format(tid, vtid))
            elif row[0] < 1 or (row[2], row[3]) != (vtid, vpid) or not reaches_root(row[1]):
                problems.append('tid {}: events say vtid {} vpid {}, database says level {} ns {} vtid {} '
                                'vpid {}'.format(tid, vtid, vpid, row[0], row[1], row[2], row[3]))
        elif row is not None and row[2] != tid:
            problems.append('tid {}: root-namespace thread, database deepest level {}'.format(tid, row))
    print('check_container_contexts: {} threads inside containers, {} with namespaces in the database, '
          '{} problems'.format(inside, len(deepest), len(problems)))
    for problem in problems[:10]:
        print('  ' + problem)
    if problems or inside == 0:
        sys.exit(1)


if __name__ == '__main__':
    main()
