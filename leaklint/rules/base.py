"""What every rule is: a code, a kebab-case name, a message, and docs in fixed sections."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from leaklint.analysis.obligations import Leak

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

    def message(self, leak: Leak, line_of: LineOf) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


def subject(leak: Leak) -> str:
    """"`f` from open()" or "socket from socket.socket()" for messages."""
    resource = leak.resource
    source = resource.display + (f" ({resource.origin})" if resource.origin else "")
    if leak.var:
        return f"`{leak.var}` from {source}"
    return f"{resource.kind} from {source}"
