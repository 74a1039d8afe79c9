"""What the flake8 plugin costs against ``leaklint check`` on the same files (issue 25 item 1:
at most 1.5x the CLI with ``flake8 -j 2``).

    python benchmarks/flake8_plugin.py              # the standard library, -j 2, median of 1
    python benchmarks/flake8_plugin.py --runs 3 --limit 300

Three commands, each given the same explicit list of files, each cold (an empty cache of its
own, ``LEAKLINT_CACHE_DIR``) and then warm (the same cache again):

- ``leaklint check -j 2 FILES``;
- ``flake8 -j 2 --select LL FILES``: flake8 with every installed plugin (pyflakes,
  pycodestyle, mccabe and any other run whatever ``--select`` says; it only filters);
- the same flake8 with the leaklint plugin left out (a ``python -c`` that filters it out of
  flake8's plugin finder): flake8's own cost, which is not the plugin's.

The plugin's cost is the second minus the third; the ratio that matters is that cost over
the CLI's time. The findings of flake8 and of the CLI are compared too (they must be the
same lines). Writes ``results/flake8_plugin.md``.
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
from compare import snapshot, stdlib_files  # noqa: E402

RESULT = HERE / "results" / "flake8_plugin.md"

WITHOUT_PLUGIN = (
    "import sys\n"
    "import flake8.plugins.finder as finder\n"
    "found = finder._find_importlib_plugins\n"
    "finder._find_importlib_plugins = lambda: (p for p in found() if p.package != 'leaklint')\n"
    "from flake8.main.cli import main\n"
    "sys.argv[0] = 'flake8'\n"
    "sys.exit(main())\n"
)


def _timed(command: list[str], cache: str, cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    env = {**os.environ, **env, "LEAKLINT_CACHE_DIR": cache}
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{command[:4]} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return elapsed, proc.stdout


def _rows(text: str) -> set[tuple[str, int, str]]:
    out = set()
    for line in text.splitlines():
        path, number, _, rest = line.split(":", 3)
        code = rest.split()[0]
        if code.startswith("LL") and code != "LL900":  # flake8 reports unparsable files itself
            out.add((os.path.normpath(path), int(number), code))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="only the first N files")
    parser.add_argument("--output", type=Path, default=RESULT)
    parser.add_argument("--at", metavar="REV", help="leaklint as committed at REV (default: the working tree)")
    args = parser.parse_args()
    root, files = stdlib_files(skip_tests=False)
    if args.limit:
        files = files[: args.limit]
    jobs = str(args.jobs)
    commands = {
        "leaklint check": [sys.executable, "-m", "leaklint", "check", "-j", jobs, "--exit-zero", *files],
        "flake8 with the plugin": [sys.executable, "-m", "flake8", "-j", jobs, "--select", "LL", *files],
        "flake8 without it": [sys.executable, "-c", WITHOUT_PLUGIN, "-j", jobs, "--select", "LL", *files],
    }
    times: dict[tuple[str, str], list[float]] = {}
    outputs: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as scratch:
        # leaklint (and so the plugin flake8 imports) from a copy: edits to the checkout
        # during the run would change what is measured, and the cache's keys
        os.mkdir(os.path.join(scratch, "src"))
        env = snapshot(os.path.join(scratch, "src"), args.at)
        for run in range(args.runs):
            for name, command in commands.items():  # interleaved: the load hits each alike
                cache = os.path.join(scratch, f"{run}-{name.replace(' ', '-')}")
                cold, out = _timed(command, cache, Path(scratch), env)
                warm, _ = _timed(command, cache, Path(scratch), env)
                times.setdefault((name, "cold"), []).append(cold)
                times.setdefault((name, "warm"), []).append(warm)
                outputs[name] = out
                print(f"{name}: cold {cold:.1f} s, warm {warm:.1f} s", file=sys.stderr)
    median = {key: statistics.median(values) for key, values in times.items()}
    cli, plugin = _rows(outputs["leaklint check"]), _rows(outputs["flake8 with the plugin"])
    lines = [
        "# The flake8 plugin against the CLI",
        "",
        f"`python benchmarks/flake8_plugin.py --runs {args.runs} --jobs {args.jobs}"
        f"{f' --limit {args.limit}' if args.limit else ''}{f' --at {args.at}' if args.at else ''}`: "
        f"{len(files)} files of {root}, "
        f"median of {args.runs}, load average {os.getloadavg()[0]:.1f} at the end.",
        "",
        "| | cold (s) | warm (s) |",
        "|---|---:|---:|",
    ]
    for name in commands:
        lines.append(f"| {name} | {median[(name, 'cold')]:.1f} | {median[(name, 'warm')]:.1f} |")
    cost = {
        state: median[("flake8 with the plugin", state)] - median[("flake8 without it", state)]
        for state in ("cold", "warm")
    }
    lines.append(f"| the plugin's cost (with - without) | {cost['cold']:.1f} | {cost['warm']:.1f} |")
    lines.append(
        "| the plugin's cost / the CLI's time | "
        + " | ".join(f"{cost[s] / median[('leaklint check', s)]:.2f}" for s in ("cold", "warm"))
        + " |"
    )
    lines += [
        "",
        f"Findings: the CLI {len(cli)}, flake8 {len(plugin)}; only the CLI's: {len(cli - plugin)}, "
        f"only flake8's: {len(plugin - cli)} (flake8 applies its own `# noqa` too, by a text "
        "search of the physical line).",
        "",
    ]
    args.output.write_text("\n".join(lines), "utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
