"""A differential fuzz of the fixes: run the original and the fixed module on the same
inputs and compare what they do (issue 24: "safe" must mean safe).

``runnable_module`` builds modules of small functions around the shapes a fix exists for
(``fuzzing.FIXABLE``, made runnable) in the contexts that broke safe fixes before: an
enclosing ``try`` whose handler uses the resource, code after the block, a cursor that
outlives its ``with``, loops with ``break``, ``contextlib.suppress``, and modules that patch
names with mocks. ``differences`` runs every function of both versions against recording
fakes of ``open``, ``json``, ``socket`` and ``sqlite3``, once cleanly and once with a failure
injected at each call in turn, and returns what differs:

- the outcome (the value returned, or the exception's type and message) must be the same;
- on a run where the original released everything it acquired (no leak), the calls must be
  the same, in the same order;
- on a run where it leaked, the same once the release calls are left out (a fix adds the
  release on the leaking path; nothing else may change).

The fakes behave like the real types: ``__enter__`` returns the object itself, ``__exit__``
closes it (commits, for a connection), and any call on a closed object raises as CPython
does. In a module that patches names, the factories return a mock-like object whose
``__enter__`` returns another object, as ``MagicMock`` does.
"""

from __future__ import annotations

import builtins
import contextlib
import random
import types
from collections.abc import Callable
from typing import Any

Trace = list[tuple[int, str]]
RELEASES = frozenset({"close"})


class Injected(OSError):
    """The failure injected at one call."""


class World:
    """One run: the calls made (object number, method), and where a failure is injected."""

    def __init__(self, fail_at: int | None, content: str) -> None:
        self.trace: Trace = []
        self.fail_at = fail_at
        self.calls = 0
        self.content = content
        self.objects: list[Fake] = []

    def call(self, obj: Fake, name: str) -> None:
        self.trace.append((obj.number, name))
        self.calls += 1
        if self.calls == self.fail_at:
            raise Injected(f"injected at call {self.calls}")

    def new(self, obj: Fake) -> int:
        self.objects.append(obj)
        return len(self.objects) - 1


class Fake:
    """A file, socket, connection or cursor: every call is recorded; calls on a closed one
    raise."""

    closed_error: type[Exception] = ValueError

    def __init__(self, world: World, owner: Fake | None = None) -> None:
        self.world = world
        self.owner = owner  # a cursor's connection
        self.closed = False
        self.number = world.new(self)
        world.call(self, "new")

    def _use(self, name: str) -> None:
        self.world.call(self, name)
        if self.closed or (self.owner is not None and self.owner.closed):
            raise self.closed_error(f"{name} on a closed object")

    def read(self) -> str:
        self._use("read")
        return self.world.content

    def seek(self, where: int) -> int:
        self._use("seek")
        return where

    def write(self, data: object) -> int:
        self._use("write")
        return 1

    def send(self, data: object) -> int:
        self._use("send")
        return 1

    def execute(self, query: str) -> Fake:
        self._use("execute")
        return Fake(self.world, owner=self)

    def fetchall(self) -> list[str]:
        self._use("fetchall")
        return [self.world.content]

    def commit(self) -> None:
        self._use("commit")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.number}>"

    def close(self) -> None:
        if self.closed:
            return  # as a file's or a socket's close(): a second one does nothing
        self.world.trace.append((self.number, "close"))
        self.closed = True

    def __enter__(self) -> Fake:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Connection(Fake):
    """sqlite3's: ``__exit__`` commits and does not close."""

    def __exit__(self, *exc: object) -> None:
        if not self.closed:
            self.world.trace.append((self.number, "commit"))


class MockLike(Fake):
    """What a patched factory gives: ``__enter__`` returns another object (MagicMock's
    ``__enter__`` returns ``return_value.__enter__.return_value``)."""

    def __enter__(self) -> Fake:
        return Fake(self.world)


def _namespace(world: World, patched: bool) -> dict[str, Any]:
    kind = MockLike if patched else Fake

    def fake_open(path: object, *args: object) -> Fake:
        return kind(world)

    def load(f: Fake) -> object:
        text = f.read()
        if not text.startswith("{"):
            raise ValueError("not JSON")
        return {"json": text}

    def close_fd(fd: Fake) -> None:
        if fd.closed:  # as os.close on a descriptor already closed
            raise OSError(9, "Bad file descriptor")
        fd.close()

    def write_fd(fd: Fake, data: object) -> int:
        if fd.closed:
            raise OSError(9, "Bad file descriptor")
        return fd.write(data)

    modules = {
        "json": types.SimpleNamespace(load=load),
        "os": types.SimpleNamespace(close=close_fd, write=write_fd, open=lambda *a: Fake(world)),
        "tempfile": types.SimpleNamespace(mkstemp=lambda *a: (Fake(world), "tmp")),
        "socket": types.SimpleNamespace(socket=lambda *a: kind(world),
                                        socketpair=lambda *a: (kind(world), kind(world))),
        "sqlite3": types.SimpleNamespace(connect=lambda *a: Connection(world)),
        "contextlib": contextlib,
        "unittest": types.SimpleNamespace(mock=types.SimpleNamespace()),
    }

    def fake_import(name: str, globals: object = None, locals: object = None,
                    fromlist: tuple[str, ...] = (), level: int = 0) -> object:
        return modules[name.split(".")[0]]

    fake_builtins = dict(vars(builtins), open=fake_open, __import__=fake_import)
    return {"__builtins__": fake_builtins, "__name__": "generated"}


# --------------------------------------------------------------------------- generation

#: The fixable shapes of ``fuzzing.FIXABLE``, runnable against the fakes; ``{v}`` a name.
SHAPES = (
    ("{v} = open(p)", "data = {v}.read()", "{v}.close()"),
    ("{v} = open(p)", "data = json.load({v})", "{v}.close()"),
    ("{v} = open(p)", "{v}.write(data)", "x = 1", "{v}.close()"),
    ("{v} = socket.socket()", "{v}.send(data)", "{v}.close()"),
    ("data = open(p).read()",),
    ("data = json.load(open(p))",),
    ("with sqlite3.connect(p) as conn:", "    conn.execute('q')"),
    ("with sqlite3.connect(p) as conn:", "    cur = conn.execute('q')", "data = cur.fetchall()"),
    ("with sqlite3.connect(p) as conn:", "    data = conn.execute('q').fetchall()"),
    # never released: the release is added at the block's end
    ("{v} = open(p)", "data = {v}.read()"),
    ("{v} = socket.socket()", "{v}.send(data)", "data = 'sent'"),
    # an early return that leaked: the finally releases on it too
    ("{v} = open(p)", "if p == 'raw':", "    return {v}.read()", "data = {v}.read()", "{v}.close()"),
    ("{v} = open(p)", "data = {v}.read()", "if data:", "    return data", "{v}.close()"),
    # a connection used without being bound: with contextlib.closing(...) around the statement
    ("data = sqlite3.connect(p).execute('q').fetchall()",),
    ("data = len(sqlite3.connect(p).execute('q').fetchall())",),
    # a descriptor from mkstemp: os.close(fd) into a finally (or added at the block's end)
    ("{v}, path = tempfile.mkstemp()", "os.write({v}, data)", "os.close({v})", "data = path"),
    ("{v}, path = tempfile.mkstemp()", "os.write({v}, data)", "data = path"),
    ("{v}, path = tempfile.mkstemp()", "if p == 'raw':", "    return path", "os.write({v}, data)",
     "os.close({v})"),
    # a descriptor from os.open(): os.close(fd) into a finally
    ("{v} = os.open(p, 0)", "os.write({v}, data)", "os.close({v})", "data = 'written'"),
    # several files whose closes do not nest, a list of them: a contextlib.ExitStack
    ("{v} = open(p)", "out = open(p)", "out.write({v}.read())", "{v}.close()", "out.close()",
     "data = 'copied'"),
    ("{v} = open(p)", "out = open(p)", "two = open(p)", "data = {v}.read() + two.read()",
     "out.write(data)", "{v}.close()", "out.close()", "two.close()"),
    ("fs = [open(p) for _ in range(2)]", "data = [x.read() for x in fs]", "for x in fs:",
     "    x.close()"),
    # the release in a later try's finally, which an error before the try skips: the
    # statements go into that try, or into an except of their own that releases
    ("{v} = socket.socket()", "{v}.send(data)", "try:", "    data = {v}.read()", "finally:",
     "    {v}.close()"),
    ("{v} = socket.socket()", "{v}.send(data)", "try:", "    data = {v}.read()", "finally:",
     "    x = {v}.read()", "    {v}.close()"),
    ("{v} = open(p)", "{v}.write(data)", "try:", "    data = json.load({v})", "except ValueError:",
     "    data = 'bad'", "finally:", "    {v}.close()"),
    # lent to a call before the release that was already there: the release into a finally
    ("{v} = open(p)", "x = repr({v})", "data = {v}.read()", "{v}.close()"),
    ("{v} = socket.socket()", "{v}.send(data)", "data = [{v}][0].read()", "{v}.close()"),
    # returned where it did not leak: released in an except that re-raises
    ("{v} = socket.socket()", "{v}.send(data)", "return {v}"),
    ("{v} = open(p)", "data = {v}.read()", "{v}.seek(0)", "return ({v}.close, data)"),
    # closed on a branch that returns, returned on the other: the except that re-raises
    ("{v} = socket.socket()", "if p == 'raw':", "    {v}.close()", "    return None",
     "{v}.send(data)", "return {v}"),
    # opened on a branch, used after it, never released: a fresh name and a guarded release
    ("if p:", "    {v} = open(p)", "    {v}.seek(0)", "data = {v}.read()"),
    # handed on (kept in a module's list) after statements that may fail: released in an
    # except that re-raises around those statements only
    ("{v} = socket.socket()", "{v}.send(data)", "data = {v}.read()", "KEPT.append({v})"),
    ("{v} = open(p)", "data = json.load({v})", "KEPT.append({v})", "data = 'kept'"),
    # made on the branches of an if whose other branch leaves, or in a try whose handler
    # leaves, then handed on: the except around the statements after the branches
    ("if p == 'raw':", "    {v} = socket.socket()", "elif p:", "    {v} = open(p)", "else:",
     "    raise ValueError(p)", "{v}.write(data)", "KEPT.append({v})"),
    ("try:", "    {v} = open(p)", "except ValueError:", "    return 'none'", "data = {v}.read()",
     "KEPT.append({v})"),
    # a handler that leaves without it (return, continue): released first in the handler
    ("{v} = socket.socket()", "try:", "    {v}.send(data)", "    data = {v}.read()",
     "except OSError:", "    return 'failed'", "{v}.close()"),
    ("for _ in range(2):", "    {v} = open(p)", "    try:", "        data = json.load({v})",
     "    except ValueError:", "        continue", "    {v}.close()"),
    # the ends of a socketpair: try/finally (no with binds one of them)
    ("{v}, other = socket.socketpair()", "{v}.send(data)", "data = other.read()", "{v}.close()"),
)
#: What an ``except`` around a shape does: some read the resource again (issue 24's F1).
HANDLERS = ("pass", "data = 'caught'", "{v}.seek(0)", "data = {v}.read()")
#: What may follow the shape in the function.
AFTER = ("", "x = data", "data = {v}.read()")


def runnable_module(rng: random.Random) -> str:
    """A module of a few functions, each one shape in a random context."""
    patched = rng.random() < 0.3
    lines = ["from unittest import mock", ""] if patched else []
    lines += ["import contextlib", "import json", "import os", "import socket", "import sqlite3",
              "import tempfile", "", "KEPT = []", ""]
    for number in range(rng.randint(1, 3)):
        v = rng.choice(("f", "g", "sock"))
        shape = [line.format(v=v) for line in rng.choice(SHAPES)]
        context = rng.choice(("plain", "try", "loop", "suppress", "if"))
        body: list[str] = ["data = None"]
        if context == "plain":
            body += shape
        elif context == "try":
            body += ["try:", *("    " + line for line in shape)]
            body += [f"except {rng.choice(('ValueError', 'OSError', 'Exception'))}:"]
            body += ["    " + rng.choice(HANDLERS).format(v=v)]
        elif context == "loop":
            body += ["for q in range(2):", *("    " + line for line in shape)]
            if rng.random() < 0.5:
                body += ["    if q:", "        break"]
        elif context == "suppress":
            body += ["with contextlib.suppress(ValueError):", *("    " + line for line in shape)]
        else:
            body += ["if p:", *("    " + line for line in shape)]
        after = rng.choice(AFTER).format(v=v)
        if after:
            body.append(after)
        body.append("return data")
        lines += ["", f"def case{number}(p):", *("    " + line for line in body), ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- running


def _outcome(function: Callable[[str], object], p: str) -> str:
    try:
        return f"returned {function(p)!r}"
    except Exception as err:  # noqa: BLE001 - the outcome is what is compared
        return f"raised {type(err).__name__}: {err}"


def _run(source: str, name: str, p: str, fail_at: int | None, patched: bool) -> tuple[str, Trace, bool]:
    world = World(fail_at, content=p)
    namespace = _namespace(world, patched)
    exec(compile(source, "generated.py", "exec"), namespace)  # noqa: S102 - our own generated code
    outcome = _outcome(namespace[name], p)
    leaked = any(not obj.closed for obj in world.objects if obj.owner is None)
    return outcome, world.trace, leaked


def _without_releases(trace: Trace) -> Trace:
    return [event for event in trace if event[1] not in RELEASES]


def differences(original: str, fixed: str) -> list[str]:
    """What the fixed module does differently from the original, on every input."""
    patched = "from unittest import mock" in original
    names = [line[4:line.index("(")] for line in original.splitlines() if line.startswith("def ")]
    found = []
    for name in names:
        for p in ("{}", "raw", ""):
            clean = _run(original, name, p, None, patched)
            for fail_at in [None, *range(1, len(clean[1]) + 2)]:
                before, before_trace, leaked = _run(original, name, p, fail_at, patched)
                after, after_trace, _ = _run(fixed, name, p, fail_at, patched)
                where = f"{name}(p={p!r}), failure at call {fail_at}"
                if before != after:
                    found.append(f"{where}: {before} before, {after} after")
                elif not leaked and before_trace != after_trace:
                    found.append(f"{where}: calls {before_trace} before, {after_trace} after")
                elif _without_releases(before_trace) != _without_releases(after_trace):
                    found.append(f"{where}: calls {before_trace} before, {after_trace} after")
    return found


if __name__ == "__main__":  # a longer run: python tests/fuzz/differential.py [MODULES]
    import sys
    import tempfile
    from pathlib import Path

    from leaklint.config import Config
    from leaklint.fixes import fix_source

    root = tempfile.mkdtemp()
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    fixed = bad = 0
    for seed in range(count):
        source = runnable_module(random.Random(seed))
        outcome = fix_source(source.encode(), str(Path(root, "generated.py")), Config(root=root))
        if outcome.fixed is None:
            continue
        fixed += 1
        found = differences(source, outcome.fixed.decode())
        if found:
            bad += 1
            print(f"seed {seed}: {found[0]}")
    print(f"{count} modules, {fixed} fixed, {bad} behave differently")
    sys.exit(1 if bad else 0)
