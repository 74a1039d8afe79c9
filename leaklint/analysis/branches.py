"""The statement interpreter of the obligation analysis, branches: ``if`` and ``match``, and the
states a test refines (``f is None``, an ownership flag, a predicate of the resource).
"""

from __future__ import annotations

import libcst as cst

from leaklint.analysis.cst_questions import (
    _CALLED,
    _COMPARED,
    _compared_names,
    _flag_key,
    _receiver_key,
    _subscript_key,
)
from leaklint.analysis.names import dotted_name
from leaklint.analysis.state import OPEN, _Effects, _join, _MaybeState, _State


class BranchesMixin:
    """``if``/``elif``/``else`` and ``match``; ``refine`` splits a state by a test.

    Analyser attributes it assigns: ``in_main_block``. It reads (or changes in place):
    ``by_call``, ``conditional``, ``created``, ``kind``, ``obligations``, ``once_per_loop``,
    ``rebinds``, ``tests``. Methods of the other parts it calls: ``apply``, ``consume``,
    ``suite``. The attributes are made in ``_ScopeAnalyser.__init__`` (obligations.py).
    """

    # compound statements

    def stmt_If(self, stmt: cst.If, state: _State) -> _MaybeState:
        if self.kind == "module" and _is_main_guard(stmt.test):
            # ``if __name__ == "__main__":`` at the end of a script: the interpreter exits when
            # it is done, and what it left unbound is reclaimed with the process
            self.in_main_block += 1
            try:
                return self.if_statement(stmt, state)
            finally:
                self.in_main_block -= 1
        return self.if_statement(stmt, state)

    def if_statement(self, stmt: cst.If, state: _State) -> _MaybeState:
        test = stmt.test
        while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            test = test.expression  # ``if not self._lock.acquire(blocking=blocking): raise``
        if isinstance(test, cst.Call):
            self.tests.add(id(test))
        fx = _Effects()
        self.consume(stmt.test, fx)
        state = self.apply(fx, state, stmt)
        if state is None:
            return None
        truthy, falsy = self.refine(stmt.test, state)
        once = self.once_per_loop.get(id(stmt))
        if once and truthy is not None and any(
            id(self.obligations[oid].call) in once for oid in truthy.open_ids()
        ):
            truthy = None  # the loop took this branch already: its key does not come again
        if truthy is falsy and truthy is not None:
            falsy = truthy.copy()  # the body changes its state in place
        mark = len(self.created)
        key = _test_key(stmt.test)
        compared = _compared_names(_flag_name(key)) if key is not None else set()
        before = [self.rebinds.get(name, 0) for name in compared]
        body = self.suite(stmt.body, truthy)
        if before != [self.rebinds.get(name, 0) for name in compared]:
            key = None  # ``if x is None: x = Pool()``: the test no longer says the same
        # ``if single: lock.acquire()`` ... ``if single: lock.release()``, or ``if name == "-":
        # fp = stdin`` / ``else: fp = open(name)`` ... ``if name != "-": fp.close()``: the same
        # test says whether it was acquired
        _vouch(body, key, self.created[mark:])
        orelse = stmt.orelse
        mark = len(self.created)
        if orelse is None:
            other = falsy
        elif isinstance(orelse, cst.If):
            other = self.stmt_If(orelse, falsy)
        else:
            other = self.suite(orelse.body, falsy)
        if key is not None and before == [self.rebinds.get(name, 0) for name in compared]:
            _vouch(other, (key[0], not key[1]), self.created[mark:])
        return _join(body, other)

    def stmt_Match(self, stmt: cst.Match, state: _State) -> _MaybeState:
        fx = _Effects()
        self.consume(stmt.subject, fx)
        state = self.apply(fx, state, stmt)
        if state is None:
            return None
        outs: list[_MaybeState] = []
        exhaustive = False
        for case in stmt.cases:
            cstate = state.copy()
            if case.guard is not None:
                gfx = _Effects()
                self.consume(case.guard, gfx)
                cstate = self.apply(gfx, cstate, case)
            outs.append(self.suite(case.body, cstate))
            pattern = case.pattern
            if isinstance(pattern, cst.MatchAs) and pattern.pattern is None and case.guard is None:
                exhaustive = True
        if not exhaustive:
            outs.append(state)
        return _join(*outs)

    def waits_forever(self, test: cst.BaseExpression, state: _State) -> bool:
        """``cond.wait()`` / ``cond.wait_for(pred)`` with no timeout, on a condition this scope
        holds (``cond.acquire()`` before): it returns True (or the predicate's true value)
        once notified, never a false one (realworld: six asyncio Condition tests). With a
        timeout it may give False, the lock held again."""
        if isinstance(test, cst.Await):
            test = test.expression
        if not (isinstance(test, cst.Call) and isinstance(test.func, cst.Attribute)):
            return False
        method = test.func.attr.value
        if not (
            (method == "wait" and not test.args)
            or (method == "wait_for" and len(test.args) == 1 and test.args[0].keyword is None)
        ):
            return False
        holder = _receiver_key(test.func)
        return holder is not None and any(
            self.obligations[oid].resource.on_receiver and state.status.get(oid, 0) & OPEN
            for oid in state.names.get(holder, frozenset())
        )

    def refine(self, test: cst.BaseExpression, state: _State) -> tuple[_MaybeState, _MaybeState]:
        """States where ``test`` is true / false, knowing ``f is None`` means f holds nothing."""
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            truthy, falsy = self.refine(test.expression, state)
            return falsy, truthy
        if isinstance(test, cst.BooleanOperation):
            left_true, left_false = self.refine(test.left, state)
            if isinstance(test.operator, cst.And):
                if left_true is None:
                    return None, left_false
                right_true, right_false = self.refine(test.right, left_true)
                return right_true, _join(left_false, right_false)
            if left_false is None:
                return left_true, None
            right_true, right_false = self.refine(test.right, left_false)
            return _join(left_true, right_true), right_false
        if self.waits_forever(test, state):
            return state, None  # ``if await cond.wait():`` is never false
        if isinstance(test, cst.Call) and id(test) in self.conditional:
            # ``if lock.acquire(blocking=False):`` — not acquired when false
            not_held = state.copy()
            not_held.discharge({self.conditional[id(test)]})
            return state, not_held
        key = _test_key(test)
        if key is not None:
            # vouched for by this test: not acquired where it is false; by its negation: not
            # acquired where it is true
            when_true = state.flags.get(_flag_name(key))
            when_false = state.flags.get(_flag_name((key[0], not key[1])))
            if when_true or when_false:
                truthy, falsy = state.copy(), state.copy()
                falsy.discharge(when_true or frozenset())
                truthy.discharge(when_false or frozenset())
                return truthy, falsy
        holder = _none_test(test)
        if holder is not None:
            name, none_when_true = holder
            oids = state.names.get(name)
            if oids:
                # ``r, w = socketpair()``: when w holds nothing, neither does r
                siblings = {o for oid in oids for o in self.by_call[id(self.obligations[oid].call)]}
                emptied = state.copy()
                emptied.discharge(oids | siblings)
                return (emptied, state) if none_when_true else (state, emptied)
        # ``if f.closed:``, ``if not loop.is_closed(): loop.close()``: true where it is closed
        asked = test.func if isinstance(test, cst.Call) and not test.args else test
        if isinstance(asked, cst.Attribute) and asked.attr.value == (
            "is_closed" if asked is not test else "closed"
        ):
            if isinstance(asked.value, cst.Name) and state.names.get(asked.value.value):
                closed = state.copy()
                closed.discharge(state.names[asked.value.value])
                return closed, state
        inside = _inner_state_test(test)
        if inside is not None:
            # ``finally: if cache.conn: cache.close()``: where what it holds is empty (never
            # opened, or already released), the owner holds nothing to release
            name, empty_when_true = inside
            oids = state.names.get(name)
            if oids:
                emptied = state.copy()
                emptied.discharge(oids)
                return (emptied, state) if empty_when_true else (state, emptied)
        return state, state


def _none_test(test: cst.BaseExpression) -> tuple[str, bool] | None:
    """``f`` / ``f is None`` / ``f is not None`` → (name, "is the name None when true?")."""
    if isinstance(test, cst.Name):
        return test.value, False
    if isinstance(test, cst.NamedExpr) and isinstance(test.target, cst.Name):
        return test.target.value, False  # ``if (f := open(p)):``
    if (
        isinstance(test, cst.Comparison)
        and isinstance(test.left, cst.NamedExpr)
        and isinstance(test.left.target, cst.Name)
    ):
        test = test.with_changes(left=test.left.target)
    if isinstance(test, cst.Subscript):
        key = _subscript_key(test)  # ``if found[0]:`` of ``found = imp.find_module(m)``
        return ("".join(key), False) if key is not None else None
    if (
        isinstance(test, cst.Comparison)
        and isinstance(test.left, (cst.Name, cst.Subscript))
        and len(test.comparisons) == 1
    ):
        if isinstance(test.left, cst.Name):
            name = test.left.value
        else:
            key = _subscript_key(test.left)
            if key is None:
                return None
            name = "".join(key)
        target = test.comparisons[0]
        # ``f is None`` / ``f is sys.stdout``: when true, f does not hold our resource
        if isinstance(target.operator, cst.Is):
            return name, True
        if isinstance(target.operator, cst.IsNot):
            return name, False
    return None


def _inner_state_test(test: cst.BaseExpression) -> tuple[str, bool] | None:
    """``x.conn`` / ``x.conn is None`` / ``x.conn is not None`` (an attribute of a name) →
    (x, "is what x holds there empty when true?")."""
    if isinstance(test, cst.Attribute) and isinstance(test.value, cst.Name):
        return test.value.value, False
    if (
        isinstance(test, cst.Comparison)
        and isinstance(test.left, cst.Attribute)
        and isinstance(test.left.value, cst.Name)
        and len(test.comparisons) == 1
        and isinstance(test.comparisons[0].comparator, cst.Name)
        and test.comparisons[0].comparator.value == "None"
    ):
        operator = test.comparisons[0].operator
        if isinstance(operator, cst.Is):
            return test.left.value.value, True
        if isinstance(operator, cst.IsNot):
            return test.left.value.value, False
    return None


def _test_key(expr: cst.BaseExpression) -> tuple[str, bool] | None:
    """What an if-test says, as (key, polarity): ``single`` → ("single", True), ``not single``
    → ("single", False), ``name != "-"`` → ('name == "-"', False); a comparison of a name or
    attribute with a literal or another name only."""
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Not):
        inner = _test_key(expr.expression)
        return (inner[0], not inner[1]) if inner is not None else None
    key = _flag_key(expr)
    if key is not None:
        return key, True
    predicate = _predicate_key(expr)
    if predicate is not None:
        return predicate, True
    if not (isinstance(expr, cst.Comparison) and len(expr.comparisons) == 1):
        return None
    target = expr.comparisons[0]
    left = _flag_key(expr.left)
    right = _flag_key(target.comparator)
    if right is None and isinstance(target.comparator, (cst.SimpleString, cst.Integer)):
        right = target.comparator.value
    if left is None or right is None:
        return None
    if isinstance(target.operator, (cst.Equal, cst.NotEqual)):
        return f"{left}{_COMPARED}{right}", isinstance(target.operator, cst.Equal)
    if isinstance(target.operator, (cst.Is, cst.IsNot)):
        return f"{left} is {right}", isinstance(target.operator, cst.Is)
    return None


def _predicate_key(expr: cst.BaseExpression) -> str | None:
    """``isfilelike(lpath)``, ``isinstance(f, str)``, ``os.path.isdir(p)``: a predicate (its
    name says so: ``is...``, ``has...``, ``callable``) of names and literals only, asked twice
    of the same names, answers the same (first contact round 5: fsspec's ``if not
    isfilelike(lpath): outfile.close()`` under the same test that opened it)."""
    if not isinstance(expr, cst.Call) or not isinstance(expr.func, (cst.Name, cst.Attribute)):
        return None
    func = dotted_name(expr.func)
    if func is None:
        return None
    last = func.rsplit(".", 1)[-1]
    if not (last.startswith(("is", "has")) or last == "callable"):
        return None
    args = []
    for arg in expr.args:
        if arg.keyword is not None or arg.star:
            return None
        value = arg.value
        if isinstance(value, (cst.SimpleString, cst.Integer)):
            args.append(value.value)
            continue
        name = _flag_key(value)
        if name is None:
            return None
        args.append(name)
    if not args:
        return None
    return f"{func}{_CALLED}{', '.join(args)}"


def _flag_name(key: tuple[str, bool]) -> str:
    return key[0] if key[1] else f"not {key[0]}"


def _vouch(state: _MaybeState, key: tuple[str, bool] | None, created: list[int]) -> None:
    """Where ``key`` holds, ``created`` were acquired: record it (see ``refine``)."""
    if state is None or key is None or not created:
        return
    name = _flag_name(key)
    state.flags[name] = state.flags.get(name, frozenset()) | frozenset(created)


def _is_main_guard(test: cst.BaseExpression) -> bool:
    """``__name__ == "__main__"`` (either way round)."""
    if not (isinstance(test, cst.Comparison) and len(test.comparisons) == 1):
        return False
    if not isinstance(test.comparisons[0].operator, cst.Equal):
        return False
    sides = (test.left, test.comparisons[0].comparator)
    names = [side.value for side in sides if isinstance(side, cst.Name)]
    texts = [side.evaluated_value for side in sides if isinstance(side, cst.SimpleString)]
    return names == ["__name__"] and texts == ["__main__"]
