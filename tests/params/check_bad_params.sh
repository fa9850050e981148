#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bad numbers (and types) in parameters, through the babeltrace2 CLI: each ends in a clean error
# (exit status 1, never a crash) whose message names the parameter, the value and the allowed
# range of plugins/vm/*/params.h. The expected messages are written by hand from those lists.
# usage: check_bad_params.sh PLUGIN_DIR SOURCE_DIR
set -uo pipefail
plugin_dir=$1 src=$2
# A sanitizer-built plugin (CI) runs inside the stock babeltrace2: load its runtimes first.
preload=$(ldd "$plugin_dir/babeltrace-plugin-vm.so" | awk '/lib(asan|ubsan)\.so/ {printf "%s%s", sep, $3; sep=":"}')
bt=(env LD_PRELOAD="$preload" ASAN_OPTIONS=detect_leaks=0 babeltrace2 --omit-home-plugin-path --plugin-path="$plugin_dir")
stub="$src/traces/tc-stubs/OneQemuKvm/host"
passed=0 failed=0
out=$(mktemp)
outdir=$(mktemp -d)
trap 'rm -rf "$out" "$outdir"' EXIT

expect() {  # expected-text command...
  local expected=$1
  shift
  "$@" >"$out" 2>&1
  local rc=$?
  # babeltrace2 wraps cause messages at 80 columns: compare with the lines joined.
  if [ "$rc" -eq 1 ] && tr -s ' \n' ' ' <"$out" | grep -qF -- "$expected"; then
    echo "PASS: ${*: -3}"
    passed=$((passed + 1))
  else
    echo "FAIL (rc=$rc): $*"
    echo "  expected: $expected"
    grep -vE '^[0-9]{2}-[0-9]{2} ' "$out" | head -15
    failed=$((failed + 1))
  fi
}

scenario() {  # expected-text params
  expect "$1" "${bt[@]}" run -c src:source.vm.scenario -p "$2" -c out:sink.utils.dummy -x src:out
}

scenario "parameter \`events\` is 1000000000000000, out of its range: it must be an integer from 0 to 10000000000" \
  'events=1000000000000000'
scenario "parameter \`pcpus\` is 0, out of its range: it must be an integer from 1 to 256" 'pcpus=0'
scenario "parameter \`pcpus\` is 4294967297, out of its range: it must be an integer from 1 to 256" 'pcpus=4294967297'
scenario "parameter \`vms\` is -1, out of its range: it must be an integer from 0 to 64" 'vms=-1'
scenario "parameter \`guest-threads\` is -3, out of its range: it must be an integer from 0 to 1000" 'guest-threads=-3'
scenario "parameter \`duration-ns\` is -5, out of its range: it must be an integer from 1 to 86400000000000" \
  'duration-ns=-5'
scenario "parameter \`clock-offset-ns\` is 1000000001, out of its range: it must be an integer from 0 to 1000000000" \
  'clock-offset-ns=1000000001'
scenario "parameter \`time-slice-ns\` is 9999, out of its range: it must be an integer from 10000 to 86400000000000" \
  'time-slice-ns=9999'
scenario "parameter \`seed\` is 18446744073709551615, out of its range: it must be an integer from 0 to 9223372036854775807" \
  'seed=+18446744073709551615'
scenario "parameter \`containers\` is 17, out of its range: it must be an integer from 0 to 16" 'containers=17'
scenario "parameter \`exit-rate\` is inf, out of its range: it must be a number from 0 to 1000000" 'exit-rate=1e999999'
scenario "parameter \`drift-ppm\` is -inf, out of its range: it must be a number from 0 to 1000" 'drift-ppm=-1e999999'
scenario "parameter \`host-irq-rate\` is -1, out of its range: it must be a number from 0 to 100000" 'host-irq-rate=-1'
scenario "parameter \`disk-irq-rate\` is 100000.5, out of its range: it must be a number from 0 to 100000" \
  'disk-irq-rate=100000.5'
scenario "parameter \`pcpus\` must be an integer, e.g. pcpus=1" 'pcpus=2.5'
scenario "parameter \`drift-ppm\` must be a number, e.g. drift-ppm=2.5" 'drift-ppm=nan'
scenario "unknown parameter \`sed\`; did you mean \`seed\`?" 'sed=1'
# The model's own checks still apply after the ranges (common/sim/scenario_config.cpp, validate()).
scenario "\`exit-rate\` must be in (0, 1000000] exits per second" 'exit-rate=0'

expect "parameter \`path\` must be a string, e.g. path=\"...\"" "${bt[@]}" "$stub" -c sink.vm.sqlite -p 'path=5'
# A refused value leaves nothing in the output's folder (not even the temporary .vm-XXXXXX).
expect "parameter \`indexes\` is \"bykey\": it must be \"time\", \"key\" or \"both\", e.g. -p 'indexes=\"key\"'" \
  "${bt[@]}" "$stub" -c sink.vm.sqlite -p "path=\"$outdir/out.db\",indexes=\"bykey\""
[ -z "$(ls -A "$outdir")" ] || { echo "FAIL: a refused \`indexes\` left $(ls -A "$outdir")"; failed=$((failed + 1)); }
expect "parameter \`reference\` must be a string, e.g. reference=\"...\"" \
  "${bt[@]}" "$stub" -c filter.vm.fuse -p 'reference=5' -c sink.utils.dummy
expect "parameter \`lead\` must be \"auto\" or \"hold\", not \`keep\`" \
  "${bt[@]}" "$stub" -c filter.vm.fuse -p 'sync-mode="one-pass",lead="keep"' -c sink.utils.dummy

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
