"""Runnable: LL102 and LL100 leaks that warn under python -X dev, and their fixes that do not."""

import sys


def read_all(path):
    with open(path) as f:
        data = f.read()
    return data


def first_line(path):
    with open(path) as f:
        if not path.endswith(".txt"):
            return None
        line = f.readline()
    return line


if __name__ == "__main__":
    print(read_all(sys.argv[1]).splitlines())
    print(first_line(sys.argv[1]))
