"""An ExitStack whose files are passed to a function in between: the fix cannot see what
it keeps of them, and after an error it would find them closed (unsafe)."""

import contextlib
import shutil


def copy(src_path, dst_path):
    with contextlib.ExitStack() as stack:
        src = stack.enter_context(open(src_path, "rb"))
        dst = stack.enter_context(open(dst_path, "wb"))
        shutil.copyfileobj(src, dst)
        src.close()
        dst.close()
