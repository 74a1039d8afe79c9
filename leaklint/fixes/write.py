"""Writing a fixed file back without losing anything: not an edit made while leaklint ran,
not the file's owner, group, mode or extended attributes, not a hard link, and never a
half-written file or a temporary file that outlives its run.

How a file is written (``write_atomic``):

1. ``Snapshot``: before the fix read the file, its size, mtime, inode and device were
   taken; the bytes it read are the fix's source.
2. The new content goes to an anonymous file in the same folder (``O_TMPFILE``: it has no
   name, so a run killed even by SIGKILL leaves nothing behind), given the file's owner and
   group, extended attributes (ACLs included) and mode, then flushed to disk. Anything that
   cannot be kept (another user's file when not root, an attribute that cannot be set) makes
   the file be skipped, with one line saying why.
3. The file is checked again: same inode, size and mtime, one link, and the very bytes the
   fix read. If not, it changed while leaklint ran: it is skipped and said so.
4. The anonymous file gets a name (``.leaklint-<pid>-<random>.tmp``) and is exchanged with
   the file in one step (``renameat2(RENAME_EXCHANGE)``), so what was at the path comes back
   under the temporary name: if that is not the inode checked in 3, unchanged, an editor
   replaced or wrote the file between 3 and 4, and the exchange is undone. Otherwise the old
   content is unlinked. Where the exchange is not available (not Linux, a filesystem without
   it), ``os.replace`` follows the check of 3 directly: the window is a few microseconds.
5. On any error, KeyboardInterrupt or SystemExit (SIGINT, and SIGTERM when the CLI turns it
   into an exit) the named temporary file is removed before the exception goes on.

A temporary file can outlive its run only when the process is SIGKILLed in the microseconds
between 4's naming and its unlink. Its name holds the writer's pid: ``remove_stale_temps``
(called by ``fix_paths`` for the folders of every run that fixes) removes those whose writer
is no longer running. A file name that does not match the pattern exactly is never touched.

A file with several hard links is refused, not written in place: an in-place write is not
atomic (a kill mid-write would leave every link half-written), and replacing one link would
silently split it from the others.
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import secrets
import stat
from dataclasses import dataclass

from leaklint.files import NotReadable, read_file

#: The name of a temporary file of a run: the writer's pid, then a random token.
TEMP_NAME = re.compile(r"\.leaklint-(?P<pid>[0-9]+)-[0-9a-f]{16}\.tmp")

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class WriteError(Exception):
    """The fixed file could not be written; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the fix read: the bytes, and the file's identity and state before reading."""

    data: bytes
    size: int
    mtime_ns: int
    inode: int
    device: int

    @classmethod
    def read(cls, path: str, limit: int | None) -> Snapshot:
        """Stat then read ``path`` (``NotReadable`` as ``read_file``): a change after the
        stat shows as a different state when the file is written."""
        try:
            info = os.stat(path)
        except OSError as err:
            raise NotReadable(f"cannot be read: {err.strerror or err}") from None
        data = read_file(path, limit)
        return cls(data, info.st_size, info.st_mtime_ns, info.st_ino, info.st_dev)

    def matches(self, info: os.stat_result) -> bool:
        return (info.st_size, info.st_mtime_ns, info.st_ino, info.st_dev) == (
            self.size, self.mtime_ns, self.inode, self.device
        )


_CHANGED = "changed since leaklint read it: not fixed (its findings are those of the old content)"


def write_atomic(path: str, data: bytes, was: Snapshot | None) -> None:
    """Replace ``path``'s content with ``data`` if it still is what ``was`` read (see the
    module's docstring). A symlink's target is written, not the link. ``WriteError``: the
    file was left as it is, for the reason its message gives."""
    if was is None:
        raise WriteError("was not read by the fix: not fixed")
    real = os.path.realpath(path)
    try:
        info = os.stat(real)
    except OSError as err:
        raise WriteError(f"cannot be written: {err.strerror or err}") from None
    mode = stat.S_IMODE(info.st_mode)
    # the write bits too: root may write anything, but a file made read-only means "keep"
    if not os.access(real, os.W_OK) or not mode & 0o222:
        raise WriteError("is read-only: not fixed")
    _refuse_links(info)
    if not was.matches(info):
        raise WriteError(_CHANGED)
    folder = os.path.dirname(real) or "."
    fd, temp = _new_file(folder)
    try:
        _fill(fd, data, real, info)
        checked = _check(real, was)  # an open descriptor of the file as checked
        try:
            temp = _name(fd, folder, temp)
            _swap(temp, real, checked, was)
        finally:
            os.close(checked)
    except BaseException:
        if temp is not None:
            _unlink(temp)
        raise
    finally:
        os.close(fd)


def _refuse_links(info: os.stat_result) -> None:
    if info.st_nlink > 1:
        raise WriteError(
            f"has {info.st_nlink} hard links: not fixed (replacing it would split it from the "
            "others; writing it in place is not atomic). `--diff` shows the fix"
        )


def _new_file(folder: str) -> tuple[int, str | None]:
    """A file to write the new content to, in ``folder``: anonymous where the system can
    (the name is None), else named."""
    tmpfile = getattr(os, "O_TMPFILE", 0)
    if tmpfile:
        try:
            return os.open(folder, tmpfile | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0), 0o600), None
        except OSError as err:
            if err.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
                raise WriteError(f"cannot be written (its folder: {err.strerror or err}): not fixed") from None
    temp = _temp_name(folder)
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        return os.open(temp, flags | getattr(os, "O_BINARY", 0), 0o600), temp
    except OSError as err:
        raise WriteError(f"cannot be written (its folder: {err.strerror or err}): not fixed") from None


def _temp_name(folder: str) -> str:
    return os.path.join(folder, f".leaklint-{os.getpid()}-{secrets.token_hex(8)}.tmp")


def _fill(fd: int, data: bytes, real: str, info: os.stat_result) -> None:
    """Write ``data`` to ``fd`` and give it the owner, group, extended attributes and mode
    of the file (``info``), then flush it to disk."""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        mine = os.fstat(fd)
        if (mine.st_uid, mine.st_gid) != (info.st_uid, info.st_gid):
            try:
                os.fchown(fd, info.st_uid, info.st_gid)
            except PermissionError:
                raise WriteError(
                    f"is owned by uid {info.st_uid}, gid {info.st_gid}, which this user cannot "
                    "give a file: not fixed (replacing it would change its owner)"
                ) from None
        _copy_xattrs(real, fd)
        os.fchmod(fd, stat.S_IMODE(info.st_mode))  # after chown, which clears set-id bits
        os.fsync(fd)
    except OSError as err:
        raise WriteError(f"cannot be written: {err.strerror or err}: not fixed") from None


def _copy_xattrs(real: str, fd: int) -> None:
    if not hasattr(os, "listxattr"):
        return
    try:
        names = os.listxattr(real)
    except OSError as err:
        if err.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            return
        raise
    for name in names:
        try:
            os.setxattr(fd, name, os.getxattr(real, name))
        except OSError as err:
            raise WriteError(
                f"has an extended attribute that cannot be kept ({name}: "
                f"{err.strerror or err}): not fixed"
            ) from None


def _check(real: str, was: Snapshot) -> int:
    """An open descriptor of ``real`` if it still is what ``was`` read, else ``WriteError``."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(real, flags | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        raise WriteError(_CHANGED) from None
    try:
        info = os.fstat(fd)
        _refuse_links(info)
        if not stat.S_ISREG(info.st_mode) or not was.matches(info):
            raise WriteError(_CHANGED)
        with open(fd, "rb", closefd=False) as f:
            if f.read(len(was.data) + 1) != was.data:
                raise WriteError(_CHANGED)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _name(fd: int, folder: str, temp: str | None) -> str:
    """Give the anonymous file ``fd`` a name in ``folder`` (it has one already if ``temp``)."""
    if temp is not None:
        return temp
    temp = _temp_name(folder)
    try:
        # a directory descriptor makes os.link call linkat(AT_SYMLINK_FOLLOW): plain link()
        # would link the /proc symlink itself
        where = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.link(f"/proc/self/fd/{fd}", os.path.basename(temp), src_dir_fd=where,
                    dst_dir_fd=where, follow_symlinks=True)
        finally:
            os.close(where)
    except OSError as err:
        raise WriteError(f"cannot be written: {err.strerror or err}: not fixed") from None
    return temp


def _swap(temp: str, real: str, checked: int, was: Snapshot) -> None:
    """Put ``temp`` at ``real``; the file there must be the one open as ``checked``,
    unchanged since the check."""
    try:
        exchanged = _exchange(temp, real)
        if not exchanged:
            os.replace(temp, real)
            return
        old = os.lstat(temp)  # what was at the path a moment ago
        now = os.fstat(checked)
        if (old.st_dev, old.st_ino) != (now.st_dev, now.st_ino) or not was.matches(now):
            _exchange(temp, real)  # put it back: it was replaced or written meanwhile
            raise WriteError(_CHANGED)
    except OSError as err:
        raise WriteError(f"cannot be written: {err.strerror or err}: not fixed") from None
    _unlink(temp)


def _exchange(one: str, other: str) -> bool:
    """Swap two paths in one step (Linux ``renameat2``); False where that is unavailable."""
    function = getattr(_libc(), "renameat2", None)
    if function is None:
        return False
    done = function(_AT_FDCWD, os.fsencode(one), _AT_FDCWD, os.fsencode(other), _RENAME_EXCHANGE)
    if done == 0:
        return True
    number = ctypes.get_errno()
    if number in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False  # this kernel or filesystem cannot exchange
    raise OSError(number, os.strerror(number))


_LIBC: list[object] = []


def _libc() -> object:
    if not _LIBC:
        try:
            _LIBC.append(ctypes.CDLL(None, use_errno=True))
        except OSError:  # no C library to load (not a POSIX system)
            _LIBC.append(None)
    return _LIBC[0]


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def remove_stale_temps(folders: set[str]) -> int:
    """Remove the temporary files of runs that are no longer running (SIGKILLed at the one
    moment a named one exists) from ``folders``; how many were removed."""
    removed = 0
    for folder in sorted(folders):
        try:
            names = [n for n in os.listdir(folder) if n.startswith(".leaklint-")]
        except OSError:
            continue
        for name in names:
            match = TEMP_NAME.fullmatch(name)
            if match is None or _running(int(match["pid"])):
                continue
            path = os.path.join(folder, name)
            try:
                if stat.S_ISREG(os.lstat(path).st_mode):
                    os.unlink(path)
                    removed += 1
            except OSError:
                pass
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # Windows' os.kill(pid, 0) would end it
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # another user's process, or cannot tell: leave its file alone
    return True
