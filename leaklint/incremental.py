"""Checking a document again after an edit, re-analysing only the module-level definitions
that changed (``leaklint server``; the CLI checks whole files).

An edit in an editor changes one function, or one line of module-level code; the analysis of
a 1,000-line module costs hundreds of milliseconds, most of it in the functions the edit did
not touch. ``Reuse`` keeps, per document, the raw findings (before suppression comments) of
each module-level ``def``, ``async def`` and ``class`` of its last check, by the
definition's text. At the next check, a definition whose text is unchanged has its body
replaced by ``pass`` and blank lines (its header, decorators and defaults stay: they run at
module level), so libcst parses and the analysis walks only the rest, and its findings are
the kept ones moved to where the definition now starts. Suppression comments are applied
to the whole text afterwards, as ``check_source`` does.

A definition's findings depend on more than its text; they are reused only when all of
that is unchanged, and otherwise the definition is analysed again:

- the configuration (the same object: the server reads it again when it changes) and the
  module's imports (their text, wherever they are in module-level code);
- the project's summaries (this module's and the modules it imports), their line numbers
  aside, of what it names: a function that becomes a factory changes what its callers
  hold, so a definition that names a function or class whose summary changed (or one whose
  summary names that one, and so on) is analysed again (``_changed``);
- module-level names: a definition is analysed again when a name it mentions is bound by
  other module-level statements than before; and always when it names what module-level
  code that can acquire binds, or a name some function declares ``global`` (a function that
  closes a module-level connection decides whether the module leaks it);
- a class body runs at module level: a class is reused only when module-level code cannot
  acquire anything, or when its body only defines (no call, no statement that can raise
  as it runs): nothing module code holds can leak through a class body that raises.

A definition whose findings point outside it (a trace step or a ``line N`` of the message
beyond its lines, a factory's origin ``file.py:N``, a suggested fix) is not kept: it is
analysed at every check. Anything unexpected (a file CPython's parser rejects, an LL900
line or an internal error from the reduced module) falls back to checking the whole text.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from leaklint.results import FileResult, Finding

if TYPE_CHECKING:
    from leaklint.analysis.summaries import Project
    from leaklint.config import Config

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_LINE_REF = re.compile(r"\bline (\d+)\b")
_ORIGIN = re.compile(r"\.(?:py|pyi|pyw|ipynb):(?:cell )?\d")


@dataclass
class _Kept:
    """One document's last check, by definition."""

    context: tuple[Any, ...]
    #: a definition's text -> its raw findings, lines counted from its first line (1)
    found: dict[bytes, tuple[Finding, ...]] = field(default_factory=dict)


@dataclass
class Reuse:
    """What the server keeps between checks of its documents (by URI)."""

    kept: dict[str, _Kept] = field(default_factory=dict)
    #: a definition's text -> (the names it mentions, the names it declares ``global``,
    #: whether it imports anything)
    names: dict[bytes, tuple[frozenset[str], frozenset[str], bool]] = field(default_factory=dict)
    #: definitions re-analysed and reused by the last check (for tests and benchmarks)
    last: tuple[int, int] = (0, 0)
    #: the last text split (``split``): the summary and the check of one change share it
    split_of: tuple[bytes, Any] = (b"", None)

    def forget(self, uri: str) -> None:
        self.kept.pop(uri, None)

    def check(self, uri: str, data: bytes, path: str, config: Config, project: Project) -> FileResult:
        """``check_source(data, path, config, project=project)``, re-analysing only what
        changed since the last check of ``uri``."""
        from leaklint import suppressions
        from leaklint.core import check_source

        split = self.split(data)
        if split is None:
            self.kept.pop(uri, None)
            self.last = (0, 0)
            return check_source(data, path, config, project=project)
        tree, spans = split
        context = _context(tree, data, config, project)
        before = self.kept.get(uri)
        changed = _changed(before.context, context) if before is not None else None
        reusable = before.found if before is not None and changed is not None else {}
        counts = Counter(text for _, _, _, text in spans)
        lines = data.splitlines(keepends=True)
        reduced = list(lines)
        reused: list[Finding] = []
        stubbed: list[tuple[int, int]] = []
        if reusable:
            names = {text: self.names_of(node, text) for node, _, _, text in spans}
            bound = _acquiring_names(tree, path, config, project).union(
                *(declared for _, declared, _ in names.values()))
            bound |= changed or frozenset()
            classes_too = not _module_code_acquires(tree, path, config, project)
            for node, first, last, text in spans:
                known = reusable.get(text)
                if known is None or counts[text] > 1 or (names[text][0] | {node.name}) & bound:  # type: ignore[attr-defined]
                    continue
                if isinstance(node, ast.ClassDef) and not (classes_too or _inert_body(node)):
                    continue
                if _stub_body(node, lines, reduced):
                    reused.extend(_moved(finding, first - 1) for finding in known)
                    stubbed.append((first, last))
        fresh = check_source(
            b"".join(reduced) if stubbed else data, path, config, project=project, honour_noqa=False
        )
        if stubbed and (fresh.internal_error or any(f.code == "LL900" for f in fresh.findings)):
            fresh = check_source(data, path, config, project=project, honour_noqa=False)
            reused, stubbed = [], []
        findings = [
            f for f in fresh.findings if not any(first <= f.line <= last for first, last in stubbed)
        ]
        raw = replace(fresh, findings=tuple(sorted({*findings, *reused})))
        self.last = (len(spans) - len(stubbed), len(stubbed))
        if raw.internal_error is None:
            self.kept[uri] = _Kept(context, _by_definition(raw.findings, spans, counts))
        else:
            self.kept.pop(uri, None)
        return suppressions.apply(raw, data, config)

    def split(self, data: bytes) -> tuple[ast.Module, list[tuple[ast.stmt, int, int, bytes]]] | None:
        """``_split(data)``, once for the same text."""
        if self.split_of[0] is not data and self.split_of[0] != data:
            self.split_of = (data, _split(data))
        return self.split_of[1]  # type: ignore[no-any-return]

    def names_of(self, node: ast.stmt, text: bytes) -> tuple[frozenset[str], frozenset[str], bool]:
        """The names definition ``node`` mentions, those it declares ``global`` and whether
        it has an import (kept by its text: an unchanged definition is not walked again)."""
        known = self.names.get(text)
        if known is None:
            inner = list(ast.walk(node))
            declared = {name for n in inner if isinstance(n, ast.Global) for name in n.names}
            imports = any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in inner)
            if len(self.names) > 20_000:
                self.names.clear()
            known = self.names[text] = (frozenset(_names(node)), frozenset(declared), imports)
        return known


def _split(data: bytes) -> tuple[ast.Module, list[tuple[ast.stmt, int, int, bytes]]] | None:
    """CPython's tree of ``data`` and its module-level definitions: (node, first line with
    its decorators, last line, text); None when it does not parse (the whole text is
    checked, and reported as it is), or when a lone CR ends a line (CPython's lines and
    ``bytes.splitlines``'s differ)."""
    if data.count(b"\r") != data.count(b"\r\n"):
        return None
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    lines = data.splitlines(keepends=True)
    spans = []
    for node in tree.body:
        if isinstance(node, _DEFINITIONS) and node.end_lineno is not None:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            spans.append((node, first, node.end_lineno, b"".join(lines[first - 1 : node.end_lineno])))
    return tree, spans


def _context(tree: ast.Module, data: bytes, config: Config, project: Project) -> tuple[Any, ...]:
    """What every definition's findings depend on besides its own text."""
    imports = tuple(
        ast.dump(node)
        for statement in _module_code(tree)
        for node in ast.walk(statement)
        if isinstance(node, (ast.Import, ast.ImportFrom))
    )
    functions = {
        name: replace(
            facts,
            line=0,
            returns=dict.fromkeys(facts.returns, 0),
            tuple_returns=tuple((i, c, 0) for i, c, _ in facts.tuple_returns),
        )
        for name, facts in project.functions.items()
    }
    classes = {name: replace(facts, line=0) for name, facts in project.classes.items()}
    return (
        config, imports, functions, classes, dict(project.context_managers),
        project.released_outside, dict(project.file_triggers), project.never_returning,
        dict(project.attrs_released), dict(project.syntax_errors), _bindings(tree),
    )


def _changed(before: tuple[Any, ...], now: tuple[Any, ...]) -> frozenset[str] | None:
    """The names whose project facts differ between two contexts (``_context``): each part
    of the qualified names of the functions and classes whose facts changed (added and
    removed ones too), closed over the facts that name those, the attribute and factory
    names of the module-wide sets that changed, and the names module-level code binds
    otherwise than before; a definition that mentions none of them is analysed as before. None: nothing can be reused (another configuration, other imports,
    other syntax errors)."""
    if before[0] is not now[0] or before[1] != now[1] or before[9] != now[9]:
        return None
    changed: set[str] = set()
    for b, n in zip(before[2:], now[2:9]):
        if b == n:
            continue
        if isinstance(b, dict):
            changed.update(k for k in b.keys() | n.keys() if b.get(k) != n.get(k))
        else:
            changed.update(b ^ n)
    rebound = {name for name in before[10].keys() | now[10].keys()
               if before[10].get(name) != now[10].get(name)}
    if not changed:
        return frozenset(rebound)
    if before[6] != now[6]:  # file_triggers: path -> names of the factories it reaches
        for path in before[6].keys() | now[6].keys():
            changed.update(before[6].get(path, frozenset()) ^ now[6].get(path, frozenset()))
    facts = {**now[2], **now[3], **before[2], **before[3]}
    said = {name: repr(value) for name, value in facts.items()}
    affected = {name for name in changed if isinstance(name, str)}
    grew = True
    while grew:  # a function whose facts name a changed one (returns it, stores it ...)
        more = {name for name, text in said.items()
                if name not in affected and any(other in text for other in affected)}
        affected |= more
        grew = bool(more)
    return frozenset(part for name in affected for part in name.split(".")) | rebound


def _module_code(tree: ast.Module) -> Iterator[ast.stmt]:
    return (node for node in tree.body if not isinstance(node, _DEFINITIONS))


def _at_module_level(statement: ast.stmt) -> Iterator[ast.AST]:
    """The nodes of a module-level statement that run at module level: not the bodies of
    the functions and classes it defines (their decorators, bases and defaults do run)."""
    stack: list[ast.AST] = [statement]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            stack.extend([*node.decorator_list, *node.args.defaults,
                          *(d for d in node.args.kw_defaults if d is not None)])
        elif isinstance(node, ast.ClassDef):
            stack.extend([*node.decorator_list, *node.bases, *node.keywords])
        elif isinstance(node, ast.Lambda):
            stack.extend([*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)])
        else:
            stack.extend(ast.iter_child_nodes(node))


def _bound_at_module_level(statement: ast.stmt) -> set[str]:
    names = set()
    for node in _at_module_level(statement):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, _DEFINITIONS):
            names.add(node.name)  # a definition inside an if or a try
    return names


def _bindings(tree: ast.Module) -> dict[str, tuple[str, ...]]:
    """Each name module-level code binds other than by import or (module-level)
    definition, with the statements that bind it (``ast.dump``: their text, lines aside)."""
    out: dict[str, list[str]] = {}
    for statement in _module_code(tree):
        names = _bound_at_module_level(statement)
        if names:
            said = ast.dump(statement)
            for name in names:
                out.setdefault(name, []).append(said)
    return {name: tuple(said) for name, said in out.items()}


def _acquiring_names(tree: ast.Module, path: str, config: Config, project: Project) -> frozenset[str]:
    """The names bound by module-level statements that can acquire (name a factory, or a
    name bound by one), to a fixed point: what a definition that mentions one may release
    decides what the module itself leaks, so it is analysed with the module code."""
    import os

    from leaklint.core import context_manager_names, might_acquire

    extra = project.file_triggers.get(os.path.normpath(path), frozenset()) | context_manager_names(project)
    statements = []
    for statement in _module_code(tree):
        bound = _bound_at_module_level(statement)
        if bound:
            statements.append((bound, _names_in(_at_module_level(statement))))
    found: set[str] = set()
    grew = True
    while grew:
        grew = False
        for bound, mentioned in statements:
            if bound <= found:
                continue
            if mentioned & found or might_acquire(
                "\n".join(sorted(mentioned)).encode(), config.registry, extra
            ):
                found |= bound
                grew = True
    return frozenset(found)


def _names(node: ast.AST) -> set[str]:
    """The names and attribute names ``node`` mentions."""
    return _names_in(ast.walk(node))


def _names_in(nodes: Iterator[ast.AST]) -> set[str]:
    found = set()
    for inner in nodes:
        if isinstance(inner, ast.Name):
            found.add(inner.id)
        elif isinstance(inner, ast.Attribute):
            found.add(inner.attr)
    return found


def _module_code_acquires(tree: ast.Module, path: str, config: Config, project: Project) -> bool:
    """Can module-level code (decorators and bases of definitions included) acquire
    anything? The pre-filter's test (``core.might_acquire``), on the names it mentions."""
    import os

    from leaklint.core import context_manager_names, might_acquire

    names = set()
    for node in tree.body:
        if isinstance(node, _DEFINITIONS):
            for part in [*node.decorator_list, *getattr(node, "bases", ()), *getattr(node, "keywords", ())]:
                names |= _names(part)
        elif not isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= _names_in(_at_module_level(node))
    extra = project.file_triggers.get(os.path.normpath(path), frozenset()) | context_manager_names(project)
    return might_acquire("\n".join(sorted(names)).encode(), config.registry, extra)


#: What can raise, or run other code, in a class body as it runs (methods' bodies aside).
_ACTIVE = (ast.Call, ast.Await, ast.Yield, ast.YieldFrom, ast.Raise, ast.Assert, ast.With,
           ast.AsyncWith, ast.For, ast.AsyncFor, ast.While, ast.Try, ast.Delete, ast.Import,
           ast.ImportFrom, ast.Subscript, ast.BinOp)


def _inert_body(node: ast.ClassDef) -> bool:
    """Does the body of class ``node`` only define (methods, constants, names), so that
    running it cannot raise while module-level code holds something?"""
    return not any(
        isinstance(inner, _ACTIVE)
        for statement in node.body
        for inner in _at_module_level(statement)
    )


def _stub_body(node: ast.stmt, lines: list[bytes], reduced: list[bytes]) -> bool:
    """Replace the body of definition ``node`` in ``reduced`` by ``pass`` on its first line
    and line ends after; False (nothing replaced) when the body starts on the header's line."""
    head = node.body[0]  # type: ignore[attr-defined]
    decorators = getattr(head, "decorator_list", ())
    start = min([head.lineno, *(d.lineno for d in decorators)])
    first = lines[start - 1]
    indent = first[: len(first) - len(first.lstrip(b" \t\f"))]
    column = min(d.col_offset - 1 for d in decorators) if decorators else head.col_offset
    if start <= node.lineno or len(indent) != column or node.end_lineno is None:
        return False  # the body starts on a line of the header (a reduced module that
        # does not parse would be checked whole anyway)
    reduced[start - 1] = indent + b"pass" + _line_end(first)
    for index in range(start, node.end_lineno):
        reduced[index] = _line_end(lines[index])
    return True


def _line_end(line: bytes) -> bytes:
    return line[len(line.rstrip(b"\r\n")):]


def _moved(finding: Finding, by: int) -> Finding:
    """``finding`` ``by`` lines further down, its trace and the lines its message names too."""
    if by == 0:
        return finding
    return replace(
        finding,
        line=finding.line + by,
        related=tuple((line + by, col, label) for line, col, label in finding.related),
        message=_LINE_REF.sub(lambda m: f"line {int(m.group(1)) + by}", finding.message),
    )


def _by_definition(
    findings: tuple[Finding, ...],
    spans: list[tuple[ast.stmt, int, int, bytes]],
    counts: Counter[bytes],
) -> dict[bytes, tuple[Finding, ...]]:
    """The findings of each definition that can be kept (see the module's docstring), their
    lines counted from the definition's first line."""
    out = {}
    for _, first, last, text in spans:
        if counts[text] > 1:
            continue
        mine = [f for f in findings if first <= f.line <= last]
        if all(_stays_inside(f, first, last) for f in mine):
            out[text] = tuple(_moved(f, 1 - first) for f in mine)
    return out


def _stays_inside(finding: Finding, first: int, last: int) -> bool:
    lines = [line for line, _, _ in finding.related]
    lines += [int(number) for number in _LINE_REF.findall(finding.message)]
    return (
        all(first <= line <= last for line in lines)
        and _ORIGIN.search(finding.message) is None
        and getattr(finding, "fix", None) is None
        and not finding.cells
    )


# --------------------------------------------------------------------------- summaries


@dataclass(frozen=True, slots=True)
class _Summary:
    """What ``summaries.module_facts`` reads from one module-level definition, its lines
    counted from the definition's first line (1)."""

    functions: tuple[Any, ...]  # FunctionFacts: the function's, or the class's methods'
    classes: tuple[Any, ...]  # ClassFacts: the class's
    context_managers: tuple[tuple[str, str], ...]
    released_outside: frozenset[str]
    closed_types: frozenset[str]


@dataclass
class Summaries:
    """The summary of an open document (``facts_of_source``), re-read only for the
    module-level definitions that changed.

    ``module_facts`` reads each module-level definition on its own, given the module's
    import table (built from module-level statements in order: imports, assignments, the
    definitions' names); what a definition adds to the module-wide sets (``imports``,
    ``released_outside``, ``closed_types``) is its own. So a definition is read in a module
    of the module-level code, itself, and a bare stand-in (``def name(): pass``) for each
    other definition it names, which gives it the names it resolves as the whole module
    does; its summary is kept by its text (and the module-level statements that bind the
    names it mentions) and moved to where it starts at the next change. A definition that
    declares a ``global`` or imports inside is read again at every change, and every
    definition is when the module's imports change; two definitions of one name: the whole
    module is read."""

    #: (a definition's text, the imports, the definitions' names it mentions, how
    #: module-level code binds the other names it mentions) -> its summary
    kept: dict[tuple[Any, ...], _Summary] = field(default_factory=dict)
    #: whose ``names_of`` and ``split`` caches it shares (the server's: one text is split
    #: once for its summary and its check)
    names: Reuse = field(default_factory=Reuse)
    last: tuple[int, int] = (0, 0)  # definitions read again, reused

    def facts(self, data: bytes, path: str) -> tuple[Any, Any]:
        """``facts_of_source(data, path)``."""
        from leaklint.analysis.summaries import (
            _chain_too_long,
            facts_of_source,
            module_facts,
        )

        split = self.names.split(data)
        if split is None:
            return facts_of_source(data, path)
        tree, spans = split
        names = [node.name for node, _, _, _ in spans]  # type: ignore[attr-defined]
        if len(set(names)) != len(names) or _chain_too_long(data, tree):
            return facts_of_source(data, path)
        imports = tuple(
            ast.dump(node) for statement in _module_code(tree) for node in ast.walk(statement)
            if isinstance(node, (ast.Import, ast.ImportFrom))
        )
        bindings = _bindings(tree)
        defined = frozenset(names)
        base = module_facts(ast.Module(body=list(_module_code(tree)), type_ignores=[]), path)
        imported = set(base.imports)
        pieces = []
        read_again = 0
        for node, first, _, text in spans:
            mentioned, declared, imports_inside = self.names.names_of(node, text)
            # its imports join the module's: read it again at every change
            volatile = declared or imports_inside
            bound = tuple((name, bindings[name]) for name in sorted(mentioned & bindings.keys()))
            key = None if volatile else (text, imports, mentioned & defined, bound)
            summary = self.kept.get(key) if key is not None else None
            if summary is None:
                read = module_facts(_alone(tree, node, mentioned), path)
                imported.update(read.imports)
                summary = _moved_summary(_own(read, node), 1 - first)
                if key is not None:
                    if len(self.kept) > 20_000:
                        self.kept.clear()
                    self.kept[key] = summary
                read_again += 1
            pieces.append(_moved_summary(summary, first - 1))
        self.last = (read_again, len(spans) - read_again)
        return replace(
            base,
            functions=tuple(f for piece in pieces for f in piece.functions),
            classes=tuple(c for piece in pieces for c in piece.classes),
            imports=tuple(sorted(imported)),
            context_managers=tuple(c for piece in pieces for c in piece.context_managers),
            released_outside=frozenset().union(*(p.released_outside for p in pieces)),
            closed_types=frozenset().union(*(p.closed_types for p in pieces)),
        ), None


def _alone(tree: ast.Module, node: ast.stmt, mentioned: frozenset[str]) -> ast.Module:
    """The module-level code of ``tree`` in order, with ``node`` and a bare stand-in for each
    other definition whose name it mentions."""
    body: list[ast.stmt] = []
    for statement in tree.body:
        if statement is node or not isinstance(statement, _DEFINITIONS):
            body.append(statement)
        elif statement.name in mentioned:
            stand_in = _STAND_INS[type(statement)].format(statement.name)
            body.append(ast.copy_location(ast.parse(stand_in).body[0], statement))
    return ast.Module(body=body, type_ignores=[])


_STAND_INS = {
    ast.FunctionDef: "def {}(): pass",
    ast.AsyncFunctionDef: "async def {}(): pass",
    ast.ClassDef: "class {}: pass",
}


def _own(facts: Any, node: ast.stmt) -> _Summary:
    """Definition ``node``'s part of ``facts``, the summary of a module where it is the
    only definition read (``_alone``)."""
    qualname = f"{facts.module}.{node.name}"  # type: ignore[attr-defined]
    return _Summary(
        functions=tuple(f for f in facts.functions
                        if f.qualname == qualname or f.qualname.startswith(qualname + ".")),
        classes=tuple(c for c in facts.classes if c.qualname == qualname),
        context_managers=tuple(c for c in facts.context_managers if c[0] == qualname),
        released_outside=facts.released_outside,
        closed_types=facts.closed_types,
    )


def _moved_summary(summary: _Summary, by: int) -> _Summary:
    if by == 0:
        return summary
    return replace(
        summary,
        functions=tuple(
            replace(
                f,
                line=f.line + by,
                returns={k: v + by for k, v in f.returns.items()},
                tuple_returns=tuple((i, c, line + by) for i, c, line in f.tuple_returns),
            )
            for f in summary.functions
        ),
        classes=tuple(replace(c, line=c.line + by) for c in summary.classes),
    )
