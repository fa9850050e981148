#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A profile of the hot path: the default pipeline (filter.vm.fuse, one pass, into sink.vm.sqlite)
# on one input, sampled by `perf record` (no call graphs: the libraries have no frame pointers),
# reported per thread: the decoding thread (babeltrace2's graph: CTF decoding, the fuse filter,
# the analyses) and sink.vm.sqlite's writer thread (SQLite). For each thread: its share of the
# samples, by library, and its hottest symbols. Shares are of all the run's samples.
#
# usage: bench/profile.sh [--input NAME] [--top N] [--markdown FILE] [--plugin-dir DIR]
#   --input NAME     lab-pair (default), lab-nested, or scenario-N (N events: 1000000, ...; made
#                    by source.vm.scenario into the bench folder when absent)
#   --top N          symbols listed per thread (default 15)
#   --markdown FILE  also write the report as Markdown into FILE, between the markers
#                    <!-- profile:NAME:begin --> and <!-- profile:NAME:end --> (created if absent)
#   VM_SHARED_DIR, VM_BENCH_DIR: as for bench/run.sh
# Needs perf (apt-get install linux-perf) and permission to sample (perf_event_paranoid <= 2).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
input=lab-pair
count=15
markdown=""
plugin_dir=${VM_PLUGIN_DIR:-$top/build/plugins}
while [ $# -gt 0 ]; do
  case $1 in
    --input) input=$2; shift 2 ;;
    --top) count=$2; shift 2 ;;
    --markdown) markdown=$2; shift 2 ;;
    --plugin-dir) plugin_dir=$2; shift 2 ;;
    -h|--help) sed -n '3,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "profile: unknown option $1 (see --help)" >&2; exit 1 ;;
  esac
done
command -v perf >/dev/null || { echo "profile: perf is missing: apt-get install linux-perf" >&2; exit 1; }
[ -f "$plugin_dir/babeltrace-plugin-vm.so" ] || { echo "profile: no plugin in $plugin_dir: run scripts/build.sh" >&2; exit 1; }
case $count in ''|*[!0-9]*) echo "profile: --top takes a number, not \`$count\`" >&2; exit 1 ;; esac
shared=${VM_SHARED_DIR:-$top/../shared}
work=${VM_BENCH_DIR:-$top/build/bench-data}
mkdir -p "$work"
bt=(babeltrace2 --omit-home-plugin-path --plugin-path="$plugin_dir")
case $input in
  lab-pair)
    "$top/scripts/unpack-traces.sh" "$shared" "$work" lab/basic.tar.xz
    traces=("$work/lab/basic/host/kernel" "$work/lab/basic/guest/kernel") ;;
  lab-nested)
    "$top/scripts/unpack-traces.sh" "$shared" "$work" lab/nested.tar.xz
    traces=("$work/lab/nested/host/kernel" "$work/lab/nested/guest/kernel" "$work/lab/nested/l2/kernel") ;;
  scenario-*)
    n=${input#scenario-}
    case $n in ''|*[!0-9]*) echo "profile: --input scenario-N takes a number of events, not \`$n\`" >&2; exit 1 ;; esac
    sdir="$work/scenario-$n"
    if [ ! -f "$sdir/truth.sqlite" ]; then  # the same scenario as bench/run.sh's
      VM_PLUGIN_DIR=$plugin_dir "$top/scripts/make-scenario.sh" "$sdir" "$n" \
        'seed=1,vms=2,pcpus=2,vcpus-per-vm=2,nested=true,drift-ppm=0' >&2
    fi
    traces=()
    for t in "$sdir"/ctf/*; do traces+=("$t"); done ;;
  *) echo "profile: unknown input \`$input\`: lab-pair, lab-nested or scenario-N" >&2; exit 1 ;;
esac

db="$work/profile.db" data="$work/profile.perf"
graph=(run)
i=0
for t in "${traces[@]}"; do
  graph+=(-c "s$i:source.ctf.fs" -p "inputs=[\"$t\"]" --connect "s$i:fuse")
  i=$((i + 1))
done
graph+=(-c fuse:filter.vm.fuse --connect fuse:out -c out:sink.vm.sqlite -p "path=\"$db\"")
rm -f "$db"
perf record -q -F 999 -o "$data" -- "${bt[@]}" "${graph[@]}" 2>/dev/null

report=$(mktemp)
trap 'rm -f "$report"' EXIT
report_of() { perf report -i "$data" --stdio --no-children "$@" 2>/dev/null | grep -v '^#' | grep -v '^$' || true; }
{
  echo "Profile of \`fuse + SQLite\` (one pass, the default) on $input ($(date -u +%F), $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown))"
  echo
  echo "    babeltrace2 --plugin-path=$plugin_dir ${graph[*]}"
  echo
  pid=$(perf script -i "$data" -F pid 2>/dev/null | awk 'NR == 1 {p = $1} END {print p}')  # its main thread's tid
  while read -r share tid_comm; do
    tid=${tid_comm%%:*}
    if [ "$tid" = "$pid" ]; then name="decoding thread"; else name="writer thread"; fi
    echo "**$name** (tid $tid): $share of the samples"
    echo
    echo "| library | share |"
    echo "|---|---|"
    report_of --sort pid,dso | awk -v t="$tid" 'index($2, t ":") == 1 && $1 + 0 >= 0.5 {printf "| %s | %s |\n", $3, $1}'
    echo
    echo "| symbol | share |"
    echo "|---|---|"
    report_of --sort pid,sym | awk -v t="$tid" -v n="$count" 'index($2, t ":") == 1 && k++ < n' |
      awk '{s = $1; $1 = ""; $2 = ""; $3 = ""; sub(/^ +/, ""); printf "| `%s` | %s |\n", $0, s}'
    echo
  done < <(report_of --sort pid | awk '$1 + 0 >= 1 {print $1, $2}')
} > "$report"
cat "$report"
if [ -n "$markdown" ]; then
  begin="<!-- profile:$input:begin -->" end="<!-- profile:$input:end -->"
  [ -f "$markdown" ] || : > "$markdown"
  if grep -qF "$begin" "$markdown"; then
    awk -v b="$begin" -v e="$end" -v f="$report" '
      $0 == b {print; while ((getline line < f) > 0) print line; skip = 1; next}
      $0 == e {skip = 0}
      !skip {print}' "$markdown" > "$markdown.tmp" && mv "$markdown.tmp" "$markdown"
  else
    { echo "$begin"; cat "$report"; echo "$end"; } >> "$markdown"
  fi
fi
