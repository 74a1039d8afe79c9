"""What every rule is: a code, a kebab-case name, a message, and docs in fixed sections."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # libcst and the analysis load only when a file is analysed
    from leaklint.analysis.leaks import Leak


#: Gives the 1-based line of a node, for messages that name another line.
LineOf = Callable[[object], int]

DOC_SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead", "Fix safety")


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule. ``docs`` is markdown with every heading of ``DOC_SECTIONS``, in order."""

    code: str
    name: str
    summary: str
    docs: str
    bad_example: str = ""
    good_example: str = ""
    leak_kinds: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # the docs show the examples, written once: ``{examples}`` becomes the Example and
        # Use instead sections, from ``bad_example`` and ``good_example``
        examples = (
            f"## Example\n```python\n{self.bad_example.rstrip()}\n```\n\n"
            f"## Use instead\n```python\n{self.good_example.rstrip()}\n```\n"
        )
        object.__setattr__(self, "docs", self.docs.replace("{examples}", examples))

    def message(self, leak: Leak, line_of: LineOf) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


def subject(leak: Leak) -> str:
    """"`f` from open()" or "socket from socket.socket()" for messages."""
    resource = leak.resource
    source = resource.display + (f" ({resource.origin})" if resource.origin else "")
    if leak.var:
        return f"`{leak.var}` from {source}"
    return f"{resource.kind} from {source}"


def release_advice(leak: Leak, when: str = "in a finally", with_block: bool = True) -> str:
    """What to do, fitted to the object: "use `with` or call close() in a finally", "await
    aclose() in a finally", "give it back with putconn() on the pool in a finally", "call
    os.close() on it in a finally"; ``with_block=False`` leaves the ``with`` out (in
    ``__init__`` the object keeps it). An imperative phrase, no closing period."""
    resource = leak.resource
    method = resource.release_method
    awaited = resource.is_async and (resource.return_to or method in resource.awaited_release)
    call = f"await {method}()" if awaited else f"call {method}()"
    with_ = "`async with`" if resource.is_async else "`with`"
    if resource.return_to:
        return f"give it back with {'await ' if awaited else ''}{method}() on the pool {when}"
    if resource.kind == "lock" and resource.on_receiver:
        if resource.qualname.startswith("asyncio."):  # release() is plain, the with is async
            with_ = "`async with`"
        holder = f"`{with_[1:-1]} {leak.var}:`" if leak.var else with_
        return f"use {holder} or {call} {when}" if with_block else f"{call} {when}"
    if method in ("__exit__", "__aexit__"):
        return f"use {with_}"
    if resource.kind == "file descriptor":
        return f"call os.close() {when}" if when.startswith("on ") else f"call os.close() on it {when}"
    if with_block and resource.with_releases:
        return f"use {with_} or {call} {when}"
    if with_block and not resource.cm_closes and resource.cm_effect and method == "close":
        return f"use contextlib.closing() or {call} {when}"
    return f"{call} {when}"


def _skipped_by(leak: Leak, line_of: LineOf) -> str:
    """Which way out of the function skips the release: "the return at line 4"."""
    import libcst as cst  # here, not at import: a cached run reports without libcst

    other = leak.other
    if other is None:
        return "falling off the end of the function"
    if isinstance(other, cst.Break):
        return f"the loop's break at line {line_of(other)}"
    if isinstance(other, cst.Raise):
        return f"the raise at line {line_of(other)}"
    if isinstance(other, cst.Return):
        return f"the return at line {line_of(other)}"
    return f"line {line_of(other)}"


def path_message(leak: Leak, line_of: LineOf, advice: str | None = None) -> str:
    """The message of a leak along a path, whichever rule reports it (LL100, LL101, LL130...):
    what is not released, which path skips the release, and what to do (``advice``, else
    ``release_advice``): "<subject> <problem>: [<which path> skips it; ]<advice>"."""
    resource = leak.resource
    verb = resource.verb
    if leak.kind == "overwritten":
        name = f"`{leak.var}`" if leak.var else "it"
        import libcst as cst  # here, not at import: a cached run reports without libcst

        what = "deleted" if isinstance(leak.other, cst.Del) else "reassigned"
        return (
            f"{subject(leak)} is not {verb} before {name} is {what} at line "
            f"{line_of(leak.other)}: {advice or release_advice(leak, 'first')}"
        )
    if leak.other == "never-released":  # leaks.NEVER_RELEASED (leaks.py imports libcst)
        return (
            f"{subject(leak)} is never {verb}: no path through the function releases it or "
            f"hands it on; {advice or release_advice(leak)}"
        )
    if leak.kind == "init-raises":
        where = f"line {line_of(leak.other)}" if leak.other is not None else "a statement"
        return (
            f"{subject(leak)} leaks if {where} raises: __init__ then returns no object, so "
            f"nothing can {resource.release_method}() it; "
            f"{release_advice(leak, 'in an except block that re-raises', with_block=False)}"
        )
    advice = advice or release_advice(leak)
    skipped_by = _skipped_by(leak, line_of)
    if leak.kind == "exception-path" and skipped_by.startswith("line "):
        return f"{subject(leak)} leaks if {skipped_by} raises: {advice}"
    return f"{subject(leak)} is not {verb} on every path: {skipped_by} skips it; {advice}"


#: Leak kinds that a resource's own ``code`` (LL130, LL140, LL150) reports instead of LL100/LL101.
PATH_KINDS = frozenset({"not-released", "exception-path", "overwritten", "init-raises"})


@dataclass(frozen=True, slots=True)
class PathRule(Rule):
    """A rule reporting leaks along a path; the advice that ends the message fits the
    resource (``release_advice``)."""

    def message(self, leak: Leak, line_of: LineOf) -> str:
        return path_message(leak, line_of)
