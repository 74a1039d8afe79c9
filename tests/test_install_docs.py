"""The README tells the truth about installing: the name ``leaklint`` on the package index is
another project's, so no instruction installs it by name, and every snippet that fetches this
repository pins a revision the README tells the user to pin."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text("utf-8")
#: a command that installs leaklint from the index by name (with or without extras/version)
BY_NAME = re.compile(r"pip install\s+(?:-U\s+|--upgrade\s+)?['\"]?leaklint(?:\[[\w,]+\])?(?:[=<>~!]=?[\w.]+)?(?!\s*@)['\"]?(?:\s|$)")


def _commands() -> list[str]:
    """Every line of every code block."""
    blocks = re.findall(r"```[a-z]*\n(.*?)```", README, re.S)
    return [line for block in blocks for line in block.splitlines()]


def test_no_instruction_installs_leaklint_from_the_index_by_name() -> None:
    installs = [line for line in _commands() if "pip install" in line and not line.lstrip().startswith("#")]
    assert installs, "the README shows how to install"
    for line in installs:
        assert not BY_NAME.search(line), line
        if "leaklint" in line and "-e" not in line.split():
            assert re.search(r"leaklint(\[\w+\])? @ git\+https://\S+@\S+", line), line
    assert "unrelated" in README and "`pip install leaklint` installs something else" in README
    # the pattern itself finds what it must
    assert BY_NAME.search("python -m pip install 'leaklint[server]'")
    assert BY_NAME.search("pip install leaklint\n")


def test_snippets_pin_a_revision_and_the_readme_says_to_pin_it() -> None:
    revs = [line for line in _commands() if re.match(r"\s*rev:", line)]
    assert revs and all(re.search(r"rev:\s*\S+\s+#.*pin", line) for line in revs), revs
    urls = [line for line in _commands() if "git+https://" in line]
    assert urls and all(re.search(r"git\+https://\S+@v?[\w.]+", line) for line in urls), urls
    assert "pin it" in README


def test_the_server_command_does_not_send_users_to_the_index() -> None:
    source = (ROOT / "leaklint" / "cli.py").read_text("utf-8")
    assert not BY_NAME.search(source)


def test_the_pre_commit_hooks_respect_excludes() -> None:
    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text("utf-8")
    entries = re.findall(r"entry: (.*)", hooks)
    assert entries and all("--force-exclude" in entry for entry in entries)
