#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Scale test against the truth: a source.vm.scenario trace set (several VMs, overcommitted
# CPUs, drifting guest clocks, a nested guest) is written to CTF, analysed end to end the way a
# user would (source.ctf.fs -> filter.vm.fuse -> sink.vm.sqlite, and the host trace alone ->
# sink.vm.sqlite), and each database is compared with the truth (tests/scale/compare.py).
#
# usage: run-scale.sh PLUGIN_DIR SOURCE_DIR WORK_DIR CASE
#   CASE fused | host-only | old-names (host-only analysis of a trace with kvm_entry/kvm_exit)
#        drift: guest clocks drifting by 20 ppm (vm1 +20, vm2 -13.2, vm1-l2 +10) over ~7 s, fused
#        drift-50: the same at 50 ppm (vm1 +50, vm2 -33, vm1-l2 +25)
#        (many guest events lie within a few ns of their window's edge: no constant offset keeps
#        them inside; the KVM-window matcher must track the drift)
#        containers: 2 containers per guest (one nested in the other), workers forked inside them,
#        fused; run twice, with the lttng-modules 2.12+ statedump (process_pid_ns) and the <= 2.11 one
#        (namespace fields in process_state): the container tree and every thread's levels must equal
#        the truth
#        one-pass-0, one-pass-1, one-pass-20, one-pass-50: the drift scenario at 0, 1, 20, 50 ppm,
#        fused in sync-mode="one-pass"; each sync_segment transform within its accuracy of the truth
#        drift-two-pass: the drift case in sync-mode="two-pass" (every other fused case runs the
#        default, one pass)
#   VM_SCALE_EVENTS  events of the scenario (default 300000)
set -euo pipefail
plugin_dir=$1 src=$2 work=$3 case=$4
events=${VM_SCALE_EVENTS:-300000}
# A sanitizer-built plugin (CI) runs inside the stock babeltrace2: load its runtimes first.
preload=$(ldd "$plugin_dir/babeltrace-plugin-vm.so" | awk '/lib(asan|ubsan)\.so/ {printf "%s%s", sep, $3; sep=":"}')
bt=(env LD_PRELOAD="$preload" ASAN_OPTIONS=detect_leaks=0 babeltrace2 --omit-home-plugin-path --plugin-path="$plugin_dir")
export VM_BT_PRELOAD=$preload
params='seed=3,vms=3,pcpus=4,vcpus-per-vm=2,nested=true,nested-vcpus=2,drift-ppm=0.3,host-threads=4'
[ "$case" = drift ] || [ "$case" = drift-two-pass ] && params='seed=1,vms=2,pcpus=2,vcpus-per-vm=2,nested=true,drift-ppm=20'
[ "$case" = drift-50 ] && params='seed=1,vms=2,pcpus=2,vcpus-per-vm=2,nested=true,drift-ppm=50'
[ "$case" = containers ] && params='seed=5,vms=2,pcpus=2,vcpus-per-vm=2,nested=true,containers=2,guest-threads=8,drift-ppm=0.3,disk-irq-rate=400,net-irq-rate=300,exit-mix="NPF:2,MSR:3,IO:1,CPUID:0.5"'
# one-pass-N: the drift case's scenario at N ppm without its nested guest, fused with
# sync-mode="one-pass" (the machines and transforms learned from a lead window); the transforms
# checked segment by segment.
# one-pass-nested: the drift case itself (20 ppm, nested guest), 1 M events (22 s) in one pass.
# The default 2 s lead does not link every guest to its VM by KVM windows (2 VMs on 2 CPUs: too
# few windows yet to tell the VMs apart), so the lead grows (2 -> 4 -> 8 s) until every machine has
# a transform, and stops well before the traces' end.
fuse_params=() compare_args=()
case $case in
  one-pass-nested)
    params='seed=1,vms=2,pcpus=2,vcpus-per-vm=2,nested=true,drift-ppm=20'
    events=${VM_SCALE_EVENTS:-1000000}
    fuse_params=(--params='sync-mode="one-pass"') compare_args=(--segments) ;;
  one-pass-*)
    params="seed=1,vms=2,pcpus=2,vcpus-per-vm=2,nested=false,drift-ppm=${case#one-pass-}"
    fuse_params=(--params='sync-mode="one-pass"') compare_args=(--segments) ;;
  drift-two-pass)
    fuse_params=(--params='sync-mode="two-pass"') ;;
esac
[ "$case" = old-names ] && params='seed=11,vms=3,pcpus=2,vcpus-per-vm=2,naming="old",drift-ppm=0,clock-offset-ns=0'
# One trace set: generated into $1 with the parameters $2, analysed, compared.
run_one() {
  local dir=$1 params=$2
  mkdir -p "$dir"
  VM_PLUGIN_DIR=$plugin_dir "$src/scripts/make-scenario.sh" "$dir" "$events" "$params"
  local db="$dir/analysis.db"
  rm -f "$db"
  if [ "$case" = fused ] || [ "$case" = drift ] || [ "$case" = drift-50 ] || [ "$case" = containers ] ||
     [ "$case" = drift-two-pass ] ||
     [ "${case#one-pass-}" != "$case" ]; then
    local args=(run) i=0 trace
    for trace in "$dir"/ctf/*; do
      args+=(--component="s$i:source.ctf.fs" --params="inputs=[\"$trace\"]" --connect="s$i:fuse")
      i=$((i + 1))
    done
    "${bt[@]}" "${args[@]}" --component=fuse:filter.vm.fuse "${fuse_params[@]}" \
      --component=out:sink.vm.sqlite --params="path=\"$db\"" --connect=fuse:out
    python3 "$src/tests/scale/compare.py" "$dir/truth.sqlite" "$db" --mode fused "${compare_args[@]}"
  else
    "${bt[@]}" "$dir/ctf/host" -c sink.vm.sqlite -p "path=\"$db\""
    python3 "$src/tests/scale/compare.py" "$dir/truth.sqlite" "$db" --mode host-only
  fi
}
if [ "$case" = containers ]; then
  events=${VM_SCALE_EVENTS:-150000}
  for layout in lm212 lm211; do
    echo "== statedump=$layout"
    run_one "$work/$case/$layout" "$params,statedump=\"$layout\""
  done
else
  run_one "$work/$case" "$params"
fi
