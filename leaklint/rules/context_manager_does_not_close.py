"""LL110 context-manager-does-not-close."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from leaklint.rules.base import LineOf, Rule, release_advice

if TYPE_CHECKING:  # libcst and the analysis load only when a file is analysed
    from leaklint.analysis.leaks import Leak


#: Words that may open a ``cm-effect`` verb phrase ("only commits the transaction").
_ADVERBS = frozenset({"only", "just", "merely", "still", "also"})
#: A ``cm-effect`` that already says the object stays open.
_SAYS_OPEN = re.compile(r"\b(?:clos\w*|open)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ContextManagerDoesNotClose(Rule):
    def message(self, leak: Leak, line_of: LineOf) -> str:
        resource = leak.resource
        call = f"{resource.display[:-2]}(...)"
        name = f"`{leak.var}`" if leak.var else f"the {resource.kind}"
        method = resource.release_method
        release = "close" if method == "close" else f"call {method}() on"
        # what the registry or the user's ``cm-effect`` says, as a phrase after the subject
        effect = " ".join(resource.cm_effect.split()).rstrip(" .;:,!").replace(": ", ", ")
        if effect and not effect[:2].isupper():  # "Commits" reads "commits"; "SQL" stays
            effect = effect[0].lower() + effect[1:]
        effect = effect.removeprefix("it ").removeprefix("__exit__ ")
        first = effect.split()[0].lower() if effect else ""
        if not effect:
            what = f"`with {call}` does not {release} {name}"
        elif _SAYS_OPEN.search(effect):  # "leaves the connection open": the effect says it
            what = f"`with {call}` {effect}"
        elif first in _ADVERBS or (first.endswith("s") and not first.endswith("ss")):
            what = f"`with {call}` {effect} but does not {release} {name}"  # a verb phrase
        else:  # a noun phrase or anything else the user wrote: quoted as the exit's effect
            what = f"`with {call}` does not {release} {name} (its exit does '{effect}' instead)"
        if method == "close":
            return f"{what}: use contextlib.closing({call}) or call close() in a finally"
        return f"{what}: {release_advice(leak, with_block=False)}"

RULE = ContextManagerDoesNotClose(
    code="LL110",
    name="context-manager-does-not-close",
    summary="`with` on an object whose __exit__ does not close it (sqlite3.connect, psycopg2.connect).",
    leak_kinds=('with-does-not-close',),
    bad_example='''\
import sqlite3


def count_rows(path):
    with sqlite3.connect(path) as conn:  # commits, never closes
        return conn.execute("select count(*) from t").fetchone()[0]
''',
    good_example='''\
import contextlib
import sqlite3


def count_rows(path):
    with contextlib.closing(sqlite3.connect(path)) as conn:
        with conn:  # the transaction
            return conn.execute("select count(*) from t").fetchone()[0]
''',
    docs='''\
## What it does
Reports `with X(...) as conn:` where the context manager of `X` ends a transaction
(commit on success, rollback on error) but leaves the connection open, and the connection
is not closed on every path afterwards. Checked per library, from the registry
(`cm-closes = false`, with the source of the claim):

| library | `with connect(...) as conn:` does |
|---|---|
| `sqlite3` | commits or rolls back; the connection stays open (Python docs, "How to use the connection context manager") |
| `psycopg2` | commits or rolls back; the connection stays open (psycopg2 docs, "with statement") |
| `psycopg` (3) | closes the connection: not reported |
| `pymysql` (>= 1.0), `mysql.connector` | close the connection: not reported |

## Why is this bad?
The code reads as if the connection were closed at the end of the block. It is not: every
call leaks a connection (a file descriptor for sqlite3, a server connection for
PostgreSQL) until the garbage collector finalises it.

{examples}The inner `with conn:` keeps the commit/rollback the original code relied on.

## Fix safety
`leaklint check --fix` rewrites the item to `contextlib.closing(connect(...))` and keeps the
transaction with an inner `with conn:`, adding `import contextlib` once: safe when `conn` is not
used after the block.
''',
)
