"""The rewrites: each planner looks at one leak in one parsed module and returns the
``Edit`` that fixes it, or None when no rewrite is known to be right there."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from leaklint.analysis.names import SameScopeVisitor
from leaklint.analysis.obligations import Leak
from leaklint.fixes.base import (
    CLOSES_ON_EXIT,
    WAITS_OR_JOINS,
    Edit,
    Fix,
    refuse,
    why_no_with,
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
    TRY_TO_BLOCK_END,
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


#: Releases that only free the object: moved into ``finally`` they cannot block.
_PLAIN_RELEASES = frozenset({"close", "release", "unlink", "aclose", "putconn", "dispose", "cleanup"})


def __getattr__(name: str) -> object:
    """``FIXABLE_CODES`` and ``ALL_FIXES`` live in ``planners`` (which imports this module);
    kept reachable here for the callers that import them from here."""
    if name in ("FIXABLE_CODES", "ALL_FIXES"):
        from leaklint.fixes import planners

        return getattr(planners, name)
    raise AttributeError(name)
