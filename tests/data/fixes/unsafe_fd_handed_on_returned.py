"""Descriptors handed on where they did not leak (issue 24 item 4: ptyprocess's tests all
failed after a fix closed the descriptor fork_pty returns, and closed twice one the child
branch closes): an os.close() in a finally would do that; only an except that re-raises
may close them, and not where a branch closes them already."""

import os


def fork_pty():
    # closed in one branch, returned in the other: no fix
    parent_fd, child_fd = os.openpty()
    if parent_fd < 0 or child_fd < 0:
        raise OSError("os.openpty() failed")
    pid = os.fork()
    if pid == 0:
        os.close(parent_fd)
        os.dup2(child_fd, 0)
    else:
        os.close(child_fd)
    return pid, parent_fd


def filled_pipe(data):
    # the read end is returned: closed only when the write fails
    read_end, write_end = os.pipe()
    os.write(write_end, data)
    os.close(write_end)
    return read_end
