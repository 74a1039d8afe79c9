"""leaklint against pylint (consider-using-with) and ruff (SIM115) on this Python's standard library.

    python -m pip install -e '.[bench]'
    python benchmarks/compare.py                 # whole stdlib, best of 1
    python benchmarks/compare.py --runs 3 --skip-tests

Every tool gets the same explicit list of files (site-packages never; test folders unless
--skip-tests is given), runs in an empty folder so no project configuration applies, and
is timed by wall clock, best of N. The markdown table is printed and written to
benchmarks/results/stdlib.md. A tool that is not installed is reported as missing, not
skipped silently. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULT = HERE / "results" / "stdlib.md"
TEST_FOLDERS = {"test", "tests", "idle_test", "unittest/test", "lib2to3/tests"}


@dataclass
class Tool:
    name: str
    module: str  # what `python -m` runs, and the distribution to ask for a version
    args: list[str]  # before the file list
    rule: str  # what it looks for, for the table

    def available(self) -> bool:
        return importlib.util.find_spec(self.module) is not None

    def version(self) -> str:
        try:
            return importlib.metadata.version(self.module)
        except importlib.metadata.PackageNotFoundError:
            return "?"


def tools(jobs: int) -> list[Tool]:
    return [
        Tool(
            "leaklint",
            "leaklint",
            ["check", "--exit-zero", "--format", "json", "-j", str(jobs)],
            "all rules (LL100, LL101, LL102, LL120; LL900 counted apart)",
        ),
        Tool(
            "pylint",
            "pylint",
            [
                "--disable=all",
                "--enable=consider-using-with",
                "-j",
                str(jobs),
                "--output-format=json",
                "--exit-zero",
                "--rcfile=/dev/null",
            ],
            "R1732 consider-using-with",
        ),
        Tool(
            "ruff",
            "ruff",
            ["check", "--select", "SIM115", "--no-cache", "--isolated", "--output-format", "json", "--exit-zero"],
            "SIM115 open-file-with-context-handler",
        ),
    ]


def stdlib_files(skip_tests: bool) -> tuple[Path, list[str]]:
    root = Path(sysconfig.get_paths()["stdlib"]).resolve()
    files = []
    for folder, dirs, names in os.walk(root):
        relative = Path(folder).relative_to(root).as_posix()
        keep = []
        for name in sorted(dirs):
            sub = f"{relative}/{name}".lstrip("./") if relative != "." else name
            if name in {"site-packages", "dist-packages", "__pycache__"}:
                continue
            if skip_tests and (name in TEST_FOLDERS or sub in TEST_FOLDERS):
                continue
            keep.append(name)
        dirs[:] = keep
        files.extend(str(Path(folder) / n) for n in sorted(names) if n.endswith(".py"))
    return root, files


def count(tool: str, stdout: str) -> tuple[int, int]:
    """(findings, files not analysed) from the tool's JSON output."""
    rows = json.loads(stdout or "[]")
    if tool == "leaklint":
        not_analysed = sum(1 for r in rows if r["code"] == "LL900")
        return len(rows) - not_analysed, not_analysed
    if tool == "pylint":
        found = sum(1 for r in rows if r.get("symbol") == "consider-using-with")
        return found, sum(1 for r in rows if r.get("type") == "fatal" or r.get("symbol") == "syntax-error")
    return len(rows), 0


def run(tool: Tool, files: list[str], runs: int, cwd: str) -> tuple[float, int, int, str]:
    best = float("inf")
    found = not_analysed = 0
    note = ""
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", tool.module, *tool.args, *files],
            cwd=cwd,
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - start
        best = min(best, elapsed)
        try:
            found, not_analysed = count(tool.name, proc.stdout)
        except json.JSONDecodeError:
            note = f"exit {proc.returncode}, output not JSON: {proc.stderr.strip()[-200:]}"
        if proc.returncode not in (0,) and not note:
            note = f"exit {proc.returncode}: {proc.stderr.strip()[-200:]}"
    return best, found, not_analysed, note


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="best of N wall-clock runs (default 1)")
    parser.add_argument("--jobs", type=int, default=2, help="processes for leaklint and pylint (default 2)")
    parser.add_argument("--skip-tests", action="store_true", help="leave out the stdlib's test folders")
    parser.add_argument("--output", type=Path, default=RESULT, help=f"markdown file (default {RESULT.relative_to(HERE.parent)})")
    options = parser.parse_args()

    root, files = stdlib_files(options.skip_tests)
    size = sum(os.path.getsize(f) for f in files)
    print(f"{len(files)} files, {size / 1e6:.1f} MB under {root}", file=sys.stderr)

    rows = []
    missing = []
    with tempfile.TemporaryDirectory() as empty:
        for tool in tools(options.jobs):
            if not tool.available():
                print(
                    f"{tool.name} is not installed in this Python ({sys.executable}); "
                    "install the bench extra: python -m pip install -e '.[bench]'",
                    file=sys.stderr,
                )
                missing.append(tool.name)
                continue
            print(f"running {tool.name} ...", file=sys.stderr, flush=True)
            best, found, not_analysed, note = run(tool, files, options.runs, empty)
            print(f"  {best:.1f} s, {found} findings", file=sys.stderr)
            rows.append((tool, best, found, not_analysed, note))

    base = next((best for tool, best, *_ in rows if tool.name == "leaklint"), None)
    lines = [
        "# leaklint, pylint and ruff on the standard library",
        "",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), "
        f"stdlib at `{root}`",
        f"- {len(files)} files, {size / 1e6:.1f} MB"
        + (" (test folders left out)" if options.skip_tests else " (test folders included)")
        + ", site-packages excluded; every tool gets the same explicit file list",
        f"- machine: {machine()}",
        f"- wall clock, best of {options.runs}; leaklint and pylint with {options.jobs} processes, "
        "ruff with its default threads",
        f"- `python {Path(__file__).relative_to(HERE.parent)} --runs {options.runs} --jobs {options.jobs}"
        + (" --skip-tests" if options.skip_tests else "")
        + "`",
        "",
        "| tool | version | looks for | findings | files not analysed | time (s) | time / leaklint's |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for tool, best, found, not_analysed, note in rows:
        ratio = f"{best / base:.2f}×" if base else "n/a"
        lines.append(
            f"| {tool.name} | {tool.version()} | {tool.rule} | {found} | {not_analysed} | {best:.1f} | {ratio} |"
        )
    for name in missing:
        lines.append(f"| {name} | missing | | | | | |")
    notes = [f"- {tool.name}: {note}" for tool, *_, note in rows if note]
    if notes:
        lines += ["", "Notes:", *notes]
    lines += [
        "",
        "The counts are not comparable one for one: pylint and ruff flag every `open()` "
        "(or other context manager) not used in `with`, correct `try/finally` code included; "
        "leaklint reports only a resource that can reach the end of its owner's scope "
        "unreleased, for files, sockets, connections, processes and more.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(text, "utf-8")
    print(f"written to {options.output}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
