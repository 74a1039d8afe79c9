"""benchmarks/leakfixes.py's whole-project mode: a project's tree materialised from a git
mirror (its Python files and pyproject.toml, nothing else; a blob the mirror lacks left out),
and leaklint run in it reads the modules the file imports, where the single-file cut does not."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "leakfixes.py"

FILES = {
    "pkg/__init__.py": "",
    "pkg/factory.py": "def make(path):\n    return open(path)\n",
    "pkg/use.py": "from pkg.factory import make\n\n\ndef read(path):\n"
    "    f = make(path)\n    return f.read()\n",
    "pyproject.toml": "[project]\nname = 'proj'\n",
    "lost.py": "x = 1\n",  # its blob is removed from the mirror below
    "data.bin": "\0\1\2",
    "README.md": "# proj\n",
}


def load_benchmark():
    spec = importlib.util.spec_from_file_location("leakfixes_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def git(gitdir: Path, work: Path, *args: str) -> str:
    command = ["git", f"--git-dir={gitdir}", f"--work-tree={work}", "-c", "user.name=t",
               "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false", *args]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def mirror(tmp_path: Path) -> tuple[Path, str]:
    """A bare mirror at ``<tmp>/mirrors/me+proj/repo`` (loose objects), one commit of FILES,
    with the blob of ``lost.py`` gone as in a partial fetch; (mirrors folder, commit)."""
    work = tmp_path / "work"
    for name, text in FILES.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    gitdir = tmp_path / "mirrors" / "me+proj" / "repo"
    subprocess.run(["git", "init", "-q", "--bare", str(gitdir)], check=True)
    git(gitdir, work, "add", "-A")
    git(gitdir, work, "commit", "-q", "-m", "one")
    lost = git(gitdir, work, "rev-parse", "HEAD:lost.py")
    (gitdir / "objects" / lost[:2] / lost[2:]).unlink()
    return tmp_path / "mirrors", git(gitdir, work, "rev-parse", "HEAD")


def test_a_tree_holds_the_python_files_and_pyproject_and_is_reused(
    mirror: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = load_benchmark()
    monkeypatch.setattr(bench, "MIRRORS", mirror[0])
    monkeypatch.setattr(bench, "TREES", tmp_path / "trees")
    root = bench.materialise("me/proj", mirror[1])
    assert root == tmp_path / "trees" / "me+proj" / mirror[1]
    written = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert written == [".complete", "pkg/__init__.py", "pkg/factory.py", "pkg/use.py",
                       "pyproject.toml"]
    for name in written[1:]:
        assert (root / name).read_text() == FILES[name]
    (root / "pkg" / "marker.py").write_text("")  # a second call reuses the tree as it is
    assert bench.materialise("me/proj", mirror[1]) == root
    assert (root / "pkg" / "marker.py").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="the benchmark runs on POSIX")
def test_the_project_mode_reads_an_imported_factory_the_single_file_does_not(
    mirror: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = load_benchmark()
    monkeypatch.setattr(bench, "MIRRORS", mirror[0])
    monkeypatch.setattr(bench, "TREES", (tmp_path / "trees").resolve())
    use = bench.materialise("me/proj", mirror[1]) / "pkg" / "use.py"
    alone = (tmp_path / "alone" / "use.py").resolve()
    alone.parent.mkdir()
    alone.write_text(FILES["pkg/use.py"])
    project = bench.run_leaklint_project([use], 1, {})
    single = bench.run_leaklint_file([alone], 1, {})
    assert [line for line, _ in project[use]] == [5]
    assert single.get(alone, []) == []
