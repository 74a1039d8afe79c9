"""Which project functions are factories and which project classes are resource types, as
``Resource`` entries like the registry's: a factory returns what it returns relabelled
(``_derived``, ``_tuple_factory``); a class owns what it stores on self and releases in a
public method (``_class_resource``), closes an attribute the registry does not know
(``_closing_class``) or inherits from a project class that is one (``_inherited_resource``).
``summaries.build_project`` asks these until nothing changes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path

from leaklint.analysis.facts import ClassFacts, FunctionFacts
from leaklint.analysis.syntax import closes
from leaklint.resources import Registry, Resource, argument_place, borrow_condition_met

#: Public method names that release the object (besides any method that closes what it owns).
_RELEASE_METHOD_NAMES = ("close", "aclose", "shutdown", "stop", "release", "cleanup", "dispose")


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


def _derived(facts: FunctionFacts, inner: Resource, line: int) -> Resource:
    """The resource a project factory returns: what it returns it from, relabelled. A lazy
    one (``opens-on``, and no ``acquire-when`` that may have opened it at the call) stays lazy
    unless the factory itself calls a method that opens it (``c = Client(); c.connect()``)."""
    origin = inner.origin or f"{inner.display} at {Path(facts.path).name}:{line}"
    lazy = bool(inner.opens_on) and not inner.acquire_when and not any(
        inner.opened_by(call) for call in facts.local_calls
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


def _wraps_borrowed(inner: Resource, facts: FunctionFacts, callee: str) -> bool:
    """Does every returned call of ``callee`` in the function borrow what it is given, by
    the registry's ``borrow-when`` (``return Image.open(fp=buf)`` of a ``buf: IO[bytes]``:
    the image holds its caller's file object, not a file of its own; first contact round
    15, pypdf)? Then the function hands out no resource of its own."""
    calls = facts.source_args.get(callee)
    if not inner.borrow_when or not calls:
        return False
    return all(_call_borrows(inner.borrow_when, args) for args in calls)


def _call_borrows(conditions: tuple[str, ...], args: tuple[tuple[str, str], ...]) -> bool:
    """``cst_questions._borrows`` over arguments recorded as text
    (``FunctionFacts.source_args``)."""
    given = dict(args)

    def text_of(where: str) -> str | None:
        keyword, index = argument_place(where)
        text = given.get(keyword) if keyword else None
        return given.get(f"@{index}") if text is None and index is not None else text

    return any(borrow_condition_met(condition, text_of) for condition in conditions)


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
    releasers = tuple(pair for pair in facts.tuple_releasers if pair[1] in indexes)
    return dataclasses.replace(
        _derived(facts, inner, line), unpack=tuple(indexes), unpack_releasers=releasers
    )


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
    base = _defined(cls.bases[0] if cls.bases else None, classes, aliases)
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
    if inherited.opens_on and _callers_of(set(inherited.opens_on), cls) & _CONSTRUCTORS:
        # a lazy base whose subclass opens it at construction (``self._make_tables()``)
        inherited = dataclasses.replace(inherited, opens_on=(), opens_on_attrs=())
    return dataclasses.replace(
        inherited,
        qualname=cls.qualname,
        kind=cls.qualname.rsplit(".", 1)[-1],
        origin=f"a {short}, {Path(cls.path).name}:{cls.line}",
    )


def _defined(
    name: str | None, classes: Mapping[str, ClassFacts], aliases: Mapping[str, str]
) -> str | None:
    """Where the class a base names is defined, through the package's re-exports
    (``from .db import Database``)."""
    for _ in range(8):
        if name is None or name in classes or name not in aliases:
            break
        name = aliases[name]
    return name


def _with_inherited_exit(
    resource: Resource,
    cls: ClassFacts,
    classes: Mapping[str, ClassFacts],
    aliases: Mapping[str, str],
) -> Resource:
    """A class with no ``__exit__`` of its own whose project base's ``__exit__`` calls a
    method that releases it (``BaseRemoteMachine.__exit__`` calls ``self.close()``, which
    ``ParamikoMachine`` overrides to close its client): its ``with`` releases it (first
    contact round 15, plumbum)."""
    if resource.cm_closes or {"__exit__", "__aexit__"} & cls.methods:
        return resource
    todo, seen = list(cls.bases), set()
    while todo:
        base = _defined(todo.pop(0), classes, aliases)
        if base is None or base in seen or base not in classes:
            continue
        seen.add(base)
        facts = classes[base]
        exits = {"__exit__", "__aexit__"} & facts.methods
        if exits:
            calls = set().union(*(facts.method_calls.get(m, ()) for m in exits))
            if calls & set(resource.release):
                return dataclasses.replace(resource, cm_closes=True)
            return resource
        todo.extend(facts.bases)
    return resource


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


def _closed_by(method: str, cls: ClassFacts) -> set[str]:
    """The attributes of self ``method`` closes (``self._file.close()``), itself or through
    the methods of the class it calls."""
    return {attr for m in _callees_of({method}, cls) for attr in cls.method_closes.get(m, ())}


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
    acquiring = {m for m, callees in cls.method_stores.items() if any(fresh(c) for c in callees)}
    opening = _callers_of(acquiring, cls)
    # a public method of another name that closes all it owns and opens nothing again
    # releases it too (dulwich's ``_GitFile.abort()`` beside close(), first contact round 13;
    # twisted's ``Request.connectionLost()`` beside ``_cleanup()``), where the class is a
    # resource type by the rest
    closing_all = tuple(
        sorted(
            m
            for m in releasing
            if not m.startswith("_")
            and m not in public
            and m not in opening
            and owned <= _closed_by(m, cls)
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
    if not public:
        # released by its ``with``, whose ``__exit__`` calls a private release method: that
        # method releases it too (pyro5's ``Proxy._pyroRelease()``, first contact round 14)
        exits = set().union(*(cls.method_calls.get(m, ()) for m in ("__exit__", "__aexit__")))
        public = tuple(sorted(m for m in releasing & exits if not _is_dunder(m)))
    public += tuple(m for m in closing_all if m not in public)
    short = cls.qualname.rsplit(".", 1)[-1]
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
        # and the methods calling those: a constructor that runs ``self.transaction()`` (beets'
        # ``Database.__init__`` makes its tables) opens it at construction after all
        opening = _callers_of(opening, cls)
        lazy = not (opening & _CONSTRUCTORS)
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
