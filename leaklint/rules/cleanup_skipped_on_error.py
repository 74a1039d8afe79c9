"""LL161 cleanup-skipped-on-error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from leaklint.rules.base import LineOf, Rule

if TYPE_CHECKING:  # libcst and the analysis load only when a file is analysed
    from leaklint.analysis.leaks import Leak


@dataclass(frozen=True, slots=True)
class CleanupSkippedOnError(Rule):
    def message(self, leak: Leak, line_of: LineOf) -> str:
        return (
            f"`{leak.var}()` skips the clean-up after this yield when the with-block "
            f"raises: put the yield in try/finally"
        )


RULE = CleanupSkippedOnError(
    code="LL161",
    name="cleanup-skipped-on-error",
    summary="A @contextmanager generator's clean-up after yield is not in finally: an error in the with-block skips it.",
    leak_kinds=('cleanup-skipped',),
    bad_example='''\
from contextlib import contextmanager


@contextmanager
def opened(path):
    f = open(path)
    yield f  # if the with-block raises, the close below never runs
    f.close()
''',
    good_example='''\
from contextlib import contextmanager


@contextmanager
def opened(path):
    f = open(path)
    try:
        yield f
    finally:
        f.close()
''',
    docs='''\
## What it does
Reports the `yield` of a `@contextmanager`/`@asynccontextmanager` generator that is not inside
`try/finally` (or a `with`) and is followed by clean-up: a call that releases something,
named for it (`close`, `release`, `shutdown`, `cleanup`, `terminate`, `remove`, `unlink`,
`rmtree`, `stop`, `restore`, `kill`, `unregister`, `detach`, `disable`/`enable`, `reset`,
`teardown`/`tear_down`, `setprofile`, `settrace`, `chdir`, ... as a word of its name:
`removeObserver`, `teardown_test_loop`), or releasing what the generator acquired before the
yield (`p.wait()` of a `subprocess.Popen`, `t.join()` of a started thread). Steps meant for
success only are not clean-up: a commit (`p.execute()`), an `after_create` event, a check
that raises, a timing print, `self.depth -= 1`, a call in a branch that tests what the block
did (`if elapsed > limit: cleanup()`), a second `yield`. The finding stands at the `yield`;
the leak of a resource acquired before it is not reported a second time.

## Why is this bad?
When the with-block raises, the exception is thrown into the generator at the `yield`: the
statements after it never run, so the file stays open, the lock stays held, the working
directory stays changed.

{examples}
## Fix safety
A fix wraps the bare `yield` in `try: yield ... finally:` around the clean-up that followed
it. Safe: on the normal path the same statements run in the same order. Not offered when
the clean-up holds a `return`, `break` or `continue`.
''',
)
