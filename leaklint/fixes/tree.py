"""The parsed module a planner looks at (``Tree``: parents, positions, does it patch names
with mocks?) and small questions about its statements: in an ``async def``, a call that is
a line of its own, a comment on a line, a statement that leaves its block early."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import libcst as cst
from libcst.metadata import CodeRange

from leaklint.analysis.leaks import Leak
from leaklint.analysis.names import SameScopeVisitor, dotted_name
from leaklint.fixes.identifiers import names_in


class Tree:
    """A parsed module and what the planners ask of it: parents and positions."""

    def __init__(
        self,
        module: cst.Module,
        parents: Mapping[cst.CSTNode, cst.CSTNode],
        positions: Mapping[cst.CSTNode, CodeRange],
    ) -> None:
        self.module = module
        self.parents = parents
        self.positions = positions
        self._patches: bool | None = None
        self._shared = self  # the tree whose answers this one shares (``at``)
        #: the leaks being fixed in this round, with their findings' line, column and code
        self.fixing: list[tuple[Leak, int, int, str]] = []

    def patches_names(self) -> bool:
        """Whether this module may replace a name with a mock (``mock.patch``, ``unittest.mock``,
        ``monkeypatch``, ``mocker``): then ``X()`` may not be of X's real type, and
        ``with X() as v`` may bind something else than ``X()``."""
        shared = self._shared
        if shared._patches is None:
            shared._patches = bool(names_in(self.module).all & PATCHING_NAMES) or any(
                module == patching or module.startswith(patching + ".")
                for module in _imported_modules(self.module)
                for patching in PATCHING_MODULES
            )
        return shared._patches

    def at(self, positions: Mapping[cst.CSTNode, CodeRange]) -> Tree:
        """This tree with other positions (the parents and what was learnt of it shared)."""
        other = Tree(self.module, self.parents, positions)
        other._shared = self._shared
        other.fixing = self.fixing
        return other

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        while node in self.parents:
            node = self.parents[node]
            yield node

    def scope_of(self, node: cst.CSTNode) -> cst.CSTNode:
        """The innermost function (or lambda, class body, the module) holding ``node``."""
        for above in self.ancestors(node):
            if isinstance(above, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
                return above
        return self.module

    def span(self, first: cst.CSTNode, last: cst.CSTNode | None = None) -> tuple[tuple[int, int], tuple[int, int]]:
        start = self.positions[first].start
        end = self.positions[last if last is not None else first].end
        return ((start.line, start.column), (end.line, end.column))


#: Names whose presence in a module says it may patch a name with a mock.
PATCHING_NAMES = frozenset(
    {"mock", "patch", "monkeypatch", "mocker", "MagicMock", "Mock", "NonCallableMock",
     "AsyncMock", "mock_open", "create_autospec"}
)
#: Modules (and their submodules) whose import says the same.
PATCHING_MODULES = ("mock", "pytest_mock", "unittest.mock")


def _imported_modules(module: cst.Module) -> Iterator[str]:
    """The modules a module imports anywhere (``import a.b``, ``from a.b import c``)."""

    class Imports(cst.CSTVisitor):
        found: list[str] = []

        def visit_Import(self, node: cst.Import) -> None:
            self.found.extend(dotted_name(alias.name) or "" for alias in node.names)

        def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
            if node.module is not None and not node.relative:
                self.found.append(dotted_name(node.module) or "")

    imports = Imports()
    imports.found = []
    module.visit(imports)
    yield from imports.found


def in_async_def(tree: Tree, node: cst.CSTNode) -> bool:
    scope = tree.scope_of(node)
    return isinstance(scope, cst.FunctionDef) and scope.asynchronous is not None


def statement_call(stmt: cst.CSTNode, awaited: bool) -> cst.Call | None:
    """The call of ``x.m(...)`` (``await x.m(...)`` when ``awaited``) that is a statement line
    of its own."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1):
        return None
    expr = stmt.body[0]
    if not isinstance(expr, cst.Expr):
        return None
    value = expr.value
    if awaited:
        if not isinstance(value, cst.Await):
            return None
        value = value.expression
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute):
        return value
    return None


def own_line(
    tree: Tree, assign: cst.CSTNode
) -> tuple[cst.SimpleStatementLine, cst.IndentedBlock] | None:
    """The line of ``assign`` and its block, when it is a statement line of its own in an
    indented block."""
    first = tree.parents.get(assign)
    block = tree.parents.get(first) if first is not None else None
    if (
        isinstance(first, cst.SimpleStatementLine)
        and len(first.body) == 1
        and isinstance(block, cst.IndentedBlock)
    ):
        return first, block
    return None


def has_comment(stmt: cst.SimpleStatementLine) -> bool:
    if stmt.trailing_whitespace.comment is not None:
        return True
    return any(line.comment is not None for line in stmt.leading_lines)


def remove(updated: cst.CSTNode) -> object:
    return cst.RemovalSentinel.REMOVE


def leaves_block(stmt: cst.CSTNode) -> bool:
    """A ``return``, ``yield``, ``break`` or ``continue`` (outside nested functions/loops
    where it stays inside) that would run the new ``finally`` early."""

    class Exits(SameScopeVisitor):
        found = False
        loops = 0

        def on_visit(self, node: cst.CSTNode) -> bool:
            if isinstance(node, (cst.For, cst.While)):
                self.loops += 1
            if isinstance(node, (cst.Return, cst.Yield)):
                self.found = True
            if isinstance(node, (cst.Break, cst.Continue)) and not self.loops:
                self.found = True
            return super().on_visit(node)

        def on_leave(self, node: cst.CSTNode) -> None:
            if isinstance(node, (cst.For, cst.While)):
                self.loops -= 1
            super().on_leave(node)

    exits = Exits()
    stmt.visit(exits)
    return exits.found
