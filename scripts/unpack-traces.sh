#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Unpacks the shared traces the tests and benchmarks use into a build-tree folder, once.
# usage: scripts/unpack-traces.sh SHARED_DIR DEST_DIR [ARCHIVE...]
#   ARCHIVE: paths relative to SHARED_DIR/traces (default: the set the tests need).
set -euo pipefail
shared=${1:?usage: unpack-traces.sh SHARED_DIR DEST_DIR [ARCHIVE...]}
dest=${2:?usage: unpack-traces.sh SHARED_DIR DEST_DIR [ARCHIVE...]}
shift 2
archives=("$@")
if [ ${#archives[@]} -eq 0 ]; then
  archives=(lab/basic.tar.xz lab/nested.tar.xz lab/container.tar.xz real/tviz-wget-k-20180802-115406.tar.xz
            real/tctt-bug446190.tar.xz)
fi
if [ ! -d "$shared/traces" ]; then
  echo "error: the shared folder '$shared' has no traces/ (CI keeps it beside the checkout: ../shared)." >&2
  echo "       Pass its location to CMake: -DVM_SHARED_DIR=/path/to/shared" >&2
  exit 1
fi
for archive in "${archives[@]}"; do
  src="$shared/traces/$archive"
  sub=$(dirname "$archive")
  name=$(basename "$archive" .tar.xz)
  stamp="$dest/$sub/.$name.unpacked"
  [ -f "$stamp" ] && [ "$stamp" -nt "$src" ] && continue
  mkdir -p "$dest/$sub"
  rm -rf "${dest:?}/$sub/$name"
  tar -xJf "$src" -C "$dest/$sub"
  touch "$stamp"
done
