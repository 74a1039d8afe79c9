"""Project summaries (issue 23): functions that never return, honest hand-offs to project
callees."""

from __future__ import annotations

from pathlib import Path

from test_ownership import _project

EXITS = '''
import sys
import pytest
from typing import NoReturn


class Module:
    def fail_json(self, msg):
        self.cleanup()
        sys.exit(1)

    def cleanup(self):
        pass


class Sub(Module):
    pass


def die(msg) -> NoReturn:
    print(msg)


def bail(msg):
    if msg:
        raise ValueError(msg)
    else:
        die(msg)


def maybe(msg):
    if msg:
        raise ValueError(msg)


def caught():
    try:
        raise ValueError
    except ValueError:
        pass


def swallowed():
    with pytest.raises(ValueError):
        raise ValueError


def returns_early(x):
    if x:
        return 1
    raise ValueError


def serve():
    while True:
        print(1)


def main():
    module = Sub()
    module.fail_json(msg="x")


def typed(module: Module):
    module.fail_json("x")


def generator():
    yield 1
    raise ValueError
'''


def test_functions_that_never_return(tmp_path: Path) -> None:
    project = _project(tmp_path, {"exits.py": EXITS})
    never = {name.split(".", 1)[1] for name in project.never_returning}
    assert never == {"Module.fail_json", "die", "bail", "serve", "main", "typed"}
    assert project.never_returns("exits.Sub.fail_json")  # through the base class
    assert project.functions["exits.bail"].never_returns
    assert not project.never_returns("exits.Module.cleanup")
    assert project.never_returns("sys.exit")


def test_never_returns_across_modules(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        {
            "errors.py": "import os\ndef abort(msg):\n    os._exit(3)\n",
            "cli.py": "from errors import abort\ndef run(x):\n    abort(x)\n",
        },
    )
    assert project.never_returns("cli.run")


KEEPERS = '''
class FileUpload:
    def __init__(self, fileobj, name):
        self.file = fileobj
        self.name = name

    def save(self, path):
        with open(path, "wb") as out:
            out.write(self.file.read())


class Owner:
    def __init__(self, stream):
        self.stream = stream

    def close(self):
        self.stream.close()


class Base:
    def __init__(self, sock):
        self.sock = sock


class Closing(Base):
    def close(self):
        self.sock.close()


class Reads:
    def __init__(self, fileobj):
        self.header = fileobj.read(4)
'''


def test_a_class_keeps_an_argument_only_where_something_releases_it(tmp_path: Path) -> None:
    project = _project(tmp_path, {"keepers.py": KEEPERS})
    assert project.takes_argument("keepers.FileUpload.__init__", 0, None) is False
    assert project.takes_argument("keepers.FileUpload.__init__", None, "fileobj") is False
    assert project.takes_argument("keepers.Owner.__init__", 0, None) is True
    assert project.takes_argument("keepers.Base.__init__", 0, None) is True  # a subclass closes
    assert project.takes_argument("keepers.Reads.__init__", 0, None) is False


def test_a_release_elsewhere_or_an_unknown_base_keeps_it(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        {
            "a.py": (
                "import socketserver\n"
                "class Handler(socketserver.BaseRequestHandler):\n"
                "    def __init__(self, conn):\n        self.conn = conn\n"
                "class Holder:\n    def __init__(self, f):\n        self.f = f\n"
            ),
            "b.py": "def done(holder):\n    holder.f.close()\n",
        },
    )
    assert project.takes_argument("a.Handler.__init__", 0, None) is True
    assert project.takes_argument("a.Holder.__init__", 0, None) is True


def test_a_tests_folder_without_init_sees_the_projects_package(tmp_path: Path) -> None:
    """A test folder with no ``__init__.py`` is a root of its own; its imports of the project's
    package are found from the folder the run starts in, or its ``src/`` (leakfixes: dask's
    tests, pytest's ``testing/``, a ``src`` layout)."""
    from test_cli import check, codes, write

    helper = "import sqlite3\n\n\ndef connect(p):\n    return sqlite3.connect(p)\n"
    test = (
        "from pkg.db import connect\n\n\ndef test_x(tmp_path):\n"
        "    c = connect(tmp_path / 'x')\n    assert c.execute('select 1')\n"
    )
    for layout in ("flat", "src"):
        base = tmp_path / layout
        package = "src/pkg" if layout == "src" else "pkg"
        write(base, f"{package}/__init__.py", "")
        write(base, f"{package}/db.py", helper)
        write(base, "tests/test_a.py", test)
        proc = check("--no-cache", "--format", "concise", "tests/test_a.py", cwd=base)
        assert codes(proc) == [("tests/test_a.py", 5, "LL100")], proc.stdout


MODULE_KEEPERS = '''
global_broker = None
REGISTRY = []


def set_broker(broker):
    global global_broker
    global_broker = broker


def set_alias(broker):
    global global_broker
    b = broker
    global_broker = b


def register(broker):
    REGISTRY.append(broker)


def show(broker):
    print(broker.name)


def rebinds(broker):
    global global_broker
    global_broker = broker.name
'''


def _first_argument_taken(project, callees: list[str]) -> dict[str, bool | None]:
    return {callee: project.takes_argument(callee, 0, None) for callee in callees}


def test_a_parameter_kept_by_the_module_is_taken(tmp_path: Path) -> None:
    project = _project(tmp_path, {"keepers.py": MODULE_KEEPERS})
    names = ["set_broker", "set_alias", "register", "show", "rebinds"]
    assert _first_argument_taken(project, [f"keepers.{n}" for n in names]) == {
        "keepers.set_broker": True,
        "keepers.set_alias": True,
        "keepers.register": True,
        "keepers.show": False,  # only reads it
        "keepers.rebinds": False,  # keeps an attribute of it
    }


NESTED = '''
import io


def outer(path):
    def _wrap(fp):
        return io.BufferedReader(fp)

    def _peek(fp):
        def _first(fp):
            return fp.read(1)

        print(_first(fp))

    def _open():
        return open(path, "rb")

    return _wrap(_open())


class Owner:
    def method(self, sock):
        def keep(s):
            self.kept = [s]
            return s

        return keep(sock)
'''


def test_nested_functions_are_summarised_under_their_enclosing_def(tmp_path: Path) -> None:
    project = _project(tmp_path, {"nested.py": NESTED})
    inner = "nested.outer.<locals>"
    assert _first_argument_taken(
        project,
        [f"{inner}._wrap", f"{inner}._peek", f"{inner}._peek.<locals>._first",
         "nested.Owner.method.<locals>.keep"],
    ) == {
        f"{inner}._wrap": True,
        f"{inner}._peek": False,
        f"{inner}._peek.<locals>._first": False,
        "nested.Owner.method.<locals>.keep": True,
    }
    assert "builtins.open" in project.functions[f"{inner}._open"].returns
    assert "nested._wrap" not in project.functions  # not a module function


ACQUIRING = '''
import threading


class FileLock:
    def acquire(self):
        return self

    def release(self):
        pass


class Cache:
    def __init__(self, path):
        self.path = path
        self.open()

    def open(self):
        self._load()
        self.lock = FileLock().acquire()

    def _load(self):
        self.f = open(self.path)
        self.mutex = threading.Lock()

    def close(self):
        self.lock.release()
        self.f.close()
'''


def test_what_a_method_of_self_stores_on_self(tmp_path: Path) -> None:
    """``self.open()`` in ``__init__`` stores what open() and the methods it calls store
    (leakfixes LF048: borg's ``Cache.__init__`` takes its lock through ``self.open()``)."""
    project = _project(tmp_path, {"acq.py": ACQUIRING})
    assert project.acquired_by("acq.Cache", "__init__") == {
        "lock": frozenset({"acq.FileLock.acquire"}),
        "f": frozenset({"builtins.open"}),
        "mutex": frozenset({"threading.Lock"}),
    }
    assert project.acquired_by("acq.Cache", "close") == {}
    assert project.acquired_by("acq.Nothing", "open") == {}
