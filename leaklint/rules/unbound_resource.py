"""LL102 unbound-resource."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from leaklint.rules.base import LineOf, Rule, release_advice

if TYPE_CHECKING:  # libcst and the analysis load only when a file is analysed
    from leaklint.analysis.leaks import Leak


@dataclass(frozen=True, slots=True)
class UnboundResource(Rule):
    def message(self, leak: Leak, line_of: LineOf) -> str:
        resource = leak.resource
        if resource.with_releases:
            advice = f"use {'an `async with`' if resource.is_async else 'a `with`'} block"
        else:
            advice = f"bind it and {release_advice(leak, with_block=False)}"
        return (
            f"{resource.kind} from {resource.display} is used without being bound and is "
            f"never {resource.verb}: {advice}"
        )


RULE = UnboundResource(
    code="LL102",
    name="unbound-resource",
    summary="A resource is acquired and used inside one expression, never bound, never released.",
    leak_kinds=("unbound",),
    bad_example='''\
import json

def load(path):
    return json.load(open(path))
''',
    good_example='''\
import json

def load(path):
    with open(path) as f:
        return json.load(f)
''',
    docs='''\
## What it does
Reports a resource that is acquired and used inside a single expression without ever
being bound to a name, so nothing can release it: `open(p).read()`,
`json.load(open(p))`, `for line in open(p):`, a `subprocess.Popen(...)` whose object is
dropped. The touch idiom `open(p, "w").close()` and chained releases such as
`subprocess.Popen(cmd).wait()` are not reported, nor is a resource returned, stored or
handed to an owner (`closing(open(p))`, `stack.enter_context(open(p))`); nor one in a `try`
whose `else:` (or last statement) fails the test (`self.fail(...)`): it is meant to raise, as
under `assertRaises`; nor one made by the statement just before `os._exit()`, after which the
operating system reclaims it (`Popen(cmd); os._exit(0)` re-executes on purpose); nor one in a
module's `if __name__ == "__main__":` block, after which the interpreter exits.

## Why is this bad?
CPython usually closes such a file when the expression's last reference goes away,
which is why the code seems to work; PyPy and other implementations do not, and even
CPython warns (`ResourceWarning: unclosed file`) under `python -X dev`. Writes may not
be flushed when you expect them to be.

{examples}
## Fix safety
`leaklint check --fix` wraps the one statement in `with factory(...) as <fresh name>:` when the
resource is used eagerly (`.read()`, `json.load(...)`, `list(...)`) and nothing that runs code
is evaluated before it: safe in a function, unsafe at module level (the new name becomes a
module attribute). No fix for resources whose `__exit__` waits or joins.
''',
)
