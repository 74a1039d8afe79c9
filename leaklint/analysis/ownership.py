"""Who takes a resource off our hands: the callees and methods that own what they are given.

Policy (documented in the README and the LL100 docs): a resource passed to one of these is
discharged; passed to any other call it stays the caller's, except where the call builds
a new object that is kept (``conn = Connection(sock)``): a class constructor whose result
is bound, returned or stored may wrap the resource and is trusted to own it.
"""

from __future__ import annotations

#: Functions (qualified names) that take ownership of their arguments.
OWNING_FUNCTIONS = frozenset(
    {
        "contextlib.closing",
        "contextlib.aclosing",
        "contextlib.nullcontext",
        "functools.partial",  # keeps its arguments for as long as it lives
        "atexit.register",
        "weakref.finalize",
        "_thread.start_new_thread",
        "signal.signal",
    }
)

#: Methods that store or hand over their arguments: containers, exit stacks, executors.
OWNING_METHODS = frozenset(
    {
        "enter_context",
        "enter_async_context",
        "callback",
        "push",
        "push_async_callback",
        "push_async_exit",
        "append",
        "appendleft",
        "add",
        "extend",
        "insert",
        "put",
        "put_nowait",
        "register",
        "setdefault",
        "update",
        "submit",
        "apply_async",
        "map_async",
        "call_soon",
        "call_soon_threadsafe",
        "call_later",
        "run_in_executor",
        "addHandler",
        "add_done_callback",
        "set_result",
        "send",
        "__setitem__",
        "wrap_socket",  # ssl: the SSLSocket takes the socket over (the original is detached)
        # asyncio event loops: the transport they build owns the pipe or socket it is given
        "connect_read_pipe",
        "connect_write_pipe",
        "create_connection",
        "create_datagram_endpoint",
        "create_server",
        "create_unix_connection",
        "create_unix_server",
        "connect_accepted_socket",
        "open_connection",
        "start_server",
    }
)

#: Methods that build a new object over their argument and own it once they return (a
#: handshake that fails leaves it with the caller: leakfixes LF013).
WRAPPING_METHODS = frozenset({"wrap_socket"})

#: Methods named like setters hand their argument to the receiver
#: (``source.setByteStream(f)``, ``self.set_socket(sock)``, ``loop.add_reader``).
OWNING_METHOD_PREFIXES = (
    "set", "add", "attach", "register", "push", "put", "append", "start", "install", "begin"
)  # ``log.startLogging(f)``, ``handler.install(sock)``, ``sender.beginFileTransfer(f, c)``

#: ``self.assertIsInstance(f, ...)``, ``self.fail(...)``: the test case's own checks look at
#: their arguments and keep none (any other ``self.m(f)`` may store f on the object).
CHECKING_METHOD_PREFIXES = ("assert", "fail", "skipTest", "subTest")

#: A call whose callee name holds one of these words releases what it is given
#: (``os.close(fd)``, ``self._close_socket(s)``, ``safe_release(conn)``).
RELEASING_WORDS = ("close", "release", "shutdown", "cleanup", "terminate", "dispose", "destroy")

#: Words of a call that undoes a set-up (``os.chdir(old)``, ``gc.enable()``, ``patcher.stop()``,
#: ``removeObserver(o)``, ``tearDown()``), matched as whole words of the callee's name (or two
#: adjacent ones: ``tear_down``, ``set_profile``). With RELEASING_WORDS, what counts as
#: clean-up after a ``@contextmanager``'s yield (LL161). Not a release of an argument:
#: ``os.remove(path)`` leaves an open file open, so the obligation analysis does not use them.
UNDOING_WORDS = (
    "aclose",
    "cleanup",
    "teardown",
    "remove",
    "unlink",
    "rmtree",
    "stop",
    "restore",
    "kill",
    "unregister",
    "uninstall",
    "detach",
    "disable",
    "enable",
    "reset",
    "unpatch",
    "unlock",
    "disconnect",
    "setprofile",
    "settrace",
    "chdir",
)

#: Evidence from use (issue 23, item 1): a value a call gives, on which the same function calls
#: one of these, is a resource the code itself owns, whatever made it (``conn = bind.connect()``
#: ... ``conn.close()``). The obligation is discharged by any of them, or by ending the object
#: another way (``EVIDENCE_ALSO_RELEASES``: a process joined instead of terminated).
RELEASE_EVIDENCE = (
    "close", "shutdown", "disconnect", "terminate", "dispose", "quit", "aclose"
)
#: ``release()`` is evidence only of an ``acquire()`` (a lock's, a semaphore's): a value it is
#: called on without one (``conn.release()``) is returned to its pool, see CHECKIN_METHODS.
EVIDENCE_ALSO_RELEASES = ("join", "wait", "kill", "communicate", "__exit__", "__aexit__")

#: ``lock.acquire()`` ... ``lock.release()`` on any receiver (LL140); a pool's checkout
#: (``c = pool.getconn()``) given back with ``pool.putconn(c)`` (LL130): the pairing in the
#: code is the evidence.
CHECKOUT_METHODS = frozenset({"getconn", "get_connection", "acquire"})
CHECKIN_METHODS = frozenset({"putconn", "release"})

#: Context managers that swallow the exceptions of their body.
SUPPRESSING_CONTEXT_MANAGERS = frozenset({"contextlib.suppress"})

#: Decorators that turn a generator into a context manager (its ``yield`` lends, not gives),
#: and the kind of ``with`` it supports.
CONTEXT_MANAGER_DECORATORS = {
    "contextlib.contextmanager": "sync",
    "contextlib.asynccontextmanager": "async",
}


#: Decorators of generators whose ``yield`` lends to a test: pytest resumes them after it.
FIXTURE_DECORATORS = frozenset({"pytest.fixture", "pytest_asyncio.fixture"})


#: Named like setters, but they neither take their argument over nor ever release it: the
#: caller still owns it (``asyncio.set_event_loop(loop)`` makes it current and keeps a
#: reference; ``loop.close()`` is still the caller's; leakfixes LF054, LF055).
BORROWING_SETTERS = (
    "settimeout",
    "setblocking",
    "setsockopt",
    "set_event_loop",
    "set_inheritable",  # ``os.set_inheritable(fd, True)``: a flag on the caller's descriptor
    "set_blocking",
)


#: Functions that install their argument for the code that runs later (``set_event_loop``:
#: the thread's current loop): one the caller never uses itself after is handed to whoever
#: runs it (``CallsMixin.installs``); one it runs is still its own to close.
INSTALLING_FUNCTIONS = frozenset({"asyncio.set_event_loop"})


def is_owning_method(name: str) -> bool:
    """``stack.enter_context``, ``files.append``, ``source.setByteStream``: keeps its argument."""
    return name in OWNING_METHODS or (
        name.startswith(OWNING_METHOD_PREFIXES) and not name.startswith(BORROWING_SETTERS)
    )


def is_releasing_callee(name: str) -> bool:
    """``os.close``, ``_close_all``, ``release_conn``: a helper that releases its argument;
    ``xml.sax.parse(f, handler)``, which closes the stream it parsed."""
    last = name.rsplit(".", 1)[-1].lower()
    return name in RELEASING_FUNCTIONS or (
        any(word in last for word in RELEASING_WORDS) and not last.startswith("enclose")
    )


#: Functions that close the stream they are given when they are done with it.
RELEASING_FUNCTIONS = frozenset({"xml.sax.parse"})

#: Methods that close the stream they are given, by what made their object: an xml.sax
#: reader's ``parse(source)`` closes the source's stream when it is done (``_close_source``).
RELEASING_METHODS = {
    "xml.sax.make_parser": frozenset({"parse"}),
    "xml.sax.expatreader.create_parser": frozenset({"parse"}),
    "xml.sax.expatreader.ExpatParser": frozenset({"parse"}),
}


def releases_argument(made_by: set[str], method: str) -> bool:
    """``parser.parse(open(p))`` on ``parser = xml.sax.make_parser()``: the method closes it."""
    return bool(made_by) and all(
        method in RELEASING_METHODS.get(factory, frozenset()) for factory in made_by
    )


def is_constructor_name(name: str) -> bool:
    """``Connection``, ``io.TextIOWrapper``, ``ctx.wrap_socket``: a class or a wrapper, which
    keeps its argument."""
    last = name.rsplit(".", 1)[-1].lstrip("_")  # ``_LoadSourceCompatibility(...)`` too
    if last in ("cls", "klass"):  # ``cls(sock, ...)`` in a classmethod builds the class
        return True
    return (last[:1].isupper() and not last.isupper()) or "wrap" in last.lower()


#: Calls that do not raise in practice (MemoryError aside): between an acquisition and its
#: release they are not blamed for a leak. Qualified names, and method names for logging.
#: The model ("a statement that cannot raise"): a call whose only failures are a programming
#: error of its caller (a wrong type, an unhashable key) or MemoryError and KeyboardInterrupt,
#: which no clean-up handler is written for: constructors of plain containers and locks,
#: reading a clock, logging, adding to a container, asking a socket, lock, event or transport its
#: state, setting a socket's or descriptor's options, registering a live descriptor with a
#: selector. ``strict = true`` in the configuration (``Config.strict``) turns the table off:
#: every call is then an exit a leak can be blamed on.
NON_RAISING_FUNCTIONS = frozenset(
    {
        "builtins.memoryview",
        "builtins.super",  # ``super()`` in a method: fails only outside one
        "csv.reader",  # checks its dialect arguments; reads nothing until iterated
        "csv.writer",
        "socket.getdefaulttimeout",
        "sys.path.insert",  # a list's insert: fails only on a non-integer index
        "os.path.join",  # string work: fails only on a non-path argument
        "io.text_encoding",  # gives back its argument, or the default encoding's name
        "threading.Lock",
        "threading.RLock",
        "threading.Event",
        "threading.Condition",
        "threading.Thread",  # checks its arguments; starts nothing
        "threading.Timer",
        # gives the descriptor back even when it fails (EINTR is ignored; EIO from a network
        # file system reports an earlier write): no descriptor is left to leak
        "os.close",
        "threading.get_ident",
        # the thread object running this code (first contact round 12, kafka's poll records
        # its owner between a lock's acquire and the try/finally)
        "threading.current_thread",
        "threading.main_thread",
        "threading.get_native_id",
        "asyncio.set_event_loop",  # checks the argument's type; stores it
        "asyncio.create_task",  # schedules it on the running loop (none: the caller's error)
        "collections.deque",
        "builtins.dict",
        "builtins.list",
        "builtins.set",
        "builtins.object",
        "builtins.len",
        "builtins.hasattr",
        "builtins.range",
        "builtins.isinstance",
        "builtins.id",
        "builtins.callable",
        "weakref.ref",
        "weakref.WeakValueDictionary",
        "weakref.WeakKeyDictionary",
        "weakref.WeakSet",
        "logging.getLogger",
        "time.time",
        "time.monotonic",
        "time.perf_counter",
        "os.getpid",
        # a descriptor's state, asked of one just opened: fails only on a bad descriptor
        # (the caller's error; first contact round 10, s3transfer's os.fstat(f.fileno()))
        "os.fstat",
        # an asyncio transport's base constructors store their ``extra`` mapping: a
        # transport subclass's ``super().__init__(extra)`` cannot fail (round 10, asyncssh)
        "asyncio.BaseTransport",
        "asyncio.Transport",
        "asyncio.ReadTransport",
        "asyncio.WriteTransport",
        "asyncio.DatagramTransport",
        "asyncio.SubprocessTransport",
        "mimetypes.guess_type",  # string work on a name (the database is loaded once)
        # a descriptor's flag, a buffer in front of a raw file: fail only on a closed or bad
        # descriptor (the caller's error)
        "os.set_inheritable",
        "os.set_blocking",
        "io.BufferedReader",
        "io.BufferedWriter",
        "io.BufferedRWPair",
        "io.BufferedRandom",
    }
)

#: Methods that fail only on their caller's error on an object a factory here made
#: (``Scope.types_of``): a selector's ``register`` of a live descriptor (a closed one or one
#: registered twice is the caller's error) and its ``select`` (retried after a signal, PEP
#: 475: only KeyboardInterrupt leaves it). ``resource_tracker.register(...)`` is no selector's.
NON_RAISING_BY_MAKER = {
    "register": frozenset({"selectors.DefaultSelector", "selectors.SelectSelector",
                          "selectors.PollSelector", "selectors.EpollSelector",
                          "selectors.DevpollSelector", "selectors.KqueueSelector"}),
}
NON_RAISING_BY_MAKER["select"] = NON_RAISING_BY_MAKER["modify"] = NON_RAISING_BY_MAKER["register"]
#: A thread's ``start()`` fails only when started twice (the caller's error) or when no thread
#: can be made (resource exhaustion, like MemoryError). A child's ``kill``/``terminate``/
#: ``send_signal`` poll first and swallow ProcessLookupError (CPython 3.9+), and ``poll`` reaps
#: without raising: none is an exit between ``Popen`` and its ``wait()`` (first contact round 2:
#: websockets, jupyter-server).
NON_RAISING_BY_MAKER["start"] = frozenset({"threading.Thread", "threading.Timer"})
NON_RAISING_BY_MAKER["kill"] = NON_RAISING_BY_MAKER["terminate"] = frozenset({"subprocess.Popen"})
NON_RAISING_BY_MAKER["send_signal"] = NON_RAISING_BY_MAKER["poll"] = NON_RAISING_BY_MAKER["kill"]
#: A thread's Event: ``wait(timeout)`` gives back whether it was set (a bad timeout is the
#: caller's error; only KeyboardInterrupt leaves it), ``set``/``clear`` flip it under its lock
#: (first contact round 8: anyio's server thread waits on one before closing what it accepted).
NON_RAISING_BY_MAKER["wait"] = frozenset({"threading.Event"})
NON_RAISING_BY_MAKER["set"] = NON_RAISING_BY_MAKER["clear"] = NON_RAISING_BY_MAKER["wait"]

#: ``io.open(fd, closefd=False)``: wrapping a descriptor it is lent opens nothing (no path
#: lookup); it fails only on a bad descriptor or mode, the caller's error.
BORROWING_OPENS = frozenset({"builtins.open", "io.open", "os.fdopen"})
NON_RAISING_METHODS = frozenset(
    {
        "debug",
        "info",
        "warning",
        "warn",
        "error",
        "exception",
        "critical",
        "append",
        "appendleft",
        "add",  # a set's: fails only on an unhashable element
        "discard",
        "is_set",  # an Event's state
        "locked",
        "gettimeout",
        "addCleanup",  # unittest: registering a clean-up does not fail
        "setFormatter",  # logging: a handler's formatter is an attribute store
        "set_event_loop",  # a policy's: checks the argument's type, stores it
        # configuring a socket just made: fails only on a closed socket or a negative timeout
        "setblocking",
        "settimeout",
        "setsockopt",  # only an option or level the caller got wrong raises
        "set_inheritable",
        "fileno",
        "getsockname",  # a bound socket's own address (not getpeername: ENOTCONN)

        "__enter__",  # an object's own __enter__ gives itself back
        # a mapping's views: made without looking at a key (a dict's never fail)
        "items",
        "keys",
        "values",
        "getheader",  # a response's headers are parsed already
        "getheaders",
        # an asyncio transport's state: a lookup (with a default), or a KeyError for a pipe
        # the caller did not ask for
        "get_extra_info",
        "get_pipe_transport",
        "get_pid",
        "get_returncode",
        # scheduling a coroutine: fails only on the caller's error (not a coroutine, no
        # running loop) or a loop already closed; a future's callback is appended to a list
        "create_task",
        "add_done_callback",
        # a loop's callback queue: fails only on a closed loop or a callback that is not
        # callable, the caller's errors (first contact round 12: kafka's tests schedule the
        # reader of a socketpair before the try/finally)
        "call_soon",
        "call_soon_threadsafe",
    }
)

#: Functions that read the argument at this position to its end (a registry ``"read()"``
#: release: an HTTP response closes its connection at EOF): ``json.load`` calls ``read()``,
#: ``shutil.copyfileobj`` reads until ``read(n)`` gives nothing.
READS_TO_THE_END = {"json.load": 0, "shutil.copyfileobj": 0}

#: Functions that read from (or write to) what they are given and keep nothing: a resource
#: passed to them is still the caller's, even in ``return json.load(open(p))``.
CONSUMING_FUNCTIONS = frozenset(
    {
        "json.load",
        "json.dump",
        "pickle.load",
        "pickle.dump",
        "marshal.load",
        "marshal.dump",
        "tomllib.load",
        "plistlib.load",
        "plistlib.dump",
        "csv.reader",
        "csv.writer",
        "csv.DictReader",
        "csv.DictWriter",
        "shutil.copyfileobj",
        "hashlib.file_digest",
        "yaml.load",
        "yaml.safe_load",
        "yaml.dump",
        "yaml.safe_dump",
        # calls given a raw descriptor: each works on it and leaves it open for its owner
        # (os.fdopen/open(fd) take it over instead: the registry's owns-arguments "@0")
        *(f"os.{name}" for name in (
            "read", "write", "pread", "pwrite", "readv", "writev", "preadv", "pwritev",
            "sendfile", "lseek", "fstat", "fstatvfs", "fsync", "fdatasync", "ftruncate",
            "fchmod", "fchown", "fchdir", "fpathconf", "isatty", "ttyname", "device_encoding",
            "get_inheritable", "set_inheritable", "get_blocking", "set_blocking",
            "get_terminal_size", "tcgetpgrp", "tcsetpgrp", "lockf", "posix_fallocate",
            "posix_fadvise", "dup", "dup2",
        )),
        "fcntl.fcntl",
        "fcntl.ioctl",
        "fcntl.flock",
        "fcntl.lockf",
        "termios.tcgetattr",
        "termios.tcsetattr",
        "termios.tcdrain",
        "termios.tcflush",
        "tty.setraw",
        "tty.setcbreak",
    }
)


def consumes(qualname: str) -> bool:
    """Builtins and ``CONSUMING_FUNCTIONS`` use their argument and keep nothing."""
    return qualname.startswith("builtins.") or qualname in CONSUMING_FUNCTIONS


#: Factories of files with a buffer in front of the descriptor (unless opened unbuffered,
#: see ``Scope.unbuffered``): a short write lands in the buffer.
BUFFERED_FILE_FACTORIES = frozenset(
    {
        "builtins.open",
        "io.open",
        "tempfile.TemporaryFile",
        "tempfile.NamedTemporaryFile",
        "tempfile.SpooledTemporaryFile",
    }
)

#: Calls that cannot raise when given a literal their contract accepts: ``time.sleep(0.1)``
#: (only a negative or non-number duration raises).
_NON_RAISING_WITH_A_NUMBER = frozenset({"time.sleep"})


#: Factories that, given constant arguments, fail only when the process or the machine runs
#: out of descriptors or disk (EMFILE, ENOSPC): a resource left open because the next
#: ``socketpair()`` or ``mkstemp()`` raised is the rubric's "practically never raises"
#: (first contact round 6: four such LL101 findings, all judged debatable). ``--strict``
#: still counts them.
FAIL_ONLY_WHEN_EXHAUSTED = frozenset(
    {
        "socket.socketpair",
        "os.pipe",
        "os.pipe2",
        "select.epoll",
        "selectors.DefaultSelector",
        "selectors.EpollSelector",
        "selectors.PollSelector",
        "selectors.SelectSelector",
        "tempfile.TemporaryFile",
        "tempfile.NamedTemporaryFile",
        "tempfile.SpooledTemporaryFile",
        "tempfile.mkstemp",
        "tempfile.mkdtemp",
        "tempfile.TemporaryDirectory",
    }
)


def cannot_raise(qualname: str | None, func: object, one_number: bool = False) -> bool:
    """``threading.RLock()``, ``logger.debug(...)``, ``items.append(x)``; ``time.sleep(0.1)``
    (``one_number``: the only argument is a number literal): no exit to blame."""
    if qualname is not None and qualname in NON_RAISING_FUNCTIONS:
        return True
    if one_number and qualname in _NON_RAISING_WITH_A_NUMBER:
        return True
    attr = getattr(func, "attr", None)
    return attr is not None and attr.value in NON_RAISING_METHODS


#: Calls that run or schedule the coroutine they are given and return its result:
#: ``srv = loop.run_until_complete(asyncio.start_server(...))`` is the caller's server.
_RUNNING_COROUTINES = frozenset(
    {
        "run_until_complete",
        "run_coroutine_threadsafe",
        "wait_for",
        "ensure_future",
        "create_task",
        "shield",
        "gather",
    }
)


def runs_coroutine(name: str) -> bool:
    """``loop.run_until_complete(c)``, ``asyncio.wait_for(c, t)``: what ``c`` makes is handed on."""
    return name.rsplit(".", 1)[-1] in _RUNNING_COROUTINES
