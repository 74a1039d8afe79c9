"""LL101 fixed only with --unsafe-fixes: the release can block on the error path."""

import subprocess
import sys


def run_child():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    print(proc.args)
    proc.wait()
    return proc.returncode
