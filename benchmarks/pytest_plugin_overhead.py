"""What ``pytest --leaklint`` costs: a test suite with and without it, interleaved.

    python benchmarks/pytest_plugin_overhead.py tests/test_fixtures.py
    python benchmarks/pytest_plugin_overhead.py --runs 5 --cwd /path/to/project tests/
    python benchmarks/pytest_plugin_overhead.py --frames 1,16 tests/test_fixtures.py

Each configuration (off; ``--leaklint --leaklint-frames N`` for each N) runs ``--runs`` times,
interleaved so a noisy machine slows all of them alike; the table gives the median of the time
pytest reports for the session ("in 12.3s": collection and tests, not interpreter start) and
of the wall clock. Extra pytest arguments go after ``--``. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path


def run(cwd: Path, args: list[str]) -> tuple[float, float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd, capture_output=True, text=True,
    )
    wall = time.perf_counter() - started
    match = re.search(r" in ([\d.]+)s", done.stdout.splitlines()[-1] if done.stdout else "")
    if match is None:
        raise SystemExit(f"pytest {' '.join(args)}: no timing line\n{done.stdout}{done.stderr}")
    return float(match[1]), wall, done.stdout.splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="+", help="what pytest runs (then -- extra args)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--frames", default="16", help="comma-separated --leaklint-frames values")
    parser.add_argument("--cwd", type=Path, default=Path.cwd())
    args, extra = parser.parse_known_args()
    extra = [a for a in extra if a != "--"]
    configs = {"off": []}
    for n in args.frames.split(","):
        configs[f"--leaklint, {n} frames"] = ["--leaklint", "--leaklint-frames", n]
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in configs}
    last = {}
    for _ in range(args.runs):
        for name, flags in configs.items():
            session, wall, line = run(args.cwd, [*args.targets, *extra, *flags])
            times[name].append((session, wall))
            last[name] = line
    base = statistics.median(s for s, _ in times["off"])
    print(f"`pytest {' '.join(args.targets + extra)}` in {args.cwd}, median of {args.runs}\n")
    print("| configuration | session (s) | wall (s) | × off | last result |")
    print("|---|---|---|---|---|")
    for name in configs:
        session = statistics.median(s for s, _ in times[name])
        wall = statistics.median(w for _, w in times[name])
        print(f"| {name} | {session:.2f} | {wall:.2f} | {session / base:.2f} | {last[name]} |")


if __name__ == "__main__":
    main()
