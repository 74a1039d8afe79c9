"""LL161: a ``@contextmanager`` generator's clean-up after a bare ``yield`` moves into a
``finally`` around the ``yield``, so an error in the with-block no longer skips it."""

from __future__ import annotations

import libcst as cst

from leaklint.analysis.leaks import Leak
from leaklint.fixes.base import SAFE, Edit, Fix
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
        return None
    block = tree.parents.get(stmt)
    if not isinstance(block, cst.IndentedBlock):
        return None
    body = list(block.body)
    index = next(i for i, s in enumerate(body) if s is stmt)
    after: list[cst.BaseStatement] = []
    for later in body[index + 1 :]:
        if _is_bare_yield(later) or _yields(later):
            break  # a second yield: not this one's clean-up
        after.append(later)
    if not after or any(leaves_block(s) for s in after):
        return None
    assert isinstance(stmt, cst.SimpleStatementLine)

    def build(updated: cst.CSTNode) -> cst.CSTNode:
        return cst.Try(
            body=cst.IndentedBlock(body=[stmt.with_changes(leading_lines=())], indent=block.indent),
            finalbody=cst.Finally(body=cst.IndentedBlock(body=after, indent=block.indent)),
            leading_lines=stmt.leading_lines,
        )

    targets = ((stmt, build), *((s, remove) for s in after))
    return Edit(TRY_AROUND_YIELD, code, line, col, tree.span(stmt, after[-1]), targets)


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
