"""The ``try`` rewrites of a bound resource (``bound._Bound``): the release moved into a
``finally`` around the statements in between (``_try_finally``, ``try_edit``), or, where
only an error path leaks, an ``except`` that releases and re-raises (``except_edit``,
``_close_on_error_past_a_close``)."""

from __future__ import annotations

import libcst as cst

from leaklint.analysis.leaks import Leak
from leaklint.fixes.base import WAITS_OR_JOINS, Edit, Fix, refuse, why_no_with
from leaklint.fixes.bound import (
    _Bound,
    _entered,
    _used_after_a_caught_error,
    released_on_error,
)
from leaklint.fixes.escapes import (
    _derived_escapes,
    _HeldHere,
    _only_attribute_uses,
    kept,
)
from leaklint.fixes.identifiers import _count_uses
from leaklint.fixes.offers import (
    CLOSE_ON_ERROR,
    CLOSE_ON_ERROR_SAFE,
    ERROR_PATH_KINDS,
    TRY_FINALLY,
    TRY_FINALLY_ERROR_PATH,
    TRY_FINALLY_UNSAFE,
    TRY_TO_BLOCK_END,
)
from leaklint.fixes.tree import Tree, remove


def _close_on_error_past_a_close(
    found: _Bound, leak: Leak, tree: Tree, code: str, line: int, col: int
) -> Edit | None:
    """Closed on a branch in between (``if bad: f.close(); return``), left open when a later
    statement fails: the ``except`` that releases and re-raises, around the statements after
    the acquisition (a second close() of these types does nothing)."""
    if leak.kind not in ERROR_PATH_KINDS:
        return refuse("released on some path in between (a branch), and leaked on a normal path")
    if _count_uses(found.call, found.var):
        return refuse("the acquisition's own arguments use the name")
    if released_on_error(found.middle, found.var, leak):
        return refuse("released on an error up to where it is handed on; the statement that hands it on may fail too")
    alone = not _derived_escapes(found.middle, found.var, found.scope, _HeldHere)
    fix = CLOSE_ON_ERROR_SAFE if alone and not _used_after_a_caught_error(found, tree) else CLOSE_ON_ERROR
    return except_edit(found, code, line, col, tree, fix)


def _try_finally(
    found: _Bound, leak: Leak, tree: Tree, code: str, line: int, col: int
) -> Edit | None:
    """``f = open(p)`` ... ``f.close()`` → ``f = open(p)`` / ``try:`` ... ``finally:
    f.close()``: the release runs where it did on the normal path, and on the error path and
    any early exit (which leaked) too. Not when the acquisition's own arguments use the name."""
    middle = found.middle
    if _count_uses(found.call, found.var):
        return refuse("the acquisition's own arguments use the name")
    hands_on = not _only_attribute_uses(tree, middle, found.var)
    if (found.release is None or found.exits) and _derived_escapes(middle, found.var, found.scope):
        hands_on = True
    waits = why_no_with(leak.resource.qualname) if leak.resource.qualname in WAITS_OR_JOINS else None
    if found.release is None and (
        leak.kind in ERROR_PATH_KINDS or hands_on and kept(middle, found.var, found.scope)
    ):
        # (when only an error path leaked, the path that does not fail hands it on or
        # releases it where no planner sees: a release added at the block's end changes it)
        # handed on (returned, stored) where it did not leak: a `finally` would release what
        # the caller or the object now holds; only the error path may release it
        if waits is not None:
            return refuse(f"never fixed: {waits}")
        if leak.kind not in ERROR_PATH_KINDS:
            return refuse("handed on (returned or stored) where it did not leak, and leaked on a normal path")
        if _entered(middle, found.var):
            return refuse("released by a `with` of its own in between")
        alone = not _derived_escapes(middle, found.var, found.scope, _HeldHere)
        fix = CLOSE_ON_ERROR_SAFE if alone and not _used_after_a_caught_error(found, tree) else CLOSE_ON_ERROR
        return except_edit(found, code, line, col, tree, fix)
    if hands_on and found.release is not None and not found.exits and not kept(middle, found.var, found.scope):
        # only lent to calls, and released where it was on the path that does not fail:
        # whatever a callee keeps of it finds it released there already; the error path
        # only gains the release
        hands_on = False
    unsafe = hands_on or waits is not None or found.method not in _PLAIN_RELEASES
    fix = TRY_FINALLY_UNSAFE if unsafe else TRY_FINALLY if found.release is not None else TRY_TO_BLOCK_END
    if not unsafe and _used_after_a_caught_error(found, tree):
        fix = TRY_FINALLY_ERROR_PATH
    return try_edit(found, fix, code, line, col, tree)


def try_edit(found: _Bound, fix: Fix, code: str, line: int, col: int, tree: Tree) -> Edit:
    """The edit that puts ``found.middle`` in a ``try`` whose ``finally`` is the release."""
    middle, head, last = found.middle, found.middle[0], found.last

    def build_try(updated: cst.CSTNode) -> cst.CSTNode:
        return cst.Try(
            body=cst.IndentedBlock(
                body=[head.with_changes(leading_lines=()), *middle[1:]],
                indent=found.block.indent,
            ),
            finalbody=cst.Finally(
                body=cst.IndentedBlock(
                    body=[found.finalizer.with_changes(leading_lines=())],
                    indent=found.block.indent,
                )
            ),
            leading_lines=getattr(head, "leading_lines", ()),
        )

    gone = [*middle[1:], *([found.release] if found.release is not None else [])]
    targets = ((head, build_try), *((stmt, remove) for stmt in gone))
    return Edit(fix, code, line, col, tree.span(head, last), targets)


def except_edit(
    found: _Bound,
    code: str,
    line: int,
    col: int,
    tree: Tree,
    fix: Fix = CLOSE_ON_ERROR,
    more: tuple[cst.SimpleStatementLine, ...] = (),
) -> Edit:
    """``f = F()`` ... → ``f = F()`` / ``try:`` ... ``except BaseException: f.close(); raise``
    (``more``: releases of the others the acquisition made, after ``f``'s)."""
    middle, head = found.middle, found.middle[0]
    indent = found.block.indent

    def build(updated: cst.CSTNode) -> cst.CSTNode:
        releases = [stmt.with_changes(leading_lines=()) for stmt in (found.finalizer, *more)]
        reraise = cst.SimpleStatementLine(body=[cst.Raise()])
        return cst.Try(
            body=cst.IndentedBlock(body=[head.with_changes(leading_lines=()), *middle[1:]], indent=indent),
            handlers=[
                cst.ExceptHandler(
                    body=cst.IndentedBlock(body=[*releases, reraise], indent=indent),
                    type=cst.Name("BaseException"),
                )
            ],
            leading_lines=getattr(head, "leading_lines", ()),
        )

    targets = ((head, build), *((stmt, remove) for stmt in middle[1:]))
    return Edit(fix, code, line, col, tree.span(head, middle[-1]), targets)


#: Releases that only free the object: moved into ``finally`` they cannot block.
_PLAIN_RELEASES = frozenset({"close", "release", "unlink", "aclose", "putconn", "dispose", "cleanup"})
