"""LL140: ``lock.acquire()`` ... ``lock.release()`` in one block becomes ``with lock:``
(``await lock.acquire()`` becomes ``async with lock:``)."""

from __future__ import annotations

import libcst as cst

from leaklint.analysis.leaks import Leak
from leaklint.fixes.base import SAFE, UNSAFE, Edit, Fix, refuse
from leaklint.fixes.transforms import (
    Tree,
    has_comment,
    in_async_def,
    leaves_block,
    remove,
    statement_call,
)

WITH_LOCK = Fix(
    ("LL140",),
    SAFE,
    "Hold the lock in a `with` from the acquire() to the release()",
    "a blocking acquire() whose result is not used, released later in the same block; the "
    "lock's __enter__/__exit__ are its acquire()/release()",
)
WITH_LOCK_EXITS = Fix(
    ("LL140",),
    UNSAFE,
    "Hold the lock in a `with` from the acquire() to the release()",
    "a return, break or continue in between left the lock held; it is now released there, "
    "which is wrong if the caller was meant to release it",
)
FIXES = (WITH_LOCK, WITH_LOCK_EXITS)


def _plain_path(node: cst.BaseExpression) -> bool:
    """A name or a chain of attributes of one (``LOCK``, ``self._lock``): evaluating it twice
    gives the same object unless something assigns it."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, cst.Name)


class _Touches(cst.CSTVisitor):
    """Whether statements assign the lock's path (or its head name) or call acquire/release
    on it again."""

    def __init__(self, module: cst.Module, path: str, head: str) -> None:
        self.module, self.path, self.head = module, path, head
        self.found = False

    def _target(self, target: cst.CSTNode) -> None:
        text = self.module.code_for_node(target)
        if text == self.path or text == self.head or self.path.startswith(text + "."):
            self.found = True

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._target(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._target(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._target(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self._target(node.name)

    def visit_For(self, node: cst.For) -> None:
        self._target(node.target)

    def visit_Global(self, node: cst.Global) -> None:
        self.found = self.found or any(item.name.value == self.head for item in node.names)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("acquire", "release"):
            if self.module.code_for_node(func.value) == self.path:
                self.found = True


def with_lock(leak: Leak, tree: Tree, code: str, line: int, col: int) -> Edit | None:
    call = leak.call
    if not isinstance(call, cst.Call) or call.args or not isinstance(call.func, cst.Attribute):
        return refuse("not a plain `lock.acquire()` (arguments: a timeout or non-blocking)")
    if call.func.attr.value != "acquire" or not _plain_path(call.func.value):
        return refuse("not a plain `lock.acquire()` on a name or attribute path")
    awaited = isinstance(tree.parents.get(call), cst.Await)
    expr = tree.parents.get(tree.parents.get(call) if awaited else call)
    first = tree.parents.get(expr) if isinstance(expr, cst.Expr) else None
    if first is None or statement_call(first, awaited) is not call:
        return refuse("the acquire() is not a statement of its own (its result is used)")
    if awaited and not in_async_def(tree, first):
        return refuse("an awaited acquire outside `async def`")
    block = tree.parents.get(first)
    if not isinstance(block, cst.IndentedBlock):
        return refuse("the acquire() is on the line of its block's header")
    lock = call.func.value
    path = tree.module.code_for_node(lock)
    head = path.split(".", 1)[0]
    body = list(block.body)
    start = next(i for i, stmt in enumerate(body) if stmt is first)
    end = None
    for j in range(start + 1, len(body)):
        release = statement_call(body[j], False)
        if (
            release is not None
            and not release.args
            and release.func.attr.value == "release"  # type: ignore[union-attr]
            and tree.module.code_for_node(release.func.value) == path  # type: ignore[union-attr]
        ):
            end = j
            break
    if end is None:
        return refuse("no release() of the same lock later in its block (released elsewhere or in a branch)")
    if end == start + 1:
        return refuse("nothing between the acquire() and the release()")
    release_stmt = body[end]
    assert isinstance(release_stmt, cst.SimpleStatementLine) and isinstance(first, cst.SimpleStatementLine)
    if has_comment(release_stmt):
        return refuse("the release line carries a comment")
    middle = body[start + 1 : end]
    touches = _Touches(tree.module, path, head)
    for stmt in middle:
        stmt.visit(touches)
    if touches.found:
        return refuse("the statements in between touch the lock (or what holds it)")
    fix = WITH_LOCK_EXITS if any(leaves_block(stmt) for stmt in middle) else WITH_LOCK

    def build(updated: cst.CSTNode) -> cst.CSTNode:
        return cst.With(
            items=[cst.WithItem(item=lock)],
            body=cst.IndentedBlock(body=middle, header=first.trailing_whitespace, indent=block.indent),
            asynchronous=cst.Asynchronous() if awaited else None,
            leading_lines=first.leading_lines,
        )

    targets = ((first, build), *((stmt, remove) for stmt in [*middle, release_stmt]))
    return Edit(fix, code, line, col, tree.span(first, release_stmt), targets)
