#!/bin/bash
# SPDX-License-Identifier: MIT
# usage: cpath-post.sh REC SECONDS OUTDIR [OFFSET]
# After `extract.sh cpath`: REC is the extracted recording (REC/{host,guesta,guestb,info}).
# Finds guesta's "guest: cpath dd read 2 (contended)" marker, cuts [marker + OFFSET (default 0.5 s),
# + SECONDS] out of every machine's trace with babeltrace2 (the same bounds, in seconds since the
# epoch, for the three traces: their clocks differ by less than a second) into OUTDIR/slice-cpath,
# and prints the markers, event counts, QEMU pids / vCPU tids and dd tids of the slice.
set -euo pipefail
rec=${1:?REC}; secs=${2:?SECONDS}; out=${3:?OUTDIR}; off=${4:-0.5}
bt=babeltrace2
mkdir -p "$out"
kdir() { dirname "$(find "$1" -name metadata | head -1)"; }
H=$(kdir "$rec/host"); A=$(kdir "$rec/guesta"); B=$(kdir "$rec/guestb")
echo "== markers (guesta, guestb; epoch seconds in each machine's own clock)"
for t in "$A" "$B"; do
  $bt --clock-seconds "$t" | grep 'lttng_logger' | sed -n 's/^\[\([0-9.]*\)\].*msg = "\([^"]*\)".*/\1 \2/p' | tr -d '\\' | sed 's/n$//'
done | tee "$out/markers.txt"
m=$(grep -m1 'cpath dd read 2 (contended)' "$out/markers.txt" | cut -d' ' -f1)
[ -n "$m" ] || { echo "no 'cpath dd read 2' marker" >&2; exit 1; }
b=$(python3 -c "print(f'{$m + $off:.9f}')"); e=$(python3 -c "print(f'{$m + $off + $secs:.9f}')")
echo "== slice [$b, $e] (epoch s)"
rm -rf "$out/slice-cpath"
for n in host guesta guestb; do
  t=$(kdir "$rec/$n")
  $bt "$t" --begin="$b" --end="$e" -o ctf -w "$out/slice-cpath/$n"
done
echo "== event counts"
for n in host guesta guestb; do
  echo "$n $($bt "$out/slice-cpath/$n" | wc -l)"
done
echo "== host: kvm_x86_entry (pid, tid, procname, vcpu_id) in the slice"
$bt "$out/slice-cpath/host" | grep 'kvm_x86_entry' |
  sed -n 's/.*{ pid = \([0-9]*\), tid = \([0-9]*\), procname = "\([^"]*\)".*vcpu_id = \([0-9]*\).*/\1 \2 "\3" vcpu \4/p' | sort | uniq -c
echo "== guesta: dd threads in the slice (tid, events)"
$bt "$out/slice-cpath/guesta" | grep 'procname = "dd"' | sed -n 's/.* tid = \([0-9]*\),.*/\1/p' | sort | uniq -c
