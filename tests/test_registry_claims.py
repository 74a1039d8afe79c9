"""The registry's claims about context managers, checked against the real libraries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from leaklint.resources import builtin_registry


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-X", "dev", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_with_sqlite3_connect_leaves_the_connection_open(tmp_path) -> None:
    """LL110's claim: after `with sqlite3.connect(p) as conn:` the connection still works."""
    out = _run(
        f"""
        import sqlite3
        with sqlite3.connect({str(tmp_path / "db.sqlite")!r}) as conn:
            conn.execute("create table t (x)")
        print(conn.execute("select count(*) from t").fetchone()[0])
        conn.close()
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0"
    assert builtin_registry().get("sqlite3.connect").cm_closes is False


def test_closing_around_sqlite3_connect_closes_it(tmp_path) -> None:
    """The fix LL110 suggests really closes: using the connection afterwards fails."""
    out = _run(
        f"""
        import contextlib, sqlite3
        with contextlib.closing(sqlite3.connect({str(tmp_path / "db.sqlite")!r})) as conn:
            with conn:
                conn.execute("create table t (x)")
        try:
            conn.execute("select 1")
        except sqlite3.ProgrammingError:
            print("closed")
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "closed"


def test_every_cm_that_does_not_close_says_what_it_does() -> None:
    for resource in builtin_registry().by_name.values():
        if not resource.cm_closes:
            assert resource.cm_effect, f"{resource.qualname}: cm-closes = false needs cm-effect"
            assert resource.source, f"{resource.qualname}: cm-closes = false needs a source"


# --------------------------------------------------------------------------- every stdlib entry, run
#
# Each runnable standard-library entry is proved with CPython itself, in one subprocess under
# ``python -X dev``: acquired and dropped without release, it holds a descriptor while alive
# (counted in /proc/self/fd) or warns (ResourceWarning) when collected; acquired and released
# as the registry says (``x.<first release method>()``, ``os.close(x)`` for a raw descriptor,
# each ``unpack`` index of a tuple result), it leaves no descriptor and no warning behind.
#
# SETUP runs once; it makes ``D`` (a scratch folder), ``TXT`` (a text file), ``ZIP``, ``TAR``,
# ``PORT`` (a listening TCP socket's port).

SETUP = r'''
import asyncio, bz2, codecs, dbm, gzip, http.client, http.server, io, logging, logging.handlers
import lzma, mailbox, mmap, multiprocessing.connection, multiprocessing.dummy, multiprocessing.pool
import multiprocessing.shared_memory, os, pathlib, pty, select, selectors, shelve, socket
import socketserver, sqlite3, subprocess, sys, tarfile, tempfile, tokenize, urllib.request, wave
import wsgiref.simple_server, xmlrpc.server, zipfile, builtins
D = tempfile.mkdtemp()
TXT = os.path.join(D, "a.txt")
with open(TXT, "w") as f:
    f.write("x = 1\n")
ZIP = os.path.join(D, "a.zip")
with zipfile.ZipFile(ZIP, "w") as z:
    z.writestr("m.txt", "member")
TAR = os.path.join(D, "a.tar")
with tarfile.open(TAR, "w") as t:
    t.add(TXT, "a.txt")
LISTENER = socket.create_server(("127.0.0.1", 0))
PORT = LISTENER.getsockname()[1]
def connected_server():
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname())
    KEEP.extend((server, client))
    return server
KEEP = []
SERVERS = [connected_server() for _ in range(4)]  # accept() gets a connection at once
from multiprocessing import resource_tracker
resource_tracker.ensure_running()  # SharedMemory talks to it through a pipe made on first use
N = [0]
def fresh(suffix=""):
    N[0] += 1
    return os.path.join(D, f"f{N[0]}{suffix}")
def rolled(f):
    f.write(b"xx")
    return f
def opened(conn):
    conn.connect()
    return conn
def mapped():
    fd = os.open(TXT, os.O_RDWR)
    try:
        return mmap.mmap(fd, 0)
    finally:
        os.close(fd)
def wav():
    w = wave.open(fresh('.wav'), 'wb')
    w.setparams((1, 2, 8000, 0, 'NONE', 'not compressed'))
    return w
def started(runner):
    runner.get_loop()
    return runner
'''

#: entry -> the expression that acquires it (evaluated after SETUP)
CASES: dict[str, str] = {
    "builtins.open": "open(TXT)",
    "io.open": "io.open(TXT)",
    "io.FileIO": "io.FileIO(TXT)",
    "io.open_code": "io.open_code(TXT)",
    "os.fdopen": "os.fdopen(os.open(TXT, os.O_RDONLY))",
    "os.popen": "os.popen('echo hi')",
    "codecs.open": "codecs.open(TXT)",
    "gzip.open": "gzip.open(fresh('.gz'), 'wb')",
    "gzip.GzipFile": "gzip.GzipFile(fresh('.gz'), 'wb')",
    "bz2.open": "bz2.open(fresh('.bz2'), 'wb')",
    "bz2.BZ2File": "bz2.BZ2File(fresh('.bz2'), 'wb')",
    "lzma.open": "lzma.open(fresh('.xz'), 'wb')",
    "lzma.LZMAFile": "lzma.LZMAFile(fresh('.xz'), 'wb')",
    "tempfile.TemporaryFile": "tempfile.TemporaryFile()",
    "tempfile.NamedTemporaryFile": "tempfile.NamedTemporaryFile()",
    "tempfile.SpooledTemporaryFile": "rolled(tempfile.SpooledTemporaryFile(max_size=1))",
    "tempfile.TemporaryDirectory": "tempfile.TemporaryDirectory()",
    "tempfile.mkstemp": "tempfile.mkstemp()",
    "zipfile.ZipFile": "zipfile.ZipFile(ZIP)",
    "zipfile.ZipFile.open": "zipfile.ZipFile(ZIP).open('m.txt')",
    "tarfile.open": "tarfile.open(TAR)",
    "tarfile.TarFile": "tarfile.TarFile(TAR)",
    "mmap.mmap": "mapped()",
    "os.open": "os.open(TXT, os.O_RDONLY)",
    "os.dup": "os.dup(0)",
    "os.pipe": "os.pipe()",
    "os.pipe2": "os.pipe2(0)",
    "os.openpty": "os.openpty()",
    "os.memfd_create": "os.memfd_create('x')",
    "os.eventfd": "os.eventfd(0)",
    "os.pidfd_open": "os.pidfd_open(os.getpid())",
    "pty.openpty": "pty.openpty()",
    "pty.master_open": "pty.master_open()",
    "tokenize.open": "tokenize.open(TXT)",
    "pathlib.Path.open": "pathlib.Path(TXT).open()",
    "pathlib.PosixPath.open": "pathlib.PosixPath(TXT).open()",
    "socket.socket": "socket.socket()",
    "socket.create_server": "socket.create_server(('127.0.0.1', 0))",
    "socket.create_connection": "socket.create_connection(('127.0.0.1', PORT))",
    "socket.fromfd": "socket.fromfd(LISTENER.fileno(), socket.AF_INET, socket.SOCK_STREAM)",
    "socket.socketpair": "socket.socketpair()",
    "socket.socket.dup": "LISTENER.dup()",
    "socket.socket.accept": "SERVERS.pop().accept()",
    "socket.create_server.accept": "SERVERS.pop().accept()",
    "selectors.DefaultSelector": "selectors.DefaultSelector()",
    "selectors.EpollSelector": "selectors.EpollSelector()",
    "select.epoll": "select.epoll()",
    "socketserver.TCPServer": "socketserver.TCPServer(('127.0.0.1', 0), None)",
    "socketserver.UDPServer": "socketserver.UDPServer(('127.0.0.1', 0), None)",
    "socketserver.ThreadingTCPServer": "socketserver.ThreadingTCPServer(('127.0.0.1', 0), None)",
    "socketserver.ThreadingUDPServer": "socketserver.ThreadingUDPServer(('127.0.0.1', 0), None)",
    "socketserver.ForkingTCPServer": "socketserver.ForkingTCPServer(('127.0.0.1', 0), None)",
    "socketserver.ForkingUDPServer": "socketserver.ForkingUDPServer(('127.0.0.1', 0), None)",
    "socketserver.UnixStreamServer": "socketserver.UnixStreamServer(fresh('.sock'), None)",
    "socketserver.UnixDatagramServer": "socketserver.UnixDatagramServer(fresh('.sock'), None)",
    "socketserver.ThreadingUnixStreamServer":
        "socketserver.ThreadingUnixStreamServer(fresh('.sock'), None)",
    "socketserver.ThreadingUnixDatagramServer":
        "socketserver.ThreadingUnixDatagramServer(fresh('.sock'), None)",
    "http.server.HTTPServer": "http.server.HTTPServer(('127.0.0.1', 0), None)",
    "http.server.ThreadingHTTPServer": "http.server.ThreadingHTTPServer(('127.0.0.1', 0), None)",
    "wsgiref.simple_server.WSGIServer": "wsgiref.simple_server.WSGIServer(('127.0.0.1', 0), None)",
    "wsgiref.simple_server.make_server": "wsgiref.simple_server.make_server('127.0.0.1', 0, None)",
    "xmlrpc.server.SimpleXMLRPCServer":
        "xmlrpc.server.SimpleXMLRPCServer(('127.0.0.1', 0), logRequests=False)",
    "xmlrpc.server.DocXMLRPCServer":
        "xmlrpc.server.DocXMLRPCServer(('127.0.0.1', 0), logRequests=False)",
    "xmlrpc.server.MultiPathXMLRPCServer":
        "xmlrpc.server.MultiPathXMLRPCServer(('127.0.0.1', 0), logRequests=False)",
    "sqlite3.connect": "sqlite3.connect(fresh('.db'))",
    "subprocess.Popen": "subprocess.Popen([sys.executable, '-c', 'pass'])",
    "multiprocessing.pool.ThreadPool": "multiprocessing.pool.ThreadPool(1)",
    "multiprocessing.dummy.Pool": "multiprocessing.dummy.Pool(1)",
    "urllib.request.urlopen": "urllib.request.urlopen(pathlib.Path(TXT).as_uri())",
    "urllib.request.build_opener.open": "urllib.request.build_opener().open(pathlib.Path(TXT).as_uri())",
    "http.client.HTTPConnection": "opened(http.client.HTTPConnection('127.0.0.1', PORT))",
    "asyncio.new_event_loop": "asyncio.new_event_loop()",
    "asyncio.Runner": "started(asyncio.Runner())",
    "logging.FileHandler": "logging.FileHandler(fresh('.log'))",
    "logging.handlers.RotatingFileHandler": "logging.handlers.RotatingFileHandler(fresh('.log'))",
    "logging.handlers.TimedRotatingFileHandler":
        "logging.handlers.TimedRotatingFileHandler(fresh('.log'))",
    "logging.handlers.WatchedFileHandler": "logging.handlers.WatchedFileHandler(fresh('.log'))",
    "logging.handlers.SysLogHandler": "logging.handlers.SysLogHandler(('127.0.0.1', 9))",
    "multiprocessing.connection.Listener": "multiprocessing.connection.Listener(('127.0.0.1', 0))",
    "multiprocessing.shared_memory.SharedMemory":
        "multiprocessing.shared_memory.SharedMemory(create=True, size=16)",
    "mailbox.mbox": "mailbox.mbox(fresh())",
    "mailbox.MMDF": "mailbox.MMDF(fresh())",
    "mailbox.Babyl": "mailbox.Babyl(fresh())",
    "wave.open": "wav()",
}

#: stdlib entries that are not run here, and why
NOT_RUN: dict[str, str] = {
    "dbm.dumb.open": "holds no descriptor between calls (each access opens its files); close() "
    "writes the index, without it new keys are lost: a claim about data, not a descriptor",
    "dbm.open": "here it picks dbm.dumb (see it): no descriptor held between calls",
    "shelve.open": "over dbm.open: as dbm.dumb.open, close() saves, no descriptor held",
    "selectors.PollSelector": "holds no descriptor: a poll object is plain memory",
    "selectors.SelectSelector": "holds no descriptor: select() takes its lists per call",
    "selectors.KqueueSelector": "BSD and macOS only",
    "selectors.DevpollSelector": "Solaris only",
    "select.kqueue": "BSD and macOS only",
    "select.devpoll": "Solaris only",
    "socket.fromshare": "Windows only",
    "dbm.ndbm.open": "needs the optional _dbm module (dbm.open, run above, picks what exists)",
    "dbm.gnu.open": "needs the optional _gdbm module (dbm.open, run above, picks what exists)",
    "dbm.sqlite3.open": "CPython 3.13+",
    "pathlib.WindowsPath.open": "Windows only",
    "pty.slave_open": "needs a pty master's name; pty.openpty, run above, makes both ends",
    "multiprocessing.Pool": "starts worker processes (slow); its ThreadPool subclass is run above",
    "multiprocessing.pool.Pool": "starts worker processes (slow); its ThreadPool subclass is run above",
    "concurrent.futures.ThreadPoolExecutor": "threads, no descriptor and no warning: an executor "
    "never shut down is joined at exit",
    "concurrent.futures.thread.ThreadPoolExecutor": "as concurrent.futures.ThreadPoolExecutor",
    "concurrent.futures.ProcessPoolExecutor": "starts worker processes (slow)",
    "concurrent.futures.process.ProcessPoolExecutor": "starts worker processes (slow)",
    "http.client.HTTPSConnection": "needs a TLS server",
    "http.client.HTTPConnection.getresponse": "needs an HTTP server",
    "http.client.HTTPSConnection.getresponse": "needs a TLS server",
    "ftplib.FTP": "needs an FTP server", "ftplib.FTP_TLS": "needs an FTP server",
    "ftplib.FTP.ntransfercmd": "needs an FTP server", "ftplib.FTP.transfercmd": "needs an FTP server",
    "ftplib.FTP.makeport": "needs an FTP server",
    "smtplib.SMTP": "needs an SMTP server", "smtplib.SMTP_SSL": "needs an SMTP server",
    "smtplib.LMTP": "needs an LMTP server",
    "poplib.POP3": "needs a POP3 server", "poplib.POP3_SSL": "needs a POP3 server",
    "imaplib.IMAP4": "needs an IMAP server", "imaplib.IMAP4_SSL": "needs an IMAP server",
    "imaplib.IMAP4_stream": "needs an IMAP server command",
    "asyncio.open_connection": "a coroutine: needs a running loop and a server",
    "asyncio.open_unix_connection": "a coroutine: needs a running loop and a server",
    "asyncio.start_server": "a coroutine: needs a running loop",
    "asyncio.create_subprocess_exec": "a coroutine: needs a running loop",
    "asyncio.create_subprocess_shell": "a coroutine: needs a running loop",
    "mailbox.MMDF.get_file": "as mailbox.mbox.get_file",
    "mailbox.Babyl.get_file": "as mailbox.mbox.get_file",
}

RUNNER = r'''
import gc, json, os, sys, warnings
setup, cases, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
ns = {}
exec(setup, ns)

def fds():
    return set(os.listdir("/proc/self/fd"))

def drain(caught):
    """A recorded ResourceWarning keeps its source alive: let go of them, quietly."""
    caught.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gc.collect()

def targets(value, unpack):
    return [value[i] for i in unpack] if unpack else [value]

def release(value, how):
    if how == "os.close":
        os.close(value)
    elif how == "__exit__":
        value.__exit__(None, None, None)
    else:
        getattr(value, how)()

results = {name: {} for name in cases}

def measure(phase):
    """All the releases first, then all the drops: a dropped object that something global
    keeps a while (subprocess._active, the current event loop) must not be collected while a
    release is measured."""
    for name, (expr, unpack, how) in cases.items():
        row = results[name]
        if "error" in row:
            continue
        try:
            phase(row, expr, unpack, how)
        except Exception as exc:
            row["error"] = f"{type(exc).__name__}: {exc}"

def released(row, expr, unpack, how):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        before = fds()
        value = eval(expr, ns)
        for item in targets(value, unpack):
            release(item, how)
        del value, item
        gc.collect()
        row["left"] = sorted(fds() - before)
        row["released_warned"] = [str(w.message)[:120] for w in caught
                                  if issubclass(w.category, ResourceWarning)]
    drain(caught)

def dropped(row, expr, unpack, how):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        before = fds()
        value = eval(expr, ns)
        row["held"] = len(fds() - before)
        del value
        gc.collect()
        row["dropped_warned"] = [str(w.message)[:120] for w in caught
                                 if issubclass(w.category, ResourceWarning)]
    drain(caught)
    for fd in fds() - before if how == "os.close" else ():  # dropped raw descriptors
        try:
            os.close(int(fd))
        except OSError:
            pass

measure(released)
measure(dropped)
with open(out, "w") as f:
    json.dump(results, f)
'''


def _stdlib_entries() -> dict[str, object]:
    """Registry entries of the standard library that hold something (not a lock's type)."""
    out = {}
    for name, resource in builtin_registry().by_name.items():
        top = name.split(".", 1)[0]
        if (top in sys.stdlib_module_names or top == "builtins") and resource.tracked and not (
            resource.on_receiver or resource.return_to
        ):
            out[name] = resource
    return out


def _how(resource) -> str:
    if resource.kind == "file descriptor":
        return "os.close"
    return resource.release[0].removesuffix("()")


def test_every_stdlib_entry_is_run_or_says_why_not() -> None:
    entries = set(_stdlib_entries())
    missing = sorted(entries - set(CASES) - set(NOT_RUN))
    assert not missing, f"stdlib entries neither run nor excused: {missing}"
    assert not set(CASES) & set(NOT_RUN)
    assert set(CASES) <= entries, sorted(set(CASES) - entries)


@pytest.fixture(scope="module")
def claims(tmp_path_factory) -> dict[str, dict]:
    registry = builtin_registry()
    cases = {
        name: (expr, list(registry.get(name).unpack), _how(registry.get(name)))
        for name, expr in CASES.items()
    }
    out = tmp_path_factory.mktemp("claims") / "out.json"
    proc = subprocess.run(
        [sys.executable, "-X", "dev", "-c", RUNNER, SETUP, json.dumps(cases), str(out)],
        capture_output=True, text=True, timeout=240, check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"},
    )
    assert proc.returncode == 0 and out.exists(), proc.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="counts descriptors in /proc")
@pytest.mark.parametrize("name", sorted(CASES))
def test_stdlib_entry_leaks_when_dropped_and_not_when_released(name: str, claims) -> None:
    row = claims[name]
    assert "error" not in row, row["error"]
    assert row["held"] > 0 or row["dropped_warned"], (
        f"{name}: dropped without release it neither held a descriptor nor warned: {row}"
    )
    assert not row["left"] and not row["released_warned"], (
        f"{name}: released as the registry says ({_how(builtin_registry().get(name))}), it "
        f"still left {row['left']} / warned {row['released_warned']}"
    )
