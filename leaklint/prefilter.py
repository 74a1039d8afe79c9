"""What libcst need not parse: the pre-filter and the statement filter.

The pre-filter (``might_acquire``) skips a file that names nothing that can start an
obligation: no factory of the registry, no name the engine itself looks for, none of the
project's factories the file can reach. The statement filter
(``_without_idle_definitions``) goes a statement at a time: each module-level definition,
and each method of a kept class, that names nothing of the kind becomes a one-line stand-in
that binds the same name, so libcst, whose parser costs ten times CPython's, parses only what
can matter. ``LEAKLINT_NO_PREFILTER=1`` turns both off; neither changes a finding
(``tests/test_speed.py``)."""

from __future__ import annotations

import ast
import codecs
import os
import re
from collections.abc import Callable, Iterator
from functools import lru_cache

from leaklint.analysis.obligations import ENGINE_TRIGGERS
from leaklint.analysis.ownership import CONTEXT_MANAGER_DECORATORS
from leaklint.analysis.summaries import Project, child_nodes, walk
from leaklint.parsing import users_warnings_ignored
from leaklint.resources import Registry


@lru_cache(maxsize=8)
def _registry_pattern(registry: Registry) -> re.Pattern[bytes]:
    return _names_pattern(registry.trigger_names | ENGINE_TRIGGERS)


@lru_cache(maxsize=256)
def _names_pattern(names: frozenset[str]) -> re.Pattern[bytes]:
    ordered = sorted(names, key=len, reverse=True)
    return re.compile(rb"\b(?:" + b"|".join(re.escape(n.encode()) for n in ordered) + rb")\b")


def _prefilter_on() -> bool:
    """``LEAKLINT_NO_PREFILTER=1`` turns the pre-filter off (for the test that shows it never
    changes the findings, and for measuring it)."""
    return os.environ.get("LEAKLINT_NO_PREFILTER", "") in ("", "0")


def might_acquire(source: bytes, registry: Registry, extra: frozenset[str] = frozenset()) -> bool:
    """The pre-filter: a file that names no factory cannot acquire a resource. ``extra``:
    the project factories this file can reach."""
    if _registry_pattern(registry).search(source) is not None:
        return True
    return bool(extra) and _names_pattern(extra).search(source) is not None


def _mentions(
    source: bytes, registry: Registry, names: frozenset[str], managers: frozenset[str]
) -> bool:
    """``might_acquire`` of ``names | managers``, with ``managers`` (the project's context
    managers: hundreds of names, the same for a whole run) in a pattern of its own, compiled
    once, not once for each set of names it would be part of (compiling costs about as much
    as parsing a small file)."""
    if might_acquire(source, registry, names):
        return True
    return bool(managers) and _names_pattern(managers).search(source) is not None


#: What stands in for a module-level definition that cannot acquire anything: it binds the
#: same name, on the definition's first line (a local ``def open`` still shadows the builtin).
_STAND_INS: dict[type, str] = {
    ast.FunctionDef: "def {}(): pass",
    ast.AsyncFunctionDef: "async def {}(): pass",
    ast.ClassDef: "class {}: pass",
}
_DEFINITIONS = tuple(_STAND_INS)


def _first_line(node: ast.stmt) -> int:
    """Where a statement starts, its decorators included."""
    return min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))])


def _without_idle_definitions(
    data: bytes,
    registry: Registry,
    extra: frozenset[str],
    held: Callable[[str], frozenset[str]] = lambda name: frozenset(),
    managers: frozenset[str] = frozenset(),
) -> tuple[bytes, ast.Module] | None:
    """The pre-filter statement by statement: ``data`` with each module-level ``def``,
    ``async def`` and ``class`` that names nothing that can acquire (the names
    ``might_acquire`` looks for, plus the names the module binds from them: ``from
    subprocess import Popen as P``) replaced by a one-line stand-in and empty lines, and in
    the classes kept, each method that cannot matter (``_idle_methods``) likewise, so that
    libcst, whose parser costs ten times CPython's, parses only what can matter. Every other
    line is kept byte for byte (line endings included), so every kept node has its exact
    line and column. Also CPython's tree of the whole file, whose module-level statements
    (and those of class bodies) line up one for one with the reduced module's. None: parse
    the file as it is. ``held``: the attributes the project's summary of a module-level class
    (by its name) says hold what a factory made; ``managers``: the names of the project's
    context managers, which the pre-filter looks for besides ``extra`` (LL164 checks a
    ``with`` of one).

    A definition that mentions a name bound by code that acquires is kept (a function that
    closes a module-level connection keeps it from being reported), and so, when
    module-level code can acquire, is one with decorators or base classes: they run at
    module level and may raise while something is held."""
    if data.count(b"\r") != data.count(b"\r\n"):
        return None  # a lone CR ends a line for CPython, not for bytes.splitlines
    if not _worth_reducing(data, registry, extra, managers):
        return None
    try:
        with users_warnings_ignored():
            tree = ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    definitions = [node for node in tree.body if isinstance(node, _DEFINITIONS)]
    if not definitions:
        return data, tree
    lines = data.splitlines(keepends=True)

    def text(node: ast.stmt) -> bytes:
        return b"".join(lines[_first_line(node) - 1 : node.end_lineno])

    code = [node for node in tree.body if not isinstance(node, _DEFINITIONS)]
    found = _names_bound_by_acquiring(code, text, registry, extra, managers)
    acquiring = [_module_code_pattern(registry)]
    acquiring += [_names_pattern(names) for names in (found, managers) if names]
    module_acquires = any(
        pattern.search(_identifiers(node)) is not None
        for node in _module_level_code(tree)
        for pattern in acquiring
    )
    reduced = list(lines)
    for node in definitions:
        source = text(node)
        if not node.name.isascii() or _mentions(source, registry, found, managers):
            if isinstance(node, ast.ClassDef):
                idle = _idle_methods(node, text, registry, found, held(node.name), managers)
                for method in idle:
                    _stand_in(method, method.lineno, lines, reduced)
            continue
        if module_acquires and (node.decorator_list or getattr(node, "bases", None)
                                or getattr(node, "keywords", None)):
            continue  # evaluated at module level: it may raise while something is held
        _stand_in(node, _first_line(node), lines, reduced)
    return (b"".join(reduced) if reduced != lines else data), tree


def _stand_in(node: ast.stmt, first: int, lines: list[bytes], reduced: list[bytes]) -> None:
    """Replace definition ``node`` in ``reduced`` from line ``first`` (its decorators', or
    its own, which keeps the decorators) to its last by a one-line stand-in on its first line,
    at its indentation, and line ends."""
    line = lines[first - 1]
    indent = line[: len(line) - len(line.lstrip(b" \t\f"))]
    stand_in = indent + _STAND_INS[type(node)].format(node.name).encode()
    if first == 1 and line.startswith(codecs.BOM_UTF8):
        stand_in = codecs.BOM_UTF8 + stand_in
    reduced[first - 1] = stand_in + _line_end(line)
    for index in range(first, node.end_lineno or node.lineno):
        kept = index < 2 and lines[index].lstrip().startswith(b"#")  # a coding cookie
        reduced[index] = lines[index] if kept else _line_end(lines[index])


def _names_bound_by_acquiring(
    code: list[ast.stmt],
    text: Callable[[ast.stmt], bytes],
    registry: Registry,
    names: frozenset[str],
    managers: frozenset[str],
) -> frozenset[str]:
    """``names`` and the names bound by the statements of ``code`` (a module's or a class
    body's, definitions aside) that name a factory (an import alias, ``opener = open``), a
    context manager of ``managers`` or one of ``names``, and by code naming those, to a
    fixed point."""
    bound = set(names)
    pending = [(node, text(node)) for node in code]
    while True:
        found = frozenset(bound)
        waiting = []
        for node, source in pending:
            if _mentions(source, registry, found, managers):
                bound |= _bound_names(node, lambda name: _mentions(name, registry, found, managers))
            else:
                waiting.append((node, source))
        if bound == found:
            return found
        pending = waiting


def _attributes_stored(
    method: ast.FunctionDef | ast.AsyncFunctionDef, registry: Registry, names: frozenset[str]
) -> set[str]:
    """The attributes ``method`` stores something in that names what can acquire (a factory,
    one of ``names``, or a local name bound from those, to a fixed point): ``self.sock = s``
    after ``s = socket.socket()``."""
    sites: list[tuple[list[ast.expr], ast.expr]] = []
    for sub in walk(method):
        if isinstance(sub, ast.Assign):
            sites.append((sub.targets, sub.value))
        elif isinstance(sub, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) and sub.value:
            sites.append(([sub.target], sub.value))
        elif isinstance(sub, (ast.For, ast.AsyncFor, ast.comprehension)):
            sites.append(([sub.target], sub.iter))
        elif isinstance(sub, (ast.With, ast.AsyncWith)):
            sites.extend(([i.optional_vars], i.context_expr) for i in sub.items if i.optional_vars)
    local: set[str] = set()
    attributes: set[str] = set()
    # each site once: whether its value names what acquires, and the names it reads
    pending: list[tuple[list[ast.expr], bool, set[str]]] = []
    for targets, value in sites:
        identifiers = _identifiers(value)
        acquires = might_acquire(identifiers, registry, names)
        pending.append((targets, acquires, set(identifiers.decode().split("\n"))))
    while pending:
        before = len(local)
        waiting = []
        for targets, acquires, named in pending:
            if not acquires and local.isdisjoint(named):
                waiting.append((targets, acquires, named))
                continue
            for sub in (node for target in targets for node in walk(target)):
                if isinstance(sub, ast.Name):
                    local.add(sub.id)
                elif isinstance(sub, ast.Attribute):
                    attributes.add(sub.attr)
        if len(local) == before:
            return attributes
        pending = waiting
    return attributes


def _names_a_manager(
    method: ast.FunctionDef | ast.AsyncFunctionDef,
    source: bytes,
    managers: frozenset[str],
    own: set[str],
) -> bool:
    """Whether ``method`` names one of the project's context managers ``managers`` where the
    analysis can resolve it to one (LL164): a name read, an attribute, an import; not
    ``self.assertRaises``, which resolves to a method of the class itself, unless the class
    (``own``: its methods' names) defines it. ``source``: the method's text."""
    if not managers or _names_pattern(managers).search(source) is None:
        return False
    params = [*method.args.posonlyargs, *method.args.args]
    receivers = {"self", "cls", *(param.arg for param in params[:1])}
    for sub in walk(method):
        if isinstance(sub, ast.Attribute) and sub.attr in managers:
            own_method = isinstance(sub.value, ast.Name) and sub.value.id in receivers
            if not own_method or sub.attr in own:
                return True
        elif isinstance(sub, ast.Name) and sub.id in managers and isinstance(sub.ctx, ast.Load):
            return True  # (``for _ in ...`` binds a local ``_``, which ``_()`` would read)
        elif isinstance(sub, ast.alias) and {sub.name, *sub.name.split(".")} & managers:
            return True
    return False


#: Methods kept whatever they name: the protocol (LL160-LL163 read them) and the finaliser.
_PROTOCOL_METHODS = frozenset(
    {"__enter__", "__exit__", "__aenter__", "__aexit__", "__del__", "__init__"}
)


def _idle_methods(
    node: ast.ClassDef,
    text: Callable[[ast.stmt], bytes],
    registry: Registry,
    names: frozenset[str],
    held: frozenset[str],
    managers: frozenset[str],
) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The methods of kept class ``node`` (and of the classes nested in its body) that cannot
    change a finding, to be replaced by stand-ins that keep their decorators, name and
    async-ness (``check_class`` counts a class's methods; its body statements keep their
    lines). Kept: a method that names what can acquire (``names``, the names the class body
    binds from it, ``held`` (what the summaries say holds a resource) and every attribute a
    method naming those stores to: ``self.pool.getconn()`` acquires by the attribute's
    type), or that names a context manager of ``managers`` (``_names_a_manager``); a protocol
    method or ``__init__``/``__del__``; and every method an exit names (``_may_raise`` reads
    the methods it calls). Everything else is analysed alone and, naming nothing that
    acquires, creates no obligation: what the analysis takes from the rest of the class
    (LL120's and LL162's releases, ``self.helper()``'s effects) comes from the project's
    summaries of the whole file, and the names it reads there (``_names_read``: a closure
    may release) are kept with the methods naming what module or class code acquires."""
    methods = [m for m in node.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
    code = [item for item in node.body if not isinstance(item, _DEFINITIONS)]
    names = _names_bound_by_acquiring(code, text, registry, names, managers)
    keep = {id(m) for m in methods if not m.name.isascii() or m.name in _PROTOCOL_METHODS}
    attributes = set(held)
    own = {m.name for m in methods}
    sources = {id(method): text(method) for method in methods}
    for method in methods:
        source = sources[id(method)]
        if might_acquire(source, registry, names) or _names_a_manager(
            method, source, managers, own
        ):
            keep.add(id(method))
            attributes |= _attributes_stored(method, registry, names)
    if attributes:
        reaching = _names_pattern(frozenset(attributes))
        keep.update(id(m) for m in methods if reaching.search(sources[id(m)]) is not None)
    called = {
        name
        for method in methods
        if method.name in ("__exit__", "__aexit__")
        for name in _identifiers(method).decode().split("\n")
    }
    keep.update(id(m) for m in methods if m.name in called)
    idle = [m for m in methods if id(m) not in keep]
    for nested in node.body:
        if isinstance(nested, ast.ClassDef):
            idle.extend(_idle_methods(nested, text, registry, names, frozenset(), managers))
    return idle


_CONTEXT_MANAGERS: list[tuple[Project, frozenset[str]]] = []  # the last project's


def context_manager_names(project: Project) -> frozenset[str]:
    """The names of the project's own context managers: a ``with`` of one is checked (LL164)
    in code that names nothing the pre-filter looks for. A project loaded one class at a
    time (``leaklint.manifest``'s, beside a run's manifest) carries them, computed when it
    was kept."""
    if _CONTEXT_MANAGERS and _CONTEXT_MANAGERS[0][0] is project:
        return _CONTEXT_MANAGERS[0][1]
    kept = getattr(project.classes, "context_manager_names", None)
    if isinstance(kept, frozenset):
        return kept
    qualnames = [*project.context_managers, *filter(project.protocols, project.classes)]
    names = frozenset(qualname.rsplit(".", 1)[-1] for qualname in qualnames)
    _CONTEXT_MANAGERS[:] = [(project, names)]
    return names


@lru_cache(maxsize=8)
def _module_code_pattern(registry: Registry) -> re.Pattern[bytes]:
    """The pre-filter's names that can start an obligation in module-level code: not the
    decorators that mark a definition to check (``@contextmanager``)."""
    decorators = {name.rsplit(".", 1)[-1] for name in CONTEXT_MANAGER_DECORATORS}
    return _names_pattern(registry.trigger_names | (ENGINE_TRIGGERS - decorators))


#: A line that starts a definition, or looks like one (inside a string).
_DEFINITION_LINE = re.compile(rb"^[ \t]*(?:@|def\s|async\s+def\s|class\s)", re.MULTILINE)


def _worth_reducing(
    data: bytes, registry: Registry, names: frozenset[str], managers: frozenset[str]
) -> bool:
    """A guess, from the lines that start with a definition (a method's too), that at least a
    fifth of the file is definitions the statement filter will drop: CPython's parse, which
    it needs, costs about a ninth of libcst's."""
    bounds = [match.start() for match in _DEFINITION_LINE.finditer(data)]
    bounds.append(len(data))
    idle = sum(
        end - start
        for start, end in zip(bounds, bounds[1:])
        if not _mentions(data[start:end], registry, names, managers)
    )
    return idle * 5 >= len(data)


def _line_end(line: bytes) -> bytes:
    return line[len(line.rstrip(b"\r\n")) :]


def _bound_names(node: ast.stmt, named: Callable[[bytes], bool]) -> set[str]:
    """Every name a module-level statement can bind (over-approximated: also the names it
    binds inside nested functions), of its imports only those ``named`` says name a factory
    (``from subprocess import Popen as P``, ``from requests import get``: not ``os`` in
    ``import os, socket``)."""
    names = set()
    for child in walk(node):
        if isinstance(child, ast.Name) and not isinstance(child.ctx, ast.Load):
            names.add(child.id)
        elif isinstance(child, (ast.Import, ast.ImportFrom)):
            module = getattr(child, "module", None) or ""
            names.update(
                alias.asname or alias.name.split(".", 1)[0]
                for alias in child.names
                if named(f"{module} {alias.name}".encode())
            )
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(child.name)
        elif isinstance(child, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and child.name:
            names.add(child.name)
        elif isinstance(child, ast.MatchMapping) and child.rest:
            names.add(child.rest)
        elif isinstance(child, (ast.Global, ast.Nonlocal)):
            names.update(child.names)
    return names


def _module_level_code(tree: ast.Module) -> Iterator[ast.AST]:
    """What module-level code evaluates, imports aside (they acquire nothing): the statements
    other than definitions, whole, and the decorators and bases of definitions."""
    for node in tree.body:
        if isinstance(node, _DEFINITIONS):
            yield from node.decorator_list
            yield from getattr(node, "bases", ())
            yield from getattr(node, "keywords", ())
        elif not isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node


def _identifiers(node: ast.AST) -> bytes:
    """The names and attribute names in ``node`` outside imports, one a line, for the
    pre-filter's patterns."""
    found = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(current, ast.Name):
            found.append(current.id)
        elif isinstance(current, ast.Attribute):
            found.append(current.attr)
        stack.extend(child_nodes(current))
    return "\n".join(found).encode()
