"""``var = factory(...)`` and what follows it in its block, up to its release
(``_bound`` → ``_Bound``), or None with the reason refused; the releases a planner finds or
adds (``_release_method``, ``_released_in``, ``_finalizer``, ``released_on_error``) and
whether a caught error would reach code that uses it after (``_used_after_a_caught_error``)."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from leaklint.analysis.leaks import Leak
from leaklint.analysis.names import SameScopeVisitor
from leaklint.fixes.base import CLOSES_ON_EXIT, WAITS_OR_JOINS, refuse
from leaklint.fixes.identifiers import _count_uses, names_in
from leaklint.fixes.tree import (
    Tree,
    has_comment,
    in_async_def,
    leaves_block,
    statement_call,
)


@dataclass(frozen=True, slots=True)
class _Bound:
    """``var = factory(...)`` as a statement line of its own in a block of a function, the
    statements after it up to its release (``var.close()``, ``await var.aclose()``,
    ``pool.putconn(var)``) in the same block, or to the block's end when nothing releases it
    (``release`` is None; ``finalizer`` is then the release to add)."""

    var: str
    call: cst.Call
    first: cst.SimpleStatementLine
    block: cst.IndentedBlock
    scope: cst.FunctionDef
    middle: list[cst.CSTNode]
    release: cst.SimpleStatementLine | None
    method: str
    finalizer: cst.SimpleStatementLine
    exits: bool  # something in between returns, breaks or continues (that path leaked)
    #: a close() on some path in between (a branch that closes and returns): only an error
    #: path may release it, and only for types whose second close() does nothing
    closed_between: bool = False
    unpacked: bool = False  # ``a, b = socket.socketpair()``: no ``with`` binds one of them

    @property
    def last(self) -> cst.CSTNode:
        return self.release if self.release is not None else self.middle[-1]


def _release_method(stmt: cst.CSTNode, var: str, leak: Leak, pool: str | None, tree: Tree) -> str | None:
    """The release ``stmt`` makes of ``var`` as a statement line of its own: ``var.close()``,
    ``await var.aclose()`` for an async resource, ``pool.putconn(var)`` for a checkout."""
    call = statement_call(stmt, leak.resource.is_async)
    if call is None:
        return None
    assert isinstance(call.func, cst.Attribute)
    method = call.func.attr.value
    if pool is not None:
        if (
            method in leak.resource.return_to
            and len(call.args) == 1
            and isinstance(call.args[0].value, cst.Name)
            and call.args[0].value.value == var
            and tree.module.code_for_node(call.func.value) == pool
        ):
            return method
        return None
    if call.args or not (isinstance(call.func.value, cst.Name) and call.func.value.value == var):
        return None
    wanted = leak.resource.awaited_release if leak.resource.is_async else leak.resource.release
    return method if method in wanted else None


class _Releases(SameScopeVisitor):
    """Whether statements release ``var`` anywhere (a nested ``if``'s ``var.close()``)."""

    def __init__(self, var: str, methods: frozenset[str]) -> None:
        super().__init__()
        self.var, self.methods = var, methods
        self.found = False

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute):
            if isinstance(func.value, cst.Name) and func.value.value == self.var and func.attr.value in self.methods:
                self.found = True
            if func.attr.value in self.methods and any(
                isinstance(arg.value, cst.Name) and arg.value.value == self.var for arg in node.args
            ):
                self.found = True  # ``pool.putconn(var)``


def _released_in(nodes: list[cst.CSTNode], var: str, methods: frozenset[str]) -> bool:
    look = _Releases(var, methods)
    for node in nodes:
        node.visit(look)
    return look.found


#: Releases a fix may add where the code has none: they only free the object.
_ADDABLE_RELEASES = ("close", "aclose", "release", "dispose", "cleanup")


def _finalizer(var: str, leak: Leak, pool: str | None) -> cst.SimpleStatementLine | None:
    """The release statement to add where the code has none."""
    resource = leak.resource
    if pool is not None:
        return cst.parse_statement(f"{pool}.{resource.return_to[0]}({var})")  # type: ignore[return-value]
    if resource.qualname in WAITS_OR_JOINS or resource.kind == "file descriptor":
        return None  # (a descriptor is an int: ``os.close(fd)``, descriptors.py's)
    wanted = resource.awaited_release if resource.is_async else frozenset(resource.release)
    method = next((m for m in _ADDABLE_RELEASES if m in wanted), None)
    if method is None:
        return None
    text = f"await {var}.{method}()" if resource.is_async else f"{var}.{method}()"
    return cst.parse_statement(text)  # type: ignore[return-value]


def _bound(leak: Leak, tree: Tree, elsewhere: bool = False) -> _Bound | None:
    """``var = factory(...)`` and what follows it in its block (``_Bound``), or None with the
    reason refused. ``elsewhere``: the name may be used outside its block (an ``except`` that
    re-raises releases it; nothing after that runs unless the error is caught)."""
    call, var = leak.call, leak.var
    if var is None or not isinstance(call, cst.Call):
        return refuse("not bound to a name (a tuple, a with item, an argument)")
    if "." in var:
        return refuse("stored on an attribute (self.x = ...), not a local name")
    if leak.resource.kind == "file descriptor":
        return refuse("a descriptor (an int): only `os.close(fd)` releases it")
    assign = tree.parents.get(call)
    if leak.resource.is_async and isinstance(assign, cst.Await):
        assign = tree.parents.get(assign)  # ``session = await factory()``
    if not (isinstance(assign, cst.Assign) and len(assign.targets) == 1):
        return refuse("not `name = factory(...)` (the call inside an expression)")
    target = assign.targets[0].target
    unpacked = isinstance(target, (cst.Tuple, cst.List)) and leak.resource.kind != "file descriptor" and any(
        isinstance(element.value, cst.Name) and element.value.value == var for element in target.elements
    )
    if not (unpacked or isinstance(target, cst.Name) and target.value == var):
        return refuse("not `name = factory(...)` (a tuple target, or the call inside an expression)")
    first = tree.parents.get(assign)
    if not isinstance(first, cst.SimpleStatementLine) or len(first.body) != 1:
        return refuse("the acquisition shares its line with other statements")
    block = tree.parents.get(first)
    if not isinstance(block, cst.IndentedBlock):
        return refuse("the acquisition is on the line of its block's header")
    scope = tree.scope_of(block)
    if not isinstance(scope, cst.FunctionDef):
        return refuse("at module or class level, not in a function")
    if leak.resource.is_async and not in_async_def(tree, block):
        return refuse("an async resource outside `async def`")
    pool = None
    if leak.resource.return_to:
        if not isinstance(call.func, cst.Attribute):
            return refuse("a pool checkout whose pool is not named")
        pool = tree.module.code_for_node(call.func.value)
    body = list(block.body)
    start = next(i for i, stmt in enumerate(body) if stmt is first)
    end = next(
        (j for j in range(start + 1, len(body)) if _release_method(body[j], var, leak, pool, tree)),
        None,
    )
    release = body[end] if end is not None else None
    middle = body[start + 1 : end]
    if not middle:
        return refuse("nothing after the acquisition in its block")
    if release is not None:
        assert isinstance(release, cst.SimpleStatementLine)
        if has_comment(release):
            return refuse("the release line carries a comment")
        method = _release_method(release, var, leak, pool, tree) or ""
        finalizer = release
    else:
        made = _finalizer(var, leak, pool)
        if made is None:
            return refuse("no release a fix may add (close, aclose, release, dispose; never a wait or join)")
        finalizer, method = made, "close"
    methods = frozenset((*leak.resource.release, *leak.resource.return_to))
    closed_between = _released_in(middle, var, methods)
    if closed_between and (
        release is not None
        or leak.resource.qualname not in CLOSES_ON_EXIT
        or any(isinstance(stmt, cst.Try) and _released_in([stmt.finalbody], var, methods)
               for stmt in middle if getattr(stmt, "finalbody", None) is not None)
    ):
        # (a later try whose finally releases it: ``errorpath.into_later_finally``)
        return refuse("released on some path in between (a branch, or a try of its own)")
    between = names_in(*middle)
    if var in between.bound or var in between.in_nested or var in between.declared:
        return refuse("rebound, deleted or captured by a nested function in between")
    if release is None and not elsewhere:
        # released at the block's end: nothing outside the block may use it
        inside = sum(_count_uses(stmt, var) for stmt in (first, *middle))
        if _count_uses(scope, var) != inside and not _only_earlier_rebound(tree, block, body[:start], var, scope):
            return refuse("the name is used outside the block it was acquired in")
    exits = any(leaves_block(stmt) for stmt in middle)
    return _Bound(var, call, first, block, scope, middle, release, method, finalizer, exits,
                  closed_between, unpacked)


def _only_earlier_rebound(
    tree: Tree, block: cst.IndentedBlock, before: list[cst.BaseStatement], var: str, scope: cst.CSTNode
) -> bool:
    """Every use of ``var`` outside the acquisition's statements is in ``before`` (the
    statements before it in its block), where it never reads this object: nothing after
    the block runs with it, no nested function sees it, and in a loop the first of them
    that mentions it binds it anew (``with open(h) as f:`` ... ``f = open(d)``)."""
    uses = sum(_count_uses(stmt, var) for stmt in before)
    outside = _count_uses(scope, var) - sum(_count_uses(stmt, var) for stmt in block.body)
    if outside or not uses or var in names_in(getattr(scope, "body", scope)).in_nested:
        return False
    loops = False
    for above in tree.ancestors(block):
        if above is scope:
            break
        loops = loops or isinstance(above, (cst.For, cst.While))
    if not loops:
        return True  # runs once: nothing before the acquisition can see what it makes
    mentioning = next(stmt for stmt in before if _count_uses(stmt, var))
    if isinstance(mentioning, cst.With):
        return any(
            item.asname is not None and isinstance(item.asname.name, cst.Name) and item.asname.name.value == var
            for item in mentioning.items
        ) and not any(_count_uses(item.item, var) for item in mentioning.items)
    small = mentioning.body[0] if isinstance(mentioning, cst.SimpleStatementLine) and len(mentioning.body) == 1 else None
    return (
        isinstance(small, cst.Assign)
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
        and small.targets[0].target.value == var
        and not _count_uses(small.value, var)
    )


def _entered(stmts: list[cst.CSTNode], var: str) -> bool:
    """``with var:`` (or ``with var as x:``) somewhere in ``stmts``: its exit releases it."""

    class Look(cst.CSTVisitor):
        found = False

        def visit_WithItem(self, node: cst.WithItem) -> None:
            self.found = self.found or isinstance(node.item, cst.Name) and node.item.value == var

    look = Look()
    for stmt in stmts:
        stmt.visit(look)
    return look.found


def released_on_error(stmts: list[cst.BaseStatement], var: str, leak: Leak) -> bool:
    """One of ``stmts`` is a ``try`` with an ``except`` that releases ``var`` and re-raises
    (this fix's own, when the hand-off after it may fail too: not wrapped again)."""
    methods = frozenset(leak.resource.release)
    for stmt in stmts:
        if isinstance(stmt, cst.Try):
            for handler in stmt.handlers:
                body = list(handler.body.body) if isinstance(handler.body, cst.IndentedBlock) else []
                last = body[-1] if body else None
                reraises = isinstance(last, cst.SimpleStatementLine) and any(
                    isinstance(small, cst.Raise) and small.exc is None for small in last.body
                )
                if reraises and _released_in(body, var, methods):
                    return True
    return False


def _used_after_a_caught_error(found: _Bound, tree: Tree) -> bool:
    """An error between the acquisition and the release may be caught in the function (an
    enclosing ``try``, or a ``with`` whose ``__exit__`` may swallow it), and the name is used
    outside those statements, where it may now run on the released object: an ``except``
    that reads the file (issue 24's F1) or code after the ``try``."""
    caught = False
    for above in tree.ancestors(found.block):
        if above is found.scope:
            break
        caught = caught or isinstance(above, (cst.Try, cst.TryStar, cst.With))
    if not caught:
        return False
    region = (found.first, *found.middle, *([found.release] if found.release is not None else []))
    inside = sum(_count_uses(stmt, found.var) for stmt in region)
    return _count_uses(found.scope, found.var) > inside
