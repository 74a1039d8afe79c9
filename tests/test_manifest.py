"""The run manifest and the per-file result keys (see ``leaklint.cache``): a run whose files
are all as the last identical run left them is answered from the manifest, without the
analysis; any change is seen (size, mtime, ctime, a file replaced, a folder's entries); a
damaged or foreign manifest is ignored; the output is the same byte for byte. An edit that
leaves every summary as the analysis sees it re-checks only the edited file; one that
changes a helper's summary re-checks the files that use it. Behaviour only, no timings.
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from leaklint import cache as cache_module
from leaklint import core, runner
from leaklint.cache import Cache, Manifest, trusted_signature
from leaklint.config import Config
from leaklint.results import FileResult
from leaklint.runner import Target, check_paths, discover

HELPER = "def get(path):\n    return path\n"
HELPER_OPENS = "def get(path):\n    return open(path)\n"
HELPER_SAME_SIZE = "def get(p):\n    return open(p)\n"  # as long as HELPER
MAIN = "from helpers import get\n\ndef read(p):\n    f = get(p)\n    return f.read()\n"
OTHER = "import socket\n\ndef f():\n    s = socket.socket()\n"


@pytest.fixture(autouse=True)
def _no_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written by a test are seconds old at most: without this, every one of them is
    "racy" (changed too recently to trust its signature) and read again on every run."""
    monkeypatch.setattr(cache_module, "RACY_NS", 0)


def _project(root: Path, helper: str = HELPER_OPENS) -> tuple[list[Target], Config]:
    root.mkdir(exist_ok=True)
    (root / "helpers.py").write_text(helper)
    (root / "main.py").write_text(MAIN)
    (root / "other.py").write_text(OTHER)
    config = Config(root=str(root))
    return discover([str(root)], config), config


def _codes(results: list[FileResult]) -> set[tuple[str, int, str]]:
    return {(Path(f.path).name, f.line, f.code) for r in results for f in r.findings}


class _Checked:
    """The names of the files the analysis ran on, as a list compares: the analysis runs in
    the pool's forked workers, whose memory the test cannot see, so each call appends its
    file's name to a log file (O_APPEND: one short write per line, whole) that the test reads."""

    def __init__(self, log: Path) -> None:
        self.log = log
        log.write_text("")

    def names(self) -> list[str]:
        return self.log.read_text().splitlines()

    def clear(self) -> None:
        self.log.write_text("")

    def __eq__(self, other: object) -> bool:
        return self.names() == other

    def __contains__(self, name: object) -> bool:
        return name in self.names()

    def __repr__(self) -> str:
        return repr(self.names())


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> _Checked:
    """The names of the files the analysis is run on, in whichever process runs it."""
    seen = _Checked(tmp_path / "checked.log")
    real = core.check_source

    def spy(data: bytes, path: str, *args: object, **kwargs: object) -> FileResult:
        fd = os.open(seen.log, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, (Path(path).name + "\n").encode())
        finally:
            os.close(fd)
        return real(data, path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(core, "check_source", spy)
    return seen


def _no_analysis(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the summary pass ran")

    monkeypatch.setattr(runner, "_summarise", refuse)


def _rewrite_keeping_mtime(path: Path, text: str) -> None:
    before = path.stat()
    path.write_text(text)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_mtime_ns == before.st_mtime_ns


# --------------------------------------------------------------------------- the manifest


def test_an_unchanged_run_is_answered_from_the_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    targets, config = _project(tmp_path / "p")
    cache = Cache.open(tmp_path / "c")
    first = check_paths(targets, config, jobs=1, cache=cache)
    assert ("main.py", 4, "LL100") in _codes(first)
    assert len(list((tmp_path / "c" / "manifest").iterdir())) == 1
    _no_analysis(monkeypatch)
    assert check_paths(targets, config, jobs=1, cache=cache) == first


def test_another_path_list_or_configuration_is_another_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    targets, config = _project(tmp_path / "p")
    cache = Cache.open(tmp_path / "c")
    check_paths(targets, config, jobs=1, cache=cache)
    fewer = check_paths(targets[:2], config, jobs=1, cache=cache)
    assert [r.path for r in fewer] == [t.path for t in targets[:2]]
    narrow = Config(root=config.root, select=("LL101",))
    assert check_paths(targets, narrow, jobs=1, cache=cache) == check_paths(targets, narrow, jobs=1)
    assert len(list((tmp_path / "c" / "manifest").iterdir())) == 3


@pytest.mark.parametrize("change", ["size", "same size, mtime restored", "replaced by a rename"])
def test_a_changed_file_is_seen(tmp_path: Path, change: str) -> None:
    targets, config = _project(tmp_path / "p", helper=HELPER)
    cache = Cache.open(tmp_path / "c")
    assert ("main.py", 4, "LL100") not in _codes(check_paths(targets, config, jobs=1, cache=cache))
    helper = tmp_path / "p" / "helpers.py"
    opens = HELPER_SAME_SIZE
    if change == "size":
        helper.write_text(HELPER_OPENS)
    elif change == "same size, mtime restored":
        assert len(opens) == len(HELPER)
        _rewrite_keeping_mtime(helper, opens)
    else:
        (tmp_path / "p" / "new.tmp").write_text(HELPER_OPENS)
        os.replace(tmp_path / "p" / "new.tmp", helper)
    after = check_paths(targets, config, jobs=1, cache=cache)
    assert ("main.py", 4, "LL100") in _codes(after)
    assert after == check_paths(targets, config, jobs=1)


def test_an_edit_that_restores_the_mtime_still_changes_the_signature(tmp_path: Path) -> None:
    file = tmp_path / "m.py"
    file.write_text("x = 1\n")
    os.utime(file, ns=(0, 10**18))  # well in the past of any clock this test runs under
    before = trusted_signature(str(file), since=2 * 10**18)
    assert before is not None
    _rewrite_keeping_mtime(file, "x = 2\n")
    assert trusted_signature(str(file), since=2 * 10**18) != before  # the ctime moved


def test_a_file_changed_just_before_it_was_signed_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_module, "RACY_NS", 2_000_000_000)
    file = tmp_path / "m.py"
    file.write_text("x = 1\n")
    assert trusted_signature(str(file)) is None  # a second write in the same tick could hide
    mtime = file.stat().st_ctime_ns
    assert trusted_signature(str(file), since=mtime + 3_000_000_000) is not None


def test_a_racy_file_is_read_again_and_its_new_bytes_are_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_module, "RACY_NS", 10**18)  # every signature untrusted
    targets, config = _project(tmp_path / "p", helper=HELPER)
    cache = Cache.open(tmp_path / "c")
    check_paths(targets, config, jobs=1, cache=cache)
    manifest = cache.get("manifest", runner._manifest_key(targets, config))
    assert isinstance(manifest, Manifest)
    assert all(signature is None for signature, _ in manifest.files.values())
    helper = tmp_path / "p" / "helpers.py"
    _rewrite_keeping_mtime(helper, HELPER_SAME_SIZE)
    assert ("main.py", 4, "LL100") in _codes(check_paths(targets, config, jobs=1, cache=cache))


def test_a_new_file_where_an_import_looks_is_seen(tmp_path: Path) -> None:
    """``from helpers import get``: a ``helpers/`` package that appears beside it (its folder's
    entries change) is where the import now leads."""
    root = tmp_path / "p"
    root.mkdir()
    (root / "main.py").write_text(MAIN.replace("from helpers import get", "from lib.helpers import get"))
    config = Config(root=str(root))
    targets = discover([str(root / "main.py")], config)
    cache = Cache.open(tmp_path / "c")
    assert not _codes(check_paths(targets, config, jobs=1, cache=cache))
    (root / "lib").mkdir()
    (root / "lib" / "__init__.py").write_text("")
    (root / "lib" / "helpers.py").write_text(HELPER_OPENS)
    assert ("main.py", 4, "LL100") in _codes(check_paths(targets, config, jobs=1, cache=cache))


def test_a_deleted_file_is_seen(tmp_path: Path) -> None:
    targets, config = _project(tmp_path / "p")
    cache = Cache.open(tmp_path / "c")
    check_paths(targets, config, jobs=1, cache=cache)
    (tmp_path / "p" / "other.py").unlink()
    after = check_paths(targets, config, jobs=1, cache=cache)
    assert [f.code for r in after if r.path.endswith("other.py") for f in r.findings] == ["LL900"]


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "another user's key"])
def test_a_damaged_or_foreign_manifest_is_ignored(
    tmp_path: Path, damage: str, checked: _Checked
) -> None:
    targets, config = _project(tmp_path / "p")
    cache = Cache.open(tmp_path / "c")
    expected = check_paths(targets, config, jobs=1, cache=cache)
    key = runner._manifest_key(targets, config)
    entry = tmp_path / "c" / "manifest" / key
    data = entry.read_bytes()
    if damage == "another user's key":
        fake = Manifest(key, [FileResult(t.path) for t in targets], "x")
        Cache(tmp_path / "c", key=b"k" * 32).put("manifest", key, fake)
    else:
        entry.write_bytes(
            {
                "truncate": data[: len(data) // 2],
                "flip": data[:-1] + bytes([data[-1] ^ 0xFF]),
                "garbage": data[:4] + os.urandom(64),
            }[damage]
        )
    assert check_paths(targets, config, jobs=1, cache=cache) == expected


def test_a_manifest_under_another_runs_key_is_ignored(tmp_path: Path) -> None:
    targets, config = _project(tmp_path / "p")
    cache = Cache.open(tmp_path / "c")
    narrow = Config(root=config.root, select=("LL101",))
    check_paths(targets, narrow, jobs=1, cache=cache)
    wide = runner._manifest_key(targets, config)
    (tmp_path / "c" / "manifest" / runner._manifest_key(targets, narrow)).rename(
        tmp_path / "c" / "manifest" / wide
    )
    assert _codes(check_paths(targets, config, jobs=1, cache=cache)) == _codes(
        check_paths(targets, config, jobs=1)
    )


#: The CLI, with the racy window off (the files were written a moment ago), saying at the
#: end whether libcst was imported.
CLI = """\
import sys
import leaklint.cache
leaklint.cache.RACY_NS = 0
from leaklint.cli import main
try:
    main(sys.argv[1:], prog_name="leaklint")
finally:
    print("libcst imported" if "libcst" in sys.modules else "libcst not imported", file=sys.stderr)
"""


@pytest.mark.parametrize(
    "options",
    [
        ["--format", "text"],
        ["--format", "json"],
        ["--format", "sarif"],
        ["--format", "github"],
        ["--statistics"],
        ["--baseline", "baseline.json"],
    ],
)
def test_the_manifest_gives_the_output_of_a_normal_run_and_needs_no_libcst(
    tmp_path: Path, options: list[str]
) -> None:
    _project(tmp_path / "p")
    (tmp_path / "p" / "more.py").write_text("def g(p):\n    f = open(p)\n    f.read()\n")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}

    def run(*extra: str, chosen: list[str] = options) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", CLI, "check", "p", "--no-summary", *chosen, *extra],
            cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120,
        )

    if "--baseline" in options:
        assert run("--no-cache", "--write-baseline", "baseline.json", chosen=[]).returncode == 0
        (tmp_path / "p" / "other.py").write_text(OTHER + "\ndef h():\n    t = socket.socket()\n")
    plain = run("--no-cache")
    filled = run()
    warm = run()
    assert plain.returncode == filled.returncode == warm.returncode == 1
    assert plain.stdout == filled.stdout == warm.stdout
    assert plain.stdout.strip()
    assert "libcst imported" in filled.stderr
    assert "libcst not imported" in warm.stderr


# --------------------------------------------------------------------------- per-file keys


@pytest.fixture(params=["manifest", "results only"])
def through(request: pytest.FixtureRequest) -> str:
    """Each change goes through the manifest's partial path, and again with the manifest
    gone, through the per-file results cache alone."""
    return str(request.param)


def _again(targets: list[Target], config: Config, cache: Cache, through: str) -> list[FileResult]:
    if through == "results only":
        shutil.rmtree(cache.folder / "manifest", ignore_errors=True)
    return check_paths(targets, config, jobs=1, cache=cache)


@pytest.mark.parametrize(
    "edit",
    [
        "# a comment at the end\n",
        "# a comment above everything\n",
        "lines moved: a new function above",
    ],
)
def test_an_edit_that_leaves_the_summaries_re_checks_only_that_file(
    tmp_path: Path, checked: _Checked, through: str, edit: str
) -> None:
    root = tmp_path / "p"
    targets, config = _project(root, helper=HELPER)
    (root / "helpers.py").write_text(HELPER + "\ndef unrelated(x):\n    return x\n")
    cache = Cache.open(tmp_path / "c")
    check_paths(targets, config, jobs=1, cache=cache)
    checked.clear()
    helper = root / "helpers.py"
    text = helper.read_text()
    if edit.startswith("# a comment at the end"):
        helper.write_text(text + edit)
    elif edit.startswith("# a comment above"):
        helper.write_text(edit + text)
    else:
        helper.write_text("def first():\n    pass\n\n\n" + text)
    after = _again(targets, config, cache, through)
    assert checked == ["helpers.py"]
    assert after == check_paths(targets, config, jobs=1)


def test_a_helper_that_starts_returning_an_open_file_re_checks_its_callers(
    tmp_path: Path, checked: _Checked, through: str
) -> None:
    root = tmp_path / "p"
    targets, config = _project(root, helper=HELPER)
    cache = Cache.open(tmp_path / "c")
    before = check_paths(targets, config, jobs=1, cache=cache)
    assert ("main.py", 4, "LL100") not in _codes(before)
    checked.clear()
    (root / "helpers.py").write_text(HELPER_OPENS)
    after = _again(targets, config, cache, through)
    assert "main.py" in checked and "helpers.py" in checked
    assert ("main.py", 4, "LL100") in _codes(after)
    assert after == check_paths(targets, config, jobs=1)


def test_a_factory_moved_to_another_line_re_checks_the_messages_that_quote_it(
    tmp_path: Path, checked: _Checked, through: str
) -> None:
    """The finding in main.py quotes the helper's line (``open() at helpers.py:2``)."""
    root = tmp_path / "p"
    targets, config = _project(root)
    cache = Cache.open(tmp_path / "c")
    before = check_paths(targets, config, jobs=1, cache=cache)
    assert any("helpers.py:2" in f.message for r in before for f in r.findings)
    checked.clear()
    (root / "helpers.py").write_text("# moved down\n" + HELPER_OPENS)
    after = _again(targets, config, cache, through)
    assert "main.py" in checked
    assert any("helpers.py:3" in f.message for r in after for f in r.findings)
    assert after == check_paths(targets, config, jobs=1)


def test_a_helper_outside_the_run_is_followed_too(
    tmp_path: Path, checked: _Checked, through: str
) -> None:
    """pre-commit passes the changed files only: main.py alone, its helper read through
    its import; the helper's edit reaches main.py's result."""
    root = tmp_path / "p"
    _project(root, helper=HELPER)
    config = Config(root=str(root))
    targets = discover([str(root / "main.py")], config)
    cache = Cache.open(tmp_path / "c")
    assert not _codes(check_paths(targets, config, jobs=1, cache=cache))
    (root / "helpers.py").write_text(HELPER_OPENS)
    assert ("main.py", 4, "LL100") in _codes(_again(targets, config, cache, through))


def test_old_projects_are_pruned_and_a_manifest_without_its_project_still_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("leaklint.manifest._PROJECTS_KEPT", 1)
    root = tmp_path / "p"
    targets, config = _project(root, helper=HELPER)
    cache = Cache.open(tmp_path / "c")
    check_paths(targets[:2], config, jobs=1, cache=cache)
    (root / "other.py").write_text(OTHER + "\ndef opener():\n    return open('x')\n")
    check_paths(targets, config, jobs=1, cache=cache)  # another project: the first is pruned
    assert len(list((tmp_path / "c" / "project").iterdir())) == 1
    (root / "main.py").write_text(MAIN + "# a comment\n")
    assert check_paths(targets[:2], config, jobs=1, cache=cache) == check_paths(
        targets[:2], config, jobs=1
    )


def test_the_kept_project_is_the_project(tmp_path: Path) -> None:
    """What a changed file is analysed with: the same functions, classes and the rest, looked
    up a module at a time; sent to a worker, a plain project."""
    root = tmp_path / "p"
    targets, config = _project(root)
    (root / "cm.py").write_text(
        "class Held:\n    def __enter__(self):\n        return self\n\n"
        "    def __exit__(self, *exc):\n        return None\n"
    )
    project = runner.summarise(discover([str(root)], config), config)
    kept = runner._KeptProject.of(project).project()
    for lazy, real in ((kept.functions, project.functions), (kept.classes, project.classes)):
        assert dict(lazy) == dict(real) and len(lazy) == len(real)
        assert all(name in lazy for name in real) and "no.such.name" not in lazy
        assert lazy.get("no.such.name") is None
    assert kept.registry == project.registry and kept.file_triggers == project.file_triggers
    assert core.context_manager_names(kept) == core.context_manager_names(project) == {"Held"}
    sent = pickle.loads(pickle.dumps(kept))
    assert type(sent.functions) is dict and sent.functions == dict(project.functions)
