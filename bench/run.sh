#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmarks the vm pipelines against babeltrace2's plain read of the same traces, in the same
# run: runs alternate (plain, pipeline, plain, pipeline, ...), each measured with GNU time
# (wall, user+sys, peak RSS); the table gives medians and the ratios to the plain read.
#
# usage: bench/run.sh [--runs N] [--markdown FILE] [--plugin-dir DIR] [--baseline-plugin-dir DIR]
#   --runs N         timed runs of each pipeline (default 5), after one untimed warm-up
#   --baseline-plugin-dir DIR  also run every vm pipeline with the plugin in DIR (an older build),
#                    alternating with the others, to compare before/after in the same run
#   --markdown FILE  also write the table and the exact commands as Markdown into FILE, between
#                    the markers <!-- bench:begin --> and <!-- bench:end --> (created if absent)
#   VM_SHARED_DIR    the shared folder (default: ../shared beside the checkout)
#   VM_BENCH_DIR     where traces are unpacked and databases written (default: build/bench-data)
#   VM_BENCH_SCENARIO_SIZES  source.vm.scenario inputs, in events (default "1000000 3000000 10000000")
#   VM_BENCH_ONLY    an extended regular expression: only the inputs whose label matches it
#                    (for example 'lab basic' for the basic host and pair)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
runs=5
markdown=""
plugin_dir=${VM_PLUGIN_DIR:-$top/build/plugins}
baseline_dir=""
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --markdown) markdown=$2; shift 2 ;;
    --plugin-dir) plugin_dir=$2; shift 2 ;;
    --baseline-plugin-dir) baseline_dir=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench: unknown option $1 (see --help)" >&2; exit 1 ;;
  esac
done
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is missing: apt-get install time" >&2; exit 1; }
[ -f "$plugin_dir/babeltrace-plugin-vm.so" ] || { echo "bench: no plugin in $plugin_dir: run scripts/build.sh" >&2; exit 1; }
shared=${VM_SHARED_DIR:-$top/../shared}
work=${VM_BENCH_DIR:-$top/build/bench-data}
mkdir -p "$work"
"$top/scripts/unpack-traces.sh" "$shared" "$work" real/tviz-yum.tar.xz lab/basic.tar.xz lab/nested.tar.xz

bt=(babeltrace2 --omit-home-plugin-path --plugin-path="$plugin_dir")
yum="$work/real/tviz-yum/yum"
host="$work/lab/basic/host/kernel"
guest="$work/lab/basic/guest/kernel"
nhost="$work/lab/nested/host/kernel" nguest="$work/lab/nested/guest/kernel" nl2="$work/lab/nested/l2/kernel"
db="$work/bench.db"
fuse_graph() {  # prints a run graph over the given traces into filter.vm.fuse, then $SINK
  local args=(run) i=0 t
  for t in "$@"; do args+=(-c "s$i:source.ctf.fs" -p "inputs=[\"$t\"]" --connect "s$i:fuse"); i=$((i + 1)); done
  args+=(-c fuse:filter.vm.fuse --connect fuse:out)
  printf '%q ' "${args[@]}"
}

# name | input label | events | command (eval'd)
cases=()
add() {
  [ -n "${VM_BENCH_ONLY:-}" ] && ! grep -Eq -- "$VM_BENCH_ONLY" <<<"$2" && return 0
  cases+=("$1|$2|$3|$4")
}
events_of() { babeltrace2 "$@" -c sink.utils.counter 2>/dev/null | awk '/Event messages/ {n = $1} END {print n}'; }
n_yum=$(events_of "$yum"); n_host=$(events_of "$host"); n_pair=$(events_of "$host" "$guest")
n_nested=$(events_of "$nhost" "$nguest" "$nl2")

add plain "tviz-yum (real, no KVM)" "$n_yum" "babeltrace2 $yum -o dummy"
add "host-only -> SQLite" "tviz-yum (real, no KVM)" "$n_yum" "${bt[*]} $yum -c sink.vm.sqlite -p 'path=\"$db\"'"
add plain "lab basic host" "$n_host" "babeltrace2 $host -o dummy"
add "host-only -> SQLite" "lab basic host" "$n_host" "${bt[*]} $host -c sink.vm.sqlite -p 'path=\"$db\"'"
add plain "lab basic host+guest" "$n_pair" "babeltrace2 $host $guest -o dummy"
# filter.vm.fuse's default: one pass (machines and transforms from a lead window, read again,
# then learned while emitting).
add "fuse only" "lab basic host+guest" "$n_pair" "${bt[*]} $(fuse_graph "$host" "$guest") -c out:sink.utils.dummy"
add "fuse + SQLite" "lab basic host+guest" "$n_pair" "${bt[*]} $(fuse_graph "$host" "$guest") -c out:sink.vm.sqlite -p 'path=\"$db\"'"
# With the critical paths of the guest's dd threads (issue 12: the execution graph of every
# machine, built, stored and walked).
add "fuse + SQLite + critical-path" "lab basic host+guest" "$n_pair" \
  "${bt[*]} $(fuse_graph "$host" "$guest") -c out:sink.vm.sqlite -p 'path=\"$db\",critical-path=\"dd\"'"
# The same with the synchronization of a previous run (sync="FILE": one pass).
cached="$work/cached-sync.db"
rm -f "$cached"
eval "${bt[*]} $(fuse_graph "$host" "$guest") -c out:sink.vm.sqlite -p 'path=\"$cached\"'" >/dev/null 2>&1
add "fuse + SQLite, cached sync" "lab basic host+guest" "$n_pair" \
  "${bt[*]} $(fuse_graph "$host" "$guest") -p 'sync=\"$cached\"' -c out:sink.vm.sqlite -p 'path=\"$db\"'"
# Two passes (sync-mode="two-pass": read every input to its end first, then seek back).
add "fuse only, two-pass" "lab basic host+guest" "$n_pair" \
  "${bt[*]} $(fuse_graph "$host" "$guest") -p 'sync-mode=\"two-pass\"' -c out:sink.utils.dummy"
add "fuse + SQLite, two-pass" "lab basic host+guest" "$n_pair" \
  "${bt[*]} $(fuse_graph "$host" "$guest") -p 'sync-mode=\"two-pass\"' -c out:sink.vm.sqlite -p 'path=\"$db\"'"
# One pass with the lead window's messages held (lead="hold", what a live input gets) instead of
# read again.
add "fuse + SQLite, lead held" "lab basic host+guest" "$n_pair" \
  "${bt[*]} $(fuse_graph "$host" "$guest") -p 'lead=\"hold\"' -c out:sink.vm.sqlite -p 'path=\"$db\"'"
add plain "lab nested host+L1+L2" "$n_nested" "babeltrace2 $nhost $nguest $nl2 -o dummy"
add "fuse + SQLite" "lab nested host+L1+L2" "$n_nested" "${bt[*]} $(fuse_graph "$nhost" "$nguest" "$nl2") -c out:sink.vm.sqlite -p 'path=\"$db\"'"
add "fuse + SQLite, two-pass" "lab nested host+L1+L2" "$n_nested" \
  "${bt[*]} $(fuse_graph "$nhost" "$nguest" "$nl2") -p 'sync-mode=\"two-pass\"' -c out:sink.vm.sqlite -p 'path=\"$db\"'"
# The interval tables indexed by key (machine, CPU / thread / vCPU, ts) instead of by time.
add "fuse + SQLite, indexes by key" "lab nested host+L1+L2" "$n_nested" \
  "${bt[*]} $(fuse_graph "$nhost" "$nguest" "$nl2") -c out:sink.vm.sqlite -p 'path=\"$db\",indexes=\"key\"'"

# Scenario inputs (source.vm.scenario written to CTF once, then reused): 2 VMs on 2 CPUs and a
# nested guest, no clock drift (drifting clocks are tested in tests/scale, cases drift and
# drift-50; drift costs the sync search a little, not the analysis). VM_BENCH_SCENARIO_SIZES
# lists their sizes in events ("" for none).
for size in ${VM_BENCH_SCENARIO_SIZES-1000000 3000000 10000000}; do
  sdir="$work/scenario-$size"
  if [ ! -f "$sdir/truth.sqlite" ]; then
    VM_PLUGIN_DIR=$plugin_dir "$top/scripts/make-scenario.sh" "$sdir" "$size" \
      'seed=1,vms=2,pcpus=2,vcpus-per-vm=2,nested=true,drift-ppm=0' >&2
  fi
  straces=("$sdir"/ctf/*)
  n=$(events_of "${straces[@]}")
  label="scenario $((size / 1000000))M"
  add plain "$label" "$n" "babeltrace2 ${straces[*]} -o dummy"
  add "host-only -> SQLite" "$label" "$n" "${bt[*]} $sdir/ctf/host -c sink.vm.sqlite -p 'path=\"$db\"'"
  add "fuse + SQLite" "$label" "$n" "${bt[*]} $(fuse_graph "${straces[@]}") -c out:sink.vm.sqlite -p 'path=\"$db\"'"
  add "fuse + SQLite, indexes by key" "$label" "$n" \
    "${bt[*]} $(fuse_graph "${straces[@]}") -c out:sink.vm.sqlite -p 'path=\"$db\",indexes=\"key\"'"
  add "fuse + SQLite + critical-path" "$label" "$n" \
    "${bt[*]} $(fuse_graph "${straces[@]}") -c out:sink.vm.sqlite -p 'path=\"$db\",critical-path=\"app-0\"'"
  add "fuse + SQLite, two-pass" "$label" "$n" \
    "${bt[*]} $(fuse_graph "${straces[@]}") -p 'sync-mode=\"two-pass\"' -c out:sink.vm.sqlite -p 'path=\"$db\"'"
  # The same with the graph in memory (graph-file=false): what the graph's file saves.
  add "fuse + SQLite + critical-path, graph in memory" "$label" "$n" \
    "${bt[*]} $(fuse_graph "${straces[@]}") -c out:sink.vm.sqlite -p 'path=\"$db\",critical-path=\"app-0\",graph-file=false'"
done

# With a baseline build: each vm pipeline once more with the baseline plugin, right after it.
if [ -n "$baseline_dir" ]; then
  [ -f "$baseline_dir/babeltrace-plugin-vm.so" ] || { echo "bench: no plugin in $baseline_dir" >&2; exit 1; }
  with_baseline=()
  for entry in "${cases[@]}"; do
    with_baseline+=("$entry")
    IFS='|' read -r name input events command <<<"$entry"
    [ "$name" = plain ] && continue
    with_baseline+=("$name [baseline]|$input|$events|${command//$plugin_dir/$baseline_dir}")
  done
  cases=("${with_baseline[@]}")
fi

measure() {  # command -> "wall user sys maxrss_kib"
  rm -f "$db"
  /usr/bin/time -f '%e %U %S %M' -o "$work/time.txt" bash -c "$1 >/dev/null 2>&1" || {
    echo "bench: failed: $1" >&2; exit 1; }
  cat "$work/time.txt"
}

results="$work/results.txt"
: >"$results"
# Per input: alternate the plain read and each pipeline of that input.
for round in $(seq 0 "$runs"); do
  for entry in "${cases[@]}"; do
    IFS='|' read -r name input events command <<<"$entry"
    line=$(measure "$command")
    [ "$round" -eq 0 ] && continue  # warm-up
    echo "$name|$input|$events|$line" >>"$results"
  done
  echo "bench: round $round of $runs done" >&2
done

/usr/bin/python3 - "$results" "$runs" "$markdown" "${cases[@]}" <<'PY'
import statistics, subprocess, sys, datetime, os
path, runs, markdown, cases = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
rows = {}
for line in open(path):
    name, inp, events, wall, user, sys_, rss = line.strip().split("|", 3)[:3] + line.strip().split("|", 3)[3].split()
    rows.setdefault((inp, name), []).append((float(wall), float(user) + float(sys_), int(rss), int(events)))
med = {k: (statistics.median(w for w, _, _, _ in v), statistics.median(c for _, c, _, _ in v),
           statistics.median(r for _, _, r, _ in v), v[0][3]) for k, v in rows.items()}
header = ["input", "events", "pipeline", "wall s", "user+sys s", "events/s", "peak RSS MiB",
          "wall ratio", "cpu ratio", "RSS ratio"]
table = []
for (inp, name), (wall, cpu, rss, events) in med.items():
    plain = med[(inp, "plain")]
    table.append([inp, f"{events:,}", name if name != "plain" else "plain read (reference)", f"{wall:.2f}",
                  f"{cpu:.2f}", f"{events / wall:,.0f}", f"{rss / 1024:.0f}", f"{wall / plain[0]:.2f}",
                  f"{cpu / plain[1]:.2f}", f"{rss / plain[2]:.2f}"])
widths = [max(len(str(r[i])) for r in table + [header]) for i in range(len(header))]
fmt = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths))
print(fmt(header)); print("  ".join("-" * w for w in widths))
for r in table: print(fmt(r))
print(f"\nmedians of {runs} alternating runs; commands:")
for c in cases:
    name, inp, _, cmd = c.split("|", 3)
    print(f"  [{inp} / {name}] {cmd}")
if markdown:
    def sh(cmd): return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    cpu = sh("lscpu | sed -n 's/^Model name: *//p'")
    md = ["<!-- bench:begin -->",
          f"Measured {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC by `bench/run.sh --runs {runs}` on {sh('nproc')} CPUs "
          f"({cpu}), {sh('babeltrace2 --version | head -1')}, commit {sh('git rev-parse --short HEAD') or '?'}. "
          f"Medians of {runs} alternating runs; ratios are against the plain read of the same input in the same run.",
          "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    md += ["| " + " | ".join(r) + " |" for r in table]
    md += ["", "Commands:", ""] + [f"- {c.split('|')[1]} / {c.split('|')[0]}: `{c.split('|', 3)[3]}`" for c in cases]
    md.append("<!-- bench:end -->")
    text = open(markdown).read() if os.path.exists(markdown) else "# Performance\n\n<!-- bench:begin -->\n<!-- bench:end -->\n"
    begin, end = text.find("<!-- bench:begin -->"), text.find("<!-- bench:end -->")
    text = text[:begin] + "\n".join(md) + text[end + len("<!-- bench:end -->"):] if begin >= 0 and end >= 0 else text + "\n" + "\n".join(md) + "\n"
    open(markdown, "w").write(text)
    print(f"\nwritten to {markdown}")
PY
