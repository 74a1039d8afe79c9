"""Project summaries: which functions of the run are factories, which classes own resources.

Computed before the obligation analysis from CPython's ``ast`` (a tenth of libcst's cost),
for every file of the run, then closed to a fixed point so chains of helpers work:
``get_conn()`` returning ``_connect()`` returning ``sqlite3.connect()`` is a factory of
connections, and ``Database`` storing one on ``self`` and closing it in ``close()`` is a
resource type whose instances must be closed.

What is recorded is syntactic and flow-insensitive; the flow-sensitive part stays in the
obligation analysis, which treats a project factory like any entry of the registry.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from leaklint.analysis.facts import (
    ClassFacts,
    FunctionFacts,
    ModuleFacts,
    module_file,
    module_name,
)
from leaklint.analysis.function_reader import (
    DEFAULTING_CONTAINERS,
)
from leaklint.analysis.module_reader import (
    _chain_too_long,
    facts_of_source,
    module_facts,
)
from leaklint.analysis.names import locals_of
from leaklint.analysis.never_returning import (
    _never_returning,
    _never_returns,
)
from leaklint.analysis.syntax import (
    _target_names,
    child_nodes,
    closes,
    is_releasing,
    walk,
)
from leaklint.resources import Registry, Resource

__all__ = [
    "DEFAULTING_CONTAINERS",
    "_PLAIN_BASES",
    "ClassFacts",
    "FunctionFacts",
    "ModuleFacts",
    "Project",
    "_chain_too_long",
    "_target_names",
    "build_project",
    "child_nodes",
    "closes",
    "facts_of_source",
    "is_releasing",
    "module_facts",
    "module_file",
    "module_name",
    "walk",
]

#: Public method names that release the object (besides any method that closes what it owns).
_RELEASE_METHOD_NAMES = ("close", "aclose", "shutdown", "stop", "release", "cleanup", "dispose")


# --------------------------------------------------------------------------- the project


@dataclass(frozen=True, slots=True)
class Project:
    """Everything the run's files tell about each other; immutable and picklable."""

    registry: Registry
    functions: Mapping[str, FunctionFacts] = field(default_factory=dict)
    classes: Mapping[str, ClassFacts] = field(default_factory=dict)
    #: path -> (line, column, message) of the files CPython's parser rejected
    syntax_errors: Mapping[str, tuple[int, int, str]] = field(default_factory=dict)
    paths: frozenset[str] = frozenset()  # every file summarised
    #: ``@contextmanager``/``@asynccontextmanager`` functions of the project: "sync"/"async"
    context_managers: Mapping[str, str] = field(default_factory=dict)
    #: attribute names some code releases through another object (``conn.sock.close()``)
    released_outside: frozenset[str] = frozenset()
    #: path -> names of the project factories it can reach (its own module's and its
    #: imports'): the pre-filter looks for these besides the registry's
    file_triggers: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: project functions and methods that never return (``FunctionFacts.never_returns``)
    never_returning: frozenset[str] = frozenset()
    #: class -> attributes of self that it, a project base or a subclass releases or hands
    #: on; "*" when a base outside the project might
    attrs_released: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: the module names some summarised module imports (a script is a module none imports)
    imported: frozenset[str] = frozenset()
    #: folder of a conftest.py -> classes its autouse fixture closes after each test
    session_closed: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: a pytest fixture's name -> the last names the project's fixtures of that name patch
    fixture_mocks: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: a module's name bound by ``from x import y`` -> ``x.y`` (``ModuleFacts.exports``)
    aliases: Mapping[str, str] = field(default_factory=dict)
    #: ``module.NAME`` of a module global -> the types it is made as (``ModuleFacts.global_types``)
    global_types: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: the names of the methods the project's classes define
    method_names: frozenset[str] = frozenset()

    def canonical(self, name: str) -> str:
        """The project's definition ``name`` is bound to, through the modules that re-export
        it (``tqdm.tqdm`` -> ``tqdm.std.tqdm``); ``name`` itself where it names no project
        definition that way (``io.open`` stays, though the stdlib's io.py imports it from
        ``_io``: the registry knows it by that name)."""
        target = name
        for _ in range(8):
            if target in self.functions or target in self.classes or target in self.global_types:
                return target
            if target in self.registry.by_name or target not in self.aliases:
                break
            target = self.aliases[target]
        return name

    def closed_after_each_test(self, path: str) -> frozenset[str]:
        """The classes a conftest above ``path`` closes after each test (its autouse fixture
        tracks and closes every instance): a test's own instance of one is no leak."""
        if not self.session_closed:
            return frozenset()
        folder = os.path.dirname(os.path.abspath(path))
        out: set[str] = set()
        for root, classes in self.session_closed.items():
            if folder == root or folder.startswith(root + os.sep):
                out |= classes
        return frozenset(out)

    def never_returns(self, callee: str) -> bool:
        """Does a call of ``callee`` never return: a project function that always raises or
        exits, on every path, directly or through others that do (or annotated
        ``-> NoReturn``), ``sys.exit``/``os._exit``/``pytest.fail``; a method found through
        the class's bases (``module.fail_json()``, ``self.fail(msg)`` in a TestCase)?"""
        return _never_returns(callee, self.never_returning, self.functions, self.classes)

    def returned_types(self, callee: str) -> list[str]:
        """The types a call of project function ``callee`` gives back, fresh or kept: its
        return annotation (``-> redis.ConnectionPool``) and the calls it returns
        (``return redis.ConnectionPool()``), through project helpers that return helpers."""
        return _returned_types(self.functions, callee)

    def typed_attributes(self, class_name: str) -> frozenset[str]:
        """The attributes of ``class_name`` whose type the registry knows, from what any
        method stores there, the class body, an annotation or a container's factory
        (``receivers.ReceiverTypes`` reads the same): ``self.pool.get_connection()``."""
        facts = self.classes.get(class_name)
        if facts is None:
            return frozenset()
        known = self.registry.by_name
        out = set()
        for table in (facts.stores, facts.attr_types, facts.attr_elements):
            for attr, made in table.items():
                if any(
                    t in known
                    for callee in made
                    for t in (callee, *_returned_types(self.functions, callee))
                ):
                    out.add(attr)
        return frozenset(out)

    def takes_argument(self, callee: str, index: int | None, keyword: str | None) -> bool | None:
        """Does project function ``callee`` release or keep this argument? None: not ours.
        It keeps it when it stores it where something releases it: kept on an attribute of
        self (``self.file = fileobj``) that no method of the class, its bases or subclasses
        (nor code elsewhere, ``up.file.close()``) releases or hands on, the argument stays
        the caller's (bottle's ``FileUpload(open(p))``); one only read is borrowed."""
        facts = self.functions.get(callee)
        if facts is None:
            return None
        if keyword is not None:
            param = keyword
            if param not in facts.params:
                return True  # into its ``**kwargs``, passed on who knows where: trust it
        else:
            offset = 1 if facts.is_method else 0
            position = (index or 0) + offset
            if position >= len(facts.params):
                return True  # *args: cannot tell, trust it
            param = facts.params[position]
        if param not in facts.takes:
            return False
        attrs = facts.param_attrs.get(param)
        if attrs is None:
            return True
        owner = callee.rpartition(".")[0]
        released = self.attrs_released.get(owner)
        if released is None:
            return True  # not a class of ours: cannot tell
        return "*" in released or bool(attrs & released) or bool(attrs & self.released_outside)

    def patches_of(self, callee: str) -> frozenset[str]:
        """Module attributes the project function (or method, found through the project's
        base classes) assigns: ``self.fakehttp(data)`` sets ``http.client.HTTPConnection``."""
        facts = self.functions.get(callee)
        if facts is not None:
            return facts.patches
        owner, _, method = callee.rpartition(".")
        todo, seen = [owner], set()
        while todo:
            current = todo.pop()
            klass = self.classes.get(current)
            if klass is None or current in seen:
                continue
            seen.add(current)
            facts = self.functions.get(f"{current}.{method}")
            if facts is not None:
                return facts.patches
            todo.extend(base for base in klass.bases if base is not None)
        return frozenset()

    def protocols(self, callee: str) -> frozenset[str] | None:
        """Which ``with`` a project context manager supports: {"sync"}, {"async"}, both;
        None when it is not the project's or a base class outside the project may add one."""
        kind = self.context_managers.get(callee)
        if kind is not None:
            return frozenset({kind})
        methods: set[str] = set()
        for name, facts in self.lineage(callee):
            if facts is None:
                if name in ("builtins.object", "typing.Generic"):
                    continue
                return None
            methods |= facts.methods
        supported = set()
        if {"__enter__", "__exit__"} <= methods:
            supported.add("sync")
        if {"__aenter__", "__aexit__"} <= methods:
            supported.add("async")
        return frozenset(supported) if supported else None

    def lineage(self, class_name: str) -> Iterator[tuple[str | None, ClassFacts | None]]:
        """The class and its bases, depth first in declaration order, each once: a name the
        project does not define (or None for a base that could not be resolved) comes with
        None and is not walked past. A cycle (``class Parser(Parser)`` misread, bases that
        name each other through aliases or star imports) ends where it closes."""
        return _lineage(class_name, self.classes)

    def released_by(self, class_name: str, method: str) -> frozenset[str]:
        """Attributes ``self.method()`` releases, directly or through other methods."""
        facts = self.classes.get(class_name)
        if facts is None:
            return frozenset()
        return frozenset().union(
            *(facts.method_releases.get(m, frozenset()) for m in _runs(facts, method))
        )

    def acquired_by(self, class_name: str, method: str) -> dict[str, frozenset[str]]:
        """What ``self.method()`` stores on self, directly or through the methods of self it
        calls: attr -> the qualified names of the calls stored there. In ``__init__``,
        ``self.open()`` whose ``open()`` does ``self.lock = Lock(p).acquire()`` takes the lock
        onto a half-built object (leakfixes LF048, borg's ``Cache``)."""
        facts = self.classes.get(class_name)
        if facts is None:
            return {}
        out: dict[str, set[str]] = {}
        for current in _runs(facts, method):
            for attr, callees in facts.method_attr_stores.get(current, {}).items():
                out.setdefault(attr, set()).update(callees)
        return {attr: frozenset(callees) for attr, callees in out.items()}

    def released_elsewhere(self, class_name: str, attr: str, method: str) -> bool:
        """Might anything but ``method`` of the class release ``self.attr`` or take it: another
        of its methods (releasing it, or handing it on), a method of a base class, or code
        outside the class (``client.sock.close()``)? A base outside the project might, unless
        it is one that touches no attribute of its subclasses (``unittest.TestCase``)."""
        if attr in self.released_outside:
            return True
        todo, seen = [class_name], set()
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            facts = self.classes.get(current)
            if facts is None:
                if current not in _BASES_KEEPING_NOTHING:
                    return True
                continue
            if any(
                attr in released and attr not in facts.method_refreshes.get(name, ())
                for name, released in facts.method_releases.items()
                if name != method or current != class_name
            ):
                return True  # (a method that makes its own and releases it releases not ours)
            if None in facts.bases:
                return True
            todo.extend(base for base in facts.bases if base is not None)
        return False

    def releases_attr(self, class_name: str, attr: str, resource: Resource) -> bool | None:
        """Does some method of the class (or of its project bases) release ``self.attr``?
        None when a base class is outside the project: it might."""
        if class_name not in self.classes or attr in self.released_outside:
            return None  # ``client.listening_sock.close()`` elsewhere: its users release it
        releasing = set(resource.release) | set(resource.return_to) | {"__exit__", "__aexit__"}
        for name, facts in self.lineage(class_name):
            if facts is None:
                if name in _PLAIN_BASES:
                    continue
                return None
            if attr in facts.handed or facts.attr_calls.get(attr, frozenset()) & releasing:
                return True
        return False


#: Project functions followed from one call by ``Project.returned_types``.
_MAX_RETURN_CHAIN = 16


def _returned_types(functions: Mapping[str, FunctionFacts], callee: str) -> list[str]:
    """``Project.returned_types``: the return annotations, then what is returned, of
    ``callee`` and of the project functions it returns the results of."""
    out: list[str] = []
    seen: set[str] = set()
    todo = [callee]
    while todo and len(seen) < _MAX_RETURN_CHAIN:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        facts = functions.get(name)
        if facts is None:
            if name != callee:
                out.append(name)
            continue
        if facts.return_annotation:
            out.append(facts.return_annotation)
        todo.extend(sorted(facts.returns, reverse=True))
    return out

#: Bases outside the project with no methods of their own that could release a subclass's
#: attribute (LL120 looks past them).
_PLAIN_BASES = frozenset({"builtins.object", "builtins.Exception", "typing.Generic"})
#: Bases outside the project that never release an attribute a subclass stores: the plain
#: ones, and unittest's test cases (whose tearDown is the subclass's to write).
_BASES_KEEPING_NOTHING = _PLAIN_BASES | {
    "unittest.TestCase",
    "unittest.IsolatedAsyncioTestCase",
    "unittest.case.TestCase",
    "unittest.async_case.IsolatedAsyncioTestCase",
}


def build_project(
    modules: Iterable[ModuleFacts],
    registry: Registry,
    syntax_errors: Mapping[str, tuple[int, int, str]] | None = None,
    paths: Iterable[str] = (),
) -> Project:
    """Close the facts to a fixed point: factories of factories, classes owning resources."""
    functions: dict[str, FunctionFacts] = {}
    classes: dict[str, ClassFacts] = {}
    ambiguous: set[str] = set()
    modules = list(modules)
    for module in modules:
        for facts in module.functions:
            if facts.qualname in functions:
                ambiguous.add(facts.qualname)
            functions[facts.qualname] = facts
        for cls in module.classes:
            if cls.qualname in classes:
                ambiguous.add(cls.qualname)
            classes[cls.qualname] = cls
    for name in ambiguous:  # two files claim one module name: trust neither
        functions.pop(name, None)
        classes.pop(name, None)
    known = dict(registry.by_name)
    aliases = {name: target for module in modules for name, target in module.exports}
    closed_types = frozenset().union(*(m.closed_types for m in modules)) | {
        callee
        for cls in classes.values()
        for attr, methods in cls.attr_calls.items()
        if any(map(closes, methods))
        for callee in cls.stores.get(attr, ())
    }
    changed = True
    while changed:
        changed = False
        for facts in functions.values():
            if facts.qualname in known:
                continue
            # a type only (``tracked = false``: a path, a lock, an engine) is no resource to
            # hand out: ``return Path(d)`` makes no factory
            source = next((c for c in sorted(facts.returns) if c in known and known[c].tracked), None)
            if source is not None:
                known[facts.qualname] = _derived(facts, known[source], facts.returns[source])
                changed = True
            elif facts.tuple_returns:
                resource = _tuple_factory(facts, known)
                if resource is not None:
                    known[facts.qualname] = resource
                    changed = True
        for cls in classes.values():
            if cls.qualname in known:
                continue
            resource = (
                _class_resource(cls, known)
                or _closing_class(cls, known, (functions, classes), closed_types)
                or _inherited_resource(cls, known, classes, aliases, registry)
            )
            if resource is not None:
                known[cls.qualname] = resource
                changed = True
    never_returning = _never_returning(functions, classes)
    for name in never_returning:
        if not functions[name].never_returns:
            functions[name] = dataclasses.replace(functions[name], never_returns=True)
    derived: dict[str, set[str]] = {}  # module -> names of its project factories
    nested: dict[str, set[str]] = {}  # module -> those defined in its functions: its own
    # types with a method entry (``redis.ConnectionPool`` of ``....get_connection``): a
    # function returning one (``def pool() -> ConnectionPool``) starts acquisitions too
    receivers = {name.rpartition(".")[0] for name in known} & (known.keys() | classes.keys())
    for module in modules:
        for facts in (*module.functions, *module.classes):
            if facts.qualname in known and facts.qualname not in registry.by_name or (
                isinstance(facts, FunctionFacts)
                and not receivers.isdisjoint(_returned_types(functions, facts.qualname))
            ):
                short = facts.qualname.rsplit(".", 1)[-1]
                # ``f.<locals>.make``: no other module can import it
                found = nested if _LOCALS in facts.qualname else derived
                found.setdefault(module.module, set()).add(short)
        for name, typed in module.global_types:
            # ``POOL = redis.ConnectionPool()``: ``mod.POOL.get_connection()`` elsewhere
            if typed in receivers:
                derived.setdefault(module.module, set()).add(name.rsplit(".", 1)[-1])
    triggers = {}
    for module in modules:
        names = derived.get(module.module, set()) | nested.get(module.module, set())
        for imported in module.imports:
            names |= derived.get(imported, set())
        if names:
            triggers[os.path.normpath(module.path)] = frozenset(names)
    return Project(
        Registry(known),
        functions,
        classes,
        syntax_errors=dict(syntax_errors or {}),
        paths=frozenset(paths),
        file_triggers=triggers,
        context_managers={
            name: kind for module in modules for name, kind in module.context_managers
        },
        released_outside=frozenset().union(*(m.released_outside for m in modules)),
        never_returning=frozenset(never_returning),
        attrs_released=_attrs_released(classes),
        imported=frozenset(name for module in modules for name in module.imports),
        fixture_mocks=_fixture_mocks_by_name(modules),
        session_closed={
            os.path.dirname(os.path.abspath(module.path)): module.session_closed
            for module in modules
            if module.session_closed
        },
        aliases=aliases,
        global_types=_merged(pair for module in modules for pair in module.global_types),
        method_names=frozenset(m for cls in classes.values() for m in cls.methods),
    )


def _merged(pairs: Iterable[tuple[str, str]]) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for name, value in pairs:
        out.setdefault(name, set()).add(value)
    return {name: frozenset(values) for name, values in out.items()}


def _fixture_mocks_by_name(modules: list[ModuleFacts]) -> dict[str, frozenset[str]]:
    """``Project.fixture_mocks``: a fixture's patches, by its name (pytest finds a fixture by
    the name a test asks for, through conftest files, not imports)."""
    out: dict[str, set[str]] = {}
    for module in modules:
        for name, mocks in module.fixture_mocks:
            out.setdefault(name, set()).update(mocks)
    return {name: frozenset(mocks) for name, mocks in out.items()}


def _attrs_released(classes: Mapping[str, ClassFacts]) -> dict[str, frozenset[str]]:
    """``Project.attrs_released``: what each class releases or hands on of self, with what its
    project bases and its subclasses do (a subclass's close() may close what __init__ kept)."""
    out: dict[str, set[str]] = {name: set() for name in classes}
    lineages = {name: list(_lineage(name, classes)) for name in classes}
    owns: dict[str, set[str]] = {}
    for name, facts in classes.items():
        own = {
            attr for attr, methods in facts.attr_calls.items() if any(map(is_releasing, methods))
        } | set(facts.handed)
        owns[name] = own
        lineage = lineages[name]
        if any(f is None and n not in _BASES_KEEPING_NOTHING for n, f in lineage):
            own.add("*")
        for ancestor, ancestor_facts in lineage:
            if ancestor_facts is not None and ancestor is not None:
                out[ancestor] |= own
    # and what its bases' own methods release: a mixin's ``close()`` (``self.file.close()``)
    # is the subclass's too (django's ``File(FileProxyMixin)``: ``File(open(p))`` keeps it)
    for name in classes:
        for ancestor, ancestor_facts in lineages[name]:
            if ancestor_facts is not None and ancestor in owns:
                out[name] |= owns[ancestor]
    return {name: frozenset(attrs) for name, attrs in out.items()}


def _lineage(
    class_name: str, classes: Mapping[str, ClassFacts]
) -> Iterator[tuple[str | None, ClassFacts | None]]:
    """The class and its bases, each once (see ``Project.lineage``)."""
    seen: set[str] = set()
    todo: list[str | None] = [class_name]
    while todo:
        name = todo.pop()
        if name is not None:
            if name in seen:
                continue
            seen.add(name)
        facts = classes.get(name) if name is not None else None
        yield name, facts
        if facts is not None:
            todo.extend(reversed(facts.bases))


def _derived(facts: FunctionFacts, inner: Resource, line: int) -> Resource:
    """The resource a project factory returns: what it returns it from, relabelled. A lazy
    one (``opens-on``, and no ``acquire-when`` that may have opened it at the call) stays lazy
    unless the factory itself calls a method that opens it (``c = Client(); c.connect()``)."""
    origin = inner.origin or f"{inner.display} at {Path(facts.path).name}:{line}"
    lazy = bool(inner.opens_on) and not inner.acquire_when and not (
        facts.local_calls & set(inner.opens_on)
    )
    return Resource(
        qualname=facts.qualname,
        kind=inner.kind,
        release=inner.release,
        cm_closes=inner.cm_closes,
        is_async=inner.is_async,
        # which releases are coroutines (asyncssh's close() is not, wait_closed() is)
        coroutine_release=inner.coroutine_release,
        unpack=inner.unpack,
        origin=origin,
        # a test that patches what it really makes (``builtins.open = fake``) patches it too
        uses=(*inner.uses, inner.qualname) if not inner.origin else inner.uses,
        opens_on=inner.opens_on if lazy else (),
        opens_on_attrs=inner.opens_on_attrs if lazy else (),
        owns_arguments=_taken_arguments(facts),
        finalised=inner.finalised,
    )


def _tuple_factory(facts: FunctionFacts, known: Mapping[str, Resource]) -> Resource | None:
    """A project function returning a fresh resource inside a tuple (``return stream,
    name``): a factory whose result unpacks, its ``unpack`` the indexes of the elements that
    hold one (of the first kind found: one release for all)."""
    held = [
        (index, callee, line)
        for index, callee, line in facts.tuple_returns
        if callee in known and known[callee].tracked and not known[callee].unpack
    ]
    if not held:
        return None
    _, first, line = held[0]
    inner = known[first]
    indexes = sorted(
        {i for i, c, _ in held if (known[c].kind, known[c].release) == (inner.kind, inner.release)}
    )
    return dataclasses.replace(_derived(facts, inner, line), unpack=tuple(indexes))


def _taken_arguments(facts: FunctionFacts) -> tuple[str, ...]:
    """A project factory's parameters it keeps (``def wrap(fd): return open(fd)``), as the
    registry's ``owns-arguments`` names them: by keyword, and by position (``@0``; a method's
    first parameter is its object, not an argument)."""
    params = facts.params[1:] if facts.is_method else facts.params
    return tuple(
        name
        for index, param in enumerate(params)
        if param in facts.takes
        for name in (param, f"@{index}")
    )


#: What a function's qualified name holds when it is defined in another function.
_LOCALS = locals_of("")


def _runs(facts: ClassFacts, method: str) -> list[str]:
    """``method`` and the methods of self it calls, directly or through others, each once."""
    out: list[str] = []
    todo, seen = [method], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        out.append(current)
        todo.extend(facts.method_calls.get(current, ()))
    return out


def _class_resource(cls: ClassFacts, known: Mapping[str, Resource]) -> Resource | None:
    """A class that stores a resource on self and has a public method releasing it. It
    acquires where it really does: at construction when ``__init__`` (or what it calls,
    ``__new__``, ``__post_init__``) stores one; else in the methods that store one, and those
    that call them (``connect()``, a query() that connects on first use): its
    ``opens-on``, as the registry says of ``HTTPConnection``."""

    def fresh(callee: str) -> bool:
        return callee in known and known[callee].tracked and known[callee].qualname != cls.qualname

    held = _held(cls)
    owned = {attr for attr, callees in held.items() if any(fresh(c) for c in callees)}
    if not owned:
        return None
    releasing = {m for m, attrs in cls.method_releases.items() if attrs & owned}
    inner = next(
        known[c]
        for attr in sorted(owned)
        for c in sorted(held[attr])
        if c in known and known[c].tracked
    )
    return _owning_class(cls, known, owned, releasing, fresh, f"owns a {inner.kind}")


def _inherited_resource(
    cls: ClassFacts,
    known: Mapping[str, Resource],
    classes: Mapping[str, ClassFacts],
    aliases: Mapping[str, str],
    registry: Registry,
) -> Resource | None:
    """A subclass of a project class that is a resource type is one too, released the same
    way (beets' ``Library(Database)``): what the base's constructor keeps, it keeps. (Not of
    a class the registry knows, whose subclasses it lists itself: ``ssl.SSLSocket``.)"""
    base = cls.bases[0] if cls.bases else None
    for _ in range(8):  # ``from .db import Database`` in the package: where it is defined
        if base is None or base in classes or base not in aliases:
            break
        base = aliases[base]
    if (
        base is None
        or base not in classes
        or base not in known
        or base in registry.by_name
        or not known[base].tracked
    ):
        return None
    inherited = known[base]
    short = base.rsplit(".", 1)[-1]
    return dataclasses.replace(
        inherited,
        qualname=cls.qualname,
        kind=cls.qualname.rsplit(".", 1)[-1],
        origin=f"a {short}, {Path(cls.path).name}:{cls.line}",
    )


def _held(cls: ClassFacts) -> dict[str, set[str]]:
    """attr -> the calls whose results the class keeps there: stored on it, or put into the
    container it holds (``ClassFacts.element_stores``)."""
    out = {attr: set(callees) for attr, callees in cls.stores.items()}
    for attr, callees in cls.element_stores.items():
        out.setdefault(attr, set()).update(callees)
    return out


def _closing_class(
    cls: ClassFacts,
    known: Mapping[str, Resource],
    project: tuple[Mapping[str, FunctionFacts], Mapping[str, ClassFacts]],
    closed_types: frozenset[str],
) -> Resource | None:
    """A class whose ``close()`` (``aclose``, ``__exit__``, ...) closes an attribute the
    registry does not know (a dataset, a trigger, a client of a library it has no entry for):
    a resource type when the attribute is made by a call that could hold one (not a builtin,
    nor a class or function of the project the summaries know holds nothing). When the
    project's own code closes its instances (``r = Resolver(); r.close()``, ``with
    Notary(k) as n``), one released only by ``__exit__`` is one too. An attribute only ever
    given from outside (``closing(thing)``, a parser's target) is a wrapper's, no evidence. A ``close()``
    that only flips a flag or clears a list closes no attribute and is no evidence."""
    releasing_methods = {
        m for m in cls.methods if m in _CLOSING_METHODS or (not m.startswith("_") and closes(m))
    }
    if not releasing_methods:
        return None
    functions, classes = project

    def opaque(callee: str, depth: int = 0) -> bool:
        """Could what ``callee`` returns hold something outside the heap?"""
        if callee in known:
            return known[callee].tracked and known[callee].qualname != cls.qualname
        if (
            callee.startswith(("builtins.", f"{cls.qualname}."))  # (``self.Delegator()``)
            or callee in _IN_MEMORY
            or callee in classes
            or depth > 3
        ):
            return False
        facts = functions.get(callee)
        if facts is not None:
            return any(opaque(c, depth + 1) for c in facts.returns)
        return True

    used_as_resource = cls.qualname in closed_types
    closing = _callees_of(releasing_methods, cls)
    owned: set[str] = set()
    for method in closing:
        for attr in cls.method_closes.get(method, ()):
            # (an attribute only ever given from outside, ``self.thing = thing``, is a
            # wrapper's: ``closing(f)``, a parser's target, a view of a caller's stream)
            if any(opaque(c) for c in cls.stores.get(attr, ())):
                owned.add(attr)
    if not owned:
        return None
    releasing = {m for m, attrs in cls.method_closes.items() if attrs & owned}
    name = sorted(owned)[0]
    resource = _owning_class(
        cls,
        known,
        owned,
        releasing,
        lambda callee: opaque(callee) and any(callee in cls.stores.get(a, ()) for a in owned),
        f"closes self.{name}",
        # ``with Notary(k) as n`` in the project: a class released only by its ``with``
        allow_context_manager_only=used_as_resource,
    )
    init = functions.get(f"{cls.qualname}.__init__")
    if resource is None or init is None:
        return resource
    # ``_dispatcher(socket.socket())``: what its constructor keeps, it owns from then on
    owns = tuple(
        key
        for position, param in enumerate(init.params[1:])
        if param in init.takes
        for key in (f"@{position}", param)
    )
    return dataclasses.replace(resource, owns_arguments=owns) if owns else resource


#: Objects that hold nothing outside the heap, whatever their close() does.
_IN_MEMORY = frozenset(
    {"io.BytesIO", "io.StringIO", "_io.BytesIO", "_io.StringIO", "collections.deque",
     "queue.Queue", "queue.SimpleQueue", "asyncio.Queue", "threading.Event", "asyncio.Event"}
)
#: The methods that release an object of a project class (besides public ones that close).
_CLOSING_METHODS = frozenset({"close", "aclose", "__exit__", "__aexit__"})


def _callees_of(methods: set[str], cls: ClassFacts) -> set[str]:
    """``methods`` and the methods of the class they call, however indirectly."""
    out, todo = set(), list(methods)
    while todo:
        method = todo.pop()
        if method not in out:
            out.add(method)
            todo.extend(cls.method_calls.get(method, ()))
    return out


def _owning_class(
    cls: ClassFacts,
    known: Mapping[str, Resource],
    owned: set[str],
    releasing_methods: set[str],
    fresh: Callable[[str], bool],
    holds: str,
    allow_context_manager_only: bool = False,
) -> Resource | None:
    """The resource a class owning ``owned`` is, released by its public methods among
    ``releasing_methods`` and those calling them, acquired where ``fresh`` calls are stored."""
    releasing = _callers_of(releasing_methods, cls)
    public = tuple(
        sorted(
            m
            for m in releasing
            if (not m.startswith("_") and (m in _RELEASE_METHOD_NAMES or m.endswith("close")))
        )
    )
    is_context_manager = "__exit__" in cls.methods or "__aexit__" in cls.methods
    if not public and not is_context_manager:
        # none public, no ``with``: its private release method is its contract (beets'
        # ``Database._close()`` closes the connections it keeps per thread; callers call it)
        public = tuple(
            sorted(
                m for m in releasing
                if not _is_dunder(m) and m.lstrip("_") in _RELEASE_METHOD_NAMES
            )
        )
    if not public and not (
        allow_context_manager_only and releasing & {"__exit__", "__aexit__"}
    ):
        return None
    short = cls.qualname.rsplit(".", 1)[-1]
    acquiring = {m for m, callees in cls.method_stores.items() if any(fresh(c) for c in callees)}
    opening = _callers_of(acquiring, cls)
    lazy = (
        bool(opening)
        and not (opening & _CONSTRUCTORS)
        # ``for line in f`` opens a lazy reader through ``__next__``: a use the obligation
        # analysis does not see as a call, so such a class holds from construction on
        and not any(_is_dunder(m) and m not in ("__enter__", "__aenter__") for m in opening)
        and _constructor_is_own(cls, known)
    )
    if lazy and all(m.startswith("_") for m in opening):
        # it opens only in private methods (beets' ``Database._connection()``), reached through
        # helpers of other objects the summaries do not follow (``with self.transaction()``):
        # any public method may be the one that opens it
        opening |= {m for m in cls.methods if not m.startswith("_") and m not in public}
    return Resource(
        qualname=cls.qualname,
        kind=short,
        release=public,
        # the class's own context manager is trusted (LL162 checks what __exit__ does)
        cm_closes=is_context_manager,
        origin=f"{holds}, {Path(cls.path).name}:{cls.line}",
        opens_on=tuple(sorted(opening)) if lazy else (),
        # ``client.sock = FakeSocket()``: given what it would have opened, it holds nothing
        opens_on_attrs=tuple(sorted(owned)) if lazy else (),
    )


#: The methods that run when a class is called.
_CONSTRUCTORS = frozenset({"__init__", "__new__", "__post_init__"})


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _callers_of(methods: set[str], cls: ClassFacts) -> set[str]:
    """``methods`` and the methods of the class that call one of them, however indirectly."""
    out = set(methods)
    grew = True
    while grew:
        grew = False
        for method, calls in cls.method_calls.items():
            if method not in out and calls & out:
                out.add(method)
                grew = True
    return out


def _constructor_is_own(cls: ClassFacts, known: Mapping[str, Resource]) -> bool:
    """Is what runs at construction the class's own, or a base's that acquires nothing? A
    base the summaries know as a resource (one that opens at construction), or one outside
    the project whose ``__init__`` the class inherits, may acquire."""
    for base in cls.bases:
        if base is None or base in _PLAIN_BASES:
            continue
        resource = known.get(base)
        if resource is not None and resource.tracked and not resource.opens_on:
            return False
        if base not in known and not (cls.methods & _CONSTRUCTORS):
            return False
    return True


