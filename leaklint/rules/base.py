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


def path_message(leak: Leak, line_of: LineOf, fix: str = "use with or release it in a finally") -> str:
    """The message of a leak along a path, whichever rule reports it (LL100, LL101, LL130...)."""
    resource = leak.resource
    verb = resource.verb
    if leak.kind == "overwritten":
        name = f"`{leak.var}`" if leak.var else "it"
        import libcst as cst  # here, not at import: a cached run reports without libcst

        what = "deleted" if isinstance(leak.other, cst.Del) else "reassigned"
        return f"{subject(leak)} is not {verb} before {name} is {what} at line {line_of(leak.other)}"
    if leak.other == "never-released":  # leaks.NEVER_RELEASED (leaks.py imports libcst)
        return f"{subject(leak)} is never {verb}: no path through the function releases it"
    where = f"line {line_of(leak.other)}" if leak.other is not None else "a statement"
    if leak.kind == "init-raises":
        how = f"{resource.release[0]}()" if resource.release else "release"
        return (
            f"{subject(leak)} leaks if {where} raises: __init__ never returns, so nothing can "
            f"{how} it; release it in an except block"
        )
    if leak.kind == "exception-path":
        return f"{subject(leak)} leaks if {where} raises: {fix}"
    if leak.other is not None:
        return (
            f"{subject(leak)} is not {verb} on every path: the return at line "
            f"{line_of(leak.other)} skips it"
        )
    return f"{subject(leak)} is not {verb} on every path"


#: Leak kinds that a resource's own ``code`` (LL130, LL140, LL150) reports instead of LL100/LL101.
PATH_KINDS = frozenset({"not-released", "exception-path", "overwritten", "init-raises"})


@dataclass(frozen=True, slots=True)
class PathRule(Rule):
    """A rule reporting leaks along a path; ``fix`` ends the message (``{var}``: the name)."""

    fix: str = "use with or release it in a finally"

    def message(self, leak: Leak, line_of: LineOf) -> str:
        return path_message(leak, line_of, self.fix.format(var=leak.var or "it"))
