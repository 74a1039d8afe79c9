"""Parsing the checked code: libcst's parse without its node checks (the analysis only), the
cycle collector paused while a file's trees are alive, and the file's own warnings kept out of
ours. Used by the check (``leaklint.core``), the pre-filter, the summary pass and the fixes."""

from __future__ import annotations

import gc
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import libcst as cst


def parse_unvalidated(source: bytes) -> cst.Module:
    """``libcst.parse_module`` without each node's ``_validate``: a node built by the parser
    from source that parsed is valid by construction, and the checks were 30% of the parse
    (`benchmarks/README.md`; libcst's own ``CSTNode.__post_init__`` notes that the parser
    could skip them). Nodes built while it runs are not checked, so it is for the analysis
    only, which builds none; the fixes parse and build with libcst's checks on. Should a
    libcst release move its validation elsewhere, or an old one be asked for its pure-Python
    parser (``LIBCST_PARSER_TYPE=pure``, which may lean on the checks), the parse is the
    plain one."""
    base = cst.CSTNode
    validate = base.__dict__.get("__post_init__")
    if validate is None or os.environ.get("LIBCST_PARSER_TYPE") == "pure":
        return cst.parse_module(source)
    base.__post_init__ = _unchecked  # type: ignore[method-assign]
    try:
        return cst.parse_module(source)
    finally:
        base.__post_init__ = validate  # type: ignore[method-assign]


def _unchecked(self: cst.CSTNode) -> None:
    pass


@contextmanager
def collector_paused() -> Iterator[None]:
    """CPython's cycle collector off while one file is parsed and analysed (or summarised):
    its trees are hundreds of thousands of objects that live until the file is done, and
    every collection walks them all, and everything the run keeps besides (on a generated
    0.8 MB module, three quarters of ``ast.parse``'s time; in the summary pass, 40% of its
    time on the standard library). On again, with its usual thresholds, once the file is
    done."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def users_warnings_ignored() -> Iterator[None]:
    """Around CPython parsing or compiling the checked code: its SyntaxWarnings (and, before
    3.12, DeprecationWarnings: ``"\\d"``) are the file's business, not lines on our standard
    error, and under ``-W error`` they must not turn into syntax errors (LL900)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        yield
