# SPDX-License-Identifier: MIT
"""Interval helpers of the test scripts."""


def covered(intervals, ts, end):
    """True when the sorted (start, end) intervals cover [ts, end)."""
    at = ts
    for a, b in intervals:
        if b <= at:
            continue
        if a > at:
            return False
        at = b
        if at >= end:
            return True
    return at >= end
