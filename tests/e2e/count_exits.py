#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Counts kvm_x86_exit (or kvm_exit) events per (host thread, exit_reason) from babeltrace2's
text output on stdin, independently of the plugin. Prints `tid|exit_reason|count` lines, sorted.

The thread is the event's `tid` context (the lab traces record it on every event)."""
import re
import sys
from collections import Counter

EXIT = re.compile(r"\bkvm(?:_x86)?_exit: ")
TID = re.compile(r"\btid = (\d+)")
REASON = re.compile(r"\bexit_reason = (\d+)")

counts = Counter()
for line in sys.stdin:
    if not EXIT.search(line):
        continue
    tid = TID.search(line)
    reason = REASON.search(line)
    if not tid or not reason:
        sys.exit(f"cannot parse: {line.strip()}")
    counts[(int(tid.group(1)), int(reason.group(1)))] += 1
for (tid, reason), count in sorted(counts.items()):
    print(f"{tid}|{reason}|{count}")
