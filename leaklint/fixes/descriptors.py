"""A raw file descriptor from ``fd, path = tempfile.mkstemp()`` (and the other factories that
give one in a tuple): its ``os.close(fd)`` moves into a ``finally`` around the statements in
between, or one is added there at the end of the block when nothing closed it."""

from __future__ import annotations

from dataclasses import replace

import libcst as cst

from leaklint.analysis.leaks import Leak
from leaklint.fixes.base import SAFE, UNSAFE, Edit, Fix, refuse
from leaklint.fixes.transforms import (
    ERROR_PATH_KINDS,
    Tree,
    _Bound,
    _count_uses,
    _imports_module,
    except_edit,
    kept,
    has_comment,
    leaves_block,
    names_in,
    own_line,
    try_edit,
)

CLOSE_FD = Fix(
    ("LL100", "LL101"),
    SAFE,
    "Close the descriptor with `os.close()` in a `finally` around the statements in between",
    "the descriptor is closed where it was (or, when nothing closed it, at the end of the "
    "block), and now on an error or early return too; only when every use in between is "
    "an os function reading or writing it",
)
CLOSE_FD_HANDED_ON = Fix(
    ("LL100", "LL101"),
    UNSAFE,
    "Close the descriptor with `os.close()` in a `finally` around the statements in between",
    "the descriptor is handed to something else in between (os.fdopen, a callee, a return "
    "value) that may close it or keep it: closing it in the finally can close it twice "
    "(OSError) or under its new owner",
)
FIXES = (CLOSE_FD, CLOSE_FD_HANDED_ON)

#: ``os`` functions that use a descriptor and leave it open (and its owner unchanged).
_BORROWING = frozenset(
    {"write", "read", "pread", "pwrite", "fstat", "fsync", "fdatasync", "ftruncate", "lseek",
     "fchmod", "fchown", "set_inheritable", "set_blocking", "get_inheritable", "get_blocking",
     "isatty", "readv", "writev", "sendfile", "posix_fallocate", "posix_fadvise", "lockf",
     # a copy of it on another descriptor (or a new one): the original stays the caller's
     "dup", "dup2", "fchdir", "fstatvfs", "fpathconf", "ttyname", "device_encoding",
     "get_terminal_size"}
)


def _os_call(node: cst.CSTNode, names: frozenset[str] | None = None) -> str | None:
    """``os.name(...)``'s name, if ``node`` is such a call (and ``name`` is in ``names``)."""
    if not (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and isinstance(node.func.value, cst.Name)
        and node.func.value.value == "os"
    ):
        return None
    name = node.func.attr.value
    return name if names is None or name in names else None


def _closes(stmt: cst.CSTNode, var: str) -> bool:
    """``os.close(var)`` as a statement line of its own."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1):
        return False
    expr = stmt.body[0]
    return (
        isinstance(expr, cst.Expr)
        and _os_call(expr.value, frozenset({"close"})) is not None
        and len(expr.value.args) == 1  # type: ignore[attr-defined]
        and isinstance(expr.value.args[0].value, cst.Name)  # type: ignore[attr-defined]
        and expr.value.args[0].value.value == var  # type: ignore[attr-defined]
    )


class _Borrowed(cst.CSTVisitor):
    """Whether every use of ``var`` is an argument of a borrowing ``os`` function."""

    def __init__(self, var: str) -> None:
        super().__init__()
        self.var, self.lent, self.uses = var, 0, 0

    def visit_Call(self, node: cst.Call) -> None:
        if _os_call(node, _BORROWING):
            self.lent += sum(
                1 for arg in node.args if isinstance(arg.value, cst.Name) and arg.value.value == self.var
            )

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == self.var:
            self.uses += 1


class _CloseCall(cst.CSTVisitor):
    def __init__(self, var: str) -> None:
        super().__init__()
        self.var, self.found = var, False

    def visit_Call(self, node: cst.Call) -> None:
        if _os_call(node, frozenset({"close", "closerange"})) and any(
            isinstance(arg.value, cst.Name) and arg.value.value == self.var for arg in node.args
        ):
            self.found = True


def _closes_anywhere(stmt: cst.CSTNode, var: str) -> bool:
    """``os.close(var)`` anywhere in ``stmt`` (a branch, a nested block)."""
    look = _CloseCall(var)
    stmt.visit(look)
    return look.found


def _only_borrowed(middle: list[cst.CSTNode], var: str) -> bool:
    look = _Borrowed(var)
    for stmt in middle:
        stmt.visit(look)
    return look.uses == look.lent


def close_fd_in_finally(leak: Leak, tree: Tree, code: str, line: int, col: int) -> Edit | None:
    """``fd, path = tempfile.mkstemp()`` (or ``fd = os.open(path, flags)``) ... ``os.close(fd)``
    → the same with the statements in between in a ``try`` and ``os.close(fd)`` in its
    ``finally``."""
    call, var = leak.call, leak.var
    descriptor = leak.resource.kind == "file descriptor"  # ``fd = os.open(path, flags)``
    if not (leak.resource.unpack or descriptor) or leak.resource.release != ("close",) or var is None:
        return None
    assign = tree.parents.get(call)
    target = assign.targets[0].target if isinstance(assign, cst.Assign) and len(assign.targets) == 1 else None
    if not (
        isinstance(call, cst.Call)
        and (
            isinstance(target, (cst.Tuple, cst.List))
            and any(isinstance(el.value, cst.Name) and el.value.value == var for el in target.elements)
            or descriptor and isinstance(target, cst.Name) and target.value == var
        )
    ):
        return refuse("a descriptor not bound by `fd = ...` or `fd, x = ...` (an expression, another target)")
    placed = own_line(tree, assign)
    if placed is None:
        return refuse("the descriptor's acquisition is not a statement line of its own in a block")
    first, block = placed
    imported = _imports_module(tree.module, "os")
    if not imported and "os" in names_in(tree.module).all:
        return refuse("`os` names something else in this module")
    scope = tree.scope_of(block)
    if not isinstance(scope, cst.FunctionDef):
        return refuse("a descriptor acquired at module or class level")
    body = list(block.body)
    start = next(i for i, stmt in enumerate(body) if stmt is first)
    end = next((j for j in range(start + 1, len(body)) if _closes(body[j], var)), None)
    release = body[end] if end is not None else None
    middle = body[start + 1 : end]
    if not middle or (release is not None and has_comment(release)):  # type: ignore[arg-type]
        return refuse("nothing after the descriptor's acquisition in its block (or its close carries a comment)")
    between = names_in(*middle)
    if var in between.bound or var in between.in_nested or var in between.declared:
        return refuse("the descriptor's name is rebound or captured in between")
    if any(_closes_anywhere(stmt, var) for stmt in middle):
        return refuse("the descriptor is closed on some path in between: a second os.close() raises")
    uses = sum(_count_uses(stmt, var) for stmt in middle)
    if _count_uses(scope, var) != uses + 1 + (release is not None):
        return refuse("the descriptor is used outside the statements from its acquisition to its close")
    finalizer = release if release is not None else cst.parse_statement(f"os.close({var})")
    assert isinstance(finalizer, cst.SimpleStatementLine)
    exits = any(leaves_block(stmt) for stmt in middle)
    found = _Bound(var, call, first, block, scope, middle, release, "close", finalizer, exits)
    if _only_borrowed(middle, var):
        edit = try_edit(found, CLOSE_FD, code, line, col, tree)
    elif release is not None or not kept(middle, var, scope):
        edit = try_edit(found, CLOSE_FD_HANDED_ON, code, line, col, tree)
    elif leak.kind in ERROR_PATH_KINDS:
        # handed on (returned, given to a callee) where it did not leak: a `finally` would
        # close what its new owner holds (ptyprocess's fork_pty returned the closed fd)
        edit = except_edit(found, code, line, col, tree)
    else:
        return refuse("the descriptor is handed on where it did not leak, and leaked on a normal path")
    return edit if imported else replace(edit, imports=("os",))
