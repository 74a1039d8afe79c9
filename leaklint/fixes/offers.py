"""Every fix the rewrites of ``transforms``, ``try_edits`` and the other planners offer: the
codes it fixes, its safety, its title and when it applies (``base.Fix``), one constant
each; ``planners.ALL_FIXES`` lists them."""

from __future__ import annotations

from leaklint.fixes.base import SAFE, UNSAFE, Fix

ADD_AWAIT = Fix(("LL203",), SAFE, "Add the missing `await`", "inside `async def` only")
ASYNC_WITH = Fix(("LL201",), SAFE, "Use `async with`", "inside `async def` only")
CLOSING_WITH = Fix(
    ("LL110",),
    SAFE,
    "Wrap the connection in `contextlib.closing(...)`, keep `with conn:` for the transaction",
    "the inner `with conn:` keeps the commit/rollback; only when the name is not used "
    "outside the block",
)
CLOSING_WITH_ESCAPES = Fix(
    ("LL110",),
    UNSAFE,
    "Wrap the connection in `contextlib.closing(...)`, keep `with conn:` for the transaction",
    "something made from the connection (a cursor, a result) leaves the block and is used "
    "after it, where the connection is now closed",
)
WITH_FOR_UNBOUND = Fix(
    ("LL102",),
    SAFE,
    "Bind the resource in a `with` around the statement",
    "files, sockets and archives only: never a resource whose __exit__ waits or joins",
)
CLOSING_FOR_UNBOUND = Fix(
    ("LL102",),
    SAFE,
    "Bind the resource in `with contextlib.closing(...)` around the statement",
    "for an object released by close() whose own context manager does more or is not known: "
    "closing() binds the object itself and calls only close(), after the statement, on a "
    "resource nothing closed; only when what the statement keeps of it is data",
)
WITH_FOR_UNBOUND_PATCHED = Fix(
    ("LL102",),
    UNSAFE,
    "Bind the resource in a `with` around the statement (a module that patches names)",
    "`with X() as v` binds X().__enter__(), and this module patches names (mock.patch, "
    "monkeypatch): a mock's __enter__ returns another object than the mock",
)
WITH_FOR_UNBOUND_MODULE = Fix(
    ("LL102",),
    UNSAFE,
    "Bind the resource in a `with` around the statement (module level)",
    "the new name becomes a module attribute, visible to importers",
)
WITH_FOR_BOUND = Fix(
    ("LL100", "LL101", "LL150"),
    SAFE,
    "Use `with` from the acquisition to the close, and drop the close",
    "only when every use is in between and the context manager does exactly what close() does",
)

TRY_FINALLY = Fix(
    ("LL100", "LL101", "LL130", "LL150", "LL200"),
    SAFE,
    "Move the close() into a `finally` around the statements in between",
    "where a `with` does not fit (the name is used after the close, or the context manager "
    "does more than close); a return, break or continue in between, which leaked it, now "
    "releases it too, only when what it gives back holds nothing of it",
)
WITH_TO_BLOCK_END = Fix(
    ("LL100", "LL150"),
    SAFE,
    "Use `with` from the acquisition to the end of the block",
    "nothing released it: the only change is the added close at the block's end (and on "
    "an early return or an error); only when nothing outside the block uses it and nothing "
    "made from it (a cursor, a reader) leaves the block",
)
TRY_TO_BLOCK_END = Fix(
    ("LL100", "LL130", "LL150", "LL200"),
    SAFE,
    "Release it in a `finally` around the rest of the block",
    "nothing released it: the only change is the added release (close(), await aclose(), "
    "the pool's putconn()) at the block's end; only when nothing outside the block uses it "
    "and nothing made from it leaves the block",
)
CLOSE_ON_ERROR = Fix(
    ("LL100", "LL101", "LL130", "LL150", "LL200"),
    UNSAFE,
    "Release it in an `except` that re-raises, around the statements after it",
    "the path that does not fail stays as it was (it hands the object on); on an error in "
    "between it is now released, and whoever it was handed to before the error finds it so",
)
CLOSE_ON_ERROR_SAFE = Fix(
    ("LL100", "LL101", "LL130", "LL150", "LL200"),
    SAFE,
    "Release it in an `except` that re-raises, around the statements after it",
    "the path that does not fail stays as it was; on an error in between, the object, which "
    "nothing but this function holds there (used through its methods only, handed on only by "
    "the final return), is released before the error goes on; not when an except in the "
    "function uses it after",
)
MORE_FIXES = (WITH_TO_BLOCK_END, TRY_TO_BLOCK_END, CLOSE_ON_ERROR, CLOSE_ON_ERROR_SAFE)
#: Leaks only an error path has: an ``except`` that releases and re-raises fixes them.
ERROR_PATH_KINDS = frozenset({"exception-path", "init-raises"})
TRY_FINALLY_ERROR_PATH = Fix(
    ("LL100", "LL101", "LL130", "LL150", "LL200"),
    UNSAFE,
    "Move the release into a `finally` around the statements in between",
    "an error there may be caught in this function (an enclosing try or with), and the "
    "name is used after it: that code now finds the object released",
)
TRY_FINALLY_UNSAFE = Fix(
    ("LL100", "LL101", "LL130", "LL150", "LL200"),
    UNSAFE,
    "Move the release into a `finally` around the statements in between",
    "on the error path the release now runs too: a wait() or shutdown() can block there, and "
    "a callee the object was handed to may keep it and find it closed",
)
