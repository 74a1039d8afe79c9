"""``pytest --leaklint``: catch the leaks that happen while the tests run.

CPython emits ``ResourceWarning`` when a file, socket, process, ... is collected unreleased,
and ``RuntimeWarning`` for a coroutine that was never awaited, but the warning points where
the object died, and pytest's default filters drop it. With ``--leaklint`` this plugin starts
``tracemalloc``, records those warnings in each test (including the ones raised from
``__del__``, which reach ``sys.unraisablehook``), runs the garbage collector at the end of each
test so a leak surfaces in the test that caused it, and asks tracemalloc
where the object was allocated: the first frame of that traceback inside the project.

At the end: a terminal section by allocation site, ``--leaklint-report FILE`` (JSON, read by
``leaklint check --runtime-report``), and with ``--leaklint-fail`` a test that leaked fails.

Registered through the ``pytest11`` entry point, so it is loaded by every pytest run of an
environment that has leaklint: without ``--leaklint`` it only adds its options.
"""

from __future__ import annotations

import gc
import os
import re
import sys
import sysconfig
import tracemalloc
import types
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from leaklint.runtime import RuntimeLeak, RuntimeReport, ordered, write_report

DEFAULT_FRAMES = 16

_NEVER_AWAITED = r"coroutine .* was never awaited"
#: coroutines whose never-awaited call leaklint reports statically (LL203)
_CLEANUP_COROUTINES = frozenset({"aclose", "close", "__aexit__", "wait_closed", "shutdown"})
#: runtime types that no factory of the registry is named after → the factory that makes them
_MADE_BY = {
    "_io.TextIOWrapper": "builtins.open",
    "_io.BufferedReader": "builtins.open",
    "_io.BufferedWriter": "builtins.open",
    "_io.BufferedRandom": "builtins.open",
    "_io.FileIO": "io.FileIO",
    "sqlite3.Connection": "sqlite3.connect",
}
#: asyncio objects that warn when collected open: async resources (LL200)
_ASYNC_KINDS = {
    "asyncio.base_events.BaseEventLoop": "event loop",
    "asyncio.transports.BaseTransport": "transport",
    "asyncio.streams.StreamWriter": "stream",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("leaklint", "resource leaks at runtime (leaklint)")
    group.addoption(
        "--leaklint",
        action="store_true",
        help="Record the ResourceWarnings and never-awaited coroutines of each test, with "
        "where the object was allocated (tracemalloc); a section at the end lists them.",
    )
    group.addoption(
        "--leaklint-frames",
        type=int,
        default=DEFAULT_FRAMES,
        metavar="N",
        help=f"Frames tracemalloc keeps per allocation (default {DEFAULT_FRAMES}); more finds "
        "the project's frame under deeper library calls, and costs more.",
    )
    group.addoption(
        "--leaklint-fail",
        action="store_true",
        help="A test that leaked fails (implies --leaklint).",
    )
    group.addoption(
        "--leaklint-report",
        metavar="FILE",
        help="Write the leaks as JSON, for `leaklint check --runtime-report FILE` (implies "
        "--leaklint).",
    )


def pytest_configure(config: pytest.Config) -> None:
    opt = config.option
    if not (opt.leaklint or opt.leaklint_fail or opt.leaklint_report):
        return
    if opt.leaklint_frames < 1:
        raise pytest.UsageError("--leaklint-frames must be 1 or more")
    config.pluginmanager.register(LeakRecorder(config), "leaklint-recorder")


def _show_leaks() -> None:
    """Rewrite the warning filters in force so that a leak warning is always shown where they
    would ignore it (or show it once): before each filter that can match one, the same
    filter with ``always`` for it. A filter that makes it an error stays in front of those."""
    current = list(warnings.filters)
    warnings.resetwarnings()

    def add(action: str, message: Any, category: type[Warning], module: Any, lineno: int) -> None:
        warnings.filterwarnings(
            action,  # type: ignore[arg-type]
            getattr(message, "pattern", message or ""),
            category,
            getattr(module, "pattern", module or ""),
            lineno,
            append=True,
        )

    for action, message, category, module, lineno in current:
        if action != "error":
            if issubclass(ResourceWarning, category):
                add("always", message, ResourceWarning, module, lineno)
            if issubclass(RuntimeWarning, category) and message is None:
                add("always", _NEVER_AWAITED, RuntimeWarning, module, lineno)
        add(action, message, category, module, lineno)
    # where no filter matches, Python shows a warning once per line: always, here
    add("always", None, ResourceWarning, None, 0)
    add("always", _NEVER_AWAITED, RuntimeWarning, None, 0)


def _is_leak(category: type[Warning], message: str) -> bool:
    if issubclass(category, ResourceWarning):
        return True
    return issubclass(category, RuntimeWarning) and re.match(_NEVER_AWAITED, message) is not None


def classify(source: object, category: type[Warning]) -> tuple[str, str | None]:
    """The kind of a leaked object and the rule that reports that kind statically: the
    registry's entry for its type (or the factory that makes it), asyncio's objects, a
    coroutine; any other ResourceWarning is a resource that was not released (LL100)."""
    if isinstance(source, types.CoroutineType) or not issubclass(category, ResourceWarning):
        name = getattr(source, "__name__", "")
        return "coroutine", "LL203" if name in _CLEANUP_COROUTINES else None
    from leaklint.resources import builtin_registry

    registry = builtin_registry()
    for cls in type(source).__mro__ if source is not None else ():
        name = f"{cls.__module__}.{cls.__qualname__}"
        entry = registry.get(_MADE_BY.get(name, name))
        if entry is not None:
            return entry.kind, entry.code or ("LL200" if entry.is_async else "LL100")
        if name in _ASYNC_KINDS:
            return _ASYNC_KINDS[name], "LL200"
    return "resource", "LL100"


#: what ``sys.unraisablehook`` gets as the object when a Python ``__del__`` raised
_FUNCTIONS = (types.FunctionType, types.MethodType, types.BuiltinFunctionType)
#: Py_TPFLAGS_MANAGED_DICT: CPython 3.11 keeps two pointers before such an object's GC header
_MANAGED_DICT = 1 << 4


def allocation(obj: object) -> tracemalloc.Traceback | None:
    """Where tracemalloc saw ``obj`` allocated. CPython 3.11's ``get_object_traceback`` looks
    for the block at the wrong address for instances of classes with a managed ``__dict__``
    (every plain class: ``subprocess.Popen``, the event loops), so there the block is looked
    up where it does start: before the GC header and the two pointers in front of it."""
    traced = tracemalloc.get_object_traceback(obj)
    if traced is not None or sys.version_info[:2] != (3, 11):
        return traced
    if sys.implementation.name != "cpython" or not type(obj).__flags__ & _MANAGED_DICT:
        return None
    import ctypes

    lookup = ctypes.pythonapi._PyTraceMalloc_GetTraceback
    lookup.restype = ctypes.py_object
    lookup.argtypes = [ctypes.c_uint, ctypes.c_size_t]
    frames = lookup(0, id(obj) - 4 * ctypes.sizeof(ctypes.c_void_p))
    return tracemalloc.Traceback(frames) if frames else None


def _repr(source: object, message: str) -> str:
    """The object's repr; from the warning's text when it has none (or it fails)."""
    if source is not None:
        try:
            return repr(source)
        except Exception:  # noqa: BLE001 - a half-finalised object may fail its repr
            pass
    match = re.search(r"<.*>", message)
    return match.group(0) if match else message


class _Site:
    """Where paths are: inside the project (below pytest's rootdir, not in an environment or
    the standard library), and how to write them (relative to the rootdir)."""

    def __init__(self, root: Path) -> None:
        self.root = str(root.resolve())
        outside = {sysconfig.get_paths().get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
        outside.add(str(Path(__file__).resolve()))
        self.outside = tuple(os.path.realpath(p) for p in outside if p)
        self._cache: dict[str, tuple[bool, str]] = {}

    def where(self, filename: str) -> tuple[bool, str]:
        """(inside the project, the path to show)"""
        known = self._cache.get(filename)
        if known is None:
            real = os.path.realpath(filename)
            parts = Path(real).parts
            inside = (
                not filename.startswith("<")
                and (real == self.root or real.startswith(self.root + os.sep))
                and not any(real == p or real.startswith(p + os.sep) for p in self.outside)
                and "site-packages" not in parts
                and "dist-packages" not in parts
            )
            relative = os.path.relpath(real, self.root) if real.startswith(self.root + os.sep) else real
            known = self._cache[filename] = (inside, Path(relative).as_posix())
        return known


class LeakRecorder:
    """Registered by ``pytest_configure`` when ``--leaklint`` is on: one per session."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.fail = bool(config.option.leaklint_fail)
        self.report_path = config.option.leaklint_report
        self.site = _Site(config.rootpath)
        self.started_tracemalloc = False
        self.frames = config.option.leaklint_frames
        #: (path, line, code, kind) → the leak as seen so far
        self.leaks: dict[tuple[str, int, str | None, str], RuntimeLeak] = {}
        self.pending: list[RuntimeLeak] = []  # this phase's leaks, one per object
        self.label = "(collection)"  # the test id leaks are charged to
        self.tests = 0

    # --- recording ----------------------------------------------------------------------

    @contextmanager
    def capturing(self) -> Iterator[None]:
        """Record leak warnings, and let every other warning through to whoever shows them
        (pytest's own recorder, in a test): filters that show them where they would be
        ignored, a hook where warnings are shown, and one where ``__del__`` reports a warning
        that a filter made an error (recorded, then passed on: the test fails as it would)."""
        with warnings.catch_warnings():  # restores the filters and the hook below
            _show_leaks()
            show = warnings._showwarnmsg_impl  # type: ignore[attr-defined]

            def shown(msg: warnings.WarningMessage) -> None:
                if _is_leak(msg.category, str(msg.message)):
                    self.record(msg.category, str(msg.message), msg.source, msg.filename, msg.lineno)
                else:
                    show(msg)

            warnings._showwarnmsg_impl = shown  # type: ignore[attr-defined]
            unraisable = sys.unraisablehook

            def hook(args: Any) -> None:
                error = args.exc_value
                if isinstance(error, Warning) and _is_leak(type(error), str(error)):
                    source = None if isinstance(args.object, _FUNCTIONS) else args.object
                    tb = args.exc_traceback
                    while tb is not None and tb.tb_next is not None:
                        tb = tb.tb_next
                    filename = tb.tb_frame.f_code.co_filename if tb else "<unknown>"
                    self.record(type(error), str(error), source, filename, tb.tb_lineno if tb else 0)
                unraisable(args)

            sys.unraisablehook = hook
            try:
                yield
            finally:
                sys.unraisablehook = unraisable

    def record(
        self, category: type[Warning], message: str, source: object, filename: str, lineno: int
    ) -> None:
        """One leaked object. Runs inside ``__del__`` and the collector: never raises."""
        try:
            self._record(category, message, source, filename, lineno)
        except Exception:  # noqa: BLE001 - losing one leak beats breaking the test run
            pass

    def _record(
        self, category: type[Warning], message: str, source: object, filename: str, lineno: int
    ) -> None:
        traced = allocation(source) if source is not None else None
        frames = [(f.filename, f.lineno) for f in reversed(traced)] if traced else []
        shown = [(self.site.where(name), line) for name, line in frames]
        inside = [(path, line) for (ok, path), line in shown if ok]
        if inside:
            path, line = inside[0]
        elif shown:
            (_, path), line = shown[0]
        else:
            path, line = self.site.where(filename)[1], lineno
        kind, code = classify(source, category)
        one = RuntimeLeak(
            path=path,
            line=line,
            code=code,
            kind=kind,
            category=category.__name__,
            resource=_repr(source, message),
            message=message,
            tests=(self.label,),
            allocated=bool(frames),
            traceback=tuple((p, n) for (_, p), n in shown),
        )
        self.pending.append(one)
        key = (path, line, code, kind)
        seen = self.leaks.get(key)
        if seen is None:
            self.leaks[key] = one
        else:
            tests = seen.tests if self.label in seen.tests else (*seen.tests, self.label)
            self.leaks[key] = replace(seen, tests=tests, count=seen.count + 1)

    # --- pytest hooks ---------------------------------------------------------------------

    @pytest.hookimpl(hookwrapper=True)
    def pytest_collection(self) -> Iterator[None]:
        with self.capturing():
            yield

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self) -> None:
        """tracemalloc from here on: collection imports the project and its libraries, and
        tracing every allocation of those imports would cost more than all the tests (a
        leak of an object made in collection is reported where it was collected)."""
        if not tracemalloc.is_tracing():
            tracemalloc.start(self.frames)
            self.started_tracemalloc = True
        self.frames = tracemalloc.get_traceback_limit()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
        self.label = item.nodeid
        self.tests += 1
        with self.capturing():
            yield
        self.pending = []  # after the last report: in the summary, charged to this test
        self.label = "(between tests)"

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Iterator[None]:
        yield
        # The fixtures are finalised; pytest lets go of their values only after the teardown
        # report (``item.funcargs = None``): let go now, so a fixture's leak is this test's.
        funcargs = getattr(item, "funcargs", None)
        if isinstance(funcargs, dict):
            funcargs.clear()
        # Once per test (a full collection is most of the plugin's cost): a leak held only by
        # a reference cycle surfaces now, in the test that made it.
        gc.collect()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item) -> Iterator[None]:
        outcome = yield
        report = outcome.get_result()
        leaked, self.pending = self.pending, []
        if not leaked:
            return
        n = len(leaked)
        text = "\n".join(
            [f"leaklint: {n} resource{'' if n == 1 else 's'} leaked in this test:"]
            + [f"  {leak.what()}" for leak in leaked]
        )
        if self.fail and report.passed and not hasattr(report, "wasxfail"):
            report.outcome = "failed"
            report.longrepr = text + "\n(--leaklint-fail)"
        else:
            report.sections.append((f"leaklint: leaks in {report.when}", text))

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.label = "(session end)"
        with self.capturing():
            gc.collect()
        self.pending = []
        self.stop_tracing()  # what runs after the tests (plugins' summaries) runs at full speed
        if self.report_path:
            write_report(self.report_path, self.report())

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        leaks = ordered(self.leaks.values())
        n = self.tests
        tests = f"{n} test{'' if n == 1 else 's'}"
        if not leaks:
            terminalreporter.write_sep("-", f"leaklint: nothing leaked in {tests}")
        else:
            terminalreporter.write_sep("=", f"leaklint: resources leaked ({len(leaks)} sites)")
            for leak in leaks:
                terminalreporter.write_line(leak.describe())
            terminalreporter.write_line(
                f"(allocation sites from tracemalloc, {self.frames} frames; {tests} ran)"
            )
        if self.report_path:
            terminalreporter.write_line(f"leaklint: wrote {self.report_path}")

    def pytest_unconfigure(self) -> None:
        self.stop_tracing()

    def stop_tracing(self) -> None:
        if self.started_tracemalloc:
            tracemalloc.stop()
            self.started_tracemalloc = False

    def report(self) -> RuntimeReport:
        return RuntimeReport(
            root=self.site.root, leaks=tuple(ordered(self.leaks.values())), tests=self.tests,
            frames=self.frames,
        )

