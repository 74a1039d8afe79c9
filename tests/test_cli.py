"""The ``leaklint`` command, driven as a user drives it: a subprocess, real files, real exit codes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from unittest import mock

import pytest

import leaklint
from leaklint.config import Config
from leaklint.rules import ALL_RULES

LEAK = textwrap.dedent(
    """\
    def read(path):
        f = open(path)
        return f.read()
    """
)
CLEAN = textwrap.dedent(
    """\
    def read(path):
        with open(path) as f:
            return f.read()
    """
)
#: One finding of each of LL100, LL101 and LL102, on lines 2, 6 and 12.
THREE_RULES = textwrap.dedent(
    """\
    def not_released(path):
        f = open(path)
        return 1

    def not_in_finally(path):
        f = open(path)
        data = f.read()
        f.close()
        return data

    def unbound(path):
        return open(path).read()
    """
)
FINDING_LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<code>LL\d{3}) (?P<msg>.+)$")


def run(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m leaklint ARGS`` in ``cwd``; no output may ever hold a traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "leaklint", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return proc


def check(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return run("check", *args, cwd=cwd, timeout=timeout)


def codes(proc: subprocess.CompletedProcess[str]) -> list[tuple[str, int, str]]:
    """(path, line, code) of every finding line; fails on any line that is not one."""
    out = []
    for line in proc.stdout.splitlines():
        match = FINDING_LINE.match(line)
        assert match, f"not a finding line: {line!r}"
        out.append((match["path"], int(match["line"]), match["code"]))
    return out


def write(root: Path, relative: str, text: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, "utf-8")
    return path


# --- exit codes ---------------------------------------------------------------------------


def test_clean_file_exits_0_and_prints_nothing(tmp_path: Path) -> None:
    write(tmp_path, "ok.py", CLEAN)
    proc = check("ok.py", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (0, "")


def test_finding_exits_1(tmp_path: Path) -> None:
    write(tmp_path, "leak.py", LEAK)
    proc = check("leak.py", cwd=tmp_path)
    assert proc.returncode == 1
    assert codes(proc) == [("leak.py", 2, "LL100")]


def test_exit_zero_keeps_the_output(tmp_path: Path) -> None:
    write(tmp_path, "leak.py", LEAK)
    proc = check("--exit-zero", "leak.py", cwd=tmp_path)
    assert proc.returncode == 0
    assert codes(proc) == [("leak.py", 2, "LL100")]


def test_unknown_option_exits_2(tmp_path: Path) -> None:
    proc = check("--no-such-option", cwd=tmp_path)
    assert proc.returncode == 2
    assert "no-such-option" in proc.stderr


@pytest.mark.parametrize("option", ["--select", "--ignore"])
def test_unknown_code_on_the_command_line_exits_2(tmp_path: Path, option: str) -> None:
    write(tmp_path, "leak.py", LEAK)
    proc = check(option, "LL999", "leak.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "LL999" in proc.stderr


@pytest.mark.parametrize(
    ("table", "mentioned"),
    [
        ('selct = ["LL100"]', "selct"),  # unknown key
        ('select = "LL100"', "select"),  # a string, not a list
        ("ignore = [100]", "ignore"),  # not strings
        ('select = ["XX1"]', "XX1"),  # unknown code
        ("exclude = true", "exclude"),
        ('resources = "mylib.connect"', "resources"),
        ('[tool.leaklint.resources."mylib.connect"]\nrelease = "not a method"', "release"),
        ('per-file-ignores = ["tests/"]', "per-file-ignores"),
        ('[tool.leaklint.per-file-ignores]\n"tests/**" = "LL100"', "tests/**"),
        ('[tool.leaklint.per-file-ignores]\n"tests/**" = ["LL777"]', "LL777"),
    ],
)
def test_bad_config_exits_2_with_one_clear_line(tmp_path: Path, table: str, mentioned: str) -> None:
    write(tmp_path, "pyproject.toml", f"[tool.leaklint]\n{table}\n")
    write(tmp_path, "leak.py", LEAK)
    proc = check("leak.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert mentioned in proc.stderr
    assert proc.stderr.startswith("leaklint: error: ")
    assert len(proc.stderr.splitlines()) == 1


def test_invalid_toml_exits_2(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[tool.leaklint\nselect = [")
    write(tmp_path, "leak.py", LEAK)
    # an unreadable pyproject.toml is not "ours" when searching; named with --config it is
    proc = check("--config", "pyproject.toml", "leak.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert "invalid TOML" in proc.stderr


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    write(tmp_path, "leak.py", LEAK)
    proc = check("--config", "nowhere.toml", "leak.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert "nowhere.toml" in proc.stderr


# --- output -------------------------------------------------------------------------------


def test_text_output_format_is_sorted_and_deterministic(tmp_path: Path) -> None:
    for name in ("b.py", "a.py", "sub/c.py"):
        write(tmp_path, name, THREE_RULES)
    first = check(".", cwd=tmp_path)
    assert first.returncode == 1
    found = codes(first)
    assert found == sorted(found, key=lambda f: (f[0], f[1]))
    assert [f[0] for f in found[::3]] == ["a.py", "b.py", os.path.join("sub", "c.py")]
    assert [(line, code) for _, line, code in found[:3]] == [(2, "LL100"), (6, "LL101"), (12, "LL102")]
    # column is 1-based: `f = open(path)` has open at column 9
    assert first.stdout.startswith("a.py:2:9: LL100 ")
    assert check(".", cwd=tmp_path).stdout == first.stdout


def test_parallel_and_serial_runs_print_the_same(tmp_path: Path) -> None:
    for i in range(40):  # above the runner's threshold for worker processes
        write(tmp_path, f"pkg/m{i:02}.py", THREE_RULES if i % 3 else CLEAN)
    serial = check("-j", "1", ".", cwd=tmp_path)
    parallel = check("-j", "2", ".", cwd=tmp_path)
    assert serial.returncode == parallel.returncode == 1
    assert serial.stdout == parallel.stdout
    assert len(codes(serial)) == 3 * len([i for i in range(40) if i % 3])


def test_messages_name_the_variable_and_the_factory(tmp_path: Path) -> None:
    write(tmp_path, "leak.py", LEAK)
    line = check("leak.py", cwd=tmp_path).stdout.strip()
    assert "`f`" in line
    assert "open()" in line


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--select", "LL100", ["LL100"]),
        ("--select", "LL101,LL102", ["LL101", "LL102"]),
        ("--select", "LL10", ["LL100", "LL101", "LL102"]),
        ("--select", "LL", ["LL100", "LL101", "LL102"]),
        ("--ignore", "LL100", ["LL101", "LL102"]),
        ("--ignore", "LL10", []),
        ("--ignore", "LL101, LL102", ["LL100"]),
    ],
)
def test_select_and_ignore_by_code_and_prefix(
    tmp_path: Path, option: str, value: str, expected: list[str]
) -> None:
    write(tmp_path, "three.py", THREE_RULES)
    proc = check(option, value, "three.py", cwd=tmp_path)
    assert [code for _, _, code in codes(proc)] == expected
    assert proc.returncode == (1 if expected else 0)


def test_longer_select_beats_shorter_ignore(tmp_path: Path) -> None:
    write(tmp_path, "three.py", THREE_RULES)
    proc = check("--select", "LL101", "--ignore", "LL1", "three.py", cwd=tmp_path)
    assert [code for _, _, code in codes(proc)] == ["LL101"]


def test_json_format(tmp_path: Path) -> None:
    write(tmp_path, "three.py", THREE_RULES)
    proc = check("--format", "json", "three.py", cwd=tmp_path)
    assert proc.returncode == 1
    rows = json.loads(proc.stdout)
    assert [(r["path"], r["line"], r["column"], r["code"]) for r in rows] == [
        ("three.py", 2, 9, "LL100"),
        ("three.py", 6, 9, "LL101"),
        ("three.py", 12, 12, "LL102"),
    ]
    assert [r["name"] for r in rows] == [
        "resource-not-released",
        "release-not-in-finally",
        "unbound-resource",
    ]
    assert all(r["message"] for r in rows)


def test_json_format_when_clean_is_an_empty_list(tmp_path: Path) -> None:
    write(tmp_path, "ok.py", CLEAN)
    proc = check("--format", "json", "ok.py", cwd=tmp_path)
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == []


def test_suppression_comments(tmp_path: Path) -> None:
    write(
        tmp_path,
        "s.py",
        textwrap.dedent(
            """\
            def a(p):
                f = open(p)  # noqa: LL100
                return 1

            def b(p):
                f = open(p)  # leaklint: ignore[LL100]
                return 1

            def c(p):
                f = open(p)  # noqa: LL101
                return 1
            """
        ),
    )
    assert codes(check("s.py", cwd=tmp_path)) == [("s.py", 10, "LL100")]


# --- the other commands -------------------------------------------------------------------


def test_rules_lists_every_code(tmp_path: Path) -> None:
    proc = run("rules", cwd=tmp_path)
    assert proc.returncode == 0
    listed = [line.split()[0] for line in proc.stdout.splitlines()]
    assert listed == [rule.code for rule in ALL_RULES]
    for rule in ALL_RULES:
        assert rule.name in proc.stdout


@pytest.mark.parametrize("wanted", ["LL100", "ll100", "resource-not-released"])
def test_rule_prints_the_docs(tmp_path: Path, wanted: str) -> None:
    proc = run("rule", wanted, cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.startswith("# LL100 resource-not-released")
    for heading in ("## What it does", "## Why is this bad?", "## Example", "## Fix safety"):
        assert heading in proc.stdout


def test_unknown_rule_exits_2(tmp_path: Path) -> None:
    proc = run("rule", "LL999", cwd=tmp_path)
    assert proc.returncode == 2
    assert "LL999" in proc.stderr


def test_version(tmp_path: Path) -> None:
    proc = run("--version", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"leaklint, version {leaklint.__version__}"


def test_python_dash_m_and_the_console_script_agree(tmp_path: Path) -> None:
    write(tmp_path, "leak.py", LEAK)
    module = check("leak.py", cwd=tmp_path)
    script = Path(sys.executable).with_name("leaklint")
    if not script.exists():
        pytest.skip("no leaklint console script beside this python")
    direct = subprocess.run(
        [str(script), "check", "leak.py"], cwd=tmp_path, capture_output=True, text=True
    )
    assert (direct.returncode, direct.stdout) == (module.returncode, module.stdout)


def test_help(tmp_path: Path) -> None:
    proc = run("--help", cwd=tmp_path)
    assert proc.returncode == 0
    for command in ("check", "rule", "rules"):
        assert command in proc.stdout


# --- discovery ----------------------------------------------------------------------------

DEFAULT_EXCLUDED = (".git", ".venv", "venv", "build", "dist", "__pycache__", ".tox", "node_modules")


def test_default_excludes_are_skipped_in_a_walk(tmp_path: Path) -> None:
    write(tmp_path, "src/leak.py", LEAK)
    for folder in DEFAULT_EXCLUDED:
        write(tmp_path, f"{folder}/leak.py", LEAK)
        write(tmp_path, f"src/{folder}/deeper/leak.py", LEAK)
    proc = check(".", cwd=tmp_path)
    assert [path for path, _, _ in codes(proc)] == [os.path.join("src", "leak.py")]


def test_gitignore_is_honoured(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path, ".gitignore", "generated/\n*_pb2.py\n")
    write(tmp_path, "pkg/.gitignore", "local.py\n")
    write(tmp_path, "generated/leak.py", LEAK)
    write(tmp_path, "pkg/thing_pb2.py", LEAK)
    write(tmp_path, "pkg/local.py", LEAK)
    write(tmp_path, "pkg/kept.py", LEAK)
    proc = check(".", cwd=tmp_path)
    assert [path for path, _, _ in codes(proc)] == [os.path.join("pkg", "kept.py")]


def test_gitignore_above_the_named_folder_applies(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path, ".gitignore", "*_pb2.py\n")
    write(tmp_path, "pkg/thing_pb2.py", LEAK)
    write(tmp_path, "pkg/kept.py", LEAK)
    proc = check("pkg", cwd=tmp_path)
    assert [path for path, _, _ in codes(proc)] == [os.path.join("pkg", "kept.py")]


def test_a_named_file_is_checked_even_if_excluded_or_ignored(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path, ".gitignore", "ignored.py\n")
    write(tmp_path, "ignored.py", LEAK)
    write(tmp_path, ".venv/lib/leak.py", LEAK)
    write(tmp_path, "build/leak.py", LEAK)
    assert codes(check(".", cwd=tmp_path)) == []
    proc = check("ignored.py", ".venv/lib/leak.py", "build/leak.py", cwd=tmp_path)
    assert sorted(path for path, _, _ in codes(proc)) == sorted(
        [
            "ignored.py",
            os.path.join(".venv", "lib", "leak.py"),
            os.path.join("build", "leak.py"),
        ]
    )


def test_a_named_excluded_folder_is_walked(tmp_path: Path) -> None:
    write(tmp_path, "build/leak.py", LEAK)
    proc = check("build", cwd=tmp_path)
    assert [path for path, _, _ in codes(proc)] == [os.path.join("build", "leak.py")]


def test_only_py_files_are_checked_in_a_walk(tmp_path: Path) -> None:
    write(tmp_path, "leak.py", LEAK)
    write(tmp_path, "notes.txt", LEAK)
    write(tmp_path, "script.pyw", LEAK)
    write(tmp_path, "stub.pyi", LEAK)
    assert [path for path, _, _ in codes(check(".", cwd=tmp_path))] == ["leak.py"]


def test_default_path_is_the_current_folder(tmp_path: Path) -> None:
    write(tmp_path, "leak.py", LEAK)
    assert [path for path, _, _ in codes(check(cwd=tmp_path))] == ["leak.py"]


def test_symlink_loop_in_a_walk_terminates(tmp_path: Path) -> None:
    write(tmp_path, "pkg/leak.py", LEAK)
    (tmp_path / "pkg" / "loop").symlink_to(tmp_path / "pkg", target_is_directory=True)
    proc = check("pkg", cwd=tmp_path, timeout=30)
    assert codes(proc)[0] == (os.path.join("pkg", "leak.py"), 2, "LL100")


# --- configuration ------------------------------------------------------------------------


def test_config_is_found_in_the_nearest_pyproject(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.leaklint]\nselect = ["LL101"]\n')
    write(tmp_path, "src/three.py", THREE_RULES)
    assert [code for _, _, code in codes(check("src", cwd=tmp_path))] == ["LL101"]
    # from inside the folder too: the search goes up
    assert [code for _, _, code in codes(check(".", cwd=tmp_path / "src"))] == ["LL101"]


def test_pyproject_without_our_table_is_passed_over(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.leaklint]\nignore = ["LL100"]\n')
    write(tmp_path, "sub/pyproject.toml", '[project]\nname = "sub"\n')
    write(tmp_path, "sub/three.py", THREE_RULES)
    assert [code for _, _, code in codes(check(".", cwd=tmp_path / "sub"))] == ["LL101", "LL102"]


def test_config_ignore_and_extend_select(tmp_path: Path) -> None:
    write(
        tmp_path,
        "pyproject.toml",
        '[tool.leaklint]\nselect = ["LL100"]\nextend-select = ["LL102"]\n',
    )
    write(tmp_path, "three.py", THREE_RULES)
    assert [code for _, _, code in codes(check(".", cwd=tmp_path))] == ["LL100", "LL102"]
    write(tmp_path, "pyproject.toml", '[tool.leaklint]\nignore = ["LL10"]\n')
    assert codes(check(".", cwd=tmp_path)) == []


def test_command_line_select_replaces_the_files(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.leaklint]\nselect = ["LL101"]\n')
    write(tmp_path, "three.py", THREE_RULES)
    proc = check("--select", "LL102", "three.py", cwd=tmp_path)
    assert [code for _, _, code in codes(proc)] == ["LL102"]


def test_extend_exclude_adds_to_the_defaults(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.leaklint]\nextend-exclude = ["gen/", "*_old.py"]\n')
    write(tmp_path, "gen/leak.py", LEAK)
    write(tmp_path, "a_old.py", LEAK)
    write(tmp_path, "venv/leak.py", LEAK)
    write(tmp_path, "kept.py", LEAK)
    assert [path for path, _, _ in codes(check(".", cwd=tmp_path))] == ["kept.py"]


def test_exclude_replaces_the_defaults(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.leaklint]\nexclude = ["gen/"]\n')
    write(tmp_path, "gen/leak.py", LEAK)
    write(tmp_path, "build/leak.py", LEAK)
    assert [path for path, _, _ in codes(check(".", cwd=tmp_path))] == [
        os.path.join("build", "leak.py")
    ]


USER_RESOURCE = textwrap.dedent(
    """\
    import mylib

    def query(sql):
        conn = mylib.connect()
        return conn.execute(sql)
    """
)


def test_user_resource_from_pyproject_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "app.py", USER_RESOURCE)
    assert codes(check(".", cwd=tmp_path)) == []  # unknown without the config
    write(
        tmp_path,
        "pyproject.toml",
        '[tool.leaklint.resources."mylib.connect"]\nrelease = ["close"]\n',
    )
    proc = check(".", cwd=tmp_path)
    assert codes(proc) == [("app.py", 4, "LL100")]
    assert "mylib.connect()" in proc.stdout


def test_config_option_names_a_file_anywhere(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.leaklint]\nselect = ["LL101"]\n')
    write(
        tmp_path,
        "elsewhere/pyproject.toml",
        '[tool.leaklint]\nselect = ["LL102"]\n'
        '[tool.leaklint.resources."mylib.connect"]\nrelease = ["close"]\n',
    )
    write(tmp_path, "three.py", THREE_RULES)
    write(tmp_path, "app.py", USER_RESOURCE)
    proc = check("--config", "elsewhere/pyproject.toml", ".", cwd=tmp_path)
    assert [(path, code) for path, _, code in codes(proc)] == [("three.py", "LL102")]
    proc = check("--config", "elsewhere/pyproject.toml", "--select", "LL100", ".", cwd=tmp_path)
    assert [(path, code) for path, _, code in codes(proc)] == [
        ("app.py", "LL100"),
        ("three.py", "LL100"),
    ]


# --- bad input: one LL900 line each, and the run goes on ----------------------------------

BAD_INPUTS: dict[str, bytes] = {
    "syntax_error.py": b"def f(:\n    pass\n",
    "python2.py": b'print "x"\n',
    "latin1_no_cookie.py": b'name = "caf\xe9"\n',
    "utf16_bom.py": "x = 1\n".encode("utf-16"),
    "garbage.py": bytes(range(256)) * 4,
    "nul_bytes.py": b"x = 1\0\n",
    "python2_with_open.py": b'f = open("p")\nprint "x"\n',
    "latin1_with_open.py": b'def f(p):\n    x = open(p)\n    return "caf\xe9"\n',
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_one_ll900_line_and_the_run_goes_on(tmp_path: Path, name: str) -> None:
    write(tmp_path, name, BAD_INPUTS[name])
    write(tmp_path, "z_leak.py", LEAK)
    proc = check(name, "z_leak.py", cwd=tmp_path)
    assert proc.returncode == 1  # LL900 is a finding, not an error
    found = codes(proc)
    assert [(path, code) for path, _, code in found] == [(name, "LL900"), ("z_leak.py", "LL100")]
    assert proc.stderr == ""


def test_a_walk_over_bad_inputs_reports_each_once(tmp_path: Path) -> None:
    for name, data in BAD_INPUTS.items():
        write(tmp_path, f"bad/{name}", data)
    write(tmp_path, "bad/z_leak.py", LEAK)
    proc = check("bad", cwd=tmp_path)
    found = codes(proc)
    assert sorted(os.path.basename(path) for path, _, code in found if code == "LL900") == sorted(
        BAD_INPUTS
    )
    assert (os.path.join("bad", "z_leak.py"), 2, "LL100") in found


def test_latin1_file_with_a_coding_cookie_is_analysed(tmp_path: Path) -> None:
    write(
        tmp_path,
        "latin.py",
        b'# -*- coding: latin-1 -*-\nname = "caf\xe9"\n\ndef f(p):\n    x = open(p)\n    return name\n',
    )
    proc = check("latin.py", cwd=tmp_path)
    assert codes(proc) == [("latin.py", 5, "LL100")]


def test_utf8_bom_is_fine(tmp_path: Path) -> None:
    write(tmp_path, "bom.py", b"\xef\xbb\xbf" + LEAK.encode())
    assert codes(check("bom.py", cwd=tmp_path)) == [("bom.py", 2, "LL100")]


def test_crlf_line_endings_are_fine(tmp_path: Path) -> None:
    write(tmp_path, "crlf.py", LEAK.replace("\n", "\r\n").encode())
    assert codes(check("crlf.py", cwd=tmp_path)) == [("crlf.py", 2, "LL100")]


@pytest.mark.parametrize("text", ["", "# only a comment\n# and another\n", "\n\n\n", '"""doc"""\n'])
def test_empty_or_comment_only_file_is_clean(tmp_path: Path, text: str) -> None:
    write(tmp_path, "empty.py", text)
    proc = check("empty.py", cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_directory_named_like_a_file(tmp_path: Path) -> None:
    (tmp_path / "x.py").mkdir()
    write(tmp_path, "z_leak.py", LEAK)
    proc = check("x.py", "z_leak.py", cwd=tmp_path)
    assert [(path, code) for path, _, code in codes(proc)] == [("x.py", "LL900"), ("z_leak.py", "LL100")]
    assert "directory" in proc.stdout


def test_dangling_symlink_named_explicitly(tmp_path: Path) -> None:
    (tmp_path / "gone.py").symlink_to(tmp_path / "nowhere.py")
    write(tmp_path, "z_leak.py", LEAK)
    proc = check("gone.py", "z_leak.py", cwd=tmp_path)
    assert [(path, code) for path, _, code in codes(proc)] == [("gone.py", "LL900"), ("z_leak.py", "LL100")]
    assert "symlink" in proc.stdout


def test_dangling_symlink_in_a_walk_does_not_stop_it(tmp_path: Path) -> None:
    (tmp_path / "gone.py").symlink_to(tmp_path / "nowhere.py")
    write(tmp_path, "z_leak.py", LEAK)
    proc = check(".", cwd=tmp_path)
    assert ("z_leak.py", 2, "LL100") in codes(proc)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read any file"
)
def test_unreadable_file(tmp_path: Path) -> None:
    secret = write(tmp_path, "secret.py", LEAK)
    secret.chmod(0)
    write(tmp_path, "z_leak.py", LEAK)
    try:
        proc = check("secret.py", "z_leak.py", cwd=tmp_path)
    finally:
        secret.chmod(0o644)
    assert [(path, code) for path, _, code in codes(proc)] == [("secret.py", "LL900"), ("z_leak.py", "LL100")]
    assert "cannot be read" in proc.stdout


def test_path_that_does_not_exist(tmp_path: Path) -> None:
    write(tmp_path, "z_leak.py", LEAK)
    proc = check("missing.py", "z_leak.py", cwd=tmp_path)
    assert proc.returncode == 1
    assert [(path, code) for path, _, code in codes(proc)] == [("missing.py", "LL900"), ("z_leak.py", "LL100")]
    assert "does not exist" in proc.stdout


def test_ll900_can_be_ignored(tmp_path: Path) -> None:
    write(tmp_path, "python2.py", b'print "x"\n')
    proc = check("--ignore", "LL900", "python2.py", "missing.py", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (0, "")


def _opens_then(expression: str) -> str:
    """A leak the analysis must reach, then a module-level expression."""
    return f"{LEAK}\ny = {expression}\n"


DEEP = {
    "parentheses": "(" * 1000 + "1" + ")" * 1000,
    "not": "not " * 1000 + "x",
    "unary minus": "-" * 1000 + "1",
    "sum of 1000": "+".join(["1"] * 1000),
    # past here libcst's native parser overflows the C stack (LibCST#1000): CPython's
    # parser must refuse the file first
    "sum of 10000": "+".join(["1"] * 10_000),
    "not 10000": "not " * 10_000 + "x",
    "attribute chain": "a" + ".b" * 10_000,
    # CPython accepts these; libcst would overflow the C stack: refused by operand count
    "and of 10000": " and ".join(["x"] * 10_000),
    "comparison of 10000": " < ".join(["x"] * 10_000),
    # the same over lines, where the operand count is looked for only in nodes whose lines
    # hold enough bytes for it: a chain of short lines, and one deep in a function of a file
    # that is big for its other, small statements
    "or of 10000 over lines": "(\n" + " or\n".join(["x"] * 10_000) + ")",
    "comparison of 10000 in a function": "0\n"
    + "".join(f"def small_{i}(p):\n    return p + {i}\n\n\n" for i in range(1_000))
    + "def big(x):\n    f = open(x)\n    if x:\n        try:\n            return (\n"
    + " <\n".join(["x"] * 10_000)
    + ")\n        finally:\n            f.close()\n",
}


@pytest.mark.parametrize("shape", list(DEEP))
def test_deeply_nested_expression_is_ll900_or_clean(tmp_path: Path, shape: str) -> None:
    write(tmp_path, "deep.py", _opens_then(DEEP[shape]))
    write(tmp_path, "z_leak.py", LEAK)
    proc = check("deep.py", "z_leak.py", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # 139 would be a crash
    found = codes(proc)
    assert found[-1] == ("z_leak.py", 2, "LL100")
    deep = [f for f in found if f[0] == "deep.py"]
    if deep and deep[0][2] == "LL900":
        assert len(deep) == 1
        assert re.search(r"too deeply nested|too many nested", proc.stdout)
    else:
        assert deep == [("deep.py", 2, "LL100")]


@pytest.mark.slow
def test_ten_thousand_opens_in_one_function(tmp_path: Path) -> None:
    body = "".join(f"    f{i} = open(p)\n" for i in range(10_000))
    write(tmp_path, "many.py", f"def f(p):\n{body}")
    proc = check("many.py", cwd=tmp_path, timeout=300)
    assert proc.returncode == 1
    found = codes(proc)
    assert len(found) == 10_000
    assert {code for _, _, code in found} == {"LL100"}
    assert [line for _, line, _ in found] == list(range(2, 10_002))


# --- internal errors ----------------------------------------------------------------------


def test_internal_error_becomes_ll900_and_never_raises() -> None:
    from leaklint.core import check_source

    with mock.patch("leaklint.core.analyse_module", side_effect=RuntimeError("boom")):
        result = check_source(LEAK, "x.py", Config())
    assert result.internal_error is not None
    assert "RuntimeError" in result.internal_error
    assert [(f.code, f.line) for f in result.findings] == [("LL900", 1)]
    assert "internal error" in result.findings[0].message
    assert "boom" in result.findings[0].message


def test_internal_error_exits_2_through_the_cli(tmp_path: Path) -> None:
    """The CLI's contract for our own bugs: LL900 line, a hint on stderr, exit code 2."""
    write(tmp_path, "leak.py", LEAK)
    script = (
        "import sys\n"
        "from unittest import mock\n"
        "from leaklint.cli import main\n"
        "with mock.patch('leaklint.core.analyse_module', side_effect=RuntimeError('boom')):\n"
        "    main(['check', '-j', '1', 'leak.py'], prog_name='leaklint')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert codes(proc) == [("leak.py", 1, "LL900")]
    assert "internal error" in proc.stdout
    assert "--debug" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
