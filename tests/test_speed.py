"""What the speed-ups must never change: the pre-filter, worker processes and the cache give
the same findings as the plain serial run, on the fixtures and on a fixed sample of this
Python's standard library. The cache also survives damaged entries, a folder it cannot
write, two writers at once and a cache from another leaklint. Behaviour only, no timings.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

import pytest

from leaklint import manifest, pool, summary_pass
from leaklint.cache import Cache
from leaklint.config import Config
from leaklint.core import FileResult, Finding
from leaklint.runner import Target, check_paths, discover

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_SIZE = 150
SAMPLE_MAX_BYTES = 60_000


def _stdlib_sample() -> list[Target]:
    """Every n-th file of the sorted stdlib (no site-packages, no test folders), small ones
    only: the same files on every run of one Python."""
    root = Path(sysconfig.get_paths()["stdlib"])
    every = sorted(
        t.path
        for t in discover([str(root)], Config(root=str(root)))
        if not {"test", "tests", "idle_test"} & set(Path(t.path).relative_to(root).parts)
        and os.path.getsize(t.path) <= SAMPLE_MAX_BYTES
    )
    step = max(1, len(every) // SAMPLE_SIZE)
    return [Target(path) for path in every[::step][:SAMPLE_SIZE]]


def _findings(results: list[FileResult]) -> list[tuple[str, tuple[Finding, ...]]]:
    return [(r.path, r.findings) for r in results]


@pytest.fixture(scope="module")
def sample() -> list[Target]:
    return _stdlib_sample()


@pytest.fixture(scope="module")
def fixtures() -> list[Target]:
    return discover([str(ROOT / "fixtures")], Config(root=str(ROOT)))


@pytest.fixture(scope="module")
def serial(sample: list[Target]) -> list[FileResult]:
    """The reference: one process, no cache, pre-filter on."""
    return check_paths(sample, Config(), jobs=1)


def test_the_sample_is_a_real_sample(sample: list[Target], serial: list[FileResult]) -> None:
    assert len(sample) >= 100
    assert sum(len(r.findings) for r in serial) > 0  # the comparisons below compare something


# --------------------------------------------------------------------------- pre-filter


@pytest.mark.slow
def test_prefilter_changes_nothing_on_the_stdlib_sample(
    sample: list[Target], serial: list[FileResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAKLINT_NO_PREFILTER", "1")
    unfiltered = check_paths(sample, Config(), jobs=1)
    assert _findings(unfiltered) == _findings(serial)


def test_prefilter_changes_nothing_on_the_fixtures(
    fixtures: list[Target], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = Config(root=str(ROOT))
    filtered = check_paths(fixtures, config, jobs=1)
    monkeypatch.setenv("LEAKLINT_NO_PREFILTER", "1")
    unfiltered = check_paths(fixtures, config, jobs=1)
    assert sum(len(r.findings) for r in filtered) > 50
    assert _findings(unfiltered) == _findings(filtered)


def test_the_statement_filter_changes_nothing_on_the_fixtures(
    fixtures: list[Target], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The statement filter on every file, not only where it guesses that it pays."""
    import leaklint.prefilter as prefilter

    config = Config(root=str(ROOT))
    monkeypatch.setattr(prefilter, "_worth_reducing", lambda *args: True)
    filtered = check_paths(fixtures, config, jobs=1)
    monkeypatch.setenv("LEAKLINT_NO_PREFILTER", "1")
    unfiltered = check_paths(fixtures, config, jobs=1)
    assert _findings(unfiltered) == _findings(filtered)


#: Definitions that name nothing that can acquire, yet change the findings of code that does.
STATEMENT_FILTER_CASES = {
    "a function closes a module-level connection": (
        "import sqlite3\nwith sqlite3.connect('x') as conn:\n    pass\n\n"
        "def shutdown():\n    conn.close()\n"
    ),
    "a decorator may raise while a connection is held": (
        "import sqlite3\nwith sqlite3.connect('x') as conn:\n    pass\n\n"
        "@deco()\ndef f():\n    pass\n\nconn.close()\n"
    ),
    "a base class may raise while a connection is held": (
        "import sqlite3\nwith sqlite3.connect('x') as conn:\n    pass\n\n"
        "class A(make()):\n    pass\n\nconn.close()\n"
    ),
    "an alias of a factory": (
        "from subprocess import Popen as P\n\ndef run(cmd):\n    p = P(cmd)\n    print(p.pid)\n"
    ),
    "a local def shadows the builtin": (
        "def open(path):\n    return path\n\ndef read(path):\n    f = open(path)\n    return f.read()\n"
    ),
    "a project context manager in the wrong with": (
        "class Gate:\n    async def __aenter__(self):\n        return self\n\n"
        "    async def __aexit__(self, *exc):\n        return None\n\n"
        "def use():\n    with Gate():\n        pass\n"
    ),
    # methods of a kept class that name nothing that can acquire, yet matter
    "an exit calls a method that never returns": (
        "import socket\n\nclass Guard:\n    def __enter__(self):\n        return self\n\n"
        "    def __exit__(self, *exc):\n        self._fail()\n        return True\n\n"
        "    def _fail(self):\n        raise RuntimeError('no')\n\n"
        "    def idle(self):\n        return 1\n\n"
        "def use():\n    s = socket.socket()\n    return s\n"
    ),
    "a method acquires through the attribute a resource is stored in": (
        "from psycopg2.pool import SimpleConnectionPool\n\nclass Store:\n"
        "    def __init__(self):\n        self.pool = SimpleConnectionPool(1, 2)\n\n"
        "    def query(self):\n        conn = self.pool.getconn()\n        conn.cursor()\n\n"
        "    def idle(self):\n        return 1\n"
    ),
    "a method acquires through an attribute a local name was stored in": (
        "from psycopg2.pool import SimpleConnectionPool\n\nclass Store:\n"
        "    def __init__(self):\n        pool = SimpleConnectionPool(1, 2)\n"
        "        self.pool = pool\n\n"
        "    def query(self):\n        conn = self.pool.getconn()\n        conn.cursor()\n"
    ),
    "a close() that releases what a method stored names no factory": (
        "import socket\n\nclass Client:\n    def connect(self):\n"
        "        self.sock = socket.create_connection(('h', 1))\n\n"
        "    def close(self):\n        self.sock.close()\n\n"
        "    def idle(self):\n        return 1\n"
    ),
    "a method closes a module-level connection": (
        "import sqlite3\nwith sqlite3.connect('x') as conn:\n    pass\n\nclass Db:\n"
        "    def make(self):\n        return open('p')\n\n"
        "    def shutdown(self):\n        conn.close()\n"
    ),
    "a method reads what the class body acquired": (
        "import sqlite3\n\nclass Db:\n    with sqlite3.connect('x') as conn:\n        pass\n\n"
        "    def make(self):\n        return open('p')\n\n    def shutdown(self):\n        conn.close()\n"
    ),
    "an exit of a nested class calls a method that never returns": (
        "import socket\n\nclass Outer:\n    def make(self):\n        return socket.socket()\n\n"
        "    class Inner:\n        def __enter__(self):\n            return self\n\n"
        "        def __exit__(self, *exc):\n            self._fail()\n            return True\n\n"
        "        def _fail(self):\n            raise RuntimeError('no')\n"
    ),
}


@pytest.mark.parametrize("case", sorted(STATEMENT_FILTER_CASES))
def test_the_statement_filter_keeps_what_can_matter(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import leaklint.prefilter as prefilter

    monkeypatch.setattr(prefilter, "_worth_reducing", lambda *args: True)
    file = tmp_path / "module.py"
    for newline in ("\n", "\r\n"):
        file.write_bytes(("\ufeff" + STATEMENT_FILTER_CASES[case]).replace("\n", newline).encode())
        monkeypatch.delenv("LEAKLINT_NO_PREFILTER", raising=False)
        filtered = check_paths([Target(str(file))], Config(root=str(tmp_path)), jobs=1)
        monkeypatch.setenv("LEAKLINT_NO_PREFILTER", "1")
        unfiltered = check_paths([Target(str(file))], Config(root=str(tmp_path)), jobs=1)
        assert _findings(filtered) == _findings(unfiltered)


IDLE_METHODS = """\
import socket


class Client:
    retries = 3

    @property
    def name(self):
        return self._name

    def connect(self):
        self.sock = socket.create_connection(("h", 1))

    @staticmethod
    async def wait(a,
                   b):
        # nothing held here
        return a + b

    def close(self):
        self.sock.close()

    def __exit__(self, *exc):
        self._flush()

    def _flush(self):
        return None

    def describe(self):
        f = open("x")
        return f.read()
"""


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_idle_methods_of_a_kept_class_are_stand_ins(
    newline: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the methods that can matter reach libcst: ``name`` and ``wait`` become stand-ins
    on their ``def`` lines (decorators, name and ``async`` kept, the rest empty lines);
    ``close`` (it releases what ``connect`` stored), the exit and the method it calls stay,
    byte for byte, so every finding keeps its line and column."""
    import leaklint.core as core

    parsed: list[bytes] = []
    real = core.cst.parse_module
    monkeypatch.setattr(core.cst, "parse_module", lambda data: parsed.append(data) or real(data))
    monkeypatch.setattr("leaklint.prefilter._worth_reducing", lambda *args: True)
    source = ("\ufeff" + IDLE_METHODS).replace("\n", newline).encode()
    filtered = core.check_source(source, "client.py", Config()).findings
    (reduced,) = parsed
    lines, kept = source.splitlines(keepends=True), reduced.splitlines(keepends=True)
    assert len(kept) == len(lines)
    stand_ins = {8: b"    def name(): pass", 15: b"    async def wait(): pass"}
    emptied = {9, 16, 17, 18}
    for number, (line, reduced_line) in enumerate(zip(lines, kept), 1):
        if number in stand_ins:
            assert reduced_line == stand_ins[number] + newline.encode()
        elif number in emptied:
            assert reduced_line == newline.encode()
        else:
            assert reduced_line == line
    monkeypatch.setenv("LEAKLINT_NO_PREFILTER", "1")
    assert core.check_source(source, "client.py", Config()).findings == filtered
    assert [(f.line, f.col, f.code) for f in filtered] == [(23, 4, "LL163"), (30, 12, "LL100")]


def test_the_prefilter_switch_really_switches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file naming no factory is not parsed with the filter on, and is without it."""
    import leaklint.core as core

    parsed = tmp_path / "parsed.log"  # the analysis runs in a forked worker: it tells a file
    real = core.cst.parse_module

    def parse_module(data: object) -> object:
        with open(parsed, "a") as log:
            log.write("parsed\n")
        return real(data)

    monkeypatch.setattr(core.cst, "parse_module", parse_module)
    folder = tmp_path / "p"
    folder.mkdir()
    file = folder / "plain.py"
    file.write_text("def f(x):\n    return x + 1\n")
    check_paths([Target(str(file))], Config(root=str(folder)), jobs=1)
    assert not parsed.exists()
    monkeypatch.setenv("LEAKLINT_NO_PREFILTER", "1")
    check_paths([Target(str(file))], Config(root=str(folder)), jobs=1)
    assert parsed.read_text() == "parsed\n"


# --------------------------------------------------------------------------- workers


@pytest.mark.slow
def test_two_workers_give_what_one_process_gives(
    sample: list[Target], serial: list[FileResult]
) -> None:
    parallel = check_paths(sample, Config(), jobs=2)
    assert [r.path for r in parallel] == [t.path for t in sample]  # the targets' order
    assert _findings(parallel) == _findings(serial)


def _no_processes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """No worker can be started: every fork fails as it does out of processes (EAGAIN)."""
    asked: list[int] = []

    def start(self: object) -> None:
        asked.append(1)
        raise OSError("no processes here")

    monkeypatch.setattr(pool._context().Process, "start", start)
    return asked


def _daemonic(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """This process is a daemon (a worker of flake8 -j): it may not start children."""
    asked: list[int] = []
    real = multiprocessing.current_process()

    class Daemonic:
        daemon = True

    def current() -> object:
        asked.append(1)
        return Daemonic() if os.getpid() == parent else real

    parent = os.getpid()
    monkeypatch.setattr(multiprocessing, "current_process", current)
    return asked


def _broken_workers(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Workers start but fail every file (its result does not pickle, or a bug that shows in
    a worker only): each exits at once and the parent does the file itself."""
    from leaklint import core

    parent = os.getpid()
    real = core.check_source

    def check_source(*args: object, **kwargs: object) -> FileResult:
        if os.getpid() != parent:
            raise RuntimeError("broken in the worker")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(core, "check_source", check_source)
    asked: list[int] = []
    real_run = pool.run

    def counted(*args: object, **kwargs: object) -> list:
        asked.append(1)
        return real_run(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pool, "run", counted)
    return asked


@pytest.fixture(scope="module")
def fixture_results(fixtures: list[Target]) -> list[FileResult]:
    return check_paths(fixtures, Config(root=str(ROOT)), jobs=1)


@pytest.mark.parametrize("failure", [_no_processes, _daemonic, _broken_workers])
def test_a_pool_that_fails_falls_back_to_this_process(
    fixtures: list[Target],
    fixture_results: list[FileResult],
    monkeypatch: pytest.MonkeyPatch,
    failure: Callable[[pytest.MonkeyPatch], list[int]],
) -> None:
    asked = failure(monkeypatch)
    fallen_back = check_paths(fixtures, Config(root=str(ROOT)), jobs=2)
    assert asked  # the pool was really asked, and failed
    assert _findings(fallen_back) == _findings(fixture_results)


# --------------------------------------------------------------------------- cache


@pytest.mark.slow
def test_a_warm_cache_gives_what_a_cold_run_gives(
    sample: list[Target], serial: list[FileResult], tmp_path: Path
) -> None:
    cold = check_paths(sample, Config(), jobs=2, cache=Cache.open(tmp_path / "c"))
    assert len(list((tmp_path / "c" / "results").iterdir())) == len(sample)
    warm = check_paths(sample, Config(), jobs=2, cache=Cache.open(tmp_path / "c"))
    assert _findings(cold) == _findings(serial)
    assert _findings(warm) == _findings(serial)


def _project(root: Path) -> list[Target]:
    root.mkdir(exist_ok=True)
    (root / "helpers.py").write_text("def get(path):\n    return open(path)\n")
    (root / "main.py").write_text(
        "from helpers import get\n\ndef read(p):\n    f = get(p)\n    return f.read()\n"
    )
    (root / "other.py").write_text("import socket\n\ndef f():\n    s = socket.socket()\n")
    return discover([str(root)], Config(root=str(root)))


def _codes(results: list[FileResult]) -> set[tuple[str, int, str]]:
    return {(Path(f.path).name, f.line, f.code) for r in results for f in r.findings}


def test_the_cache_is_really_used(tmp_path: Path) -> None:
    """An entry doctored under the right key is what the next run reports."""
    targets = _project(tmp_path / "p")
    cache = Cache.open(tmp_path / "c")
    first = check_paths(targets, Config(root=str(tmp_path / "p")), jobs=1, cache=cache)
    assert ("main.py", 4, "LL100") in _codes(first)
    _doctor(cache)
    again = check_paths(targets, Config(root=str(tmp_path / "p")), jobs=1, cache=cache)
    assert all(f.code == "LL999" for r in again for f in r.findings)


def _doctor(cache: Cache) -> None:
    """Every result replaced by an LL999 one; the manifests (which hold the results of the
    runs they answer) removed, so the next run reads the results."""
    shutil.rmtree(cache.folder / "manifest", ignore_errors=True)
    for entry in (cache.folder / "results").iterdir():
        result = cache.get("results", entry.name)
        assert isinstance(result, FileResult)
        fake = Finding(result.path, 1, 0, "LL999", "from the cache")
        cache.put("results", entry.name, FileResult(result.path, (fake,)))


def test_an_edit_to_an_imported_helper_reaches_the_file_that_uses_it(tmp_path: Path) -> None:
    targets = _project(tmp_path / "p")
    config = Config(root=str(tmp_path / "p"))
    cache = Cache.open(tmp_path / "c")
    assert ("main.py", 4, "LL100") in _codes(check_paths(targets, config, jobs=1, cache=cache))
    (tmp_path / "p" / "helpers.py").write_text("def get(path):\n    return path\n")
    after = _codes(check_paths(targets, config, jobs=1, cache=cache))
    assert after == _codes(check_paths(targets, config, jobs=1))
    assert ("main.py", 4, "LL100") not in after and ("other.py", 4, "LL100") in after


def test_a_cache_from_another_leaklint_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    targets = _project(tmp_path / "p")
    config = Config(root=str(tmp_path / "p"))
    cache = Cache.open(tmp_path / "c")
    expected = check_paths(targets, config, jobs=1, cache=cache)
    _doctor(cache)
    for module in (summary_pass, manifest):  # the keys of summaries and results; the manifest's
        monkeypatch.setattr(module, "code_fingerprint", lambda: "another leaklint")
    assert _findings(check_paths(targets, config, jobs=1, cache=cache)) == _findings(expected)


def test_a_changed_configuration_is_not_served_from_the_cache(tmp_path: Path) -> None:
    targets = _project(tmp_path / "p")
    cache = Cache.open(tmp_path / "c")
    check_paths(targets, Config(root=str(tmp_path / "p")), jobs=1, cache=cache)
    narrow = Config(root=str(tmp_path / "p"), select=("LL101",))
    assert check_paths(targets, narrow, jobs=1, cache=cache) == check_paths(targets, narrow, jobs=1)


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "garbage"])
def test_damaged_entries_are_misses(tmp_path: Path, damage: str) -> None:
    targets = _project(tmp_path / "p")
    config = Config(root=str(tmp_path / "p"))
    expected = check_paths(targets, config, jobs=1)
    check_paths(targets, config, jobs=1, cache=Cache.open(tmp_path / "c"))
    for kind in ("facts", "results", "manifest", "project"):
        for entry in (tmp_path / "c" / kind).iterdir():
            data = entry.read_bytes()
            entry.write_bytes(
                {
                    "truncate": data[: len(data) // 2],
                    "flip": data[:-1] + bytes([data[-1] ^ 0xFF]),
                    "empty": b"",
                    "garbage": b"LLC1" + os.urandom(64),
                }[damage]
            )
    again = check_paths(targets, config, jobs=1, cache=Cache.open(tmp_path / "c"))
    assert _findings(again) == _findings(expected)
    # and the damaged entries were rewritten whole
    third = check_paths(targets, config, jobs=1, cache=Cache.open(tmp_path / "c"))
    assert _findings(third) == _findings(expected)


def test_a_cache_that_cannot_be_written_runs_uncached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    targets = _project(tmp_path / "p")
    config = Config(root=str(tmp_path / "p"))
    expected = check_paths(targets, config, jobs=1)
    cache = Cache.open(tmp_path / "c")
    assert cache is not None

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("leaklint.cache.tempfile.mkstemp", refuse)
    assert _findings(check_paths(targets, config, jobs=1, cache=cache)) == _findings(expected)
    assert not cache.writable
    assert not (tmp_path / "c" / "results").exists() or not any((tmp_path / "c" / "results").iterdir())


def test_a_cache_folder_that_cannot_be_created_is_no_cache(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert Cache.open(blocker / "cache") is None


def test_the_cli_with_an_unusable_cache_folder_runs_without_a_traceback(tmp_path: Path) -> None:
    _project(tmp_path / "p")
    (tmp_path / "file").write_text("")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "leaklint", "check", "p", *extra],
            cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120,
        )

    plain = run("--no-cache")
    unusable = run("--cache-dir", str(tmp_path / "file" / "cache"))
    assert unusable.returncode == plain.returncode == 1
    assert unusable.stdout == plain.stdout and "Traceback" not in unusable.stderr
    default = run()  # the default folder: no configuration file anywhere, so the working folder
    assert default.stdout == plain.stdout
    assert (tmp_path / ".leaklint_cache" / ".gitignore").read_text().strip().endswith("*")
    assert not (tmp_path / "p" / ".leaklint_cache").exists()  # never in the folder checked
    assert run().stdout == plain.stdout  # warm


def _writer(folder: str, value: int, rounds: int) -> None:
    cache = Cache(Path(folder))
    for _ in range(rounds):
        cache.put("results", "same-key", ("value", value, b"x" * 50_000))


def test_two_writers_at_once_leave_a_whole_entry(tmp_path: Path) -> None:
    cache = Cache.open(tmp_path / "c")
    assert cache is not None
    context = multiprocessing.get_context("spawn")
    writers = [
        context.Process(target=_writer, args=(str(tmp_path / "c"), n, 200)) for n in (1, 2)
    ]
    for process in writers:
        process.start()
    seen = set()
    while any(p.is_alive() for p in writers):
        value = cache.get("results", "same-key")
        if value is not None:
            seen.add(value[1])
            assert value[0] == "value" and len(value[2]) == 50_000
    for process in writers:
        process.join()
        assert process.exitcode == 0
    assert cache.get("results", "same-key")[1] in (1, 2)
    assert not [p for p in (tmp_path / "c" / "results").iterdir() if p.name.startswith(".tmp")]


def test_the_unvalidated_parse_gives_libcsts_tree_and_leaves_validation_on(
    fixtures: list[Target],
) -> None:
    """The analysis parses without libcst's per-node checks: the trees are libcst's own,
    node for node, and once the parse is over (a file that does not parse included) every
    node built anywhere is checked again."""
    import libcst as cst

    from leaklint.core import parse_unvalidated

    for target in fixtures:
        data = Path(target.path).read_bytes()
        assert parse_unvalidated(data).deep_equals(cst.parse_module(data)), target.path
    with pytest.raises(cst.ParserSyntaxError):
        parse_unvalidated(b"def broken(:\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("")


def test_the_pure_python_parser_keeps_its_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """An old libcst asked for its pure-Python parser (which may reject code through the
    checks) parses with them on."""
    import libcst as cst

    import leaklint.core as core

    checked = cst.CSTNode.__post_init__
    seen = []
    real = core.cst.parse_module
    monkeypatch.setattr(
        core.cst, "parse_module", lambda data: seen.append(cst.CSTNode.__post_init__) or real(data)
    )
    core.parse_unvalidated(b"x = 1\n")
    monkeypatch.setenv("LIBCST_PARSER_TYPE", "pure")
    core.parse_unvalidated(b"x = 1\n")
    assert seen[0] is not checked and seen[1] is checked
