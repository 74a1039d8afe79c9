"""LL100 resource-not-released."""

from __future__ import annotations

from leaklint.rules.base import PathRule

RULE = PathRule(
    code="LL100",
    name="resource-not-released",
    summary="A resource is acquired and not released on every path, nor handed on.",
    leak_kinds=("not-released", "overwritten", "init-raises"),
    bad_example='''\
def read_config(path):
    f = open(path)
    if not path.endswith(".ini"):
        return None  # f is never closed on this path
    data = f.read()
    f.close()
    return data
''',
    good_example='''\
def read_config(path):
    if not path.endswith(".ini"):
        return None
    with open(path) as f:
        return f.read()
''',
    docs='''\
## What it does
Reports a resource (file, socket, connection, process, temporary file, executor, ...)
that is acquired in a function and can reach the end of the function, on some normal
path, without being released and without being handed to someone who will release it.
Re-binding or deleting the only name of an open resource counts too: nothing can close
it afterwards. So does a resource stored on `self` in `__init__` when a later statement
of `__init__` can raise: the object is never returned, so nobody can release it.
Except in a test of the finaliser: a `del x` or `x = None` under
`assertWarns(ResourceWarning)` (`check_warnings`, `pytest.warns`, `catch_warnings` for
ResourceWarning), or followed at once by `gc.collect()`/`gc_collect()`, and a `del x`
anywhere in a test function (named `test*`), leaves that resource to its finaliser on
purpose, and none of its paths is reported. Outside a test, `del` of an open resource is
reported.

Functions of the checked code that return a resource are factories too
(`def get_conn(): return sqlite3.connect(DB)`): their callers must release what they get,
and the message names the chain. So are classes that store a resource on `self` and
release it in a public method (`close`, `shutdown`, ...): `db = Database(url)` must be
closed, or used in `with` when the class has `__exit__`.

A value the function itself releases is a resource whatever made it (`conn =
bind.connect()` ... `conn.close()`: the code's own `close`, `release`, `shutdown`,
`disconnect`, `terminate`, `dispose`, `quit` or `aclose` is the evidence); a parameter or an
attribute read is not. A local list built with resources (`socks = [make(h) for h in hosts]`)
owes them; a loop that releases each element releases them all. A message that says "is
never closed" means no path out of the function releases it or hands it on; otherwise it
names the way out that skips the release: the return, the loop's break or the raise at
line N, or falling off the end of the function. It ends with what to do, fitted to the
object: a `with` block only where `with` releases it (not for `http.client.HTTPConnection`
or a descriptor from `os.open`), `async with` or an awaited close for an async one, the
pool's give-back method (`putconn()`) for a pooled one.

Ownership moves, and then nothing is reported, when the resource is returned or yielded
(the caller owns it), stored on an object or in a container (`self.f = f`,
`files.append(f)`), handed to `contextlib.closing`, `ExitStack.enter_context`,
`atexit.register(f.close)` or `weakref.finalize`, passed to a class constructor whose
result is kept (`conn = Connection(sock)`; not on the path where that constructor raised,
nor when the class is the project's own and never releases what it keeps), or captured by
a nested function that reads it (a lambda only borrows it, unless it releases it; a nested
scope that binds the same name has its own). A resource
held at module level lives as long as the program and is not reported. One exception to
`self.f = f`: a method that stores a resource on `self` and releases it itself, where no
other method of the class (or of its bases) and no code outside it releases or takes that
attribute, owns it as it would a local name (a test's `self.d = dbm.open(p)` ...
`self.d.close()`).

## Why is this bad?
A file descriptor, socket or database connection held by an unreleased object stays
open until the garbage collector happens to run its finaliser: on PyPy, or in a
reference cycle, that may be never. Processes run out of descriptors, servers out of
connections, and on Windows the file stays locked. CPython reports it at run time as
`ResourceWarning: unclosed file` under `python -X dev`.

{examples}
## Fix safety
`leaklint check --fix` rewrites `x = factory(...)` ... `x.close()` into a `with factory(...) as x:`
block around those statements when every use of `x` in between goes through its attributes,
it is not used, returned, stored or handed on anywhere else, and the factory's `__exit__` just
closes it (files, archives, sockets, selectors, memory maps, temporary files, `urlopen`): safe.
Never for resources whose `__exit__` waits or joins (`subprocess.Popen`, pools, executors,
servers), nor for connections whose `__exit__` commits. Where the `with` does not fit (the
name is used after the close, or the context manager does more than close), the statements in
between go into `try:` with the release in its `finally`: safe for `close()`, unsafe for a
`wait()` or `shutdown()` (it can block on the error path) or an object handed to a call that
may keep it.
''',
)
