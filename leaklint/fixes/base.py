"""What a fix is: rule codes, a safety level with its reason, a title; and what the
rewrites may and may not wrap in a ``with`` (independent of the registry)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import libcst as cst

SAFE, UNSAFE = "safe", "unsafe"


@dataclass(frozen=True, slots=True)
class Fix:
    """One kind of rewrite. ``safety`` is ``"safe"`` (behaviour preserved for every input) or
    ``"unsafe"`` (preserved in the usual case; ``reason`` says which case is not)."""

    codes: tuple[str, ...]
    safety: str
    title: str  # imperative, as --show-fixes prints it
    reason: str


@dataclass(frozen=True, slots=True, eq=False)
class Edit:
    """One planned rewrite of one parsed module: ``target`` (a node of that tree, found by
    identity) becomes ``build(updated target)``; ``span`` is the stretch of the original
    source the rewrite rebuilds from original nodes, so two edits whose spans meet are never
    applied in the same round."""

    fix: Fix
    code: str
    line: int  # of the finding it fixes (1-based), and its 0-based column
    col: int
    span: tuple[tuple[int, int], tuple[int, int]]
    targets: tuple[tuple[cst.CSTNode, Callable[[cst.CSTNode], object]], ...]
    imports: tuple[str, ...] = ()  # modules to import (``add_needed_import``)
    also: tuple[tuple[int, int, str], ...] = ()  # other findings (line, col, code) it fixes


#: Resources whose ``__exit__`` waits or joins rather than releases: wrapping them in a
#: ``with`` blocks until the child process ends, the workers finish or the server stops.
#: A project reverted exactly such a lint-driven ``with subprocess.Popen(...)`` rewrite
#: because a process meant to keep running was waited for. These never get a fix.
WAITS_OR_JOINS: dict[str, str] = {
    "subprocess.Popen": "its __exit__ waits for the child process",
    "os.popen": "closing it waits for the child process",
    "asyncio.create_subprocess_exec": "the process is waited for",
    "asyncio.create_subprocess_shell": "the process is waited for",
    "multiprocessing.Pool": "its __exit__ terminates the workers",
    "multiprocessing.pool.Pool": "its __exit__ terminates the workers",
    "multiprocessing.pool.ThreadPool": "its __exit__ terminates the workers",
    "concurrent.futures.ProcessPoolExecutor": "its __exit__ joins the workers",
    "concurrent.futures.ThreadPoolExecutor": "its __exit__ joins the workers",
    "concurrent.futures.process.ProcessPoolExecutor": "its __exit__ joins the workers",
    "concurrent.futures.thread.ThreadPoolExecutor": "its __exit__ joins the workers",
    "socketserver.TCPServer": "a server serves until it is shut down",
    "socketserver.UDPServer": "a server serves until it is shut down",
    "socketserver.ThreadingTCPServer": "a server serves until it is shut down",
    "socketserver.ForkingTCPServer": "a server serves until it is shut down",
    "http.server.HTTPServer": "a server serves until it is shut down",
    "http.server.ThreadingHTTPServer": "a server serves until it is shut down",
    "asyncio.start_server": "a server serves until it is shut down",
}

#: Factories whose ``with X(...) as x:`` binds ``x`` to the object itself and whose
#: ``__exit__`` does nothing but close it, so ``x = X(...)`` ... ``x.close()`` and
#: ``with X(...) as x:`` mean the same. Not here on purpose: database connections (their
#: ``__exit__`` commits or rolls back), FTP/SMTP/IMAP clients (``__exit__`` talks to the
#: server), ``tempfile.TemporaryDirectory`` (``as`` binds the path, not the object).
CLOSES_ON_EXIT: frozenset[str] = frozenset(
    {
        "builtins.open",
        "io.open",
        "io.FileIO",
        "codecs.open",
        "os.fdopen",
        "gzip.open",
        "gzip.GzipFile",
        "bz2.open",
        "bz2.BZ2File",
        "lzma.open",
        "lzma.LZMAFile",
        "tarfile.open",
        "tarfile.TarFile",
        "zipfile.ZipFile",
        "tempfile.TemporaryFile",
        "tempfile.NamedTemporaryFile",
        "tempfile.SpooledTemporaryFile",
        "socket.socket",
        "socket.create_connection",
        "socket.create_server",
        "socket.fromfd",
        "selectors.DefaultSelector",
        "selectors.EpollSelector",
        "selectors.KqueueSelector",
        "selectors.PollSelector",
        "selectors.SelectSelector",
        "mmap.mmap",
        "shelve.open",
        "dbm.open",
        "urllib.request.urlopen",
    }
)


def why_no_with(qualname: str) -> str | None:
    """Why a ``with`` rewrite of this factory is never offered, or None if it may be."""
    if qualname in WAITS_OR_JOINS:
        return WAITS_OR_JOINS[qualname]
    if qualname not in CLOSES_ON_EXIT:
        return "its context manager is not known to do exactly what close() does"
    return None


#: Why the planners asked gave no fix, when someone is listening (``refusals``).
_REFUSALS: ContextVar[list[str] | None] = ContextVar("leaklint_fix_refusals", default=None)


def refuse(reason: str) -> None:
    """A planner gives no fix, and says why (to ``refusals``, if one listens): ``return
    refuse("...")`` where it would ``return None``."""
    heard = _REFUSALS.get()
    if heard is not None:
        heard.append(reason)


@contextmanager
def refusals() -> Iterator[list[str]]:
    """The reasons the planners called inside give for not fixing, in the order given."""
    heard: list[str] = []
    token = _REFUSALS.set(heard)
    try:
        yield heard
    finally:
        _REFUSALS.reset(token)
