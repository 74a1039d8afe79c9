"""Project summaries: factories through chains of helpers, owning classes, import following."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from leaklint.analysis.summaries import build_project, facts_of_source
from leaklint.config import Config

ROOT = Path(__file__).resolve().parents[1]


def _project(tmp_path: Path, files: dict[str, str]):
    modules = []
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        facts, error = facts_of_source(text.encode(), str(path))
        assert error is None
        modules.append(facts)
    return build_project(modules, Config().registry)


def test_factory_chain_reaches_a_fixed_point(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        {
            "a.py": "import b\ndef top():\n    return b.middle()\n",
            "b.py": "import c\ndef middle():\n    x = c.bottom()\n    return x\n",
            "c.py": "import socket\ndef bottom():\n    return socket.create_connection(('h', 1))\n",
        },
    )
    top = project.registry.get("a.top")
    assert top is not None and top.release == ("close", "detach")
    assert top.origin == "socket.create_connection() at c.py:3"


def test_function_that_closes_what_it_returns_is_not_a_factory(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        {"m.py": "def f(p):\n    x = open(p)\n    x.close()\n    return x\n"},
    )
    assert project.registry.get("m.f") is None


def test_context_manager_generator_is_not_a_factory(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        {
            "m.py": (
                "from contextlib import contextmanager\n@contextmanager\ndef f(p):\n"
                "    x = open(p)\n    try:\n        yield x\n    finally:\n        x.close()\n"
            )
        },
    )
    assert project.registry.get("m.f") is None


def test_parameters_taken_and_kept(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        {
            "m.py": (
                "def closes(c):\n    c.close()\n"
                "def reads(c):\n    return c.read()\n"
                "def wraps(c):\n    return Wrapper(c)\n"
            )
        },
    )
    assert project.takes_argument("m.closes", 0, None) is True
    assert project.takes_argument("m.reads", 0, None) is False
    assert project.takes_argument("m.wraps", 0, None) is True
    assert project.takes_argument("elsewhere.f", 0, None) is None


def test_class_with_close_becomes_a_resource_and_without_is_not(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        {
            "m.py": (
                "import sqlite3\n"
                "class Db:\n    def __init__(self, p):\n        self.c = sqlite3.connect(p)\n"
                "    def close(self):\n        self.c.close()\n"
                "class Leaky:\n    def __init__(self, p):\n        self.c = sqlite3.connect(p)\n"
            )
        },
    )
    db = project.registry.get("m.Db")
    assert db is not None and db.release == ("close",) and not db.cm_closes
    assert project.registry.get("m.Leaky") is None


def test_checking_one_file_follows_its_imports() -> None:
    """As pre-commit runs it: one changed file, its helpers found through its imports."""
    users = "fixtures/LL100/ownership_chain_users.py"
    out = subprocess.run(
        [sys.executable, "-m", "leaklint", "check", users],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 1, out.stderr
    assert f"{users}:8:12: LL100 [*] `conn` from get_conn() (sqlite3.connect() at" in out.stdout
    assert "LL100 [*] `db` from Database()" in out.stdout
