"""Which planner fixes which rule's findings, and every fix there is (with its safety)."""

from __future__ import annotations

from collections.abc import Callable

from leaklint.analysis.leaks import Leak
from leaklint.fixes import descriptors, errorpath, generators, handoff, locks, owners, stacks, transforms
from leaklint.fixes.base import UNSAFE, Edit, Fix, refusals
from leaklint.fixes.transforms import Tree

Planner = Callable[[Leak, Tree, str, int, int], "Edit | None"]

ALL_FIXES: tuple[Fix, ...] = (
    transforms.ADD_AWAIT,
    transforms.ASYNC_WITH,
    transforms.CLOSING_WITH,
    transforms.CLOSING_WITH_ESCAPES,
    transforms.WITH_FOR_UNBOUND,
    transforms.CLOSING_FOR_UNBOUND,
    transforms.WITH_FOR_UNBOUND_PATCHED,
    transforms.WITH_FOR_UNBOUND_MODULE,
    transforms.WITH_FOR_BOUND,
    transforms.TRY_FINALLY,
    transforms.TRY_FINALLY_ERROR_PATH,
    transforms.TRY_FINALLY_UNSAFE,
    *transforms.MORE_FIXES,
    *locks.FIXES,
    *generators.FIXES,
    *owners.FIXES,
    *descriptors.FIXES,
    *stacks.FIXES,
    *errorpath.FIXES,
    *handoff.FIXES,
    errorpath.GUARDED_TO_BLOCK_END,
    errorpath.GUARDED_TO_BLOCK_END_UNSAFE,
)
FIXABLE_CODES = frozenset(code for fix in ALL_FIXES for code in fix.codes)


#: A local (or an attribute set in ``__init__``) the function acquires: LL100, LL101.
_OWN_LOCALS: tuple[Planner, ...] = (
    handoff.close_until_handed_on,
    handoff.close_after_the_branches,
    handoff.close_in_the_handlers,
    stacks.exit_stack,
    transforms.with_for_bound,
    errorpath.into_later_finally,
    errorpath.attribute_close_on_error,
    errorpath.guarded_to_block_end,
    descriptors.close_fd_in_finally,
)

#: Each rule's planners, in order: the first edit allowed is taken.
_PLANNERS: dict[str, tuple[Planner, ...]] = {
    "LL203": (transforms.add_await,),
    "LL201": (transforms.async_with,),
    "LL110": (transforms.closing_with,),
    "LL102": (transforms.with_for_unbound,),
    "LL100": _OWN_LOCALS,
    "LL101": _OWN_LOCALS,
    "LL150": (transforms.with_for_bound,),
    "LL200": (transforms.with_for_bound,),
    "LL130": (transforms.with_for_bound,),
    "LL140": (locks.with_lock,),
    "LL161": (generators.try_around_yield,),
    "LL162": (errorpath.rest_in_finally,),
    "LL120": (owners.add_close,),
}


def plan(code: str, leak: Leak, tree: Tree, line: int, col: int, unsafe: bool) -> Edit | None:
    """The edit fixing the finding ``code`` reported for ``leak``, if there is one: the first
    safe edit of its rule's planners, else (with ``unsafe``) the first unsafe one. A planner
    whose edit is unsafe does not hide a later planner's safe one."""
    fallback = None
    for planner in _PLANNERS.get(code, ()):
        edit = planner(leak, tree, code, line, col)
        if edit is None:
            continue
        if edit.fix.safety != UNSAFE:
            return edit
        if unsafe and fallback is None:
            fallback = edit
    return fallback


def why_not(code: str, leak: Leak, tree: Tree) -> str:
    """Why no planner of the rule ``code`` fixes ``leak``, unsafe fixes allowed: the last
    reason a planner gave (the later planners speak only of the shapes they know)."""
    if code not in _PLANNERS:
        return f"{code} has no fix"
    with refusals() as heard:
        for planner in _PLANNERS[code]:
            if planner(leak, tree, code, 0, 0) is not None:
                return "a fix is made, but the finding stays after it (or its edit overlaps another's)"
    return heard[-1] if heard else "no fix shape matches this place"
