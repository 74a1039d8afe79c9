"""LL102: a resource used in one expression, never bound."""

import json
import subprocess
import sys


def read_all(path):
    # read it all
    data = open(path).read()  # the whole file
    return data


def load(path, f):
    return json.load(open(path))


def dropped_process():
    subprocess.Popen([sys.executable, "-c", "pass"])  # waits if wrapped: no fix


def conditional(path, fallback):
    return fallback or open(path).read()  # only sometimes opened: no fix


def after_a_call(path):
    return len(sys.argv) + len(open(path).read())  # a call runs first: no fix


class Reader:
    def load(self, path):
        self.parse(open(path))  # the method may keep it: no fix

    def parse(self, f):
        self.f = f
