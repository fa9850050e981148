#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Writes a source.vm.scenario trace set as CTF (one trace per machine) and its truth database.
#
# usage: scripts/make-scenario.sh OUTDIR [EVENTS] [PARAMS]
#   OUTDIR   gets OUTDIR/ctf/<machine>/ (host, vm1, vm2, ..., vm1-l2) and OUTDIR/truth.sqlite
#   EVENTS   about how many events, all traces together (default 1000000)
#   PARAMS   more source.vm.scenario parameters, e.g. 'seed=3,vms=3,pcpus=4,nested=true'
#            (default: 'seed=1,vms=2,pcpus=2,vcpus-per-vm=2,nested=true,drift-ppm=20')
#   VM_PLUGIN_DIR  the folder of babeltrace-plugin-vm.so (default: build/plugins)
# Then, e.g.: babeltrace2 OUTDIR/ctf/host | head
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 1; }
out=$1
events=${2:-1000000}
params=${3:-seed=1,vms=2,pcpus=2,vcpus-per-vm=2,nested=true,drift-ppm=20}
plugin_dir=${VM_PLUGIN_DIR:-$top/build/plugins}
[ -f "$plugin_dir/babeltrace-plugin-vm.so" ] || { echo "make-scenario: no plugin in $plugin_dir: run scripts/build.sh" >&2; exit 1; }
rm -rf "$out/ctf" "$out/truth.sqlite"
mkdir -p "$out"
# VM_BT_PRELOAD: sanitizer runtimes to preload for a sanitizer-built plugin (tests/scale).
env LD_PRELOAD="${VM_BT_PRELOAD:-}" ASAN_OPTIONS=detect_leaks=0 \
  babeltrace2 --omit-home-plugin-path --plugin-path="$plugin_dir" run \
  --component=src:source.vm.scenario --params="$params,events=$events,truth=\"$out/truth.sqlite\"" \
  --component=mux:filter.utils.muxer \
  --component=out:sink.ctf.fs --params="path=\"$out/ctf\",quiet=true" \
  --connect=src:mux --connect=mux:out
echo "make-scenario: $(sqlite3 "$out/truth.sqlite" "SELECT value FROM scenario WHERE key='total-events'") events in" \
  "$(ls "$out/ctf" | tr '\n' ' ')under $out/ctf; truth in $out/truth.sqlite"
