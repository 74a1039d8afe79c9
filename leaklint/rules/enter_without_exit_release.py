"""LL162 enter-without-exit-release."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from leaklint.rules.base import LineOf, Rule, release_advice

if TYPE_CHECKING:  # libcst and the analysis load only when a file is analysed
    from leaklint.analysis.leaks import Leak


@dataclass(frozen=True, slots=True)
class EnterWithoutExitRelease(Rule):
    def message(self, leak: Leak, line_of: LineOf) -> str:
        if leak.kind == "exit-partway":
            return (
                f"`{leak.other}` is never closed when closing `{leak.var}` in the exit raises: "
                f"release them in try/finally or through an ExitStack"
            )
        class_name = getattr(leak.other, "qualname", "the class").rsplit(".", 1)[-1]
        return (
            f"`{leak.var}` from {leak.resource.display} is acquired in `{class_name}.{getattr(leak.other, 'method', '__enter__')}` "
            f"but the exit never releases it: "
            f"{release_advice(leak, 'on it in the exit', with_block=False)}"
        )


RULE = EnterWithoutExitRelease(
    code="LL162",
    name="enter-without-exit-release",
    summary="__enter__ acquires what __exit__ does not release on every path.",
    leak_kinds=('enter-not-released', 'exit-partway'),
    bad_example='''\
import socket


class Connection:
    def __enter__(self):
        self.sock = socket.create_connection(("example.com", 80))
        return self

    def __exit__(self, *exc):
        self.flush()
''',
    good_example='''\
import socket


class Connection:
    def __enter__(self):
        self.sock = socket.create_connection(("example.com", 80))
        return self

    def __exit__(self, *exc):
        self.sock.close()
''',
    docs='''\
## What it does
Reports a resource that a class's `__enter__`/`__aenter__` stores on `self` when its
`__exit__`/`__aexit__` (or a method it calls, in the class or its project base classes)
does not release it; and an exit that releases several attributes one after another
(`self.a.close(); self.b.close()`) outside `try/finally`, so that a failure of the first
leaks the next.

## Why is this bad?
Users of the class write `with Thing() as t:` and rightly expect everything it acquired to
be released at the end of the block.

{examples}
## Fix safety
No automatic fix.
''',
)
