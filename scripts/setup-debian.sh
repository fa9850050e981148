#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs every dependency of the project from Debian 12's packages. Idempotent, and quiet when
# nothing is missing. Runs apt-get as root, or through sudo.
#
# usage: scripts/setup-debian.sh [fuzz]
set -euo pipefail
packages=(
  cmake g++ make pkg-config          # build
  libbabeltrace2-dev babeltrace2     # the babeltrace2 2.0 C API and CLI
  python3-bt2                        # python bindings (trace converters, synthetic test traces)
  libsqlite3-dev sqlite3             # output database, and the CLI the scripts query it with
  libgtest-dev googletest            # unit and graph tests
  xz-utils                           # the shared traces are .tar.xz
  time                               # /usr/bin/time: peak RSS in the benchmarks
)
# Optional groups, named as arguments: `fuzz` adds clang and libFuzzer's runtime (tests/fuzz/run.sh;
# clang only recommends libclang-rt-14-dev, which holds libFuzzer, and recommends are not installed).
for group in "$@"; do
  case $group in
    fuzz) packages+=(clang libclang-rt-14-dev) ;;
    *) echo "setup: unknown package group '$group' (known: fuzz)" >&2; exit 2 ;;
  esac
done
missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=()
[ "$(id -u)" -ne 0 ] && sudo=(sudo)
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq >/dev/null
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
