"""An ExitStack whose files are passed to a function in between: the fix cannot see what
it keeps of them, and after an error it would find them closed (unsafe)."""

import shutil


def copy(src_path, dst_path):
    src = open(src_path, "rb")
    dst = open(dst_path, "wb")
    shutil.copyfileobj(src, dst)
    src.close()
    dst.close()
