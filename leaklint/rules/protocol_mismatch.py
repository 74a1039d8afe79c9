"""LL163 protocol-mismatch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from leaklint.rules.base import LineOf, Rule

if TYPE_CHECKING:  # libcst and the analysis load only when a file is analysed
    from leaklint.analysis.leaks import Leak


@dataclass(frozen=True, slots=True)
class ProtocolMismatch(Rule):
    def message(self, leak: Leak, line_of: LineOf) -> str:
        name = leak.var
        is_async = str(name).startswith("__a")
        pair = {"__enter__": "__exit__", "__exit__": "__enter__", "__aenter__": "__aexit__",
                "__aexit__": "__aenter__"}.get(str(name), "its pair")
        with_ = "`async with`" if is_async else "`with`"
        problem = {
            "plain-def": f"`{name}` is a plain def, but `async with` awaits it: make it `async def`",
            "async-def": (
                f"`{name}` is an `async def`, but plain `with` calls it without awaiting: "
                f"make it a plain def"
            ),
            "arity": f"`{name}` takes the wrong parameters: make it take (self, exc_type, exc, tb)",
            "no-exit": f"`{name}` has no `{pair}`, so the class cannot be used in {with_}: add one",
            "no-enter": f"`{name}` has no `{pair}`, so the class cannot be used in {with_}: add one",
        }
        return problem.get(
            str(leak.other), f"`{name}` breaks the context manager protocol: define {with_}'s pair"
        )


RULE = ProtocolMismatch(
    code="LL163",
    name="protocol-mismatch",
    summary="A broken context manager protocol: async __aexit__ as plain def, __exit__ as async def, wrong arity, half a protocol.",
    leak_kinds=('protocol-mismatch',),
    bad_example='''\
class Session:
    async def __aenter__(self):
        return self

    def __aexit__(self, exc_type, exc, tb):
        self.close()
''',
    good_example='''\
class Session:
    async def __aenter__(self):
        return self

    async def __aexit__(self, exc_type, exc, tb):
        await self.close()
''',
    docs='''\
## What it does
Reports `__aenter__`/`__aexit__` defined with a plain `def` that returns `self`, `None`, a
constant or nothing (a plain def returning a call may return an awaitable, which `async with`
awaits), `__enter__`/`__exit__` defined with `async def`, an exit that does not take
`(self, exc_type, exc, tb)` (or `*args`), and a class without base classes that defines an
enter without its exit or the reverse. Not reported: a class that is nothing but half a
protocol (a stand-in made to show the TypeError), interface declarations (a class deriving
from `Interface` or `typing.Protocol`, methods without `self`, stub bodies of `...`), and a
class defined inside a test function (`def test_...`): the test itself runs it, so a broken
protocol there fails that test at once, and is usually what the test asserts.

## Why is this bad?
Python calls these methods by protocol: a plain `__aexit__` returns `None` to `async with`,
which then fails to await it; an `async def __exit__` returns a coroutine that is never
awaited, so the clean-up never runs and the exception is swallowed (a coroutine is true).

{examples}
## Fix safety
No automatic fix.
''',
)
