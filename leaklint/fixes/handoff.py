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
from leaklint.fixes.base import CLOSES_ON_EXIT, SAFE, UNSAFE, Edit, Fix
from leaklint.fixes.errorpath import _acquired
from leaklint.fixes.transforms import (
    CLOSE_ON_ERROR,
    Tree,
    _Bound,
    _bound,
    _count_uses,
    _finalizer,
    _release_method,
    _released_in,
    _derived_escapes,
    _HeldHere,
    _only_attribute_uses,
    _used_after_a_caught_error,
    except_edit,
    leaves_block,
    names_in,
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
    found = _bound(leak, tree, elsewhere=True)
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


# --------------------------------------------------------------------------- made on branches

CLOSE_AFTER_THE_BRANCHES = Fix(
    CLOSE_ON_ERROR.codes,
    SAFE,
    "Release it in an `except` that re-raises, around the statements after the branches "
    "that make it (before it is handed on)",
    "every branch of the `if` (or the `try`, whose handlers leave) ends by making it or "
    "leaves, so after it the name holds what was made; the path that does not fail stays "
    "as it was; on an error before it is handed on, the object, which only this function "
    "holds there, is released before the error goes on",
)
CLOSE_AFTER_THE_BRANCHES_UNSAFE = Fix(
    CLOSE_ON_ERROR.codes,
    UNSAFE,
    CLOSE_AFTER_THE_BRANCHES.title,
    "it is handed on (passed, stored) before the error, or an except in the function uses "
    "it after: whoever holds it then finds it released",
)
FIXES = (CLOSE_UNTIL_HANDED_ON, CLOSE_AFTER_THE_BRANCHES, CLOSE_AFTER_THE_BRANCHES_UNSAFE)


def _alone(stmt: cst.CSTNode | None) -> cst.BaseSmallStatement | None:
    """The statement of a statement line that holds only it."""
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
        return stmt.body[0]
    return None


def _binding(tree: Tree, stmt: cst.CSTNode, var: str) -> cst.Call | None:
    """The call of ``var = call(...)`` (or ``var: T = call(...)``), a statement line alone."""
    small = _alone(stmt)
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target = small.targets[0].target
    elif isinstance(small, cst.AnnAssign) and small.value is not None:
        target = small.target
    else:
        return None
    value = small.value
    if isinstance(target, cst.Name) and target.value == var and isinstance(value, cst.Call):
        return value
    return None


def _leaves(stmt: cst.CSTNode) -> bool:
    """A statement line that ends in ``raise``, ``return``, ``continue`` or ``break``."""
    return isinstance(stmt, cst.SimpleStatementLine) and isinstance(
        stmt.body[-1], (cst.Raise, cst.Return, cst.Continue, cst.Break)
    )


def _branches(top: cst.CSTNode) -> list[cst.IndentedBlock] | None:
    """The blocks of an ``if``/``elif``/``else`` chain that has an ``else``, or the body of
    a ``try`` (no ``else``, no ``finally``) whose handlers all end by leaving; None for any
    other statement."""
    if isinstance(top, cst.Try):
        if top.orelse is not None or top.finalbody is not None or not top.handlers:
            return None
        if not all(isinstance(h.body, cst.IndentedBlock) and _leaves(h.body.body[-1]) for h in top.handlers):
            return None
        return [top.body] if isinstance(top.body, cst.IndentedBlock) else None
    blocks: list[cst.IndentedBlock] = []
    node: cst.CSTNode | None = top
    while isinstance(node, cst.If):
        if not isinstance(node.body, cst.IndentedBlock):
            return None
        blocks.append(node.body)
        node = node.orelse
    if not (isinstance(node, cst.Else) and isinstance(node.body, cst.IndentedBlock)):
        return None
    return [*blocks, node.body]


def close_after_the_branches(leak: Leak, tree: Tree, code: str, line: int, col: int) -> Edit | None:
    """``if a: h = F()`` / ``elif b: h = G()`` / ``else: raise E`` (or ``try: s = socket()``
    / ``except OSError: continue``), then statements that may fail before ``h`` is handed on
    → those statements in a ``try`` whose ``except BaseException`` releases it and
    re-raises: a ``with`` cannot hold what the branches make, and the name is bound after
    them on every path that goes on."""
    var = leak.var
    if leak.kind != "exception-path" or var is None or "." in var or leak.resource.return_to:
        return None
    if leak.resource.is_async or _binding(tree, tree.parents.get(tree.parents.get(leak.call)), var) is not leak.call:
        return None
    first_line = tree.parents.get(tree.parents.get(leak.call))
    inner = tree.parents.get(first_line)
    top = tree.parents.get(inner)
    while isinstance(top, (cst.If, cst.Else)) and isinstance(tree.parents.get(top), (cst.If, cst.Else)):
        top = tree.parents.get(top)  # up an elif chain to its first ``if``
    if isinstance(top, cst.Else):
        top = tree.parents.get(top)
    outer = tree.parents.get(top)
    scope = tree.scope_of(top)
    branches = _branches(top) if top is not None else None
    if not (branches and isinstance(outer, cst.IndentedBlock) and isinstance(scope, cst.FunctionDef)):
        return None
    if not any(block is inner for block in branches) or inner.body[-1] is not first_line:
        return None
    # every branch ends by making it (a leak being fixed, of the same name) or by leaving
    others = {id(o.call): (o, l, c, k) for o, l, c, k in tree.fixing if o is not leak and o.var == var}
    also = []
    for block in branches:
        made = _binding(tree, block.body[-1], var)
        if made is leak.call:
            continue
        if made is not None and id(made) in others and others[id(made)][0].kind == leak.kind:
            also.append(others[id(made)])
        elif not _leaves(block.body[-1]):
            return None
    kinds = {leak.resource.qualname, *(o.resource.qualname for o, *_ in also)}
    finalizer = _finalizer(var, leak, None)
    if finalizer is None or len({tuple(o.resource.release) for o, *_ in also} | {tuple(leak.resource.release)}) > 1:
        return None
    body = list(outer.body)
    middle = body[body.index(top) + 1 :]
    if not middle or any(_release_method(stmt, var, leak, None, tree) for stmt in middle):
        return None  # (released in its block later: not this shape)
    between = names_in(*middle)
    if var in between.bound or var in between.in_nested or var in between.declared:
        return None
    closed = _released_in(middle, var, frozenset(leak.resource.release))
    if closed and not kinds <= CLOSES_ON_EXIT or released_on_error(middle, var, leak):
        return None  # a second close() must do nothing; our own except is not wrapped again
    found = _Bound(var, leak.call, top, outer, scope, middle, None, "close", finalizer, False, closed)
    held = _held_until(middle, var, scope)
    fix = CLOSE_AFTER_THE_BRANCHES_UNSAFE
    if 0 < held:
        before = middle[:held]
        if (
            not any(_yields(stmt) for stmt in before)
            and _only_attribute_uses(tree, before, var)
            and (held == len(middle) or _itself(tree, middle[held], var, leak.resource.release))
        ):
            found = replace(found, middle=before)
            fix = CLOSE_AFTER_THE_BRANCHES
    if _used_after_a_caught_error(found, tree):
        fix = CLOSE_AFTER_THE_BRANCHES_UNSAFE
    edit = except_edit(found, code, line, col, tree, fix)
    return replace(edit, also=tuple((l, c, k) for _, l, c, k in also))


# --------------------------------------------------------------------------- handlers that leave

CLOSE_IN_THE_HANDLER = Fix(
    ("LL100", "LL101"),
    SAFE,
    "Release it first in the `except` that leaves without it",
    "a handler of the `try` that uses it swallows the error (or raises another) and leaves "
    "(return, continue, break, raise) with it open: the release runs there first; the path "
    "that does not fail stays as it was; only when the handler does not use it, nothing "
    "before the error hands it on, and nothing the handler leaves to uses it",
)
CLOSE_IN_THE_HANDLER_UNSAFE = Fix(
    CLOSE_IN_THE_HANDLER.codes,
    UNSAFE,
    CLOSE_IN_THE_HANDLER.title,
    "the `try` hands it on (passes, stores it) before the error may come: whoever holds it "
    "then finds it released",
)
FIXES = (*FIXES, CLOSE_IN_THE_HANDLER, CLOSE_IN_THE_HANDLER_UNSAFE)


def close_in_the_handlers(leak: Leak, tree: Tree, code: str, line: int, col: int) -> Edit | None:
    """``conn = socket()`` / ``try: conn.connect(p); return conn`` / ``except OSError:
    return None`` → ``except OSError: conn.close(); return None``: each handler that does
    not use it and ends by leaving releases it first."""
    var = leak.var
    if var is None or "." in var or leak.resource.return_to or leak.resource.is_async:
        return None
    found = _acquired(leak, tree)
    finalizer = _finalizer(var, leak, None)
    if found is None or finalizer is None or _count_uses(leak.call, var):
        return None
    first, block, start = found
    body = list(block.body)
    guard = next(
        (j for j in range(start + 1, len(body)) if isinstance(body[j], cst.Try) and _count_uses(body[j].body, var)),
        None,
    )
    if guard is None:
        return None
    try_ = body[guard]
    assert isinstance(try_, cst.Try)
    between = body[start + 1 : guard]  # used through its methods only, kept by no one
    methods = frozenset(leak.resource.release)
    if (
        try_.finalbody is not None
        or any(leaves_block(stmt) for stmt in between)
        or _released_in(between, var, methods)
        or not _only_attribute_uses(tree, between, var)
        or between and _derived_escapes(between, var, tree.scope_of(block), _HeldHere)
        or var in names_in(*between).bound
    ):
        return None
    leaving = []
    for handler in try_.handlers:
        if not isinstance(handler.body, cst.IndentedBlock):
            return None
        if _count_uses(handler, var):
            if _released_in([handler.body], var, methods):
                continue  # it releases it itself
            return None
        if not _leaves(handler.body.body[-1]):
            return None  # goes on after the try with it open: another shape
        leaving.append(handler)
    if _released_in([try_.body], var, methods) and leak.resource.qualname not in CLOSES_ON_EXIT:
        return None  # released in the try before the error: a second release must do nothing
    if not _through_the_handlers(leak, tree, try_, leaving, first):
        return None  # it leaks elsewhere too (a return in the try's body): another shape
    names = names_in(try_.body)
    if not leaving or var in names.bound or var in names.in_nested or var in names.declared:
        return None
    scope = tree.scope_of(block)
    assert isinstance(scope, cst.FunctionDef)
    region = [first, *between, try_]
    outside = _count_uses(scope, var) > sum(_count_uses(stmt, var) for stmt in region)
    loops_on = any(isinstance(h.body.body[-1].body[-1], (cst.Continue, cst.Break)) for h in leaving)  # type: ignore[union-attr]
    if outside and loops_on:
        return None  # the loop's next round or the code after it may use it
    caught = outside and any(
        isinstance(above, (cst.Try, cst.TryStar, cst.With))
        for above in _between(tree, block, scope)
    )
    # (a ``return`` in the body hands it to no handler: after it, nothing there can fail)
    used = [stmt for stmt in try_.body.body if not _returns(stmt)]
    lent = not _only_attribute_uses(tree, used, var) or _derived_escapes([try_.body], var, scope, _HeldHere)
    fix = CLOSE_IN_THE_HANDLER_UNSAFE if lent or caught else CLOSE_IN_THE_HANDLER

    def build(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.ExceptHandler) and isinstance(updated.body, cst.IndentedBlock)
        return updated.with_changes(body=updated.body.with_changes(body=[finalizer, *updated.body.body]))

    targets = tuple((handler, build) for handler in leaving)
    return Edit(fix, code, line, col, tree.span(leaving[0], leaving[-1]), targets)


def _through_the_handlers(
    leak: Leak, tree: Tree, try_: cst.Try, leaving: list[cst.ExceptHandler], first: cst.CSTNode
) -> bool:
    """The leak the analysis found goes through one of the ``leaving`` handlers: its return
    (or raise) is in one, an error in the ``try``'s body reaches one, or the acquisition
    rebinds it after one continued the loop."""
    other = leak.other
    if not isinstance(other, cst.CSTNode) or not leaving:
        return False

    def inside(root: cst.CSTNode) -> bool:
        return other is root or any(above is root for above in tree.ancestors(other))

    if any(inside(handler) for handler in leaving):
        return True
    if leak.kind == "exception-path" and inside(try_.body):
        return True
    return inside(first) and any(leaves_block(handler) for handler in leaving)  # a continue


def _returns(stmt: cst.CSTNode) -> bool:
    """A statement line ``return ...`` of names and tuples of names only (nothing to call)."""
    small = _alone(stmt)
    if not isinstance(small, cst.Return):
        return False
    value = small.value
    parts = [e.value for e in value.elements] if isinstance(value, cst.Tuple) else [value]
    return all(part is None or isinstance(part, cst.Name) for part in parts)


def _between(tree: Tree, node: cst.CSTNode, scope: cst.CSTNode) -> list[cst.CSTNode]:
    """The nodes enclosing ``node`` inside ``scope``."""
    out = []
    for above in tree.ancestors(node):
        if above is scope:
            break
        out.append(above)
    return out
