"""LL101 release-not-in-finally."""

from __future__ import annotations

from leaklint.rules.base import PathRule

RULE = PathRule(
    code="LL101",
    name="release-not-in-finally",
    summary="Released on the normal path only; an exception in between leaks it.",
    leak_kinds=("exception-path",),
    bad_example='''\
def load(path):
    f = open(path)
    data = f.read()  # if this raises, f is never closed
    f.close()
    return data
''',
    good_example='''\
def load(path):
    with open(path) as f:
        return f.read()
''',
    docs='''\
## What it does
Reports a resource that is released on every normal path but not when a statement
between the acquisition and the release raises. The message names the first such
statement. A release inside `finally`, a `with` block, an `except` handler that releases
and re-raises, or an `ExitStack` all cover the exception path.

Only a statement that can raise opens that path. **Statements that cannot raise** (as
ruff's and pylint's users expect) are: assignments, `del` and `pass`; arithmetic and
comparisons of names and literals (`n += 1` on a local name, not `d[k] += 1` or
`obj.value += 1`); building literal containers
(`x = []`); a loop over `range(...)` or a written-out tuple, list or set; calls whose only
failures are a programming error of the caller or `MemoryError`/`KeyboardInterrupt` —
making a lock, event, deque or list, `len()`, `range()`, `memoryview()`, `hasattr()`,
`getattr()` with a default, `csv.reader()`/
`csv.writer()`, reading a clock, logging, `append`/`add`/`discard` on a container, a
socket's `setblocking()`/`settimeout()`/`gettimeout()`/`fileno()`,
`socket.getdefaulttimeout()`, `sys.path.insert()`, `os.path.join()`, `io.text_encoding()`, an
event's `is_set()`, an asyncio transport's `get_extra_info()`/`get_pipe_transport()`/
`get_pid()`/`get_returncode()`, a response's `getheader()`/`getheaders()`,
`time.sleep(<number>)`, a socket's `setsockopt()`/`set_inheritable()`,
`os.set_inheritable()`/`os.set_blocking()`, a selector's `register()`/`select()`,
`io.open(fd, closefd=False)` and the `io.Buffered*` wrappers in front of it, a mapping's
`items()`/`keys()`/`values()`, a read of a subscript this function just stored
(`d["k"] = {}; d["k"][x] = []`), a loop over a name or attribute that holds no resource
here (a list, not a file being read); and
`f.write(<ASCII or bytes literal shorter than 8 KiB>)` on a file this function opened with
a buffer (`open()`, `tempfile.*File()`, not `buffering=0`): the data is copied into the
buffer and no system call happens. Any other call, subscript, `await` or `import` can raise.
The table is `NON_RAISING_FUNCTIONS`/`NON_RAISING_METHODS` in `leaklint/analysis/ownership.py`;
`strict = true` under `[tool.leaklint]` turns it off and reports every exception path.

## Why is this bad?
Exceptions are exactly when resources pile up: a parser error in one file of a batch,
a timeout on one connection of a pool. The release on the happy path never runs and the
descriptor or connection stays open until the garbage collector gets to it.

{examples}or, where a `with` does not fit, `try: ... finally: f.close()`.

## Fix safety
The same rewrites as LL100 (`leaklint check --fix`): the `with` form, and where it does not
fit, the statements between the acquisition and the release wrapped in `try:` with the
release in the `finally` (safe for `close()`; unsafe for `wait()`/`shutdown()`, which can
block on the error path). Not when something in between returns, yields, breaks or continues.
''',
)
