"""Throw-away scripts: what the end of the process reclaims.

A *script* is a file run as a program and never imported: it has a top-level ``if __name__ ==
"__main__":`` block; its folder is no package, no project's root (``pyproject.toml``,
``setup.py``, ``setup.cfg``) and holds no package (``site-packages``, the standard library's
folder) — unless it is named as a folder of programs (``examples/``, ``benchmarks/``,
``scripts/``, ``tools/``: ``PROGRAM_FOLDERS``), package or not; no module of the project
imports it by name; and it is not a test module (a test's failing path is a real leak:
``benchmarks/realworld/README.md``). ``examples/pubsub/subscriber.py`` and
``tools/release.py`` are scripts; ``bottle.py`` (beside its setup.py, imported by its tests)
and ``perf/perf.py`` (imported by ``perf/collect.py``) are not.

In a script a resource acquired once per run is reclaimed when the process ends, right after
the function that holds it returns or raises: a leak of it is not worth a finding (first
contact round 3: 44 of pyzmq's 103 findings, all judged debatable by both blind judges). One
acquired in a loop, or in a function some loop of the script calls (or that it hands on as a
callback), accumulates while the script runs and is still reported; so are leaks that the end
of the process does not undo (a lock never released, a protocol broken). ``strict = true``
reports them all.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Callable, Iterable

#: Rules whose leak the end of the process undoes (a descriptor, a socket, a connection the
#: server drops, a temporary file's handle): not LL140 (a lock a thread waits on), nor the
#: protocol rules, nor the async ones (an event loop's end does not close them cleanly).
RECLAIMED_AT_EXIT = frozenset({"LL100", "LL101", "LL102", "LL110", "LL120", "LL130", "LL150"})

_MAIN_GUARD = re.compile(rb"^if\s+__name__\s*==\s*['\"]__main__['\"]\s*:", re.M)
_LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp,
          ast.GeneratorExp)


def is_test_module(path: str) -> bool:
    """``test_x.py``, ``x_test.py``, ``conftest.py``, or a file under a ``test``/``tests``
    folder: run by a test runner, whose failing path counts."""
    base = os.path.basename(path)
    if base.startswith("test") or base.endswith("_test.py") or base == "conftest.py":
        return True
    parts = os.path.normpath(os.path.dirname(path)).split(os.sep)
    return any(part in ("test", "tests", "testing") for part in parts)


def is_script(data: bytes, path: str, module: str, imported: Iterable[str]) -> bool:
    """Is the file at ``path`` (module ``module``) a throw-away script (see the module's
    docstring)? ``imported``: the module names the project's modules import."""
    if not _MAIN_GUARD.search(data) or is_test_module(path):
        return False
    if module in set(imported):
        return False
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.basename(folder).lower() in PROGRAM_FOLDERS:
        # ``kafka/benchmarks/load_example.py``: a package's folder of programs, run with
        # ``python -m``, none of them imported (first contact round 12)
        return True
    return not _importable_from(folder)


#: Folders that hold programs by convention, package or not: a module there with a main block
#: that no module of the project imports is run, not used as a library
PROGRAM_FOLDERS = frozenset(
    {"examples", "example", "benchmarks", "benchmark", "bench", "scripts", "demos", "demo", "tools"}
)


#: Files that make a folder a project's root, whose modules a distribution installs
_PROJECT_FILES = ("__init__.py", "pyproject.toml", "setup.py", "setup.cfg")


def _importable_from(folder: str) -> bool:
    """Is a module in ``folder`` one others import: the folder is a package, a project's root
    (``mylib.py`` beside ``pyproject.toml``), or a folder of packages (``site-packages``, the
    standard library's folder), not one of scripts (``examples/pubsub``, ``tools``)?"""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return True
    for entry in entries:
        if entry.name in _PROJECT_FILES:
            return True
        try:
            if entry.is_dir() and os.path.exists(os.path.join(entry.path, "__init__.py")):
                return True
        except OSError:
            continue
    return False


def once_per_run(data: bytes) -> Callable[[int], bool] | None:
    """For a script's source: does the acquisition on a line run at most once per run (not in
    a loop, nor in a function or class that a loop of the script calls, directly or through
    others)? None when the source does not parse (then nothing is exempt)."""
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    walker = _Walker()
    try:
        walker.visit(tree)
    except RecursionError:
        return None
    repeated = set(walker.called_in_loops)
    todo = list(repeated)
    while todo:
        for _, _, calls in walker.definitions.get(todo.pop(), ()):
            for name in calls - repeated:
                repeated.add(name)
                todo.append(name)
    ranges = [
        (start, end, name)
        for name, defs in walker.definitions.items()
        if name in repeated
        for start, end, _ in defs
    ]

    def once(line: int) -> bool:
        if any(start <= line <= end for start, end in walker.loops):
            return False
        return not any(start <= line <= end for start, end, _ in ranges)

    return once


class _Walker(ast.NodeVisitor):
    """One pass: the loops' line ranges, the names called inside a loop, and each function's
    or class's range with the names called in it."""

    def __init__(self) -> None:
        self.loops: list[tuple[int, int]] = []
        self.called_in_loops: set[str] = set()
        self.definitions: dict[str, list[tuple[int, int, set[str]]]] = {}
        self.depth = 0
        self.open: list[set[str]] = []  # the calls of each definition being walked

    def generic_visit(self, node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            calls: set[str] = set()
            end = node.end_lineno or node.lineno
            self.definitions.setdefault(node.name, []).append((node.lineno, end, calls))
            self.open.append(calls)
            super().generic_visit(node)
            self.open.pop()
            return
        if isinstance(node, ast.Call) and (name := _callee(node)) is not None:
            for calls in self.open:
                calls.add(name)
            if self.depth:
                self.called_in_loops.add(name)
        if isinstance(node, ast.Call):
            # ``runner.bench_time_func("x", func)``: a function handed on as a callback may be
            # called any number of times, as if in a loop (first contact round 12, pyperf);
            # not a thread's or a process's ``target=``, run once by the one it starts
            for arg in (*node.args, *(k.value for k in node.keywords if k.arg != "target")):
                if isinstance(arg, ast.Name):
                    self.called_in_loops.add(arg.id)
        loop = isinstance(node, _LOOPS)
        if loop:
            self.loops.append((node.lineno, node.end_lineno or node.lineno))
            self.depth += 1
        super().generic_visit(node)
        if loop:
            self.depth -= 1


def _callee(call: ast.Call) -> str | None:
    """The name a call reaches a function or class of the script by: ``f(x)``,
    ``self.f(x)``, ``Client()``."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None
