#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Where a pipeline's peak memory is: runs COMMAND and samples its /proc/PID/status every 50 ms,
# then prints the peaks of VmRSS (what GNU time and bench/run.sh report), RssAnon (the heap:
# our models, babeltrace2's objects, SQLite's cache) and RssFile (mapped file pages: the CTF
# data that source.ctf.fs maps as it reads, and the execution graph's spill files), in MiB.
# A sampled peak can miss a spike shorter than 50 ms; VmHWM (the kernel's exact peak of VmRSS)
# is printed beside it.
#
# usage: bench/rss-split.sh COMMAND [ARG...]
#   prints: peak_rss_mib=N hwm_mib=N peak_anon_mib=N peak_file_mib=N seconds=S
set -euo pipefail
[ $# -gt 0 ] || { sed -n '3,11p' "$0" | sed 's/^# \{0,1\}//'; exit 1; }
start=$(date +%s.%N)
"$@" >/dev/null 2>&1 &
pid=$!
rss=0 anon=0 file=0 hwm=0
while kill -0 "$pid" 2>/dev/null; do
  if read -r r a f h < <(awk '/^VmRSS/ {r = $2} /^RssAnon/ {a = $2} /^RssFile/ {f = $2} /^VmHWM/ {h = $2}
                              END {print r + 0, a + 0, f + 0, h + 0}' "/proc/$pid/status" 2>/dev/null); then
    [ "$r" -gt "$rss" ] && rss=$r
    [ "$a" -gt "$anon" ] && anon=$a
    [ "$f" -gt "$file" ] && file=$f
    [ "$h" -gt "$hwm" ] && hwm=$h
  fi
  sleep 0.05
done
status=0
wait "$pid" || status=$?
end=$(date +%s.%N)
awk -v r="$rss" -v h="$hwm" -v a="$anon" -v f="$file" -v s="$start" -v e="$end" 'BEGIN {
  printf "peak_rss_mib=%.1f hwm_mib=%.1f peak_anon_mib=%.1f peak_file_mib=%.1f seconds=%.2f\n",
         r / 1024, h / 1024, a / 1024, f / 1024, e - s}'
exit "$status"
