"""Automatic fixes (``leaklint check --fix``), through the real CLI and in process.

Goldens: ``tests/data/fixes/<name>.py`` and, beside it, ``<name>.fixed.py``, what
``--fix`` makes of it (``--unsafe-fixes`` too for names starting ``unsafe_``);
``python -m pytest tests/test_fixes.py --update-goldens`` rewrites them. They live outside
``fixtures/``, whose files are the analysis's annotated source of truth.
"""

from __future__ import annotations

import ast
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tokenize
from collections import Counter
from pathlib import Path

import libcst as cst
import pytest

from fixture_markers import parse_fixture
from leaklint.config import Config
from leaklint.fixes import ALL_FIXES, SAFE, UNSAFE, WAITS_OR_JOINS, fix_source, why_no_with

ROOT = Path(__file__).resolve().parent.parent
GOLDENS = ROOT / "tests" / "data" / "fixes"
CASES = sorted(p.name for p in GOLDENS.glob("*.py") if not p.name.endswith(".fixed.py"))
SAFE_CASES = [name for name in CASES if not name.startswith("unsafe_")]
RUNNABLE = [name for name in CASES if name.startswith("runnable_")]


def _golden(name: str) -> Path:
    return GOLDENS / name.replace(".py", ".fixed.py")


def _leaklint(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "leaklint", "check", "--no-cache", *args],
        cwd=cwd, capture_output=True, text=True, env=env, timeout=300,
    )


def _as_project(folder: Path) -> Path:
    """The cases stand for modules of a project, not throw-away scripts (a runnable case has a
    main block: ``leaklint/analysis/scripts.py``): the folder gets a project file."""
    marker = folder / "pyproject.toml"
    if not marker.exists():
        marker.write_text('[project]\nname = "goldens"\n', "utf-8")
    return folder


def _fix(data: bytes, name: str, root: Path) -> bytes:
    _as_project(root)
    outcome = fix_source(data, str(root / name), Config(root=str(root)),
                         unsafe=name.startswith("unsafe_"))
    assert outcome.error is None
    return outcome.fixed if outcome.fixed is not None else data


def _comments(data: bytes) -> Counter[str]:
    tokens = tokenize.tokenize(io.BytesIO(data).readline)
    return Counter(t.string for t in tokens if t.type == tokenize.COMMENT)


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cases, copied to a folder of their own."""
    folder = _as_project(tmp_path_factory.mktemp("fixes"))
    for name in CASES:
        shutil.copy(GOLDENS / name, folder / name)
    return folder


# --------------------------------------------------------------------------- goldens, in process


@pytest.mark.parametrize("name", CASES)
def test_fix_matches_golden(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    original = (GOLDENS / name).read_bytes()
    fixed = _fix(original, name, tmp_path)
    if request.config.getoption("--update-goldens"):
        _golden(name).write_bytes(fixed)
    assert fixed != original, "every case has at least one fix"
    assert fixed == _golden(name).read_bytes(), f"run with --update-goldens and review {name}"


@pytest.mark.parametrize("name", CASES)
def test_fix_parses_is_idempotent_and_keeps_comments(name: str, tmp_path: Path) -> None:
    fixed = _golden(name).read_bytes()
    cst.parse_module(fixed)
    compile(fixed, name, "exec", dont_inherit=True)
    assert _fix(fixed, name, tmp_path) == fixed
    assert _comments(fixed) == _comments((GOLDENS / name).read_bytes())


def test_lines_outside_the_rewrites_are_unchanged() -> None:
    """A rewrite touches its statements; the other lines (blank ones too) stay as they were."""
    import difflib

    for name in CASES:
        before = (GOLDENS / name).read_text("utf-8").splitlines()
        after = _golden(name).read_text("utf-8").splitlines()
        matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
        kept = sum(block.size for block in matcher.get_matching_blocks())
        changed = len(before) - kept
        assert changed <= len(before) // 2, name
        assert before[:2] == after[:2]  # the docstring


def test_unsafe_fix_needs_unsafe_fixes(tmp_path: Path) -> None:
    data = (GOLDENS / "unsafe_module_level.py").read_bytes()
    outcome = fix_source(data, str(tmp_path / "m.py"), Config(root=str(tmp_path)))
    assert outcome.fixed is None
    assert [f.code for f in outcome.remaining.findings] == ["LL102"]


def test_every_fix_declares_its_safety() -> None:
    for fix in ALL_FIXES:
        assert fix.safety in (SAFE, UNSAFE) and fix.reason and fix.title and fix.codes


def test_resources_that_wait_or_join_never_get_a_with() -> None:
    for name in ("subprocess.Popen", "multiprocessing.Pool", "socketserver.TCPServer",
                 "concurrent.futures.ThreadPoolExecutor", "http.server.HTTPServer"):
        assert name in WAITS_OR_JOINS and why_no_with(name)
    assert why_no_with("builtins.open") is None
    assert why_no_with("sqlite3.connect")  # its __exit__ commits: not a close


def test_no_fix_for_popen_or_conditional_acquisition(tmp_path: Path) -> None:
    fixed = _golden("ll102_unbound.py").read_text("utf-8")
    assert 'subprocess.Popen([sys.executable, "-c", "pass"])' in fixed
    assert "return fallback or open(path).read()" in fixed
    assert "json.load(f2)" in fixed  # `f` is a parameter there: a fresh name


# --------------------------------------------------------------------------- the CLI


def test_cli_fix_writes_the_goldens_and_a_second_run_changes_nothing(copies: Path) -> None:
    proc = _leaklint("--fix", "--show-fixes", *SAFE_CASES, cwd=copies)
    assert proc.returncode == 1, proc.stderr  # the Popen and the other no-fix cases remain
    for name in SAFE_CASES:
        assert (copies / name).read_bytes() == _golden(name).read_bytes(), name
    assert "ll203_await.py:11:9: LL203 fixed: Add the missing `await` (safe)" in proc.stderr
    summary = proc.stderr.strip().splitlines()[-1]
    assert summary.startswith("leaklint: fixed ") and summary.endswith(" remaining")
    remaining = int(summary.rsplit(" ", 2)[-2])
    assert remaining == len(proc.stdout.splitlines()) > 0
    mtimes = {name: (copies / name).stat().st_mtime_ns for name in SAFE_CASES}
    again = _leaklint("--fix", *SAFE_CASES, cwd=copies)
    assert f"leaklint: fixed 0 findings in 0 files, {remaining} remaining" in again.stderr
    assert {name: (copies / name).stat().st_mtime_ns for name in SAFE_CASES} == mtimes
    assert again.stdout == proc.stdout


def test_cli_unsafe_fixes(tmp_path: Path) -> None:
    shutil.copy(GOLDENS / "unsafe_module_level.py", tmp_path / "m.py")
    assert _leaklint("--fix", "m.py", cwd=tmp_path).returncode == 1
    assert (tmp_path / "m.py").read_bytes() == (GOLDENS / "unsafe_module_level.py").read_bytes()
    proc = _leaklint("--fix", "--unsafe-fixes", "m.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "m.py").read_bytes() == _golden("unsafe_module_level.py").read_bytes()


def test_cli_diff_writes_nothing(tmp_path: Path) -> None:
    shutil.copy(GOLDENS / "ll102_unbound.py", tmp_path / "a.py")
    before = (tmp_path / "a.py").stat()
    proc = _leaklint("--diff", "a.py", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout.startswith("--- a/a.py\n+++ b/a.py\n")
    assert "+    with open(path) as f:\n" in proc.stdout
    assert "would fix 2 findings (LL102: 2) in 1 file" in proc.stderr
    after = (tmp_path / "a.py").stat()
    assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)
    assert (tmp_path / "a.py").read_bytes() == (GOLDENS / "ll102_unbound.py").read_bytes()
    assert sorted(os.listdir(tmp_path)) == ["a.py"]  # no temporary file left behind
    (tmp_path / "clean.py").write_text("x = 1\n")
    clean = _leaklint("--diff", "clean.py", cwd=tmp_path)
    assert clean.returncode == 0 and clean.stdout == ""


def test_cli_keeps_bom_crlf_encoding_and_mode(tmp_path: Path) -> None:
    crlf = (GOLDENS / "ll102_unbound.py").read_bytes().replace(b"\n", b"\r\n")
    (tmp_path / "crlf.py").write_bytes(b"\xef\xbb\xbf" + crlf)
    latin = "# -*- coding: latin-1 -*-\n# café\ndef g(p):\n    return open(p).read()  # é\n"
    (tmp_path / "latin.py").write_bytes(latin.encode("latin-1"))
    os.chmod(tmp_path / "crlf.py", 0o751)
    os.chmod(tmp_path / "latin.py", 0o640)
    proc = _leaklint("--fix", "crlf.py", "latin.py", cwd=tmp_path)
    assert "fixed 3 findings (LL102: 3) in 2 files" in proc.stderr, proc.stderr
    fixed = (tmp_path / "crlf.py").read_bytes()
    assert fixed.startswith(b"\xef\xbb\xbf")
    assert b"\n" not in fixed.replace(b"\r\n", b"")
    assert fixed[3:].replace(b"\r\n", b"\n") == _golden("ll102_unbound.py").read_bytes()
    assert stat.S_IMODE((tmp_path / "crlf.py").stat().st_mode) == 0o751
    text = (tmp_path / "latin.py").read_bytes().decode("latin-1")
    assert text == (
        "# -*- coding: latin-1 -*-\n# café\ndef g(p):\n    with open(p) as f:\n"
        "        return f.read()  # é\n"
    )
    assert stat.S_IMODE((tmp_path / "latin.py").stat().st_mode) == 0o640


def test_cli_fix_leaves_what_the_baseline_holds(tmp_path: Path) -> None:
    """A baseline means "known, not now": its findings are neither reported nor fixed, and
    they stay known after the fixes moved the lines around them."""
    old = "def old(p):\n    return open(p).read()  # known\n"
    (tmp_path / "m.py").write_text(old)
    assert _leaklint("--write-baseline", "base.json", "m.py", cwd=tmp_path).returncode == 0
    new = "def new(p):\n    data = open(p).read()\n    return data\n\n\n"
    (tmp_path / "m.py").write_text(new + old)
    proc = _leaklint("--fix", "--baseline", "base.json", "m.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "leaklint: fixed 1 finding (LL102: 1) in 1 file, 0 remaining" in proc.stderr
    assert (tmp_path / "m.py").read_text() == (
        "def new(p):\n    with open(p) as f:\n        data = f.read()\n    return data\n\n\n" + old
    )
    listed = _leaklint("--show-fixes", "--baseline", "base.json", "m.py", cwd=tmp_path)
    assert listed.returncode == 0 and "would fix 0 findings in 0 files, 0 remaining" in listed.stderr
    everything = _leaklint("--diff", "m.py", cwd=tmp_path)  # without the baseline: it is fixable
    assert everything.returncode == 1 and "+    with open(p) as f:\n" in everything.stdout


def test_cli_fix_in_workers_writes_what_one_process_writes(tmp_path: Path) -> None:
    """Enough files for the worker pool: ``-j 2`` writes the same bytes and says the same."""
    names = [f"m{i:02}.py" for i in range(24)]
    runs = {}
    for jobs in ("1", "2"):
        folder = tmp_path / f"j{jobs}"
        folder.mkdir()
        _as_project(folder)
        for index, name in enumerate(names):
            case = SAFE_CASES[index % len(SAFE_CASES)]
            shutil.copy(GOLDENS / case, folder / name)
        proc = _leaklint("--fix", "--jobs", jobs, *names, cwd=folder)
        runs[jobs] = (proc.returncode, proc.stdout, proc.stderr.splitlines()[-1],
                      {name: (folder / name).read_bytes() for name in names})
    assert runs["1"] == runs["2"]
    assert runs["2"][2].startswith("leaklint: fixed ") and " in 24 files, " in runs["2"][2]


def test_cli_reports_a_read_only_file(tmp_path: Path) -> None:
    shutil.copy(GOLDENS / "ll102_unbound.py", tmp_path / "ro.py")
    os.chmod(tmp_path / "ro.py", 0o444)
    proc = _leaklint("--fix", "ro.py", cwd=tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert [line for line in proc.stderr.splitlines() if "read-only" in line] == [
        "leaklint: ro.py is read-only: not fixed"
    ]
    assert (tmp_path / "ro.py").read_bytes() == (GOLDENS / "ll102_unbound.py").read_bytes()
    assert "ro.py:10:12: LL102 " in proc.stdout  # still reported


def test_fix_follows_a_symlink(tmp_path: Path) -> None:
    shutil.copy(GOLDENS / "ll102_unbound.py", tmp_path / "real.py")
    (tmp_path / "link.py").symlink_to("real.py")
    _leaklint("--fix", "link.py", cwd=tmp_path)
    assert (tmp_path / "link.py").is_symlink()
    assert (tmp_path / "real.py").read_bytes() == _golden("ll102_unbound.py").read_bytes()


def test_fix_refuses_standard_input(tmp_path: Path) -> None:
    proc = _leaklint("--fix", "-", cwd=tmp_path)
    assert proc.returncode == 2 and "standard input" in proc.stderr


def test_noqa_is_not_fixed(tmp_path: Path) -> None:
    (tmp_path / "n.py").write_text("def f(p):\n    return open(p).read()  # noqa: LL102\n")
    proc = _leaklint("--fix", "n.py", cwd=tmp_path)
    assert proc.returncode == 0
    assert "open(p).read()  # noqa" in (tmp_path / "n.py").read_text()


# --------------------------------------------------------------------------- the run-time oracle


def _run_dev(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-X", "dev", "-W", "always::ResourceWarning", str(path), *args],
        capture_output=True, text=True, timeout=60, cwd=path.parent,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


@pytest.mark.parametrize("name", RUNNABLE)
def test_fixed_code_runs_the_same_without_resource_warning(name: str, tmp_path: Path) -> None:
    shutil.copy(GOLDENS / name, tmp_path / "before.py")
    shutil.copy(_golden(name), tmp_path / "after.py")
    other = tmp_path / "notes.md"
    other.write_text("first\nsecond\n")
    before = _run_dev(tmp_path / "before.py", str(other))
    after = _run_dev(tmp_path / "after.py", str(other))
    assert before.returncode == after.returncode == 0, before.stderr + after.stderr
    assert "ResourceWarning" in before.stderr
    assert "ResourceWarning" not in after.stderr, after.stderr
    assert before.stdout == after.stdout


def _oracle(requests: list[dict[str, str]], folder: Path) -> dict[tuple[str, str], dict]:
    """``tests/fixture_markers.py``'s run-time oracle, under ``python -X dev``."""
    src, dst = folder / "in.json", folder / "out.json"
    src.write_text(json.dumps(requests), encoding="utf-8")
    runner = str(Path(__file__).with_name("fixture_markers.py"))
    proc = subprocess.run(
        [sys.executable, "-X", "dev", runner, "oracle", str(src), str(dst)],
        capture_output=True, text=True, timeout=600, cwd=folder,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    return {(r["file"], r["function"]): r for r in json.loads(dst.read_text(encoding="utf-8"))}


def _case_sources(data: bytes) -> dict[str, str]:
    module = ast.parse(data)
    text = data.decode("utf-8")
    return {
        node.name: ast.get_source_segment(text, node) or ""
        for node in module.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }


def test_fixed_fixture_cases_run_the_same_without_resource_warning(tmp_path: Path) -> None:
    """Every annotated fixture case that leaks at run time (``# runs: leaks``) and that a fix
    (safe or unsafe) rewrites: run before and after under ``python -X dev``, it ends the same
    way (the same exception, or none) and CPython's ResourceWarning is gone."""
    leaking: dict[Path, list[str]] = {}
    for path in sorted((ROOT / "fixtures").rglob("*.py")):
        for case in parse_fixture(path).cases:
            if case.runs == "leaks":
                leaking.setdefault(path, []).append(case.name)
    before, after = [], []
    for number, (path, names) in enumerate(leaking.items()):
        data = path.read_bytes()
        outcome = fix_source(data, str(path), Config(root=str(ROOT)), unsafe=True)
        assert outcome.error is None, f"{path}: {outcome.error}"
        if outcome.fixed is None:
            continue
        old, new = _case_sources(data), _case_sources(outcome.fixed)
        rewritten = [name for name in names if old[name] != new.get(name)]
        if not rewritten:
            continue
        copy = tmp_path / f"fixed_{number}_{path.name}"
        copy.write_bytes(outcome.fixed)
        for name in rewritten:
            before.append({"file": str(path), "function": name})
            after.append({"file": str(copy), "function": name})
    assert len(before) >= 10, "too few runnable leaking cases have a fix to prove it by"
    ran_before = _oracle(before, tmp_path)
    ran_after = _oracle(after, tmp_path)
    for old, new in zip(before, after):
        was, now = ran_before[(old["file"], old["function"])], ran_after[(new["file"], new["function"])]
        where = f"{Path(old['file']).relative_to(ROOT)}::{old['function']}"
        assert "error" not in was and "error" not in now, (was, now)
        assert was["resource_warnings"], f"{where} is `runs: leaks` but did not warn"
        assert not now["resource_warnings"], f"{where} still warns after the fix: {now}"
        ending = [(r["raised"] or "").split(":")[0] for r in (was, now)]
        assert ending[0] == ending[1], f"{where} ends differently after the fix: {ending}"


# --------------------------------------------------------------------------- "safe" means safe
# Issue 24's F1-F3 (goldens beside the others) and a differential fuzz: the original and the
# fixed module run on the same inputs against recording fakes (tests/fuzz/differential.py).

F_CASES = ("unsafe_f1_except_reads_the_file.py", "unsafe_f2_cursor_escapes.py", "f3_patched_open.py")


def test_f1_f2_are_offered_only_as_unsafe_with_the_reason(tmp_path: Path) -> None:
    for name in F_CASES[:2]:
        shutil.copy(GOLDENS / name, tmp_path / name)
    safe = _leaklint("--diff", "--show-fixes", *F_CASES[:2], cwd=tmp_path)
    shown = sorted(line.split(": ", 1)[0] for line in safe.stderr.splitlines() if " fix: " in line)
    assert shown == [
        "unsafe_f1_except_reads_the_file.py:20:13",  # load5: nothing reads f after the error
        "unsafe_f2_cursor_escapes.py:19:10",  # rows3: only data leaves the block
    ], safe.stderr
    unsafe = _leaklint("--diff", "--show-fixes", "--unsafe-fixes", *F_CASES[:2], cwd=tmp_path)
    lines = unsafe.stderr.splitlines()
    assert "unsafe_f1_except_reads_the_file.py:8:13: LL100 fix: Move the release into a " \
        "`finally` around the statements in between (unsafe: an error there may be caught in " \
        "this function (an enclosing try or with), and the name is used after it: that code " \
        "now finds the object released)" in lines, unsafe.stderr
    for line in (7, 13):
        assert any(
            l.startswith(f"unsafe_f2_cursor_escapes.py:{line}:10: LL110 fix: ")
            and l.endswith("(unsafe: something made from the connection (a cursor, a result) "
                           "leaves the block and is used after it, where the connection is now closed)")
            for l in lines
        ), unsafe.stderr


def test_f3_a_module_that_patches_gets_no_with(tmp_path: Path) -> None:
    """The safe fix keeps ``fobj`` bound to ``open(p)`` itself (try/finally), and the test in
    the module, which patches open with a MagicMock, passes before and after; the with form
    would not."""
    from fuzz.differential import differences

    original = (GOLDENS / F_CASES[2]).read_text()
    fixed = _golden(F_CASES[2]).read_text()
    assert "    with open" not in fixed and "finally:\n        fobj.close()" in fixed
    with_form = original.replace(
        "    fobj = open(p)\n    data = fobj.read()\n    fobj.close()\n",
        "    with open(p) as fobj:\n        data = fobj.read()\n",
    )
    for name, source in (("fixed.py", fixed), ("with_form.py", with_form)):
        (tmp_path / name).write_text(source + "\ntest_read()\n")
    assert _run_dev(tmp_path / "fixed.py").returncode == 0
    assert "AssertionError" in _run_dev(tmp_path / "with_form.py").stderr
    assert differences(original, fixed) == []
    assert differences(original, with_form)  # the oracle sees what the with form changes


@pytest.mark.parametrize("name", F_CASES[:2])
def test_f1_f2_safe_fixes_change_nothing_observable_and_the_unsafe_ones_do(
    name: str, tmp_path: Path
) -> None:
    from fuzz.differential import differences

    original = (GOLDENS / name).read_bytes()
    config = Config(root=str(tmp_path))
    safe = fix_source(original, str(tmp_path / name), config).fixed
    unsafe = fix_source(original, str(tmp_path / name), config, unsafe=True).fixed
    assert safe is not None and unsafe is not None and safe != unsafe
    assert differences(original.decode(), safe.decode()) == []
    assert differences(original.decode(), unsafe.decode())


#: Modules per run: about 5 s on a busy two-core machine; `python tests/fuzz/differential.py
#: N` runs more.
DIFFERENTIAL_MODULES = 20


def test_differential_fuzz_safe_fixes_do_what_the_original_did(tmp_path: Path) -> None:
    import random

    from fuzz.differential import differences, runnable_module

    fixed = 0
    for seed in range(DIFFERENTIAL_MODULES):
        source = runnable_module(random.Random(seed))
        outcome = fix_source(source.encode(), str(tmp_path / "generated.py"), Config(root=str(tmp_path)))
        assert outcome.error is None, (seed, outcome.error)
        if outcome.fixed is None:
            continue
        fixed += 1
        found = differences(source, outcome.fixed.decode())
        assert not found, f"seed {seed}:\n{source}\n---\n{outcome.fixed.decode()}\n{found[:3]}"
    assert fixed >= DIFFERENTIAL_MODULES // 2  # the generator reaches the fixes


def test_a_finding_left_unfixed_says_why(tmp_path: Path) -> None:
    """``refusal_reasons`` (benchmarks/fix_realworld.py's "left, by reason"): the planners'
    own reason for each finding they give no fix, unsafe fixes allowed."""
    from leaklint.core import check_source
    from leaklint.fixes.apply import refusal_reasons

    source = (
        b"def later(p, flag):\n"
        b"    if flag:\n"
        b"        f = open(p)\n"
        b"    else:\n"
        b"        f = None\n"
        b"    data = f.read()\n"
        b"    return data\n"
    )
    path = str(_as_project(tmp_path) / "left.py")
    config = Config(root=str(tmp_path))
    findings = check_source(source, path, config).findings
    why = refusal_reasons(source, path, config, findings)
    assert set(why) == {(f.line, f.col, f.code) for f in findings} and why
    by_line = {line: reason for (line, _, _), reason in why.items()}
    opened = source.decode().splitlines().index("        f = open(p)") + 1
    assert by_line[opened] == "nothing after the acquisition in its block", why
    assert len(why) == 1, why
    assert all(reason for reason in why.values())
