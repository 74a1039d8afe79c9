"""Several files of one function whose closes do not nest, and a list of files closed in a
loop: contextlib.ExitStack, the closes kept where they were (safe)."""

import json


def copy(src_path, dst_path):
    # the source is closed before the destination: a `with` around it would end too early
    src = open(src_path)
    dst = open(dst_path, "w")
    dst.write(src.read())
    src.close()
    dst.close()


def merge(paths):
    files = [open(p) for p in paths]
    data = [json.load(f) for f in files]
    for f in files:
        f.close()
    return data


def three(a, b, c):
    x = open(a)
    y = open(b)
    z = open(c)
    text = x.read() + y.read() + z.read()
    x.close()
    y.close()
    z.close()
    return text
