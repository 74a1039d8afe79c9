"""The statement interpreter of the obligation analysis, part one: blocks and statements one by
one, the scope's exits (normal, ``return``, ``break``/``continue``, exceptions and where they
go) and the simple statements (expressions, assignments, ``del``, ``raise``, ``assert``,
imports).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import libcst as cst

from leaklint.analysis.cst_questions import (
    _MANUAL_ENTER,
    _acquires_conditionally,
    _flag_key,
    _flatten_targets,
    _iterated_names,
    _receiver_key,
    _releases,
    _walk_expression,
)
from leaklint.analysis.leaks import Leak
from leaklint.analysis.names import dotted_name
from leaklint.analysis.state import DONE, OPEN, _Effects, _join, _MaybeState, _merge_into, _State
from leaklint.resources import Resource


class StatementsMixin:
    """Blocks, exits and jumps, and the simple statements (``stmt_<Type>`` for each libcst
    statement type ``statement`` dispatches to).

    Analyser attributes it assigns: ``fresh``, ``previous_fresh``. It reads (or changes in
    place): ``_flag_resets``, ``broken``, ``class_name``, ``collected_after``,
    ``conditional``, ``created``, ``ctx``, ``done_at_exit``, ``enters_loop``,
    ``exception_exits``, ``expecting_raise``, ``frames``, ``in_cleanup``, ``init_raises``,
    ``kept_for_caller``, ``method``, ``method_name``, ``never_ended``, ``normal_exits``,
    ``obligations``, ``patched``, ``pending``, ``process_ends_after``, ``repending``,
    ``scope``, ``self_name``, ``statement_calls``, ``unawaited``, ``unrolled``. Methods of
    the other parts it calls: ``apply``, ``assign``, ``bind``, ``callee_name``,
    ``collects_garbage``, ``consume``, ``consume_items``, ``ends_process``, ``escape``,
    ``qualname``, ``self_attribute``, ``stmt_For``, ``unbind``, ``value_of``. The attributes
    are made in ``_ScopeAnalyser.__init__`` (obligations.py).
    """

    def exit_normal(self, state: _State, node: cst.CSTNode | None) -> None:
        self.done_at_exit.update(oid for oid, bits in state.status.items() if bits & DONE)
        for oid in state.open_ids():
            if oid in self.pending or oid in self.kept_for_caller:
                continue  # __init__ returned: the object owns it; acquire() returned: held
            exits = self.normal_exits.setdefault(oid, [])
            if node not in exits:
                exits.append(node)

    def raise_(self, state: _MaybeState, node: cst.CSTNode | None) -> None:
        """An exception raised by ``node`` (None: re-raised by a ``finally``) in ``state``,
        which is left as it is."""
        if state is None:
            return
        for frame in reversed(self.frames):
            if frame.kind in ("handler", "finally", "suppress"):
                if frame.exc is None:
                    raised = state.copy()  # the frame owns what it gathers
                else:
                    raised = frame.exc
                    _merge_into(raised, state)
                if node is not None:
                    for oid in state.status.keys() - raised.blame.keys():
                        if state.status[oid] & OPEN:
                            raised.blame[oid] = state.blame.get(oid, node)
                frame.exc = raised
                return
        self.leave_by_exception(state, node)

    def leave_by_exception(self, state: _State, node: cst.CSTNode | None) -> None:
        """The exception leaves the scope: every open obligation leaks here, unless an earlier
        exception already did (the first one is blamed). Only ``state.unsettled`` can hold
        one not recorded yet (plus ``repending``), so a scope with n resources open at once
        and a statement that can raise after each costs n, not n²."""
        candidates = state.unsettled
        if self.repending:
            candidates = candidates | self.repending
        for oid in list(candidates):
            if state.status.get(oid, 0) & OPEN:
                blame = state.blame.get(oid, node)
                self.exception_exits.setdefault(oid, blame)
                if oid in self.pending:
                    self.init_raises.setdefault(oid, blame)
                    self.repending.discard(oid)
            # recorded now, or not open here: whatever opens it again adds it again
            state.unsettled.discard(oid)

    def return_(self, state: _MaybeState, node: cst.CSTNode | None) -> None:
        if state is None:
            return
        for frame in reversed(self.frames):
            if frame.kind == "finally":
                frame.ret = _join(frame.ret, state)
                frame.ret_node = frame.ret_node or node
                return
        self.exit_normal(state, node)

    def jump(self, state: _MaybeState, attr: str) -> None:
        """``break`` (attr "brk") or ``continue`` (attr "cont")."""
        if state is None:
            return
        for frame in reversed(self.frames):
            if frame.kind in ("finally", "loop"):
                setattr(frame, attr, _join(getattr(frame, attr), state))
                return

    def block(self, body: Sequence[cst.CSTNode], state: _MaybeState) -> _MaybeState:
        for stmt, after in zip(body, body[1:]):
            if isinstance(stmt, cst.SimpleStatementLine):
                if self.collects_garbage(after):
                    self.collected_after.update(id(small) for small in stmt.body)
                if self.ends_process(after) == "exit":
                    self.process_ends_after.update(id(small) for small in stmt.body)
                if isinstance(after, cst.While) and _sets_test_true(stmt, after.test):
                    self.enters_loop.add(id(after))
        for stmt in body:
            if state is None:
                return None
            state = self.step(stmt, state)
        return state

    def step(self, stmt: cst.CSTNode, state: _State) -> _MaybeState:
        """One statement of a block, keeping ``fresh``: what it created, inside a compound
        statement too (``try: f = open(p) except OSError: return`` then ``close = True``)."""
        mark = len(self.created)
        self.previous_fresh = self.fresh
        state = self.statement(stmt, state)
        self.fresh = self.created[mark:]
        return state

    def suite(self, suite: cst.BaseSuite | None, state: _MaybeState) -> _MaybeState:
        if suite is None:
            return state
        return self.block(suite.body, state)

    def statement(self, stmt: cst.CSTNode, state: _State) -> _MaybeState:
        head = _statement_call(stmt)
        if head is not None:
            self.statement_calls.add(id(head))
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if state is None:
                    return None
                state = self.statement(small, state)
            return state
        method = getattr(self, "stmt_" + type(stmt).__name__, None)
        if method is None:
            return state
        return method(stmt, state)

    # small statements

    def stmt_Expr(self, stmt: cst.Expr, state: _State) -> _MaybeState:
        loop = _comprehension_as_loop(stmt)
        if loop is not None and id(stmt) not in self.unrolled:
            # ``[_cleanup(p) for p in [p1, p2]]`` does what ``for p in [p1, p2]:
            # _cleanup(p)`` does: the loop, whose body is this statement's element
            self.unrolled.add(id(stmt))
            try:
                return self.stmt_For(loop, state)
            finally:
                self.unrolled.discard(id(stmt))
        value = stmt.value.elt if loop is not None else stmt.value  # type: ignore[attr-defined]
        fx = _Effects()
        items = self.value_of(value, fx)
        if not self.expecting_raise:
            # under ``assertRaises`` the call is expected to fail before it acquires anything
            self.consume_items(items, fx)
        if self.is_release_call(value, state) or _is_manual_enter(value):
            fx.may_raise = False  # ``a.close(); b.close()``: a failing close is not a leak
        self.check_awaited(value, fx, state)
        ends = self.ends_process(stmt)
        if ends == "exit":
            fx.may_raise = False  # os._exit(n) does not return, nor raise
        never = not ends and self.never_returns(stmt.value)
        if never:
            fx.may_raise = True  # its one way out is an exception (``SystemExit`` too)
            self.never_ended.update(state.open_ids())
        state = self.apply(fx, state, stmt)
        if never and self.in_cleanup and not self.exits_process(value):
            self.raise_(state, stmt)  # (``apply`` lets a call in a handler fall through)
            # (``except OSError: log(e); sys.exit(1)``: a fatal error ends the process, which
            # reclaims what the failed block left; only what the handler made itself is owed)
        if ends or never:
            # no clean-up runs after ``os._exit(0)`` or a successful ``os.execv(...)``: the
            # operating system reclaims every descriptor left (a failing exec raises above);
            # after ``sys.exit(1)`` or ``module.fail_json(msg=...)`` only the exception
            # leaves, through the handlers and finally blocks
            return None
        return state

    def exits_process(self, expr: cst.BaseExpression) -> bool:
        """``sys.exit(n)``, ``exit()``, ``quit()``: SystemExit, the way a program ends."""
        return isinstance(expr, cst.Call) and self.qualname(expr.func) in _PROCESS_EXITS

    def never_returns(self, expr: cst.BaseExpression) -> bool:
        """A call statement (or ``await f()``) whose callee never returns, as the project's
        summaries say: a project function that always raises or exits, ``sys.exit``,
        ``pytest.fail``, ``module.fail_json()`` on a local made by a class whose method does
        (``module = AnsibleModule(...)``)."""
        project = self.ctx.project
        if isinstance(expr, cst.Await):
            expr = expr.expression
        if project is None or not isinstance(expr, cst.Call):
            return False
        func = expr.func
        callee = self.callee_name(func)
        if callee is not None and project.never_returns(callee):
            return True
        if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)):
            return False
        made = self.scope.types_of(func.value.value)
        return bool(made) and all(
            project.never_returns(f"{made_by}.{func.attr.value}") for made_by in made
        )

    def check_awaited(self, expr: cst.BaseExpression, fx: _Effects, state: _State) -> None:
        """LL203: ``session.close()`` / ``x.aclose()`` / ``cm.__aexit__()`` as a statement,
        not awaited: the coroutine is created, dropped, and releases nothing."""
        if not (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)):
            return
        method = expr.func.attr.value
        holder = _receiver_key(expr.func)
        held = [self.obligations[oid].resource for oid in state.names.get(holder or "", ())]
        coroutine = method in _ALWAYS_COROUTINES or any(
            method in resource.awaited_release for resource in held
        )
        if not coroutine:
            return
        resource = next((r for r in held if method in r.awaited_release), _COROUTINE_CLEANUP)
        self.ctx.leaks.append(Leak("not-awaited", expr, resource, holder, method))
        if holder is not None:
            self.unawaited.add(holder)
            fx.method_uses = [use for use in fx.method_uses if use != (holder, method)]

    def is_release_call(self, expr: cst.BaseExpression, state: _State) -> bool:
        """``f.close()`` on a name that holds a resource ``close`` releases."""
        if not (
            isinstance(expr, cst.Call)
            and isinstance(expr.func, cst.Attribute)
            and isinstance(expr.func.value, cst.Name)
        ):
            return False
        oids = state.names.get(expr.func.value.value)
        method = expr.func.attr.value
        return bool(oids) and all(
            _releases(self.obligations[oid].resource, method) for oid in oids
        )

    def stmt_Assign(self, stmt: cst.Assign, state: _State) -> _MaybeState:
        fx = _Effects()
        targets = [t.target for t in stmt.targets]
        for target in targets:
            if isinstance(target, cst.Attribute) and self.self_attribute(target) is None:
                patched = self.qualname(target)  # ``http.client.HTTPConnection = Fake``
                if patched is not None:
                    self.patched.add(patched)
        vouched = self.previous_fresh if _is_true_constant(stmt.value) else []
        # ``fileobj = _LowLevelFile(p); self._extfileobj = False``: where the flag is false,
        # it was made here (tarfile's _Stream: ``if not self._extfileobj: close()``)
        disowned = self.previous_fresh if _is_false_constant(stmt.value) else []
        if isinstance(stmt.value, cst.Call) and _acquires_conditionally(stmt.value):
            vouched = [-1]  # filled in below, once the acquisition has an obligation
        post = self.assign(targets, stmt.value, fx, state, stmt)
        if vouched == [-1]:
            oid = self.conditional.get(id(stmt.value))
            vouched = [oid] if oid is not None else []
        if post is not None:
            for target in targets:
                key = _flag_key(target)
                if key is not None:
                    post.flags.pop(key, None)
                    post.flags.pop(f"not {key}", None)
                    trusted = (vouched or disowned) and (
                        isinstance(target, cst.Name)
                        or (
                            (attr := self.self_attribute(target)) is not None
                            and not self.flag_reset_elsewhere(attr)
                        )
                    )
                    if vouched and trusted:
                        # ``locked = True`` / ``self._locked = True`` after a guarded acquire
                        post.flags[key] = frozenset(vouched)
                    elif disowned and trusted:
                        post.flags[f"not {key}"] = frozenset(disowned)
        return post

    def flag_reset_elsewhere(self, attr: str) -> bool:
        """Might a method of the class this method calls reset ``self.attr``
        (``self.make_connection()`` setting ``self._locked = False``: redis's pool, realworld
        R-015)? Then ``self._locked = True`` vouches for no lock here. A method of this class
        body is read; one the class inherits from elsewhere might; ``self.queue_class()`` of an
        attribute holding a class, or a method that does not assign it, does not."""
        if self.method is None or self.class_name is None:
            return True
        if attr not in self._flag_resets:
            self._flag_resets[attr] = self._resets(attr)
        return self._flag_resets[attr]

    def _resets(self, attr: str) -> bool:
        """(see ``flag_reset_elsewhere``) From the project's summaries of the class and its
        bases, not from the method bodies here: the statement filter may have stood them in."""
        assert self.method is not None and self.class_name is not None
        project = self.ctx.project
        if project is None:
            return True
        lineage = list(project.lineage(self.class_name))
        for node in _walk_expression(self.method.body):
            if not (
                isinstance(node, cst.Call)
                and isinstance(node.func, cst.Attribute)
                and isinstance(node.func.value, cst.Name)
                and node.func.value.value == self.self_name
            ):
                continue
            called = node.func.attr.value
            if called == self.method_name:
                continue
            for name, facts in lineage:
                if facts is None:
                    if name is None or name.split(".", 1)[0] not in sys.stdlib_module_names:
                        return True  # a third-party base may define it and reset the flag
                    continue  # (the standard library's ``abc.ABC`` knows no flag of ours)
                if called in facts.methods:
                    if attr in facts.method_assigns.get(called, ()):
                        return True
                    break  # the first class of the lineage that defines it is the one
        return False

    def stmt_AnnAssign(self, stmt: cst.AnnAssign, state: _State) -> _MaybeState:
        if stmt.value is None:
            return state
        return self.assign([stmt.target], stmt.value, _Effects(), state, stmt)

    def stmt_AugAssign(self, stmt: cst.AugAssign, state: _State) -> _MaybeState:
        # ``n += 1`` on a local name raises no more than ``n + 1`` does (its operands' calls
        # and subscripts); ``d[k] += 1`` reads d[k] (KeyError), ``obj.value += 1`` may run a
        # property or a shared object's code; ``self._depth += 1`` (a counter of the
        # object's own, by a number) practically never raises, unless strict
        counter = (
            not self.ctx.strict
            and self.self_attribute(stmt.target) is not None
            and isinstance(stmt.value, (cst.Integer, cst.Float))
        )
        fx = _Effects(may_raise=not isinstance(stmt.target, cst.Name) and not counter)
        if isinstance(stmt.operator, cst.AddAssign) and isinstance(
            stmt.value, (cst.List, cst.Tuple)
        ):
            # ``sockets += [a, b]`` is ``sockets.extend([a, b])``: the list keeps them (first
            # contact round 6, trio)
            self.escape(stmt.value, fx)
        else:
            self.consume(stmt.value, fx)
        self.consume(stmt.target, fx)
        return self.apply(fx, state, stmt)

    def stmt_Return(self, stmt: cst.Return, state: _State) -> _MaybeState:
        fx = _Effects()
        if stmt.value is not None:
            self.escape(stmt.value, fx)
        state = self.apply(fx, state, stmt)
        self.return_(state, stmt)
        return None

    def stmt_Raise(self, stmt: cst.Raise, state: _State) -> _MaybeState:
        fx = _Effects()
        for part in (stmt.exc, stmt.cause):
            if part is not None:
                self.consume(part, fx)
        state = self.apply(fx, state, stmt)
        self.raise_(state, stmt)
        return None

    def stmt_Assert(self, stmt: cst.Assert, state: _State) -> _MaybeState:
        fx = _Effects(may_raise=True)
        self.consume(stmt.test, fx)
        if stmt.msg is not None:
            self.consume(stmt.msg, fx)
        return self.apply(fx, state, stmt)

    def stmt_Break(self, stmt: cst.Break, state: _State) -> _MaybeState:
        for oid in state.open_ids():
            self.broken.setdefault(oid, stmt)
        self.jump(state, "brk")
        return None

    def stmt_Continue(self, stmt: cst.Continue, state: _State) -> _MaybeState:
        self.jump(state, "cont")
        return None

    def stmt_Del(self, stmt: cst.Del, state: _State) -> _MaybeState:
        fx = _Effects()
        names: list[str] = []
        for target in _flatten_targets(stmt.target):
            if isinstance(target, cst.Name):
                names.append(target.value)
            else:
                fx.may_raise = True
                self.consume(target, fx)
        state = self.apply(fx, state, stmt)
        if state is not None:
            for name in names:
                self.unbind(state, name, stmt)
        return state

    def stmt_Import(self, stmt: cst.Import, state: _State) -> _MaybeState:
        state = self.apply(_Effects(may_raise=True), state, stmt)
        for alias in stmt.names:
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.bind(state, alias.asname.name.value, [], stmt)
            else:
                self.bind(state, (dotted_name(alias.name) or "").split(".")[0], [], stmt)
        return state

    def stmt_ImportFrom(self, stmt: cst.ImportFrom, state: _State) -> _MaybeState:
        state = self.apply(_Effects(may_raise=True), state, stmt)
        if not isinstance(stmt.names, cst.ImportStar):
            for alias in stmt.names:
                target = alias.asname.name if alias.asname is not None else alias.name
                if isinstance(target, cst.Name):
                    self.bind(state, target.value, [], stmt)
        return state


#: Methods that are coroutines whatever the object: not awaited, they do nothing (LL203).
_ALWAYS_COROUTINES = frozenset({"aclose", "__aexit__", "wait_closed"})


_COROUTINE_CLEANUP = Resource("coroutine", kind="coroutine", release=("aclose",), is_async=True)


def _comprehension_as_loop(stmt: cst.Expr) -> cst.For | None:
    """``[f(p) for p in (a, b)]`` as a statement, over a display of names: the loop it stands
    for, whose body is ``stmt`` itself (its nodes keep their positions; the loop's head over a
    display cannot raise, so it is never blamed). A generator expression runs nothing."""
    comp = stmt.value
    if not isinstance(comp, (cst.ListComp, cst.SetComp)):
        return None
    clause = comp.for_in
    if clause.inner_for_in is not None or clause.ifs or clause.asynchronous is not None:
        return None
    if not _iterated_names(clause.iter):
        return None
    line = cst.SimpleStatementLine(body=[stmt])
    return cst.For(target=clause.target, iter=clause.iter, body=cst.IndentedBlock(body=[line]))


def _is_true_constant(value: cst.BaseExpression) -> bool:
    return isinstance(value, cst.Name) and value.value == "True"


def _is_false_constant(value: cst.BaseExpression) -> bool:
    return isinstance(value, cst.Name) and value.value == "False"


def _sets_test_true(stmt: cst.SimpleStatementLine, test: cst.BaseExpression) -> bool:
    """``err = None`` before ``while not err:`` (or ``done = False`` / ``while not done``,
    ``go = True`` / ``while go``): the line binds the name the test reads to a constant that
    makes the test true, so the loop's body runs at least once."""
    last = stmt.body[-1]
    if not (
        isinstance(last, cst.Assign)
        and len(last.targets) == 1
        and isinstance(last.targets[0].target, cst.Name)
        and isinstance(last.value, cst.Name)
        and last.value.value in ("None", "False", "True")
    ):
        return False
    name, value = last.targets[0].target.value, last.value.value == "True"
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        test, value = test.expression, not value
    return isinstance(test, cst.Name) and test.value == name and value


#: The calls that end the program by raising SystemExit.
_PROCESS_EXITS = frozenset({"sys.exit", "builtins.exit", "builtins.quit"})


def _statement_call(stmt: cst.CSTNode) -> cst.Call | None:
    """The call a statement is made of: ``f()``, ``await f()``, ``x = f()``, ``if f():``."""
    expr = None
    if isinstance(stmt, cst.Expr):
        expr = stmt.value
    elif isinstance(stmt, (cst.Assign, cst.AnnAssign)):
        expr = stmt.value
    elif isinstance(stmt, (cst.If, cst.While)):
        expr = stmt.test
        if isinstance(expr, cst.UnaryOperation):
            expr = expr.expression
    if isinstance(expr, cst.Await):
        expr = expr.expression
    return expr if isinstance(expr, cst.Call) else None


def _is_manual_enter(expr: cst.BaseExpression) -> bool:
    """``await x.__aenter__()`` / ``x.__enter__()``: blamed as LL202, not as a raise point."""
    if isinstance(expr, cst.Await):
        expr = expr.expression
    return (
        isinstance(expr, cst.Call)
        and isinstance(expr.func, cst.Attribute)
        and expr.func.attr.value in _MANUAL_ENTER
    )
