"""What the analysis reports: one leak, positioned by a node of the parsed module."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from leaklint.resources import Resource

#: ``Leak.other`` of a "not-released" leak that no normal path releases or hands on
NEVER_RELEASED = "never-released"


@dataclass(frozen=True, slots=True)
class Leak:
    """What the analysis found; rules turn it into a message at ``call``'s position: the
    acquiring call, or for the checks of context manager definitions (LL160-LL163) the
    ``def``, ``return``, ``yield`` or ``except`` concerned."""

    kind: str  # see the ``leak_kinds`` of the rules in leaklint/rules/
    call: cst.CSTNode
    resource: Resource
    var: str | None = None
    other: object = None  # the raising statement, the return, the rebinding, the class
    # (or NEVER_RELEASED)
    #: the module-level statement it was found in (positions are computed for it alone);
    #: None for what the module body itself reports
    top: cst.CSTNode | None = None
    #: when ``top`` is a class: the method of it that the leak was found in (positions are
    #: then computed for that method alone); None for the class body itself
    method: cst.FunctionDef | None = None
