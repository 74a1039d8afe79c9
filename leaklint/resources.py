"""The resource registry: which calls acquire a resource and what releases it.

The table itself is data (``resources.toml`` beside this module); users add their own
factories under ``[tool.leaklint.resources]`` in ``pyproject.toml`` with the same keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources as importlib_resources
from typing import Any

from leaklint._toml import tomllib

#: Past participles for messages: "`f` from open() is not closed on every path".
_VERBS = {
    "close": "closed",
    "aclose": "closed",
    "detach": "closed",
    "cleanup": "cleaned up",
    "shutdown": "shut down",
    "server_close": "closed",
    "wait": "waited for",
    "communicate": "waited for",
    "poll": "waited for",
    "terminate": "terminated",
    "quit": "closed",
    "logout": "closed",
    "clear": "cleared",
    "release": "released",
}

#: Registry entries whose object has no context manager at all (``with`` on it fails), so a
#: message never advises a ``with`` block for them: checked against the standard library
#: (no ``__enter__``/``__aenter__`` on 3.11), and for other packages their documented types.
_NO_CONTEXT_MANAGER = frozenset(
    {
        "http.client.HTTPConnection",
        "http.client.HTTPSConnection",
        "poplib.POP3",
        "poplib.POP3_SSL",
        "mailbox.mbox",
        "mailbox.MMDF",
        "mailbox.Babyl",
        "logging.FileHandler",
        "logging.handlers.RotatingFileHandler",
        "logging.handlers.TimedRotatingFileHandler",
        "logging.handlers.WatchedFileHandler",
        "logging.handlers.SysLogHandler",
        "asyncio.new_event_loop",
        "asyncio.open_connection",  # the StreamWriter it gives
        "asyncio.open_unix_connection",
        "asyncio.create_subprocess_exec",
        "asyncio.create_subprocess_shell",
        "multiprocessing.shared_memory.SharedMemory",
        "select.kqueue",
        "select.devpoll",
        "psycopg2.pool.SimpleConnectionPool",
        "psycopg2.pool.ThreadedConnectionPool",
        "redis.ConnectionPool",
        "sqlalchemy.create_engine",
        "sqlalchemy.create_engine.raw_connection",
        "sqlalchemy.Engine.raw_connection",
        "matplotlib.pyplot.figure",
        "matplotlib.pyplot.subplots",
        "httpx.Client.send",  # an httpx.Response
        "httpx.AsyncClient.send",
        "asyncpg.connect",
        "aiohttp.TCPConnector",
        "motor.motor_asyncio.AsyncIOMotorClient",
        "kafka.KafkaProducer",
        "kafka.KafkaConsumer",
        "confluent_kafka.Consumer",
        "clickhouse_driver.Client",
        "nats.connect",
        "mysql.connector.connect.cursor",
        "playwright.sync_api.sync_playwright.start",
        "playwright.sync_api.BrowserType.launch",
    }
)

#: Factory names too common to pre-filter on: their package's name is looked for instead.
_COMMON_WORDS = frozenset(
    {"get", "post", "request", "stream", "connect", "session", "open_file", "from_url"}
)

_KEYS = {
    "kind",
    "opens-on",
    "given-by",
    "release",
    "cm-closes",
    "cm-effect",
    "async",
    "unpack",
    "borrow-when",
    "acquire-when",
    "return-to",
    "code",
    "tracked",
    "on-receiver",
    "outlives-receiver",
    "finaliser",
    "permits",
    "uses",
    "coroutine-release",
    "owns-arguments",
    "source",
}


#: Values that count as not given: ``SpooledTemporaryFile(max_size=0)``, ``FTP(host="")``.
ABSENT_VALUES = frozenset({"None", "0", '""', "''"})


def argument_place(where: str) -> tuple[str, int | None]:
    """Where an ``acquire-when``/``borrow-when`` condition looks: ``keyword``,
    ``keyword@N`` (that keyword or the Nth positional), ``keyword@`` (keyword-only) or ``N``
    -> (keyword, position)."""
    keyword, _, position = where.partition("@")
    if keyword.isdigit():
        keyword, position = "", keyword
    return keyword, int(position) if position else None


def borrow_condition_met(
    condition: str,
    text_of: Callable[[str], str | None],
    base_classes: Callable[[str], set[str]] | None = None,
) -> bool:
    """One ``borrow-when`` condition, given the text of the argument a place names
    (``text_of(where)``: a name or literal as written, a call as ``callee()``, None when not
    passed): ``fileobj@3`` given and not absent; ``0=io.BytesIO()`` that value (or, with
    ``base_classes``, a class deriving from it); ``url@0=data:*`` a string literal starting so."""
    where, given, literal = condition.partition("=")
    text = text_of(where)
    if not given:  # ``fileobj@3``: wrapping a file object given to it, not opening one
        return text is not None and text not in ABSENT_VALUES
    if text == literal or (literal.endswith("*") and _string_starts(text, literal[:-1])):
        return True
    return bool(
        base_classes is not None
        and text is not None
        and text.endswith("()")
        and literal.endswith("()")
        and literal[:-2] in base_classes(text[:-2])
    )


def _string_starts(text: str | None, prefix: str) -> bool:
    """``'"data:,"'`` (a string literal as written) starts with ``data:``."""
    if not text:
        return False
    body = text.lstrip("rRuU")
    return body[:1] in ("'", '"') and body.strip("'\"").startswith(prefix)


class RegistryError(ValueError):
    """A resource entry (built-in or from the user's config) is malformed."""


@dataclass(frozen=True, slots=True)
class Resource:
    """One factory: calling ``qualname`` acquires a resource that ``release`` discharges."""

    qualname: str
    kind: str
    release: tuple[str, ...]
    cm_closes: bool = True
    is_async: bool = False
    unpack: tuple[int, ...] = ()
    #: of a tuple it unpacks to, the callables that release another element (index of the
    #: callable, index of what it releases): ``f, commit, abort = store.add_pack()``
    unpack_releasers: tuple[tuple[int, int], ...] = ()
    borrow_when: tuple[str, ...] = ()
    acquire_when: tuple[str, ...] = ()
    return_to: tuple[str, ...] = ()
    cm_effect: str = ""
    code: str = ""  # the rule reporting it when not released ("" → LL100/LL101)
    tracked: bool = True
    on_receiver: bool = False
    outlives_receiver: bool = False  # a method's result closing its receiver leaves open
    finalised: bool = False  # its finaliser is its designed clean-up: reported only strict
    counting: bool = False  # a semaphore's permit: taken and kept on purpose when no release follows
    uses: tuple[str, ...] = ()  # factories it opens through: patched, it holds nothing real
    coroutine_release: tuple[str, ...] | None = None  # None: all of ``release`` when async
    owns_arguments: tuple[str, ...] = ()  # keywords whose resource it takes over (connector=)
    opens_on: tuple[str, ...] = ()  # methods that really open it (HTTPConnection: request)
    opens_on_attrs: tuple[str, ...] = ()  # attributes that, given from outside, replace that
    source: str = ""
    origin: str = ""  # a project factory: what it really acquires ("sqlite3.connect() at db.py:12")

    @property
    def display(self) -> str:
        """How messages name the factory: ``open()``, ``sqlite3.connect()``, ``get_conn()``."""
        if self.origin:
            return f"{self.qualname.rsplit('.', 1)[-1]}()"
        return f"{self.qualname.removeprefix('builtins.')}()"

    @property
    def awaited_release(self) -> frozenset[str]:
        """Release methods that are coroutines: called without ``await`` they release nothing."""
        if not self.is_async:
            return frozenset()
        chosen = self.release if self.coroutine_release is None else self.coroutine_release
        return frozenset(chosen)

    @property
    def with_releases(self) -> bool:
        """Whether ``with`` (``async with``) on it releases it, so that a message may advise
        one: not for an object with no context manager (a descriptor, ``HTTPConnection``), one
        whose ``__exit__`` does something else (``cm-effect``), one that goes back to a pool,
        nor for a value known only from the release this function calls on it."""
        made_by = (self.qualname, *self.uses[-1:]) if self.origin else (self.qualname,)
        return (
            self.cm_closes
            and not self.return_to
            and self.kind != "file descriptor"
            and not self.origin.endswith("is the evidence")
            and not any(name in _NO_CONTEXT_MANAGER for name in made_by)
        )

    def opened_by(self, method: str) -> bool:
        """Does calling (or reading) ``method`` on it open it: one of its ``opens-on``, or any
        use but a release where that is ``"*"`` (a client that connects on first use)."""
        return method in self.opens_on or (
            "*" in self.opens_on and method not in self.release and method not in ("__del__",)
        )

    @property
    def release_method(self) -> str:
        """The method a message tells the user to call: ``close``, ``shutdown``, ``putconn``."""
        methods = self.return_to or self.release
        return methods[0].removesuffix("()") if methods else "close"

    @property
    def verb(self) -> str:
        """What releasing it is called: "closed", "shut down", "waited for"."""
        if self.return_to:
            return "returned"
        if not self.release or self.release[0] == "__exit__" or self.release[0].startswith("_"):
            return "released"  # (not "_pyroRelease()-ed")
        return _VERBS.get(self.release[0], f"{self.release[0]}()-ed")


def resource_from_entry(qualname: str, entry: Mapping[str, Any], origin: str) -> Resource:
    """Validate one ``[resources."name"]`` table; ``origin`` names its file in errors."""
    if not isinstance(entry, Mapping):
        raise RegistryError(f"{origin}: resources.{qualname!r} must be a table")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise RegistryError(f"{origin}: resources.{qualname!r}: unknown key {unknown[0]!r}")
    release = entry.get("release", ["close"])
    if isinstance(release, str):
        release = [release]
    return_to = entry.get("return-to", [])
    if not isinstance(release, list) or not all(
        isinstance(r, str) and r.removesuffix("()").isidentifier() for r in release
    ) or not (release or return_to or entry.get("tracked", True) is False):
        raise RegistryError(
            f"{origin}: resources.{qualname!r}: 'release' must be a list of method names"
        )
    for key in (
        "return-to", "acquire-when", "coroutine-release", "owns-arguments", "opens-on", "given-by",
        "uses",
    ):
        value = entry.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RegistryError(f"{origin}: resources.{qualname!r}: {key!r} must be a list of strings")
    for key in ("cm-effect", "code"):
        if key in entry and not isinstance(entry[key], str):
            raise RegistryError(f"{origin}: resources.{qualname!r}: {key!r} must be a string")
    for key in ("cm-closes", "async", "tracked", "on-receiver", "outlives-receiver", "finaliser", "permits"):
        if key in entry and not isinstance(entry[key], bool):
            raise RegistryError(f"{origin}: resources.{qualname!r}: {key!r} must be true or false")
    unpack = entry.get("unpack", [])
    if not isinstance(unpack, list) or not all(isinstance(i, int) and i >= 0 for i in unpack):
        raise RegistryError(
            f"{origin}: resources.{qualname!r}: 'unpack' must be a list of tuple indexes"
        )
    borrow_when = entry.get("borrow-when", [])
    if not isinstance(borrow_when, list) or not all(
        isinstance(b, str) and ("=" in b or "@" in b) for b in borrow_when
    ):
        raise RegistryError(
            f"{origin}: resources.{qualname!r}: 'borrow-when' must be a list of "
            "'keyword=value' or 'keyword@N' (that argument given)"
        )
    kind = entry.get("kind", "resource")
    if not isinstance(kind, str):
        raise RegistryError(f"{origin}: resources.{qualname!r}: 'kind' must be a string")
    if not all(part.isidentifier() for part in qualname.split(".")):
        raise RegistryError(f"{origin}: resources: {qualname!r} is not a dotted name")
    return Resource(
        qualname=qualname,
        kind=kind,
        release=tuple(release),
        cm_closes=entry.get("cm-closes", True),
        is_async=entry.get("async", False),
        unpack=tuple(unpack),
        borrow_when=tuple(borrow_when),
        acquire_when=tuple(entry.get("acquire-when", [])),
        return_to=tuple(return_to),
        cm_effect=entry.get("cm-effect", ""),
        code=entry.get("code", ""),
        tracked=entry.get("tracked", True),
        on_receiver=entry.get("on-receiver", False),
        outlives_receiver=entry.get("outlives-receiver", False),
        finalised=entry.get("finaliser", False),
        counting=entry.get("permits", False),
        uses=tuple(entry.get("uses", [])),
        owns_arguments=tuple(entry.get("owns-arguments", [])),
        opens_on=tuple(entry.get("opens-on", [])),
        opens_on_attrs=tuple(entry.get("given-by", [])),
        coroutine_release=(
            tuple(entry["coroutine-release"]) if "coroutine-release" in entry else None
        ),
        source=str(entry.get("source", "")),
    )


@dataclass(frozen=True, slots=True, eq=False)
class Registry:
    """Factories by qualified name; immutable, shared by every file of a run."""

    by_name: Mapping[str, Resource]

    def get(self, qualname: str | None) -> Resource | None:
        return self.by_name.get(qualname) if qualname else None

    def extended(self, extra: Iterable[Resource]) -> Registry:
        merged = dict(self.by_name)
        merged.update((r.qualname, r) for r in extra)
        return Registry(merged)

    @property
    def trigger_names(self) -> frozenset[str]:
        """Names one of which a file must contain to acquire anything: the last component of
        each factory (``Popen``), its package for common words (``requests`` for
        ``requests.get``: imported either way), nothing for ``Type.method`` entries (the
        type's own name must be there to make the receiver)."""
        names = set()
        for name in self.by_name:
            parent, _, last = name.rpartition(".")
            if parent in self.by_name:
                continue
            names.add(name.split(".", 1)[0] if last in _COMMON_WORDS and parent else last)
        return frozenset(names)

    def method(self, type_name: str | None, method: str) -> Resource | None:
        """``pool.getconn()`` where ``pool`` holds a ``type_name``: its entry, if any."""
        return self.by_name.get(f"{type_name}.{method}") if type_name else None


@lru_cache(maxsize=1)
def builtin_registry() -> Registry:
    """The registry shipped with leaklint (``resources.toml``)."""
    text = importlib_resources.files("leaklint").joinpath("resources.toml").read_text("utf-8")
    table = tomllib.loads(text).get("resources", {})
    return Registry(
        {name: resource_from_entry(name, entry, "resources.toml") for name, entry in table.items()}
    )
