"""Calls in the obligation analysis: the qualified name of a callee, what the registry or the
project's summaries say it does, and the effects of a call on the resources it is given or
called on (``_call_effects``); calls that end the process or collect garbage.
"""

from __future__ import annotations

import sys

import libcst as cst

from leaklint.analysis import ownership
from leaklint.analysis.cst_questions import (
    _MANUAL_ENTER,
    _borrows,
    _receiver_key,
    _releases,
    _statement_call_of,
)
from leaklint.analysis.names import Scope, dotted_name
from leaklint.analysis.state import _Effects, _Item


class CallsMixin:
    """What a call does: its callee's name, the registry's or the summaries' word on it, and its
    effects.

    Analyser attributes it assigns: ``in_message``, ``patched``, ``visits``. It reads (or
    changes in place): ``called_on``, ``class_name``, ``ctx``, ``evidence``,
    ``expecting_raise``, ``in_init``, ``last_call``, ``method_receivers``, ``receiver_types``,
    ``receivers``, ``registry``, ``scope``, ``self_name``, ``statement_calls``. Methods of the
    other parts it calls: ``cannot_raise``, ``consume``, ``consume_items``, ``escape``, ``factory``,
    ``factory_args``, ``format_into``, ``hand``, ``keeps_without_releasing``,
    ``project_takes``, ``self_attribute``, ``value_of``. The attributes are made in
    ``_ScopeAnalyser.__init__`` (obligations.py).
    """

    def ends_process(self, stmt: cst.CSTNode) -> str | None:
        """``os._exit(n)``/``os.abort()`` ("exit"), ``os.execv(...)`` or any ``os.exec*``
        ("exec"), as a statement, named through this scope's imports (``from os import
        _exit``, ``import os as system``; not a local object called ``os``): the process ends
        here and no ``finally`` runs (unlike ``sys.exit()``, which raises SystemExit); an
        exec that fails raises instead."""
        call = _statement_call_of(stmt)
        head, _, last = ((self.qualname(call.func) if call else None) or "").rpartition(".")
        if head not in ("os", "posix"):
            return None
        if last in ("_exit", "abort"):
            return "exit"
        return "exec" if last.startswith("exec") else None

    def collects_garbage(self, stmt: cst.CSTNode) -> bool:
        """``gc.collect()``, ``test.support.gc_collect()`` as a statement, named through this
        scope's imports."""
        call = _statement_call_of(stmt)
        name = (self.qualname(call.func) if call else None) or ""
        return name == "gc.collect" or name.rsplit(".", 1)[-1] == "gc_collect"

    def qualname(self, node: cst.BaseExpression | None) -> str | None:
        if node is None or not isinstance(node, (cst.Name, cst.Attribute)):
            return None
        return self.scope.resolve(node)

    def callee_name(self, func: cst.BaseExpression) -> str | None:
        """Qualified name of a callee, ``self.m``/``cls.m`` included (as ``Class.m``)."""
        return self.receiver_types.callee(func)

    def note_call(self, call: cst.BaseExpression, fx: _Effects) -> None:
        """Remember ``holder.method(...)`` calls; one that opens a lazy object (``engine.connect()``
        is a checkout and opens the engine) opens it even when it is a factory itself."""
        if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute):
            holder = _receiver_key(call.func)
            if holder is not None:
                self.called_on.add((holder, call.func.attr.value))
                self.visits += 1
                self.last_call[(holder, call.func.attr.value)] = self.visits
                fx.touched.append((holder, call.func.attr.value))
                if not self.expecting_raise:
                    # under ``assertRaises`` it is meant to fail, as a factory there is: a
                    # ``conn.request()`` whose connect or handshake fails opens nothing
                    fx.opened.append((holder, call.func.attr.value))

    def value_of_call(self, call: cst.Call, fx: _Effects, escaping: bool = False) -> list[_Item]:
        if len(call.args) == 2 and self.qualname(call.func) in _IDENTITY_CASTS:
            # ``t.cast(t.IO[bytes], TemporaryFile())`` is its second argument (first contact
            # round 6, werkzeug): typing's cast returns what it is given
            return self.value_of(call.args[1].value, fx, escaping)
        items = self.call_effects(call, fx, escaping)
        made = self.evidence.get(id(call))
        if (
            made is not None
            and not made.on_receiver
            and not items
            and not self.expecting_raise
            # (``lock = DirLock(p).acquire()`` ... ``lock.release()``: a project acquire()
            # that gives its object back is summarised as returning no resource, and is one)
            and (not self.summarised(call) or (made.kind == "lock" and made.code == "LL140"))
            and self.registry.get(self.callee_name(call.func)) is None
        ):
            # ``conn = bind.connect()`` ... ``conn.close()``: the code's own release says so;
            # its arguments are treated as any call's (a constructor's are kept)
            return [("new", call, made, None)]
        return items

    def holder_name(self, expr: cst.BaseExpression) -> str | None:
        """The name an obligation on ``expr`` is held under: ``f``, ``self.response``."""
        if isinstance(expr, cst.Name):
            return expr.value
        attr = self.self_attribute(expr)
        return f"{self.self_name}.{attr}" if attr is not None else None

    def known_callee(self, func: cst.BaseExpression) -> bool:
        """A callee of the standard library or the builtins: the registry (built from the
        whole stdlib, tools/stdlib_inventory.py) already says whether it acquires, so a
        ``close()`` on what it gives is no evidence (``StringIO()``, ``FeedParser()``)."""
        if not isinstance(func, (cst.Name, cst.Attribute)):
            # ``factories[kind](sql)``, ``make()(sql)``: a callable picked from data is no
            # more telling than ``factory()`` given as a parameter
            return True
        qualname = self.qualname(func)
        root = qualname.split(".", 1)[0] if qualname else None
        if root is not None and (root == "builtins" or root in sys.stdlib_module_names):
            return True
        if isinstance(func, cst.Attribute) and (
            func.attr.value.startswith("__")
            or (isinstance(func.value, cst.Name) and func.value.value in ("self", "cls"))
        ):
            # ``self.ioclass(buf)``, ``coro.__await__()``: what a test case's hook or a
            # protocol method gives (an in-memory stream, an iterator) is no evidence
            return True
        # ``gen()`` of a nested def, ``wr()`` of a loop's weak reference, ``factory()`` given
        # as a parameter: a function's own names say nothing of what they make
        scope: Scope | None = self.scope
        while isinstance(func, cst.Name) and scope is not None and scope.kind == "function":
            if func.value in scope.params or func.value in scope.bindings:
                return True
            scope = scope.parent
        return False

    def summarised(self, call: cst.Call) -> bool:
        """A class or function of the checked code: its summary, not the evidence from use,
        says whether it acquires (a ``Parser()`` that holds nothing has a ``close()`` too)."""
        project = self.ctx.project
        callee = self.callee_name(call.func)
        if project is None or callee is None:
            return False
        return callee in project.classes or callee in project.functions

    def installs(self, call: cst.Call) -> bool:
        """``set_event_loop(loop)`` where this function calls no method of ``loop``: it
        installs the loop for others and keeps no use of it (first contact round 12,
        datasette). One it runs itself (``loop.run_until_complete``) stays its own to close
        (leakfixes LF054, LF055)."""
        if not call.args or call.args[0].keyword is not None or call.args[0].star:
            return False
        arg = call.args[0].value
        return isinstance(arg, cst.Name) and arg.value not in self.method_receivers

    def gives_itself_back(self, receiver: list[_Item], method: str) -> bool:
        """Is ``method`` of each object ``receiver`` holds a project method that ends in
        ``return self`` (``FunctionFacts.returns_self``), found on its class or a base?"""
        project = self.ctx.project
        if project is None or not receiver:
            return False
        for item in receiver:
            if item[0] == "new":
                types = [item[2].qualname]
            elif item[0] == "name":
                types = self.scope.types_of(item[1])
            else:
                return False
            if not types or not all(self.returns_self(t, method) for t in types):
                return False
        return True

    def returns_self(self, class_name: str, method: str) -> bool:
        """The first definition of ``method`` up the class's lineage ends in ``return self``."""
        project = self.ctx.project
        assert project is not None
        for name, _ in project.lineage(project.canonical(class_name)):
            if name is None:
                return False
            facts = project.functions.get(f"{name}.{method}")
            if facts is not None:
                return facts.returns_self
        return False

    def call_effects(self, call: cst.Call, fx: _Effects, escaping: bool = False) -> list[_Item]:
        message = _is_message_call(call.func)
        self.in_message += message
        try:
            return self._call_effects(call, fx, escaping)
        finally:
            self.in_message -= message

    def _call_effects(self, call: cst.Call, fx: _Effects, escaping: bool) -> list[_Item]:
        func = call.func
        self.note_call(call, fx)
        if self.ctx.project is not None:
            callee = self.callee_name(func)
            if callee is not None:
                self.patched |= self.ctx.project.patches_of(callee)
        if not self.cannot_raise(call):
            fx.may_raise = True
        resource = self.factory(call)
        if resource is None and isinstance(func, cst.Attribute) and (
            isinstance(func.value, cst.Name) or self.self_attribute(func.value) is not None
        ):
            # ``cm.__aenter__()``, ``self.cm...``; not one meant to fail (``assertRaises``)
            resource = None if self.expecting_raise else _MANUAL_ENTER.get(func.attr.value)
        if resource is not None and resource.on_receiver:
            holder = _receiver_key(func)
            # only a call that is the statement itself (or its test, or the value assigned):
            # ``create_task(sem.acquire())`` acquires in another task
            if holder is not None and id(call) in self.statement_calls:
                fx.on_receiver.append((call, resource, holder))
                self.receivers.add(holder)
            resource = None  # ``lock.acquire()`` returns a flag, not a resource
        if resource is not None:
            self.factory_args(call, resource, fx)
            return [("new", call, resource, None)]
        drained = _drained_argument(call, self.qualname(func))
        if drained is not None:
            # ``json.load(resp)``: reads it to the end, as ``resp.read()`` does
            fx.method_uses.append((drained, "read()"))
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            receiver = self.value_of(func.value, fx)
            fx.method_args.extend(
                (arg.value.value, method) for arg in call.args if isinstance(arg.value, cst.Name)
            )
            # ``resp.read()``: a release of its own when the registry says "read()"
            called = (method, f"{method}()") if not call.args else (method,)
            if self.gives_itself_back(receiver, method):
                # ``Broker().with_middlewares(m)``: a builder's ``return self`` gives the new
                # object back, still owed (first contact round 11, taskiq's brokers)
                for item in receiver:
                    if item[0] == "name":
                        fx.method_uses.extend((item[1], m) for m in called)
                takes = self.project_takes(call)
                for number, arg in enumerate(call.args):
                    kept = takes is not None and number < len(takes) and takes[number]
                    (self.escape if kept else self.consume)(arg.value, fx)
                return receiver
            for item in receiver:
                if item[0] == "name":
                    fx.method_uses.extend((item[1], m) for m in called)
                elif item[0] == "new" and any(_releases(item[2], m) for m in called):
                    pass  # ``open(p, "w").close()``: the touch idiom releases at once
                else:
                    self.consume_items(
                        [item], fx, opened=item[0] == "new" and item[2].opened_by(method)
                    )
            if method == "format" and isinstance(
                func.value, (cst.SimpleString, cst.ConcatenatedString)
            ):
                for arg in call.args:
                    self.format_into(arg.value, fx)
                return []
            if method in ("__enter__", "__aenter__"):
                # ``x = x.__enter__()``: what it gives back is the object itself
                return [item for item in receiver if item[0] == "name"]
            if isinstance(func.value, cst.Name) and ownership.releases_argument(
                set(self.scope.types_of(func.value.value)), method
            ):
                for arg in call.args:  # ``parser.parse(open(p))`` closes what it parsed
                    items = self.value_of(arg.value, fx)
                    fx.released.extend(i[1] for i in items if i[0] == "name")
                return []
            if method in ownership.WRAPPING_METHODS:
                # ``s = ctx.wrap_socket(s)``: the wrapper takes the socket once it is built; a
                # handshake that raised took nothing, and the handler's path still owns it
                for arg in call.args:
                    self.hand(arg.value, fx)
                return []
            if ownership.is_owning_method(method) or method == "__init__":
                for arg in call.args:
                    self.escape(arg.value, fx)
                return []
            if self.in_init and self.ctx.project is not None and self.class_name is not None:
                # ``self.server_close()`` closes self.socket: the class summary says so
                for attr in self.ctx.project.released_by(self.class_name, method):
                    fx.released.append(f"{self.self_name}.{attr}")
            if (
                _is_own_method(func)
                and self.project_takes(call) is None
                and not method.startswith(ownership.CHECKING_METHOD_PREFIXES)
            ):
                # ``self.initfp(f)``, ``cls.taropen(..., fileobj)``: the object takes it
                escaping = True
        else:
            if isinstance(func, cst.Name) and func.value in self.releasers:
                # ``abort()`` given with ``f`` by ``f, commit, abort = store.add_pack()``
                fx.released.extend(sorted(self.releasers[func.value]))
            self.consume(func, fx)
        for arg in call.args:
            if isinstance(arg.value, cst.Name) and arg.value.value in self.releasers:
                # ``assertRaises(E, commit)``, ``addCleanup(abort)``: whoever it is given to
                # calls it, as ``addCleanup(f.close)``
                fx.released.extend(sorted(self.releasers[arg.value.value]))
        qualname = self.qualname(func) or dotted_name(func) or ""
        project = self.ctx.project
        callee = self.callee_name(func)
        if project is not None and callee in project.classes and self.keeps_without_releasing(
            callee
        ):
            # ``FileUpload(open(p), ...)`` of a class that never releases what it keeps: not
            # a hand-off (issue 23, honest hand-offs); the object holds it, and whoever holds
            # the object owes it (dropped, it leaks; returned, the caller owes it)
            inner = [item for arg in call.args for item in self.value_of(arg.value, fx)]
            return [("contained", inner, True)] if inner else []
        known = self.registry.get(qualname)
        if known is not None and known.borrow_when and _borrows(call, known, self.scope):
            # ``GzipFile(fileobj=f)``, ``open(fd, closefd=False)``: a wrapper that borrows
            # leaves what it is given to its owner
            for arg in call.args:
                self.consume(arg.value, fx)
            return []
        if qualname in ownership.INSTALLING_FUNCTIONS and self.installs(call):
            # ``asyncio.set_event_loop(loop)`` of a loop this function never runs nor
            # closes: made to be the thread's current loop, whoever runs that owns it
            self.escape(call.args[0].value, fx)
            return []
        takes = self.project_takes(call)
        builds = ownership.is_constructor_name(qualname) or (
            project is not None and callee in project.classes
        )
        if takes is not None:
            # a function of this run: its summary says which arguments it keeps or releases,
            # and which it reads to their end (``Error.from_response(resp)`` reads resp.text)
            for index, arg in enumerate(call.args):
                held = self.holder_name(arg.value)
                if held is not None and not arg.star and callee is not None:
                    keyword = arg.keyword.value if arg.keyword is not None else None
                    fx.method_uses.extend(
                        (held, use)
                        for use in sorted(project.drains_argument(callee, index, keyword))
                    )
            for arg, kept in zip(call.args, takes):
                if kept and builds:
                    self.hand(arg.value, fx)
                elif kept:
                    self.escape(arg.value, fx)
                else:
                    self.consume(arg.value, fx)
        elif builds and qualname not in ownership.OWNING_FUNCTIONS:
            for arg in call.args:
                self.hand(arg.value, fx)
        elif qualname in ownership.OWNING_FUNCTIONS or ownership.runs_coroutine(qualname):
            for arg in call.args:
                self.escape(arg.value, fx)
        elif ownership.is_releasing_callee(qualname):
            for arg in call.args:
                items = self.value_of(arg.value, fx)
                fx.released.extend(i[1] for i in items if i[0] == "name")
        elif escaping and not ownership.consumes(qualname):
            # ``return addinfourl(fp)`` hands fp on; ``return len(f)``, ``json.load(f)`` do not
            for arg in call.args:
                self.escape(arg.value, fx)
        else:
            for arg in call.args:
                self.consume(arg.value, fx)
        return []


_IDENTITY_CASTS = frozenset({"typing.cast", "typing_extensions.cast"})


def _drained_argument(call: cst.Call, qualname: str | None) -> str | None:
    """The name ``call`` reads to its end (``ownership.READS_TO_THE_END``): ``json.load(resp)``,
    ``shutil.copyfileobj(resp, f)``."""
    position = ownership.READS_TO_THE_END.get(qualname or "")
    if position is None or len(call.args) <= position:
        return None
    arg = call.args[position]
    if arg.keyword is not None or arg.star or not isinstance(arg.value, cst.Name):
        return None
    return arg.value.value


#: Callees whose arguments are messages: what is formatted into them is shown, not run.
_MESSAGE_CALLEES = frozenset(
    {
        "print", "debug", "info", "warning", "warn", "error", "exception", "critical", "log",
        "write", "fail", "skipTest", "format_exc", "AssertionError", "RuntimeError",
        "ValueError", "OSError", "Exception",
    }
)


def _is_message_call(func: cst.BaseExpression) -> bool:
    """``print(...)``, ``log.debug(...)``, ``sys.stderr.write(...)``, ``self.fail(...)``,
    ``assertEqual(...)`` and the like, ``raise ValueError(...)``."""
    name = func.attr.value if isinstance(func, cst.Attribute) else (
        func.value if isinstance(func, cst.Name) else None
    )
    return name is not None and (name in _MESSAGE_CALLEES or name.startswith("assert"))


def _is_own_method(func: cst.Attribute) -> bool:
    """``self.m``, ``cls.m``, ``super().m``: a method of the class being written."""
    receiver = func.value
    if isinstance(receiver, cst.Name):
        return receiver.value in ("self", "cls")
    return (
        isinstance(receiver, cst.Call)
        and isinstance(receiver.func, cst.Name)
        and receiver.func.value == "super"
    )
