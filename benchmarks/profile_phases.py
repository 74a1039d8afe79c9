"""Where leaklint's time goes on this Python's standard library, phase by phase.

    python benchmarks/profile_phases.py               # whole stdlib, one process
    python benchmarks/profile_phases.py --every 5     # every 5th file, for a quick look

One process, no cache, the phases of ``leaklint.core`` timed one by one over the same files
(site-packages excluded, test folders included, as in compare.py), each call with CPython's
cycle collector paused, as leaklint runs each file:

1. read the bytes;
2. the ``ast`` summary pass (``facts_of_source``) of every file, then ``build_project``;
3. the pre-filter (``might_acquire``) of every file;
4. the statement filter of the files that pass it: CPython's ``ast`` finds the module-level
   definitions that name nothing that can acquire, and stubs them out;
5. libcst's parse of what is left of those files (``core.parse_unvalidated``, as the run);
6. the obligation analysis (``analyse_module``) of those;
7. the positions of the findings (``core._Positions``: each reported statement or method
   rendered alone);
8. for comparison: ``libcst.parse_module`` of every file, and ``PositionProvider`` of every
   parsed file (on every ``--positions-every``-th parsed file, scaled up), i.e. the cost the
   pre-filter and positions-on-demand avoid; and CPython's ``ast.parse`` of what libcst
   parses, what step 5 would cost if the analysis read CPython's tree.

Writes benchmarks/results/profile.md. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import ast
import os
import platform
import sys
import time
from functools import partial
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from compare import machine, stdlib_files, write_report  # noqa: E402

from leaklint import __version__  # noqa: E402
from leaklint.analysis.obligations import analyse_module  # noqa: E402
from leaklint.analysis.summaries import build_project, facts_of_source, module_name  # noqa: E402
from leaklint.config import Config  # noqa: E402
from leaklint import core  # noqa: E402
from leaklint.core import might_acquire  # noqa: E402

RESULT = HERE / "results" / "profile.md"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--every", type=int, default=1, help="take every n-th file (default 1: all)")
    parser.add_argument(
        "--positions-every",
        type=int,
        default=10,
        help="PositionProvider on every parsed file is measured on every n-th one, scaled (default 10)",
    )
    parser.add_argument("--output", type=Path, default=RESULT)
    options = parser.parse_args()

    root, files = stdlib_files(skip_tests=False)
    files = files[:: options.every]
    config = Config(root=str(root))
    times: dict[str, float] = {}

    def timed(phase: str, function, *args):  # type: ignore[no-untyped-def]
        # with the cycle collector paused, as leaklint runs each file's summary and check
        start = time.perf_counter()
        try:
            with core.collector_paused():
                return function(*args)
        finally:
            times[phase] = times.get(phase, 0.0) + time.perf_counter() - start

    def read(path: str) -> bytes:
        with open(path, "rb") as f:
            return f.read()

    print(f"{len(files)} files under {root}", file=sys.stderr)
    data = {path: timed("read", read, path) for path in files}
    size = sum(map(len, data.values()))
    modules, errors = [], {}
    for path, source in data.items():
        facts, error = timed("ast summary pass", facts_of_source, source, path)
        if facts is not None:
            modules.append(facts)
        if error is not None:
            errors[path] = error
    project = timed("build_project", build_project, modules, config.registry, errors, list(data))
    passing = []
    for path, source in data.items():
        reachable = project.file_triggers.get(os.path.normpath(path), frozenset())
        if path not in errors and timed("pre-filter", might_acquire, source, config.registry, reachable):
            passing.append(path)
    print(f"{len(passing)} pass the pre-filter; parsing and analysing them", file=sys.stderr)
    with_findings = 0
    parsed = {}
    kept: dict[str, bytes] = {}  # what the filters leave of each parsed file
    kept_bytes = 0
    for path in passing:
        reachable = project.file_triggers.get(os.path.normpath(path), frozenset())
        # as leaklint.core._check calls it
        held = partial(core._held_attributes, project, module_name(path)[0])
        reduced = timed(
            "statement filter (ast)",
            core._without_idle_definitions,
            data[path],
            config.registry,
            reachable,
            held,
            core.context_manager_names(project),
        )
        source, tree = reduced if reduced is not None else (data[path], None)
        kept_bytes += len(source)
        try:
            module = timed("libcst parse (what the filters keep)", core.parse_unvalidated, source)
        except Exception:  # noqa: BLE001 - counted as not analysed, as leaklint does
            continue
        parsed[path] = module
        kept[path] = source
        name, is_package = module_name(path)
        leaks = timed(
            "analysis",
            lambda: analyse_module(
                module, project.registry, module_name=name, is_package=is_package, project=project
            ),
        )
        if leaks:
            with_findings += 1

            def positions() -> None:
                located = core._Positions(module, source, tree)
                for leak in leaks:
                    located.around(leak)[leak.call]

            timed("positions (files with findings)", positions)
    print("for comparison: libcst on every file, positions on every parsed file", file=sys.stderr)
    for path in files:
        if path in errors:
            continue
        try:
            timed("libcst parse (every file, not done)", cst.parse_module, data[path])
        except Exception:  # noqa: BLE001
            pass
    for path, source in kept.items():
        timed("ast.parse (what the filters keep, not done)", ast.parse, source)
    sampled = sorted(parsed)[:: options.positions_every]
    for path in sampled:
        try:
            timed(
                "PositionProvider (every parsed file, not done)",
                lambda: MetadataWrapper(parsed[path], unsafe_skip_copy=True).resolve(PositionProvider),
            )
        except RecursionError:  # libcst renders recursively: a very deep expression
            print(f"  PositionProvider gave up on {path} (too deep)", file=sys.stderr)
    if sampled:
        times["PositionProvider (every parsed file, not done)"] *= len(parsed) / len(sampled)

    done = [
        "read",
        "ast summary pass",
        "build_project",
        "pre-filter",
        "statement filter (ast)",
        "libcst parse (what the filters keep)",
        "analysis",
        "positions (files with findings)",
    ]
    total = sum(times.get(p, 0.0) for p in done)
    lines = [
        "# Where the time goes: leaklint's phases on the standard library",
        "",
        f"- leaklint {__version__}, Python {platform.python_version()}, libcst {_version('libcst')}",
        f"- {len(files)} files, {size / 1e6:.1f} MB under `{root}`"
        + (f" (every {options.every}th file)" if options.every > 1 else "")
        + "; site-packages excluded, test folders included",
        f"- {len(passing)} files pass the pre-filter ({100 * len(passing) / len(files):.0f}%), "
        f"{with_findings} have findings",
        f"- bytes: {size / 1e6:.1f} MB in all, "
        f"{sum(len(data[p]) for p in passing) / 1e6:.1f} MB in the files that pass the pre-filter, "
        f"{kept_bytes / 1e6:.1f} MB of them left for libcst by the statement filter "
        "(the reduced sources' size: a stubbed-out line is its line end)",
        f"- machine: {machine()}; one process, no cache, wall clock per phase",
        f"- `python benchmarks/profile_phases.py"
        + (f" --every {options.every}" if options.every > 1 else "")
        + "`",
        "",
        "| phase | time (s) | share of the run |",
        "|---|---:|---:|",
    ]
    for phase in done:
        value = times.get(phase, 0.0)
        lines.append(f"| {phase} | {value:.2f} | {100 * value / total:.1f}% |")
    lines.append(f"| **total** | **{total:.2f}** | 100% |")
    lines += [
        "",
        "What the design avoids (not part of the run):",
        "",
        "| avoided | time (s) | × the run |",
        "|---|---:|---:|",
    ]
    for phase in (
        "libcst parse (every file, not done)",
        "PositionProvider (every parsed file, not done)",
        "ast.parse (what the filters keep, not done)",
    ):
        value = times.get(phase, 0.0)
        lines.append(f"| {phase.replace(', not done', '')} | {value:.2f} | {value / total:.2f}× |")
    lines += [
        "",
        f"PositionProvider on every parsed file is measured on every {options.positions_every}th "
        "parsed file and scaled up.",
        "",
    ]
    write_report(lines, options.output)
    return 0


def _version(name: str) -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
