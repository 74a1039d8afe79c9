"""LL101 where a `with` does not fit: the release moves into a finally."""

import json


def count_then_report(path):
    f = open(path)
    try:
        lines = f.readlines()
    finally:
        f.close()
    print(f.closed)  # used after the close: a with would change this, try/finally does not
    return len(lines)


def load(path):
    with open(path, encoding="utf-8") as stream:
        # the settings
        settings = json.load(stream)
    return settings


def early_exit(path):
    f = open(path)
    try:
        if not f.readline():
            return None  # leaked here: the finally now closes it on this path too
        data = f.read()
    finally:
        f.close()
    print(f.closed)
    return data
