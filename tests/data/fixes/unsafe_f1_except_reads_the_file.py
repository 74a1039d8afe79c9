"""Issue 24's F1: the try/finally form would close the file before the `except` that reads
it again. Offered only as unsafe, and --show-fixes says why."""
import json


def load4(p):
    try:
        f = open(p)
        data = json.load(f)
        f.close()
    except ValueError:
        f.seek(0)
        data = f.read()
    return data


def load5(p):
    # the same with nothing reading `f` after the error: safe
    try:
        f = open(p)
        data = json.load(f)
        f.close()
    except ValueError:
        data = None
    return data
