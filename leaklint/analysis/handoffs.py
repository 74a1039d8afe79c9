"""Ownership policy of the obligation analysis: who takes what. Resources stored on ``self`` and
the class's methods that release them (LL120), paired ``acquire()``/``release()`` methods,
what a project's callee keeps or releases by its summary, and which calls are factories of a
resource.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import libcst as cst

from leaklint.analysis.cst_questions import _borrows, _flat_items, _passes, _walk_expression
from leaklint.analysis.leaks import Leak
from leaklint.analysis.names import SameScopeVisitor
from leaklint.analysis.state import OPEN, _Item, _State
from leaklint.analysis.summaries import _PLAIN_BASES, is_releasing
from leaklint.resources import Resource


class OwnershipMixin:
    """Who takes what: stores on ``self`` and the methods that release them, hand-offs to
    project callees and constructors, factories.

    Analyser attributes it assigns: ``_self_releases``. It reads (or changes in place):
    ``class_name``, ``ctx``, ``evidence``, ``exception_exits``, ``expecting_raise``,
    ``in_init``, ``init_raises``, ``method``, ``method_name``, ``mocked``, ``obligations``,
    ``patched``, ``pending``, ``receiver_types``, ``registry``, ``repending``, ``scope``,
    ``self_name``. Methods of the other parts it calls: ``bind``, ``callee_name``,
    ``escape_items``, ``qualname``. The attributes are made in ``_ScopeAnalyser.__init__``
    (obligations.py).
    """

    def paired_release(self, holder: str) -> bool:
        """In a class's ``acquire()`` (``__enter__``, ``lock()``...), ``self.X`` that the
        class's own ``release()`` (``__exit__``, ``unlock()``...) releases: a lock wrapper's
        acquire returns holding it, by its contract (first contact round 4, tqdm's
        ``_InterpreterLock.acquire``)."""
        counterpart = _PAIRED_RELEASE.get(self.method_name or "")
        project = self.ctx.project
        if counterpart is None or project is None or self.class_name is None:
            return False
        head, _, attr = holder.partition(".")
        if head != self.self_name or not attr or "." in attr:
            return False
        for method in counterpart:
            # the release() the class has, its own or a project base's
            owner, _, _ = self.receiver_types.method_of(self.class_name, method).rpartition(".")
            if attr in project.released_by(owner, method):
                return True
        return False

    def released_by_method(self, name: str) -> frozenset[str]:
        """The attributes of self the class's method ``name`` releases (none when ``name`` is
        no method of the class)."""
        project = self.ctx.project
        if project is None or self.class_name is None:
            return frozenset()
        facts = project.classes.get(self.class_name)
        if facts is None or name not in facts.methods:
            return frozenset()
        return project.released_by(self.class_name, name)

    def released_across_methods(self, holder: str) -> bool:
        """``self.X.acquire()`` where another method of the class (or of a project base)
        releases ``self.X``: the class holds it from one call to the next by design, a
        semaphore's slot kept for a message until its ``ack()`` (first contact round 8,
        dramatiq's ``_StubConsumer.__next__``); a method releasing it on its way out of its
        own acquisition does not count."""
        project = self.ctx.project
        if project is None or self.class_name is None:
            return False
        head, _, attr = holder.partition(".")
        if head != self.self_name or not attr or "." in attr:
            return False
        for name, facts in project.lineage(self.class_name):
            if facts is None:
                continue
            for method, released in facts.method_releases.items():
                if (name, method) == (self.class_name, self.method_name):
                    continue
                if attr in released and attr not in facts.method_refreshes.get(method, ()):
                    return True
        return False

    def report_owner(self, class_name: str) -> None:
        """LL120: what the class stores on self and no method of it (or its bases) releases."""
        project = self.ctx.project
        stores = self.ctx.self_stores.pop(class_name, [])
        if project is None:
            return
        facts = project.classes.get(class_name)
        exits = {m for m in ("__exit__", "__aexit__") if facts is not None and m in facts.methods}
        released_on_exit: set[str] = set()
        for method in exits:
            released_on_exit |= project.released_by(class_name, method)
        for attr, call, resource, method in stores:
            if resource.qualname == class_name:
                continue  # a class keeping another instance of itself: a linked structure
            if method in ("__enter__", "__aenter__") and exits and attr not in released_on_exit:
                if _exited_manager(call, facts):
                    # ``self._nursery = await self._manager.__aenter__()``, released by
                    # ``await self._manager.__aexit__(...)``: the manager's exit is its release
                    continue
                # LL162: entered, never released by the exit
                self.ctx.leaks.append(
                    Leak("enter-not-released", call, resource, f"self.{attr}",
                         _ClassRef(class_name, method))
                )
                continue
            if project.releases_attr(class_name, attr, resource) is False:
                self.ctx.leaks.append(
                    Leak("owner-never-releases", call, resource, f"self.{attr}",
                         _ClassRef(class_name))
                )

    def self_attribute(self, node: cst.BaseExpression) -> str | None:
        """``self.x`` inside a method: "x"."""
        return self.receiver_types.self_attribute(node)

    def store_on_self(
        self, attr: str, items: list[_Item], state: _State, stmt: cst.CSTNode
    ) -> None:
        """``self.x = resource``: the object owns it (LL120 checks that it releases it). In
        ``__init__`` the object only exists once ``__init__`` returns: until then an exception
        leaks what was stored, so it stays tracked under the name ``self.x``."""
        pseudo = f"{self.self_name}.{attr}"
        stored: list[tuple[cst.Call, Resource]] = []
        for item in _flat_items(items):
            if item[0] == "new":
                stored.append((item[1], item[2]))
            elif item[0] == "name":
                # not one released on every path already: ``self.addCleanup(s.server_close)``
                # before ``self._server = s`` (first contact round 13, dulwich's web tests)
                stored.extend(
                    (self.obligations[oid].call, self.obligations[oid].resource)
                    for oid in state.names.get(item[1], frozenset())
                    if state.status.get(oid, OPEN) & OPEN
                )
        # ``self.cassette = cm.__enter__()`` with ``self.addCleanup(cm.__exit__, ...)``: the
        # manager's exit, called or handed on here, releases it (vcrpy's ``VCRMixin.setUp``,
        # first contact round 14)
        stored = [(call, r) for call, r in stored if not _exit_in_method(call, self.method)]
        if self.class_name is not None:
            records = self.ctx.self_stores.setdefault(self.class_name, [])
            records.extend((attr, call, resource, self.method_name) for call, resource in stored)
        if self.in_init:
            self.bind(state, pseudo, [i for i in items if i[0] in ("new", "name")], stmt)
            for oid in state.names.get(pseudo, frozenset()):
                self.pending.add(oid)
                if oid in self.exception_exits and oid not in self.init_raises:
                    self.repending.add(oid)
        elif self.method_owns(attr):
            self.bind(state, pseudo, [i for i in items if i[0] in ("new", "name")], stmt)
        else:
            self.escape_items(items, state)

    def method_owns(self, attr: str) -> bool:
        """``self.d = dbm.open(p)`` ... ``self.d.close()`` in one method, and nothing else (no
        other method of the class or of its bases, no code outside it) releases or takes
        ``self.d``: the method uses the attribute as a local of its own, so it must release it
        on every path; an exception that skips the release leaves it open on an object nobody
        will close it through."""
        project = self.ctx.project
        if (
            project is None
            or self.class_name is None
            or self.method is None
            or self.self_name is None
            or self.method_name is None
        ):
            return False
        facts = project.classes.get(self.class_name)
        # it makes its own (``self.f.close(); self.f = open(p)`` reopens for the object)
        if facts is None or attr not in facts.method_refreshes.get(self.method_name, ()):
            return False
        if self._self_releases is None:
            self._self_releases = _self_attrs_released(self.method, self.self_name)
        return attr in self._self_releases and not project.released_elsewhere(
            self.class_name, attr, self.method_name
        )

    def project_takes(self, call: cst.Call) -> list[bool] | None:
        """Per argument: does this run's summary of the callee say it keeps/releases it?"""
        project = self.ctx.project
        if project is None:
            return None
        callee = self.callee_name(call.func)
        if (
            self.class_name is not None
            and isinstance(call.func, cst.Name)
            and call.func.value == "cls"
            and self.qualname(call.func) is None
        ):
            callee = self.class_name  # ``cls(fileobj)`` in a classmethod: this class's own
        if callee is not None and callee in project.classes:
            # a class of the project, whatever its name's case (``asyncore.dispatcher(sock)``):
            # what the __init__ its lineage gives it keeps
            init = self.constructor_of(callee)
            if init is None:
                return [True] * len(call.args)  # a base outside the project may keep it
            if init == "":
                return [False] * len(call.args)  # ``object.__init__``: keeps nothing
            callee = init
        if callee is None or callee not in project.functions:
            return None
        out = []
        for index, arg in enumerate(call.args):
            keyword = arg.keyword.value if arg.keyword is not None else None
            if arg.star:
                out.append(True)
                continue
            out.append(bool(project.takes_argument(callee, index, keyword)))
        return out

    def constructor_of(self, class_name: str) -> str | None:
        """The ``__init__`` a project class runs: its own or the first a project base in its
        lineage defines; "" when there is none and every base is plain ``object`` (and the
        class, defined in this module, has no decorator that could write one nor a
        ``__new__``: a dataclass keeps its fields); None when a base outside the project
        might define it."""
        project = self.ctx.project
        assert project is not None
        for name, facts in project.lineage(class_name):
            if facts is None:
                if name not in ("builtins.object", "typing.Generic"):
                    return None
                continue
            if f"{name}.__init__" in project.functions:
                return f"{name}.__init__"
            if "__new__" in facts.methods or "__init__" in facts.methods:
                return None
            if name not in self.ctx.plain_classes:
                return None  # decorated, or defined where we cannot see its decorators
        return ""

    def keeps_without_releasing(self, class_name: str) -> bool:
        """A project class (its bases too, all the project's or plain) with no method that
        releases (``close``, ``__exit__``, ``__del__``...), no attribute it hands on or
        releases, and none that code elsewhere releases through it (``up.file.close()``):
        what it is given is never released through it."""
        project = self.ctx.project
        assert project is not None
        for name, facts in project.lineage(class_name):
            if facts is None:
                if name in _PLAIN_BASES:
                    continue
                return False  # a base outside the project may release it
            attrs = facts.attr_calls.keys() | facts.stores.keys()
            if (
                facts.handed - facts.methods  # (``self._copy(...)`` calls, hands nothing)
                or any(is_releasing(m) or m in _EXITS for m in facts.methods)
                or any(is_releasing(m) for calls in facts.attr_calls.values() for m in calls)
                or attrs & project.released_outside
            ):
                return False
        return True

    def factory(self, node: cst.BaseExpression) -> Resource | None:
        """The resource a call acquires, unless its arguments say it only borrows one, the
        call is expected to fail (``assertRaises``) or the factory is patched by a mock."""
        if not isinstance(node, cst.Call) or self.expecting_raise:
            return None
        qualname = self.callee_name(node.func)
        if qualname is not None and self.mocked and (
            qualname.rsplit(".", 1)[-1] in self.mocked or qualname in self.mocked
        ):
            return None
        resource = self.registry.get(qualname) or self.method_factory(node.func)
        if resource is None:
            # ``self._lock.acquire()`` ... ``self._lock.release()``: evidence from use
            made = self.evidence.get(id(node))
            return made if made is not None and made.on_receiver else None
        if not resource.tracked:
            return None
        if self.mocked and (
            resource.qualname in self.mocked  # ``conn.getresponse()`` under a cassette
            or any(
                use.rsplit(".", 1)[-1] in self.mocked or use in self.mocked
                for use in resource.uses
            )
        ):
            return None  # ``mock.patch("fabric.connection.SSHClient")``: it opens a fake
        if self.patched and (qualname in self.patched or self.patched.intersection(resource.uses)):
            return None  # ``http.client.HTTPConnection = Fake``: urlopen() opens the fake
        if resource.borrow_when and _borrows(node, resource, self.scope):
            return None
        if resource.acquire_when:
            if _passes(node, resource.acquire_when):
                return dataclasses.replace(resource, opens_on=()) if resource.opens_on else resource
            if not resource.opens_on:
                return None
        return resource

    def method_factory(self, func: cst.BaseExpression) -> Resource | None:
        """``pool.getconn()``, ``conn.cursor()``, ``Session()`` (a sessionmaker), by the type
        of the receiver (``receivers.ReceiverTypes``): the first it may have that the
        registry has the method of."""
        if isinstance(func, cst.Attribute):
            receiver, method = func.value, func.attr.value
        elif isinstance(func, cst.Name):
            receiver, method = func, "__call__"
        else:
            return None
        if method not in self.ctx.receiver_methods:
            return None
        for type_name in self.receiver_types.of(receiver):
            resource = self.registry.method(type_name, method)
            if resource is not None:
                if not resource.outlives_receiver and self.receiver_types.only_entered(receiver):
                    return None  # dies with its receiver, whose ``with`` block closes it
                return resource
        return None


@dataclass(frozen=True, slots=True)
class _ClassRef:
    """The class an LL120 finding is about (named in the message, not positioned)."""

    qualname: str
    method: str = "__enter__"  # where an LL162 resource was acquired (``__aenter__``)


def _exit_in_method(call: cst.Call, method: cst.FunctionDef | None) -> bool:
    """``m.__enter__()`` (``__aenter__``) of a local manager ``m`` whose ``__exit__``
    (``__aexit__``) the method calls or hands on (``addCleanup(m.__exit__, None, None, None)``)."""
    func = call.func
    if (
        method is None
        or not isinstance(func, cst.Attribute)
        or func.attr.value not in ("__enter__", "__aenter__")
        or not isinstance(func.value, cst.Name)
    ):
        return False
    manager = func.value.value
    exits = _PAIRED_RELEASE[func.attr.value]
    return any(
        isinstance(node, cst.Attribute)
        and node.attr.value in exits
        and isinstance(node.value, cst.Name)
        and node.value.value == manager
        for node in _walk_expression(method.body)
    )


def _exited_manager(call: cst.Call, facts: object) -> bool:
    """``self.M.__enter__()``/``__aenter__()`` where the class calls ``self.M.__exit__`` or
    ``__aexit__``: what the enter gave back is the manager's to release, and its exit does."""
    func = call.func
    if facts is None or not isinstance(func, cst.Attribute) or func.attr.value not in (
        "__enter__", "__aenter__"
    ):
        return False
    holder = func.value
    if not (
        isinstance(holder, cst.Attribute)
        and isinstance(holder.value, cst.Name)
        and holder.value.value in ("self", "cls")
    ):
        return False
    calls = getattr(facts, "attr_calls", {}).get(holder.attr.value, frozenset())
    return bool(set(calls) & {"__exit__", "__aexit__"})


#: A method that takes a lock for its caller -> the methods of its class that give it back.
_PAIRED_RELEASE: dict[str, tuple[str, ...]] = {
    "acquire": ("release",),
    "__enter__": ("__exit__",),
    "__aenter__": ("__aexit__",),
    "lock": ("unlock",),
    "acquire_lock": ("release_lock",),
}


#: Methods that run when an object is done with: a class with one may release what it holds.
_EXITS = frozenset({"__exit__", "__aexit__", "__del__"})


class _SelfReleases(SameScopeVisitor):
    """``self.x.close()``: the attributes of self a method calls a releasing method on."""

    def __init__(self, self_name: str) -> None:
        self.self_name = self_name
        self.attrs: set[str] = set()
        # a release in an except handler only is clean-up on failure: on success the method
        # leaves the attribute to its object (celery's Cassandra backend, realworld X-005)
        self.handlers = 0

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self.handlers += 1

    def leave_ExceptHandler(self, original_node: cst.ExceptHandler) -> None:
        self.handlers -= 1

    def visit_ExceptStarHandler(self, node: cst.ExceptStarHandler) -> None:
        self.handlers += 1

    def leave_ExceptStarHandler(self, original_node: cst.ExceptStarHandler) -> None:
        self.handlers -= 1

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if (
            not self.handlers
            and isinstance(func, cst.Attribute)
            and is_releasing(func.attr.value)
            and isinstance(func.value, cst.Attribute)
            and isinstance(func.value.value, cst.Name)
            and func.value.value.value == self.self_name
        ):
            self.attrs.add(func.value.attr.value)


def _self_attrs_released(method: cst.FunctionDef, self_name: str) -> frozenset[str]:
    visitor = _SelfReleases(self_name)
    for stmt in method.body.body if isinstance(method.body, cst.IndentedBlock) else ():
        stmt.visit(visitor)
    return frozenset(visitor.attrs)
