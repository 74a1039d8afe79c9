"""leaklint against pylint (consider-using-with), flake8-simplify and ruff (SIM115) on this
Python's standard library.

    python -m pip install -e '.[bench]'
    python benchmarks/compare.py                 # whole stdlib, median of 1
    python benchmarks/compare.py --runs 3 --skip-tests
    python benchmarks/compare.py --check-prefilter   # also: findings with and without it
    python benchmarks/compare.py --one-file-changed  # also: warm after one file changed

Every tool gets the same explicit list of files (site-packages never; test folders unless
--skip-tests is given), runs in an empty folder so no project configuration applies, and
is timed by wall clock, the median of N interleaved runs. leaklint runs cold (``--no-cache``)
with one process and with ``--jobs`` processes, and warm (a second run over a cache filled by
an untimed first run); ``libcst.parse_module`` of every file in one process is the floor.
flake8 runs every installed plugin whatever ``--select`` says (leaklint is one), so it runs
from a venv of its own holding only flake8 and flake8-simplify (benchmarks/.cache/, made on
first use with pip; ``--no-flake8-venv`` uses this Python's flake8 instead). The markdown
table is printed and written to benchmarks/results/stdlib.md. A tool that is not installed
is reported as missing, not skipped silently. The report ends with the targets of issue 8,
each met or not. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULT = HERE / "results" / "stdlib.md"
FLAKE8_VENV = HERE / ".cache" / "flake8-venv"
#: The floor: libcst's parser over every file, in one process.
LIBCST_FLOOR = (
    "import sys, libcst\n"
    "for path in sys.argv[1:]:\n"
    "    try:\n"
    "        libcst.parse_module(open(path, 'rb').read())\n"
    "    except Exception:\n"
    "        pass\n"
    "print('[]')\n"
)
TEST_FOLDERS = {"test", "tests", "idle_test", "unittest/test", "lib2to3/tests"}


@dataclass
class Tool:
    name: str
    module: str  # what `python -m` runs, and the distribution to ask for a version
    args: list[str]  # before the file list
    rule: str  # what it looks for, for the table
    python: str = sys.executable  # the interpreter that runs it (flake8: its own venv)
    plugin: str = ""  # a distribution that must be installed too
    warm: bool = False  # run once untimed before every timed run (a cache to fill)
    env: dict[str, str] = field(default_factory=dict)

    def available(self) -> bool:
        return all(self._version(name) is not None for name in (self.module, self.plugin) if name)

    def version(self) -> str:
        versions = [self._version(name) or "?" for name in (self.module, self.plugin) if name]
        return " + ".join(versions)

    def _version(self, name: str) -> str | None:
        if self.python == sys.executable:
            try:
                return importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                return None
        proc = subprocess.run(
            [self.python, "-c", f"import importlib.metadata as m; print(m.version({name!r}))"],
            capture_output=True,
            text=True,
        )
        return proc.stdout.strip() if proc.returncode == 0 else None

    def command(self) -> list[str]:
        if self.module == "libcst":
            return [self.python, "-c", LIBCST_FLOOR]
        return [self.python, "-m", self.module, *self.args]


def snapshot(folder: str, revision: str | None) -> dict[str, str]:
    """A copy of leaklint's sources (as they are in the working tree, or at ``revision``),
    and the environment that runs leaklint from it: the checkout may change while the
    benchmark runs (other sessions edit it), and an edit would both change what is measured
    and, since the cache is keyed by leaklint's own sources, turn the warm run into a cold
    one."""
    import shutil

    if revision is None:
        shutil.copytree(HERE.parent / "leaklint", Path(folder) / "leaklint",
                        ignore=shutil.ignore_patterns("__pycache__"))
    else:
        archive = subprocess.run(["git", "archive", revision, "leaklint"], cwd=HERE.parent,
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    path = os.pathsep.join(filter(None, [folder, os.environ.get("PYTHONPATH", "")]))
    return {"PYTHONPATH": path}


def startup(runs: int = 5) -> float:
    """The median wall clock of ``python -c pass``: what any command costs here and now (the
    warm run's floor; on a loaded machine it alone can take a tenth of a second)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def flake8_python(use_venv: bool) -> str:
    """flake8 with flake8-simplify and nothing else: a venv of its own, made on first use."""
    if not use_venv:
        return sys.executable
    python = FLAKE8_VENV / "bin" / "python"
    if not python.exists():
        print(f"making {FLAKE8_VENV} (flake8 + flake8-simplify) ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(FLAKE8_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "flake8", "flake8-simplify"], check=False
        )
    return str(python)


def tools(jobs: int, cache: str, flake8: str, env: dict[str, str]) -> list[Tool]:
    leaklint = ["check", "--exit-zero", "--format", "json"]
    rules = "all rules (LL900 counted apart)"
    return [
        Tool("libcst floor", "libcst", [], "parse_module of every file, one process"),
        Tool("leaklint -j 1", "leaklint", [*leaklint, "--no-cache", "-j", "1"], rules, env=env),
        Tool("leaklint", "leaklint", [*leaklint, "--no-cache", "-j", str(jobs)], rules, env=env),
        Tool(
            "leaklint warm",
            "leaklint",
            [*leaklint, "--cache-dir", cache, "-j", str(jobs)],
            rules + "; nothing changed since the last run",
            warm=True,
            env=env,
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
        Tool(
            "flake8-simplify",
            "flake8",
            ["--select", "SIM115", "-j", str(jobs), "--format", "%(path)s:%(row)d: %(code)s",
             "--isolated", "--exit-zero"],
            "SIM115 (flake8 + flake8-simplify only)",
            python=flake8,
            plugin="flake8-simplify",
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
    if tool == "flake8-simplify":
        return sum(1 for line in stdout.splitlines() if ": SIM115" in line), 0
    rows = json.loads(stdout or "[]")
    if tool.startswith("leaklint"):
        not_analysed = sum(1 for r in rows if r["code"] == "LL900")
        return len(rows) - not_analysed, not_analysed
    if tool == "pylint":
        found = sum(1 for r in rows if r.get("symbol") == "consider-using-with")
        return found, sum(1 for r in rows if r.get("type") == "fatal" or r.get("symbol") == "syntax-error")
    return len(rows), 0


@dataclass
class Row:
    tool: Tool
    times: list[float] = field(default_factory=list)
    found: int = 0
    not_analysed: int = 0
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def run_once(row: Row, files: list[str], cwd: str) -> None:
    tool = row.tool
    env = {**os.environ, **tool.env}
    if tool.warm:
        subprocess.run([*tool.command(), *files], cwd=cwd, capture_output=True, env=env)
    start = time.perf_counter()
    proc = subprocess.run([*tool.command(), *files], cwd=cwd, capture_output=True, text=True, env=env)
    row.times.append(time.perf_counter() - start)
    try:
        row.found, row.not_analysed = count(tool.name, proc.stdout)
    except json.JSONDecodeError:
        row.note = f"exit {proc.returncode}, output not JSON: {proc.stderr.strip()[-200:]}"
    if proc.returncode not in (0,) and not row.note:
        row.note = f"exit {proc.returncode}: {proc.stderr.strip()[-200:]}"


def check_prefilter(files: list[str], jobs: int, cwd: str, env: dict[str, str]) -> list[str]:
    """leaklint's findings with and without the pre-filter: the files where they differ."""
    outputs = []
    for switch in ("0", "1"):
        proc = subprocess.run(
            [sys.executable, "-m", "leaklint", "check", "--exit-zero", "--format", "json",
             "--no-cache", "-j", str(jobs), *files],
            cwd=cwd, capture_output=True, text=True,
            env={**os.environ, **env, "LEAKLINT_NO_PREFILTER": switch},
        )
        by_file: dict[str, list] = {}
        for finding in json.loads(proc.stdout or "[]"):
            by_file.setdefault(finding["path"], []).append(finding)
        outputs.append(by_file)
    with_filter, without = outputs
    lines = []
    for path in sorted(set(with_filter) | set(without)):
        kept, dropped = with_filter.get(path, []), without.get(path, [])
        if kept != dropped:
            for side, ours, theirs in (("without", dropped, kept), ("with", kept, dropped)):
                only = [f"{f['code']} {f['message'][:90]}" for f in ours if f not in theirs]
                if only:
                    lines.append(f"`{path}`: {side} the filters only: {'; '.join(only)}")
    return lines


def only_unparsable_code(differences: list[str]) -> bool:
    """Every difference is an LL900 that only the run without the filters has: code CPython
    parses and libcst cannot, which the filters never give to libcst."""
    return all(": without the filters only: LL900 syntax error" in line
               and "; " not in line.split(": without the filters only: ", 1)[1]
               for line in differences)


#: The file changed for the one-file-changed run: mid-sized, with findings.
CHANGED_FILE = "subprocess.py"


#: That file's analysis as the run does it, timed in a process that has leaklint imported:
#: its summary (which the run makes to see whether other files are affected) and its check
#: within the run's project (the one kept beside the run's manifest).
ALONE = """\
import sys, time
from leaklint import runner
from leaklint.cache import Cache
from pathlib import Path
from leaklint.config import load_config
from leaklint.core import check_source
cache_dir, changed, *files = sys.argv[1:]
config = load_config(None, start=Path(files[0]).parent).with_codes(None, None)  # as the CLI
cache = Cache.open(cache_dir)
manifest = cache.get("manifest", runner._manifest_key(runner.discover(files, config), config))
project = cache.get("project", manifest.fingerprint).project()
data = open(changed, "rb").read()
start = time.perf_counter()
runner._summarise_one(changed, data)
check_source(data, changed, config, project=project)
print(time.perf_counter() - start)
"""


def one_file_changed(
    root: Path, files: list[str], jobs: int, env: dict[str, str], runs: int = 1
) -> tuple[float, float, float]:
    """leaklint over a copy of the files, warm, after a comment is appended to one of them:
    (the run's time, the same run with nothing changed, that file's own summary and check,
    within the run's project, in a process that has leaklint imported). A copy, since the change must not touch this Python's
    standard library. The copy is fresh: its files and folders are younger than the two
    seconds in which the cache trusts no signature (see leaklint.cache), so one untimed run
    after the run that fills the cache lets them settle, as any tree not written this
    moment is. With ``runs`` above 1, each time is the median of that many (the file changed
    again before each changed run, by a comment of its own)."""
    import shutil

    with tempfile.TemporaryDirectory() as folder:
        copies = []
        for path in files:
            copy = Path(folder) / "lib" / Path(path).relative_to(root)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, copy)
            copies.append(str(copy))
        changed = Path(folder) / "lib" / CHANGED_FILE
        command = [sys.executable, "-m", "leaklint", "check", "--exit-zero", "--format", "json",
                   "--cache-dir", str(Path(folder) / "cache"), "-j", str(jobs), *copies]
        environ = {**os.environ, **env}

        def timed() -> float:
            start = time.perf_counter()
            subprocess.run(command, cwd=folder, capture_output=True, env=environ)
            return time.perf_counter() - start

        timed()  # fills the cache
        time.sleep(2.5)
        timed()  # the manifest, now that the copy is older than the racy window
        unchanged, after, alone = [], [], []
        for round_ in range(runs):
            unchanged.append(timed())
            changed.write_bytes(changed.read_bytes() + f"\n# changed {round_}\n".encode())
            after.append(timed())
            proc = subprocess.run(
                [sys.executable, "-c", ALONE, str(Path(folder) / "cache"), str(changed), *copies],
                cwd=folder, capture_output=True, text=True, env=environ, check=True,
            )
            alone.append(float(proc.stdout))
    return statistics.median(after), statistics.median(unchanged), statistics.median(alone)


def write_report(lines: list[str], output: Path) -> None:
    """Print the markdown and write it to ``output``."""
    text = "\n".join(lines)
    print(text)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, "utf-8")
    print(f"written to {output}", file=sys.stderr)


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


def targets(rows: list[Row], jobs: int, changed: tuple[float, float, float] | None) -> list[str]:
    """The targets of issue 8, each measured and met or not, from this run's medians."""
    medians = {row.tool.name: row.median for row in rows}
    cold = medians.get("leaklint")
    checks = []
    for peer, wanted in (("pylint", 7.0), ("flake8-simplify", 3.0)):
        if peer in medians and cold is not None:
            ratio = medians[peer] / cold
            checks.append((f"cold `-j {jobs}` ≥ {wanted:g}× faster than {peer} `-j {jobs}`",
                           f"{ratio:.2f}×", ratio >= wanted))
    if "libcst floor" in medians and cold is not None:
        ratio = cold / medians["libcst floor"]
        checks.append((f"cold `-j {jobs}` ≤ 0.7× the one-process libcst floor", f"{ratio:.2f}×", ratio <= 0.7))
    if "leaklint warm" in medians:
        warm = medians["leaklint warm"]
        checks.append(("warm, nothing changed: ≤ 0.3 s", f"{warm:.2f} s", warm <= 0.3))
    if changed is not None:
        after, _, alone = changed
        checks.append(("one file changed: ≤ 0.5 s + that file's analysis",
                       f"{after:.2f} s = {alone:.2f} s + {after - alone:.2f} s", after - alone <= 0.5))
    if not checks:
        return []
    lines = ["", "## Against the targets of issue 8", "", "| target | measured | met |", "|---|---|---|"]
    lines += [f"| {what} | {measured} | {'yes' if met else 'no'} |" for what, measured, met in checks]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="median of N interleaved runs (default 1)")
    parser.add_argument("--jobs", type=int, default=2, help="processes for leaklint, pylint and flake8 (default 2)")
    parser.add_argument("--skip-tests", action="store_true", help="leave out the stdlib's test folders")
    parser.add_argument("--only", help="comma-separated tool names to run (default: all)")
    parser.add_argument("--no-flake8-venv", action="store_true", help="use this Python's flake8")
    parser.add_argument(
        "--check-prefilter",
        action="store_true",
        help="also compare leaklint's findings with and without the pre-filter",
    )
    parser.add_argument(
        "--one-file-changed",
        action="store_true",
        help=f"also time a warm run after {CHANGED_FILE} changed (on a copy of the files)",
    )
    parser.add_argument("--at", metavar="REV", help="measure leaklint as committed at REV (default: the working tree)")
    parser.add_argument("--output", type=Path, default=RESULT, help=f"markdown file (default {RESULT.relative_to(HERE.parent)})")
    options = parser.parse_args()

    root, files = stdlib_files(options.skip_tests)
    size = sum(os.path.getsize(f) for f in files)
    print(f"{len(files)} files, {size / 1e6:.1f} MB under {root}", file=sys.stderr)

    rows: list[Row] = []
    missing = []
    prefilter: list[str] | None = None
    with tempfile.TemporaryDirectory() as empty, tempfile.TemporaryDirectory() as cache, \
            tempfile.TemporaryDirectory() as sources:
        env = snapshot(sources, options.at)
        chosen = tools(options.jobs, cache, flake8_python(not options.no_flake8_venv), env)
        if options.only:
            wanted = {name.strip() for name in options.only.split(",")}
            chosen = [tool for tool in chosen if tool.name in wanted]
        for tool in chosen:
            if tool.available():
                rows.append(Row(tool))
            else:
                print(
                    f"{tool.name} is not installed ({tool.python}); "
                    "install the bench extra: python -m pip install -e '.[bench]'",
                    file=sys.stderr,
                )
                missing.append(tool.name)
        for round_ in range(options.runs):
            for row in rows:
                print(f"run {round_ + 1}: {row.tool.name} ...", file=sys.stderr, flush=True)
                run_once(row, files, empty)
                print(f"  {row.times[-1]:.2f} s, {row.found} findings", file=sys.stderr)
        if options.check_prefilter:
            print("leaklint with and without the pre-filter ...", file=sys.stderr, flush=True)
            prefilter = check_prefilter(files, options.jobs, empty, env)
        changed = None
        if options.one_file_changed:
            print(f"leaklint warm after {CHANGED_FILE} changed ...", file=sys.stderr, flush=True)
            changed = one_file_changed(root, files, options.jobs, env, options.runs)
        started = startup()

    def median_of(name: str) -> float | None:
        return next((row.median for row in rows if row.tool.name == name), None)

    base, floor = median_of("leaklint"), median_of("libcst floor")
    lines = [
        "# leaklint, pylint, flake8-simplify and ruff on the standard library",
        "",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), "
        f"stdlib at `{root}`",
        f"- {len(files)} files, {size / 1e6:.1f} MB"
        + (" (test folders left out)" if options.skip_tests else " (test folders included)")
        + ", site-packages excluded; every tool gets the same explicit file list",
        f"- machine: {machine()}",
        f"- wall clock, median of {options.runs} interleaved run(s); leaklint (unless `-j 1`), "
        f"pylint and flake8 with {options.jobs} processes, ruff with its default threads; "
        "leaklint cold is `--no-cache`, warm is a second run over an unchanged tree",
        f"- `python {Path(__file__).relative_to(HERE.parent)} --runs {options.runs} --jobs {options.jobs}"
        + (" --skip-tests" if options.skip_tests else "")
        + (" --check-prefilter" if options.check_prefilter else "")
        + (" --one-file-changed" if options.one_file_changed else "")
        + (f' --only "{options.only}"' if options.only else "")
        + (f" --at {options.at}" if options.at else "")
        + "`",
        f"- load average at the end (1, 5, 15 min): {', '.join(f'{x:.1f}' for x in os.getloadavg())}; "
        f"`python -c pass` took {started:.2f} s (median of 5, at the end): every command's floor "
        "here and now",
        "",
        "| tool | version | looks for | findings | files not analysed | time (s) "
        "| time / leaklint's | time / libcst floor |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        ratio = f"{row.median / base:.2f}×" if base else "n/a"
        to_floor = f"{row.median / floor:.2f}×" if floor else "n/a"
        lines.append(
            f"| {row.tool.name} | {row.tool.version()} | {row.tool.rule} | {row.found} "
            f"| {row.not_analysed} | {row.median:.2f} | {ratio} | {to_floor} |"
        )
    for name in missing:
        lines.append(f"| {name} | missing | | | | | | |")
    if base:
        peers = [row for row in rows if not row.tool.name.startswith(("leaklint", "libcst"))]
        if peers:
            lines += ["", f"Each peer's time over leaklint's (cold, `-j {options.jobs}`; above 1: leaklint is faster):", ""]
            lines += [f"- {row.tool.name}: {row.median / base:.2f}" for row in peers]
    warm = median_of("leaklint warm")
    if warm:
        faster = f": {base / warm:.0f}× faster than cold" if base else ""
        lines += ["", f"The warm run takes {warm:.2f} s{faster}; starting Python alone takes "
                  f"{started:.2f} s here."]
    if changed is not None:
        after, unchanged, alone = changed
        lines += [
            "",
            f"One file changed ({CHANGED_FILE}, a comment appended; on a copy of the files; "
            f"medians of {options.runs}): the "
            f"warm run takes {after:.2f} s, against {unchanged:.2f} s with nothing changed; that "
            f"file's own analysis (its summary, and its check within the run's project) takes "
            f"{alone:.2f} s in a process with leaklint imported, so the rest of the run costs "
            f"{after - alone:.2f} s.",
        ]
    lines += targets(rows, options.jobs, changed)
    notes = [f"- {row.tool.name}: {row.note}" for row in rows if row.note]
    if notes:
        lines += ["", "Notes:", *notes]
    if prefilter is not None:
        lines += ["", "## Findings with and without the pre-filter (`LEAKLINT_NO_PREFILTER=1`)", ""]
        if prefilter:
            lines.append(f"{len(prefilter)} difference(s).")
            if only_unparsable_code(prefilter):
                lines.append(
                    "Each is an LL900 that only the run without the filters has: code CPython "
                    "parses and libcst cannot, in a file or a definition that names nothing that "
                    "can acquire, which the filters never give to libcst (with them, the rest of "
                    "the file is analysed)."
                )
            lines += ["", *[f"- {line}" for line in prefilter]]
        else:
            lines.append("Identical on every file.")
    lines += [
        "",
        "The counts are not comparable one for one: pylint, flake8-simplify and ruff flag every "
        "`open()` (or other context manager) not used in `with`, correct `try/finally` code "
        "included; leaklint reports only a resource that can reach the end of its owner's "
        "scope unreleased, for files, sockets, connections, processes and more.",
        "",
    ]
    write_report(lines, options.output)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
