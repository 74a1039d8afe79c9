"""The statement interpreter of the obligation analysis, loops: ``while`` and ``for`` iterated
to a fixed point, and what a loop over a collection of resources drains.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from leaklint.analysis.cst_questions import (
    _BINDING_FIELDS,
    _iterated_names,
    _names_in,
    _walk_expression,
)
from leaklint.analysis.state import (
    _MAX_LOOP_ROUNDS,
    OPEN,
    _Effects,
    _Frame,
    _join,
    _MaybeState,
    _State,
)


class LoopsMixin:
    """``while`` and ``for``, iterated to a fixed point by ``loop``.

    Analyser attributes it assigns: ``loop_back``. It reads (or changes in place):
    ``collections``, ``ctx``, ``enters_loop``, ``frames``, ``loop_targets``, ``obligations``,
    ``once_per_loop``. Methods of the other parts it calls: ``apply``, ``bind_target``,
    ``consume``, ``holds_a_container``, ``qualname``, ``refine``, ``suite``. The attributes
    are made in ``_ScopeAnalyser.__init__`` (obligations.py).
    """

    def stmt_While(self, stmt: cst.While, state: _State) -> _MaybeState:
        forever = _is_constant_true(stmt.test)

        def head(s: _State) -> tuple[_MaybeState, _MaybeState]:
            fx = _Effects()
            self.consume(stmt.test, fx)
            tested = self.apply(fx, s, stmt)
            if tested is None:
                return None, None
            truthy, falsy = self.refine(stmt.test, tested)
            return truthy, None if forever else falsy

        # the first test cannot be false when the statement before set what it tests
        return self.loop(stmt, state, head, runs_once=id(stmt) in self.enters_loop)

    def stmt_For(self, stmt: cst.For, state: _State) -> _MaybeState:
        fx = _Effects()
        self.consume(stmt.iter, fx)
        drained = _drained_by_the_loop(stmt)
        if drained is not None and not self.ctx.strict:
            # ``r.iter_content(n)`` makes an iterator and reads nothing yet; a read of it that
            # fails drops the connection (urllib3 closes it on an error): only the body can
            # leave the response open
            fx.may_raise = False
        state = self.apply(fx, state, stmt)
        if state is None:
            return None

        # ``for f in (a, b): f.close()``: the target holds each of the named resources in turn
        elements = [("name", n) for n in _iterated_names(stmt.iter)]
        # ``for s in socks: s.close()``: ... and each element of a local list of them
        held = self.held_in_collection(stmt.iter, state)
        if held:
            elements = [("name", _collection_name(stmt.iter))]

        # next() on the iterator can raise, or end the loop; then the target is bound. Not
        # on a range() or a display (a tuple, list or set written out): they cannot fail.
        steps_raise = not _iterates_without_failing(stmt.iter, self.qualname) and (
            self.ctx.strict or not self.holds_a_container(stmt.iter, state)
        )
        if drained is not None and not self.ctx.strict:
            steps_raise = False  # (see above)

        def head(s: _State) -> tuple[_MaybeState, _MaybeState]:
            advanced = self.apply(_Effects(may_raise=steps_raise), s.copy(), stmt)
            if advanced is not None:
                self.bind_target(stmt.target, elements, _Effects(), advanced, stmt)
            return advanced, s

        # a loop over a display of resources runs at least once
        targets = _names_in(stmt.target)
        self.once_per_loop.update(_once_per_loop(stmt))
        self.loop_targets.append(targets)
        try:
            out = self.loop(stmt, state, head, runs_once=bool(elements) and not held)
        finally:
            self.loop_targets.pop()
        back = self.loop_back
        if out is not None and held and back is not None and not any(
            back.status.get(oid, 0) & OPEN for oid in held
        ):
            # every element was released by the body (an empty list holds nothing)
            out.discharge(held)
        if out is not None and drained is not None:
            # ``for chunk in r.iter_content(n): f.write(chunk)``, no break: read to its end,
            # as ``r.content`` or ``r.read()`` reads it (a registry release of those)
            out = self.apply(_Effects(method_uses=[(drained, "content"), (drained, "read()")]),
                             out, stmt)
        return out

    def held_in_collection(self, expr: cst.BaseExpression, state: _State) -> frozenset[int]:
        """The obligations a local list of resources holds (``socks`` in ``for s in socks``),
        or a tuple of them a factory gave (``pair = socketpair()``; ``for s in pair:
        s.close()``, first contact round 6, trio), or a local dict of them (``for f in
        files.values()``)."""
        name = _collection_name(expr)
        if name is None:
            return frozenset()
        return frozenset(
            o for o in state.names.get(name, ())
            if o in self.collections or self.obligations[o].resource.unpack
        )

    def loop(
        self, stmt: cst.For | cst.While, state: _State, head, runs_once: bool = False
    ) -> _MaybeState:
        """Iterate the body to a fixed point; ``head`` gives (enter-body, leave-loop) states.
        ``runs_once``: the loop cannot be left before its first iteration (a ``while`` is
        then left by its test after one, a ``for`` over a display at the end of one)."""
        frame = _Frame("loop")
        self.frames.append(frame)
        entry: _State = state
        exit_state: _MaybeState = None
        tested_again = runs_once and isinstance(stmt, cst.While)
        for _ in range(_MAX_LOOP_ROUNDS):
            started, leaving = head(entry.copy())
            if not runs_once:
                exit_state = _join(exit_state, leaving)
            body_out = self.suite(stmt.body, started) if started is not None else None
            back = _join(body_out, frame.cont)
            if tested_again:
                # ``while not err:`` entered at once: it is left only when a test after
                # an iteration fails
                exit_state = _join(exit_state, head(back.copy())[1]) if back is not None else exit_state
            elif runs_once:
                exit_state = _join(exit_state, back)
            nxt = _join(entry, back)
            assert nxt is not None
            if nxt.same(entry):
                break
            entry = nxt
        self.frames.pop()
        # ``for s in socks: s.close()``: what every way back to the head holds, unless a
        # break leaves early (see ``stmt_For``)
        self.loop_back = back if frame.brk is None else None
        if stmt.orelse is not None and exit_state is not None:
            exit_state = self.suite(stmt.orelse.body, exit_state)
        return _join(exit_state, frame.brk)


def _iterates_without_failing(
    iterable: cst.BaseExpression, qualname: Callable[[cst.BaseExpression], str | None]
) -> bool:
    """``for i in range(n)``, ``for x in (a, b)``, ``for k, v in d.items()``: next() on it
    cannot raise (a mapping's view only if the mapping changes size, a programming error)."""
    if isinstance(iterable, (cst.Tuple, cst.List, cst.Set)):
        return True
    if not isinstance(iterable, cst.Call):
        return False
    if _is_mapping_view(iterable):
        return True
    return qualname(iterable.func) == "builtins.range"


def _is_mapping_view(call: cst.Call) -> bool:
    """``d.items()``, ``d.keys()``, ``d.values()``."""
    return (
        isinstance(call.func, cst.Attribute)
        and call.func.attr.value in ("items", "keys", "values")
        and not call.args
    )


#: Methods whose iterator reads a response (or a file) chunk by chunk to its end.
_ITERATES_TO_THE_END = frozenset({"iter_content", "iter_lines", "iter_bytes", "iter_raw",
                                  "iter_text"})


def _drained_by_the_loop(stmt: cst.For) -> str | None:
    """``for chunk in r.iter_content(n):`` with no ``break`` or ``return`` in its body (a
    nested loop's break is its own): the name the loop reads to its end."""
    it = stmt.iter
    if not (
        isinstance(it, cst.Call)
        and isinstance(it.func, cst.Attribute)
        and isinstance(it.func.value, cst.Name)
        and it.func.attr.value in _ITERATES_TO_THE_END
    ):
        return None
    finder = _LeavesEarly()
    stmt.body.visit(finder)
    return None if finder.found else it.func.value.value


class _LeavesEarly(cst.CSTVisitor):
    """A ``break`` or ``return`` that leaves this loop before its end."""

    def __init__(self) -> None:
        self.found = False

    def visit_Break(self, node: cst.Break) -> None:
        self.found = True

    def visit_Return(self, node: cst.Return) -> None:
        self.found = True

    def visit_For(self, node: cst.For) -> bool:
        return False  # its breaks are its own (a return inside it is missed: rare)

    def visit_While(self, node: cst.While) -> bool:
        return False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False


def _once_per_loop(loop: cst.For) -> dict[int, frozenset[int]]:
    """The branches a loop over a mapping's keys takes under a test of the key for one value
    (``for option, values in parse_qs(q).items(): if option == "file": out = open(...)``),
    each with the calls in it: keys are unique, so the branch runs at most once and the loop
    never comes back to it with what it acquired there still held (first contact round 8,
    pyserial)."""
    iterated = loop.iter
    if not (
        isinstance(iterated, cst.Call)
        and _is_mapping_view(iterated)
        and iterated.func.attr.value in ("items", "keys")
    ):
        return {}
    target = loop.target
    if iterated.func.attr.value == "items":
        if not (isinstance(target, (cst.Tuple, cst.List)) and len(target.elements) == 2):
            return {}
        target = target.elements[0].value
    if not isinstance(target, cst.Name):
        return {}
    key = target.value
    if _rebinds(loop.body, key):
        return {}  # the key is rebound in the body: the test may hold twice
    out: dict[int, frozenset[int]] = {}
    for stmt in loop.body.body:
        branch: cst.If | cst.Else | None = stmt if isinstance(stmt, cst.If) else None
        while isinstance(branch, cst.If):
            if _compares_to_a_constant(branch.test, key):
                out[id(branch)] = frozenset(
                    id(node) for node in _walk_expression(branch.body) if isinstance(node, cst.Call)
                )
            branch = branch.orelse
    return out


def _rebinds(suite: cst.BaseSuite, name: str) -> bool:
    """Does ``suite`` bind ``name`` (an assignment, a loop or ``with ... as`` target, ``:=``)?"""
    return any(
        isinstance(node, kinds) and name in _names_in(getattr(node, field))
        for node in _walk_expression(suite)
        for kinds, field in _BINDING_FIELDS
    )


def _compares_to_a_constant(test: cst.BaseExpression, name: str) -> bool:
    """``name == "file"`` or ``"file" == name`` (a string or number)."""
    if not (
        isinstance(test, cst.Comparison)
        and len(test.comparisons) == 1
        and isinstance(test.comparisons[0].operator, cst.Equal)
    ):
        return False
    sides = (test.left, test.comparisons[0].comparator)
    constant = (cst.SimpleString, cst.Integer, cst.ConcatenatedString)
    return any(
        isinstance(a, cst.Name) and a.value == name and isinstance(b, constant)
        for a, b in (sides, sides[::-1])
    )


def _collection_name(expr: cst.BaseExpression) -> str | None:
    """The local a loop iterates: ``socks`` in ``for s in socks``, ``files`` in ``for f in
    files.values()``."""
    if isinstance(expr, cst.Name):
        return expr.value
    if (
        isinstance(expr, cst.Call)
        and isinstance(expr.func, cst.Attribute)
        and expr.func.attr.value == "values"
        and not expr.args
        and isinstance(expr.func.value, cst.Name)
    ):
        return expr.func.value.value
    return None


def _is_constant_true(test: cst.BaseExpression) -> bool:
    if isinstance(test, cst.Name):
        return test.value == "True"
    if isinstance(test, cst.Integer):
        return test.value not in ("0",)
    return False
