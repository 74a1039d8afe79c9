"""Jupyter notebooks through the real CLI: findings at their cell and line, JSON/SARIF cell
locations, --fix writing back only the changed cells, bad notebooks and unhandled files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from leaklint.notebook import mask, read
from tests.test_cli import check, write

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "notebooks"


def notebook(*cells: str, indent: int = 1, language: str = "python") -> str:
    """A notebook of code cells (``# md`` as a cell's first line: a markdown cell)."""
    out = []
    for number, text in enumerate(cells):
        lines = text.splitlines(keepends=True)
        if text.startswith("# md"):
            out.append({"cell_type": "markdown", "id": f"m{number}", "metadata": {}, "source": lines})
        else:
            out.append({
                "cell_type": "code", "execution_count": number, "id": f"c{number}",
                "metadata": {"tags": ["t"]},
                "outputs": [{"name": "stdout", "output_type": "stream", "text": ["é out\n"]}],
                "source": lines,
            })
    document = {
        "cells": out,
        "metadata": {"kernelspec": {"display_name": "k", "language": language, "name": "k"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(document, indent=indent, ensure_ascii=False) + "\n"


def lines(proc) -> list[str]:  # type: ignore[no-untyped-def]
    return proc.stdout.splitlines()


def test_the_fixtures_are_reported_at_their_cell_and_line(tmp_path: Path) -> None:
    for name in ("leak_in_function", "sqlite_with_in_cell", "clean"):
        shutil.copy(FIXTURES / f"{name}.ipynb", tmp_path)
    proc = check("--no-cache", ".", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert lines(proc) == [
        "leak_in_function.ipynb:cell 3:2:9: LL100 `f` from open() is not closed on every "
        "path: the return at line 4 skips it; use `with` or call close() in a finally",
        "sqlite_with_in_cell.ipynb:cell 3:1:6: LL110 `with sqlite3.connect(...)` commits or "
        "rolls back the transaction but does not close `conn`: use "
        "contextlib.closing(sqlite3.connect(...)) or call close() in a finally",
    ]
    clean = check("--no-cache", "clean.ipynb", cwd=tmp_path)
    assert (clean.returncode, clean.stdout) == (0, "")


def test_json_and_sarif_carry_the_cell(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "leak_in_function.ipynb", tmp_path)
    rows = json.loads(check("--no-cache", "--format", "json", ".", cwd=tmp_path).stdout)
    (row,) = rows
    assert (row["cell"], row["line"], row["column"], row["code"]) == (3, 2, 9, "LL100")
    assert [(step["cell"], step["line"]) for step in row["related"]] == [(3, 2), (3, 4)]
    sarif = json.loads(check("--no-cache", "--format", "sarif", ".", cwd=tmp_path).stdout)
    (result,) = sarif["runs"][0]["results"]
    (location,) = result["locations"]
    assert location["physicalLocation"]["region"] == {"startLine": 2, "startColumn": 9}
    assert location["properties"] == {"cell": 3}
    github = check("--no-cache", "--format", "github", ".", cwd=tmp_path).stdout
    assert "line=2,col=9" in github and "::cell 3: LL100" in github


def test_a_python_file_json_row_has_no_cell(tmp_path: Path) -> None:
    write(tmp_path, "a.py", "def f(p):\n    return open(p).read()\n")
    (row,) = json.loads(check("--no-cache", "--format", "json", "a.py", cwd=tmp_path).stdout)
    assert "cell" not in row  # plain files' JSON is as it was


def test_what_a_kernel_session_leaves_open(tmp_path: Path) -> None:
    write(tmp_path, "session.ipynb", notebook(
        "import socket\nlog = open('log.txt', 'w')",
        "# md\nnotes",
        "sock = socket.socket()\nkept = open('kept.txt')",
        "kept.close()\nwith open('x') as f:\n    data = f.read()",
    ))
    proc = check("--no-cache", "session.ipynb", cwd=tmp_path)
    assert lines(proc) == [
        "session.ipynb:cell 1:2:7: LL100 `log` from open() is not closed by any cell: the "
        "kernel keeps it open until it restarts",
        "session.ipynb:cell 3:1:8: LL100 `sock` from socket.socket() is not closed by any "
        "cell: the kernel keeps it open until it restarts",
    ]


def test_magics_are_masked_not_parsed(tmp_path: Path) -> None:
    write(tmp_path, "magic.ipynb", notebook(
        "%matplotlib inline\nimport os",
        "%%bash\nexec 3< open(\nls -la",
        "files = !ls\n!cat x \\\n   y\nos.path?\n?os\nos.getcwd??",
        "%%time\ndef head(p):\n    return open(p).readline()",
        "for name in files:\n    %time print(name)\nx = open('n').read()  # noqa: LL102",
    ))
    proc = check("--no-cache", "magic.ipynb", cwd=tmp_path)
    assert lines(proc) == [
        "magic.ipynb:cell 4:3:12: LL102 file from open() is used without being bound and is "
        "never closed: use a `with` block",
    ]


def test_masking_keeps_every_line_and_column() -> None:
    text = "x = 1\n  %time f(x)\ny = !ls -la\nz = (1,\n%notamagic)\nobj??\n"
    masked, which = mask(text)
    assert [len(line) for line in masked.splitlines()] == [len(line) for line in text.splitlines()]
    assert masked.splitlines()[1] == "  0         " and masked.splitlines()[2] == "y = 0      "
    assert which == {1, 2, 5}  # line 4 is inside brackets: Python's business, not IPython's


def test_fix_rewrites_only_the_changed_cells(tmp_path: Path) -> None:
    original = notebook(
        "# md\n# Title é",
        "%load_ext autoreload\nimport json",
        "def head(path):\n    return open(path).readline()\n\n!echo hi",
        "def load(p):\n    return json.load(open(p))",
        "x = 1",
    )
    path = write(tmp_path, "fixme.ipynb", original)
    proc = check("--no-cache", "--fix", "--show-fixes", "fixme.ipynb", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "fixme.ipynb:cell 3:2:12: LL102 fixed" in proc.stderr
    fixed = path.read_text("utf-8")
    before, after = json.loads(original), json.loads(fixed)
    assert after["cells"][2]["source"] == [
        "def head(path):\n", "    with open(path) as f:\n", "        return f.readline()\n",
        "\n", "!echo hi",
    ]
    assert after["cells"][3]["source"][-1] == "        return json.load(f)"  # no newline added
    for number in (0, 1, 4):
        assert after["cells"][number] == before["cells"][number]
    for number in (2, 3):  # outputs, metadata, key order: untouched
        assert list(after["cells"][number]) == list(before["cells"][number])
        assert {k: v for k, v in after["cells"][number].items() if k != "source"} == {
            k: v for k, v in before["cells"][number].items() if k != "source"
        }
    # byte for byte: the old text with only the two sources swapped is the new text
    assert fixed == json.dumps(after, indent=1, ensure_ascii=False) + "\n"
    again = check("--no-cache", "fixme.ipynb", cwd=tmp_path)
    assert (again.returncode, again.stdout) == (0, "")
    import nbformat

    nbformat.validate(nbformat.reads(fixed, as_version=nbformat.NO_CONVERT))


@pytest.mark.parametrize("indent", [2, 4])
def test_fix_keeps_another_layout(tmp_path: Path, indent: int) -> None:
    original = notebook("def f(p):\n    return open(p).read()", "y = 2", indent=indent)
    path = write(tmp_path, "n.ipynb", original)
    check("--no-cache", "--fix", "n.ipynb", cwd=tmp_path)
    fixed = path.read_text("utf-8")
    assert fixed == json.dumps(json.loads(fixed), indent=indent, ensure_ascii=False) + "\n"
    assert fixed != original


def test_a_masked_magic_beside_a_fix_comes_back_as_it_was(tmp_path: Path) -> None:
    path = write(tmp_path, "m.ipynb", notebook("def f(p):\n    %time x = 1\n    return open(p).read()"))
    check("--no-cache", "--fix", "m.ipynb", cwd=tmp_path)
    assert json.loads(path.read_text("utf-8"))["cells"][0]["source"] == [
        "def f(p):\n", "    %time x = 1\n", "    with open(p) as f2:\n", "        return f2.read()",
    ]


def test_a_notebook_that_is_not_json_is_one_ll900_line(tmp_path: Path) -> None:
    write(tmp_path, "broken.ipynb", '{"cells": [\n  {"cell_type": "code",\n')
    write(tmp_path, "leak.py", "def f(p):\n    return open(p).read()\n")
    proc = check("--no-cache", ".", cwd=tmp_path)
    assert proc.returncode == 1
    out = lines(proc)
    assert len(out) == 2 and out[0].startswith("broken.ipynb:3:1: LL900 not valid JSON")
    assert out[1].startswith("leak.py:2:12: LL102")


def test_another_language_is_skipped(tmp_path: Path) -> None:
    write(tmp_path, "r.ipynb", notebook("f <- file('x', 'r')", language="R"))
    proc = check("--no-cache", "r.ipynb", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (0, "")


def test_a_named_file_leaklint_does_not_handle_is_one_clear_line(tmp_path: Path) -> None:
    write(tmp_path, "notes.txt", "f = open('x')\n")
    write(tmp_path, "tool", "#!/usr/bin/env python3\ndef f(p):\n    return open(p).read()\n")
    proc = check("--no-cache", "notes.txt", "tool", cwd=tmp_path)
    assert proc.returncode == 1
    assert lines(proc) == [
        "notes.txt:1:1: LL900 not checked: leaklint checks Python files (.py, .pyi, .pyw, a "
        "script with a python #! line) and Jupyter notebooks (.ipynb)",
        "tool:3:12: LL102 [*] file from open() is used without being bound and is never closed: "
        "use a `with` block",
    ]


def test_the_cache_keeps_the_cells(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "sqlite_with_in_cell.ipynb", tmp_path)
    first = check(".", cwd=tmp_path)
    second = check(".", cwd=tmp_path)
    assert first.stdout == second.stdout and "cell 3:1:6: LL110" in second.stdout


def test_the_virtual_module_lines_up_with_the_cells() -> None:
    data = (FIXTURES / "leak_in_function.ipynb").read_bytes()
    parsed = read(data)
    assert parsed.index == ((1, 2), (3, 3), (10, 4))
    assert parsed.closing == "del config\n"


def test_an_unused_suppression_is_shown_in_its_cell(tmp_path: Path) -> None:
    """--warn-unused-noqa places a comment that silenced nothing as findings are placed,
    from the analysis and from the cache alike."""
    write(tmp_path, "n.ipynb", notebook(
        "# md\nnotes", "import os\nx = 1  # noqa: LL100\n",
        "def f(p):\n    return open(p).read()  # noqa: LL102\n",
    ))
    for _ in range(2):  # the second run is answered by the cache
        proc = check("--warn-unused-noqa", "n.ipynb", cwd=tmp_path)
        assert (proc.returncode, proc.stdout) == (0, ""), proc.stderr
        warnings = [line for line in proc.stderr.splitlines() if "warning" in line]
        assert warnings == [
            "n.ipynb:cell 2:2:8: warning: unused suppression (LL100): nothing to suppress here"
        ]


@pytest.mark.slow
def test_the_pre_commit_hook_reports_the_notebooks_at_their_cell_and_line(tmp_path: Path) -> None:
    """The real pre-commit (``try-repo``, as tests/test_precommit.py runs it) on the three
    fixture notebooks: the hook's ``types_or: [python, jupyter]`` hands it the notebooks,
    and it reports the two leaks at their cell and line, nothing in the clean one."""
    pytest.importorskip("pre_commit")
    if shutil.which("git") is None or not (FIXTURES.parents[1] / ".git").exists():
        pytest.skip("pre-commit needs git and this checkout to be a repository")
    from tests.test_precommit import _git, _try_repo

    _git("init", "-q", cwd=tmp_path)
    names = [f"{name}.ipynb" for name in ("leak_in_function", "sqlite_with_in_cell", "clean")]
    for name in names:
        shutil.copy(FIXTURES / name, tmp_path)
    _git("add", *names, cwd=tmp_path)
    proc = _try_repo(tmp_path, names[0], "leaklint", more=names[1:])
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Failed" in proc.stdout
    reported = [line for line in proc.stdout.splitlines() if ".ipynb:" in line]
    assert [line.split(": ", 1)[0] for line in reported] == [
        "leak_in_function.ipynb:cell 3:2:9",
        "sqlite_with_in_cell.ipynb:cell 3:1:6",
    ]
    assert "LL100" in reported[0] and "LL110" in reported[1]
