"""Reading the files a run names: regular files only, and never a read that can block.

Every read of a file leaklint checks, reports on or fixes goes through ``read_file``. A
plain ``open()`` of a FIFO waits for a writer forever, and of a device can have effects
of its own (a tape rewinds); so the path is ``stat``-ed first, then opened without
blocking and checked again on the open descriptor (a file swapped for a FIFO between the
two is still refused).
"""

from __future__ import annotations

import errno
import os
import stat

#: What a path is, when it is not a regular file.
_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


class NotReadable(Exception):
    """``path`` is not a readable regular file; the message says why, for an LL900 line
    (``"is a directory"``, ``"is a FIFO, not a regular file"``)."""


def read_file(path: str, limit: int | None = None, *, follow: bool = True) -> bytes:
    """The bytes of ``path``; ``NotReadable`` unless it is a regular file of at most ``limit``
    bytes that can be read. ``follow=False`` refuses a symlink too (``O_NOFOLLOW``): for
    files leaklint wrote itself (cache entries, its key), where a link is always planted.
    Never more than ``limit`` bytes are read, even from a file that grows meanwhile."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        _refuse(os.stat(path) if follow else os.lstat(path), limit)
        fd = os.open(path, flags)
    except OSError as err:
        raise NotReadable(_why(path, err)) from None
    try:
        _refuse(os.fstat(fd), limit)
        with open(fd, "rb", closefd=False) as f:
            data = f.read(-1 if limit is None else limit + 1)
        if limit is not None and len(data) > limit:
            raise NotReadable(_too_large(len(data), limit))  # it grew while being read
        return data
    except OSError as err:
        raise NotReadable(f"cannot be read: {err.strerror or err}") from None
    finally:
        os.close(fd)


def _refuse(info: os.stat_result, limit: int | None) -> None:
    if stat.S_ISLNK(info.st_mode):
        raise NotReadable("is a symlink")
    if stat.S_ISDIR(info.st_mode):
        raise NotReadable("is a directory")
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "a special file")
        raise NotReadable(f"is {kind}, not a regular file")
    if limit is not None and info.st_size > limit:
        raise NotReadable(_too_large(info.st_size, limit))


def _too_large(size: int, limit: int) -> str:
    return (
        f"is too large to analyse ({size / 2**20:.1f} MB; the limit is "
        f"{limit / 2**20:g} MB, max-file-size-mb in [tool.leaklint])"
    )


def _why(path: str, err: OSError) -> str:
    if err.errno == errno.ENOENT:
        return "is a dangling symlink" if os.path.islink(path) else "does not exist"
    if err.errno == errno.ELOOP:
        return "is a symlink loop"
    if err.errno == errno.EISDIR or os.path.isdir(path):
        return "is a directory"
    return f"cannot be read: {err.strerror or err}"
