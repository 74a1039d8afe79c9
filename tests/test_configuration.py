"""Configuration as ruff finds it, through the real CLI (and the real flake8): the nearest
configuration file per file, ``extend``, ``--config``, ``--isolated``, ``--show-settings``,
``--show-files``, the command line's selection and excludes, and where the cache goes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import check, codes, write

#: LL100 on line 2, LL102 on line 5
TWO = "def f(p):\n    g = open(p)\n    return 1\ndef u(p):\n    return open(p).read()\n"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A project whose sub-folder has a configuration of its own that extends the root's."""
    write(tmp_path, "pyproject.toml", '[project]\nname = "x"\n[tool.leaklint]\nignore = ["LL102"]\n')
    write(
        tmp_path,
        "sub/leaklint.toml",
        'extend = "../pyproject.toml"\nextend-ignore = ["LL100"]\nextend-select = ["LL1"]\n'
        'extend-exclude = ["gen"]\n',
    )
    for name in ("a.py", "sub/b.py", "sub/gen/c.py", "build/d.py"):
        write(tmp_path, name, TWO)
    return tmp_path


def test_each_file_gets_its_nearest_configuration_whatever_the_order(tree: Path) -> None:
    one = check("sub", "a.py", cwd=tree)
    other = check("a.py", "sub", cwd=tree)
    assert codes(one) == codes(other) == [("a.py", 2, "LL100")]
    assert one.returncode == other.returncode == 1
    # the sub-folder's own configuration (LL100 and, through extend, LL102 ignored)
    assert check("sub/b.py", cwd=tree).stdout == ""
    # named, an excluded file is checked; --force-exclude (as the pre-commit hook passes it) not
    assert codes(check("sub/gen/c.py", "--config", "ignore = []", cwd=tree)) == [
        ("sub/gen/c.py", 2, "LL100"), ("sub/gen/c.py", 5, "LL102"),
    ]
    assert check("--force-exclude", "sub/gen/c.py", "build/d.py", cwd=tree).stdout == ""


def test_dot_leaklint_toml_comes_before_pyproject(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.leaklint]\nignore = ["LL100"]\n')
    write(tmp_path, ".leaklint.toml", 'ignore = ["LL102"]\n')
    write(tmp_path, "a.py", TWO)
    assert codes(check(".", cwd=tmp_path)) == [("a.py", 2, "LL100")]


def test_config_file_overrides_the_hierarchy_and_settings_override_both(tree: Path) -> None:
    write(tree, "strict.toml", 'select = ["LL"]\n')
    out = check("--config", "strict.toml", ".", cwd=tree)
    # one configuration for every file: sub/'s exclude of gen/ no longer applies
    assert codes(out) == [
        (name, line, code)
        for name in ("a.py", "sub/b.py", "sub/gen/c.py")
        for line, code in ((2, "LL100"), (5, "LL102"))
    ]
    assert codes(check("--config", 'ignore = ["LL102"]', "--config", "strict.toml", ".", cwd=tree)) == [
        ("a.py", 2, "LL100"), ("sub/b.py", 2, "LL100"), ("sub/gen/c.py", 2, "LL100"),
    ]
    inline = check("--config", 'extend-ignore = ["LL100"]', ".", cwd=tree)
    assert codes(inline) == [] and inline.returncode == 0
    bad = check("--config", "nope = 1", ".", cwd=tree)
    assert bad.returncode == 2 and "unknown key 'nope'" in bad.stderr


def test_isolated_ignores_every_configuration_file(tree: Path) -> None:
    out = check("--isolated", ".", cwd=tree)
    # the defaults: build/ excluded, sub/gen/ no longer
    assert {path for path, _, _ in codes(out)} == {"a.py", "sub/b.py", "sub/gen/c.py"}
    assert len(codes(out)) == 6


@pytest.mark.parametrize(
    "where, text",
    [
        ("pyproject.toml", '[tool.black]\nline-length = 88\n[tool.leaklint\nignore = ["LL100"]\n'),
        ("pyproject.toml", '[tool.leaklint]\nignore = ["LL100"]\n[tool.other]\nx = \n'),
        ("leaklint.toml", 'ignore = ["LL100"\n'),
    ],
)
def test_a_toml_syntax_error_anywhere_is_exit_2_naming_the_file(
    tmp_path: Path, where: str, text: str
) -> None:
    write(tmp_path, where, text)
    write(tmp_path, "a.py", TWO)
    out = check("a.py", cwd=tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stdout == ""
    assert f"{tmp_path / where}: invalid TOML" in out.stderr
    # --isolated reads none
    assert check("--isolated", "a.py", cwd=tmp_path).returncode == 1


def test_extend_errors_are_exit_2(tmp_path: Path) -> None:
    write(tmp_path, "a.py", TWO)
    write(tmp_path, "leaklint.toml", 'extend = "base.toml"\n')
    write(tmp_path, "base.toml", 'extend = "leaklint.toml"\n')
    out = check("a.py", cwd=tmp_path)
    assert out.returncode == 2 and "goes round in a circle" in out.stderr
    write(tmp_path, "leaklint.toml", 'extend = "missing.toml"\n')
    out = check("a.py", cwd=tmp_path)
    assert out.returncode == 2 and "missing.toml" in out.stderr


def test_extended_per_file_ignores_stay_relative_to_their_file(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.leaklint.per-file-ignores]\n"pkg/tests/*" = ["LL100"]\n')
    write(tmp_path, "pkg/leaklint.toml", 'extend = "../pyproject.toml"\n')
    write(tmp_path, "pkg/tests/t.py", TWO)
    write(tmp_path, "pkg/m.py", TWO)
    out = check(".", "--select", "LL100", cwd=tmp_path)
    assert codes(out) == [("pkg/m.py", 2, "LL100")]


def test_show_settings_and_show_files(tree: Path) -> None:
    settings = check("--show-settings", "sub/b.py", cwd=tree)
    assert settings.returncode == 0
    rows = dict((re.split(r"\s{2,}", line, maxsplit=1) + [""])[:2] for line in settings.stdout.splitlines())
    assert f"{tree / 'sub' / 'leaklint.toml'}" in settings.stdout
    assert "LL102, LL100" in settings.stdout
    assert rows["select"].strip() == "LL, LL1"
    files = check("--show-files", "sub", "a.py", cwd=tree)
    assert files.returncode == 0 and files.stdout.splitlines() == ["a.py", "sub/b.py"]
    forced = check("--show-files", "--force-exclude", "sub/gen/c.py", "a.py", cwd=tree)
    assert forced.stdout.splitlines() == ["a.py"]


def test_selection_and_excludes_on_the_command_line(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.leaklint]\nselect = ["LL100"]\n')
    for name in ("a.py", "gen/b.py", "vendor/c.py"):
        write(tmp_path, name, TWO)
    assert {c for _, _, c in codes(check(".", cwd=tmp_path))} == {"LL100"}
    both = check(".", "--extend-select", "LL102", cwd=tmp_path)
    assert {c for _, _, c in codes(both)} == {"LL100", "LL102"}
    only = check(".", "--extend-select", "LL102", "--extend-ignore", "LL100", cwd=tmp_path)
    assert {c for _, _, c in codes(only)} == {"LL102"}
    paths = lambda proc: sorted({p for p, _, _ in codes(proc)})
    assert paths(check(".", "--extend-exclude", "gen", cwd=tmp_path)) == ["a.py", "vendor/c.py"]
    assert paths(check(".", "--exclude", "gen,vendor", cwd=tmp_path)) == ["a.py"]
    # --exclude replaces the defaults: build/ is checked again
    write(tmp_path, "build/d.py", TWO)
    assert "build/d.py" in paths(check(".", "--exclude", "gen", cwd=tmp_path))
    assert "build/d.py" not in paths(check(".", "--extend-exclude", "gen", cwd=tmp_path))
    assert check("vendor/c.py", "--extend-exclude", "vendor", "--force-exclude", cwd=tmp_path).stdout == ""
    bad = check(".", "--extend-select", "XX9", cwd=tmp_path)
    assert bad.returncode == 2 and "XX9" in bad.stderr


def _caches(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob(".leaklint_cache"))


def test_the_cache_goes_to_one_place(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    check("sub/b.py", cwd=tree)
    check("sub", cwd=tree)
    check("sub/gen/c.py", "a.py", cwd=tree)
    assert _caches(tree) == [".leaklint_cache"]
    # from inside the sub-project, its own root
    check(".", cwd=tree / "sub")
    assert _caches(tree) == [".leaklint_cache", "sub/.leaklint_cache"]
    # --cache-dir and LEAKLINT_CACHE_DIR
    elsewhere = tmp_path_factory.mktemp("cache")
    check("--cache-dir", str(elsewhere / "a"), "a.py", cwd=tree)
    env = {**os.environ, "LEAKLINT_CACHE_DIR": str(elsewhere / "b")}
    subprocess.run([sys.executable, "-m", "leaklint", "check", "a.py"], cwd=tree, env=env, check=False)
    assert sorted(p.name for p in elsewhere.iterdir()) == ["a", "b"]
    assert (elsewhere / "b" / "manifest").is_dir()


def test_without_a_configuration_file_the_cache_is_in_the_working_folder(tmp_path: Path) -> None:
    write(tmp_path, "x/y/a.py", TWO)
    write(tmp_path, "z/b.py", TWO)
    check("x/y/a.py", "z", cwd=tmp_path)
    assert _caches(tmp_path) == [".leaklint_cache"]
