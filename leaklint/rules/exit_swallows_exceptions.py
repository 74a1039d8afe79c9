"""LL160 exit-swallows-exceptions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from leaklint.rules.base import LineOf, Rule

if TYPE_CHECKING:  # libcst and the analysis load only when a file is analysed
    from leaklint.analysis.leaks import Leak


@dataclass(frozen=True, slots=True)
class ExitSwallowsExceptions(Rule):
    def message(self, leak: Leak, line_of: LineOf) -> str:
        where = leak.var or "__exit__"
        if where in ("__exit__", "__aexit__"):
            return (
                f"`{where}` returns true on every path, so every exception raised in the "
                f"with-block disappears: return a false value for the errors it does not handle"
            )
        return (
            f"`{where}()` catches every exception around its yield without re-raising, so "
            f"every error in the with-block disappears: re-raise what it does not handle"
        )


RULE = ExitSwallowsExceptions(
    code="LL160",
    name="exit-swallows-exceptions",
    summary="__exit__ returns true on every path, or a @contextmanager swallows every exception around its yield.",
    leak_kinds=('exit-swallows',),
    bad_example='''\
class Transaction:
    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.finish()
        return True  # swallows KeyboardInterrupt, bugs, everything
''',
    good_example='''\
class Transaction:
    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.finish()
        return exc_type is not None and issubclass(exc_type, KeyError)
''',
    docs='''\
## What it does
Reports a context manager that discards every exception without looking at it: an
`__exit__` (or `async def __aexit__`) whose every return is a true constant (`return True`)
while it never reads its exception arguments (`exc_type`, `exc`, `tb`, `*exc_details`) and
no path of it raises (a `raise`, `self.fail(...)`, a method of the class that never returns);
and a `@contextmanager`/`@asynccontextmanager` generator whose `yield` sits in a `try` with an
`except Exception:`/`except BaseException:`/bare `except:` that does not re-raise, does not use
the caught exception (`except Exception as ex: log(ex)`, `sys.exc_info()`,
`log.exception(...)`) and does not yield again. An exit that looks at what it swallows
decided to (returning true only for some exception types, recording the failure), and so
does `contextlib.suppress(...)` at the place of use. A plain-def `__aexit__` is LL163's. Not
reported for a class defined inside a test function (`def test_...`): a test's own stand-in
that suppresses is what the test exercises.

## Why is this bad?
A context manager that returns true from `__exit__` tells Python the exception was handled:
every error raised in the with-block, including `KeyboardInterrupt` and plain bugs, vanishes,
and the code after the block runs on a state nobody checked.

{examples}
## Fix safety
No automatic fix: which exceptions to suppress is a decision.
''',
)
