"""What type is this expression: the one place the analysis asks for a receiver's type.

A ``Type.method`` entry of the registry (``redis.ConnectionPool.get_connection``,
``threading.Lock.acquire``, ``pathlib.Path.open``) acquires where the receiver is known to
be a ``Type``. What is known statically, flow-insensitively:

* a name: what it was assigned from in its scope or an enclosing one (a module global
  included), the call a ``with`` entered to bind it (``with socket.socket() as s``), its
  annotation, its parameter default (``lock=threading.Lock()``), pytest's
  ``tmp_path`` fixture parameter (a ``pathlib.Path``, as ``tmp_path_factory.mktemp()`` is);
* ``self.x``: what any method of the class or its project bases stores there, the class
  body (``lock = Lock()``, ``pool: ConnectionPool``), a dataclass field's ``default_factory``;
* a call: the factory itself, or for a project function its return annotation and what it
  returns, through the project summaries (across modules);
* ``c[k]``: the factory of a container's values (``defaultdict(Lock)``, ``{k: Lock() ...}``);
* pathlib arithmetic: ``p / "x"``, ``p.with_suffix(".y")``, ``p.parent``, ``Path.cwd()``;
* another module's global: ``mod.POOL``, ``from mod import POOL`` (``Project.global_types``).

The answer is a list of qualified names, most direct first; the caller keeps the first one
the registry has a method entry for.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from leaklint.analysis.names import Scope
from leaklint.analysis.summaries import DEFAULTING_CONTAINERS, Project

#: pathlib's concrete and pure path classes.
PATH_TYPES = frozenset(
    {
        "pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath",
        "pathlib.PurePath", "pathlib.PurePosixPath", "pathlib.PureWindowsPath",
    }
)
#: Methods of a path that give a path of the same class (classmethods included).
_PATH_METHODS = frozenset(
    {
        "absolute", "cwd", "expanduser", "home", "joinpath", "readlink", "relative_to",
        "resolve", "with_name", "with_segments", "with_stem", "with_suffix",
    }
)
#: Attributes of a path that are a path.
_PATH_ATTRIBUTES = frozenset({"parent"})
#: pytest fixtures whose value is a ``pathlib.Path``.
_PATH_FIXTURES = frozenset({"tmp_path"})
#: pytest fixtures whose methods give a ``pathlib.Path`` (``tmp_path_factory.mktemp("d")``).
_PATH_FACTORY_FIXTURES = frozenset({"tmp_path_factory"})
_PATH_FACTORY_METHODS = frozenset({"mktemp", "getbasetemp"})
#: Set while ``callee`` asks for a receiver's type (see there).
_ASKING = [0]
#: How deep one question may follow names and containers (``q = p / "x"``; ``r = q``...).
_MAX_DEPTH = 6


@dataclass(frozen=True, slots=True)
class ReceiverTypes:
    """Types of expressions in one scope. ``class_name``/``self_name``: in a method, its
    class's qualified name and the name of its first parameter."""

    scope: Scope
    project: Project | None = None
    class_name: str | None = None
    self_name: str | None = None

    def of(self, node: cst.BaseExpression) -> list[str]:
        """The qualified names of the types ``node`` may have, most direct first."""
        return list(dict.fromkeys(self._types(node, 0, set())))

    def _types(self, node: cst.BaseExpression, depth: int, seen: set[str]) -> Iterator[str]:
        """``seen``: the names this question has read already (``x = x / "a"``)."""
        if depth > _MAX_DEPTH:
            return
        if isinstance(node, cst.Await):
            node = node.expression
        if isinstance(node, cst.Call):
            yield from self._call(node, depth, seen)
        elif isinstance(node, cst.Name):
            yield from self._name(node.value, depth, seen)
        elif isinstance(node, cst.Attribute):
            attr = self.self_attribute(node)
            if attr is not None:
                yield from self._attribute(attr, elements=False)
            elif node.attr.value in _PATH_ATTRIBUTES:
                yield from self._paths(list(self._types(node.value, depth + 1, seen)))
            else:
                # ``mod.POOL``: a global of another module of the project
                yield from self._global(self.callee(node))
        elif isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Divide):
            # ``p / "x"``, ``"x" / p``
            sides = [*self._types(node.left, depth + 1, seen)]
            yield from self._paths([*sides, *self._types(node.right, depth + 1, seen)])
        elif isinstance(node, cst.Subscript):
            yield from self._elements(node.value, depth + 1, seen)
        elif isinstance(node, cst.IfExp):
            yield from self._types(node.body, depth + 1, seen)
            yield from self._types(node.orelse, depth + 1, seen)
        elif isinstance(node, cst.NamedExpr):
            yield from self._types(node.value, depth + 1, seen)

    def _call(self, call: cst.Call, depth: int, seen: set[str]) -> Iterator[str]:
        func = call.func
        if isinstance(func, cst.Call):  # ``sessionmaker(...)()``
            func = func.func
        callee = self.callee(func)
        if callee is not None:
            head, _, method = callee.rpartition(".")
            if head in PATH_TYPES and method in _PATH_METHODS:
                yield head  # ``Path.cwd()``, ``Path.home()``
                return
            yield from self._expand(callee)
        if isinstance(func, cst.Attribute) and func.attr.value in _PATH_METHODS:
            # ``p.with_suffix(".x")``
            yield from self._paths(list(self._types(func.value, depth + 1, seen)))
        elif (
            isinstance(func, cst.Attribute)
            and func.attr.value in _PATH_FACTORY_METHODS
            and isinstance(func.value, cst.Name)
            and self._fixture_parameter(func.value.value, _PATH_FACTORY_FIXTURES)
        ):
            yield "pathlib.Path"  # ``tmp_path_factory.mktemp("data")``

    def _name(self, name: str, depth: int, seen: set[str]) -> Iterator[str]:
        scope = self._binding_scope(name)
        if scope is None or name in seen:
            return
        seen.add(name)
        for made_by in sorted(scope.made_by.get(name, ())):
            yield from self._expand(made_by)
        if not scope.made_by.get(name) and not scope.values.get(name):
            # ``from mod import POOL``: the global of the module it comes from
            yield from self._global(scope.resolve_name(name) if scope.kind == "module" else None)
        for value in scope.values.get(name, ()):
            yield from self._types(value, depth + 1, seen)
        for call in scope.entered.get(name, ()):
            # the callee itself, not what a project function returns: a generator's
            # ``@contextmanager`` gives what it yields, which its returns do not say
            callee = self.callee(call.func.func if isinstance(call.func, cst.Call) else call.func)
            if callee is not None:
                yield callee
        if self._fixture_parameter(name, _PATH_FIXTURES):
            yield "pathlib.Path"

    def _fixture_parameter(self, name: str, fixtures: frozenset[str]) -> bool:
        """``name`` is a parameter named as one of pytest's ``fixtures``, with no annotation
        or default saying otherwise."""
        scope = self._binding_scope(name)
        return (
            scope is not None
            and name in fixtures
            and name in scope.params
            and name not in scope.made_by
            and name not in scope.values
        )

    def _elements(
        self, container: cst.BaseExpression, depth: int, seen: set[str]
    ) -> Iterator[str]:
        """The types of the values a container holds."""
        attr = self.self_attribute(container)
        if attr is not None:
            yield from self._attribute(attr, elements=True)
            return
        if isinstance(container, cst.Name):
            scope = self._binding_scope(container.value)
            values = scope.values.get(container.value, ()) if scope is not None else ()
        else:
            values = (container,)
        for value in values:
            if isinstance(value, cst.Call) and value.args:
                if self.callee(value.func) in DEFAULTING_CONTAINERS:
                    factory = value.args[0].value
                    if isinstance(factory, cst.Lambda) and isinstance(factory.body, cst.Call):
                        yield from self._types(factory.body, depth + 1, seen)
                    else:
                        callee = self.callee(factory)
                        if callee is not None:
                            yield from self._expand(callee)
            elif isinstance(value, cst.DictComp):
                yield from self._types(value.value, depth + 1, seen)
            elif isinstance(value, (cst.ListComp, cst.SetComp)):
                yield from self._types(value.elt, depth + 1, seen)
            elif isinstance(value, cst.Dict):
                for element in value.elements:
                    if isinstance(element, cst.DictElement):
                        yield from self._types(element.value, depth + 1, seen)
            elif isinstance(value, (cst.List, cst.Tuple, cst.Set)):
                for item in value.elements:
                    if isinstance(item, cst.Element):
                        yield from self._types(item.value, depth + 1, seen)

    def _attribute(self, attr: str, elements: bool) -> Iterator[str]:
        """``self.attr`` (or its values): what the class and its project bases put there."""
        project = self.project
        if project is None or self.class_name is None:
            return
        for _, facts in project.lineage(self.class_name):
            if facts is None:
                continue
            if elements:
                made = facts.attr_elements.get(attr, frozenset())
            else:
                made = facts.stores.get(attr, frozenset()) | facts.attr_types.get(attr, frozenset())
            for made_by in sorted(made):
                yield from self._expand(made_by)

    def _global(self, qualname: str | None) -> Iterator[str]:
        """The types a module global of the project is made as (``ModuleFacts.global_types``)."""
        project = self.project
        if project is None or qualname is None:
            return
        for made_by in sorted(project.global_types.get(project.canonical(qualname), ())):
            yield from self._expand(made_by)

    def _expand(self, callee: str) -> Iterator[str]:
        """A factory is its own type (the registry's ``build_opener.open``, even where the
        run holds its source); a project function gives what it returns, too."""
        yield callee
        project = self.project
        if project is not None and callee in project.functions:
            yield from project.returned_types(callee)

    @staticmethod
    def _paths(types: list[str]) -> Iterator[str]:
        yield from (t for t in types if t in PATH_TYPES)
        if any(t in PATH_TYPES for t in types) and "pathlib.Path" not in types:
            yield "pathlib.Path"

    def callee(self, func: cst.BaseExpression) -> str | None:
        """Qualified name of a callee, ``self.m``/``cls.m`` included (as ``Class.m``)."""
        if (
            self.class_name is not None
            and isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value in ("self", "cls", self.self_name)
        ):
            return self.method_of(self.class_name, func.attr.value)
        if isinstance(func, (cst.Name, cst.Attribute)):
            name = self.scope.resolve(func)
            project = self.project
            if name is not None and project is not None:
                return project.canonical(name)  # ``from pkg import C``: pkg.mod.C
            if (
                name is None
                and project is not None
                and isinstance(func, cst.Attribute)
                and func.attr.value in project.method_names
                and not _ASKING[0]
            ):
                # ``pool.return_socket(s)`` on a local whose type is a project class; not
                # while a type is being asked already (``x = x.next()`` would never end)
                _ASKING[0] += 1
                try:
                    for typed in self.of(func.value):
                        # (a type the registry knows keeps its entries: ``zf.open()``)
                        if typed in project.classes and typed not in project.registry.by_name:
                            return self.method_of(typed, func.attr.value)
                finally:
                    _ASKING[0] -= 1
            return name
        return None

    def method_of(self, class_name: str, method: str) -> str:
        """``Class.method`` as the class's lineage defines it: ``self.get_pool()`` in a test
        class whose project base defines ``get_pool`` is ``Base.get_pool``."""
        project = self.project
        own = f"{class_name}.{method}"
        if project is None or own in project.functions:
            return own
        for name, facts in project.lineage(class_name):
            if name is not None and facts is not None and method in facts.methods:
                return f"{name}.{method}"
        return own

    def self_attribute(self, node: cst.BaseExpression) -> str | None:
        """``self.x`` inside a method: "x"."""
        if (
            self.self_name is not None
            and isinstance(node, cst.Attribute)
            and isinstance(node.value, cst.Name)
            and node.value.value == self.self_name
        ):
            return node.attr.value
        return None

    def only_entered(self, node: cst.BaseExpression) -> bool:
        """``node`` is a name whose only known type is the call a ``with`` entered to bind
        it: the ``with`` block releases it, and what dies with it."""
        if not isinstance(node, cst.Name):
            return False
        scope = self._binding_scope(node.value)
        return (
            scope is not None
            and node.value in scope.entered
            and not scope.made_by.get(node.value)
            and not scope.values.get(node.value)
        )

    def _binding_scope(self, name: str) -> Scope | None:
        """The scope whose binding of ``name`` this scope sees (as ``Scope.types_of``)."""
        scope: Scope | None = self.scope
        while scope is not None:
            if name in scope.bindings or name in scope.made_by:
                return scope
            scope = scope.lookup_parent()
        return None
