"""`leaklint check --fix` on a copy of this Python's standard library: what it fixes, what it
leaves, and the guarantees of issue 6 checked on real code.

    python benchmarks/fix_stdlib.py [--jobs 2] [--unsafe-fixes] [--keep DIR] [--subset]
    python benchmarks/fix_stdlib.py --compare-jobs 1,2 [--repeat 3] [--subset]

``--subset``: the standard library without ``test/``, ``idlelib/``, ``lib2to3/``,
``encodings/`` and ``distutils/`` (532 files of CPython 3.11), for a machine where the
whole of it takes too long.

``--compare-jobs 1,2``: time ``--fix`` with each ``--jobs`` on a fresh copy, in turn,
``--repeat`` times (the median is reported, and the load average before each run, as the
machine may be shared); the output (stdout, the summary line) and every file's bytes must be
the same for each ``--jobs`` (exit 1 if not). Writes ``results/fix_stdlib_jobs.md``.

Steps: copy the standard library (``sysconfig.get_paths()["stdlib"]``, without
site-packages) to a scratch folder; report its findings (JSON); run ``--fix`` on it; then
check that

- only files with a fixable finding changed, and every changed stretch of lines (a diff hunk)
  holds a finding of a rule with a fix: the fix changes only what it reports;
- every changed file still compiles (``py_compile``, the compiler ``compileall`` uses);
- a second ``--fix`` fixes nothing and changes no byte (idempotent);
- no finding is new after the fixes (each finding after is one that was there before, by
  code and line text).

It prints a table (and writes ``results/fix_stdlib.md``): findings before, fixed, remaining,
by rule. Exit 1 when a guarantee does not hold.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import py_compile
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from leaklint.fixes import FIXABLE_CODES  # noqa: E402


def _leaklint(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "leaklint", "check", "--no-cache", *args],
        cwd=cwd, capture_output=True, text=True, env=env,
    )


#: What ``--subset`` leaves out: the biggest folders, most of them tests and tools.
SUBSET_WITHOUT = ("test", "idlelib", "lib2to3", "encodings", "distutils")


def _copy(stdlib: Path, to: Path, subset: bool = False) -> dict[str, bytes]:
    """Copy every ``.py`` file of the standard library (``subset``: but for the folders
    ``SUBSET_WITHOUT``); their bytes, by relative path."""
    files: dict[str, bytes] = {}
    for folder, dirs, names in os.walk(stdlib):
        left_out = {"site-packages", "__pycache__"}
        if subset and Path(folder) == stdlib:
            left_out.update(SUBSET_WITHOUT)
        dirs[:] = sorted(d for d in dirs if d not in left_out)
        for name in sorted(names):
            if not name.endswith(".py"):
                continue
            source = Path(folder, name)
            if source.is_symlink() or not source.is_file():
                continue
            relative = source.relative_to(stdlib).as_posix()
            target = to / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            files[relative] = target.read_bytes()
    return files


def _findings(proc: subprocess.CompletedProcess[str]) -> list[dict]:
    if proc.returncode not in (0, 1):
        raise SystemExit(f"leaklint exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout or "[]")


def _line(files: dict[str, bytes], path: str, number: int) -> str:
    lines = files[path].decode("utf-8", "replace").splitlines()
    return " ".join(lines[number - 1].split()) if 0 < number <= len(lines) else ""


def _hunks(before: bytes, after: bytes) -> list[tuple[int, int, list[str]]]:
    """The changed stretches of ``before``, as 1-based (first, last) line numbers, with the
    lines that stand there after."""
    old = before.decode("utf-8", "replace").splitlines()
    new = after.decode("utf-8", "replace").splitlines()
    out = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            out.append((i1 + 1, max(i1 + 1, i2), new[j1:j2]))
    return out


def _regions(source: bytes, lines: list[int]) -> list[tuple[int, int]]:
    """Where a fix of a finding on each of ``lines`` may write: from that line to the end of
    the innermost block holding it (a `with` or `try` around the statements after the
    acquisition, the release removed or moved, all inside that block)."""
    blocks = [
        (node.lineno, node.end_lineno or node.lineno)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.stmt) and any(
            isinstance(getattr(node, field, None), list) and getattr(node, field)
            and isinstance(getattr(node, field)[0], ast.stmt)
            for field in ("body", "orelse", "finalbody", "handlers")
        )
    ]
    total = source.count(b"\n") + 1
    out = []
    for line in lines:
        around = [(start, end) for start, end in blocks if start < line <= end]
        end = min(around, key=lambda block: block[1] - block[0])[1] if around else total
        out.append((line, end))
    return out


def _timed_fix(stdlib: Path, jobs: str, subset: bool, unsafe: bool) -> tuple[float, float, tuple]:
    """``--fix --jobs jobs`` on a fresh copy: its wall time, the load average before it, and
    what it gave (exit code, stdout, summary line, every file's bytes)."""
    scratch = Path(tempfile.mkdtemp(prefix="leaklint-fix-jobs-"))
    try:
        original = _copy(stdlib, scratch, subset)
        load = os.getloadavg()[0]
        started = time.monotonic()
        flags = ["--fix", *(["--unsafe-fixes"] if unsafe else []), "--jobs", jobs, "--format", "json", "."]
        proc = _leaklint(*flags, cwd=scratch)
        seconds = time.monotonic() - started
        _findings(proc)
        files = {path: (scratch / path).read_bytes() for path in original}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    summary = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
    return seconds, load, (proc.returncode, proc.stdout, summary, files)


def compare_jobs(args: argparse.Namespace, stdlib: Path) -> int:
    """``--compare-jobs``: the same ``--fix`` with each ``--jobs``, timed, outputs compared."""
    jobs = args.compare_jobs.split(",")
    times: dict[str, list[float]] = {j: [] for j in jobs}
    loads: dict[str, list[float]] = {j: [] for j in jobs}
    given: dict[str, tuple] = {}
    for _ in range(args.repeat):
        for j in jobs:
            seconds, load, out = _timed_fix(stdlib, j, args.subset, args.unsafe_fixes)
            times[j].append(seconds)
            loads[j].append(load)
            given.setdefault(j, out)
            if given[j] != out:
                given[j] = ("differs between repeats",)
    first = given[jobs[0]]
    same = all(given[j] == first for j in jobs)
    files = len(first[3]) if len(first) > 3 else 0
    median = {j: statistics.median(times[j]) for j in jobs}
    rows = [
        "# `leaklint check --fix` on the standard library: `-j 1` against `-j 2`\n",
        f"`python benchmarks/fix_stdlib.py --compare-jobs {args.compare_jobs} --repeat {args.repeat}"
        f"{' --subset' if args.subset else ''}{' --unsafe-fixes' if args.unsafe_fixes else ''}`: "
        f"Python {sys.version.split()[0]}, {files} files"
        f"{' (the standard library without ' + ', '.join(SUBSET_WITHOUT) + ')' if args.subset else ''}, "
        f"{os.cpu_count()} cores. Each run is `check --no-cache --fix --format json` on a fresh "
        "copy, check included.\n",
        f"leaklint's summary: `{first[2] if len(first) > 2 else '?'}`\n",
        "| --jobs | median wall (s) | runs (s) | load average before each run | speed-up |",
        "|---|---:|---|---|---:|",
    ]
    for j in jobs:
        rows.append(
            f"| {j} | {median[j]:.1f} | {', '.join(f'{t:.1f}' for t in times[j])} | "
            f"{', '.join(f'{x:.2f}' for x in loads[j])} | {median[jobs[0]] / median[j]:.2f}x |"
        )
    rows += ["", f"- output (exit code, stdout, summary line) and every file's bytes the same for "
             f"each --jobs: {'yes' if same else 'NO'}"]
    text = "\n".join(rows) + "\n"
    output = args.output if args.output != DEFAULT_OUTPUT else HERE / "results" / "fix_stdlib_jobs.md"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, "utf-8")
    print(text)
    return 0 if same else 1


DEFAULT_OUTPUT = HERE / "results" / "fix_stdlib.md"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default=str(os.cpu_count() or 1))
    parser.add_argument("--unsafe-fixes", action="store_true")
    parser.add_argument("--keep", type=Path, help="copy into this folder and keep it")
    parser.add_argument("--subset", action="store_true", help="without " + ", ".join(SUBSET_WITHOUT))
    parser.add_argument("--compare-jobs", help="e.g. 1,2: time --fix with each, compare outputs")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    if args.compare_jobs:
        return compare_jobs(args, stdlib)
    scratch = args.keep or Path(tempfile.mkdtemp(prefix="leaklint-fix-stdlib-"))
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        original = _copy(stdlib, scratch, args.subset)
        flags = ["--jobs", args.jobs, "--format", "json", "."]
        before = _findings(_leaklint(*flags, cwd=scratch))
        started = time.monotonic()
        fix_flags = ["--fix", *(["--unsafe-fixes"] if args.unsafe_fixes else [])]
        fixed_run = _leaklint(*fix_flags, *flags, cwd=scratch)
        seconds = time.monotonic() - started
        after = _findings(fixed_run)
        now = {path: (scratch / path).read_bytes() for path in original}
        again = _leaklint(*fix_flags, *flags, cwd=scratch)
        _findings(again)
        third = {path: (scratch / path).read_bytes() for path in original}
    finally:
        if args.keep is None:
            shutil.rmtree(scratch, ignore_errors=True)

    changed = sorted(path for path in original if now[path] != original[path])
    problems: list[str] = []
    fixable_before: dict[str, list[int]] = {}
    for finding in before:
        if finding["code"] in FIXABLE_CODES:
            fixable_before.setdefault(finding["path"], []).append(finding["line"])
    for path in changed:
        lines = fixable_before.get(path)
        if not lines:
            problems.append(f"{path}: changed without a fixable finding")
            continue
        regions = _regions(original[path], lines)
        for first, last, added in _hunks(original[path], now[path]):
            if all(line.strip().startswith("import ") for line in added) and first == last:
                continue  # the import a fix needs (`import contextlib`)
            if not any(start <= first and last <= end for start, end in regions):
                problems.append(f"{path}:{first}-{last}: a change where no fixable finding is")
        with tempfile.TemporaryDirectory() as folder:
            compiled = Path(folder, "m.py")
            compiled.write_bytes(now[path])
            try:
                py_compile.compile(str(compiled), cfile=str(compiled) + "c", doraise=True)
            except py_compile.PyCompileError as err:
                problems.append(f"{path}: does not compile after the fix: {err.msg.strip()}")
    summary_again = again.stderr.strip().splitlines()[-1] if again.stderr.strip() else ""
    if not summary_again.startswith("leaklint: fixed 0 findings in 0 files"):
        problems.append(f"a second --fix changed something: {summary_again}")
    if third != now:
        problems.append("a second --fix changed bytes")
    seen = Counter((f["path"], f["code"], _line(original, f["path"], f["line"])) for f in before)
    for finding in after:
        key = (finding["path"], finding["code"], _line(now, finding["path"], finding["line"]))
        if seen[key] > 0:
            seen[key] -= 1
        else:
            problems.append(f"{finding['path']}:{finding['line']}: {finding['code']} is new")

    count_before = Counter(f["code"] for f in before)
    count_after = Counter(f["code"] for f in after)
    summary_fix = fixed_run.stderr.strip().splitlines()[-1]
    rows = [
        f"# `leaklint check --fix` on the standard library\n",
        f"`python benchmarks/fix_stdlib.py --jobs {args.jobs}"
        f"{' --unsafe-fixes' if args.unsafe_fixes else ''}`: Python "
        f"{sys.version.split()[0]}, {len(original)} files copied from `{stdlib}`.\n",
        f"leaklint's own summary: `{summary_fix}` ({seconds:.1f} s, check included).\n",
        "| rule | has a fix | findings before | after `--fix` | fewer |",
        "|---|---|---:|---:|---:|",
    ]
    for code in sorted(set(count_before) | set(count_after)):
        rows.append(
            f"| {code} | {'yes' if code in FIXABLE_CODES else 'no'} | {count_before[code]} | "
            f"{count_after[code]} | {count_before[code] - count_after[code]} |"
        )
    rows.append(
        f"| all | | {sum(count_before.values())} | {sum(count_after.values())} | "
        f"{sum(count_before.values()) - sum(count_after.values())} |"
    )
    rows += [
        "",
        f"- files changed: {len(changed)}; every one compiles: "
        f"{'yes' if not any('compile' in p for p in problems) else 'NO'}",
        f"- every change is where a fixable finding was: "
        f"{'yes' if not any('where no fixable' in p or 'without a fixable' in p for p in problems) else 'NO'}",
        f"- a second `--fix`: `{summary_again}`; bytes unchanged: {'yes' if third == now else 'NO'}",
        f"- findings new after the fixes: {sum('is new' in p for p in problems)}",
    ]
    if problems:
        rows += ["", "## Problems", "", *(f"- {p}" for p in problems)]
    text = "\n".join(rows) + "\n"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, "utf-8")
    print(text)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
