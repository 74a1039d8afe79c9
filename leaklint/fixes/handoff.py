"""A resource handed on where it did not leak (stored, passed to a constructor or a call that
keeps it), left open by an error before that: released in an ``except`` that re-raises,
around only the statements before the one that hands it on.

``s = socket()`` / ``s.connect(a)`` / ``self.stream = IOStream(s)`` → ``s = socket()`` /
``try: s.connect(a)`` / ``except BaseException: s.close(); raise`` / ``self.stream =
IOStream(s)``. Up to the hand-off only this function holds the object (it is used through
its methods only), so releasing it on an error there changes nothing anyone else sees; the
path that does not fail runs the same calls in the same order.
"""

from __future__ import annotations

from dataclasses import replace

import libcst as cst

from leaklint.analysis.leaks import Leak
from leaklint.fixes.base import CLOSES_ON_EXIT, SAFE, Edit, Fix
from leaklint.fixes.transforms import (
    CLOSE_ON_ERROR,
    Tree,
    _bound,
    _count_uses,
    _derived_escapes,
    _HeldHere,
    _only_attribute_uses,
    _used_after_a_caught_error,
    except_edit,
    leaves_block,
    released_on_error,
)

CLOSE_UNTIL_HANDED_ON = Fix(
    CLOSE_ON_ERROR.codes,
    SAFE,
    "Release it in an `except` that re-raises, around the statements before it is handed on",
    "the path that does not fail stays as it was; on an error before the statement that "
    "hands it on (stores it, passes it to a call), the object, which only this function "
    "holds there (used through its methods only), is released before the error goes on; "
    "not across a yield, nor when an except in the function uses it after",
)
FIXES = (CLOSE_UNTIL_HANDED_ON,)


def _held_until(middle: list[cst.BaseStatement], var: str, scope: cst.CSTNode) -> int:
    """How many of the first statements of ``middle`` keep ``var`` (and whatever is made
    from it) to this function: the index of the first that hands it on."""
    for end in range(len(middle)):
        if _derived_escapes(middle[: end + 1], var, scope, _HeldHere):
            return end
    return len(middle)


def close_until_handed_on(leak: Leak, tree: Tree, code: str, line: int, col: int) -> Edit | None:
    """Only a leak on an error path, of a local nothing releases in its block and that a
    later statement hands on: the ``except`` around the statements before that one."""
    if leak.kind != "exception-path":
        return None  # (an __init__ that raises loses ``self`` too: storing it there hands on nothing)
    found = _bound(leak, tree)
    if found is None or found.release is not None or found.unpacked:
        return None
    if found.closed_between and leak.resource.qualname not in CLOSES_ON_EXIT:
        return None  # a second close() (the branch's, then the except's) must do nothing
    if _count_uses(found.call, found.var) or released_on_error(found.middle, found.var, leak):
        return None
    held = _held_until(found.middle, found.var, found.scope)
    if held == 0 or held == len(found.middle):
        return None  # handed on at once (nothing to wrap), or never (CLOSE_ON_ERROR_SAFE's)
    if not _itself(tree, found.middle[held], found.var, leak.resource.release):
        return None  # only something made from it goes (``f.fileno()``): the leak goes on
    before = found.middle[:held]
    if any(_yields(stmt) for stmt in before) or not _only_attribute_uses(tree, before, found.var):
        return None
    cut = replace(found, middle=before)
    if _used_after_a_caught_error(cut, tree):
        return None  # caught in the function, and the hand-off (at least) uses it after
    return except_edit(cut, code, line, col, tree, CLOSE_UNTIL_HANDED_ON)


def _itself(tree: Tree, stmt: cst.CSTNode, var: str, releases: tuple[str, ...]) -> bool:
    """``stmt`` uses ``var`` itself (not only ``var.attr`` or ``var.m()``), or hands on its
    release (``self.addCleanup(var.close)``): what hands the object on."""

    class Look(cst.CSTVisitor):
        found = False

        def visit_Name(self, node: cst.Name) -> None:
            if node.value != var:
                return
            parent = tree.parents.get(node)
            if not (isinstance(parent, cst.Attribute) and parent.value is node):
                self.found = True
                return
            call = tree.parents.get(parent)
            if parent.attr.value in releases and not (isinstance(call, cst.Call) and call.func is parent):
                self.found = True

    look = Look()
    stmt.visit(look)
    return look.found


def _yields(stmt: cst.CSTNode) -> bool:
    """A ``yield`` in ``stmt`` (not in a nested function): an ``except BaseException`` around
    it would also release on the generator's close()."""
    if not leaves_block(stmt):
        return False

    class Look(cst.CSTVisitor):
        found = False

        def visit_Yield(self, node: cst.Yield) -> None:
            self.found = True

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

    look = Look()
    stmt.visit(look)
    return look.found
