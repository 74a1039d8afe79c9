"""How ``--fix`` writes files (issue 20): never over an edit made while it ran, keeping the
file's owner, group, mode, extended attributes and hard links, leaving no temporary file a
later run does not remove; and ``--diff`` in the file's own bytes, so that ``patch`` and
``git apply`` take it.

Everything runs the real CLI in a subprocess. Where a test needs something to happen at one
exact moment of the run (an edit after the fixes were computed, a kill while a temporary file
has a name), the subprocess is the CLI with one of leaklint's own functions wrapped for that
run only, in the ``-c`` script below: nothing a user can set.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

LEAKY = (
    "import json\n\n\n"
    "def read{i}(p):\n    f = open(p)\n    data = f.read()\n    f.close()\n    return data\n"
)
FIXED = (
    "import json\n\n\n"
    "def read{i}(p):\n    with open(p) as f:\n        data = f.read()\n    return data\n"
)

#: The CLI, with ``PATCH`` run first (it may wrap leaklint's functions for this run).
WRAPPED = """\
import os
import signal
import sys
import leaklint.fixes
import leaklint.fixes.write as write
{patch}
from leaklint.cli import main
main(sys.argv[1:], prog_name="leaklint")
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "NO_COLOR": "1",
            "PYTHONIOENCODING": "utf-8"}


def _leaklint(*args: str, cwd: Path, patch: str = "", **kw: object) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", WRAPPED.format(patch=textwrap.dedent(patch))] if patch else [
        sys.executable, "-m", "leaklint"]
    proc = subprocess.run(
        [*command, "check", "--no-cache", *args],
        cwd=cwd, capture_output=True, text=True, env=_env(), timeout=300, **kw,  # type: ignore[call-overload]
    )
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return proc


def _files(root: Path, n: int) -> list[Path]:
    paths = []
    for i in range(n):
        path = root / f"m{i:02}.py"
        path.write_text(LEAKY.format(i=i))
        paths.append(path)
    return paths


def _litter(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith(".leaklint-"))


# --- edits made while --fix runs ------------------------------------------------------------

#: After every fix is computed and before anything is written: edit the odd-numbered files,
#: each a different way (append; same size and mtime; a new inode, as editors save).
EDIT_AFTER_FIXING = """
real = leaklint.fixes.fix_paths

def fix_paths(results, *args, **kwargs):
    outcomes = real(results, *args, **kwargs)
    for n, outcome in enumerate(sorted(outcomes, key=lambda o: o.path)):
        if n % 2 == 0:
            continue
        path = outcome.path
        before = os.stat(path)
        data = open(path, "rb").read()
        if n % 6 == 1:
            open(path, "ab").write(b"# my edit\\n")
        elif n % 6 == 3:  # the same size, and the mtime put back
            open(path, "r+b").write(data.replace(b"import json", b"import yaml"))
            os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        else:  # a new file renamed over it
            open(path + ".new", "wb").write(data + b"# my edit\\n")
            os.replace(path + ".new", path)
    return outcomes

leaklint.fixes.fix_paths = fix_paths
"""


def test_a_file_edited_after_the_fixes_were_computed_is_not_written(tmp_path: Path) -> None:
    paths = _files(tmp_path, 12)
    proc = _leaklint("--fix", "-j", "1", ".", cwd=tmp_path, patch=EDIT_AFTER_FIXING)
    assert proc.returncode == 1  # the edited files' findings remain
    edited = [p for n, p in enumerate(paths) if n % 2]
    for n, path in enumerate(paths):
        text = path.read_text()
        if n % 2 == 0:
            assert text == FIXED.format(i=n), path.name
            continue
        leaky = LEAKY.format(i=n)
        assert text in (leaky + "# my edit\n", leaky.replace("import json", "import yaml")), text
    skipped = [line for line in proc.stderr.splitlines() if "changed since leaklint read it" in line]
    assert sorted(skipped) == sorted(
        f"leaklint: {p.name} changed since leaklint read it: not fixed (its findings are those "
        "of the old content)" for p in edited
    )
    reported = {line.split(":")[0] for line in proc.stdout.splitlines()}
    assert reported == {p.name for p in edited}  # their findings are still reported
    assert "fixed 6 findings (LL101: 6) in 6 files, 6 remaining" in proc.stderr
    assert _litter(tmp_path) == []


#: An editor saves between leaklint's last check of the file and the moment it swaps the
#: new content in: the swap finds another file (or the same one, written) and is undone.
EDIT_AFTER_THE_CHECK = """
real = write._check

def _check(real_path, was):
    fd = real(real_path, was)
    data = open(real_path, "rb").read() + b"# my edit\\n"
    if real_path.endswith(("m00.py", "m02.py")):  # saved as editors do: a new inode
        open(real_path + ".new", "wb").write(data)
        os.replace(real_path + ".new", real_path)
    elif real_path.endswith("m01.py"):  # written in place
        open(real_path, "r+b").write(data)
    return fd

write._check = _check
"""


def test_an_edit_in_the_last_moment_before_the_swap_is_kept(tmp_path: Path) -> None:
    paths = _files(tmp_path, 4)
    proc = _leaklint("--fix", "-j", "1", ".", cwd=tmp_path, patch=EDIT_AFTER_THE_CHECK)
    for n, path in enumerate(paths[:3]):
        assert path.read_text() == LEAKY.format(i=n) + "# my edit\n"
        assert f"leaklint: {path.name} changed since leaklint read it" in proc.stderr
    assert paths[3].read_text() == FIXED.format(i=3)
    assert _litter(tmp_path) == []


EDITOR = """
import os, sys, time
paths, stop = sys.argv[1:-1], sys.argv[-1]
n = 0
while not os.path.exists(stop):
    for path in paths:
        n += 1
        data = open(path, "rb").read()
        with open(path + ".edit", "wb") as out:
            out.write(data + b"# edit %d\\n" % n)
        os.replace(path + ".edit", path)
        with open(path + ".last", "w") as out:
            out.write("# edit %d\\n" % n)
        time.sleep(0.002)
"""


def test_fix_loses_no_edit_made_while_it_runs(tmp_path: Path) -> None:
    """The issue's reproduction: files edited all the time while `--fix -j 1` runs (as an
    editor saves: a new file renamed over the old). Every file ends with its last edit."""
    work = tmp_path / "work"
    work.mkdir()
    paths = _files(work, 30)
    stop = tmp_path / "stop"
    editor = subprocess.Popen([sys.executable, "-c", EDITOR, *map(str, paths), str(stop)])
    try:
        time.sleep(0.2)
        proc = _leaklint("--fix", "-j", "1", *(p.name for p in paths), cwd=work)
    finally:
        stop.touch()
        editor.wait(timeout=60)
    assert proc.returncode in (0, 1), proc.stderr
    assert "changed since leaklint read it" in proc.stderr  # the race happened
    for path in paths:
        last = Path(str(path) + ".last").read_text()
        assert path.read_text().endswith(last), path.name
    assert [n for n in _litter(work)] == []


# --- what a write keeps --------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="needs root to chown")
def test_fix_keeps_owner_group_mode_and_extended_attributes(tmp_path: Path) -> None:
    path = _files(tmp_path, 1)[0]
    os.chown(path, 1234, 2345)
    os.chmod(path, 0o2750)  # set-group-id too: a chown after the chmod would clear it
    os.setxattr(path, "user.leaklint", b"keep me")
    proc = _leaklint("--fix", path.name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert path.read_text() == FIXED.format(i=0)
    info = path.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (1234, 2345, 0o2750)
    assert os.getxattr(path, "user.leaklint") == b"keep me"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="needs root to change user")
def test_a_file_another_user_owns_is_not_given_to_the_one_fixing_it(
    request: pytest.FixtureRequest,
) -> None:
    """A user who may write another's file (world-writable here) cannot give the new file
    that owner: the file is skipped rather than handed to whoever ran --fix. In a forked
    child that becomes nobody (the interpreter of the tests may not be theirs to run)."""
    from leaklint.fixes import Snapshot, WriteError, write_atomic

    tmp_path = Path(tempfile.mkdtemp())  # pytest's own folder is closed to other users
    request.addfinalizer(lambda: shutil.rmtree(tmp_path))
    os.chmod(tmp_path, 0o777)
    path = _files(tmp_path, 1)[0]
    os.chmod(path, 0o666)
    snapshot = Snapshot.read(str(path), None)
    read, written = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        message = b"written"
        try:
            os.setgid(65534)
            os.setuid(65534)
            write_atomic(str(path), FIXED.format(i=0).encode(), snapshot)
        except WriteError as err:
            message = str(err).encode()
        except BaseException as err:  # noqa: BLE001
            message = repr(err).encode()
        os.write(written, message)
        os._exit(0)
    os.close(written)
    with os.fdopen(read, "rb") as pipe:
        message = pipe.read().decode()
    os.waitpid(child, 0)
    assert message.startswith("is owned by uid 0, gid 0, which this user cannot give a file: not fixed")
    assert path.read_text() == LEAKY.format(i=0)
    assert path.stat().st_uid == 0
    assert _litter(tmp_path) == []


def test_a_file_with_several_hard_links_is_refused_and_left_whole(tmp_path: Path) -> None:
    path = _files(tmp_path, 1)[0]
    other = tmp_path / "elsewhere.txt"
    os.link(path, other)
    proc = _leaklint("--fix", path.name, cwd=tmp_path)
    assert proc.returncode == 1
    assert f"leaklint: {path.name} has 2 hard links: not fixed" in proc.stderr
    assert proc.stdout.startswith(f"{path.name}:5:9: LL101 ")
    assert path.read_text() == other.read_text() == LEAKY.format(i=0)
    assert path.stat().st_ino == other.stat().st_ino
    assert _litter(tmp_path) == []


# --- temporary files ---------------------------------------------------------------------

#: SIGKILL at the one moment a temporary file has a name: after the new content got one,
#: before it is swapped in.
KILLED_WHILE_NAMED = """
def _swap(temp, real, checked, was):
    os.kill(os.getpid(), signal.SIGKILL)

write._swap = _swap
"""

#: Ctrl-C in the same moment.
INTERRUPTED_WHILE_NAMED = """
def _swap(temp, real, checked, was):
    raise KeyboardInterrupt

write._swap = _swap
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals")
def test_a_temporary_file_a_sigkill_leaves_is_removed_by_the_next_run(tmp_path: Path) -> None:
    paths = _files(tmp_path, 2)
    killed = _leaklint("--fix", "-j", "1", ".", cwd=tmp_path, patch=KILLED_WHILE_NAMED)
    assert killed.returncode == -signal.SIGKILL
    litter = _litter(tmp_path)
    assert len(litter) == 1  # the file being written, under its temporary name
    assert all(p.read_text() == LEAKY.format(i=n) for n, p in enumerate(paths))
    # one a running process owns, and names that are not leaklint's pattern: left alone
    alive = f".leaklint-{os.getpid()}-0123456789abcdef.tmp"
    for name in (alive, ".leaklint-other.tmp", ".leaklint-1-0123456789abcdef.tmp.keep"):
        (tmp_path / name).write_text("not mine to remove")
    proc = _leaklint("--fix", "-j", "1", ".", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert all(p.read_text() == FIXED.format(i=n) for n, p in enumerate(paths))
    assert _litter(tmp_path) == sorted(
        [alive, ".leaklint-other.tmp", ".leaklint-1-0123456789abcdef.tmp.keep"]
    )


def test_an_interrupted_write_removes_its_temporary_file(tmp_path: Path) -> None:
    paths = _files(tmp_path, 2)
    proc = subprocess.run(
        [sys.executable, "-c", WRAPPED.format(patch=INTERRUPTED_WHILE_NAMED),
         "check", "--no-cache", "--fix", "-j", "1", "."],
        cwd=tmp_path, capture_output=True, text=True, env=_env(), timeout=300,
    )
    assert proc.returncode != 0
    assert _litter(tmp_path) == []
    assert all(p.read_text() == LEAKY.format(i=n) for n, p in enumerate(paths))


# --- newlines and encodings ---------------------------------------------------------------


def test_a_cr_only_file_keeps_every_line_end(tmp_path: Path) -> None:
    path = tmp_path / "mac.py"
    path.write_bytes(LEAKY.format(i=0).replace("\n", "\r").encode())
    diff = subprocess.run(  # bytes: text mode would read each "\r" as a newline
        [sys.executable, "-m", "leaklint", "check", "--no-cache", "--diff", path.name],
        cwd=tmp_path, capture_output=True, env=_env(), timeout=300,
    )
    assert diff.stdout.count(b"\n") == 7  # 3 header lines; 2 lines (one to patch), each marked
    (tmp_path / "fix.patch").write_bytes(diff.stdout)
    proc = _leaklint("--fix", path.name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    expected = FIXED.format(i=0).replace("\n", "\r").encode()
    assert path.read_bytes() == expected
    if shutil.which("patch"):
        path.write_bytes(LEAKY.format(i=0).replace("\n", "\r").encode())
        applied = subprocess.run(["patch", "-p1", "-i", "fix.patch"], cwd=tmp_path,
                                 capture_output=True, text=True)
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert path.read_bytes() == expected


@pytest.mark.parametrize("tool", ["patch", "git"])
def test_the_diff_of_a_latin1_file_applies(tmp_path: Path, tool: str) -> None:
    if not shutil.which(tool):
        pytest.skip(f"no {tool}")
    leaky = LEAKY.format(i=0).replace("return data", "return data + 'café'")
    source = ("# -*- coding: latin-1 -*-\n" + leaky).encode("latin-1")
    (tmp_path / "latin.py").write_bytes(source)
    (tmp_path / "fixed.py").write_bytes(source)
    _leaklint("--fix", "fixed.py", cwd=tmp_path)
    diff = subprocess.run(
        [sys.executable, "-m", "leaklint", "check", "--no-cache", "--diff", "latin.py"],
        cwd=tmp_path, capture_output=True, env=_env(), timeout=300,
    )
    assert diff.returncode == 1
    assert "\ufffd".encode() not in diff.stdout and b"    return data + 'caf\xe9'\n" in diff.stdout
    (tmp_path / "fix.patch").write_bytes(diff.stdout)
    command = ["patch", "-p1", "-i", "fix.patch"] if tool == "patch" else [
        "git", "apply", "--unsafe-paths", "fix.patch"]
    applied = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert (tmp_path / "latin.py").read_bytes() == (tmp_path / "fixed.py").read_bytes() != source
