"""An ExitStack whose files are lent to a function in between, their closes where they were:
whatever the function kept of them finds them closed there already, and only an error path
gains the closes (safe)."""

import contextlib
import shutil


def copy(src_path, dst_path):
    with contextlib.ExitStack() as stack:
        src = stack.enter_context(open(src_path, "rb"))
        dst = stack.enter_context(open(dst_path, "wb"))
        shutil.copyfileobj(src, dst)
        src.close()
        dst.close()
