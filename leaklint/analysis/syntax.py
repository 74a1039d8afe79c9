"""What the summary pass asks of CPython's ``ast``: walks without generators
(``child_nodes``, ``walk``), a module's or function's import table (``_Names``), and the
small questions it asks of statements, expressions and names (``is_releasing``, ``closes``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from functools import lru_cache

from leaklint.analysis.names import resolve_relative
from leaklint.analysis.ownership import RELEASING_WORDS


class _Names:
    """Import table of a module or function body, from ``ast`` (see ``names.Scope``)."""

    def __init__(self, module: str, is_package: bool, parent: _Names | None = None) -> None:
        self.module = module
        self.is_package = is_package
        self.parent = parent
        self.bound: dict[str, str | None] = {}
        # absolute names of the modules imported here or in any scope below (shared)
        self.imports: set[str] = parent.imports if parent is not None else set()
        #: id of a class statement -> its bases, resolved as the names stood when it ran:
        #: in ``from m import Parser`` / ``class Parser(Parser)`` the base is ``m.Parser``
        self.class_bases: dict[int, tuple[str | None, ...]] = {}

    def collect(self, body: Iterable[ast.stmt], prefix: str | None, classes: bool = True) -> None:
        """Record what ``body`` binds; its defs as ``{prefix}.{name}`` (its classes too, when
        ``classes``: the module's), others' names as unknown (None)."""
        for node in _statements(body):
            if isinstance(node, ast.Import):
                self.imports.update(alias.name for alias in node.names)
                for alias in node.names:
                    if alias.asname:
                        self.bound[alias.asname] = alias.name
                    else:
                        head = alias.name.split(".")[0]
                        self.bound[head] = head
            elif isinstance(node, ast.ImportFrom):
                base = (
                    resolve_relative(self.module, self.is_package, node.level, node.module)
                    if node.level
                    else node.module
                )
                if base:
                    self.imports.add(base)
                for alias in node.names:
                    if alias.name != "*":
                        target = f"{base}.{alias.name}" if base else None
                        name = alias.asname or alias.name
                        if name in self.bound and self.bound[name] != target:
                            # ``if asyncio: from ...asyncio import create_async_engine as
                            # create_engine`` / ``else: from sqlalchemy import create_engine``:
                            # either, so neither (sqlalchemy's testing_engine, realworld R-041)
                            target = None
                        self.bound[name] = target
                        if target:
                            self.imports.add(target)  # ``from pkg import sub``: a submodule?
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if isinstance(node, ast.ClassDef):
                    self.class_bases[id(node)] = tuple(self.resolve(b) for b in node.bases)
                qualified = prefix is not None and (classes or not isinstance(node, ast.ClassDef))
                self.bound[node.name] = f"{prefix}.{node.name}" if qualified else None
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for name in _target_names(target):
                        self.bound.setdefault(name, None)

    def imported_names(self, body: Iterable[ast.stmt]) -> Iterator[tuple[str, str]]:
        """``from x import y as z`` at module level: (this module's ``z``, ``x.y``), where the
        name is still bound so when the module's code is done."""
        for node in _statements(body):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    name = alias.asname or alias.name
                    target = self.bound.get(name)
                    if alias.name != "*" and target is not None and target.endswith("." + alias.name):
                        yield f"{self.module}.{name}", target

    def resolve(self, node: ast.expr) -> str | None:
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        scope: _Names | None = self
        while scope is not None:
            if node.id in scope.bound:
                head = scope.bound[node.id]
                break
            scope = scope.parent
        else:
            import builtins

            head = f"builtins.{node.id}" if hasattr(builtins, node.id) else None
        if head is None:
            return None
        return ".".join([head, *reversed(parts)])


def _statements(body: Iterable[ast.stmt]) -> Iterable[ast.stmt]:
    """Statements of a body, entering compound statements but not nested scopes."""
    stack = list(reversed(list(body)))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(node, name, None)
            if children:
                stack.extend(reversed(children))


def _target_names(target: ast.expr) -> Iterable[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _target_names(element)


#: Nodes that open a scope of their own.
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


#: Fields that never hold a node (names, flags) or hold only ``Load``/``Store``/``Del``, which
#: no fact depends on: left out of the walk.
_LEAF_FIELDS = frozenset(
    {"ctx", "id", "attr", "arg", "type_comment", "kind", "conversion", "is_async", "level",
     "module"}
)
_FIELDS: dict[type, tuple[str, ...]] = {}


def child_nodes(node: ast.AST) -> list[ast.AST]:
    """``ast.iter_child_nodes(node)`` as a list, in the same order, but for the expression
    contexts, without its two layers of generators (the summary pass walks every function
    of every file)."""
    kind = type(node)
    fields = _FIELDS.get(kind)
    if fields is None:
        fields = _FIELDS[kind] = tuple(f for f in kind._fields if f not in _LEAF_FIELDS)
    out: list[ast.AST] = []
    for field in fields:
        value = getattr(node, field, None)
        if isinstance(value, ast.AST):
            out.append(value)
        elif isinstance(value, list):
            out.extend([item for item in value if isinstance(item, ast.AST)])
    return out


def _walk_scope(node: ast.AST) -> list[ast.AST]:
    """Every node below ``node`` outside nested functions, lambdas and classes, parents
    before their children."""
    out: list[ast.AST] = []
    stack = child_nodes(node)
    while stack:
        current = stack.pop()
        out.append(current)
        if not isinstance(current, _SCOPES):
            stack.extend(child_nodes(current))
    return out


def walk(node: ast.AST) -> list[ast.AST]:
    """``ast.walk(node)``'s nodes (``node`` and all below it, nested scopes included), as a
    list, without its generators: parents before their children, siblings in no set order."""
    out: list[ast.AST] = []
    stack = [node]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(child_nodes(current))
    return out


def _is_self_attr(node: ast.AST, self_name: str) -> str | None:
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == self_name
    ):
        return node.attr
    return None


def _callee(node: ast.expr) -> ast.expr:
    return node.func if isinstance(node, ast.Call) else node


def _last_name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


@lru_cache(maxsize=4096)
def is_releasing(name: str) -> bool:
    """``close``, ``shutdown``, ``release_conn``...: a name that says it releases (asked for
    every attribute of every function: kept per name)."""
    lowered = name.lower()
    return any(word in lowered for word in RELEASING_WORDS) or lowered in (
        "wait",
        "communicate",
        "quit",
        "logout",
        "detach",
        # the exit of a context manager entered by hand (``await self.cm.__aexit__(...)``)
        "__exit__",
        "__aexit__",
    )


#: Besides any name with "close" in it: calls that end an object's hold on what it keeps.
#: Not a lock's ``release()``, a thread's ``stop()`` or a patcher's: those end an action,
#: not a life.
_CLOSING_CALLS = frozenset(
    {"shutdown", "terminate", "dispose", "destroy", "cleanup", "disconnect", "quit", "kill",
     "rmtree"}
)


@lru_cache(maxsize=4096)
def closes(name: str) -> bool:
    """``close``, ``aclose``, ``close_all``, ``shutdown``, ``terminate``...: a call that
    closes its receiver (stricter than ``is_releasing``: no ``release``, ``wait``)."""
    lowered = name.lower()
    return ("close" in lowered and not lowered.startswith("enclose")) or lowered in _CLOSING_CALLS


def _kept_names(node: ast.expr) -> Iterable[str]:
    """Names a stored or returned value keeps: ``f``, ``(f, n)``, ``Wrapper(f)``; not ``f.read()``."""
    for leaf in _value_leaves(node):
        if isinstance(leaf, ast.Name):
            yield leaf.id
        elif isinstance(leaf, (ast.Tuple, ast.List, ast.Set)):
            for element in leaf.elts:
                yield from _kept_names(element)
        elif isinstance(leaf, ast.Call):
            for arg in (*leaf.args, *(k.value for k in leaf.keywords)):
                if isinstance(arg, ast.Name):
                    yield arg.id


def _value_leaves(node: ast.expr) -> Iterable[ast.expr]:
    """What a returned expression may evaluate to: branches of ``a if c else b``/``a or b``."""
    if isinstance(node, ast.IfExp):
        yield from _value_leaves(node.body)
        yield from _value_leaves(node.orelse)
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            yield from _value_leaves(value)
    elif isinstance(node, ast.Await):
        yield from _value_leaves(node.value)
    else:
        yield node
