#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Regression check for refactorings: runs the same five analyses with two builds of the plugin
# and compares their databases table by table, row by row.
#
# usage: scripts/compare-dbs.sh run PLUGIN_DIR OUT_DIR   writes OUT_DIR/<case>.db for every case
#        scripts/compare-dbs.sh diff DIR_A DIR_B         compares the databases of two runs
#        scripts/compare-dbs.sh both PLUGIN_A PLUGIN_B OUT_DIR   run A, run B, diff (OUT_DIR/a, OUT_DIR/b)
# Cases: the lab basic host and guest fused; the lab nested host, L1 and L2 fused; the shipped
# container slice fused; the lab basic host alone (host-only); a 1 M-event source.vm.scenario
# trace set fused (generated once, with PLUGIN_DIR's source.vm.scenario, into the data folder);
# basic-pair-cp and scenario-1m-cp: the first and the last with `critical-path` (not by default);
# scenario-1m-drift50: a 1 M-event scenario whose guests' clocks drift by 50 ppm, so that the
# window solver's drift search decides the transforms (not by default); scenario-10m: the bench's
# 10 M-event scenario, where vCPUs tie in host time (not by default: a run takes about a minute a
# side, and the diff of its 24.6 M rows about half an hour).
#   VM_SHARED_DIR      the shared folder (default: ../shared beside the checkout)
#   VM_COMPARE_DATA    where the traces are unpacked (default: build/compare-data)
#   VM_COMPARE_CASES   the cases to run (default: "basic-pair nested container basic-host scenario-1m")
# Every table and view is compared as a multiset of rows (row order is not part of the result);
# the `run` table's finished_at and the output path in `parameters` are left out. Exit status 1
# when anything differs.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
shared=${VM_SHARED_DIR:-$top/../shared}
data=${VM_COMPARE_DATA:-$top/build/compare-data}
cases=${VM_COMPARE_CASES:-basic-pair nested container basic-host scenario-1m}

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

fused() {  # plugin_dir db trace...
  local plugin_dir=$1 db=$2 args=(run) i=0 t
  shift 2
  for t in "$@"; do args+=(-c "s$i:source.ctf.fs" -p "inputs=[\"$t\"]" --connect "s$i:fuse"); i=$((i + 1)); done
  babeltrace2 --omit-home-plugin-path --plugin-path="$plugin_dir" "${args[@]}" -c fuse:filter.vm.fuse \
    -c out:sink.vm.sqlite -p "path=\"$db\"${sink_extra:-}" --connect fuse:out
}

run_cases() {  # plugin_dir out_dir
  local plugin_dir=$1 out=$2 case_name start
  [ -f "$plugin_dir/babeltrace-plugin-vm.so" ] || { echo "compare-dbs: no plugin in $plugin_dir" >&2; exit 2; }
  mkdir -p "$out" "$data"
  "$top/scripts/unpack-traces.sh" "$shared" "$data" lab/basic.tar.xz lab/nested.tar.xz
  if [ ! -f "$data/slice-c/.unpacked" ]; then
    tar -xJf "$top/traces/lab/container-2s.tar.xz" -C "$data" && touch "$data/slice-c/.unpacked"
  fi
  if [ ! -f "$data/scenario-1m/truth.sqlite" ]; then
    VM_PLUGIN_DIR=$plugin_dir "$top/scripts/make-scenario.sh" "$data/scenario-1m" 1000000 \
      'seed=1,vms=2,pcpus=2,vcpus-per-vm=2,nested=true,drift-ppm=0' >&2
  fi
  if [[ " $cases " == *" scenario-10m "* && ! -f "$data/scenario-10m/truth.sqlite" ]]; then
    VM_PLUGIN_DIR=$plugin_dir "$top/scripts/make-scenario.sh" "$data/scenario-10m" 10000000 \
      'seed=1,vms=2,pcpus=2,vcpus-per-vm=2,nested=true,drift-ppm=0' >&2
  fi
  if [[ " $cases " == *" scenario-1m-drift50 "* && ! -f "$data/scenario-1m-drift50/truth.sqlite" ]]; then
    VM_PLUGIN_DIR=$plugin_dir "$top/scripts/make-scenario.sh" "$data/scenario-1m-drift50" 1000000 \
      'seed=2,vms=2,pcpus=2,vcpus-per-vm=2,nested=true,drift-ppm=50' >&2
  fi
  local lab=$data/lab
  for case_name in $cases; do
    start=$(date +%s%N)
    rm -f "$out/$case_name.db"
    case $case_name in
      basic-pair) fused "$plugin_dir" "$out/$case_name.db" "$lab/basic/host/kernel" "$lab/basic/guest/kernel" ;;
      nested) fused "$plugin_dir" "$out/$case_name.db" "$lab/nested/host/kernel" "$lab/nested/guest/kernel" \
        "$lab/nested/l2/kernel" ;;
      container) fused "$plugin_dir" "$out/$case_name.db" \
        "$(dirname "$(find "$data/slice-c/host" -name metadata)")" \
        "$(dirname "$(find "$data/slice-c/guest" -name metadata)")" ;;
      basic-host) babeltrace2 --omit-home-plugin-path --plugin-path="$plugin_dir" "$lab/basic/host/kernel" \
        -c sink.vm.sqlite -p "path=\"$out/$case_name.db\"" ;;
      scenario-1m) fused "$plugin_dir" "$out/$case_name.db" "$data"/scenario-1m/ctf/* ;;
      # With the execution graph and critical paths (issue 12): the guest's dd threads, the
      # scenario's request thread app-0.
      basic-pair-cp) sink_extra=',critical-path="dd"' fused "$plugin_dir" "$out/$case_name.db" \
        "$lab/basic/host/kernel" "$lab/basic/guest/kernel" ;;
      scenario-1m-cp) sink_extra=',critical-path="app-0"' fused "$plugin_dir" "$out/$case_name.db" \
        "$data"/scenario-1m/ctf/* ;;
      scenario-10m) fused "$plugin_dir" "$out/$case_name.db" "$data"/scenario-10m/ctf/* ;;
      scenario-1m-drift50) fused "$plugin_dir" "$out/$case_name.db" "$data"/scenario-1m-drift50/ctf/* ;;
      *) echo "compare-dbs: unknown case $case_name" >&2; exit 2 ;;
    esac
    echo "compare-dbs: $case_name with $plugin_dir: $((($(date +%s%N) - start) / 1000000)) ms" >&2
  done
}

diff_dirs() {  # dir_a dir_b
  /usr/bin/python3 - "$1" "$2" $cases <<'PY'
import os, re, sqlite3, sys
a_dir, b_dir, cases = sys.argv[1], sys.argv[2], sys.argv[3:]
def rows(db, name):
    cols = [r[1] for r in db.execute(f'PRAGMA table_info("{name}")')]
    keep = [c for c in cols if not (name == "run" and c == "finished_at")]
    out = []
    for r in db.execute("SELECT " + ",".join(f'"{c}"' for c in keep) + f' FROM "{name}"'):
        r = list(r)
        if name == "run" and "parameters" in keep:
            i = keep.index("parameters")
            r[i] = re.sub(r'path="[^"]*"', 'path=<out>', r[i] or "")
        out.append(tuple(r))
    key = lambda t: tuple((v is None, type(v).__name__, v if v is not None else 0) for v in t)
    return keep, sorted(out, key=key)
failed = False
for case in cases:
    pa, pb = os.path.join(a_dir, case + ".db"), os.path.join(b_dir, case + ".db")
    if not (os.path.exists(pa) and os.path.exists(pb)):
        print(f"{case}: MISSING {pa if not os.path.exists(pa) else pb}"); failed = True; continue
    da, db_ = sqlite3.connect(pa), sqlite3.connect(pb)
    objs = lambda d: {(t, n) for t, n in d.execute("SELECT type, name FROM sqlite_master WHERE type IN ('table','view')")}
    oa, ob = objs(da), objs(db_)
    va = da.execute("PRAGMA user_version").fetchone()[0]; vb = db_.execute("PRAGMA user_version").fetchone()[0]
    problems = []
    if va != vb: problems.append(f"user_version {va} != {vb}")
    for o in sorted(oa ^ ob): problems.append(f"{o[0]} {o[1]} only in {'A' if o in oa else 'B'}")
    total = 0
    for kind, name in sorted(oa & ob):
        ca, ra = rows(da, name); cb, rb = rows(db_, name)
        total += len(ra)
        if ca != cb: problems.append(f"{kind} {name}: columns {ca} != {cb}"); continue
        if ra != rb:
            sa, sb = set(ra), set(rb)
            ex = next(iter(sa - sb), None) or next(iter(sb - sa), None)
            problems.append(f"{kind} {name}: {len(ra)} vs {len(rb)} rows, {len(sa - sb)} only in A, "
                            f"{len(sb - sa)} only in B, e.g. {ex}")
    if problems:
        failed = True
        print(f"{case}: DIFFERENT"); [print("   ", p) for p in problems]
    else:
        print(f"{case}: identical: {len(oa)} tables and views, {total:,} rows")
sys.exit(1 if failed else 0)
PY
}

[ $# -ge 1 ] || usage
case $1 in
  run) [ $# -eq 3 ] || usage; run_cases "$2" "$3" ;;
  diff) [ $# -eq 3 ] || usage; diff_dirs "$2" "$3" ;;
  both) [ $# -eq 4 ] || usage; run_cases "$2" "$4/a"; run_cases "$3" "$4/b"; diff_dirs "$4/a" "$4/b" ;;
  *) usage ;;
esac
