"""Automatic fixes: libcst rewrites, each with a safety level, separate from the rules.

``fix_source`` applies the allowed fixes to one file's source to a fixed point (re-analysing
after each round, non-overlapping edits per round) and re-parses the result;
``write_atomic`` writes it back.
"""

from __future__ import annotations

from leaklint.fixes.apply import (
    AppliedFix,
    FixOutcome,
    WriteError,
    fix_paths,
    fix_source,
    write_atomic,
)
from leaklint.fixes.base import CLOSES_ON_EXIT, SAFE, UNSAFE, WAITS_OR_JOINS, Fix, why_no_with
from leaklint.fixes.transforms import ALL_FIXES, FIXABLE_CODES

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
    "WriteError",
    "fix_paths",
    "fix_source",
    "why_no_with",
    "write_atomic",
]
