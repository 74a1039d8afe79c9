"""From a leak to a finding: where it is (positions computed for the statement it is in, not
the whole module), the message its rule gives it, and for a path leak the trace of where it
goes (acquired here, this statement raises, still held when the function ends)."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping, Sequence

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from leaklint.analysis.obligations import Leak
from leaklint.parsing import users_warnings_ignored
from leaklint.results import Finding
from leaklint.rules.base import PATH_KINDS, Rule


def _finding(
    leak: Leak,
    rule: Rule,
    path: str,
    located: _Positions,
    functions_in: dict[int, list[tuple[CodeRange, str]]],
) -> Finding:
    """The finding ``rule`` reports for ``leak``: its position, message and trace."""
    positions = located.around(leak)

    def line_of(node: object) -> int:
        return positions[node].start.line

    start = positions[leak.call].start
    related: tuple[tuple[int, int, str], ...] = ()
    if leak.kind in PATH_KINDS:
        functions = functions_in.get(id(positions))
        if functions is None:
            functions = functions_in[id(positions)] = [
                (positions[node], node.name.value)
                for node in positions
                if isinstance(node, cst.FunctionDef)
            ]
        related = _trace(leak, positions, functions)
    return Finding(path, start.line, start.column, rule.code, rule.message(leak, line_of), related)


def _start_or_none(located: _Positions, leak: Leak) -> tuple[int, int] | None:
    """Where ``leak`` starts, for the LL900 line of a rule that failed on it, if positions
    can still be had."""
    try:
        start = located.around(leak)[leak.call].start
    except Exception:  # noqa: BLE001 - the positions may be what failed
        return None
    return start.line, start.column




class _Positions:
    """Positions of nodes, computed for one module-level statement at a time, or for one
    method of a module-level class.

    libcst's ``PositionProvider`` renders the whole module (about twice the cost of parsing
    it) to place every node; a leak only needs the nodes around it. The statement it was
    found in is rendered alone (a class: with only the method the leak is in) and shifted to
    where CPython's ``ast`` says that statement (or method) starts (``ast`` costs a tenth of
    the libcst parse, and ``tree`` is usually at hand already). A leak found by the module
    body itself (``top`` is None), or outside any method of its class, is placed in the
    whole statement or module.
    """

    def __init__(self, module: cst.Module, data: bytes, tree: ast.Module | None = None) -> None:
        self.module = module
        self.data = data
        self.tree = tree
        self.cache: dict[int, Mapping[cst.CSTNode, CodeRange]] = {}
        self.lines: dict[int, int] | None = None  # id of a statement or method -> its line
        self.whole: Mapping[cst.CSTNode, CodeRange] | None = None

    def around(self, leak: Leak) -> Mapping[cst.CSTNode, CodeRange]:
        top = leak.top
        if top is not None:
            if self.lines is None:
                self.lines = self._ast_lines()
            method = leak.method if isinstance(top, cst.ClassDef) else None
            if method is not None and id(method) in self.lines:
                alone = top.with_changes(body=top.body.with_changes(body=[method]))
                placed = self._placed(method, alone)
                other = leak.other if isinstance(leak.other, cst.CSTNode) else None
                if leak.call in placed and (other is None or other in placed):
                    return placed
            placed = self._placed(top, top)
            if placed:
                return placed
        if self.whole is None:
            self.whole = MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(
                PositionProvider
            )
        return self.whole

    def _placed(self, anchor: cst.CSTNode, top: cst.CSTNode) -> Mapping[cst.CSTNode, CodeRange]:
        """Positions of ``top`` (a module-level statement) rendered alone, shifted so that
        ``anchor`` (it, or a method in it) starts on its line in the file."""
        cached = self.cache.get(id(anchor))
        if cached is not None:
            return cached
        line = self.lines.get(id(anchor)) if self.lines else None
        if line is None:
            return {}
        alone = self.module.with_changes(body=[top], header=[], footer=[])
        ranges = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
        shift = line - ranges[anchor].start.line
        placed = self.cache[id(anchor)] = {
            node: CodeRange(
                (where.start.line + shift, where.start.column),
                (where.end.line + shift, where.end.column),
            )
            for node, where in ranges.items()
        }
        return placed

    def _ast_lines(self) -> dict[int, int]:
        """The line CPython's parser gives each module-level statement and each statement of
        a module-level class body: where its code (not its decorators) starts, which is where
        libcst's positions start it too."""
        tree = self.tree
        if tree is None:
            try:
                with users_warnings_ignored():
                    tree = ast.parse(self.data)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return {}
        lines = {}
        for statement, node in _aligned(self.module.body, tree.body):
            lines[id(statement)] = node.lineno
            if isinstance(statement, cst.ClassDef) and isinstance(statement.body, cst.IndentedBlock):
                lines.update(
                    (id(inner), node.lineno) for inner, node in _aligned(statement.body.body, node.body)
                )
        return lines


def _aligned(
    statements: Sequence[cst.CSTNode], nodes: list[ast.stmt]
) -> Iterator[tuple[cst.CSTNode, ast.stmt]]:
    """libcst's statements of a block with CPython's first statement of the same code: a
    line of ``a = 1; b = 2`` is one statement for libcst, two for CPython."""
    index = 0
    for statement in statements:
        if index >= len(nodes):
            return
        yield statement, nodes[index]
        index += len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1


def _trace(
    leak: Leak, positions: Mapping[cst.CSTNode, CodeRange], functions: list[tuple[CodeRange, str]]
) -> tuple[tuple[int, int, str], ...]:
    """Where a path leak goes: acquired here → this statement raises / this return skips the
    release / the name is rebound → the resource leaves the function still held."""
    start = positions[leak.call].start
    name = f"`{leak.var}`" if leak.var else f"the {leak.resource.kind}"
    steps = [(start.line, start.column, f"{name} is acquired here")]
    other = positions.get(leak.other) if leak.other is not None else None  # type: ignore[call-overload]
    if other is not None:
        if leak.kind in ("exception-path", "init-raises"):
            label = "this statement can raise before it is released"
        elif isinstance(leak.other, cst.Return):
            label = "this return leaves the function without releasing it"
        elif isinstance(leak.other, cst.Break):
            label = "this break leaves the loop without releasing it"
        elif isinstance(leak.other, cst.Del):
            label = f"{name} is deleted here without being released"
        else:
            label = f"{name} is rebound here without being released"
        steps.append((other.start.line, other.start.column, label))
    if isinstance(leak.other, cst.Return):
        return tuple(steps)
    enclosing = [
        (where, fname)
        for where, fname in functions
        if (where.start.line, where.start.column) <= (start.line, start.column)
        and (where.end.line, where.end.column) >= (start.line, start.column)
    ]
    if enclosing:
        where, fname = max(enclosing, key=lambda f: (f[0].start.line, f[0].start.column))
        # the range ends after the body's last newline: column 0 of the line below
        end = where.end.line - 1 if where.end.column == 0 else where.end.line
        steps.append((end, where.start.column, f"{name} is still held when {fname}() ends"))
    return tuple(steps)
