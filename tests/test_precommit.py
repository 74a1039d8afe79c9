"""The pre-commit hook, run for real: ``pre-commit try-repo`` snapshots this checkout, installs
it into an environment of its own (pip, as a user's pre-commit would) and runs the hook.
About 15 s here with PyPI reachable."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="pre-commit needs git")


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (ROOT / ".git").exists():
        pytest.skip("try-repo needs this checkout to be a git repository")
    pytest.importorskip("pre_commit")
    folder = tmp_path_factory.mktemp("user-project")
    _git("init", "-q", cwd=folder)
    (folder / "leaky.py").write_text("def read(p):\n    f = open(p)\n    return f.read()\n")
    (folder / "clean.py").write_text("def read(p):\n    with open(p) as f:\n        return f.read()\n")
    (folder / "pyproject.toml").write_text('[tool.leaklint]\nextend-exclude = ["generated"]\n')
    (folder / "generated").mkdir()
    (folder / "generated" / "leaky.py").write_text("def read(p):\n    f = open(p)\n    return f.read()\n")
    (folder / "fixable.py").write_text(
        "def read(p):\n    f = open(p)\n    data = f.read()\n    f.close()\n    return data\n"
    )
    _git("add", ".", cwd=folder)  # as in a commit: pre-commit sees what a hook modifies
    return folder


def _try_repo(
    project: Path, file: str, hook: str = "leaklint", more: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        # a cache of its own: no state shared with the user's pre-commit, none left behind
        "PRE_COMMIT_HOME": str(project / ".pre-commit-cache"),
        "PRE_COMMIT_COLOR": "never",
    }
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), hook, "--files", file, *more],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def test_hook_fails_on_a_leak(project: Path) -> None:
    proc = _try_repo(project, "leaky.py")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "leaky.py:2:9: LL100 " in proc.stdout
    assert "Failed" in proc.stdout


def test_hook_passes_on_a_clean_file(project: Path) -> None:
    proc = _try_repo(project, "clean.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Passed" in proc.stdout


def test_fix_hook_fixes_then_the_check_passes(project: Path) -> None:
    """The leaklint-fix hook rewrites the leak (pre-commit fails: files were modified), after
    which the leaklint hook passes on the same file."""
    before = _try_repo(project, "fixable.py")
    assert before.returncode == 1 and "fixable.py:2:9: LL101 " in before.stdout, before.stdout
    fixing = _try_repo(project, "fixable.py", hook="leaklint-fix")
    assert fixing.returncode == 1, fixing.stdout + fixing.stderr
    assert "files were modified by this hook" in fixing.stdout
    assert "with open(p) as f:" in (project / "fixable.py").read_text()
    after = _try_repo(project, "fixable.py")
    assert after.returncode == 0, after.stdout + after.stderr


def test_hook_respects_the_configured_excludes_for_files_passed_by_name(project: Path) -> None:
    """pre-commit names each staged file; the hooks pass --force-exclude, so the project's
    excludes hold as they do for a walk."""
    proc = _try_repo(project, "generated/leaky.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "LL100" not in proc.stdout
