"""Does leaklint's cost grow linearly with the size of a module, and how much memory does one
file take? Generated modules of 1x, 2x, 4x and 8x a base size, the largest file of this
Python's standard library, and (``--big-mb``) one generated module of that many megabytes.

    python benchmarks/scaling.py                    # 1x..8x of 0.5 MB, the largest stdlib file
    python benchmarks/scaling.py --big-mb 20        # also a 20 MB module (needs a few GB)
    python benchmarks/scaling.py --part obligations # only: many resources open at once

The second part (issue #20): does the time grow with the number of resources open *at the
same time*? One function holding 10,000 open files (``fN = open(pN)`` lines, then their
``close()``s), against 1,000 functions of 10 each: the same statements, the same file size,
the same findings but one. Linear analysis: about the same time; the target is at most 3x.
Each part, run alone, keeps the other part's section of the results file.

Each file is checked by ``leaklint.core.check_source`` in a fresh process (what one worker
does with it: summary pass, pre-filter, statement filter, libcst parse, analysis, positions),
timed around that call; the process's peak RSS (``ru_maxrss``) is what a worker needs for
that file, the bare interpreter with leaklint imported included (given apart). The child's
address space is capped (``--limit-gb``) so a blow-up fails alone instead of taking the
machine. The generated modules mix definitions that acquire (and leak) with definitions that
do not, a third each way, like library code. Writes benchmarks/results/scaling.md. Not part
of the test suite.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from compare import machine, stdlib_files, write_report  # noqa: E402

RESULT = HERE / "results" / "scaling.md"

#: One unit of the generated module: a function that leaks (LL101), two that acquire
#: nothing, a class with a method that writes with ``with``, and module-level code.
UNIT = '''

def read_config_{i}(path):
    f = open(path)
    data = f.read()
    f.close()
    return data


def parse_{i}(text):
    result = []
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, _, value = line.partition("=")
        result.append((key.strip(), value.strip()))
    return dict(result)


def merge_{i}(first, second, *, prefer_second=True):
    merged = dict(first)
    for key, value in second.items():
        if key not in merged or prefer_second:
            merged[key] = value
    return merged


class Store{i}:
    """Keeps settings {i}."""

    def __init__(self, path):
        self.path = path
        self.items = {{}}

    def get(self, key, default=None):
        return self.items.get(key, default)

    def save(self):
        with open(self.path, "w") as out:
            for key, value in sorted(self.items.items()):
                out.write(f"{{key}}={{value}}\\n")


DEFAULTS_{i} = {{"name": "store{i}", "size": {i}, "enabled": True}}
'''

#: Run in the child: check one file, print the time, findings and peak RSS.
CHILD = r"""
import json, resource, sys, time
limit = int(sys.argv[2]) * 2**30
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from leaklint.config import Config
from leaklint.core import check_source
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
data = open(sys.argv[1], "rb").read()
start, cpu = time.perf_counter(), time.process_time()
result = check_source(data, sys.argv[1], Config())
seconds = time.perf_counter() - start
print(json.dumps({
    "seconds": seconds,
    "cpu_seconds": time.process_time() - cpu,
    "findings": len(result.findings),
    "codes": sorted({f.code for f in result.findings}),
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "base_mb": base / 1024,
}))
"""


#: how the functions of ``opens`` hold their files: "plain" statements one after the other,
#: all "in a try" (closed in its finally), or with an "if" after each open
SHAPES = ("plain", "in a try", "if after each open")


def opens(functions: int, per_function: int, shape: str = "plain") -> bytes:
    """``functions`` functions, each opening ``per_function`` files and then closing them."""
    parts = []
    indent = "        " if shape == "in a try" else "    "
    for f in range(functions):
        names = [f"f{f * per_function + i}" for i in range(per_function)]
        acquire = "".join(
            f"{indent}{n} = open(p + '{n}')\n"
            + (f"{indent}if p:\n{indent}    {n}.write(p)\n" if shape == "if after each open" else "")
            for n in names
        )
        release = "".join(f"{indent}{n}.close()\n" for n in names)
        if shape == "in a try":
            acquire, release = "    try:\n" + acquire, "    finally:\n" + release
        parts.append(f"def read_{f}(p):\n" + acquire + release)
    return "\n\n".join(parts).encode()


def generate(units: int) -> bytes:
    header = '"""A generated module."""\n\nimport os\nimport sys\n'
    return (header + "".join(UNIT.format(i=i) for i in range(units))).encode()


def measure(path: str, limit_gb: int) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, path, str(limit_gb)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]}
    return json.loads(proc.stdout)


def _table(
    columns: list[str],
    rows: list[tuple[str, int, dict[str, object]]],
    digits: int,
    cells: Callable[[dict[str, object]], list[str]],
) -> list[str]:
    """A markdown table of (label, size in bytes, measure()'s result) rows: label and size in
    MB, then ``cells`` of the result (``result["size"]`` is the size), or why it failed."""
    lines = ["| " + " | ".join(columns) + " |", "|---|" + "---:|" * (len(columns) - 1)]
    for label, size, result in rows:
        first = [label, f"{size / 1e6:.{digits}f}"]
        if "error" in result:
            rest = [f"failed: {result['error']}"] + [""] * (len(columns) - 3)
        else:
            rest = cells({**result, "size": size})
        lines.append("| " + " | ".join(first + rest) + " |")
    return lines


SIZE_HEADING = "# Scaling and memory: one file at a time"
OBLIGATIONS_HEADING = "## Many resources open at once (issue #20)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-mb", type=float, default=0.5, help="size of the 1x module (default 0.5)")
    parser.add_argument("--big-mb", type=float, default=0, help="also check one module of this size")
    parser.add_argument("--limit-gb", type=int, default=8, help="address space cap of each child (default 8)")
    parser.add_argument("--part", choices=("all", "size", "obligations"), default="all")
    parser.add_argument("--open-at-once", type=int, default=10_000,
                        help="resources open at once in the one big function (default 10000)")
    parser.add_argument("--output", type=Path, default=RESULT)
    options = parser.parse_args()

    previous = options.output.read_text("utf-8") if options.output.exists() else ""
    kept_size, _, kept_obligations = previous.partition(OBLIGATIONS_HEADING)
    size = size_part(options) if options.part != "obligations" else kept_size.rstrip("\n").split("\n")
    if options.part != "size":
        obligations = obligations_part(options)
    elif kept_obligations:
        obligations = (OBLIGATIONS_HEADING + kept_obligations).rstrip("\n").split("\n")
    else:
        obligations = []
    write_report(size + ([""] + obligations if obligations else []) + [""], options.output)
    return 0


def obligations_part(options: argparse.Namespace) -> list[str]:
    """One function of n open resources against n/10 functions of 10, in fresh processes."""
    n = options.open_at_once
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for shape in SHAPES:
            for label, functions, each in (
                (f"{shape}: 1 function x {n:,} open at once", 1, n),
                (f"{shape}: {n // 10:,} functions x 10 open at once", n // 10, 10),
            ):
                path = Path(folder) / f"opens_{functions}x{each}.py"
                path.write_bytes(opens(functions, each, shape))
                print(f"{label} ...", file=sys.stderr, flush=True)
                rows.append((label, path.stat().st_size, measure(str(path), options.limit_gb)))
    lines = [
        OBLIGATIONS_HEADING,
        "",
        f"- machine: {machine()}",
        f"- `python benchmarks/scaling.py --part obligations --open-at-once {n}`; each file "
        "checked by `check_source` in a fresh process: the CPU time of that call (on a shared "
        "machine steadier than its wall clock, also given)",
        "",
        *_table(
            ["file", "size (MB)", "CPU (s)", "wall (s)", "findings", "peak RSS (MB)"], rows, 2,
            lambda r: [f"{float(r['cpu_seconds']):.2f}", f"{float(r['seconds']):.2f}",  # type: ignore[arg-type]
                       str(r["findings"]), f"{float(r['peak_mb']):.0f}"],  # type: ignore[arg-type]
        ),
    ]
    lines.append("")
    for shape, pair in zip(SHAPES, (rows[i:i + 2] for i in range(0, len(rows), 2))):
        if any("error" in r for _, _, r in pair):
            continue
        one, many = (float(r["cpu_seconds"]) for _, _, r in pair)  # type: ignore[arg-type]
        verdict = "met" if one <= 3 * many else "NOT met"
        lines.append(f"- {shape}: one function takes {one / many:.2f}x the CPU time of the many "
                     f"small ones (target: at most 3x, {verdict})")
    return lines


def size_part(options: argparse.Namespace) -> list[str]:
    """Generated modules of 1x..8x the base size and the largest stdlib file."""
    unit_size = len(generate(1)) - len(generate(0))
    base_units = max(1, int(options.base_mb * 1e6 / unit_size))
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        sizes = [("1x", base_units), ("2x", 2 * base_units), ("4x", 4 * base_units), ("8x", 8 * base_units)]
        if options.big_mb:
            sizes.append((f"{options.big_mb:g} MB", int(options.big_mb * 1e6 / unit_size)))
        for label, units in sizes:
            path = Path(folder) / f"generated_{units}.py"
            path.write_bytes(generate(units))
            print(f"{label}: {path.stat().st_size / 1e6:.1f} MB ...", file=sys.stderr, flush=True)
            rows.append((f"generated {label}", path.stat().st_size, measure(str(path), options.limit_gb)))
        _, files = stdlib_files(skip_tests=False)
        largest = max(files, key=lambda f: Path(f).stat().st_size)
        print(f"largest stdlib file {largest} ...", file=sys.stderr, flush=True)
        rows.append((f"stdlib's largest: `{Path(largest).name}`", Path(largest).stat().st_size,
                     measure(largest, options.limit_gb)))

    lines = [
        SIZE_HEADING,
        "",
        f"- machine: {machine()}",
        f"- `python benchmarks/scaling.py --base-mb {options.base_mb:g}"
        + (f" --big-mb {options.big_mb:g}" if options.big_mb else "")
        + "`; each file checked by `check_source` in a fresh process, wall clock of that call",
        "",
        *_table(
            ["file", "size (MB)", "time (s)", "s per MB", "findings", "peak RSS (MB)",
             "of which leaklint imported"], rows, 1,
            lambda r: [f"{float(r['seconds']):.2f}", f"{float(r['seconds']) / (r['size'] / 1e6):.2f}",  # type: ignore[arg-type]
                       str(r["findings"]), f"{float(r['peak_mb']):.0f}", f"{float(r['base_mb']):.0f}"],  # type: ignore[arg-type]
        ),
    ]
    generated = [(size, float(r["seconds"])) for label, size, r in rows[:4] if "error" not in r]  # type: ignore[arg-type]
    if len(generated) == 4:
        growth = generated[3][1] / generated[0][1]
        lines += ["", f"8x the size takes {growth:.1f}x the time (linear: 8.0x)."]
    return lines


if __name__ == "__main__":
    sys.exit(main())
