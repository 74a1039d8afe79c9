"""Several files of one function whose closes do not nest, and a list of files closed in a
loop: contextlib.ExitStack, the closes kept where they were (safe)."""

import contextlib
import json


def copy(src_path, dst_path):
    # the source is closed before the destination: a `with` around it would end too early
    with contextlib.ExitStack() as stack:
        src = stack.enter_context(open(src_path))
        dst = stack.enter_context(open(dst_path, "w"))
        dst.write(src.read())
        src.close()
        dst.close()


def merge(paths):
    with contextlib.ExitStack() as stack:
        files = [stack.enter_context(open(p)) for p in paths]
        data = [json.load(f) for f in files]
        for f in files:
            f.close()
    return data


def three(a, b, c):
    with contextlib.ExitStack() as stack:
        x = stack.enter_context(open(a))
        y = stack.enter_context(open(b))
        z = stack.enter_context(open(c))
        text = x.read() + y.read() + z.read()
        x.close()
        y.close()
        z.close()
    return text
