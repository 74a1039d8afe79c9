"""The server's re-check after an edit (``leaklint.incremental``) finds exactly what a check
of the whole text finds: on fixture files, after edits that move every line, add
module-level code, or change one definition, the findings (messages, traces, lines) and
the unused suppressions are those of ``check_source`` on the edited text, and the summary
is ``facts_of_source``'s, while the definitions the edit left alone are not analysed or
read again."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from leaklint.analysis.summaries import facts_of_source
from leaklint.config import Config
from leaklint.core import check_source, single_file_project
from leaklint.incremental import Reuse, Summaries

ROOT = Path(__file__).resolve().parents[1]
#: every 16th fixture file (all of them: a few minutes of CPU; this sample, about 15 s)
SAMPLE = sorted(ROOT.glob("fixtures/LL*/*.py"))[::16]


def edits(data: bytes) -> Iterator[tuple[str, bytes]]:
    yield "every line moves", b"\n" + data
    yield "module-level code added", data + b"\nZZ_1 = open('x')\n"
    yield "a factory added", data + b"\n\ndef zz_factory(p):\n    return open(p)\n"
    tree = ast.parse(data)
    lines = data.splitlines(keepends=True)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = node.body[0]
            if first.lineno > node.lineno:
                indent = lines[first.lineno - 1][: first.col_offset]
                at = first.lineno - 1
                for line in (b"n = len('x')\n", b"return open('x')\n"):
                    # a line that leaves its summary, and one that changes it (a factory)
                    yield f"{line!r} added in {node.name}", b"".join(
                        [*lines[:at], indent + line, *lines[at:]])


@pytest.mark.parametrize("path", SAMPLE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_recheck_finds_what_a_whole_check_finds(path: Path) -> None:
    config = Config()
    data = path.read_bytes()
    name = str(path)
    for what, edited in edits(data):
        reuse = Reuse()
        first = reuse.check("doc", data, name, config, single_file_project(data, name, config))
        assert first == check_source(data, name, config)
        again = reuse.check("doc", edited, name, config, single_file_project(edited, name, config))
        assert again == check_source(edited, name, config), what
        defs = [n for n in ast.parse(data).body
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        definitions = len(defs)
        # a definition with a fix offered is analysed again (its edits are not moved yet)
        offered = {f.line for f in first.findings if f.fix is not None}
        reusable = [n for n in defs
                    if not any(n.lineno <= line <= (n.end_lineno or n.lineno) for line in offered)]
        # ``global f`` in a function binds a module-level name: whatever names it is analysed
        # again, by design (test_what_is_not_reused)
        declares_globals = any(isinstance(n, ast.Global) for n in ast.walk(ast.parse(data)))
        if what == "every line moves" and reusable and not declares_globals:
            assert reuse.last[1] > 0, "nothing was reused"
        summaries = Summaries()
        assert summaries.facts(data, name) == facts_of_source(data, name)
        assert summaries.facts(edited, name) == facts_of_source(edited, name), what
        if what == "every line moves" and definitions:
            assert summaries.last[1] > 0, "no summary was reused"


def test_what_is_not_reused() -> None:
    """A function that names a module-level binding is analysed again (it may release what
    module code holds), and so is every definition when the imports change."""
    source = (
        b"import socket\n\nconn = socket.create_connection(('h', 1))\n\n\n"
        b"def close():\n    conn.close()\n\n\n"
        b"def fetch(p):\n    f = open(p)\n    return f.read()\n"
    )
    config = Config()
    reuse = Reuse()
    reuse.check("doc", source, "m.py", config, single_file_project(source, "m.py", config))
    moved = b"\n" + source
    result = reuse.check("doc", moved, "m.py", config, single_file_project(moved, "m.py", config))
    assert reuse.last == (1, 1)  # close() again, fetch() reused
    assert result == check_source(moved, "m.py", config)
    assert [(f.line, f.code) for f in result.findings] == [(12, "LL100")]
    imports = moved.replace(b"import socket\n", b"import socket\nimport io\n")
    reuse.check("doc", imports, "m.py", config, single_file_project(imports, "m.py", config))
    assert reuse.last == (2, 0)


def test_module_constants_and_inert_classes_are_reused() -> None:
    """A function that names a module-level constant is reused until the statement that
    binds it changes; a class whose body only defines is reused even where module-level
    code holds a resource."""
    source = (
        b"import socket\n\nSIZE = 10\nconn = socket.create_connection(('h', 1))\n\n\n"
        b"class Error(Exception):\n    \"\"\"A failure.\"\"\"\n\n\n"
        b"def fetch(p):\n    f = open(p)\n    return f.read(SIZE)\n"
    )
    config = Config()
    reuse = Reuse()

    def check(text: bytes) -> None:
        result = reuse.check("doc", text, "m.py", config, single_file_project(text, "m.py", config))
        assert result == check_source(text, "m.py", config)

    check(source)
    check(b"\n" + source)
    assert reuse.last == (0, 2)
    check(b"\n" + source.replace(b"SIZE = 10", b"SIZE = len('abc')"))
    assert reuse.last == (1, 1)  # fetch() again: SIZE is bound otherwise


def test_a_summary_follows_what_changed() -> None:
    """A factory edited into a plain function, an import inside a function: the summary
    read again where it must be, and equal to the whole module's."""
    source = (
        b"import socket\n\n\ndef connect(host):\n    return socket.create_connection((host, 1))\n"
        b"\n\ndef use(host):\n    import io\n    return io.BytesIO(connect(host).recv(1))\n"
        b"\n\nclass Client:\n    def __init__(self, host):\n        self.sock = connect(host)\n"
    )
    summaries = Summaries()
    assert summaries.facts(source, "m.py") == facts_of_source(source, "m.py")
    plain = source.replace(b"return socket.create_connection((host, 1))", b"return host")
    assert summaries.facts(plain, "m.py") == facts_of_source(plain, "m.py")
    assert summaries.last == (2, 1)  # connect() changed, use() imports: Client kept
    functions = {f.qualname: f for f in summaries.facts(plain, "m.py")[0].functions}
    assert functions["m.connect"].returns == {}
