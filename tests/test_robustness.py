"""Never crash, never lose a file: bad input, internal errors, a damaged or shared cache,
``--fix`` killed mid-run, and code that must never be run. Each through the real CLI, in
a subprocess (``run`` there fails on any traceback).

The README's table of bad inputs names the test behind each row.
"""

from __future__ import annotations

import ast
import hashlib
import os
import pickle
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import hypothesmith
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.fuzzing import mutated_fixture, problems, resource_module
from test_cli import BAD_INPUTS, LEAK, THREE_RULES, check, codes, run, write

# --- bad input: one LL900 line that says what was wrong, and the run goes on --------------

#: The bad inputs of test_cli.BAD_INPUTS and more, each with what its LL900 line must say.
MESSAGES: dict[str, tuple[bytes, str]] = {
    "syntax_error.py": (BAD_INPUTS["syntax_error.py"], "syntax error: invalid syntax"),
    "python2.py": (BAD_INPUTS["python2.py"], "syntax error: Missing parentheses in call to 'print'"),
    "python2_except.py": (
        b"try:\n    pass\nexcept ValueError, err:\n    pass\n",
        "syntax error: multiple exception types must be parenthesized",
    ),
    "python2_octal.py": (b"mode = 0777\n", "syntax error: leading zeros"),
    "latin1_no_cookie.py": (
        BAD_INPUTS["latin1_no_cookie.py"],
        "not valid UTF-8 (byte 0xe9) and no PEP 263 coding cookie names another encoding",
    ),
    "latin1_in_a_comment.py": (b"x = 1\n# caf\xe9\n", "not valid UTF-8 (byte 0xe9)"),
    "wrong_cookie.py": (
        b"# -*- coding: ascii -*-\nname = 'caf\xe9'\n",
        "not valid ascii, the encoding its coding cookie names (byte 0xe9)",
    ),
    "unknown_cookie.py": (b"# coding: klingon\nx = 1\n", "unknown encoding: klingon"),
    "bom_and_cookie.py": (
        b"\xef\xbb\xbf# coding: latin-1\nx = 1\n",
        "UTF-8 byte-order mark but its coding cookie names another encoding",
    ),
    "utf16_bom.py": (BAD_INPUTS["utf16_bom.py"], "UTF-16 text (it starts with a UTF-16 byte-order mark)"),
    "utf16_be_bom.py": (b"\xfe\xff" + "x = 1\n".encode("utf-16-be"), "UTF-16 text"),
    "utf32_bom.py": ("x = 1\n".encode("utf-32"), "UTF-32 text"),
    "binary.py": (BAD_INPUTS["garbage.py"], "binary file (NUL bytes)"),
    "binary_without_nul.py": (bytes(range(128, 256)) * 8, "not valid UTF-8 (byte 0x80)"),
    "nul_bytes.py": (BAD_INPUTS["nul_bytes.py"], "binary file (NUL bytes)"),
    # valid Python (``return* x`` parses; only compiling refuses the star) whose nodes libcst
    # refuses once visited: the mutating fuzz found it, an internal error before
    "libcst_refuses_when_visited.py": (
        b"import requests\n\n\ndef f(u):\n    r = requests.get(u, stream=True)\n"
        b"    return* next(r.iter_lines())\n",
        "libcst cannot analyse this code: Must have at least one space after 'return'",
    ),
}


def _ll900(proc: subprocess.CompletedProcess[str], name: str) -> list[str]:
    return [line for line in proc.stdout.splitlines() if line.startswith(f"{name}:")]


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_bad_input_gets_one_ll900_line_saying_what_is_wrong(tmp_path: Path, name: str) -> None:
    data, message = MESSAGES[name]
    write(tmp_path, name, data)
    write(tmp_path, "z_leak.py", LEAK)
    proc = check("--no-cache", name, "z_leak.py", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # LL900 is a finding (test_cli agrees)
    assert [(path, code) for path, _, code in codes(proc)] == [(name, "LL900"), ("z_leak.py", "LL100")]
    (line,) = _ll900(proc, name)
    assert message in line


def test_all_the_bad_inputs_together_in_a_walk(tmp_path: Path) -> None:
    """The issue's "folder of all the bad inputs": one line each, the good file still
    checked; the special files (FIFO, symlink loops) are in it too. A folder named like a
    file is walked into (it is only LL900 when named: test_cli)."""
    folder = _bad_folder(tmp_path / "bad")
    write(folder, "z_leak.py", LEAK)
    proc = check("--no-cache", "bad", cwd=tmp_path, timeout=60)
    assert proc.returncode == 1
    found = codes(proc)
    ll900 = sorted(os.path.basename(path) for path, _, code in found if code == "LL900")
    assert ll900 == sorted([*MESSAGES, *SPECIAL])
    assert (os.path.join("bad", "z_leak.py"), 2, "LL100") in found
    for name, message in [*((n, m) for n, (_, m) in MESSAGES.items()), *SPECIAL.items()]:
        (line,) = _ll900(proc, os.path.join("bad", name))
        assert message in line


#: What the special files of ``_bad_folder`` must be called in their LL900 line.
SPECIAL = {
    "fifo.py": "file is a FIFO, not a regular file",
    "loop_a.py": "file is a symlink loop",
    "loop_b.py": "file is a symlink loop",
    "self_loop.py": "file is a symlink loop",
    "dangling.py": "file is a dangling symlink",
    "huge.py": "file is too large to analyse (20.0 MB; the limit is 10 MB",
}


def _bad_folder(folder: Path) -> Path:
    """Every bad input, in one folder (``huge.py`` is 20 MB)."""
    for name, (data, _) in MESSAGES.items():
        write(folder, name, data)
    os.mkfifo(folder / "fifo.py")
    (folder / "loop_a.py").symlink_to("loop_b.py")
    (folder / "loop_b.py").symlink_to("loop_a.py")
    (folder / "self_loop.py").symlink_to("self_loop.py")
    (folder / "dangling.py").symlink_to("nowhere.py")
    (folder / "folder.py").mkdir()
    (folder / "folder.py" / "inner.txt").write_text("not Python\n")
    _generate(folder / "huge.py", 20 * 2**20)
    return folder


def _generate(path: Path, size: int) -> None:
    """A generated module of ``size`` bytes: functions that leak a file, as a code generator
    might write them, so nothing but the size keeps leaklint from analysing it."""
    unit = "def f{}(p):\n    f = open(p)\n    return f.read()\n\n"
    with open(path, "w", encoding="utf-8") as out:
        written, number = 0, 0
        while written < size:
            chunk = "".join(unit.format(number + i) for i in range(1000))
            out.write(chunk)
            written += len(chunk)
            number += 1000


needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")


@needs_fifo
@pytest.mark.parametrize("how", ["named", "walk", "baseline", "sarif"])
def test_a_fifo_is_refused_and_never_waited_for(tmp_path: Path, how: str) -> None:
    """Opening a FIFO blocks until a writer comes; leaklint must not open it that way,
    neither to check it nor to show or fingerprint its line (``--write-baseline``)."""
    os.mkfifo(tmp_path / "pipe.py")
    write(tmp_path, "z_leak.py", LEAK)
    args = {
        "named": ["pipe.py", "z_leak.py"],
        "walk": ["."],
        "baseline": ["--write-baseline", "base.json", "pipe.py", "z_leak.py"],
        "sarif": ["--format", "sarif", "pipe.py", "z_leak.py"],
    }[how]
    proc = check("--no-cache", *args, cwd=tmp_path, timeout=30)
    if how in ("named", "walk"):
        assert proc.returncode == 1
        assert codes(proc) == [("pipe.py", 1, "LL900"), ("z_leak.py", 2, "LL100")]
        assert "pipe.py:1:1: LL900 file is a FIFO, not a regular file" in proc.stdout
    else:
        assert proc.returncode == (0 if how == "baseline" else 1)
        assert "pipe.py" in (tmp_path / "base.json").read_text() if how == "baseline" else proc.stdout


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX") or not os.path.exists("/dev/null"), reason="POSIX")
def test_devices_and_sockets_are_refused(tmp_path: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(tmp_path / "sock.py"))
        write(tmp_path, "z_leak.py", LEAK)
        proc = check("--no-cache", "/dev/null", "sock.py", "z_leak.py", cwd=tmp_path, timeout=30)
    finally:
        server.close()
    assert proc.returncode == 1
    assert "/dev/null:1:1: LL900 file is a character device, not a regular file" in proc.stdout
    assert "sock.py:1:1: LL900 file is a socket, not a regular file" in proc.stdout
    assert "z_leak.py:2:9: LL100" in proc.stdout


@pytest.mark.parametrize("shape", ["two links", "a link to itself"])
def test_a_symlink_loop_named_explicitly(tmp_path: Path, shape: str) -> None:
    if shape == "two links":
        (tmp_path / "a.py").symlink_to("b.py")
        (tmp_path / "b.py").symlink_to("a.py")
    else:
        (tmp_path / "a.py").symlink_to("a.py")
    write(tmp_path, "z_leak.py", LEAK)
    proc = check("--no-cache", "a.py", "z_leak.py", cwd=tmp_path, timeout=30)
    assert proc.returncode == 1
    assert codes(proc) == [("a.py", 1, "LL900"), ("z_leak.py", 2, "LL100")]
    assert "a.py:1:1: LL900 file is a symlink loop" in proc.stdout


def test_a_20_mb_generated_file_is_refused_quickly(tmp_path: Path) -> None:
    """libcst holds ~0.6 GB per MB of such code: analysing 20 MB would take minutes and
    more memory than a CI machine has. The file is not even read."""
    _generate(tmp_path / "huge.py", 20 * 2**20)
    write(tmp_path, "z_leak.py", LEAK)
    started = time.monotonic()
    proc = check("--no-cache", "huge.py", "z_leak.py", cwd=tmp_path)
    assert time.monotonic() - started < 30
    assert proc.returncode == 1
    assert codes(proc) == [("huge.py", 1, "LL900"), ("z_leak.py", 2, "LL100")]
    assert SPECIAL["huge.py"] in proc.stdout


def test_the_size_limit_is_configurable(tmp_path: Path) -> None:
    _generate(tmp_path / "big.py", 2 * 2**20)
    write(tmp_path, "pyproject.toml", "[tool.leaklint]\nmax-file-size-mb = 1\n")
    proc = check("--no-cache", "big.py", cwd=tmp_path)
    assert codes(proc) == [("big.py", 1, "LL900")]
    assert "the limit is 1 MB" in proc.stdout
    write(tmp_path, "pyproject.toml", "[tool.leaklint]\nmax-file-size-mb = 0\n")
    proc = check("--no-cache", "big.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert "'max-file-size-mb' must be a whole number, 1 or more" in proc.stderr


#: Code CPython warns about (SyntaxWarning; DeprecationWarning before 3.12), with a fix.
WARNS = 'def f(p):\n    same = p is 1\n    return open(p).read() + "\\d"\n'


@pytest.mark.parametrize("fix", [False, True], ids=["check", "fix"])
def test_the_checked_files_warnings_are_not_printed_nor_errors_under_w_error(
    tmp_path: Path, fix: bool
) -> None:
    """A CI job with PYTHONWARNINGS=error made such a file LL900 "syntax error", and --fix
    printed its SyntaxWarning; they are the file's business."""
    write(tmp_path, "warns.py", WARNS)
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    proc = subprocess.run(
        [sys.executable, "-m", "leaklint", "check", "--no-cache", *(["--fix"] if fix else []), "warns.py"],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=60,
    )
    if fix:
        assert proc.returncode == 0
        assert proc.stderr == "leaklint: fixed 1 finding (LL102: 1) in 1 file, 0 remaining\n"
        assert "with open(p) as f2:" in (tmp_path / "warns.py").read_text()
    else:
        assert (proc.returncode, codes(proc), proc.stderr) == (1, [("warns.py", 3, "LL102")], "")


# --- internal errors: one rule's bug costs one LL900 line, never the run -------------------

#: Runs the CLI with LL101's message raising, as a bug in that one rule would.
BROKEN_RULE = """\
import sys
from unittest import mock
from leaklint.cli import main
from leaklint.rules.base import PathRule

real = PathRule.message

def message(self, leak, line_of):
    if self.code == "LL101":
        raise RuntimeError("boom")
    return real(self, leak, line_of)

with mock.patch.object(PathRule, "message", message):
    main(["check", "--no-cache", "-j", "1", *sys.argv[1:]], prog_name="leaklint")
"""


def _broken(tmp_path: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )


def test_an_exception_in_one_rule_is_one_ll900_line_and_the_rest_still_runs(
    tmp_path: Path,
) -> None:
    write(tmp_path, "three.py", THREE_RULES)
    write(tmp_path, "z_leak.py", LEAK)
    proc = _broken(tmp_path, BROKEN_RULE, "three.py", "z_leak.py")
    assert proc.returncode == 2
    # LL100 and LL102 of the same file still reported, and the other file still checked
    assert codes(proc) == [
        ("three.py", 2, "LL100"),
        ("three.py", 6, "LL900"),
        ("three.py", 12, "LL102"),
        ("z_leak.py", 2, "LL100"),
    ]
    assert (
        "three.py:6:9: LL900 internal error in rule LL101 (release-not-in-finally): "
        "RuntimeError: boom"
    ) in proc.stdout
    assert "--debug" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    debug = _broken(tmp_path, BROKEN_RULE, "--debug", "three.py", "z_leak.py")
    assert debug.returncode == 2
    assert debug.stdout == proc.stdout
    assert "leaklint: internal error on three.py:\nTraceback" in debug.stderr
    assert 'in message\nRuntimeError: boom' in debug.stderr



#: Runs the CLI with the fix for LL102 raising.
BROKEN_FIX = """\
import sys
from unittest import mock
from leaklint.cli import main
from leaklint.fixes import apply

real = apply.plan

def plan(code, *args):
    if code == "LL102":
        raise RuntimeError("boom")
    return real(code, *args)

with mock.patch.object(apply, "plan", plan):
    main(["check", "--no-cache", "-j", "1", *sys.argv[1:]], prog_name="leaklint")
"""


def test_an_exception_in_a_fix_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    broken = write(tmp_path, "unbound.py", "def f(p):\n    return open(p).read()\n")
    fine = write(tmp_path, "z_fine.py", "def g(p):\n    f = open(p)\n    f.read()\n    f.close()\n")
    before = broken.read_bytes()
    proc = _broken(tmp_path, BROKEN_FIX, "--fix", "unbound.py", "z_fine.py")
    assert proc.returncode == 2
    assert broken.read_bytes() == before
    assert b"with open(p) as f:" in fine.read_bytes()  # the other file was still fixed
    assert (
        "leaklint: unbound.py: internal error in the fix for LL102: RuntimeError: boom; "
        "the file is left as it was"
    ) in proc.stderr
    assert codes(proc) == [("unbound.py", 2, "LL102")]
    assert "Traceback" not in proc.stdout + proc.stderr
    debug = _broken(tmp_path, BROKEN_FIX, "--fix", "--debug", "unbound.py")
    assert debug.returncode == 2 and 'in plan\nRuntimeError: boom' in debug.stderr


# --- the cache: damaged, foreign, read-only, shared; never a traceback, never a wrong answer


def _project(root: Path, files: int = 24) -> Path:
    """Enough files for worker processes; each imports a helper factory, so summaries and
    results both go through the cache."""
    write(root, "helpers.py", "def get(path):\n    return open(path)\n")
    for i in range(files):
        write(
            root,
            f"pkg/m{i:02}.py",
            f"from helpers import get\n\ndef read{i}(p):\n    f = get(p)\n    return f.read()\n\n"
            f"def copy{i}(p):\n    return open(p).read()\n",
        )
    return root


def _entries(cache: Path) -> list[Path]:
    """Every entry: the summaries, the results, and the run's manifest and project."""
    kinds = ("facts", "results", "manifest", "project")
    return [p for kind in kinds if (cache / kind).is_dir() for p in (cache / kind).iterdir()]


@pytest.mark.parametrize("damage", ["truncated", "flipped", "empty", "garbage", "a folder"])
def test_a_damaged_cache_is_a_miss(tmp_path: Path, damage: str) -> None:
    root = _project(tmp_path / "p")
    expected = check("--no-cache", ".", cwd=root)
    assert expected.returncode == 1
    assert check(".", cwd=root).stdout == expected.stdout  # fills .leaklint_cache
    entries = _entries(root / ".leaklint_cache")
    assert len(entries) >= 2 * 25
    for entry in entries:
        data = entry.read_bytes()
        if damage == "a folder":
            entry.unlink()
            entry.mkdir()
            continue
        entry.write_bytes(
            {
                "truncated": data[: len(data) // 2],
                "flipped": data[:-1] + bytes([data[-1] ^ 0xFF]),
                "empty": b"",
                "garbage": os.urandom(len(data)),
            }[damage]
        )
    again = check(".", cwd=root)
    assert (again.returncode, again.stdout, again.stderr) == (1, expected.stdout, "")
    assert check(".", cwd=root).stdout == expected.stdout


#: A leaklint of another version fills the cache: one that found nothing at all.
OTHER_VERSION = """\
import sys
from unittest import mock
import leaklint.cache
from leaklint.cli import main

leaklint.cache.__version__ = "0.0.1-other"
with mock.patch("leaklint.core.analyse_module", return_value=[]):
    main(["check", *sys.argv[1:]], prog_name="leaklint")
"""


def test_a_cache_written_by_another_version_is_not_used(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    expected = check("--no-cache", ".", cwd=root)
    other = subprocess.run(
        [sys.executable, "-c", OTHER_VERSION, "."],
        cwd=root, capture_output=True, text=True, timeout=120,
    )
    assert (other.returncode, other.stdout) == (0, "")
    assert _entries(root / ".leaklint_cache")
    proc = check(".", cwd=root)
    assert (proc.returncode, proc.stdout) == (1, expected.stdout)


class _Planted:
    """An entry whose unpickling creates ``path``: what a repository could ship in its
    ``.leaklint_cache/`` to run code on whoever checks it."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.path, "w"))


def test_a_planted_cache_entry_is_never_unpickled(tmp_path: Path) -> None:
    """The attacker knows the format and every key (leaklint's sources are public); only
    the user's own secret, kept outside the project, is missing."""
    root = _project(tmp_path / "p")
    expected = check("--no-cache", ".", cwd=root)
    check(".", cwd=root)
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Planted(str(marker)))
    for entry in _entries(root / ".leaklint_cache"):
        magic = entry.read_bytes()[:4]
        entry.write_bytes(magic + hashlib.blake2b(payload, digest_size=16).digest() + payload)
    proc = check(".", cwd=root)
    assert not marker.exists()
    assert (proc.returncode, proc.stdout) == (1, expected.stdout)


def _freeze(folder: Path) -> bool:
    """Make ``folder`` and everything in it read-only, even for root (``chattr +i``);
    False if this machine cannot."""
    if os.geteuid() != 0:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o555 if path.is_dir() else 0o444)
        return True
    if shutil.which("chattr") is None:
        return False
    return subprocess.run(["chattr", "-R", "+i", str(folder)], capture_output=True).returncode == 0


def _thaw(folder: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-R", "-i", str(folder)], capture_output=True)
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
@pytest.mark.parametrize("state", ["filled", "empty"])
def test_a_read_only_cache_folder(tmp_path: Path, state: str) -> None:
    """Filled: its entries are still read, nothing is written. Empty: the run is uncached."""
    root = _project(tmp_path / "p")
    expected = check("--no-cache", ".", cwd=root)
    cache = root / ".leaklint_cache"
    if state == "filled":
        check(".", cwd=root)
    else:
        cache.mkdir()
    before = sorted(p.relative_to(cache) for p in cache.rglob("*"))
    if not _freeze(cache):
        pytest.skip("cannot make a folder read-only for root here")
    try:
        proc = check(".", cwd=root)
        after = sorted(p.relative_to(cache) for p in cache.rglob("*"))
    finally:
        _thaw(cache)
    assert (proc.returncode, proc.stdout, proc.stderr) == (1, expected.stdout, "")
    assert after == before


def test_two_runs_at_once_on_one_tree(tmp_path: Path) -> None:
    """As pre-commit and an editor do: both cold, both writing the same cache folder."""
    root = _project(tmp_path / "p", files=60)
    expected = check("--no-cache", ".", cwd=root)
    for _ in range(2):  # cold, then warm with one file changed
        both = [
            subprocess.Popen(
                [sys.executable, "-m", "leaklint", "check", "."],
                cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            for _ in range(2)
        ]
        outputs = [process.communicate(timeout=120) for process in both]
        assert [p.returncode for p in both] == [1, 1]
        assert [out for out, _ in outputs] == [expected.stdout] * 2
        assert [err for _, err in outputs] == ["", ""]
        write(root, "pkg/m00.py", (root / "pkg/m00.py").read_text() + "\n# edited\n")
        expected = check("--no-cache", ".", cwd=root)
    leftovers = [p for p in (root / ".leaklint_cache").rglob(".tmp-*")]
    assert leftovers == []


# --- --fix killed mid-run: every file old or new, never half-written ---------------------


def _fixable(root: Path, files: int) -> dict[str, bytes]:
    for i in range(files):
        write(
            root,
            f"m{i:03}.py",
            f"import json\n\n\ndef load{i}(p):\n    return json.load(open(p))  # keep me\n\n\n"
            f"def read{i}(p):\n    f = open(p)\n    data = f.read()\n    f.close()\n    return data\n",
        )
    return {path.name: path.read_bytes() for path in root.glob("*.py")}


#: The CLI with 50 ms before each file it writes, so that a kill lands mid-run however
#: busy the machine is (each write itself is the real one).
PACED = """\
import sys
import time
import leaklint.fixes
from leaklint.cli import main

real = leaklint.fixes.write_atomic

def write_atomic(path, data, *was):
    time.sleep(0.05)
    real(path, data, *was)

leaklint.fixes.write_atomic = write_atomic
main(sys.argv[1:], prog_name="leaklint")
"""


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals")
def test_fix_killed_with_sigkill_leaves_every_file_old_or_new(tmp_path: Path) -> None:
    files = 80
    old = _fixable(tmp_path / "killed", files)
    _fixable(tmp_path / "whole", files)
    arguments = ["check", "--no-cache", "--fix", "."]
    # the reference: the same files fixed by a run that is left alone (at the same time)
    whole = subprocess.Popen([sys.executable, "-m", "leaklint", *arguments],
                             cwd=tmp_path / "whole", stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    killed = subprocess.Popen([sys.executable, "-c", PACED, *arguments],
                              cwd=tmp_path / "killed", stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    changed: list[str] = []
    while not changed and killed.poll() is None and time.monotonic() < deadline:
        changed = [n for n in old if (tmp_path / "killed" / n).stat().st_size != len(old[n])]
    killed.send_signal(signal.SIGKILL)  # as soon as the first file is written
    killed.wait(timeout=30)
    assert whole.wait(timeout=120) == 0  # all fixed
    new = {name: (tmp_path / "whole" / name).read_bytes() for name in old}
    assert all(new[name] != old[name] for name in old)
    state = {name: (tmp_path / "killed" / name).read_bytes() for name in old}
    assert all(state[name] in (old[name], new[name]) for name in old)
    fixed = [name for name in old if state[name] == new[name]]
    assert 0 < len(fixed) < files, "the kill was meant to land mid-run"
    for name in fixed:
        ast.parse(state[name])
    # what may be left: the one temporary file that was being written, never a .py
    litter = [p.name for p in (tmp_path / "killed").iterdir() if p.name not in old]
    assert len(litter) <= 1 and all(n.startswith(".leaklint-") and n.endswith(".tmp") for n in litter)


# --- security: the checked code is read, never imported or run ----------------------------

#: Importing or running any of these writes a file named after it into ``MARKERS``.
PLANTED = {
    "evil.py": "leaky",
    "conftest.py": "",
    "setup.py": "",
    "sitecustomize.py": "",
    "__main__.py": "",
    "pkg/__init__.py": "",
    "pkg/plugin.py": "leaky",
    # a module named like one leaklint itself imports: cwd is on sys.path under `python -m`
    "click.py": "",
}


def _plant(root: Path, markers: Path) -> None:
    for name, extra in PLANTED.items():
        marker = markers / name.replace("/", "_")
        body = f"open({str(marker)!r}, 'w').write('ran')\nimport evil\nfrom pkg import plugin\n"
        if extra:
            body += "\n\ndef load(p):\n    return open(p).read()\n"  # a fixable leak
        write(root, name, body)
    write(root, "main.py", "import evil\nimport setup\n\ndef f(p):\n    g = evil.load(p)\n")


@pytest.mark.parametrize(
    "how",
    [
        "check",
        "fix",
        pytest.param(
            "python -m",
            marks=pytest.mark.skipif(sys.version_info < (3, 11), reason="python -P is 3.11+"),
        ),
    ],
)
def test_the_checked_code_is_never_imported_or_run(tmp_path: Path, how: str) -> None:
    root, markers = tmp_path / "project", tmp_path / "markers"
    markers.mkdir()
    _plant(root, markers)
    script = Path(sys.executable).with_name("leaklint")
    command = {
        "check": [str(script), "check", "."],
        "fix": [str(script), "check", "--fix", "--unsafe-fixes", "."],
        # python -P: without it Python itself puts the folder on sys.path and imports its
        # click.py before leaklint runs a line (as it would for python -m pytest or flake8)
        "python -m": [sys.executable, "-P", "-m", "leaklint", "check", "--fix", "."],
    }[how]
    proc = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in markers.iterdir()) == []
    if how != "check":
        assert "with open(p) as f" in (root / "evil.py").read_text()  # it did fix them


def test_config_values_are_data_never_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    code = f"__import__('os').system('touch {marker}')"
    write(tmp_path, "z_leak.py", LEAK)
    for table in (
        f'select = ["{code}"]',
        f'exclude = ["{code}"]\nper-file-ignores = {{ "{code}" = ["LL100"] }}',
        f'[tool.leaklint.resources."{code}"]\nrelease = ["{code}"]',
    ):
        write(tmp_path, "pyproject.toml", "[tool.leaklint]\n" + table + "\n")
        proc = check("--no-cache", "z_leak.py", cwd=tmp_path)
        assert proc.returncode in (1, 2)
        assert not marker.exists()


#: Calls that run code: anywhere. Loaders that can run code (pickle, marshal, yaml): only
#: where named in ``ALLOWED``. Data loaders (json, tomllib) are fine.
RUNS_CODE = {"eval", "exec", "__import__", "import_module", "run_path", "run_module"}
CODE_LOADERS = ("pickle.", "marshal.", "yaml.", "dill.", "shelve.")
LOADS = {"load", "loads", "Unpickler", "open", "unsafe_load"}
ALLOWED = {("cache.py", "pickle.loads")}  # keyed entries only: test_a_planted_cache_entry_...


def test_leaklint_never_evals_execs_or_imports_what_it_reads() -> None:
    """A grep, by the AST, over leaklint's sources: config values and checked code are data.
    (pytest_plugin.py is the runtime confirmation: it runs inside the user's own pytest.)"""
    package = Path(__file__).resolve().parent.parent / "leaklint"
    found = set()
    for path in sorted(package.rglob("*.py")):
        if path.name == "pytest_plugin.py":
            continue
        for node in ast.walk(ast.parse(path.read_bytes())):
            if not isinstance(node, ast.Call):
                continue
            func = ast.unparse(node.func)
            name = func.rsplit(".", 1)[-1]
            if name in RUNS_CODE or (func.startswith(CODE_LOADERS) and name in LOADS):
                found.add((path.name, func))
    assert found <= ALLOWED, found - ALLOWED


def test_output_goes_only_where_the_user_said(tmp_path: Path) -> None:
    """A check writes its report to -o and its cache to .leaklint_cache; nothing else,
    never beside the checked files."""
    root = _project(tmp_path / "p", files=3)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    proc = check("-o", str(tmp_path / "report.txt"), ".", cwd=root)
    assert proc.returncode == 1 and proc.stdout == ""
    after = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    new = {p.relative_to(root).parts[0] for p in set(after) - set(before)}
    assert new == {".leaklint_cache"}
    assert all(after[p] == data for p, data in before.items())
    assert "LL100" in (tmp_path / "report.txt").read_text()


# --- fuzzing: bounded here (about 30 s together); tests/fuzz/run.py runs for as long as it is let ---

def _budget(examples: int) -> settings:
    """No deadline (a first libcst parse is slow): the budget is the number of examples."""
    return settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )


@pytest.mark.filterwarnings("ignore::SyntaxWarning")  # hypothesmith compiles what it makes
@_budget(30)
@given(st.randoms(use_true_random=False))
def test_fuzz_resource_modules(rng: object) -> None:
    """Modules full of acquisitions, releases, hand-overs and fixable shapes: no internal
    error, and every fix parses and is idempotent."""
    source = resource_module(rng).encode()  # type: ignore[arg-type]
    assert problems(source) == [], source.decode()


@pytest.mark.filterwarnings("ignore::SyntaxWarning")
@_budget(120)
@given(st.randoms(use_true_random=False))
def test_fuzz_mutated_fixtures(rng: object) -> None:
    name, source = mutated_fixture(rng)  # type: ignore[arg-type]
    assert problems(source, name) == [], source.decode("utf-8", "replace")


@pytest.mark.filterwarnings("ignore::SyntaxWarning")
@_budget(80)
@given(hypothesmith.from_grammar())
def test_fuzz_any_valid_python(source: str) -> None:
    assert problems(source.encode("utf-8", "surrogatepass")) == [], source


def test_every_row_of_the_readme_robustness_table_names_a_test_that_exists() -> None:
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text("utf-8")
    table = readme.split("## Robustness", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) >= 30
    defined = {
        match
        for path in (root / "tests").glob("test_*.py")
        for match in re.findall(r"^def (test_\w+)", path.read_text("utf-8"), flags=re.MULTILINE)
    }
    for row in rows:
        named = re.findall(r"`((?:test_\w+|\.\.\.)(?:\[[^\]]+\])?)`", row.rsplit("|", 2)[1])
        assert named, f"a row without a test: {row}"
        for name in named:
            function, _, param = name.partition("[")
            if function != "...":
                assert function in defined, name
            param = param.rstrip("]")
            if param and "*" not in param:
                assert param in MESSAGES, name
