"""The ``import`` a fix adds lands where isort puts it (issue 24 item 2): for each layout of
a module's imports, the fixed module passes isort's own check (its default profile) when
the module did, and a module that imports it already gets no second one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import isort
import pytest

from leaklint.config import Config
from leaklint.fixes import fix_source

#: A list of files closed in a loop: the fix enters them on a contextlib.ExitStack.
COPY = '''

def concat(paths):
    parts = [open(p) for p in paths]
    text = "".join(part.read() for part in parts)
    for part in parts:
        part.close()
    return text
'''
#: A descriptor from mkstemp: the fix closes it with os.close().
MKSTEMP = '''

def scratch(data):
    fd, path = tempfile.mkstemp()
    print(path, len(data))
    return path
'''

LAYOUTS = {
    "nothing": "",
    "docstring": '"""A module."""\n',
    "future": "from __future__ import annotations\n",
    "docstring_future": '"""A module."""\n\nfrom __future__ import annotations\n',
    "stdlib_after": "import json\nimport os\n",
    "stdlib_between": "import abc\nimport json\n",
    "stdlib_before": "import abc\n",
    "stdlib_from_only": "from pathlib import Path\n",
    "stdlib_plain_and_from": "import abc\nimport sys\nfrom pathlib import Path\n",
    "third_party_only": "import requests\n",
    "all_sections": (
        '"""A module."""\n\nfrom __future__ import annotations\n\nimport json\nimport sys\n'
        "from typing import Any\n\nimport requests\nfrom attr import define\n\nfrom . import sibling\n"
    ),
    "comment_above": "# the standard library\nimport json\n\n# others\nimport requests\n",
    "from_contextlib": "import os\nfrom contextlib import closing\n",
    "already": "import contextlib\nimport json\n",
}


def _fixed(source: str, tmp_path: Path) -> str:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "m"\n')
    outcome = fix_source(source.encode(), str(tmp_path / "m.py"), Config(root=str(tmp_path)))
    assert outcome.error is None and outcome.fixed is not None, outcome.error
    return outcome.fixed.decode()


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_the_added_import_is_where_isort_puts_it(layout: str, tmp_path: Path) -> None:
    source = LAYOUTS[layout] + COPY
    assert isort.check_code(source, show_diff=False), "the layout itself must be isort-clean"
    fixed = _fixed(source, tmp_path)
    assert "with contextlib.ExitStack() as stack:" in fixed
    assert fixed.count("import contextlib\n") == 1
    assert isort.check_code(fixed, show_diff=True), fixed
    assert isort.code(fixed) == fixed


@pytest.mark.parametrize("layout", ["nothing", "stdlib_between", "all_sections", "third_party_only"])
def test_os_for_a_descriptor_is_where_isort_puts_it(layout: str, tmp_path: Path) -> None:
    source = isort.code(LAYOUTS[layout] + "import tempfile\n") + MKSTEMP
    fixed = _fixed(source, tmp_path)
    assert "os.close(fd)" in fixed and fixed.count("import os\n") == 1, fixed
    assert isort.check_code(fixed, show_diff=True), fixed


def test_through_the_cli_two_fixes_one_import(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "m"\n')
    source = LAYOUTS["all_sections"] + COPY + COPY.replace("def concat", "def concat_again")
    (tmp_path / "m.py").write_text(source)
    proc = subprocess.run(
        [sys.executable, "-m", "leaklint", "check", "--no-cache", "--fix", "m.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    fixed = (tmp_path / "m.py").read_text()
    assert fixed.count("import contextlib\n") == 1 and fixed.count("ExitStack()") == 2
    assert isort.check_code(fixed, show_diff=True), fixed
