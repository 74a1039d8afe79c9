"""The statement interpreter of the obligation analysis, exceptional edges: ``try``/``try*``
with its handlers, ``else`` and ``finally``, and ``with`` (entering, the body, leaving by
``__exit__``).
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from leaklint.analysis import ownership, protocols
from leaklint.analysis.cst_questions import _flat_items, _walk_expression
from leaklint.analysis.leaks import Leak
from leaklint.analysis.state import DONE, _Effects, _Frame, _Item, _join, _MaybeState, _State
from leaklint.analysis.testing import (
    _catches_raise,
    _ends_in_cleanup,
    _ends_in_fail,
    _expects_raise,
    _expects_resource_warning,
    _fails_at_once,
    _patched_names,
    _tries_for_the_error,
)


class TryWithMixin:
    """``try``/``try*`` and ``with``; clean-up blocks (``cleanup``) and what a suite releases
    (``released_in``).

    Analyser attributes it assigns: ``expecting_raise``, ``expecting_resource_warning``,
    ``in_cleanup``, ``mocked``. It reads (or changes in place): ``by_site``,
    ``cleanup_marks``, ``ctx``, ``frames``, ``obligations``. Methods of the other parts it
    calls: ``apply``, ``bind_target``, ``callee_name``, ``cannot_raise``, ``consume``,
    ``escape``, ``factory``, ``factory_args``, ``jump``, ``new_obligation``, ``note_call``,
    ``project_takes``, ``qualname``, ``raise_``, ``raising_body``, ``return_``, ``suite``,
    ``value_of``. The attributes are made in ``_ScopeAnalyser.__init__`` (obligations.py).
    """

    def stmt_Try(self, stmt: cst.Try | cst.TryStar, state: _State) -> _MaybeState:
        finally_frame = _Frame("finally") if stmt.finalbody is not None else None
        if finally_frame is not None:
            self.frames.append(finally_frame)
        handler_frame = (
            _Frame("handler", interrupts_only=all(map(_catches_interrupts_only, stmt.handlers)))
            if stmt.handlers
            else None
        )
        if handler_frame is not None:
            self.frames.append(handler_frame)
        # ``try: open(missing) except FileNotFoundError: pass else: self.fail(...)``, or
        # ``try: FileInput(bad); self.fail(...) except ValueError: pass``: the body is meant
        # to fail, as under ``assertRaises``
        expects_raise = bool(stmt.handlers) and (
            _fails_at_once(stmt.orelse)
            or _ends_in_fail(stmt.body)
            or _tries_for_the_error(stmt)
        )
        self.expecting_raise += expects_raise
        try:
            body_out = self.suite(stmt.body, state)
        finally:
            self.expecting_raise -= expects_raise
        outs: list[_MaybeState] = []
        if handler_frame is not None:
            self.frames.pop()
            caught = handler_frame.exc
            if caught is None and expects_raise and body_out is not None:
                # the body meant to fail raised in the model nowhere (``m[:] = b"x"`` on a
                # read-only map): its handler is still the way on when the else never returns
                caught = body_out.copy()
            released: set[int] = set()  # open when caught, released by a handler
            for handler in stmt.handlers:
                if caught is None:
                    continue
                hstate = caught.copy()
                if handler.type is not None:
                    fx = _Effects()
                    self.consume(handler.type, fx)
                    hstate = self.apply(fx, hstate, handler)
                if hstate is not None and handler.name is not None:
                    self.bind_target(handler.name.name, [], _Effects(), hstate, handler)
                released |= self.released_in(handler.body, caught)
                out = self.cleanup(handler.body, hstate)
                if out is not None:
                    out.blame = {}
                outs.append(out)
            if caught is not None and released and _catch_only_errors_of_use(stmt.handlers):
                # ``except AttributeError: f.close()`` covers that error only: what the body
                # raises otherwise (an OSError) leaves with what the handler would release
                passed = caught.copy()
                for oid in list(passed.open_ids()):
                    if oid not in released:
                        passed.status[oid] = DONE
                self.raise_(passed, None)
            # A typed handler is taken to catch what the body raises (no edge past it): the
            # exceptions it lets through are rarely the ones the body raises. Precision first.
        if stmt.orelse is not None and body_out is not None:
            body_out = self.suite(stmt.orelse.body, body_out)
        normal = _join(body_out, *outs)
        if finally_frame is None:
            return normal
        self.frames.pop()
        final = stmt.finalbody.body
        result = self.cleanup(final, normal) if normal is not None else None
        if finally_frame.exc is not None:
            self.raise_(self.cleanup(final, finally_frame.exc), None)
        if finally_frame.ret is not None:
            self.return_(self.cleanup(final, finally_frame.ret), finally_frame.ret_node)
        if finally_frame.brk is not None:
            self.jump(self.cleanup(final, finally_frame.brk), "brk")
        if finally_frame.cont is not None:
            self.jump(self.cleanup(final, finally_frame.cont), "cont")
        return result

    def released_in(self, suite: cst.BaseSuite, state: _State) -> set[int]:
        """The obligations open in ``state`` that ``suite`` calls a release method on."""
        calls = {
            (node.func.value.value, node.func.attr.value)
            for node in _walk_expression(suite)
            if isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and isinstance(node.func.value, cst.Name)
        }
        return {
            oid
            for oid in state.open_ids()
            for name in self.obligations[oid].names
            for method in self.obligations[oid].resource.release
            if (name, method) in calls
        }

    def cleanup(self, suite: cst.BaseSuite, state: _MaybeState) -> _MaybeState:
        """Run an except handler or finally block (see ``in_cleanup``)."""
        self.in_cleanup += 1
        self.cleanup_marks.append(len(self.obligations))
        try:
            return self.suite(suite, state)
        finally:
            self.in_cleanup -= 1
            self.cleanup_marks.pop()

    stmt_TryStar = stmt_Try

    def stmt_With(self, stmt: cst.With, state: _State) -> _MaybeState:
        suppress = False
        expects_raise = False
        catches = False
        warns = False
        patched: set[str] = set()
        cur: _MaybeState = state
        for item in stmt.items:
            if cur is None:
                return None
            expr = item.item
            # entering an existing object's context (``with f:``) or ``assertRaises(E)``
            # does not raise
            fx = _Effects(may_raise=not isinstance(expr, cst.Name) and not _expects_raise(expr)
                          and not self.enters_without_failing(expr))
            items: list[_Item] = []
            self.note_call(expr, fx)
            resource = self.factory(expr)
            if resource is not None and resource.is_async and not stmt.asynchronous:
                # ``with aiohttp.ClientSession()``: fails at run time, or leaks
                self.ctx.leaks.append(Leak("sync-with-async", expr, resource))
                self.factory_args(expr, resource, fx)
                resource = None
            elif resource is not None:
                assert isinstance(expr, cst.Call)
                self.factory_args(expr, resource, fx)
                if not resource.cm_closes:
                    items = [("new", expr, resource, None)]
            elif isinstance(expr, cst.Call) and self.qualname(expr.func) in (
                ownership.OWNING_FUNCTIONS
            ):
                for arg in expr.args:
                    self.escape(arg.value, fx)  # ``closing(f)``: released for us
            else:
                qualname = self.qualname(expr.func) if isinstance(expr, cst.Call) else None
                suppress = suppress or qualname in ownership.SUPPRESSING_CONTEXT_MANAGERS
                self.check_with_protocol(expr, stmt)
                expects_raise = expects_raise or _expects_raise(expr)
                catches = catches or _catches_raise(expr)
                warns = warns or _expects_resource_warning(expr)
                patched |= _patched_names(expr)
                if isinstance(expr, cst.Call):
                    # the context manager keeps what it is built from (``wrap_socket(sock)``),
                    # unless this run's summary of it says otherwise
                    self.value_of(expr.func, fx)
                    takes = self.project_takes(expr) or [True] * len(expr.args)
                    for arg, kept in zip(expr.args, takes):
                        (self.escape if kept else self.consume)(arg.value, fx)
                    value: list[_Item] = []
                else:
                    value = self.value_of(expr, fx)
                for entry in _flat_items(value):
                    if entry[0] == "name":
                        fx.method_uses.append((entry[1], "__exit__"))
                    elif entry[0] == "new" and not entry[2].cm_closes and not items:
                        items = [entry]  # ``with srv.accept()[0] as s``: entered, and closed
                        resource = entry[2]
            cur = self.apply(fx, cur, stmt)
            if cur is not None and item.asname is not None:
                self.bind_target(item.asname.name, items, fx, cur, stmt)
            elif cur is not None and items:
                self.new_obligation(cur, items[0], None)
            if items:
                _, call, _, index = items[0]
                self.obligations[self.by_site[(id(call), -1 if index is None else index)]].via_with = True
        if cur is None:
            return None
        # ``with pytest.raises(E):`` of several statements: see ``raising_body``
        split = (
            expects_raise and catches and len(stmt.body.body) > 1
            and not _ends_in_cleanup(stmt.body)
        )
        self.expecting_raise += expects_raise and not split
        self.expecting_resource_warning += warns
        mocked_before = self.mocked
        self.mocked = self.mocked | patched
        try:
            if suppress or split:
                frame = _Frame("suppress")
                self.frames.append(frame)
                if split:
                    out = self.raising_body(stmt.body.body, cur)
                else:
                    out = self.suite(stmt.body, cur)
                self.frames.pop()
                if frame.exc is not None:
                    frame.exc.blame = {}
                return _join(out, frame.exc)
            return self.suite(stmt.body, cur)
        finally:
            self.expecting_raise -= expects_raise and not split
            self.expecting_resource_warning -= warns
            self.mocked = mocked_before

    def enters_without_failing(self, expr: cst.BaseExpression) -> bool:
        """``with contextlib.suppress(OSError):``, ``with threading.Lock():``: building and
        entering it cannot fail (first contact round 6, trio: a leak blamed on the ``with``
        line of a suppress around a setsockopt)."""
        if not isinstance(expr, cst.Call) or not all(
            isinstance(arg.value, (cst.Name, cst.Attribute)) for arg in expr.args
        ):
            return False
        return self.qualname(expr.func) in ownership.SUPPRESSING_CONTEXT_MANAGERS or (
            self.cannot_raise(expr)  # (not under strict, as for any other call)
        )

    def check_with_protocol(self, expr: cst.BaseExpression, stmt: cst.With) -> None:
        """LL164: a project context manager in the kind of ``with`` it does not support."""
        project = self.ctx.project
        if project is None or not isinstance(expr, cst.Call):
            return
        callee = self.callee_name(expr.func)
        supported = project.protocols(callee) if callee else None
        wanted = "async" if stmt.asynchronous is not None else "sync"
        if supported and wanted not in supported:
            self.ctx.leaks.append(
                Leak("wrong-with", expr, protocols.CONTEXT_MANAGER, callee, wanted)
            )


#: Exception classes that signal a programming error or a lookup that failed, never a failed
#: operation on a file, socket or process: a handler for them only does not cover I/O errors.
_ERRORS_OF_USE = frozenset(
    {
        "AttributeError", "NameError", "TypeError", "KeyError", "IndexError", "LookupError",
        "ImportError", "ModuleNotFoundError", "NotImplementedError", "StopIteration",
        "StopAsyncIteration", "AssertionError", "UnboundLocalError", "RecursionError",
    }
)


def _caught_names(handler: cst.ExceptHandler) -> list[str] | None:
    """The plain names an ``except`` clause catches (``except (KeyError, IndexError):``);
    None for a bare ``except:`` or a class named otherwise (``except socket.error:``)."""
    kind = handler.type
    if kind is None:
        return None
    names = []
    for element in kind.elements if isinstance(kind, cst.Tuple) else [kind]:
        value = element.value if isinstance(element, cst.Element) else element
        if not isinstance(value, cst.Name):
            return None
        names.append(value.value)
    return names


def _catch_only_errors_of_use(handlers: Sequence[cst.ExceptHandler]) -> bool:
    """Every handler names only classes of ``_ERRORS_OF_USE`` (``except AttributeError:``,
    ``except (KeyError, IndexError):``): an OSError from the body passes them all."""
    for handler in handlers:
        names = _caught_names(handler)
        if names is None or not _ERRORS_OF_USE.issuperset(names):
            return False
    return True


def _catches_interrupts_only(handler: cst.ExceptHandler) -> bool:
    """``except KeyboardInterrupt:``: what it catches arrives from a signal between any two
    bytecodes, never raised by the call it interrupts."""
    names = _caught_names(handler)
    return names is not None and set(names) == {"KeyboardInterrupt"}
