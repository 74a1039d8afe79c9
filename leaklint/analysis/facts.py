"""The facts the summary pass records of each module, as values that are cached on disk and
sent to worker processes: what a function does with its parameters and returns
(``FunctionFacts``), what a class keeps on self and releases (``ClassFacts``), and a
module's of both (``ModuleFacts``); where a module lives (``module_name``, ``module_file``).

Read from the code by ``module_reader``; closed over the project by ``summaries.build_project``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class FunctionFacts:
    qualname: str
    path: str
    line: int
    returns: Mapping[str, int]  # qualified names of the calls it may return -> their line
    params: tuple[str, ...]
    takes: frozenset[str]  # parameters it releases or keeps (stores, returns, closes)
    #: parameters it keeps only on attributes of self (``self.file = fileobj``) -> those
    #: attributes: the object takes them over only if something releases the attribute
    param_attrs: Mapping[str, frozenset[str]] = field(default_factory=dict)
    is_method: bool = False
    # module attributes it assigns (``http.client.HTTPConnection = Fake``): a test's patch
    patches: frozenset[str] = frozenset()
    #: methods it calls on its local names (``conn.connect()``): does it open what it returns?
    local_calls: frozenset[str] = frozenset()
    #: when it never returns: each clause a set of project callees that, if none of them
    #: returns, end every path (a call on each path: ``module.fail_json()``); the empty
    #: clause: never, whatever they do (it always raises, ``sys.exit()``, ``-> NoReturn``)
    ends_unless: frozenset[frozenset[str]] = frozenset()
    #: it never returns (set by ``build_project`` once callees are known)
    never_returns: bool = False
    #: its return annotation, resolved (``-> redis.ConnectionPool``): the type of what it
    #: returns, fresh or kept (see ``Project.returned_types``)
    return_annotation: str | None = None
    #: what the tuples it returns hold (``return stream, name``): (index, qualified name of
    #: the call that made the element, its line); the caller's ``f, n = ...`` owns element 0
    tuple_returns: tuple[tuple[int, str, int], ...] = ()
    #: which elements of those tuples release which others (``return f, commit, abort`` of
    #: nested functions that close f): (index of the releasing callable, index it releases)
    tuple_releasers: tuple[tuple[int, int], ...] = ()
    #: parameter -> what it reads it to the end with (``text``, ``read()``): what its
    #: caller passes gets those uses (``WebHdfsException.from_response(resp)`` reads resp.text)
    drains: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: no call of it raises but by a caller's error: its body runs inside a ``try`` whose
    #: ``except Exception`` (or wider) handler returns quietly, beside only plain statements
    #: (``_ioctl_GWINSZ(fd)``: ``try: ... except Exception: return None``)
    catches_all: bool = False
    #: callee it returns -> the arguments of each returned call of it, as (``kw`` or ``@N``,
    #: text) pairs: ``return Image.open(fp=buf)`` of a ``buf: IO[bytes]`` wraps a file
    #: object its caller owns (the registry's ``borrow-when``), and hands out nothing
    source_args: Mapping[str, tuple[tuple[tuple[str, str], ...], ...]] = field(default_factory=dict)
    #: a method that gives its own object back on every path (``return self``, a builder's
    #: ``with_middlewares()``): ``Broker().with_x()`` is still the new broker
    returns_self: bool = False


@dataclass(frozen=True, slots=True)
class ClassFacts:
    qualname: str
    path: str
    line: int
    bases: tuple[str | None, ...]  # resolved base classes; None where unknown
    stores: Mapping[str, frozenset[str]]  # self.attr -> qualified names of calls stored there
    attr_calls: Mapping[str, frozenset[str]]  # self.attr -> methods called on it
    handed: frozenset[str]  # attrs passed, returned or aliased somewhere: trusted as released
    method_releases: Mapping[str, frozenset[str]]  # method -> attrs it calls methods on
    method_calls: Mapping[str, frozenset[str]]  # method -> self.methods it calls
    methods: frozenset[str]
    #: method -> attrs it stores before it mentions them otherwise: what it releases of them
    #: is what it made itself (``self.d = dbm.open(p)`` ... ``self.d.close()``)
    method_refreshes: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: method -> qualified names of the calls it stores on self: which methods acquire
    method_stores: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: method -> attr of self -> qualified names of the calls it stores there, ``F.m`` for
    #: ``F(...).m()`` (``def open(self): self.lock = Lock(p).acquire()``): see
    #: ``Project.acquired_by``
    method_attr_stores: Mapping[str, Mapping[str, frozenset[str]]] = field(default_factory=dict)
    #: method -> attrs of self it closes (``self._ds.close()``, ``self._t.shutdown()``):
    #: a close-like call, not a lock's ``release()``, not a hand-over
    method_closes: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: method -> attrs of self it assigns, whatever the value (``self._locked = False``):
    #: a flag on self a caller set may be reset by it (``_ScopeAnalyser.flag_reset_elsewhere``)
    method_assigns: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: attr -> what its type is known from, besides ``stores``: the class body
    #: (``lock = Lock()``, ``pool: ConnectionPool``), a dataclass field's
    #: ``default_factory``, ``self.x: T`` in a method. Types only: the class owns none of it
    attr_types: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: attr -> the factories of the values of the container it holds
    #: (``self._locks = defaultdict(threading.Lock)``, ``{k: Lock() for k in ks}``)
    attr_elements: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: attr -> the calls whose results a method puts into the container it holds
    #: (``self._conns[key] = sqlite3.connect(p)``, ``self._socks.append(s)``): the class owns
    #: them as it owns what it stores on an attribute
    element_stores: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ModuleFacts:
    path: str
    module: str
    functions: tuple[FunctionFacts, ...] = ()
    classes: tuple[ClassFacts, ...] = ()
    imports: tuple[str, ...] = ()  # absolute names of the modules it imports from
    root: str = ""  # the folder its top-level package (or the module itself) sits in
    #: ``@contextmanager`` / ``@asynccontextmanager`` functions: qualname -> "sync" | "async"
    context_managers: tuple[tuple[str, str], ...] = ()
    #: attributes released through another object: ``client.listening_sock.close()``
    released_outside: frozenset[str] = frozenset()
    #: callees whose results this module's code treats as things to close: closed
    #: (``r = Resolver(); r.close()``), entered (``with Notary(k) as n``) or stored on self
    #: and closed there (``self.r = Resolver()`` ... ``self.r.close()``)
    closed_types: frozenset[str] = frozenset()
    #: classes a conftest's autouse fixture tracks and closes after each test
    #: (``_closed_by_an_autouse_fixture``)
    session_closed: frozenset[str] = frozenset()
    #: names bound at module level by ``from x import y [as z]``: ``(f"{module}.z", "x.y")``,
    #: so ``tqdm.tqdm`` is known as the class ``tqdm.std.tqdm`` its package re-exports
    exports: tuple[tuple[str, str], ...] = ()
    #: module-level ``POOL = redis.ConnectionPool(...)`` / ``POOL: ConnectionPool``:
    #: (``f"{module}.POOL"``, the qualified name of its type), for ``mod.POOL.get_connection()``
    #: in other modules
    global_types: tuple[tuple[str, str], ...] = ()
    #: pytest fixtures that patch with ``mock.patch("a.b.C")``: (fixture name, the last
    #: names patched), for the tests that ask for them (``_fixture_mocks``)
    fixture_mocks: tuple[tuple[str, frozenset[str]], ...] = ()


def module_name(path: str) -> tuple[str, bool]:
    """Dotted module name from the package folders above ``path``; and is it a package?"""
    name, is_package, _ = _module_location(path)
    return name, is_package


def _module_location(path: str) -> tuple[str, bool, Path]:
    file = Path(path).resolve()
    is_package = file.stem == "__init__"
    parts = [] if is_package else [file.stem]
    folder = file.parent
    while (folder / "__init__.py").exists():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts) or file.stem, is_package, folder


def module_file(root: str, module: str) -> str | None:
    """Where ``module`` lives below ``root``, the way an import from that root finds it."""
    base = Path(root, *module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return str(candidate)
    return None
