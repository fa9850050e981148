#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every query of docs/sql-cookbook.md on a database built from the shipped container slice
# (traces/lab/container-2s.tar.xz: host tl-host + guest tl-guest, fused: machines host-container and guest-container, their LTTng trace names).
#
#   scripts/cookbook.sh [--update] [PLUGIN_DIR]
#
# Each query is a ```sql fence of the cookbook; its output is the ```text fence right after it.
# The script fails when a query errors, returns no row, or prints something else than the output
# pasted in the doc (so that the doc always shows what the current code gives). With --update it
# rewrites those output fences with what the queries print now.
# The database is kept as $VM_COOKBOOK_DB when that is set (else in a temporary folder).
set -euo pipefail

update=0
if [[ "${1:-}" == "--update" ]]; then update=1; shift; fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
plugin_dir="${1:-$root/build/plugins}"
doc="$root/docs/sql-cookbook.md"
archive="$root/traces/lab/container-2s.tar.xz"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
db="${VM_COOKBOOK_DB:-$work/vm.db}"
rm -f "$db"

tar -xJf "$archive" -C "$work"
host="$(dirname "$(find "$work/slice-c/host" -name metadata | head -n 1)")"
guest="$(dirname "$(find "$work/slice-c/guest" -name metadata | head -n 1)")"
# A sanitizer-built plugin (CI's ASan build) runs inside the stock babeltrace2: load its runtimes
# first, as tests/scale/run-scale.sh does.
preload=$(ldd "$plugin_dir/babeltrace-plugin-vm.so" | awk '/lib(asan|ubsan)\.so/ {printf "%s%s", sep, $3; sep=":"}')
env LD_PRELOAD="$preload" ASAN_OPTIONS=detect_leaks=0 \
  babeltrace2 --omit-home-plugin-path --plugin-path="$plugin_dir" run \
  -c h:source.ctf.fs -p "inputs=[\"$host\"]" \
  -c g:source.ctf.fs -p "inputs=[\"$guest\"]" \
  -c fuse:filter.vm.fuse \
  -c out:sink.vm.sqlite -p "path=\"$db\",critical-path=\"guest-container/431,guest-container/415\"" \
  --connect h:fuse --connect g:fuse --connect fuse:out

# Split the cookbook: q<N>.sql for each ```sql fence, q<N>.doc for the ```text fence after it.
python3 - "$doc" "$work" <<'EOF'
import sys, re
doc, work = sys.argv[1], sys.argv[2]
text = open(doc).read()
n = 0
for m in re.finditer(r"```sql\n(.*?)```\n(?:\s*\n)*(?:[^`\n][^\n]*\n(?:\s*\n)*)?(?:```text\n(.*?)```)?", text, re.S):
    n += 1
    open(f"{work}/q{n:02d}.sql", "w").write(m.group(1))
    open(f"{work}/q{n:02d}.doc", "w").write(m.group(2) or "")
print(f"{n} queries in {doc}")
EOF

passed=0; failed=0; stale=0
for sql in "$work"/q*.sql; do
  q="${sql%.sql}"
  name="$(basename "$q")"
  if ! sqlite3 -bail -header -column "$db" < "$sql" > "$q.out" 2> "$q.err" || [[ -s "$q.err" ]]; then
    echo "FAIL $name: error"; cat "$q.err"; failed=$((failed + 1)); continue
  fi
  if [[ ! -s "$q.out" ]]; then
    echo "FAIL $name: no row"; failed=$((failed + 1)); continue
  fi
  # sqlite3 -column pads the last column with spaces: trim them (the doc keeps no trailing blanks).
  sed -i 's/[[:space:]]*$//' "$q.out"
  if ! cmp -s "$q.out" "$q.doc"; then stale=$((stale + 1)); echo "stale output in the doc: $name"; fi
  echo "ok   $name ($(($(wc -l < "$q.out") - 2)) rows)"
  passed=$((passed + 1))
done

if [[ $update -eq 1 && $failed -eq 0 ]]; then
  python3 - "$doc" "$work" <<'EOF'
import sys, re
doc, work = sys.argv[1], sys.argv[2]
text = open(doc).read()
count = [0]
def put(m):
    count[0] += 1
    out = open(f"{work}/q{count[0]:02d}.out").read()
    return m.group(1) + "```text\n" + out + "```"
pattern = r"(```sql\n.*?```\n(?:\s*\n)*(?:[^`\n][^\n]*\n(?:\s*\n)*)?)```text\n.*?```"
text = re.sub(pattern, put, text, flags=re.S)
open(doc, "w").write(text)
print(f"updated {count[0]} outputs in {doc}")
EOF
  stale=0
fi

if [[ $stale -gt 0 ]]; then
  echo "cookbook: $stale outputs in the doc differ from what the queries print now: check the change," \
    "then run scripts/cookbook.sh --update to paste the new outputs"
fi
echo "$passed passed, $failed failed"
[[ $failed -eq 0 && $stale -eq 0 ]]
