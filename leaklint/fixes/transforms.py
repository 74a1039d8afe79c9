"""The rewrites: each planner looks at one leak in one parsed module and returns the
``Edit`` that fixes it, or None when no rewrite is known to be right there.

Here: ``add_await`` (LL203), ``async_with`` (LL201), ``closing_with`` (LL110),
``with_for_unbound`` (LL102) and ``with_for_bound`` (LL100, LL101, LL130, LL150, LL200).
What they stand on lives beside them: ``offers`` (every fix they offer), ``tree`` (the
parsed module), ``identifiers`` (names in a subtree), ``escapes`` (what outlives a block),
``bound`` (``var = factory(...)`` up to its release), ``try_edits`` (the ``finally`` and
``except`` rewrites). The names the other planners import from here are re-exported
(``__all__``)."""

from __future__ import annotations

import libcst as cst

from leaklint.analysis.obligations import Leak
from leaklint.fixes.base import WAITS_OR_JOINS, Edit, refuse, why_no_with
from leaklint.fixes.bound import (
    _Bound,
    _bound,
    _finalizer,
    _release_method,
    _released_in,
    _used_after_a_caught_error,
    released_on_error,
)
from leaklint.fixes.escapes import (
    _derived_escapes,
    _ends_in_data,
    _escapes,
    _HeldHere,
    _only_attribute_uses,
    _used_eagerly,
    kept,
)
from leaklint.fixes.identifiers import (
    _body_names,
    _count_uses,
    _imports_module,
    fresh_name,
    names_in,
)
from leaklint.fixes.offers import (
    ADD_AWAIT,
    ASYNC_WITH,
    CLOSE_ON_ERROR,
    CLOSE_ON_ERROR_SAFE,
    CLOSING_FOR_UNBOUND,
    CLOSING_WITH,
    CLOSING_WITH_ESCAPES,
    ERROR_PATH_KINDS,
    MORE_FIXES,
    TRY_FINALLY,
    TRY_FINALLY_ERROR_PATH,
    TRY_FINALLY_UNSAFE,
    WITH_FOR_BOUND,
    WITH_FOR_UNBOUND,
    WITH_FOR_UNBOUND_MODULE,
    WITH_FOR_UNBOUND_PATCHED,
    WITH_TO_BLOCK_END,
)
from leaklint.fixes.tree import (
    Tree,
    has_comment,
    in_async_def,
    leaves_block,
    own_line,
    remove,
    statement_call,
)
from leaklint.fixes.try_edits import (
    _close_on_error_past_a_close,
    _try_finally,
    except_edit,
    try_edit,
)

__all__ = [
    "ADD_AWAIT",
    "ASYNC_WITH",
    "CLOSE_ON_ERROR",
    "CLOSE_ON_ERROR_SAFE",
    "CLOSING_FOR_UNBOUND",
    "CLOSING_WITH",
    "CLOSING_WITH_ESCAPES",
    "ERROR_PATH_KINDS",
    "MORE_FIXES",
    "TRY_FINALLY",
    "TRY_FINALLY_ERROR_PATH",
    "TRY_FINALLY_UNSAFE",
    "Tree",
    "WITH_FOR_BOUND",
    "WITH_FOR_UNBOUND",
    "WITH_FOR_UNBOUND_MODULE",
    "WITH_FOR_UNBOUND_PATCHED",
    "_Bound",
    "_HeldHere",
    "_bound",
    "_count_uses",
    "_derived_escapes",
    "_finalizer",
    "_imports_module",
    "_only_attribute_uses",
    "_release_method",
    "_released_in",
    "_used_after_a_caught_error",
    "add_await",
    "async_with",
    "closing_with",
    "except_edit",
    "fresh_name",
    "has_comment",
    "in_async_def",
    "kept",
    "leaves_block",
    "names_in",
    "own_line",
    "released_on_error",
    "remove",
    "statement_call",
    "try_edit",
    "with_for_bound",
    "with_for_unbound",
]


# --------------------------------------------------------------------------- LL203


def add_await(leak: Leak, tree: Tree, code: str, line: int, col: int) -> Edit | None:
    call = leak.call
    parent = tree.parents.get(call)
    if not (isinstance(parent, cst.Expr) and parent.value is call and in_async_def(tree, call)):
        return None
    if call.lpar:
        return None  # ``(x.aclose())``: rare, and the parentheses would need moving

    def build(updated: cst.CSTNode) -> cst.CSTNode:
        return cst.Await(expression=updated)

    return Edit(ADD_AWAIT, code, line, col, tree.span(call), ((call, build),))


# --------------------------------------------------------------------------- LL201


def async_with(leak: Leak, tree: Tree, code: str, line: int, col: int) -> Edit | None:
    item = tree.parents.get(leak.call)
    stmt = tree.parents.get(item) if item is not None else None
    if not (isinstance(item, cst.WithItem) and isinstance(stmt, cst.With)):
        return None
    if stmt.asynchronous is not None or not in_async_def(tree, stmt):
        return None
    if len(stmt.items) != 1:
        return None  # the other items may be plain context managers

    def build(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.With)
        return updated.with_changes(asynchronous=cst.Asynchronous())

    span = tree.span(stmt, stmt.items[-1])
    return Edit(ASYNC_WITH, code, line, col, span, ((stmt, build),))


# --------------------------------------------------------------------------- names


_BASE_NAMES = {"socket": "sock", "archive": "archive", "response": "resp", "selector": "sel",
               "connection": "conn"}


# --------------------------------------------------------------------------- LL110


def closing_with(leak: Leak, tree: Tree, code: str, line: int, col: int) -> Edit | None:
    call = leak.call
    item = tree.parents.get(call)
    stmt = tree.parents.get(item) if item is not None else None
    if not (isinstance(item, cst.WithItem) and isinstance(stmt, cst.With)):
        return None
    if stmt.asynchronous is not None or len(stmt.items) != 1 or item.item is not call:
        return None
    if "close" not in leak.resource.release or leak.resource.cm_closes:
        return None
    if item.asname is None or not isinstance(item.asname.name, cst.Name):
        return None
    var = item.asname.name.value
    scope = tree.scope_of(stmt)
    # the connection is closed at the end of the block: nothing else may use it
    outside = names_in(scope)
    inside = names_in(stmt)
    if var in outside.declared or var in inside.in_nested:
        return None
    if _count_uses(scope, var) != _count_uses(stmt, var):
        return None
    if "contextlib" in outside.all and not _imports_module(tree.module, "contextlib"):
        return None  # a local `contextlib` that is not the module
    fix = CLOSING_WITH_ESCAPES if _escapes(stmt, var, scope) else CLOSING_WITH

    def build(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.With)
        old_item = updated.items[0]
        closing = cst.Call(
            func=cst.Attribute(value=cst.Name("contextlib"), attr=cst.Name("closing")),
            args=[cst.Arg(value=old_item.item)],
        )
        body = updated.body
        if isinstance(body, cst.IndentedBlock):
            inner = cst.With(
                items=[cst.WithItem(item=cst.Name(var))],
                body=body.with_changes(header=cst.TrailingWhitespace(), footer=()),
            )
            outer = cst.IndentedBlock(
                body=[inner], header=body.header, indent=body.indent, footer=body.footer
            )
        else:
            assert isinstance(body, cst.SimpleStatementSuite)
            inner = cst.With(
                items=[cst.WithItem(item=cst.Name(var))],
                body=body.with_changes(trailing_whitespace=cst.TrailingWhitespace()),
            )
            outer = cst.IndentedBlock(body=[inner], header=body.trailing_whitespace)
        return updated.with_changes(items=[old_item.with_changes(item=closing)], body=outer)

    span = tree.span(stmt, stmt.items[-1])
    return Edit(fix, code, line, col, span, ((stmt, build),), imports=("contextlib",))


# --------------------------------------------------------------------------- LL102

#: Expressions that may evaluate their parts conditionally or repeatedly: a resource taken
#: out of one would be acquired where it was not before.
_CONDITIONAL = (
    cst.IfExp,
    cst.BooleanOperation,
    cst.Lambda,
    cst.ListComp,
    cst.SetComp,
    cst.DictComp,
    cst.GeneratorExp,
    cst.Yield,
)


def _has_effects(node: cst.CSTNode) -> bool:
    """Whether evaluating ``node`` may run code: a call, an await, a yield, an assignment."""
    found = []

    class Look(cst.CSTVisitor):
        def on_visit(self, n: cst.CSTNode) -> bool:
            if isinstance(n, (cst.Call, cst.Await, cst.Yield, cst.NamedExpr)):
                found.append(n)
                return False
            return not isinstance(n, cst.Lambda)

    node.visit(Look())
    return bool(found)


def _evaluated_first(tree: Tree, call: cst.CSTNode, stmt: cst.CSTNode) -> bool:
    """Nothing that runs code is evaluated before ``call`` in ``stmt``, and ``call`` is
    evaluated exactly once, unconditionally (so acquiring it first changes nothing)."""
    child = call
    for parent in tree.ancestors(call):
        if parent is stmt:
            return True
        if isinstance(parent, _CONDITIONAL):
            return False
        if isinstance(parent, cst.Comparison) and len(parent.comparisons) > 1:
            return False  # chained: short-circuits
        if isinstance(parent, cst.Call):
            if child is not parent.func:
                before = [parent.func]
                for arg in parent.args:
                    if arg is child:
                        break
                    before.append(arg)
                if any(_has_effects(node) for node in before):
                    return False
        elif isinstance(parent, cst.BinaryOperation):
            if child is parent.right and _has_effects(parent.left):
                return False
        elif isinstance(parent, cst.Subscript):
            if child is not parent.value and _has_effects(parent.value):
                return False
        elif isinstance(parent, (cst.Tuple, cst.List, cst.Set)):
            before = []
            for element in parent.elements:
                if element is child:
                    break
                before.append(element)
            if any(_has_effects(node) for node in before):
                return False
        elif isinstance(parent, (cst.Dict, cst.DictElement, cst.FormattedString, cst.Comparison,
                                 cst.ComparisonTarget, cst.ConcatenatedString)):
            return False  # order inside these is not worth the risk
        child = parent
    return False


def with_for_unbound(leak: Leak, tree: Tree, code: str, line: int, col: int) -> Edit | None:
    call = leak.call
    resource = leak.resource
    closing = not resource.cm_closes or why_no_with(resource.qualname) is not None
    if resource.is_async or closing and (
        resource.qualname in WAITS_OR_JOINS or "close" not in resource.release or resource.return_to
    ):
        return refuse("no `with` or closing() releases it as its release does")
    stmt = next(
        (a for a in tree.ancestors(call) if isinstance(a, (cst.BaseStatement, cst.BaseSmallStatement))),
        None,
    )
    if not isinstance(stmt, (cst.Assign, cst.Return, cst.Expr, cst.AugAssign)):
        return refuse("in a statement a `with` cannot wrap alone")
    line_stmt = tree.parents.get(stmt)
    if not isinstance(line_stmt, cst.SimpleStatementLine) or len(line_stmt.body) != 1:
        return refuse("the statement shares its line with others")
    block = tree.parents.get(line_stmt)
    if not isinstance(block, (cst.IndentedBlock, cst.Module)):
        return refuse("the statement is on the line of its block's header")
    if not _evaluated_first(tree, call, stmt):
        return refuse("something in the statement runs before it, or it is evaluated conditionally")
    if not (_used_eagerly(tree, call) or closing and _ends_in_data(tree, call)):
        # ``sqlite3.connect(p).execute(q).fetchall()``: only data is kept
        return refuse("the statement keeps the object (or something made from it), not only data")
    scope = tree.scope_of(line_stmt)
    if isinstance(scope, (cst.ClassDef, cst.Lambda)):
        return refuse("in a class body or a lambda")
    fix = WITH_FOR_UNBOUND if isinstance(scope, cst.FunctionDef) else WITH_FOR_UNBOUND_MODULE
    if closing and fix is WITH_FOR_UNBOUND:
        fix = CLOSING_FOR_UNBOUND  # binds the object itself: a patched name changes nothing
    elif tree.patches_names():
        fix = WITH_FOR_UNBOUND_PATCHED
    names = _body_names(scope)
    name = fresh_name(_BASE_NAMES.get(resource.kind, "f"), names.all | names.declared)

    def build(updated: cst.CSTNode) -> cst.CSTNode:
        inner = line_stmt.deep_replace(call, cst.Name(name))
        assert isinstance(inner, cst.SimpleStatementLine)
        item = cst.parse_expression("contextlib.closing(x)").with_changes(args=[cst.Arg(call)]) if closing else call
        return cst.With(
            items=[cst.WithItem(item=item, asname=cst.AsName(name=cst.Name(name)))],
            body=cst.IndentedBlock(
                body=[inner.with_changes(leading_lines=())],
                indent=block.indent if isinstance(block, cst.IndentedBlock) else None,
            ),
            leading_lines=line_stmt.leading_lines,
        )

    imports = ("contextlib",) if closing else ()
    return Edit(fix, code, line, col, tree.span(line_stmt), ((line_stmt, build),), imports)


# --------------------------------------------------------------------------- LL100 / LL101


def with_for_bound(leak: Leak, tree: Tree, code: str, line: int, col: int) -> Edit | None:
    """``f = open(p)`` ... ``f.close()`` → ``with open(p) as f:`` ..., where that means the
    same; otherwise the ``try/finally`` form."""
    found = _bound(leak, tree)
    if found is None:
        return None
    if found.closed_between:
        return _close_on_error_past_a_close(found, leak, tree, code, line, col)
    if (
        found.unpacked
        or leak.resource.is_async
        or not leak.resource.cm_closes
        or leak.resource.return_to
        or why_no_with(leak.resource.qualname)
        or found.method != "close"
        or tree.patches_names()  # ``as f`` would bind a mock's __enter__(), not the mock
    ):
        return _try_finally(found, leak, tree, code, line, col)
    var, middle, first, block = found.var, found.middle, found.first, found.block
    # every use of ``var`` in the function is in these statements (and the argument list of
    # the acquisition mentions it not)
    uses = sum(_count_uses(stmt, var) for stmt in middle) + 1 + (found.release is not None)
    if (
        _count_uses(found.scope, var) != uses
        or _count_uses(found.call, var)
        or not _only_attribute_uses(tree, middle, var)  # returned, stored, handed on
        or (found.release is None or found.exits) and _derived_escapes(middle, var, found.scope)
    ):
        return _try_finally(found, leak, tree, code, line, col)
    value = first.body[0].value  # type: ignore[attr-defined]

    def build_first(updated: cst.CSTNode) -> cst.CSTNode:
        return cst.With(
            items=[cst.WithItem(item=value, asname=cst.AsName(name=cst.Name(var)))],
            body=cst.IndentedBlock(body=middle, header=first.trailing_whitespace, indent=block.indent),
            leading_lines=first.leading_lines,
        )

    fix = WITH_FOR_BOUND if found.release is not None else WITH_TO_BLOCK_END
    gone = [*middle, *([found.release] if found.release is not None else [])]
    targets = ((first, build_first), *((stmt, remove) for stmt in gone))
    return Edit(fix, code, line, col, tree.span(first, found.last), targets)


def __getattr__(name: str) -> object:
    """``FIXABLE_CODES`` and ``ALL_FIXES`` live in ``planners`` (which imports this module);
    kept reachable here for the callers that import them from here."""
    if name in ("FIXABLE_CODES", "ALL_FIXES"):
        from leaklint.fixes import planners

        return getattr(planners, name)
    raise AttributeError(name)
