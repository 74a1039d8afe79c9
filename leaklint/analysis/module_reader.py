"""Reading one module: its functions (``function_reader``), its classes (``_ClassReader``:
what each method keeps on self and releases), the functions nested in both, its globals'
types and its pytest fixtures; ``facts_of_source`` parses a file and gives its
``ModuleFacts``, or why it cannot."""

from __future__ import annotations

import ast
import os
from collections.abc import Callable, Iterable, Mapping
from itertools import accumulate

from leaklint.analysis.facts import (
    ClassFacts,
    FunctionFacts,
    ModuleFacts,
    _module_location,
)
from leaklint.analysis.function_reader import (
    _context_manager_kind,
    _element_factories,
    _FunctionReader,
)
from leaklint.analysis.syntax import (
    _Names,
    _statements,
    child_nodes,
    closes,
    is_releasing,
)


def _self_attrs_assigned(method: ast.FunctionDef | ast.AsyncFunctionDef) -> frozenset[str]:
    """The attributes of its first parameter a method assigns (``self._locked = False``)."""
    params = method.args.posonlyargs + method.args.args
    if not params:
        return frozenset()
    me = params[0].arg
    found = set()
    for node in ast.walk(method):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        for target in targets:
            for part in ast.walk(target):
                if (
                    isinstance(part, ast.Attribute)
                    and isinstance(part.value, ast.Name)
                    and part.value.id == me
                    and isinstance(part.ctx, ast.Store)
                ):
                    found.add(part.attr)
    return frozenset(found)


#: ``field(default_factory=F)``: the attribute's value is made by ``F()``
_DATACLASS_FIELDS = frozenset({"dataclasses.field", "pydantic.Field", "pydantic.fields.Field"})


class _ClassReader:
    def __init__(self, node: ast.ClassDef, names: _Names, qualname: str, path: str) -> None:
        self.node = node
        self.names = names
        self.qualname = qualname
        self.path = path

    released_outside: set[str]
    closed_callees: set[str]
    inner: _NestedFunctions

    def facts(self) -> tuple[ClassFacts, list[FunctionFacts]]:
        self.released_outside = set()
        self.inner = _NestedFunctions()
        stores: dict[str, set[str]] = {}
        attr_calls: dict[str, set[str]] = {}
        handed: set[str] = set()
        method_releases: dict[str, frozenset[str]] = {}
        method_calls: dict[str, frozenset[str]] = {}
        method_refreshes: dict[str, frozenset[str]] = {}
        method_stores: dict[str, frozenset[str]] = {}
        method_attr_stores: dict[str, Mapping[str, frozenset[str]]] = {}
        method_closes: dict[str, frozenset[str]] = {}
        method_assigns: dict[str, frozenset[str]] = {}
        element_stores: dict[str, set[str]] = {}
        self.closed_callees: set[str] = set()
        functions: list[FunctionFacts] = []
        attr_types, attr_elements = self._body_types()
        properties = {
            item.name
            for item in self.node.body
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
            and any(_is_property(d, self.names.resolve) for d in item.decorator_list)
        }
        for item in self.node.body:
            if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            reader = _FunctionReader(item, self.names, f"{self.qualname}.{item.name}")
            facts = reader.read(
                f"{self.qualname}.{item.name}", self.path, is_method=True, class_name=self.qualname
            )
            if facts is not None:
                functions.append(facts)
            functions.extend(self.inner.read(reader, self.path))
            for attr, callees in reader.stores.items():
                stores.setdefault(attr, set()).update(callees)
            if reader.acquires:
                method_attr_stores[item.name] = {
                    attr: frozenset(callees) for attr, callees in reader.acquires.items()
                }
            if reader.stores or reader.element_stores:
                # what it keeps on self, or puts into a container it keeps there
                # (``self.connections.add(conn)``): where the class acquires
                method_stores[item.name] = frozenset().union(
                    *reader.stores.values(), *reader.element_stores.values()
                )
            for attr, methods in reader.attr_calls.items():
                attr_calls.setdefault(attr, set()).update(methods)
            for attr, types in reader.attr_types.items():
                attr_types.setdefault(attr, set()).update(types)
            for attr, types in reader.attr_elements.items():
                attr_elements.setdefault(attr, set()).update(types)
            for attr, types in reader.element_stores.items():
                element_stores.setdefault(attr, set()).update(types)
            handed |= reader.handed
            self.released_outside |= reader.released_outside
            self.closed_callees |= reader.closed_callees
            closed = frozenset(
                attr for attr, methods in reader.attr_calls.items() if any(map(closes, methods))
            )
            if closed:
                method_closes[item.name] = closed
            method_releases[item.name] = frozenset(
                attr
                for attr, methods in reader.attr_calls.items()
                if any(is_releasing(m) for m in methods)
            ) | frozenset(reader.handed)
            # ``self.connection`` of a property runs it as a call would
            method_calls[item.name] = frozenset(reader.self_calls) | (
                reader.first_mention.keys() & properties
            )
            assigned = _self_attrs_assigned(item)
            if assigned:
                method_assigns[item.name] = assigned
            refreshed = reader.refreshed() & method_releases[item.name]
            if refreshed:
                method_refreshes[item.name] = refreshed
        facts = ClassFacts(
            qualname=self.qualname,
            path=self.path,
            line=self.node.lineno,
            bases=self._bases(),
            stores={k: frozenset(v) for k, v in stores.items()},
            attr_calls={k: frozenset(v) for k, v in attr_calls.items()},
            handed=frozenset(handed),
            method_releases=method_releases,
            method_calls=method_calls,
            methods=frozenset(method_releases),
            method_refreshes=method_refreshes,
            method_stores=method_stores,
            method_attr_stores=method_attr_stores,
            method_closes=method_closes,
            method_assigns=method_assigns,
            attr_types={k: frozenset(v) for k, v in attr_types.items()},
            attr_elements={k: frozenset(v) for k, v in attr_elements.items()},
            element_stores={k: frozenset(v) for k, v in element_stores.items()},
        )
        return facts, functions

    def _body_types(self) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        """The class body's attributes: ``lock = Lock()``, ``pool: ConnectionPool``,
        ``lock: Lock = field(default_factory=Lock)``; and the factories of the containers it
        holds (``locks = defaultdict(Lock)``)."""
        types: dict[str, set[str]] = {}
        elements: dict[str, set[str]] = {}
        resolve = self.names.resolve
        for item in self.node.body:
            if isinstance(item, ast.Assign):
                targets, value, annotation = item.targets, item.value, None
            elif isinstance(item, ast.AnnAssign):
                targets, value, annotation = [item.target], item.value, item.annotation
            else:
                continue
            made = {resolve(annotation) or ""} if annotation is not None else set()
            if isinstance(value, ast.Call):
                callee = resolve(value.func)
                factory = next(
                    (k.value for k in value.keywords if k.arg == "default_factory"), None
                )
                if callee in _DATACLASS_FIELDS and factory is not None:
                    made.add(resolve(factory) or "")  # ``field(default_factory=Lock)``
                elif callee is not None:
                    made.add(callee)
            found = _element_factories(value, resolve) if value is not None else set()
            for target in targets:
                if isinstance(target, ast.Name):
                    if made - {""}:
                        types.setdefault(target.id, set()).update(made - {""})
                    if found:
                        elements.setdefault(target.id, set()).update(found)
        return types, elements

    def _bases(self) -> tuple[str | None, ...]:
        """The bases as their names stood when the class statement ran."""
        then = self.names.class_bases.get(id(self.node))
        if then is None:
            return tuple(self.names.resolve(b) for b in self.node.bases)
        return then


class _NestedFunctions:
    """The facts of the functions nested in a module's functions and methods (leakfixes
    LF033: Pillow's ``open()`` hands its file on through its nested ``_open_core``), and
    what their bodies tell about the module's code."""

    def __init__(self) -> None:
        self.released_outside: set[str] = set()
        self.closed_callees: set[str] = set()

    def read(self, outer: _FunctionReader, path: str) -> list[FunctionFacts]:
        functions: list[FunctionFacts] = []
        for reader in outer.nested():
            assert reader.qualname is not None
            facts = reader.read(reader.qualname, path, False)
            self.released_outside |= reader.released_outside
            self.closed_callees |= reader.closed_callees
            if facts is not None:
                functions.append(facts)
        return functions


def module_facts(tree: ast.Module, path: str) -> ModuleFacts:
    """The facts of one parsed module."""
    module, is_package, root = _module_location(path)
    names = _Names(module, is_package)
    names.collect(tree.body, module)
    functions: list[FunctionFacts] = []
    classes: list[ClassFacts] = []
    context_managers: list[tuple[str, str]] = []
    released_outside: set[str] = set()
    closed_types: set[str] = set()
    session_closed: set[str] = set()
    fixture_mocks: list[tuple[str, frozenset[str]]] = []
    conftest = os.path.basename(path) == "conftest.py"
    inner = _NestedFunctions()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if conftest:
                session_closed |= _closed_by_an_autouse_fixture(node, names)
            mocks = _fixture_mocks(node, names)
            if mocks:
                fixture_mocks.append((node.name, mocks))
            kind = _context_manager_kind(node, names)
            if kind is not None:
                context_managers.append((f"{module}.{node.name}", kind))
            reader = _FunctionReader(node, names, f"{module}.{node.name}")
            facts = reader.read(f"{module}.{node.name}", path, False)
            released_outside |= reader.released_outside
            closed_types |= reader.closed_callees
            if facts is not None:
                functions.append(facts)
            functions.extend(inner.read(reader, path))
        elif isinstance(node, ast.ClassDef):
            class_reader = _ClassReader(node, names, f"{module}.{node.name}", path)
            class_facts, methods = class_reader.facts()
            released_outside |= class_reader.released_outside | class_reader.inner.released_outside
            closed_types |= class_reader.closed_callees | class_reader.inner.closed_callees
            classes.append(class_facts)
            functions.extend(methods)
    return ModuleFacts(
        path,
        module,
        tuple(functions),
        tuple(classes),
        tuple(sorted(names.imports)),
        str(root),
        tuple(context_managers),
        frozenset(released_outside | inner.released_outside),
        frozenset(closed_types | inner.closed_callees),
        frozenset(session_closed),
        tuple(sorted(names.imported_names(tree.body))),
        tuple(sorted(_global_types(tree.body, names, module))),
        fixture_mocks=tuple(fixture_mocks),
    )


def _global_types(body: Iterable[ast.stmt], names: _Names, module: str) -> set[tuple[str, str]]:
    """``X = Factory(...)``, ``X: T`` and ``X: T = ...`` at module level (``if``/``try``
    blocks included): (``module.X``, the factory or annotation, resolved)."""
    out: set[tuple[str, str]] = set()
    for node in _statements(body):
        if isinstance(node, ast.Assign):
            targets, made = node.targets, node.value
        elif isinstance(node, ast.AnnAssign):
            targets, made = [node.target], node.value
            typed = names.resolve(node.annotation)
            if typed is not None and isinstance(node.target, ast.Name):
                out.add((f"{module}.{node.target.id}", typed))
        else:
            continue
        if isinstance(made, ast.Call):
            callee = names.resolve(made.func)
            if callee is not None:
                out.update(
                    (f"{module}.{target.id}", callee)
                    for target in targets
                    if isinstance(target, ast.Name)
                )
    return out


def _closed_by_an_autouse_fixture(
    node: ast.FunctionDef | ast.AsyncFunctionDef, names: _Names
) -> set[str]:
    """``@pytest.fixture(autouse=True)`` that patches ``C.__init__`` to track every instance
    and, after its ``yield``, calls a release on what it tracked (``db.close()``): every C a
    test under this conftest makes is closed at its teardown (first contact round 3,
    sqlite-utils' ``close_all_databases``). The classes it names, qualified."""
    if not any(_is_autouse_fixture(d, names) for d in node.decorator_list):
        return set()
    patched: set[str] = set()
    yields: list[int] = []
    releases: list[int] = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Assign):
            for target in sub.targets:
                if isinstance(target, ast.Attribute) and target.attr == "__init__":
                    qualname = names.resolve(target.value)
                    if qualname:
                        patched.add(qualname)
        elif isinstance(sub, (ast.Yield, ast.YieldFrom)):
            yields.append(sub.lineno)
        elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute):
            if is_releasing(sub.func.attr):
                releases.append(sub.lineno)
    if not patched or not yields or not any(line > min(yields) for line in releases):
        return set()
    return patched


def _fixture_mocks(node: ast.FunctionDef | ast.AsyncFunctionDef, names: _Names) -> frozenset[str]:
    """A pytest fixture's ``mock.patch("fabric.connection.SSHClient")`` (or ``patch.object(
    mod, "SSHClient")``): the last names it patches, for every test that asks for it by name
    (first contact round 9, fabric's ``client`` fixture fakes the SSH client a Connection
    opens through)."""
    if not any(_is_fixture(d, names) for d in node.decorator_list):
        return frozenset()
    out: set[str] = set()
    for sub in ast.walk(node):
        if not (isinstance(sub, ast.Call) and sub.args):
            continue
        callee = names.resolve(sub.func) or ""
        first = sub.args[0]
        if callee.endswith("patch.object") and len(sub.args) > 1:
            second = sub.args[1]
            if isinstance(second, ast.Constant) and isinstance(second.value, str):
                out.add(second.value)
        elif callee.rsplit(".", 1)[-1] == "patch":
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                out.add(first.value.rsplit(".", 1)[-1])
    return frozenset(out)


def _is_fixture(decorator: ast.expr, names: _Names) -> bool:
    """``@pytest.fixture``, ``@pytest.fixture(...)``, ``@fixture`` imported from pytest."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    qualname = names.resolve(target) or ""
    return qualname == "pytest.fixture" or qualname.endswith(".fixture")


def _is_autouse_fixture(decorator: ast.expr, names: _Names) -> bool:
    """``@pytest.fixture(autouse=True)`` (or ``@fixture(autouse=True)`` imported from it)."""
    if not (isinstance(decorator, ast.Call) and _is_fixture(decorator, names)):
        return False
    return any(
        k.arg == "autouse" and isinstance(k.value, ast.Constant) and k.value.value is True
        for k in decorator.keywords
    )


def _is_property(decorator: ast.expr, resolve: Callable[[ast.expr], str | None]) -> bool:
    """``@property``, ``@functools.cached_property``."""
    return resolve(decorator) in ("builtins.property", "functools.cached_property")


def facts_of_source(
    data: bytes, path: str
) -> tuple[ModuleFacts | None, tuple[int, int, str] | None]:
    """Parse with ``ast`` and summarise; a file that does not parse gives (line, col, why)."""
    try:
        tree = ast.parse(data, path)
    except SyntaxError as err:
        return None, (err.lineno or 1, max((err.offset or 1) - 1, 0), f"syntax error: {err.msg}")
    except (ValueError, UnicodeDecodeError) as err:
        return None, (1, 0, f"cannot decode the file: {err}")
    except (RecursionError, MemoryError):
        return None, (1, 0, "too deeply nested to analyse")
    if _chain_too_long(data, tree):
        # libcst's native parser recurses once per operand of ``a and b and ...`` /
        # ``a + b + ...`` and overflows the C stack on a few thousand (LibCST#1000)
        return None, (1, 0, "too deeply nested to analyse (an expression of thousands of operands)")
    return module_facts(tree, path), None


#: Operands in one chain beyond which libcst's parser may overflow the C stack.
_MAX_CHAIN = 3000


def _chain_too_long(data: bytes, tree: ast.Module) -> bool:
    """A chain of thousands of operands needs a big file or a very long line: only those
    are walked, and in them only the nodes whose lines hold enough bytes for one (a chain of
    ``_MAX_CHAIN`` operands takes twice as many characters, and a character at least a byte
    in any encoding CPython reads)."""
    if len(data) < 20_000 and max(map(len, data.splitlines()), default=0) < 4_000:
        return False
    ends = list(accumulate(map(len, data.splitlines(keepends=True)), initial=0))
    spines: set[int] = set()  # BinOps already counted as part of a longer chain
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        first, last = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        if first is not None and last is not None and last < len(ends) and (
            ends[last] - ends[first - 1] < 2 * _MAX_CHAIN
        ):
            continue
        if isinstance(node, ast.BoolOp) and len(node.values) > _MAX_CHAIN:
            return True
        if isinstance(node, ast.Compare) and len(node.ops) > _MAX_CHAIN:
            return True
        if isinstance(node, ast.BinOp) and id(node) not in spines:
            depth, left = 0, node
            while isinstance(left, ast.BinOp):
                spines.add(id(left))
                depth, left = depth + 1, left.left
            if depth > _MAX_CHAIN:
                return True
        stack.extend(child_nodes(node))
    return False
