"""Messages that explain (issue 25 item 6): every rule's message, rendered for every leak kind
of every registry entry, follows one template:

    <subject> <problem>: [<why>; ]<advice>

* it starts with the backquoted holder or the factory (``LL102``: "file from open()");
* exactly one ": " outside backquotes, between what is wrong and what to do;
* the advice is an imperative phrase and fits the object: a ``with`` block only for an object
  whose ``with`` releases it, ``contextlib.closing`` only for one with ``close()``, an
  ``await`` only for an async one, the pool's give-back method for a pooled one;
* a path leak names the way out that skips the release (the return, the loop's break, the
  raise at line N, or falling off the end);
* no doubled word, no closing period, nothing left unformatted.

Leaks are built directly from the registry (no subprocess per entry); one test runs the real
CLI on a file for the path wording.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import libcst as cst
import pytest

from test_cli import check, write

from leaklint.analysis.leaks import NEVER_RELEASED, Leak
from leaklint.analysis.obligations import _MANUAL_ENTER
from leaklint.analysis.protocols import CONTEXT_MANAGER
from leaklint.resources import Resource, builtin_registry, resource_from_entry
from leaklint.rules import ALL_RULES, FILE_NOT_ANALYSED, RULES_BY_LEAK_KIND, rule_for
from leaklint.rules.base import PATH_KINDS

LINE = 7
CALL = cst.parse_expression("make()")


def _statement(source: str) -> cst.CSTNode:
    return cst.parse_statement(source + "\n").body[0]  # type: ignore[attr-defined]


#: Ways out of a function a not-released leak can name, and what its message must say.
PATHS = {
    "never": (NEVER_RELEASED, "no path through the function releases it"),
    "end": (None, "falling off the end of the function skips it"),
    "return": (_statement("return None"), f"the return at line {LINE} skips it"),
    "break": (cst.Break(), f"the loop's break at line {LINE} skips it"),
    "raise": (_statement("raise ValueError"), f"the raise at line {LINE} skips it"),
}
#: The other ``Leak.other`` values of the path kinds.
OTHERS = {
    "exception-path": [
        (_statement("x.read()"), f"leaks if line {LINE} raises"),
        (_statement("raise ValueError"), f"the raise at line {LINE} skips it"),
    ],
    "overwritten": [
        (_statement("f = None"), f"is reassigned at line {LINE}"),
        (_statement("del f"), f"is deleted at line {LINE}"),
    ],
    "init-raises": [(_statement("self.check()"), f"leaks if line {LINE} raises")],
}
OWNER = SimpleNamespace(qualname="pkg.mod.Client")

#: Verbs an advice may start with.
IMPERATIVES = {
    "use", "call", "await", "give", "bind", "add", "make", "put", "release", "return",
    "re-raise", "write", "define",
}
DOUBLED = re.compile(r"\b(\w+) \1\b", re.IGNORECASE)

#: Custom entries of a user's ``[tool.leaklint.resources]``, with ``cm-effect`` as users write it.
CUSTOM = [
    resource_from_entry("mylib.connect", {"kind": "connection"}, "pyproject.toml"),
    resource_from_entry("mylib.fd", {"kind": "file descriptor"}, "pyproject.toml"),
    resource_from_entry("mylib.aconnect", {"async": True, "release": ["aclose"]}, "pyproject.toml"),
    resource_from_entry("mylib.pool.take", {"return-to": ["give_back"]}, "pyproject.toml"),
    *(
        resource_from_entry(
            f"mylib.db{i}",
            {"kind": "database", "cm-closes": False, "cm-effect": effect, "release": release},
            "pyproject.toml",
        )
        for i, (effect, release) in enumerate(
            [
                ("commits the transaction", ["close"]),
                ("Commits the transaction.", ["close"]),
                ("it ends the session", ["disconnect"]),
                ("only flushes the buffer", ["close"]),
                ("transaction commit", ["close"]),
                ("leaves the connection open", ["close"]),
                ("SQL COMMIT: nothing else", ["close"]),
                ("", ["shutdown"]),
            ]
        )
    ),
]
#: A project factory, a project class and a value known from the release the code calls.
PROJECT = [
    Resource("app.db.get_conn", kind="connection", release=("close",),
             origin="sqlite3.connect() at db.py:12", uses=("sqlite3.connect",)),
    Resource("app.net.get_http", kind="connection", release=("close",),
             origin="http.client.HTTPConnection() at net.py:3",
             uses=("http.client.HTTPConnection",)),
    Resource("app.db.Database", kind="Database", release=("close",), cm_closes=False,
             origin="owns a connection, db.py:4"),
    Resource("bind.connect", kind="resource", release=("close",),
             origin="the close() this function calls on it is the evidence"),
]
#: What ``await cm.__aenter__()`` / ``cm.__enter__()`` by hand owes (LL202).
MANUAL_ENTER = list(_MANUAL_ENTER.values())
ENTRIES = [*builtin_registry().by_name.values(), *CUSTOM, *PROJECT, *MANUAL_ENTER]
ENTRY_IDS = [r.qualname for r in ENTRIES]


def _leaks(resource: Resource) -> list[tuple[Leak, str]]:
    """Every leak kind this resource can be reported with, and a phrase its message needs."""
    out: list[tuple[Leak, str]] = []
    for name, (other, phrase) in PATHS.items():
        out.append((Leak("not-released", CALL, resource, "conn", other), phrase))
    for kind, cases in OTHERS.items():
        for other, phrase in cases:
            var = "self.conn" if kind == "init-raises" else "conn"
            out.append((Leak(kind, CALL, resource, var, other), phrase))
    out.append((Leak("unbound", CALL, resource), "is used without being bound"))
    out.append((Leak("owner-never-releases", CALL, resource, "self.conn", OWNER), "no method of `Client`"))
    out.append((Leak("enter-not-released", CALL, resource, "self.conn", OWNER), "`Client.__enter__`"))
    # the kinds the analysis reports only for some entries (obligations.py)
    if not resource.cm_closes:
        out.append((Leak("with-does-not-close", CALL, resource, "conn"), f"`with {resource.display[:-2]}(...)`"))
    if resource.is_async:
        out.append((Leak("sync-with-async", CALL, resource), "on an async"))
        out.append((Leak("not-awaited", CALL, resource, "conn", resource.release_method), "never awaited"))
    return out


#: The leaks of the context manager checks (LL160-LL164), which name no registry entry.
PROTOCOL_LEAKS = [
    Leak("exit-swallows", CALL, CONTEXT_MANAGER, "__exit__"),
    Leak("exit-swallows", CALL, CONTEXT_MANAGER, "__aexit__"),
    Leak("exit-swallows", CALL, CONTEXT_MANAGER, "opened"),
    Leak("exit-partway", CALL, CONTEXT_MANAGER, "self.a", "self.b"),
    Leak("cleanup-skipped", CALL, CONTEXT_MANAGER, "opened"),
    *(
        Leak("protocol-mismatch", CALL, CONTEXT_MANAGER, name, problem)
        for name in ("__enter__", "__exit__", "__aenter__", "__aexit__")
        for problem in ("plain-def", "async-def", "arity", "no-exit", "no-enter", "other")
    ),
    Leak("wrong-with", CALL, CONTEXT_MANAGER, "pkg.Session", "sync"),
    Leak("wrong-with", CALL, CONTEXT_MANAGER, "pkg.Session", "async"),
]


def _outside_backquotes(message: str) -> str:
    return re.sub(r"`[^`]*`", "`x`", message)


def assert_template(message: str, leak: Leak) -> str:
    """The checks every message passes; returns its advice."""
    resource = leak.resource
    assert message == message.strip() and "  " not in message, message
    assert not message.endswith((".", ";", ":", ",")), message
    assert "{" not in message and "}" not in message and "None" not in message, message
    assert message.count("`") % 2 == 0, message
    plain = _outside_backquotes(message)
    assert not DOUBLED.search(plain), message
    assert message.startswith("`") or message.startswith(f"{resource.kind} from "), message
    assert plain.count(": ") == 1, message
    advice = plain.split(": ", 1)[1].rsplit("; ", 1)[-1]
    assert advice.split()[0] in IMPERATIVES, message
    return message.split(": ", 1)[1].rsplit("; ", 1)[-1]


def assert_advice_fits(advice: str, leak: Leak) -> None:
    resource = leak.resource
    is_lock = resource.kind == "lock" and resource.on_receiver
    if re.search(r"use (an? )?`(async )?with\b", advice) and not is_lock:
        assert resource.with_releases, (resource.qualname, advice)
    if "contextlib.closing" in advice:
        assert resource.release_method == "close", (resource.qualname, advice)
    if "await " in advice or "async with" in advice:
        # an asyncio lock's with is async; ``await x.__aenter__()`` owes an awaited __aexit__
        assert resource.is_async or resource.qualname.startswith(("asyncio.", "__aenter__")), advice
    if resource.with_releases and resource.is_async and leak.kind in PATH_KINDS:
        assert "`with`" not in advice, advice  # an async resource's block is `async with`
    if resource.return_to and leak.kind in PATH_KINDS:
        assert f"{resource.return_to[0]}()" in advice, advice


@pytest.mark.parametrize("resource", ENTRIES, ids=ENTRY_IDS)
def test_every_rule_message_of_every_entry_follows_the_template(resource: Resource) -> None:
    for leak, phrase in _leaks(resource):
        rule = rule_for(leak.kind, resource.code)
        message = rule.message(leak, lambda node: LINE)
        advice = assert_template(message, leak)
        assert phrase in message, (rule.code, message)
        assert_advice_fits(advice, leak)


def test_every_rule_is_rendered() -> None:
    """The two parametrisations above reach every rule but LL900 (the runner's)."""
    reached = {rule_for(leak.kind, r.code).code for r in ENTRIES for leak, _ in _leaks(r)}
    reached |= {RULES_BY_LEAK_KIND[leak.kind].code for leak in PROTOCOL_LEAKS}
    assert reached == {rule.code for rule in ALL_RULES} - {FILE_NOT_ANALYSED.code}


@pytest.mark.parametrize("leak", PROTOCOL_LEAKS, ids=lambda leak: f"{leak.kind}-{leak.var}-{leak.other}")
def test_context_manager_checks_follow_the_template(leak: Leak) -> None:
    message = RULES_BY_LEAK_KIND[leak.kind].message(leak, lambda node: LINE)
    assert_template(message, leak)


def test_advice_fits_the_object() -> None:
    """A few entries by name, so that the rule of thumb above is not the only check."""

    def advice(qualname: str, kind: str = "exception-path") -> str:
        resource = builtin_registry().get(qualname)
        assert resource is not None
        leak = Leak(kind, CALL, resource, "x", _statement("x.read()"))
        return rule_for(kind, resource.code).message(leak, lambda node: LINE).split(": ", 1)[1]

    assert advice("builtins.open") == "use `with` or call close() in a finally"
    assert advice("http.client.HTTPConnection") == "call close() in a finally"  # no __enter__
    assert advice("os.open") == "call os.close() on it in a finally"
    assert advice("sqlite3.connect") == "use contextlib.closing() or call close() in a finally"
    assert advice("httpx.AsyncClient") == "use `async with` or await aclose() in a finally"
    assert advice("asyncio.create_subprocess_exec") == "await wait() in a finally"
    assert advice("psycopg2.pool.SimpleConnectionPool.getconn") == (
        "give it back with putconn() on the pool in a finally"
    )
    assert advice("asyncpg.create_pool.acquire") == (
        "give it back with await release() on the pool in a finally"
    )
    assert advice("threading.Lock.acquire") == "use `with x:` or call release() in a finally"
    assert advice("asyncio.Lock.acquire") == "use `async with x:` or call release() in a finally"
    assert advice("subprocess.Popen", "unbound").endswith("use a `with` block")
    assert advice("os.open", "unbound").endswith("bind it and call os.close() on it in a finally")


@pytest.mark.parametrize(
    ("effect", "expected"),
    [
        ("commits the transaction", "commits the transaction but does not close `conn`"),
        ("Commits the transaction.", "commits the transaction but does not close `conn`"),
        ("it ends the session", "ends the session but does not close `conn`"),
        ("transaction commit", "does not close `conn` (its exit does 'transaction commit' instead)"),
        ("leaves the connection open", "leaves the connection open"),
        ("", "does not close `conn`"),
    ],
)
def test_custom_cm_effect_reads_as_a_sentence(effect: str, expected: str) -> None:
    resource = resource_from_entry(
        "mylib.connect", {"cm-closes": False, "cm-effect": effect}, "pyproject.toml"
    )
    leak = Leak("with-does-not-close", CALL, resource, "conn")
    message = RULES_BY_LEAK_KIND[leak.kind].message(leak, lambda node: LINE)
    assert message == (
        f"`with mylib.connect(...)` {expected}: "
        "use contextlib.closing(mylib.connect(...)) or call close() in a finally"
    )


def test_the_cli_names_the_path_that_skips_the_release(tmp_path: Path) -> None:
    write(tmp_path, "paths.py", '''\
import http.client


def raises(path, strict):
    f = open(path)
    if strict:
        raise ValueError(path)
    f.close()


def breaks(paths):
    for p in paths:
        f = open(p)
        if f.readline() == "stop\\n":
            break
        f.close()


def returns(path, quick):
    f = open(path)
    if quick:
        return None
    data = f.read()
    f.close()
    return data


def falls_off(path, verbose):
    f = open(path)
    if verbose:
        print(f.read())
        f.close()


def no_context_manager(host):
    conn = http.client.HTTPConnection(host)
    conn.request("GET", "/")
    conn.close()
''')
    proc = check("--no-cache", "paths.py", cwd=tmp_path)
    lines = [re.sub(r" \[\*\]", "", line) for line in proc.stdout.splitlines() if ": LL" in line]
    found = {line.split(":")[1]: line.split(" ", 2)[2] for line in lines}
    assert found == {
        "5": "`f` from open() is not closed on every path: the raise at line 7 skips it; "
        "use `with` or call close() in a finally",
        "13": "`f` from open() is not closed on every path: the loop's break at line 15 skips "
        "it; use `with` or call close() in a finally",
        "20": "`f` from open() is not closed on every path: the return at line 22 skips it; "
        "use `with` or call close() in a finally",
        "29": "`f` from open() is not closed on every path: falling off the end of the function "
        "skips it; use `with` or call close() in a finally",
        "36": "`conn` from http.client.HTTPConnection() leaks if line 37 raises: "
        "call close() in a finally",
    }, proc.stdout
