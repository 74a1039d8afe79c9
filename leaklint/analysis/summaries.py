"""Project summaries: which functions of the run are factories, which classes own resources.

Computed before the obligation analysis from CPython's ``ast`` (a tenth of libcst's cost),
for every file of the run, then closed to a fixed point so chains of helpers work:
``get_conn()`` returning ``_connect()`` returning ``sqlite3.connect()`` is a factory of
connections, and ``Database`` storing one on ``self`` and closing it in ``close()`` is a
resource type whose instances must be closed.

What is recorded is syntactic and flow-insensitive; the flow-sensitive part stays in the
obligation analysis, which treats a project factory like any entry of the registry.

This module holds the project (``Project``, and ``build_project``, which closes the facts of
every module); what lives where:

- ``facts``: the facts recorded of each module (``FunctionFacts``, ``ClassFacts``,
  ``ModuleFacts``) and where a module lives;
- ``syntax``: walks of CPython's ``ast``, the import table, ``is_releasing``/``closes``;
- ``function_reader``: one function body read; ``module_reader``: one module read
  (classes, nested functions, fixtures), ``facts_of_source``;
- ``never_returning``: functions that never return, from a body and over the project;
- ``project_resources``: which project functions are factories and which classes are
  resource types.

The names others import from here are re-exported below (``__all__``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from leaklint.analysis.facts import (
    ClassFacts,
    FunctionFacts,
    ModuleFacts,
    module_file,
    module_name,
)
from leaklint.analysis.function_reader import DEFAULTING_CONTAINERS
from leaklint.analysis.module_reader import (
    _chain_too_long,
    facts_of_source,
    module_facts,
)
from leaklint.analysis.names import locals_of
from leaklint.analysis.never_returning import _never_returning, _never_returns
from leaklint.analysis.project_resources import (
    _BASES_KEEPING_NOTHING,
    _PLAIN_BASES,
    _class_resource,
    _closing_class,
    _derived,
    _inherited_resource,
    _tuple_factory,
    _with_inherited_exit,
    _wraps_borrowed,
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

    def drains_argument(self, callee: str, index: int, keyword: str | None) -> frozenset[str]:
        """What project function ``callee`` reads this argument to its end with (``text``,
        ``read()``): ``raise Error.from_response(resp)`` of a ``from_response`` that reads
        ``resp.text`` does to resp what ``resp.text`` would (first contact round 14)."""
        facts = self.functions.get(callee)
        if facts is None or not facts.drains:
            return frozenset()
        if keyword is not None:
            return facts.drains.get(keyword, frozenset())
        position = index + (1 if facts.is_method else 0)
        if position >= len(facts.params):
            return frozenset()
        return facts.drains.get(facts.params[position], frozenset())

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
    derived_here: set[str] = set()
    while changed:
        changed = False
        for facts in functions.values():
            if facts.qualname in known and facts.qualname not in derived_here:
                continue
            # a type only (``tracked = false``: a path, a lock, an engine) is no resource to
            # hand out: ``return Path(d)`` makes no factory
            sources = [
                c
                for c in sorted(facts.returns)
                if c in known and known[c].tracked and not _wraps_borrowed(known[c], facts, c)
            ]
            if sources:
                # what one of several kinds releases releases it (``GitFile()`` returns a
                # file or a ``_GitFile`` whose ``abort()`` closes it too): first kind first
                resource = _derived(facts, known[sources[0]], facts.returns[sources[0]])
                release = tuple(dict.fromkeys(m for c in sources for m in known[c].release))
                resource = dataclasses.replace(resource, release=release)
                if known.get(facts.qualname) != resource:
                    known[facts.qualname] = resource
                    derived_here.add(facts.qualname)
                    changed = True
            elif facts.qualname in known:
                continue
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
                known[cls.qualname] = _with_inherited_exit(resource, cls, classes, aliases)
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


