"""The pytest plugin (``pytest --leaklint``) through the real pytest, in a subprocess, on the
test project in ``tests/data/runtime_project``; and ``leaklint check --runtime-report``, the
join of what it saw with the static findings.

The project's tests are ``check_*.py`` (its own ``pytest.ini``), so this run never collects
them; the inner pytest gets ``-c`` and ``--rootdir`` of a temporary copy, so it never reads
this repository's configuration either.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from leaklint.core import Finding
from leaklint.runtime import RuntimeLeak, RuntimeReport, join, write_report

from test_interfaces import _sarif_schema, invoke

PROJECT = Path(__file__).resolve().parent / "data" / "runtime_project"

#: every leak of the project: (path, line) of the allocation → code, what it is, its tests
LEAKS = {
    ("app/store.py", 9): ("LL100", "file", 3),
    ("app/store.py", 18): ("LL100", "socket", 2),
    ("app/store.py", 24): ("LL100", "process", 1),
    ("app/store.py", 36): ("LL100", "file", 1),
    ("app/store.py", 47): ("LL100", "file", 1),
    ("app/store.py", 56): (None, "coroutine", 1),
    ("check_leaks.py", 17): ("LL100", "file", 1),
}
#: the ones leaklint reports statically (and the tests confirm); the yield fixture's file was
#: a miss this join found, fixed in the engine since
CONFIRMED = {
    ("app/store.py", 9), ("app/store.py", 18), ("app/store.py", 24), ("check_leaks.py", 17)
}


def run_pytest(root: Path, *args: str, autoload: bool = False) -> subprocess.CompletedProcess[str]:
    """The project's tests in ``root`` by a pytest of their own. Without ``autoload`` only this
    plugin is loaded (``-p``), not every plugin of the environment (faster, and what the other
    plugins do cannot change the outcome); with it, the plugin comes from its entry point."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHONWARNINGS"))}
    plugins = [] if autoload else ["-p", "leaklint.pytest_plugin"]
    if not autoload:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["COLUMNS"] = "200"  # the short summary's reasons in full
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *plugins,
               "-c", str(root / "pytest.ini"), "--rootdir", str(root), "-q", *args]
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=300)


def copy_project(tmp: Path) -> Path:
    root = tmp / "project"
    shutil.copytree(PROJECT, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One run with ``--leaklint --leaklint-report``, the plugin found by its entry point."""
    root = copy_project(tmp_path_factory.mktemp("runtime"))
    run = run_pytest(root, "--leaklint", "--leaklint-report", "leaks.json", autoload=True)
    return root, run


def assert_outcomes_unchanged(run: subprocess.CompletedProcess[str]) -> None:
    """What pytest does without the plugin: the leaks fail nothing, except where the test made
    the warning an error (raised in ``__del__``, pytest fails the test for it)."""
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 failed, 10 passed" in run.stdout, run.stdout
    assert re.search(
        r"^FAILED check_leaks.py::test_socket_leaks_under_an_error_filter - "
        r"pytest.PytestUnraisableExceptionWarning", run.stdout, re.M
    ), run.stdout


def summary_lines(output: str) -> dict[tuple[str, int], str]:
    section = output.split("leaklint: resources leaked", 1)[1]
    found = {}
    for line in section.splitlines():
        match = re.match(r"^(\S+?):(\d+): (\S+) (.*)$", line)
        if match:
            found[match[1], int(match[2])] = f"{match[3]} {match[4]}"
    return found


@pytest.mark.slow
def test_the_report_lists_each_leak_by_allocation_site(recorded) -> None:  # type: ignore[no-untyped-def]
    root, run = recorded
    assert_outcomes_unchanged(run)
    lines = summary_lines(run.stdout)
    assert set(lines) == set(LEAKS), run.stdout
    for site, (code, kind, tests) in LEAKS.items():
        label = code or "RuntimeWarning"
        verb = "never awaited" if kind == "coroutine" else "leaked"
        assert lines[site].startswith(f"{label} {verb} <"), lines[site]
        assert lines[site].endswith(f"> in {tests} test{'' if tests == 1 else 's'}"), lines[site]
    assert "<_io.TextIOWrapper name=" in lines["app/store.py", 9]
    assert "<socket.socket fd=" in lines["app/store.py", 18]
    assert "<Popen: returncode: None" in lines["app/store.py", 24]
    assert "<coroutine object refresh" in lines["app/store.py", 56]
    assert f"leaklint: wrote leaks.json" in run.stdout


@pytest.mark.slow
def test_the_json_report_names_the_tests_and_the_traceback(recorded) -> None:  # type: ignore[no-untyped-def]
    root, run = recorded
    data = json.loads((root / "leaks.json").read_text("utf-8"))
    assert data["version"] == 1 and data["tool"] == "leaklint"
    assert Path(data["root"]) == root.resolve()
    assert data["tests"] == 11 and data["frames"] == 16
    leaks = {(row["path"], row["line"]): row for row in data["leaks"]}
    assert set(leaks) == set(LEAKS)
    for site, (code, kind, tests) in LEAKS.items():
        row = leaks[site]
        assert (row["code"], row["kind"], len(row["tests"]), row["count"]) == (code, kind, tests, tests)
        assert row["allocated"] is True
        assert row["traceback"][0] == {"path": site[0], "line": site[1]}
    by_test = {test for row in data["leaks"] for test in row["tests"]}
    assert "check_leaks.py::test_clean" not in by_test
    assert leaks["app/store.py", 9]["tests"] == [
        f"check_leaks.py::test_file_leaks_on_the_early_return[{n}]" for n in (1, 2, 3)
    ]
    # the warning raised as an error in __del__ reaches sys.unraisablehook: still recorded
    assert leaks["app/store.py", 18]["tests"] == [
        "check_leaks.py::test_socket_leaks", "check_leaks.py::test_socket_leaks_under_an_error_filter"
    ]
    # a leak in a reference cycle surfaces in its own test (the collector runs after each)
    assert leaks["app/store.py", 47]["tests"] == ["check_leaks.py::test_leak_in_a_reference_cycle"]
    # a fixture's leak is charged to the test that used it, not to the next one
    assert leaks["check_leaks.py", 17]["tests"] == ["check_leaks.py::test_leaky_fixture"]
    # the factory's caller is in the traceback: the test that called it
    assert {"path": "check_leaks.py", "line": 23} in leaks["app/store.py", 9]["traceback"]


@pytest.mark.slow
def test_leaklint_fail_makes_a_leaking_test_fail(tmp_path: Path) -> None:
    root = copy_project(tmp_path)
    run = run_pytest(root, "--leaklint-fail", "-rA")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "8 failed, 3 passed, 2 errors" in run.stdout
    outcomes = dict(
        (m[2], m[1]) for m in re.finditer(r"^(PASSED|FAILED|ERROR) (\S+)", run.stdout, re.M)
    )
    assert outcomes["check_leaks.py::test_clean"] == "PASSED"
    assert outcomes["check_leaks.py::test_socket_leaks"] == "FAILED"
    assert outcomes["check_leaks.py::test_file_leaks_on_the_early_return[2]"] == "FAILED"
    # the leaks found by the collection at the end of the test fail its teardown: a fixture's,
    # and one that only a reference cycle held
    assert outcomes["check_leaks.py::test_leaky_fixture"] == "ERROR"
    assert outcomes["check_leaks.py::test_leak_in_a_reference_cycle"] == "ERROR"
    assert outcomes["check_leaks.py::test_socket_leaks_under_an_error_filter"] == "FAILED"
    assert sum(1 for o in outcomes.values() if o == "FAILED") == 8
    assert re.search(
        r"^leaklint: 1 resource leaked in this test:\n"
        r"  app/store\.py:18: LL100 leaked <socket\.socket fd=.*>\n"
        r"\(--leaklint-fail\)$",
        run.stdout,
        re.M,
    ), run.stdout


@pytest.mark.slow
def test_off_unless_asked(tmp_path: Path) -> None:
    root = copy_project(tmp_path)
    run = run_pytest(root)
    assert_outcomes_unchanged(run)
    # the plugin's own lines (the environment's paths may hold the word: a CI venv's do)
    assert "leaklint:" not in run.stdout and "LL100" not in run.stdout
    assert "Enable tracemalloc to get traceback" in run.stdout  # tracemalloc was not started


# --- the join with the static findings ------------------------------------------------------


@pytest.mark.slow
def test_check_marks_confirmed_findings_and_lists_the_missed_leaks(recorded) -> None:  # type: ignore[no-untyped-def]
    root, _ = recorded
    result = invoke(root, "check", "--no-cache", "--runtime-report", "leaks.json", ".")
    assert result.exit_code == 1  # the static findings; runtime leaks alone change nothing
    lines = result.stdout.splitlines()
    confirmed = [line for line in lines if "[confirmed at runtime: " in line]
    missed = [line for line in lines if line.endswith("[runtime only: the static analysis did not report it]")]
    assert len(confirmed) + len(missed) == len(lines), result.stdout
    assert [tuple(line.split(":")[:2]) for line in confirmed] == [
        ("app/store.py", "9"), ("app/store.py", "18"), ("app/store.py", "24"),
        ("check_leaks.py", "17"),
    ]
    assert confirmed[0].startswith("app/store.py:9:9: LL100 [*] `f` from open() is not closed")
    assert confirmed[0].endswith("[confirmed at runtime: leaked in 3 tests]")
    assert {(line.split(":")[0], int(line.split(":")[1])) for line in missed} == set(LEAKS) - CONFIRMED
    assert any(line.startswith("app/store.py:56: RuntimeWarning never awaited <coroutine") for line in missed)


@pytest.mark.slow
def test_check_json_and_sarif_carry_the_join(recorded) -> None:  # type: ignore[no-untyped-def]
    jsonschema = pytest.importorskip("jsonschema")
    root, _ = recorded
    rows = json.loads(invoke(root, "check", "--no-cache", "--format", "json",
                             "--runtime-report", "leaks.json", ".").stdout)
    static = [row for row in rows if row["static"]]
    assert [(r["line"], r["runtime"]["count"] if r["runtime"] else None) for r in static] == [
        (9, 3), (18, 2), (24, 1), (17, 1)
    ]
    runtime_only = [row for row in rows if not row["static"]]
    assert {(r["path"], r["line"]) for r in runtime_only} == set(LEAKS) - CONFIRMED
    assert all(r["column"] is None and r["runtime"]["tests"] for r in runtime_only)

    log = json.loads(invoke(root, "check", "--no-cache", "--format", "sarif",
                            "--runtime-report", "leaks.json", ".").stdout)
    validator = jsonschema.Draft4Validator(_sarif_schema(), format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(log), key=str)
    assert not errors, errors[0]
    results = log["runs"][0]["results"]
    confirmed = [r for r in results if r.get("properties", {}).get("confirmedAtRuntime")]
    missed = [r for r in results if r.get("properties", {}).get("missedByStaticAnalysis")]
    assert len(confirmed) == len(CONFIRMED) and len(missed) == len(LEAKS) - len(CONFIRMED)
    assert len(results) == len(LEAKS)
    assert confirmed[0]["properties"]["runtime"]["tests"][0].startswith("check_leaks.py::")
    assert {r["level"] for r in missed} == {"warning"}
    assert {r["ruleId"] for r in missed} == {"LL100", "RuntimeWarning"}


def test_a_factory_leak_confirms_the_finding_at_its_caller(tmp_path: Path) -> None:
    """The leak was allocated in the factory; the static analysis reports where its result is
    dropped. A frame of the allocation traceback on the finding's line is enough."""
    factory = RuntimeLeak(
        path="db.py", line=3, code="LL100", kind="file", category="ResourceWarning",
        resource="<f>", message="unclosed file <f>", tests=("t.py::test",),
        traceback=(("db.py", 3), ("app.py", 7), ("t.py", 2)),
    )
    untraced = RuntimeLeak(
        path="app.py", line=9, code="LL100", kind="process", category="ResourceWarning",
        resource="<p>", message="subprocess 1 is still running", allocated=False,
    )
    caller = Finding(str(tmp_path / "app.py"), 7, 4, "LL100", "`f` from get() is not closed")
    where_it_died = Finding(str(tmp_path / "app.py"), 9, 4, "LL100", "`p` ...")
    joined = join([caller, where_it_died], RuntimeReport(str(tmp_path), (factory, untraced)))
    assert joined.confirmed == {caller: factory}  # an untraced leak confirms nothing
    assert [leak.line for leak in joined.missed] == [9]


def test_a_file_that_is_no_runtime_report_exits_2(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n", "utf-8")
    (tmp_path / "other.json").write_text('{"leaks": []}', "utf-8")
    result = invoke(tmp_path, "check", "--runtime-report", "other.json", "a.py")
    assert result.exit_code == 2
    assert "other.json: not a leaklint runtime report" in result.stderr
    write_report(tmp_path / "new.json", RuntimeReport(str(tmp_path)))
    data = json.loads((tmp_path / "new.json").read_text("utf-8"))
    (tmp_path / "new.json").write_text(json.dumps({**data, "version": 99}), "utf-8")
    result = invoke(tmp_path, "check", "--runtime-report", "new.json", "a.py")
    assert result.exit_code == 2 and "runtime report version 99" in result.stderr
    result = invoke(tmp_path, "check", "--runtime-report", "missing.json", "a.py")
    assert result.exit_code == 2 and "missing.json: cannot read" in result.stderr
    write_report(tmp_path / "empty.json", RuntimeReport(str(tmp_path)))
    assert invoke(tmp_path, "check", "--runtime-report", "empty.json", "a.py").exit_code == 0
