"""The user's interfaces: configuration, suppressions, baselines, output formats, stdin,
summary and progress. Mostly through click's runner (fast), a few through a real subprocess,
a pseudo-terminal and the real flake8."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from leaklint.cli import main
from leaklint.rules import ALL_RULES

DATA = Path(__file__).resolve().parent / "data"

LEAK = "def read(path):\n    f = open(path)\n    return f.read()\n"
#: LL101 on line 5 (a path with a raising statement), LL100 on line 11 (a return skips it)
PATHS = textwrap.dedent(
    """\
    import sqlite3


    def count(path):
        conn = sqlite3.connect(path)
        rows = conn.execute("select count(*) from t").fetchone()
        conn.close()
        return rows[0]

    def first_line(path):
        f = open(path)
        if not path.endswith(".txt"):
            return None
        line = f.readline()
        f.close()
        return line
    """
)


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


def invoke(root: Path, *args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    """``leaklint ARGS`` in ``root`` through click's runner, stdout and stderr apart."""
    old = os.getcwd()
    os.chdir(root)
    try:
        result = CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)
    finally:
        os.chdir(old)
    return result


def lines(text: str) -> list[tuple[str, int, str]]:
    out = []
    for line in text.splitlines():
        match = re.match(r"^(.+?):(\d+):(\d+): (LL\d{3}) ", line)
        assert match, line
        out.append((match[1], int(match[2]), match[4]))
    return out


# --- configuration ------------------------------------------------------------------------


def test_per_file_ignores(tmp_path: Path) -> None:
    write(
        tmp_path,
        "pyproject.toml",
        '[tool.leaklint.per-file-ignores]\n"tests/**" = ["LL100"]\n"conftest.py" = ["LL1"]\n',
    )
    write(tmp_path, "src/a.py", LEAK)
    write(tmp_path, "tests/test_a.py", LEAK)
    write(tmp_path, "tests/deep/conftest.py", LEAK)
    write(tmp_path, "conftest.py", PATHS)
    result = invoke(tmp_path, "check", ".")
    assert [p for p, _, _ in lines(result.stdout)] == [os.path.join("src", "a.py")]
    # from inside a subfolder the patterns stay relative to the pyproject's folder
    result = invoke(tmp_path / "tests", "check", ".")
    assert (result.exit_code, result.stdout) == (0, "")


def test_per_file_ignores_apply_with_command_line_select(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.leaklint.per-file-ignores]\n"gen_*.py" = ["LL"]\n')
    write(tmp_path, "gen_x.py", LEAK)
    write(tmp_path, "x.py", LEAK)
    result = invoke(tmp_path, "check", "--select", "LL100", "gen_x.py", "x.py")
    assert [p for p, _, _ in lines(result.stdout)] == ["x.py"]


# --- suppressions -------------------------------------------------------------------------

MULTILINE = textwrap.dedent(
    """\
    def first(p):
        x = g(1,  # noqa: LL102
              open(p).read())

    def last(p):
        f = open(
            p
        )  # noqa: LL100

    def in_string(p):
        s = "# noqa"; f = open(p)
        return s

    def header(a, b):
        with open(a) as f, \\
                g(open(b)):  # leaklint: ignore[LL102]
            return f.read()

    def other_statement(p):
        # noqa: LL100
        f = open(p)
    """
)


def test_noqa_on_the_first_or_last_line_of_a_statement(tmp_path: Path) -> None:
    write(tmp_path, "m.py", MULTILINE)
    result = invoke(tmp_path, "check", "m.py")
    assert [(line, code) for _, line, code in lines(result.stdout)] == [
        (11, "LL100"),  # a noqa inside a string is no comment
        (21, "LL100"),  # a comment on a line of its own covers only that line
    ]


def test_unused_suppressions_are_warned_about_when_asked(tmp_path: Path) -> None:
    write(
        tmp_path,
        "u.py",
        textwrap.dedent(
            """\
            import os  # noqa: LL100
            x = 1  # noqa
            y = 2  # noqa: E501
            z = 3  # leaklint: ignore
            def f(p):
                g = open(p)  # noqa: LL100, LL101, E501
                return 1
            w = 4  # noqa: LL110
            """
        ),
    )
    quiet = invoke(tmp_path, "check", "u.py")
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")
    result = invoke(tmp_path, "check", "--warn-unused-noqa", "--ignore", "LL110", "u.py")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "u.py:1:12: warning: unused suppression (LL100): nothing to suppress here",
        "u.py:4:8: warning: unused suppression (leaklint: ignore): nothing to suppress here",
        "u.py:6:18: warning: unused suppression (LL101): nothing to suppress here",
    ]


def test_statistics(tmp_path: Path) -> None:
    write(tmp_path, "a.py", PATHS)
    write(tmp_path, "b.py", LEAK)
    result = invoke(tmp_path, "check", "--statistics", ".")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "2  LL100  resource-not-released",
        "1  LL101  release-not-in-finally",
    ]
    rows = json.loads(invoke(tmp_path, "check", "--statistics", "--format", "json", ".").stdout)
    assert rows == [
        {"code": "LL100", "name": "resource-not-released", "count": 2},
        {"code": "LL101", "name": "release-not-in-finally", "count": 1},
    ]
    assert invoke(tmp_path, "check", "--statistics", "--format", "sarif", ".").exit_code == 2


# --- baseline -----------------------------------------------------------------------------


def test_baseline_reports_only_new_findings(tmp_path: Path) -> None:
    write(tmp_path, "src/a.py", PATHS)
    written = invoke(tmp_path, "check", "--write-baseline", "base.json", "src")
    assert (written.exit_code, written.stdout) == (0, "")
    assert "2 findings" in written.stderr
    data = json.loads((tmp_path / "base.json").read_text())
    assert [(r["code"], r["path"]) for r in data["findings"]] == [
        ("LL101", "src/a.py"),
        ("LL100", "src/a.py"),
    ]
    assert invoke(tmp_path, "check", "--baseline", "base.json", "src").exit_code == 0
    # unrelated edits above move every line: still known
    write(tmp_path, "src/a.py", "import os\n\n\n" + PATHS.replace("    f.close()", "    f.close()  "))
    assert invoke(tmp_path, "check", "--baseline", "base.json", "src").exit_code == 0
    # a new leak, and a second copy of a known line, are new
    write(tmp_path, "src/a.py", PATHS + "\ndef again(path):\n    f = open(path)\n    return 1\n")
    result = invoke(tmp_path, "check", "--baseline", "base.json", "--summary", "src")
    assert result.exit_code == 1
    assert lines(result.stdout) == [(os.path.join("src", "a.py"), 19, "LL100")]
    assert "2 in the baseline" in result.stderr
    # from another folder the baseline still matches: paths are relative to the baseline file
    assert invoke(tmp_path / "src", "check", "--baseline", "../base.json", "a.py").stdout.count("LL100") == 1


def test_a_file_that_is_no_baseline_exits_2(tmp_path: Path) -> None:
    write(tmp_path, "a.py", LEAK)
    write(tmp_path, "base.json", '{"findings": 3}')
    result = invoke(tmp_path, "check", "--baseline", "base.json", "a.py")
    assert result.exit_code == 2
    assert result.stderr.startswith("leaklint: error: base.json")
    assert invoke(tmp_path, "check", "--baseline", "missing.json", "a.py").exit_code == 2


# --- output formats -----------------------------------------------------------------------


def test_json_has_the_documented_fields_and_the_trace(tmp_path: Path) -> None:
    write(tmp_path, "a.py", PATHS)
    rows = json.loads(invoke(tmp_path, "check", "--format", "json", "a.py").stdout)
    assert [set(row) for row in rows] == [
        {"path", "line", "column", "code", "name", "message", "related", "fix"}
    ] * 2
    assert rows[0]["related"] == [
        {"line": 5, "column": 12, "message": "`conn` is acquired here"},
        {"line": 6, "column": 5, "message": "this statement can raise before it is released"},
        {"line": 8, "column": 1, "message": "`conn` is still held when count() ends"},
    ]
    assert rows[1]["related"][1]["message"] == "this return leaves the function without releasing it"


def _sarif_schema() -> dict:
    return json.loads((DATA / "sarif-schema-2.1.0.json").read_text("utf-8"))


def test_sarif_is_valid_against_the_official_schema(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    write(tmp_path, "a.py", PATHS)
    write(tmp_path, "sub dir/b.py", "def f(p):\n    return open(p).read()\n")
    write(tmp_path, "bad.py", "def f(:\n")
    result = invoke(tmp_path, "check", "--format", "sarif", ".")
    assert result.exit_code == 1
    log = json.loads(result.stdout)
    validator = jsonschema.Draft4Validator(_sarif_schema(), format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(log), key=str)
    assert not errors, errors[0]
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [rule.code for rule in ALL_RULES]
    for descriptor, rule in zip(rules, ALL_RULES):
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.summary
        assert descriptor["fullDescription"]["text"]
        assert "## Why is this bad?" in descriptor["help"]["markdown"]
    results = run["results"]
    assert [(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) for r in results] == [
        ("LL101", "a.py"),
        ("LL100", "a.py"),
        ("LL900", "bad.py"),
        ("LL102", "sub%20dir/b.py"),
    ]
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
    flow = [
        (step["location"]["physicalLocation"]["region"]["startLine"], step["location"]["message"]["text"])
        for step in results[0]["codeFlows"][0]["threadFlows"][0]["locations"]
    ]
    assert flow == [
        (5, "`conn` is acquired here"),
        (6, "this statement can raise before it is released"),
        (8, "`conn` is still held when count() ends"),
    ]
    returns = results[1]["codeFlows"][0]["threadFlows"][0]["locations"]
    assert [s["location"]["physicalLocation"]["region"]["startLine"] for s in returns] == [11, 13]
    assert "codeFlows" not in results[3]  # LL102 has no path


def test_sarif_when_clean_is_valid_too(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    write(tmp_path, "ok.py", "x = 1\n")
    log = json.loads(invoke(tmp_path, "check", "--format", "sarif", ".").stdout)
    jsonschema.Draft4Validator(_sarif_schema()).validate(log)
    assert log["runs"][0]["results"] == []


def test_github_annotations(tmp_path: Path) -> None:
    write(tmp_path, "a, b.py", PATHS)
    result = invoke(tmp_path, "check", "--format", "github", ".")
    assert result.exit_code == 1
    first, second = result.stdout.splitlines()
    assert first.startswith("::error file=a%2C b.py,line=5,col=12,title=LL101::LL101 `conn` from")
    assert second.startswith("::error file=a%2C b.py,line=11,col=9,title=LL100::LL100 ")


def test_output_file(tmp_path: Path) -> None:
    write(tmp_path, "a.py", LEAK)
    result = invoke(tmp_path, "check", "--format", "json", "--output-file", "out/report.json", "a.py")
    assert result.exit_code == 2  # the folder does not exist: one clear error
    assert "report.json" in result.stderr
    result = invoke(tmp_path, "check", "--format", "json", "-o", "report.json", "a.py")
    assert (result.exit_code, result.stdout) == (1, "")
    assert json.loads((tmp_path / "report.json").read_text())[0]["code"] == "LL100"


def test_summary_is_on_stderr_only_when_asked_off_a_terminal(tmp_path: Path) -> None:
    write(tmp_path, "a.py", LEAK)
    write(tmp_path, "b.py", "x = 1\n")
    plain = invoke(tmp_path, "check", "--format", "json", ".")
    assert plain.stderr == ""
    result = invoke(tmp_path, "check", "--format", "json", "--summary", ".")
    assert json.loads(result.stdout)[0]["code"] == "LL100"  # stdout stays pure JSON
    assert re.fullmatch(r"leaklint: 2 files checked, 1 finding, \d+\.\d\d s\n", result.stderr)


# --- standard input -----------------------------------------------------------------------


def test_stdin_with_a_filename(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.leaklint.per-file-ignores]\n"tests/*" = ["LL100"]\n')
    result = invoke(tmp_path, "check", "-", "--stdin-filename", "src/app.py", stdin=LEAK)
    assert (result.exit_code, lines(result.stdout)) == (1, [("src/app.py", 2, "LL100")])
    ignored = invoke(tmp_path, "check", "-", "--stdin-filename", "tests/t.py", stdin=LEAK)
    assert (ignored.exit_code, ignored.stdout) == (0, "")
    bare = invoke(tmp_path, "check", "-", stdin=LEAK + "x = open('p')  # noqa\n")
    assert lines(bare.stdout) == [("-", 2, "LL100")]
    assert invoke(tmp_path, "check", "-", "a.py", stdin=LEAK).exit_code == 2


def test_stdin_through_a_real_process(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "leaklint", "check", "-", "--stdin-filename", "editor.py"],
        input=LEAK,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stdout.startswith("editor.py:2:9: LL100 ")
    assert proc.stderr == ""  # a pipe: no summary, no progress bar


# --- a real terminal ----------------------------------------------------------------------


def _on_a_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run leaklint with its stdout and stderr on a pseudo-terminal; what it printed."""
    pty = pytest.importorskip("pty")
    pid, fd = pty.fork()
    if pid == 0:  # the child
        os.chdir(cwd)
        os.execvpe(sys.executable, [sys.executable, "-m", "leaklint", *args], env)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.waitpid(pid, 0)
    return out.decode("utf-8", "replace").replace("\r\n", "\n")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_terminal_shows_source_caret_colour_and_summary(tmp_path: Path) -> None:
    write(tmp_path, "a.py", LEAK)
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    out = _on_a_terminal(["check", "a.py"], tmp_path, env)
    assert "\x1b[" in out
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
    assert "a.py:2:9: LL100 " in plain
    assert "  2 |     f = open(path)\n" in plain
    assert "    |         ^\n" in plain
    assert re.search(r"leaklint: 1 file checked, 1 finding, \d+\.\d\d s", plain)
    no_colour = _on_a_terminal(["check", "a.py"], tmp_path, {**env, "NO_COLOR": "1"})
    assert "\x1b[" not in no_colour
    assert "  2 |     f = open(path)\n" in no_colour


# --- the rule table -----------------------------------------------------------------------


def test_rules_markdown_is_a_table_of_every_rule(tmp_path: Path) -> None:
    out = invoke(tmp_path, "rules", "--format", "markdown").stdout.splitlines()
    assert out[:2] == ["| code | name | what |", "|---|---|---|"]
    assert [row.split(" | ")[0].strip("| ") for row in out[2:]] == [r.code for r in ALL_RULES]


# --- flake8 -------------------------------------------------------------------------------


def _flake8(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("flake8")
    return subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "LL", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_flake8_honours_config_and_suppressions_like_the_cli(tmp_path: Path) -> None:
    write(
        tmp_path,
        "pyproject.toml",
        '[tool.leaklint]\nignore = ["LL102"]\n'
        '[tool.leaklint.per-file-ignores]\n"tests/**" = ["LL100"]\n',
    )
    write(tmp_path, "m.py", MULTILINE)
    write(tmp_path, "tests/t.py", LEAK)
    write(tmp_path, "p.py", PATHS)
    flake8 = _flake8(tmp_path, ".")
    cli = invoke(tmp_path, "check", ".")
    # flake8 applies its own noqa too, by a search of the physical line, which finds the
    # "# noqa" inside the string on line 11: the one place the two differ
    expected = sorted(f for f in lines(cli.stdout) if f != ("m.py", 11, "LL100"))
    assert sorted(lines(flake8.stdout.replace("./", ""))) == expected
    assert {code for _, _, code in lines(cli.stdout)} == {"LL100", "LL101"}
    everything = _flake8(tmp_path, "--disable-noqa", "m.py")
    assert len(everything.stdout.splitlines()) > len(lines(invoke(tmp_path, "check", "m.py").stdout))
