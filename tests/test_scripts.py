"""Throw-away scripts (leaklint/analysis/scripts.py), through the real CLI: a file run as a
program and never imported does not report what runs once per run (the process ends right
after); a module some other module imports, a package's module, or a test module is no script,
whatever its main block; --strict reports everything."""

from __future__ import annotations

from pathlib import Path

from test_cli import check, codes, write

LEAK_ONCE = '''import sys


def main(path):
    f = open(path)
    return f.readline()


if __name__ == "__main__":
    main(sys.argv[1])
'''


def test_a_script_once_per_run_is_quiet_but_strict_reports_it(tmp_path: Path) -> None:
    write(tmp_path, "examples/demo.py", LEAK_ONCE)
    assert check("--no-cache", "--format", "concise", ".", cwd=tmp_path).returncode == 0
    strict = check("--no-cache", "--strict", "--format", "concise", ".", cwd=tmp_path)
    assert strict.returncode == 1
    assert codes(strict) == [("examples/demo.py", 5, "LL100")]


def test_what_a_loop_of_the_script_repeats_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "tools/heads.py", LEAK_ONCE.replace(
        "    main(sys.argv[1])", "    for p in sys.argv[1:]:\n        main(p)"))
    proc = check("--no-cache", "--format", "concise", ".", cwd=tmp_path)
    assert codes(proc) == [("tools/heads.py", 5, "LL100")]


def test_an_imported_module_a_package_module_and_a_test_are_no_scripts(tmp_path: Path) -> None:
    write(tmp_path, "lib.py", LEAK_ONCE)
    write(tmp_path, "use.py", "import lib\n\nprint(lib.main)\n")
    write(tmp_path, "pkg/__init__.py", "")
    write(tmp_path, "pkg/tool.py", LEAK_ONCE)
    write(tmp_path, "checks/test_demo.py", LEAK_ONCE)
    proc = check("--no-cache", "--format", "concise", ".", cwd=tmp_path)
    assert sorted(codes(proc)) == [
        ("checks/test_demo.py", 5, "LL100"),
        ("lib.py", 5, "LL100"),
        ("pkg/tool.py", 5, "LL100"),
    ]


def test_a_module_at_a_projects_root_or_beside_packages_is_no_script(tmp_path: Path) -> None:
    write(tmp_path, "single/pyproject.toml", "[project]\nname = 'single'\n")
    write(tmp_path, "single/mylib.py", LEAK_ONCE)
    write(tmp_path, "lib/json/__init__.py", "")
    write(tmp_path, "lib/trace.py", LEAK_ONCE)
    proc = check("--no-cache", "--format", "concise", ".", cwd=tmp_path)
    assert sorted(codes(proc)) == [("lib/trace.py", 5, "LL100"), ("single/mylib.py", 5, "LL100")]


def test_a_packages_folder_of_programs_holds_scripts(tmp_path: Path) -> None:
    # ``kafka/benchmarks/load_example.py``: run with ``python -m``, never imported; its
    # sibling package module, and a benchmark some module imports, are no scripts
    write(tmp_path, "pkg/__init__.py", "")
    write(tmp_path, "pkg/tool.py", LEAK_ONCE)
    write(tmp_path, "pkg/benchmarks/__init__.py", "")
    write(tmp_path, "pkg/benchmarks/load.py", LEAK_ONCE)
    write(tmp_path, "pkg/benchmarks/shared.py", LEAK_ONCE)
    write(tmp_path, "pkg/benchmarks/run_all.py", "from pkg.benchmarks import shared\n")
    proc = check("--no-cache", "--format", "concise", ".", cwd=tmp_path)
    assert sorted(codes(proc)) == [
        ("pkg/benchmarks/shared.py", 5, "LL100"),
        ("pkg/tool.py", 5, "LL100"),
    ]


def test_a_function_handed_on_as_a_callback_repeats(tmp_path: Path) -> None:
    # ``runner.bench_time_func("read", func)``: the benchmark runner calls it many times
    write(tmp_path, "benchmarks/read.py", LEAK_ONCE.replace(
        "    main(sys.argv[1])", "    import pyperf\n    pyperf.Runner().bench_func('read', main, 'x')"))
    proc = check("--no-cache", "--format", "concise", ".", cwd=tmp_path)
    assert codes(proc) == [("benchmarks/read.py", 5, "LL100")]
