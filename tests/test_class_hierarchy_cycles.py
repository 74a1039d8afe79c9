"""Class hierarchies that close on themselves never hang the run (issue 20, item 1).

``class Parser(Parser)`` names the imported base it extends; read as the module ends, the
base is the class itself. With any ``@contextmanager`` in the project a walk up the bases
used to loop for ever (sphinx's test tree: killed after 33 minutes). Bases that name each
other across modules through aliases, or through a star import, are the same shape. Each
case runs through the real CLI with a timeout, and must still report what it reports on
code without the cycle.
"""

from __future__ import annotations

import pytest

from test_cli import check, codes, write

#: Every hierarchy shape is checked beside these: a project context manager (the walk that
#: hung), a class of the cycle used in ``with`` and one that keeps a file it never closes.
CONTEXT_MANAGER = """\
from contextlib import contextmanager


@contextmanager
def wrapped():
    yield 1
"""

USE = """\
def use(make):
    with make() as thing:
        return thing
"""

#: shape -> (files, the codes reported). A base outside the project, or one that cannot be
#: resolved, may release what the class keeps: no LL120 then, as without the cycle.
SHAPES: dict[str, tuple[dict[str, str], list[str]]] = {
    "self_named_base": ({
        "p.py": """\
from docutils.parsers import Parser


class Parser(Parser):
    def __init__(self, path):
        self.f = open(path)
""",
    }, []),
    "self_named_base_through_an_alias": ({
        "p.py": """\
import docutils.parsers as parsers

Parser = parsers.Parser


class Parser(Parser):
    def __init__(self, path):
        self.f = open(path)
""",
    }, []),
    "bases_naming_each_other_through_aliases": ({
        "a.py": """\
from b import B as Base


class A(Base):
    def __init__(self, path):
        self.f = open(path)
""",
        "b.py": """\
from a import A as Base


class B(Base):
    def __enter__(self):
        return self
""",
    }, ["LL120"]),
    "bases_naming_each_other_through_star_imports": ({
        "a.py": """\
from b import *


class A(B):
    def __init__(self, path):
        self.f = open(path)
""",
        "b.py": """\
from a import *


class B(A):
    def __exit__(self, *exc):
        return None
""",
    }, []),
    "a_three_class_ring": ({
        "a.py": """\
from c import C


class A(C):
    def __init__(self, path):
        self.f = open(path)
""",
        "b.py": "from a import A\n\n\nclass B(A):\n    pass\n",
        "c.py": "from b import B\n\n\nclass C(B):\n    pass\n",
    }, ["LL120"]),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_hierarchy_that_closes_on_itself_is_checked_and_ends(tmp_path, shape, jobs):
    write(tmp_path, "w.py", CONTEXT_MANAGER)
    write(tmp_path, "use.py", USE)
    files, expected = SHAPES[shape]
    for name, text in files.items():
        write(tmp_path, name, text)
    proc = check("--no-cache", "-j", jobs, ".", cwd=tmp_path, timeout=60)
    assert proc.returncode in (0, 1), proc.stderr
    assert [code for _, _, code in codes(proc)] == expected, proc.stdout


def test_the_self_named_base_is_the_imported_class(tmp_path):
    """The base of ``class Parser(Parser)`` is what ``Parser`` named when the statement ran:
    a base outside the project, which may release the file (no LL120), as for any other
    name of that base."""
    base = "from docutils.parsers import Parser\n\n\nclass {name}(Parser):\n    pass\n"
    write(tmp_path, "same.py", base.format(name="Parser"))
    write(tmp_path, "other.py", base.format(name="MyParser"))
    write(tmp_path, "use.py", "from same import Parser\nfrom other import MyParser\n"
          "\n\ndef go():\n    with Parser() as a, MyParser() as b:\n        return a, b\n")
    write(tmp_path, "w.py", CONTEXT_MANAGER)
    proc = check("--no-cache", "-j", "1", ".", cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
