#!/bin/sh
# SPDX-License-Identifier: MIT
# Regenerate traces/tc-stubs/ (CTF conversions of the Trace Compass XML stub
# traces) from the shared folder.
#
# Usage: scripts/convert-tc-stubs.sh [SHARED_DIR]
#   SHARED_DIR defaults to $(git rev-parse --show-toplevel)/../shared and must
#   hold traces/tc-stubs/{vm,graph}/.
#
# Existing outputs are replaced (--force): the converter only deletes folders
# that hold a CTF `metadata` file. The result is deterministic: re-running it
# gives byte-identical traces.
set -eu

top=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
shared=${1:-$top/../shared}
stubs=$shared/traces/tc-stubs
out=$top/traces/tc-stubs
# python3-bt2 is installed for Debian's interpreter only, not for a python3
# that may come first on PATH (pyenv, venv).
py=/usr/bin/python3
conv=$top/scripts/xml2ctf.py

if [ ! -d "$stubs/vm" ]; then
    echo "convert-tc-stubs.sh: $stubs/vm not found (pass the shared folder as argument)" >&2
    exit 1
fi

# convert XML OUTPUT_DIR [converter options...]
convert() {
    xml=$1
    dir=$2
    shift 2
    "$py" "$conv" "$stubs/$xml" "$out/$dir" --force "$@"
}

# KVM host + guest, with the stubs' event names (kvm_entry, kvm_exit) ...
convert vm/OneQemuKvm/host.xml OneQemuKvm/host --kvm-names=stub
convert vm/OneQemuKvm/guest.xml OneQemuKvm/guest --kvm-names=stub
# ... and with lttng-modules >= 2.8 names (kvm_x86_entry, kvm_x86_exit).
convert vm/OneQemuKvm/host.xml OneQemuKvm-lttng/host --kvm-names=lttng
convert vm/OneQemuKvm/guest.xml OneQemuKvm-lttng/guest --kvm-names=lttng
# Nested PID namespaces (no KVM events: the naming choice does not matter).
convert vm/Containers/withContainers.xml Containers/withContainers
# The same with lttng-modules >= 2.12's statedump layout (lttng_statedump_process_pid_ns).
convert vm/Containers/withContainers.xml Containers-lm212/withContainers --statedump=lm212 --tracer-minor=12
# Execution-graph / critical-path stubs.
for xml in "$stubs"/graph/*.xml; do
    stem=$(basename "$xml" .xml)
    convert "graph/$stem.xml" "graph/$stem"
done
