"""Start-up (issue 25 item 7): ``leaklint --version`` (target 0.15 s), a cold ``check`` of one
small file (no cache; target 0.5 s) and a warm one (the cache answers), wall clock of a fresh
process, median of ``--runs``, beside ``ruff --version`` and ``ruff check`` of the same file.

    python benchmarks/startup.py --runs 11
    python benchmarks/startup.py --runs 11 --at 641b66d --at HEAD   # before and after

The commands run interleaved (one of each per round), so a change of the machine's load
touches them alike; the load average is printed at the start and the end. leaklint runs from a
copy of its sources (``compare.snapshot``: the working tree's, or each ``--at`` revision's), twice: with its bytecode cached, as an installed
package runs (``PYTHONPYCACHEPREFIX`` in the scratch folder, filled by a first run), and with
none written (``PYTHONDONTWRITEBYTECODE=1``, as this machine's sessions run: every leaklint
module is compiled at every start). A last table says where the time goes: what ``python -X
importtime`` counts for each leaklint command, and whether libcst was imported. Writes
``results/startup.md`` (a hand-written ``## Notes`` section at its end is kept).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from compare import snapshot

SMALL = "def read(path):\n    f = open(path)\n    return f.read()\n"

#: The cold check with the worker pool made unavailable, so the file is analysed in the
#: CLI's own process (the runner's fallback): what a pool costs a one-file run.
IN_PROCESS = """\
import sys
from leaklint import pool

def unavailable(function, items, *rest):
    raise pool.PoolUnavailable([pool._PENDING] * len(items))

pool.run = unavailable
from leaklint.cli import main
main(sys.argv[1:], prog_name="leaklint")
"""


def _round(
    commands: dict[str, tuple[list[str], dict[str, str]]], cwd: str
) -> dict[str, tuple[float, float]]:
    """Each command once: wall clock, and CPU time (user + system, its worker processes
    included), which a loaded machine inflates less than the wall clock."""
    times = {}
    for name, (command, env) in commands.items():
        before, started = os.times(), time.perf_counter()
        subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=False)
        wall, after = time.perf_counter() - started, os.times()
        cpu = (after.children_user + after.children_system) - (before.children_user + before.children_system)
        times[name] = (wall, cpu)
    return times


def _imports(command: list[str], cwd: str, env: dict[str, str]) -> tuple[float, int, bool]:
    """What ``-X importtime`` counts for a run: seconds (the top-level imports' cumulative
    times), how many modules, and whether libcst is one of them."""
    proc = subprocess.run(
        [command[0], "-X", "importtime", *command[1:]], cwd=cwd, env=env,
        capture_output=True, text=True, check=False,
    )
    rows = [line.split("|") for line in proc.stderr.splitlines() if line.startswith("import time:")]
    rows = [row for row in rows if row[1].strip().isdigit()]
    top = sum(int(row[1]) for row in rows if not row[2].startswith("  "))
    names = {row[2].strip() for row in rows}
    return top / 1e6, len(names), any(name == "libcst" for name in names)


def _leaklint_commands(
    python: str, scratch: str, work: str, rev: str | None
) -> dict[str, tuple[list[str], dict[str, str]]]:
    """leaklint's commands, run from a copy of its sources at ``rev`` (None: the working
    tree), after a first run has filled the bytecode and the cache the warm run reads."""
    label = rev or "tree"
    src = os.path.join(scratch, "src-" + label)
    os.mkdir(src)
    base = {**os.environ, **snapshot(src, rev)}
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    cached = {**base, "PYTHONPYCACHEPREFIX": os.path.join(scratch, "pyc-" + label)}
    uncached = {**base, "PYTHONDONTWRITEBYTECODE": "1"}
    leaklint = [python, "-m", "leaklint"]
    cold = [*leaklint, "check", "--no-cache", "a.py"]
    warm = [*leaklint, "check", "--cache-dir", os.path.join(scratch, "cache-" + label), "a.py"]
    subprocess.run(warm, cwd=work, env=cached, capture_output=True, check=False)  # fills both
    time.sleep(2.2)  # past the cache's racy window: the next warm run is answered
    subprocess.run(warm, cwd=work, env=cached, capture_output=True, check=False)
    return {
        "leaklint --version": ([*leaklint, "--version"], cached),
        COLD: (cold, cached),
        WARM: (warm, cached),
        "cold, analysed in the CLI's process (pool made unavailable; diagnostic)": (
            [python, "-c", IN_PROCESS, *cold[3:]], cached,
        ),
        "leaklint --version, no bytecode cache": ([*leaklint, "--version"], uncached),
        f"{COLD}, no bytecode cache": (cold, uncached),
    }


COLD = "leaklint check --no-cache a.py (cold)"
WARM = "leaklint check a.py (warm: the cache answers)"
#: The ruff command each leaklint command is set against, and the targets (wall clock).
PAIRS = {
    "leaklint --version": "ruff --version",
    COLD: "ruff check --no-cache a.py",
    WARM: "ruff check --no-cache a.py",
}
TARGETS = {"leaklint --version": 0.15, COLD: 0.5}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--output", type=Path, default=HERE / "results" / "startup.md")
    parser.add_argument(
        "--at", metavar="REV", action="append",
        help="leaklint's sources at this revision (repeat to compare revisions in one run; "
        "default: the working tree's, others' edits in progress included)",
    )
    args = parser.parse_args()
    revisions = args.at or [None]
    load_before = os.getloadavg()[0]
    python = sys.executable
    ruff = shutil.which("ruff", path=os.path.dirname(python)) or shutil.which("ruff")
    with tempfile.TemporaryDirectory() as scratch:
        work = os.path.join(scratch, "work")
        os.mkdir(work)
        Path(work, "a.py").write_text(SMALL)
        commands = {"python -c pass (the floor)": ([python, "-c", "pass"], dict(os.environ))}
        for rev in revisions:
            for name, command in _leaklint_commands(python, scratch, work, rev).items():
                commands[name if len(revisions) == 1 else f"{name} @ {rev or 'tree'}"] = command
        if ruff:
            commands["ruff --version"] = ([ruff, "--version"], dict(os.environ))
            commands["ruff check --no-cache a.py"] = ([ruff, "check", "--no-cache", "a.py"], dict(os.environ))
        rounds = [_round(commands, work) for _ in range(args.runs)]
        walls = {name: statistics.median(r[name][0] for r in rounds) for name in commands}
        cpus = {name: statistics.median(r[name][1] for r in rounds) for name in commands}
        imports = {
            name: _imports(command, work, env)
            for name, (command, env) in commands.items()
            if name.startswith("leaklint")
        }

    def plain(name: str) -> str:
        return name.rsplit(" @ ", 1)[0]

    def ratio(name: str) -> str:
        other = PAIRS.get(plain(name))
        return f"{walls[name] / walls[other]:.1f}x" if other in walls else ""

    at = "".join(f" --at {rev}" for rev in args.at or [])
    lines = [
        "# Start-up",
        "",
        (
            f"`python benchmarks/startup.py --runs {args.runs}{at}`: median wall clock and CPU time "
            f"(user + system, worker processes included) of a fresh process, the commands "
            f"interleaved; load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at "
            "the end (2 CPUs, shared with other sessions: read the CPU column and the ratios "
            "more than the wall clock)."
        ),
        "",
        "| command | wall, s | CPU, s | target (wall) | wall / ruff's |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {name} | {wall:.3f} | {cpus[name]:.3f} | {TARGETS.get(plain(name), '')} | {ratio(name)} |"
            for name, wall in walls.items()
        ),
        "",
        (
            "Where the time goes: `python -X importtime`, one run each (the top-level imports' "
            "cumulative time; the import profiler itself slows them)."
        ),
        "",
        "| command | imports, s | modules | libcst imported |",
        "|---|---:|---:|---|",
        *(
            f"| {name} | {seconds:.3f} | {count} | {'yes' if libcst else 'no'} |"
            for name, (seconds, count, libcst) in imports.items()
        ),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.output.exists():  # a hand-written "## Notes" section at the end stays
        old = args.output.read_text("utf-8")
        if "\n## Notes" in old:
            text += old[old.index("\n## Notes"):]
    args.output.write_text(text, "utf-8")


if __name__ == "__main__":
    main()
