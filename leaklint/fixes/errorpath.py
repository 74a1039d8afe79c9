"""Fixes for a resource released on the normal path by code that comes later, which an
error before it skips: the release already in a later ``try``'s ``finally`` (the statements
before that ``try`` go into it), and an attribute set in ``__init__`` that a failing
``__init__`` leaves open (released in an ``except`` that re-raises)."""

from __future__ import annotations

from dataclasses import replace

import libcst as cst

from leaklint.analysis.leaks import Leak
from leaklint.fixes.base import CLOSES_ON_EXIT, SAFE, UNSAFE, Edit, Fix, refuse
from leaklint.fixes.generators import block_after, finally_after
from leaklint.fixes.transforms import (
    CLOSE_ON_ERROR,
    CLOSE_ON_ERROR_SAFE,
    ERROR_PATH_KINDS,
    TRY_FINALLY_ERROR_PATH,
    Tree,
    _Bound,
    _count_uses,
    _derived_escapes,
    _finalizer,
    _HeldHere,
    _imports_module,
    _only_attribute_uses,
    _release_method,
    _released_in,
    except_edit,
    fresh_name,
    kept,
    has_comment,
    leaves_block,
    names_in,
    own_line,
    remove,
)

INTO_LATER_FINALLY = Fix(
    ("LL100", "LL101", "LL130", "LL150", "LL200"),
    SAFE,
    "Move the statements before the `try` whose `finally` releases it into that `try`",
    "the path that does not fail runs the same calls in the same order; an error in those "
    "statements now reaches the release (the `finally` does nothing else); only when they "
    "use the object through its methods and hand nothing of it on",
)
INTO_LATER_FINALLY_UNSAFE = Fix(
    INTO_LATER_FINALLY.codes,
    UNSAFE,
    INTO_LATER_FINALLY.title,
    "the statements moved hand the object (or something made from it) on: whoever holds it "
    "when one of them fails now finds it released",
)
ATTRIBUTE_CLOSE_ON_ERROR = Fix(
    CLOSE_ON_ERROR.codes,
    UNSAFE,
    "Release the attribute in an `except` that re-raises, around the statements after it",
    "the path that does not fail stays as it was; on an error after it the attribute is "
    "released, and the object it is stored on may have been handed on already (registered, "
    "passed to a method that keeps it): whoever holds that object finds it released",
)

ATTRIBUTE_CLOSE_ON_ERROR_SAFE = Fix(
    CLOSE_ON_ERROR.codes,
    SAFE,
    ATTRIBUTE_CLOSE_ON_ERROR.title,
    "the path that does not fail stays as it was; on an error after it, __init__ raises and "
    "the object is lost: nothing after the acquisition passes it on or calls its methods "
    "(which could register it), and a second close() of these types does nothing",
)


def _acquired(
    leak: Leak, tree: Tree, unpacked: bool = False
) -> tuple[cst.SimpleStatementLine, cst.IndentedBlock, int] | None:
    """``target = factory(...)`` as a statement line of its own in an indented block of a
    function: the line, its block, its index there. ``unpacked``: ``target`` may also be one
    of a tuple's (``self.r, self.w = socket.socketpair()``), objects, not descriptors."""
    call, var = leak.call, leak.var
    if var is None or not isinstance(call, cst.Call) or leak.resource.is_async:
        return None
    assign = tree.parents.get(call)
    if not (isinstance(assign, cst.Assign) and len(assign.targets) == 1):
        return None
    target = assign.targets[0].target
    code_of = tree.module.code_for_node
    if code_of(target) != var and not (
        unpacked
        and isinstance(target, (cst.Tuple, cst.List))
        and any(code_of(element.value) == var for element in target.elements)
    ):
        return None
    placed = own_line(tree, assign)
    if placed is None or not isinstance(tree.scope_of(placed[1]), cst.FunctionDef):
        return None
    first, block = placed
    start = next(i for i, stmt in enumerate(block.body) if stmt is first)
    return first, block, start


def into_later_finally(leak: Leak, tree: Tree, code: str, line: int, col: int) -> Edit | None:
    """``s = socket()`` / ``s.bind(a)`` / ``try: ... finally: s.close()`` → the statements
    between the acquisition and the ``try`` moved into it (when its ``finally`` is only the
    release and it has no ``except``), or else in a ``try`` of their own whose ``except``
    releases and re-raises."""
    found = _acquired(leak, tree)
    var = leak.var
    if found is None or var is None or "." in var or leak.resource.return_to:
        return None
    first, block, start = found
    body = list(block.body)
    later = next((j for j in range(start + 1, len(body)) if _releases_later(body[j], var, leak, tree)), None)
    if later is None:
        return None
    guard = body[later]
    assert isinstance(guard, (cst.Try, cst.With))
    middle = body[start + 1 : later]
    if not middle:
        return None
    methods = frozenset(leak.resource.release)
    if _released_in(middle, var, methods):
        return refuse("released on some path before the try that releases it")
    if any(leaves_block(stmt) for stmt in middle):
        return refuse("a return, break or yield before the try that releases it")
    between = names_in(*middle)
    if var in between.bound or var in between.in_nested or var in between.declared:
        return refuse("rebound, deleted or captured by a nested function in between")
    if _count_uses(leak.call, var):
        return refuse("the acquisition's own arguments use the name")
    scope = tree.scope_of(block)
    assert isinstance(scope, cst.FunctionDef)
    if isinstance(guard, cst.With):  # ``with f:`` / ``with f as g:`` releases it on exit
        finalizer = _finalizer(var, leak, None)
        if finalizer is None:
            return refuse("no release a fix may add (close, aclose, release, dispose; never a wait or join)")
        bound = _Bound(var, leak.call, first, block, scope, middle, None, "close", finalizer, False)
        alone = not _derived_escapes(middle, var, scope, _HeldHere)
        fix = CLOSE_ON_ERROR_SAFE if alone and not _caught_and_used_after(tree, bound, guard) else CLOSE_ON_ERROR
        return except_edit(bound, code, line, col, tree, fix)
    assert guard.finalbody is not None
    release = next(stmt for stmt in guard.finalbody.body.body if _release_method(stmt, var, leak, None, tree))
    assert isinstance(release, cst.SimpleStatementLine)
    bound = _Bound(var, leak.call, first, block, scope, middle, release, "close", release, False)
    alone = not _derived_escapes(middle, var, scope, _HeldHere)
    caught = _caught_and_used_after(tree, bound, guard)
    only_release = len(guard.finalbody.body.body) == 1 and not has_comment(release)
    if not guard.handlers and guard.orelse is None and only_release:
        fix = INTO_LATER_FINALLY if alone else INTO_LATER_FINALLY_UNSAFE
        if caught:
            fix = TRY_FINALLY_ERROR_PATH
        head = middle[0]

        def build(updated: cst.CSTNode) -> cst.CSTNode:
            assert isinstance(updated, cst.Try)
            moved = [head.with_changes(leading_lines=()), *middle[1:]]
            return updated.with_changes(
                body=updated.body.with_changes(body=[*moved, *updated.body.body]),
                leading_lines=getattr(head, "leading_lines", ()),
            )

        targets = ((guard, build), *((stmt, remove) for stmt in middle))
        return Edit(fix, code, line, col, tree.span(head, guard), targets)
    # the try does more than release (an except, other clean-up): the statements before it
    # release on an error in an except of their own
    fix = CLOSE_ON_ERROR_SAFE if alone and not caught else CLOSE_ON_ERROR
    return except_edit(bound, code, line, col, tree, fix)


def _caught_and_used_after(tree: Tree, found: _Bound, guard: cst.CSTNode) -> bool:
    """An error in the statements moved may be caught in the function (an enclosing ``try``
    or ``with``) and the name is used after the ``try`` that releases it (issue 24's F1)."""
    enclosed = False
    for above in tree.ancestors(found.block):
        if above is found.scope:
            break
        enclosed = enclosed or isinstance(above, (cst.Try, cst.TryStar, cst.With))
    region = sum(_count_uses(stmt, found.var) for stmt in (found.first, *found.middle, guard))
    return enclosed and _count_uses(found.scope, found.var) > region


def _releases_later(stmt: cst.CSTNode, var: str, leak: Leak, tree: Tree) -> bool:
    """``stmt`` is a ``try`` whose ``finally`` releases ``var``, or a ``with`` of which
    ``var`` is an item (its ``__exit__`` releases it)."""
    if isinstance(stmt, cst.Try):
        return stmt.finalbody is not None and any(
            _release_method(inner, var, leak, None, tree) for inner in stmt.finalbody.body.body
        )
    if isinstance(stmt, cst.With) and leak.resource.cm_closes:
        return any(isinstance(item.item, cst.Name) and item.item.value == var for item in stmt.items)
    return False


def attribute_close_on_error(leak: Leak, tree: Tree, code: str, line: int, col: int) -> Edit | None:
    """``self.f = open(p)`` in ``__init__`` followed by statements that may raise (then the
    object is never returned and nothing can close it) → those statements in a ``try`` whose
    ``except BaseException`` closes ``self.f`` and re-raises. Unsafe: ``self`` may have been
    handed on in between (registered, passed to a method that stores it)."""
    var = leak.var
    if var is None or "." not in var or leak.kind not in ERROR_PATH_KINDS:
        return None
    found = _acquired(leak, tree, unpacked=True)
    if found is None:
        return refuse("stored on an attribute inside an expression")
    first, block, start = found
    middle = list(block.body[start + 1 :])
    if not middle:
        return refuse("nothing after the acquisition in its block (the error is later)")
    descriptor = leak.resource.kind == "file descriptor"  # ``self.r, self.w = os.pipe()``
    if descriptor and not _imports_module(tree.module, "os") and "os" in names_in(tree.module).all:
        return refuse("`os` names something else in this module")
    finalizer = cst.parse_statement(f"os.close({var})") if descriptor else _finalizer(var, leak, None)
    if finalizer is None:
        return refuse("no release a fix may add (close, aclose, release, dispose; never a wait or join)")
    assert isinstance(finalizer, cst.SimpleStatementLine)
    text = "".join(tree.module.code_for_node(stmt) for stmt in middle)
    if any(f"{var}.{method}(" in text for method in leak.resource.release) or (
        descriptor and f"close({var})" in text
    ):
        return refuse("released on some path in between")
    root = var.split(".")[0]
    between = names_in(*middle)
    if root in between.bound or root in between.declared:
        return refuse("the object it is stored on is rebound in between")
    if any(leaves_block(stmt) for stmt in middle):
        return refuse("a return or yield after the acquisition")
    scope = tree.scope_of(block)
    assert isinstance(scope, cst.FunctionDef)
    bound = _Bound(var, leak.call, first, block, scope, middle, None, "close", finalizer, False)
    alone = (
        leak.kind == "init-raises"
        and scope.name.value == "__init__"
        and leak.resource.qualname in CLOSES_ON_EXIT  # a second close() (a __del__'s) does nothing
        and _only_its_attributes(tree, middle, root, var)
    )
    # the other leaks of the same acquisition (``self.r, self.w = os.pipe()``), released too
    others = [o for o, *_ in tree.fixing if o is not leak and o.call is leak.call and o.var and o.kind == leak.kind]
    if any(f"close({o.var})" in text or f"{o.var}." in text and f"{o.var}.close(" in text for o in others):
        return refuse("another of the acquisition's is released on some path in between")
    more = tuple(
        cst.parse_statement(f"os.close({o.var})" if descriptor else f"{o.var}.{leak.resource.release[0]}()")
        for o in others
    )
    fix = ATTRIBUTE_CLOSE_ON_ERROR_SAFE if alone else ATTRIBUTE_CLOSE_ON_ERROR
    edit = except_edit(bound, code, line, col, tree, fix, more)  # type: ignore[arg-type]
    where = {id(o): (l, c, k) for o, l, c, k in tree.fixing}
    edit = replace(edit, also=tuple(where[id(o)] for o in others))
    return replace(edit, imports=("os",)) if descriptor and not _imports_module(tree.module, "os") else edit


def _only_its_attributes(tree: Tree, middle: list[cst.BaseStatement], root: str, var: str) -> bool:
    """``root`` (``self``) is used in ``middle`` only to read or set its attributes, never
    passed, aliased or asked to run a method (which could register it); ``var``
    (``self.sock``) only has its own methods called or attributes read."""

    class Look(cst.CSTVisitor):
        ok = True

        def visit_Name(self, node: cst.Name) -> None:
            if node.value != root:
                return
            parent = tree.parents.get(node)
            if not (isinstance(parent, cst.Attribute) and parent.value is node):
                self.ok = False  # passed, aliased, or super() ... (``super`` is no root)
                return
            above = tree.parents.get(parent)
            if isinstance(above, cst.Call) and above.func is parent:
                self.ok = False  # self.method(...): may hand self on
            elif tree.module.code_for_node(parent) == var:
                if not (isinstance(above, cst.Attribute) and above.value is parent):
                    self.ok = False  # the resource itself passed or stored

        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Name) and node.func.value == "super":
                self.ok = False

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            self.ok = False  # a nested function may outlive __init__ holding self
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            self.ok = False
            return False

    look = Look()
    for stmt in middle:
        stmt.visit(look)
    return look.ok


REST_IN_FINALLY = Fix(
    ("LL162",),
    SAFE,
    "Put the release that may raise in a `try` and the releases after it in its `finally`",
    "the path that does not fail runs the same releases in the same order; when the first "
    "raises, the others still run and the error goes on; only when what follows it in its "
    "block has no return, break or continue (in a finally they would swallow the error)",
)


def rest_in_finally(leak: Leak, tree: Tree, code: str, line: int, col: int) -> Edit | None:
    """An exit that releases several resources, the first release raising before the others
    run (``self._resp.close()`` / ``await self._session.close()``): ``try:`` the first,
    ``finally:`` the rest of its block."""
    call = leak.call
    stmt = tree.parents.get(call)
    if isinstance(stmt, cst.Await):
        stmt = tree.parents.get(stmt)
    first = tree.parents.get(stmt) if isinstance(stmt, cst.Expr) else None
    if not (isinstance(first, cst.SimpleStatementLine) and len(first.body) == 1 and first.body[0] is stmt):
        return refuse("the release that raises is not a statement of its own")
    placed = block_after(tree, first)
    if placed is None:
        return refuse("the release is on the line of its block's header")
    block, rest = placed
    if not rest:
        return refuse("nothing after the release in its block (the others are released elsewhere)")
    if any(leaves_block(s) for s in rest):
        return refuse("what follows returns, breaks or continues: in a finally it would swallow the error")
    return finally_after(first, rest, block, REST_IN_FINALLY, code, line, col, tree)


FIXES = (INTO_LATER_FINALLY, INTO_LATER_FINALLY_UNSAFE, ATTRIBUTE_CLOSE_ON_ERROR,
         ATTRIBUTE_CLOSE_ON_ERROR_SAFE, REST_IN_FINALLY)
#: (and GUARDED_TO_BLOCK_END, GUARDED_TO_BLOCK_END_UNSAFE: ``planners.ALL_FIXES``)


GUARDED_TO_BLOCK_END = Fix(
    ("LL100",),
    SAFE,
    "Name what the branch opens, and release it in a `finally` after the branch if it was opened",
    "nothing released it: the only change is the added release at the function's end (and on "
    "an early return or an error), of exactly what the branch opened (a fresh name, `None` "
    "until then); only when the rest uses it through its methods and nothing made from it "
    "leaves",
)
GUARDED_TO_BLOCK_END_UNSAFE = Fix(
    GUARDED_TO_BLOCK_END.codes,
    UNSAFE,
    GUARDED_TO_BLOCK_END.title,
    "the rest of the function hands it to a call: the callee may keep it and find it "
    "released after the function returns",
)


def guarded_to_block_end(leak: Leak, tree: Tree, code: str, line: int, col: int) -> Edit | None:
    """``if not hasattr(f, "read"): f = open(f)`` ... (never released) → ``opened = None`` /
    ``if ...: f = opened = open(f)`` / ``try:`` the rest of the function ``finally: if opened
    is not None: opened.close()``, where a ``with`` cannot express the scope (opened on one
    branch, used after it)."""
    found = _acquired(leak, tree)
    var = leak.var
    if found is None or var is None or "." in var or leak.resource.return_to or leak.resource.is_async:
        return None
    first, inner, _ = found
    branch = tree.parents.get(inner)
    scope = tree.scope_of(inner)
    outer = tree.parents.get(branch) if isinstance(branch, cst.If) else None
    if not (isinstance(branch, cst.If) and branch.orelse is None and isinstance(scope, cst.FunctionDef)
            and outer is scope.body and isinstance(outer, cst.IndentedBlock)):
        return None
    body = list(outer.body)
    rest = body[next(i for i, s in enumerate(body) if s is branch) + 1 :]
    finalizer = _finalizer("x", leak, None)
    if not rest or finalizer is None:
        return None
    later = [s for s in inner.body[list(inner.body).index(first) + 1 :]]
    region = [*later, *rest]
    methods = frozenset(leak.resource.release)
    if _released_in(region, var, methods):
        return refuse("released on some path after the branch")
    between = names_in(*region)
    if var in between.bound or var in between.in_nested or var in between.declared:
        return refuse("rebound, deleted or captured by a nested function after the branch")
    if kept(region, var, scope):
        return refuse("handed on (returned or stored) after the branch")
    taken = names_in(scope)
    opened = fresh_name("opened", taken.all | taken.declared)
    lent = not _only_attribute_uses(tree, region, var) or _derived_escapes(region, var, scope)
    fix = GUARDED_TO_BLOCK_END_UNSAFE if lent else GUARDED_TO_BLOCK_END
    release = cst.parse_statement(
        f"if {opened} is not None:\n    {tree.module.code_for_node(finalizer.body[0]).replace('x.', opened + '.', 1)}\n"
    )
    indent = outer.indent

    def build_first(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.SimpleStatementLine)
        assign = updated.body[0]
        assert isinstance(assign, cst.Assign)
        targets = [*assign.targets, cst.AssignTarget(target=cst.Name(opened))]
        return updated.with_changes(body=[assign.with_changes(targets=targets)])

    def build_branch(updated: cst.CSTNode) -> cst.CSTNode:
        none = cst.parse_statement(f"{opened} = None\n").with_changes(
            leading_lines=getattr(updated, "leading_lines", ())
        )
        return cst.FlattenSentinel([none, updated.with_changes(leading_lines=())])  # type: ignore[return-value]

    head = rest[0]

    def build_try(updated: cst.CSTNode) -> cst.CSTNode:
        return cst.Try(
            body=cst.IndentedBlock(body=[head.with_changes(leading_lines=()), *rest[1:]], indent=indent),
            finalbody=cst.Finally(body=cst.IndentedBlock(body=[release], indent=indent)),
            leading_lines=getattr(head, "leading_lines", ()),
        )

    targets = ((first, build_first), (branch, build_branch), (head, build_try), *((s, remove) for s in rest[1:]))
    return Edit(fix, code, line, col, tree.span(branch, rest[-1]), targets)
