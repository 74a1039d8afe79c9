"""LL120 owner-never-releases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from leaklint.rules.base import LineOf, Rule, subject

if TYPE_CHECKING:  # libcst and the analysis load only when a file is analysed
    from leaklint.analysis.leaks import Leak


@dataclass(frozen=True, slots=True)
class OwnerNeverReleases(Rule):
    def message(self, leak: Leak, line_of: LineOf) -> str:
        class_name = getattr(leak.other, "qualname", "the class").rsplit(".", 1)[-1]
        resource = leak.resource
        release = resource.release_method
        if resource.is_async and release in resource.awaited_release:
            calls, add = f"awaits {release}() on it", "add an `async def aclose()` that does"
        else:
            calls, add = f"calls {release}() on it", "add a close() that does"
        return (
            f"{subject(leak)} is stored on the object but no method of `{class_name}` "
            f"{calls}: {add}"
        )


RULE = OwnerNeverReleases(
    code="LL120",
    name="owner-never-releases",
    summary="A class stores a resource on self but no method of it releases it.",
    leak_kinds=("owner-never-releases",),
    bad_example='''\
import socket


class Client:
    def __init__(self, host):
        self.sock = socket.create_connection((host, 80))

    def send(self, data):
        self.sock.sendall(data)
''',
    good_example='''\
import socket


class Client:
    def __init__(self, host):
        self.sock = socket.create_connection((host, 80))

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        self.sock.close()
''',
    docs='''\
## What it does
Reports a resource stored on `self` (`self.sock = socket.create_connection(...)`, in any
method) when no method of the class releases it: nothing calls `self.sock.close()` (or the
resource's other release methods), uses it in `with`, hands it to a helper, returns it or
passes it on. Methods of base classes defined in the checked code count; when a base class
is outside the checked code it might release the attribute, and nothing is reported.

## Why is this bad?
The object owns the resource, so only the object can release it, and it offers no way to
do so: every instance leaks its socket, file or connection until the garbage collector
finalises it. A class that does release what it owns becomes a resource itself: leaklint
then checks that its users call `close()` or use it in `with`.

{examples}Add `__enter__`/`__exit__` calling `close()` so that callers can write `with Client(h) as c:`.

## Fix safety
An unsafe fix (`--unsafe-fixes`) adds a `close()` that releases what the class stores, and
`__enter__`/`__exit__` calling it when the class has neither; only for a class whose only
base is `object` and that has no `close()` yet. Unsafe because which method should release
the resource, and who calls it, is a design decision the fix cannot make.
''',
)
