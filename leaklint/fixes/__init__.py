"""Automatic fixes: libcst rewrites, each with a safety level, separate from the rules.

``fix_source`` applies the allowed fixes to one file's source to a fixed point (re-analysing
after each round, non-overlapping edits per round) and re-parses the result;
``write_atomic`` writes it back, only if the file is still what the fix read.
"""

from __future__ import annotations

from leaklint.fixes.apply import AppliedFix, FixOutcome, fix_paths, fix_source
from leaklint.fixes.base import CLOSES_ON_EXIT, SAFE, UNSAFE, WAITS_OR_JOINS, Fix, why_no_with
from leaklint.fixes.planners import ALL_FIXES, FIXABLE_CODES
from leaklint.fixes.write import Snapshot, WriteError, write_atomic

__all__ = [
    "ALL_FIXES",
    "CLOSES_ON_EXIT",
    "FIXABLE_CODES",
    "SAFE",
    "UNSAFE",
    "WAITS_OR_JOINS",
    "AppliedFix",
    "Fix",
    "FixOutcome",
    "Snapshot",
    "WriteError",
    "fix_paths",
    "fix_source",
    "why_no_with",
    "write_atomic",
]
