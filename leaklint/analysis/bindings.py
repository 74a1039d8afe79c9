"""Binding names and applying effects, in the obligation analysis: assignment targets, what a
name holds and what is lost when it is rebound, new obligations, and the effects one
statement gathered (``_Effects``) applied to the state.
"""

from __future__ import annotations

import re

import libcst as cst

from leaklint.analysis.cst_questions import (
    _acquires_conditionally,
    _compared_names,
    _flat_items,
    _receiver_key,
    _releases,
    _subscript_key,
)
from leaklint.analysis.state import DONE, OPEN, _Effects, _Item, _MaybeState, _Obligation, _State
from leaklint.resources import Resource


class BindingsMixin:
    """Assignments and bindings, new obligations, and ``apply``: the effects of one statement
    applied to the state.

    Analyser attributes it assigns: none. It reads (or changes in place): ``awaited``,
    ``born``, ``by_call``, ``by_site``, ``children``, ``cleanup_marks``, ``collections``,
    ``conditional``, ``created``, ``ctx``, ``finalised``, ``frames``, ``given``,
    ``in_cleanup``, ``in_main_block``, ``kept_for_caller``, ``keys_set``, ``kind``,
    ``loop_targets``, ``obligations``, ``overwritten``, ``parts``, ``per_element``,
    ``process_ends_after``, ``rebinds``, ``receivers``, ``registry``, ``scope``, ``tests``,
    ``unbound``, ``visits``. Methods of the other parts it calls: ``consume``,
    ``consume_node``, ``hands_to_finaliser``, ``paired_release``, ``raise_``,
    ``released_across_methods``, ``self_attribute``, ``store_on_self``, ``value_of``. The
    attributes are made in ``_ScopeAnalyser.__init__`` (obligations.py).
    """

    def assign(
        self,
        targets: list[cst.BaseExpression],
        value: cst.BaseExpression,
        fx: _Effects,
        state: _State,
        stmt: cst.CSTNode,
    ) -> _MaybeState:
        pairwise = None
        stored = False
        if (
            len(targets) == 1
            and isinstance(targets[0], (cst.Tuple, cst.List))
            and isinstance(value, (cst.Tuple, cst.List))
            and len(targets[0].elements) == len(value.elements)
            and not any(isinstance(e, cst.StarredElement) for e in value.elements)
        ):
            pairwise = [self.value_of(e.value, fx) for e in value.elements]
            items: list[_Item] = []
        else:
            stored = any(isinstance(t, (cst.Attribute, cst.Subscript)) for t in targets)
            items = self.value_of(value, fx, escaping=stored)
        for target in targets:
            if not isinstance(target, cst.Name):
                self.target_effects(target, fx)
        post = self.apply(fx, state, stmt)
        if post is None:
            return None
        for target in targets:
            if pairwise is not None:
                for element, element_items in zip(targets[0].elements, pairwise):
                    self.bind_target(element.value, element_items, fx, post, stmt)
            else:
                self.bind_target(target, items, fx, post, stmt)
                if isinstance(target, cst.Name):
                    # ``a = b = open(p)``: one resource, two names
                    items = [("name", target.value)] + [i for i in items if i[0] != "new"]
        if pairwise is None and stored:
            # ``f = self.f = open(p)``: the object owns it, the name only borrows it
            for target in targets:
                if isinstance(target, cst.Name):
                    post.discharge(post.names.get(target.value, frozenset()))
        return post

    def target_effects(self, target: cst.BaseExpression, fx: _Effects) -> None:
        """Evaluate what a store target reads (``self.x``'s ``self``, ``d[k]``'s ``k``)."""
        if isinstance(target, cst.Attribute):
            self.consume(target.value, fx)
        elif isinstance(target, cst.Subscript):
            # storing into a container does not fail in practice (an unhashable key aside)
            self.consume(target.value, fx)
            key = _subscript_key(target)
            if key is not None:
                self.keys_set.setdefault(key[0], set()).add(key[1])
            for element in target.slice:
                self.consume_node(element.slice, fx)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self.target_effects(element.value, fx)
        elif isinstance(target, cst.StarredElement):
            self.target_effects(target.value, fx)

    def bind_target(
        self,
        target: cst.BaseExpression,
        items: list[_Item],
        fx: _Effects,
        state: _State,
        stmt: cst.CSTNode,
    ) -> None:
        if isinstance(target, cst.Name):
            self.bind(state, target.value, items, stmt)
            return
        if isinstance(target, (cst.Tuple, cst.List)):
            unpacked = _unpacked_items(items, len(target.elements)) or self.awaited_tuple(
                items, state
            )
            for index, element in enumerate(target.elements):
                self.bind_target(element.value, unpacked.get(index, []), fx, state, stmt)
            self.bind_releasers(target, items)
            if not unpacked:
                # ``a, b = f, g`` of a value that does not unpack resources: what we cannot
                # follow, we trust
                self.escape_items(items, state)
            return
        if isinstance(target, cst.StarredElement):
            self.bind_target(target.value, [], fx, state, stmt)
            self.escape_items(items, state)
            return
        attr = self.self_attribute(target)
        if attr is not None:
            self.store_on_self(attr, items, state, stmt)
            return
        # obj.x = ..., d[k] = ...: the object or container owns it now
        self.escape_items(items, state)
        if (
            isinstance(target, cst.Attribute)
            and isinstance(target.value, cst.Name)
            and not any(
                item[0] == "new" or (item[0] == "name" and state.names.get(item[1]))
                for item in _flat_items(items)
            )
        ):
            # ``conn.sock = FakeSocket()``: a lazy object given what it would have opened,
            # and not a resource we track, holds nothing of ours
            for oid in state.names.get(target.value.value, frozenset()):
                if target.attr.value in self.obligations[oid].resource.opens_on_attrs:
                    state.status[oid] = DONE
                    self.given.add(oid)

    def bind_releasers(self, target: cst.Tuple | cst.List, items: list[_Item]) -> None:
        """``f, commit, abort = store.add_pack()``: calling ``commit()`` or ``abort()``
        releases ``f`` (the factory's ``unpack_releasers``)."""
        names = [e.value.value if isinstance(e.value, cst.Name) else None for e in target.elements]
        for name in names:
            self.releasers.pop(name, None)
        for item in items:
            if item[0] != "new":
                continue
            for releaser, released in item[2].unpack_releasers:
                if max(releaser, released) < len(names) and names[releaser] and names[released]:
                    self.releasers.setdefault(names[releaser], set()).add(names[released])

    def made_fresh_here(self, name: str) -> bool:
        """``name = Factory(...)`` here, by anything but a project function that hands out
        what it keeps (``def shared_lock() -> Lock: return _LOCK``): a new object. A project
        function that returns what a call made (``return threading.Lock()``) makes one."""
        if not self.scope.made_here(name):
            return False
        project = self.ctx.project
        return project is None or not all(
            made_by in project.functions
            and made_by not in self.registry.by_name
            and not project.functions[made_by].returns
            for made_by in self.scope.made_by[name]
        )

    def bind(self, state: _State, name: str, items: list[_Item], stmt: cst.CSTNode) -> None:
        new: set[int] = set()
        for part in self.parts.get(name, ()):
            state.names.pop(part, None)  # ``fds[0]`` held what the old ``fds`` held
        for item in items:
            if item[0] == "new" and item[3] is None and item[2].unpack and _is_plain(name):
                # ``fds = os.pipe()``: one obligation per resource of the tuple, each held by
                # the tuple's name and by ``fds[i]`` (``os.close(fds[0])`` releases one)
                parts = self.parts.setdefault(name, [])
                for index in item[2].unpack:
                    part = f"{name}[{index}]"
                    oid = self.new_obligation(state, ("new", item[1], item[2], index), part)
                    state.names[part] = frozenset({oid})
                    self.obligations[oid].names.setdefault(part)
                    self.receivers.add(part)
                    if part not in parts:
                        parts.append(part)
                    new.add(oid)
            elif item[0] == "new":
                new.add(self.new_obligation(state, item, name))
            elif item[0] == "name":
                new |= state.names.get(item[1], frozenset())
            elif item[0] == "contained":
                if item[2:] == (True,) and self.kind == "function" and "." not in name:
                    # ``socks = [make(x) for x in xs]``: the local list holds what it was
                    # made with, and owes it (``release_each`` releases it)
                    kept = []
                    for element in _flat_items(item[1]):
                        if element[0] == "new":
                            oid = self.new_obligation(state, element, name)
                            self.collections.add(oid)
                            new.add(oid)
                        elif element[0] == "name" and _is_plain(element[1]):
                            # ``close = [packf, idxf]``: the list holds what its names hold,
                            # and so do they; ``for f in close: f.close()`` releases them
                            # (first contact round 13, dulwich's pack-objects command)
                            held = state.names.get(element[1], frozenset())
                            self.collections.update(held)
                            for oid in held:
                                self.obligations[oid].names.setdefault(name)
                            new |= held
                        else:
                            kept.append(element)
                    self.escape_items(kept, state)
                else:
                    self.escape_items(item[1], state)
        self.unbind(state, name, stmt, keep=new)
        self.rebinds[name] = self.rebinds.get(name, 0) + 1
        self.keys_set.pop(name, None)
        for stale in [key for key in state.flags if name in _compared_names(key)]:
            del state.flags[stale]  # ``name == "-"`` no longer says what it said
        if new:
            state.names[name] = frozenset(new)
            for oid in new:
                self.obligations[oid].names.setdefault(name)

    def unbind(
        self, state: _State, name: str, stmt: cst.CSTNode, keep: set[int] | frozenset[int] = frozenset()
    ) -> None:
        """``name`` stops referring to what it held; an open resource nobody else holds leaks."""
        old = state.names.pop(name, None)
        if not old:
            return
        for oid in old - keep:
            if state.status.get(oid, 0) & OPEN and not self.held_by_other(state, oid, name):
                if self.hands_to_finaliser(stmt):
                    self.finalised.add(oid)
                else:
                    self.overwritten.setdefault(oid, stmt)
                state.status[oid] = DONE

    def new_obligation(self, state: _State, item: _Item, name: str | None) -> int:
        _, call, resource, index = item
        site = (id(call), -1 if index is None else index)
        oid = self.by_site.get(site)
        if oid is None:
            oid = len(self.obligations)
            parents = frozenset()
            if isinstance(call.func, cst.Attribute) and not (
                resource.on_receiver or resource.return_to or resource.outlives_receiver
            ):  # a pool checkout is not given back by closing the pool, nor an accepted
                # socket by closing the listening one
                holder = _receiver_key(call.func)
                parents = state.names.get(holder, frozenset()) if holder else frozenset()
                if parents:
                    self.children.append(oid)
            self.obligations.append(_Obligation(call, resource, parents=parents))
            self.by_site[site] = oid
            self.by_call.setdefault(id(call), []).append(oid)
        # a loop may come back here while the previous one is still open: that one is lost
        # (not a semaphore's permit the class gives back elsewhere: each is one more taken)
        if (
            state.status.get(oid, 0) & OPEN
            and not self.held_by_other(state, oid, name)
            and not (resource.counting and oid in self.kept_for_caller)
        ):
            self.overwritten.setdefault(oid, call)
        # ``HTTPConnection(host)`` holds nothing until ``request()`` opens it (see ``apply``);
        # nor does a coroutine until it is awaited (see ``awaited_tuple``)
        if resource.opens_on or self.unawaited_coroutine(call, resource):
            state.status[oid] = DONE
        else:
            state.open(oid)
        self.created.append(oid)
        self.born.setdefault(oid, self.visits)
        for other_name in self.obligations[oid].names:
            oids = state.names.get(other_name)
            if oids is not None and oid in oids:
                state.names[other_name] = oids - {oid}
        state.blame.pop(oid, None)
        return oid

    def unawaited_coroutine(self, call: cst.Call, resource: Resource) -> bool:
        """``connect = asyncio.open_connection(host, port)`` without ``await``: an async
        factory that gives a tuple is a coroutine function, and its coroutine holds nothing
        (a failing connect closes its own socket); awaited later, what it gives is owed."""
        return resource.is_async and bool(resource.unpack) and id(call) not in self.awaited

    def awaited_tuple(self, items: list[_Item], state: _State) -> dict[int, list[_Item]]:
        """``_, writer = await connect`` on a coroutine bound unawaited (see
        ``unawaited_coroutine``): the tuple's resource elements by index, made here."""
        out: dict[int, list[_Item]] = {}
        for item in items:
            if item[0] != "awaited":
                continue
            for oid in state.names.get(item[1], frozenset()):
                obligation = self.obligations[oid]
                if self.unawaited_coroutine(obligation.call, obligation.resource):
                    self.awaited.add(id(obligation.call))  # from now on it is
                    for index in obligation.resource.unpack:
                        site = ("new", obligation.call, obligation.resource, index)
                        out.setdefault(index, []).append(site)
        return out

    def held_by_other(self, state: _State, oid: int, name: str | None) -> bool:
        """Does a name other than ``name`` hold ``oid`` in ``state``? Only a name ``oid`` was
        ever bound to can (``_Obligation.names``): looking at those alone, not at every name
        of the scope, keeps a scope of n resources linear."""
        return any(
            other != name and oid in state.names.get(other, ())
            for other in self.obligations[oid].names
        )

    def escape_items(self, items: list[_Item], state: _State) -> None:
        for item in items:
            if item[0] == "name":
                state.discharge(state.names.get(item[1], frozenset()))
            elif item[0] == "contained":
                self.escape_items(item[1], state)

    def apply(self, fx: _Effects, state: _MaybeState, stmt: cst.CSTNode) -> _MaybeState:
        if state is None:
            return None
        for name, method in fx.opened:
            for oid in state.names.get(name, frozenset()):
                if self.obligations[oid].resource.opened_by(method) and oid not in self.given:
                    state.open(oid)  # ``conn.request(...)``: now it holds a socket
        for name, method in fx.touched:
            for oid in state.names.get(name, frozenset()):
                resource = self.obligations[oid].resource
                if "*" in resource.opens_on and resource.opened_by(method) and (
                    oid not in self.given
                ):
                    state.open(oid)  # a motor client's first query, failing or not, starts it
        for name, attr in fx.method_uses:
            oids = state.names.get(name)
            if not oids:
                continue
            for oid in oids:
                if _releases(self.obligations[oid].resource, attr):
                    state.status[oid] = DONE
        for name in (*fx.released, *fx.escaped):
            state.discharge(state.names.get(name, frozenset()))
        for name in fx.formatted:
            state.discharge(frozenset(
                oid for oid in state.names.get(name, frozenset())
                if self.obligations[oid].resource.kind == "file descriptor"
            ))
        for name, method in fx.method_args:
            for oid in state.names.get(name, frozenset()):
                if method in self.obligations[oid].resource.return_to:
                    state.status[oid] = DONE
        # a constructor that raised took nothing: ``try: c = Conn(sock) except OSError:
        # return`` leaves sock open on the handler's path (one outside the function: as before;
        # so does one caught only as ``except KeyboardInterrupt:``, which no call raises)
        caught = bool(fx.handed) and any(
            frame.kind == "handler" and not frame.interrupts_only for frame in self.frames
        )
        if not caught:
            for name in fx.handed:
                state.discharge(state.names.get(name, frozenset()))
        if self.children:
            self.release_children(state)
        if fx.may_raise and not self.in_cleanup:
            self.raise_(state, stmt)
        elif fx.may_raise:
            self.raise_own(state, stmt)
        if caught:
            for name in fx.handed:
                state.discharge(state.names.get(name, frozenset()))
        for call, resource in fx.unbound:
            if id(stmt) in self.process_ends_after or self.in_main_block:
                break
            holder = _receiver_key(call.func) if isinstance(call.func, cst.Attribute) else None
            if holder is not None and state.names.get(holder):
                continue  # ``conn.getresponse().status``: released with its connection
            self.unbound.setdefault(id(call), (call, resource))
        for name, items in fx.walrus:
            self.bind(state, name, items, stmt)
        for call, resource, holder in fx.on_receiver:
            oid = self.new_obligation(state, ("new", call, resource, None), holder)
            if self.paired_release(holder) or self.released_across_methods(holder):
                self.kept_for_caller.add(oid)
            if any(_names_in_text(holder) & targets for targets in self.loop_targets):
                self.per_element.add(oid)
            state.names[holder] = state.names.get(holder, frozenset()) | {oid}
            self.obligations[oid].names.setdefault(holder)
            if _acquires_conditionally(call) or id(call) in self.tests:
                # ``if lock.acquire():`` holds it only where the test was true
                self.conditional[id(call)] = oid
        return state

    def raise_own(self, state: _State, stmt: cst.CSTNode) -> None:
        """A call in an except handler or finally block raises for what the block acquired
        itself, not for what it cleans up after (see ``in_cleanup``)."""
        mark = self.cleanup_marks[-1]
        if not any(oid >= mark for oid in state.open_ids()):
            return
        raised = state.copy()
        for oid in [oid for oid in raised.open_ids() if oid < mark]:
            del raised.status[oid]
            raised.unsettled.discard(oid)
        self.raise_(raised, stmt)

    def release_children(self, state: _State) -> None:
        """A cursor is released with its connection, a response with its connection."""
        for oid in self.children:
            if state.status.get(oid, 0) & OPEN and all(
                state.status.get(p, DONE) == DONE for p in self.obligations[oid].parents
            ):
                state.status[oid] = DONE


def _is_plain(name: str) -> bool:
    """A local name: not ``self.x``, not ``locks[k]``."""
    return name.isidentifier()


def _unpacked_items(items: list[_Item], arity: int) -> dict[int, list[_Item]]:
    """``a, b = socket.socketpair()``: the tuple's resource elements by index."""
    out: dict[int, list[_Item]] = {}
    for item in items:
        if item[0] == "new" and item[2].unpack:
            for index in item[2].unpack:
                if index < arity:
                    out.setdefault(index, []).append(("new", item[1], item[2], index))
    return out


def _names_in_text(holder: str) -> frozenset[str]:
    """The identifiers in a holder's text (``locks[k]``: locks, k)."""
    return frozenset(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", holder))
