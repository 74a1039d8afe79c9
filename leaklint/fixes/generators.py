"""LL161: a ``@contextmanager`` generator's clean-up after a bare ``yield`` moves into a
``finally`` around the ``yield``, so an error in the with-block no longer skips it."""

from __future__ import annotations

import libcst as cst

from leaklint.analysis.leaks import Leak
from leaklint.fixes.base import SAFE, Edit, Fix, refuse
from leaklint.fixes.transforms import Tree, leaves_block, remove

TRY_AROUND_YIELD = Fix(
    ("LL161",),
    SAFE,
    "Put the `yield` in a `try` and the clean-up after it in its `finally`",
    "the clean-up runs where it ran when the with-block succeeds; only when it has no "
    "return, break or continue (in a finally they would swallow the with-block's error) and "
    "the yield's value is not bound",
)
FIXES = (TRY_AROUND_YIELD,)


def _is_bare_yield(stmt: cst.CSTNode) -> bool:
    """``yield`` or ``yield x`` as a statement line of its own (its value not bound)."""
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, cst.Yield)
    )


def try_around_yield(leak: Leak, tree: Tree, code: str, line: int, col: int) -> Edit | None:
    stmt = leak.call
    if not _is_bare_yield(stmt):
        return refuse("the yield's value is bound, or it shares its line")
    placed = block_after(tree, stmt)
    if placed is None:
        return refuse("the yield is on the line of its block's header")
    block, following = placed
    after: list[cst.BaseStatement] = []
    for later in following:
        if _is_bare_yield(later) or _yields(later):
            break  # a second yield: not this one's clean-up
        after.append(later)
    if not after:
        return refuse("nothing after the yield in its block (the clean-up is elsewhere)")
    if any(leaves_block(s) for s in after):
        return refuse("the clean-up returns, breaks or continues: in a finally it would swallow the with-block's error")
    assert isinstance(stmt, cst.SimpleStatementLine)
    return finally_after(stmt, after, block, TRY_AROUND_YIELD, code, line, col, tree)


def block_after(
    tree: Tree, stmt: cst.CSTNode
) -> tuple[cst.IndentedBlock, list[cst.BaseStatement]] | None:
    """The indented block ``stmt`` is a statement of, and the statements after it there."""
    block = tree.parents.get(stmt)
    if not isinstance(block, cst.IndentedBlock):
        return None
    body = list(block.body)
    return block, body[next(i for i, s in enumerate(body) if s is stmt) + 1 :]


def finally_after(
    stmt: cst.SimpleStatementLine,
    after: list[cst.BaseStatement],
    block: cst.IndentedBlock,
    fix: Fix,
    code: str,
    line: int,
    col: int,
    tree: Tree,
) -> Edit:
    """The edit that makes ``stmt`` a ``try`` of its own whose ``finally`` is ``after`` (the
    statements that follow it in ``block``)."""

    def build(updated: cst.CSTNode) -> cst.CSTNode:
        return cst.Try(
            body=cst.IndentedBlock(body=[stmt.with_changes(leading_lines=())], indent=block.indent),
            finalbody=cst.Finally(body=cst.IndentedBlock(body=after, indent=block.indent)),
            leading_lines=stmt.leading_lines,
        )

    targets = ((stmt, build), *((s, remove) for s in after))
    return Edit(fix, code, line, col, tree.span(stmt, after[-1]), targets)


def _yields(stmt: cst.CSTNode) -> bool:
    found = []

    class Look(cst.CSTVisitor):
        def visit_Yield(self, node: cst.Yield) -> None:
            found.append(node)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

    stmt.visit(Look())
    return bool(found)
