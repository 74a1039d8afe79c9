"""``contextlib.ExitStack`` for several resources of one block whose closes do not nest
(``src = open(a)``, ``dst = open(b)`` ... ``src.close()``, ``dst.close()``: a ``with`` around
``src`` would end before ``dst`` is closed), and for a list of them made in a comprehension
and closed in a loop (``files = [open(p) for p in paths]`` ... ``for f in files: f.close()``).

The resources are entered on the stack where they are made; the closes stay where they
were, so on the path that did not leak the same calls run in the same order, and the
stack's exit at the last close only calls close() again on what is closed already (a no-op
for the types a ``with`` may hold, ``base.CLOSES_ON_EXIT``). On an error in between, which
leaked them, the stack closes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from leaklint.analysis.obligations import Leak
from leaklint.fixes.base import SAFE, UNSAFE, Edit, Fix, why_no_with
from leaklint.fixes.transforms import (
    Tree,
    _count_uses,
    _only_attribute_uses,
    fresh_name,
    kept,
    leaves_block,
    names_in,
)

_TITLE = "Enter the resources on a `contextlib.ExitStack`, keep their closes"
EXIT_STACK = Fix(
    ("LL100", "LL101"),
    SAFE,
    _TITLE,
    "the closes stay where they were, in their order; the stack's exit after the last one "
    "closes again only what is closed (a no-op for files, sockets and archives) or what an "
    "error left open; not with a return, break or yield in between, nor in a module that "
    "patches names; each used through its methods or lent to calls (whatever a callee kept "
    "finds it closed where it was closed before)",
)
EXIT_STACK_HANDED_ON = Fix(
    ("LL100", "LL101"),
    UNSAFE,
    _TITLE,
    "one of them is handed on (stored, returned, yielded) in between: whoever holds it finds "
    "it closed after an error, where it used to stay open",
)
FIXES = (EXIT_STACK, EXIT_STACK_HANDED_ON)


@dataclass(frozen=True, slots=True)
class _Member:
    """One resource of the group: its acquisition statement (``var = F(...)``, or ``var =
    [F(...) for ...]`` when ``listed``) and its release (``var.close()``, or ``for x in var:
    x.close()``), both statements of ``block``, at indexes ``start`` < ``end``."""

    leak: Leak
    var: str
    listed: bool
    start: int
    end: int


def _acquisition(leak: Leak, tree: Tree) -> tuple[cst.SimpleStatementLine, bool] | None:
    """The statement line ``var = F(...)`` (or ``var = [F(...) for ...]``) of ``leak``."""
    call, var = leak.call, leak.var
    if var is None or "." in var or not isinstance(call, cst.Call) or leak.resource.is_async:
        return None
    if why_no_with(leak.resource.qualname) or not leak.resource.cm_closes:
        return None
    parent = tree.parents.get(call)
    listed = isinstance(parent, cst.ListComp) and parent.elt is call
    assign = tree.parents.get(parent) if listed else parent
    if not (
        isinstance(assign, cst.Assign)
        and assign.value is (parent if listed else call)
        and len(assign.targets) == 1
        and isinstance(assign.targets[0].target, cst.Name)
        and assign.targets[0].target.value == var
    ):
        return None
    line = tree.parents.get(assign)
    if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
        return None
    return line, listed


def _releases(stmt: cst.CSTNode, var: str, listed: bool, methods: tuple[str, ...]) -> bool:
    """``stmt`` is ``var.close()`` (``listed``: ``for x in var: x.close()``)."""
    if listed:
        if not (
            isinstance(stmt, cst.For)
            and stmt.orelse is None
            and stmt.asynchronous is None
            and isinstance(stmt.iter, cst.Name)
            and stmt.iter.value == var
            and isinstance(stmt.target, cst.Name)
            and isinstance(stmt.body, cst.IndentedBlock)
            and len(stmt.body.body) == 1
        ):
            return False
        return _releases(stmt.body.body[0], stmt.target.value, False, methods)
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1):
        return False
    expr = stmt.body[0]
    return (
        isinstance(expr, cst.Expr)
        and isinstance(expr.value, cst.Call)
        and not expr.value.args
        and isinstance(expr.value.func, cst.Attribute)
        and isinstance(expr.value.func.value, cst.Name)
        and expr.value.func.value.value == var
        and expr.value.func.attr.value in methods
    )


def _member(leak: Leak, tree: Tree, block: cst.IndentedBlock | None) -> tuple[_Member, cst.IndentedBlock] | None:
    found = _acquisition(leak, tree)
    if found is None:
        return None
    line, listed = found
    parent = tree.parents.get(line)
    if not isinstance(parent, cst.IndentedBlock) or (block is not None and parent is not block):
        return None
    if not isinstance(tree.scope_of(parent), cst.FunctionDef):
        return None
    body = list(parent.body)
    start = next(i for i, stmt in enumerate(body) if stmt is line)
    methods = tuple(leak.resource.release)
    end = next((j for j in range(start + 1, len(body)) if _releases(body[j], leak.var, listed, methods)), None)
    if end is None:
        return None
    assert leak.var is not None
    return _Member(leak, leak.var, listed, start, end), parent


def _group(own: _Member, others: list[_Member]) -> list[_Member]:
    """``own`` and the members whose span crosses the group's (one starts inside it and ends
    after it, or the other way round), to a fixed point; nested ones are left to a ``with``."""
    group = [own]
    changed = True
    while changed:
        changed = False
        first, last = min(m.start for m in group), max(m.end for m in group)
        for other in others:
            if other in group:
                continue
            if (first < other.start < last < other.end) or (other.start < first < other.end < last):
                group.append(other)
                changed = True
    return sorted(group, key=lambda m: m.start)


def _iterated_only(tree: Tree, region: list[cst.CSTNode], var: str) -> bool:
    """Every use of the list ``var`` in ``region`` is what a ``for`` iterates, and what the
    loop gets of it is only used by attribute (not handed on)."""
    uses = 0
    for node in _loops_over(region, var):
        uses += 1
        if isinstance(node, cst.For):
            body: list[cst.CSTNode] = [node.body]
        else:
            comp = tree.parents.get(node)
            if not isinstance(comp, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
                return False
            body = [comp.elt, *node.ifs]
        if not isinstance(node.target, cst.Name) or not _only_attribute_uses(tree, body, node.target.value):
            return False
    return uses == sum(_count_uses(stmt, var) for stmt in region)


def _loops_over(region: list[cst.CSTNode], var: str) -> list[cst.For | cst.CompFor]:
    class Loops(cst.CSTVisitor):
        def __init__(self) -> None:
            self.found: list[cst.For | cst.CompFor] = []

        def visit_For(self, node: cst.For) -> None:
            if isinstance(node.iter, cst.Name) and node.iter.value == var:
                self.found.append(node)

        def visit_CompFor(self, node: cst.CompFor) -> None:
            if isinstance(node.iter, cst.Name) and node.iter.value == var:
                self.found.append(node)

    loops = Loops()
    for node in region:
        node.visit(loops)
    return loops.found


def exit_stack(leak: Leak, tree: Tree, code: str, line: int, col: int) -> Edit | None:
    """The ``ExitStack`` rewrite of the group ``leak`` belongs to, if it needs one."""
    if tree.patches_names():  # ``enter_context(X())`` binds X().__enter__(): a mock's is not X()
        return None
    mine = _member(leak, tree, None)
    if mine is None:
        return None
    own, block = mine
    others, where = [], {}
    for other, other_line, other_col, other_code in tree.fixing:
        where[id(other)] = (other_line, other_col, other_code)
        if other is not leak:
            found = _member(other, tree, block)
            if found is not None and found[0].var != own.var:
                others.append(found[0])
    group = _group(own, others)
    if len(group) == 1 and not own.listed:
        return None  # a `with` fits (``transforms.with_for_bound``)
    if len({m.var for m in group}) != len(group) or len({m.start for m in group}) != len(group):
        return None
    body = list(block.body)
    first, last = group[0].start, max(m.end for m in group)
    region = body[first : last + 1]
    scope = tree.scope_of(block)
    if any(leaves_block(stmt) for stmt in region):
        return None  # a return or break in between leaked them: the stack would close them there
    starts = {m.start for m in group}
    after = [stmt for i, stmt in enumerate(region, first) if i not in starts]
    handed_on = False
    between = names_in(*after)
    for member in group:
        if member.var in between.bound or member.var in between.in_nested or member.var in between.declared:
            return None  # rebound, deleted, or captured by a closure
        if _caught_and_used_outside(tree, block, scope, region, member.var):
            return None  # an except around it may use what the stack closed (issue 24's F1)
        uses = body[member.start + 1 : member.end + 1]
        if member.listed:
            handed_on = handed_on or not _iterated_only(tree, uses, member.var)
        else:
            # lent to a call is not handed on: its close stays where it was, so whatever the
            # callee kept finds it closed there already; stored, returned or yielded is
            handed_on = handed_on or (
                not _only_attribute_uses(tree, uses, member.var) and kept(uses, member.var, scope)
            )
    taken = names_in(scope).all
    stack = fresh_name("stack", taken)
    entered = {id(body[m.start]): m for m in group}

    def enter(stmt: cst.CSTNode) -> cst.CSTNode:
        member = entered.get(id(stmt))
        if member is None:
            return stmt
        assert isinstance(stmt, cst.SimpleStatementLine)
        assign = stmt.body[0]
        assert isinstance(assign, cst.Assign)

        def wrapped(value: cst.BaseExpression) -> cst.Call:
            return cst.Call(
                func=cst.Attribute(value=cst.Name(stack), attr=cst.Name("enter_context")),
                args=[cst.Arg(value=value)],
            )

        if member.listed:
            assert isinstance(assign.value, cst.ListComp)
            value: cst.BaseExpression = assign.value.with_changes(elt=wrapped(assign.value.elt))
        else:
            value = wrapped(assign.value)
        return stmt.with_changes(body=[assign.with_changes(value=value)])

    head = region[0]

    def build(updated: cst.CSTNode) -> cst.CSTNode:
        inner = [enter(stmt) for stmt in region]
        inner[0] = inner[0].with_changes(leading_lines=())
        return cst.With(
            items=[
                cst.WithItem(
                    item=cst.parse_expression("contextlib.ExitStack()"),
                    asname=cst.AsName(name=cst.Name(stack)),
                )
            ],
            body=cst.IndentedBlock(body=inner, indent=block.indent),
            leading_lines=getattr(head, "leading_lines", ()),
        )

    def remove(updated: cst.CSTNode) -> object:
        return cst.RemovalSentinel.REMOVE

    fix = EXIT_STACK_HANDED_ON if handed_on else EXIT_STACK
    targets = ((head, build), *((stmt, remove) for stmt in region[1:]))
    also = tuple(where[id(m.leak)] for m in group if m.leak is not leak)
    span = tree.span(head, region[-1])
    return Edit(fix, code, line, col, span, targets, imports=("contextlib",), also=also)


def _caught_and_used_outside(
    tree: Tree, block: cst.IndentedBlock, scope: cst.CSTNode, region: list[cst.CSTNode], var: str
) -> bool:
    caught = False
    for above in tree.ancestors(block):
        if above is scope:
            break
        caught = caught or isinstance(above, (cst.Try, cst.TryStar, cst.With))
    return caught and _count_uses(scope, var) > sum(_count_uses(stmt, var) for stmt in region)
