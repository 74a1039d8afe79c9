"""An ExitStack whose file is stored where it outlives the function: whoever holds it finds
it closed after an error, where it used to stay open (unsafe)."""

import shutil


def copy(src_path, dst_path, seen):
    src = open(src_path, "rb")
    dst = open(dst_path, "wb")
    seen[src_path] = src
    shutil.copyfileobj(src, dst)
    src.close()
    dst.close()
