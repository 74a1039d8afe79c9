"""The annotated fixtures under ``fixtures/`` are the source of truth for what leaklint reports.

* every fixture: the (line, code) pairs the real CLI reports == the ``# expect`` markers;
* front-end parity: flake8 prints exactly what the CLI prints (path, line, col, code, message);
* the run-time oracle: ``# runs: leaks`` functions emit a ResourceWarning under
  ``python -X dev`` and ``# runs: clean`` ones do not, and the static markers agree.

The CLI, flake8 and the oracle each run once, in a subprocess, over all fixtures.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from collections import defaultdict
from pathlib import Path

import pytest

from fixture_markers import Case, Fixture, parse_fixture

ROOT = Path(__file__).resolve().parent.parent
FIXTURES_DIR = ROOT / "fixtures"
FIXTURE_PATHS = sorted(FIXTURES_DIR.rglob("*.py"))
RULE_FOLDERS = ("LL100", "LL101", "LL102", "LL110", "LL120", "LL130", "LL140", "LL150", "LL160", "LL161", "LL162", "LL163", "LL164", "LL200", "LL201", "LL202", "LL203")
FOLDERS = (*RULE_FOLDERS, "negatives")
MIN_CASES = 70
MIN_RUNNABLE = 12


def _rel(path: str | Path) -> str:
    """A printed path as ``fixtures/...`` relative to the repository root."""
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = ROOT / candidate
    return Path(os.path.normpath(candidate)).relative_to(ROOT).as_posix()


FIXTURES: dict[str, Fixture] = {_rel(p): parse_fixture(p) for p in FIXTURE_PATHS}
RUNNABLE: list[tuple[str, Case]] = [
    (rel, case) for rel, fx in FIXTURES.items() for case in fx.cases if case.runs is not None
]

# A finding as printed: (line, column, code, message), grouped by fixture path.
Printed = dict[str, set[tuple[int, int, str, str]]]


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300,
                          **kwargs)


@pytest.fixture(scope="module")
def cli_findings() -> Printed:
    cmd = [sys.executable, "-m", "leaklint", "check", "--format", "json", "fixtures"]
    proc = _run(cmd)
    assert proc.returncode in (0, 1), f"leaklint exited {proc.returncode}:\n{proc.stderr}"
    out: Printed = defaultdict(set)
    for row in json.loads(proc.stdout):
        out[_rel(row["path"])].add((row["line"], row["column"], row["code"], row["message"]))
    return out


_FLAKE8_LINE = re.compile(
    r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>LL\d+) (?P<msg>.*)$"
)


@pytest.fixture(scope="module")
def flake8_findings() -> Printed:
    cmd = [
        sys.executable, "-m", "flake8", "--isolated", "--select", "LL",
        "--format", "%(path)s:%(row)d:%(col)d: %(code)s %(text)s", "fixtures",
    ]
    proc = _run(cmd)
    assert proc.returncode in (0, 1), f"flake8 exited {proc.returncode}:\n{proc.stderr}"
    out: Printed = defaultdict(set)
    for line in proc.stdout.splitlines():
        match = _FLAKE8_LINE.match(line)
        assert match, f"unexpected flake8 output line: {line!r}\nstderr:\n{proc.stderr}"
        out[_rel(match["path"])].add(
            (int(match["line"]), int(match["col"]), match["code"], match["msg"])
        )
    return out


@pytest.fixture(scope="module")
def oracle() -> dict[tuple[str, str], dict]:
    requests = [{"file": str(ROOT / rel), "function": case.name} for rel, case in RUNNABLE]
    with tempfile.TemporaryDirectory(prefix="leaklint-oracle-") as folder:
        src, dst = Path(folder, "in.json"), Path(folder, "out.json")
        src.write_text(json.dumps(requests), encoding="utf-8")
        runner = str(Path(__file__).with_name("fixture_markers.py"))
        proc = _run([sys.executable, "-X", "dev", runner, "oracle", str(src), str(dst)])
        assert proc.returncode == 0 and dst.exists(), (
            f"oracle exited {proc.returncode}:\n{proc.stderr}"
        )
        results = json.loads(dst.read_text(encoding="utf-8"))
    return {(_rel(r["file"]), r["function"]): r for r in results}


def _describe(found: set[tuple[int, str]], printed: set[tuple[int, int, str, str]]) -> str:
    return "\n".join(
        f"  {line}:{col}: {code} {msg}" for line, col, code, msg in sorted(printed)
        if (line, code) in found
    )


# --------------------------------------------------------------------------- fixtures


@pytest.mark.parametrize("rel", sorted(FIXTURES))
def test_fixture_findings_match_markers(rel: str, cli_findings: Printed) -> None:
    fixture = FIXTURES[rel]
    printed = cli_findings.get(rel, set())
    found = {(line, code) for line, _col, code, _msg in printed}
    missing = fixture.expected - found
    unexpected = found - fixture.expected
    assert not missing and not unexpected, (
        f"{rel}\n"
        f"missing (expected, not reported): {sorted(missing)}\n"
        f"unexpected (reported, not expected):\n{_describe(unexpected, printed)}"
    )


def test_cli_reports_only_fixture_files(cli_findings: Printed) -> None:
    """The .py fixtures, and the notebooks (whose cells tests/test_notebook.py checks)."""
    notebooks = {_rel(p) for p in FIXTURES_DIR.rglob("*.ipynb")}
    assert set(cli_findings) <= set(FIXTURES) | notebooks


# --------------------------------------------------------------------------- parity


@pytest.mark.parametrize("rel", sorted(FIXTURES))
def test_flake8_prints_what_the_cli_prints(
    rel: str, cli_findings: Printed, flake8_findings: Printed
) -> None:
    assert flake8_findings.get(rel, set()) == cli_findings.get(rel, set())


def test_flake8_reports_only_fixture_files(flake8_findings: Printed) -> None:
    assert set(flake8_findings) <= set(FIXTURES)


# --------------------------------------------------------------------------- the oracle


def test_enough_runnable_cases() -> None:
    labels = {case.runs for _rel, case in RUNNABLE}
    assert len(RUNNABLE) >= MIN_RUNNABLE and labels == {"leaks", "clean"}


@pytest.mark.parametrize(
    ("rel", "case"), RUNNABLE, ids=[f"{rel}::{case.name}" for rel, case in RUNNABLE]
)
def test_static_label_agrees_with_runs_marker(rel: str, case: Case) -> None:
    expected = FIXTURES[rel].expected_in(case)
    if case.runs == "leaks":
        assert expected, f"{case.name} is `# runs: leaks` but carries no expect marker"
    else:
        assert not expected, f"{case.name} is `# runs: clean` but expects {sorted(expected)}"


@pytest.mark.parametrize(
    ("rel", "case"), RUNNABLE, ids=[f"{rel}::{case.name}" for rel, case in RUNNABLE]
)
def test_resource_warning_oracle(rel: str, case: Case, oracle: dict) -> None:
    result = oracle[(rel, case.name)]
    assert "error" not in result, result["error"]
    warned = result["resource_warnings"]
    # the input is readable text that is not a number nor JSON: the only failure a case is
    # built to meet is a ValueError; anything else means the case did not run as intended
    assert not result["raised"] or result.get("raised_value_error"), (
        f"{case.name} raised {result['raised']}, not the ValueError its input provokes"
    )
    if case.runs == "leaks":
        assert warned, f"{case.name} is labelled `runs: leaks` but emitted no ResourceWarning" + (
            f" (it raised {result['raised']})" if result["raised"] else ""
        )
    else:
        assert not warned, f"{case.name} is labelled `runs: clean` but warned: {warned}"


# --------------------------------------------------------------------------- the fixtures


def test_fixture_layout() -> None:
    folders = {Path(rel).parts[1] for rel in FIXTURES}
    assert folders == set(FOLDERS), f"unexpected fixture folders: {folders - set(FOLDERS)}"
    cases = sum(len(fx.cases) for fx in FIXTURES.values())
    assert cases >= MIN_CASES, f"only {cases} cases"


@pytest.mark.parametrize("rel", sorted(FIXTURES))
def test_fixture_is_well_formed(rel: str) -> None:
    fixture = FIXTURES[rel]
    folder = Path(rel).parts[1]
    if Path(rel).name == "__init__.py" and not fixture.expected:
        return  # a package's own module, which only re-exports what the fixtures use
    codes = {code for _line, code in fixture.expected}
    if folder == "negatives":
        assert not fixture.expected, "a negative fixture cannot expect findings"
    else:
        assert folder in codes, f"a fixture under {folder}/ must expect {folder} at least once"
    assert fixture.cases, "a fixture needs at least one case (a top-level def or class)"
    for case in fixture.cases:
        if not fixture.expected_in(case):
            assert fixture.documented(case), (
                f"{rel}:{case.def_line}: {case.name} expects nothing: say why in an `# ok:` "
                "comment above it"
            )
    lines = Path(ROOT / rel).read_text(encoding="utf-8").count("\n") + 1
    assert all(1 <= line <= lines for line, _code in fixture.expected)


def test_every_resource_family_has_a_positive_fixture() -> None:
    """Each top-level module of the registry is imported by some LL100/LL101/LL102 fixture."""
    import ast

    registry = tomllib.loads((ROOT / "leaklint" / "resources.toml").read_text(encoding="utf-8"))
    families = {name.split(".")[0] for name in registry["resources"]} - {"builtins"}
    imported: set[str] = set()
    for rel in FIXTURES:
        if Path(rel).parts[1] not in RULE_FOLDERS:
            continue
        for node in ast.walk(ast.parse((ROOT / rel).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
    assert families <= imported, f"no positive fixture imports: {sorted(families - imported)}"
