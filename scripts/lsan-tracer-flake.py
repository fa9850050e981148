#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Tell whether every failure of the last ctest run is LeakSanitizer's own tracer crash.

LeakSanitizer stops the world at exit with a ptrace-based tracer thread. That tracer sometimes
dies by itself ("Tracer caught signal 11", then "LeakSanitizer has encountered a fatal error")
after a test has fully passed, before any leak is reported: a known, rare sanitizer-runtime flake
(google/sanitizers#1353), about once in a few hundred process exits. With ~300 tests per run,
CI hits it often enough to matter.

Usage: lsan-tracer-flake.py BUILD_DIR
Exit 0 and print the names when there were failures and every one of them is exactly that
crash after a gtest run whose own summary says all passed, with no sanitizer report; exit 1
otherwise (no failure, or any failure that is not that crash). .ci/run then reruns the failed
tests, up to three times, asking this script again after each; what crashes so on all four runs
runs once more without the leak check (ASan and UBSan still on), and must pass.
"""
import re
import sys
from pathlib import Path

SIGNATURE = ("Tracer caught signal 11", "LeakSanitizer has encountered a fatal error")
# Any of these means the run found something real: never rerun it.
REAL = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer: detected", "runtime error:",
        "SUMMARY: AddressSanitizer", "SUMMARY: UndefinedBehaviorSanitizer", "[  FAILED  ]")


def sections(log: str):
    """Yield (name, output, failed) for each test of a ctest LastTest.log."""
    starts = list(re.finditer(r"^\d+/\d+ Testing: (.*)$", log, re.M))
    for i, match in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(log)
        body = log[match.end():end]
        yield match.group(1).strip(), body, "\nTest Failed." in body


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    # ctest writes LastTest.log (LastTest_<date>.log with a dashboard model); LastTestsFailed.log
    # and LastTestsDisabled.log are lists, not the output.
    temporary = Path(sys.argv[1], "Testing", "Temporary")
    logs = [temporary / "LastTest.log"] if (temporary / "LastTest.log").exists() else \
        sorted(temporary.glob("LastTest_*.log"), key=lambda p: p.stat().st_mtime)
    if not logs:
        print("lsan-tracer-flake: no LastTest.log under " + sys.argv[1], file=sys.stderr)
        return 1
    failed = [(name, body) for name, body, bad in sections(logs[-1].read_text(errors="replace")) if bad]
    if not failed:
        return 1
    for name, body in failed:
        flake = (all(s in body for s in SIGNATURE) and re.search(r"\[  PASSED  \] \d+ tests?\.", body)
                 and not any(r in body for r in REAL))
        if not flake:
            print(f"lsan-tracer-flake: {name} failed for another reason: no rerun")
            return 1
    for name, _ in failed:
        print(f"lsan-tracer-flake: {name} passed, then LeakSanitizer's tracer crashed at exit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
