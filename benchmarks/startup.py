"""Start-up (issue 25 item 7): ``leaklint --version`` (target 0.15 s) and a cold ``check`` of
one small file, no cache (target 0.5 s), wall clock of a fresh process, median of ``--runs``.

    python benchmarks/startup.py --runs 11

Also prints the load average: on a shared machine read the two against each other. Writes
``results/startup.md``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from compare import snapshot  # noqa: E402

SMALL = "def read(path):\n    f = open(path)\n    return f.read()\n"


def _median(command: list[str], cwd: str, env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, env={**os.environ, **env}, capture_output=True, check=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--output", type=Path, default=HERE / "results" / "startup.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        os.mkdir(os.path.join(scratch, "src"))
        env = snapshot(os.path.join(scratch, "src"), None)
        Path(scratch, "a.py").write_text(SMALL)
        python = [sys.executable]
        rows = {
            "python -c pass (the floor)": _median([*python, "-c", "pass"], scratch, env, args.runs),
            "leaklint --version": _median([*python, "-m", "leaklint", "--version"], scratch, env, args.runs),
            "leaklint check --no-cache a.py (cold, one small file)": _median(
                [*python, "-m", "leaklint", "check", "--no-cache", "a.py"], scratch, env, args.runs
            ),
        }
    lines = [
        "# Start-up",
        "",
        f"`python benchmarks/startup.py --runs {args.runs}`: median wall clock of a fresh "
        f"process; load average {os.getloadavg()[0]:.1f} at the end.",
        "",
        "| command | s |",
        "|---|---:|",
        *(f"| {name} | {seconds:.3f} |" for name, seconds in rows.items()),
        "",
    ]
    args.output.write_text("\n".join(lines), "utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
