"""The abstract state of the obligation analysis: obligations, the per-path state (``_State``)
and its join, the effects gathered for one statement (``_Effects``), the frames of
``try``/loops (``_Frame``) and the per-module context (``_Module``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Union

import libcst as cst

from leaklint.analysis.leaks import Leak
from leaklint.analysis.summaries import Project
from leaklint.resources import Registry, Resource

OPEN = 1


DONE = 2


_MAX_LOOP_ROUNDS = 32


@dataclass(slots=True, eq=False)
class _Obligation:
    call: cst.Call
    resource: Resource
    names: dict[str, None] = field(default_factory=dict)  # in binding order
    parents: frozenset[int] = frozenset()  # released with them: a cursor with its connection
    via_with: bool = False  # bound by a ``with`` whose __exit__ does not close it (LL110)


class _State:
    """Per path-set facts: obligation → {OPEN, DONE} bits, name → obligations it may hold.

    ``flags`` records ownership flags: ``f = open(p); close_f = True`` makes ``close_f`` vouch
    for f, so on the branch where ``close_f`` is false f was never opened (or was handed on).

    ``unsettled`` holds at least every ``OPEN`` obligation whose exceptional exit the scope has
    not recorded yet (see ``_ScopeAnalyser.raise_``): a statement that raises outside any
    ``try`` looks at these alone, not at every obligation open at once, so that n resources
    open together cost n, not n² (benchmarks/scaling.py). Whatever sets an ``OPEN`` bit adds
    to it.

    A state passed to a statement belongs to it: the statement changes it in place and
    returns it (or None); whoever needs the state before a statement too keeps a ``copy()``.
    """

    __slots__ = ("status", "names", "blame", "flags", "unsettled")

    def __init__(
        self,
        status: dict[int, int] | None = None,
        names: dict[str, frozenset[int]] | None = None,
        blame: dict[int, cst.CSTNode] | None = None,
        flags: dict[str, frozenset[int]] | None = None,
        unsettled: set[int] | None = None,
    ) -> None:
        self.status = status if status is not None else {}
        self.names = names if names is not None else {}
        self.blame = blame if blame is not None else {}
        self.flags = flags if flags is not None else {}
        self.unsettled = unsettled if unsettled is not None else set()

    def copy(self) -> _State:
        return _State(
            dict(self.status), dict(self.names), dict(self.blame), dict(self.flags),
            set(self.unsettled),
        )

    def open(self, oid: int) -> None:
        self.status[oid] = OPEN
        self.unsettled.add(oid)

    def same(self, other: _State) -> bool:
        return (
            self.status == other.status
            and self.names == other.names
            and self.flags == other.flags
        )

    def open_ids(self) -> Iterator[int]:
        return (oid for oid, bits in self.status.items() if bits & OPEN)

    def discharge(self, oids: frozenset[int] | set[int]) -> None:
        for oid in oids:
            if oid in self.status:
                self.status[oid] = DONE


_MaybeState = Union[_State, None]


def _join(*states: _MaybeState) -> _MaybeState:
    """A new state: what holds on any of the paths ``states`` stand for."""
    live = [s for s in states if s is not None]
    if not live:
        return None
    out = live[0].copy()
    for other in live[1:]:
        _merge_into(out, other)
    return out


def _merge_into(out: _State, other: _State) -> None:
    """``out`` becomes the join of itself and ``other`` (``other`` is left as it is).

    Two states joined mostly agree (the two sides of an ``if``, a ``try`` body's state at
    each statement that can raise): the entries they share are skipped by the set
    difference of their items, in C, and only the others are joined here, one by one. Still
    the size of the state, not of what changed, but a few times cheaper (benchmarks/
    scaling.py); the order entries are added in does not matter to any reader."""
    status = out.status
    for oid, bits in other.status.items() - status.items():
        status[oid] = status.get(oid, 0) | bits
    out.unsettled |= other.unsettled
    _merge_sets(out.names, other.names)
    if other.blame:
        blame = out.blame
        for oid in other.blame.keys() - blame.keys():
            blame[oid] = other.blame[oid]
    _merge_sets(out.flags, other.flags)


def _merge_sets(out: dict[str, frozenset[int]], other: dict[str, frozenset[int]]) -> None:
    for name, oids in other.items() - out.items():
        mine = out.get(name)
        out[name] = oids if mine is None else mine | oids


@dataclass(slots=True)
class _Effects:
    """What one statement (or header) does, gathered before it is applied to the state."""

    may_raise: bool = False
    method_uses: list[tuple[str, str]] = field(default_factory=list)  # (name, attr)
    opened: list[tuple[str, str]] = field(default_factory=list)  # (name, method) of every call
    #: (name, attribute) of every use, even one meant to fail: a client that connects on its
    #: first use (``opens-on = ["*"]``) has started to, whatever the use then does
    touched: list[tuple[str, str]] = field(default_factory=list)
    released: list[str] = field(default_factory=list)  # names handed to a releasing helper
    # names formatted into a string (``f"open({w})"``, ``"{:d}".format(w)``): a descriptor
    # written into code another interpreter or process runs is handed to it
    formatted: list[str] = field(default_factory=list)
    escaped: list[str] = field(default_factory=list)
    # given to a constructor (``Connection(sock)``): taken only once the call has returned
    handed: list[str] = field(default_factory=list)
    unbound: list[tuple[cst.Call, Resource]] = field(default_factory=list)
    walrus: list[tuple[str, list[_Item]]] = field(default_factory=list)
    # ``pool.putconn(conn)``: (name, method) for names passed to a method
    method_args: list[tuple[str, str]] = field(default_factory=list)
    # ``lock.acquire()``: (call, resource, receiver name) — the obligation sits on the receiver
    on_receiver: list[tuple[cst.Call, Resource, str]] = field(default_factory=list)


# An expression's value: ("new", call, resource, index) | ("name", name) | ("contained", items)
_Item = tuple


@dataclass(slots=True)
class _Frame:
    kind: str  # "handler" | "finally" | "loop" | "suppress"
    exc: _MaybeState = None
    #: a handler frame whose handlers catch only what no call raises itself (``except
    #: KeyboardInterrupt:``, an interrupt arriving between any two bytecodes)
    interrupts_only: bool = False
    ret: _MaybeState = None
    ret_node: cst.CSTNode | None = None
    brk: _MaybeState = None
    cont: _MaybeState = None


@dataclass(slots=True)
class _Module:
    registry: Registry
    project: Project | None = None
    module: str = ""
    strict: bool = False  # every call can raise (``Config.strict``)
    leaks: list[Leak] = field(default_factory=list)
    analysed: set[int] = field(default_factory=set)  # nested scopes, each analysed once
    # class qualname -> (attr, acquiring call, resource, method) for every resource on self
    self_stores: dict[str, list[tuple[str, cst.Call, Resource, str | None]]] = field(
        default_factory=dict
    )
    #: classes of this module, at its top level, with no decorator (none makes __init__)
    plain_classes: frozenset[str] = frozenset()
    #: the methods of ``Type.method`` entries (``get_connection``, ``acquire``, ``open``):
    #: only a call of one asks for its receiver's type
    receiver_methods: frozenset[str] = frozenset()
