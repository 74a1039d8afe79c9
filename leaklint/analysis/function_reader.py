"""Reading one function body (``_FunctionReader``): what it returns, which parameters it
releases or keeps, what it stores on self and calls on it, what it closes, whether it ever
returns; in one walk of CPython's ``ast``, syntactic and flow-insensitive."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Collection, Iterable, Iterator

from leaklint.analysis.facts import FunctionFacts
from leaklint.analysis.names import locals_of, nested_qualname
from leaklint.analysis.never_returning import (
    _ALWAYS,
    _NEVER,
    _annotated_no_return,
    _block_ends,
)
from leaklint.analysis.ownership import CONTEXT_MANAGER_DECORATORS, is_owning_method
from leaklint.analysis.syntax import (
    _callee,
    _is_self_attr,
    _kept_names,
    _last_name,
    _Names,
    _statements,
    _target_names,
    _value_leaves,
    _walk_scope,
    closes,
    is_releasing,
    walk,
)

#: The nodes ``_FunctionReader.read`` takes facts from.
_READ_NODES = frozenset(
    {ast.Assign, ast.AnnAssign, ast.Return, ast.Call, ast.With, ast.AsyncWith, ast.Attribute}
)


def _in_reraising_handlers(nodes: list[ast.AST]) -> set[int]:
    """The nodes inside ``except`` handlers that end by raising (``except OSError:
    sock.close(); raise``): clean-up on the way out of a failure."""
    out: set[int] = set()
    for node in nodes:
        if isinstance(node, ast.ExceptHandler) and node.body and isinstance(node.body[-1], ast.Raise):
            out.update(id(sub) for sub in walk(node))
    return out


class _FunctionReader:
    """Facts about one function body, in one walk; for a method, what it does with ``self``."""

    def __init__(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, names: _Names, qualname: str | None
    ) -> None:
        self.node = node
        self.qualname = qualname
        self.names = _Names(names.module, names.is_package, names)
        # the functions it defines are known by their qualified names (``open.<locals>.
        # _open_core``), as the analysis's scopes name them (``names.function_scope``)
        self.names.collect(node.body, locals_of(qualname) if qualname else None, classes=False)
        args = node.args
        self.params = tuple(a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs))
        self._fallback_params = _rebound_to_a_fallback(node, set(self.params))
        # filled for methods (see ``read``): what is done with self.<attr>
        self.stores: dict[str, set[str]] = {}
        self.attr_calls: dict[str, set[str]] = {}
        self.handed: set[str] = set()
        self.self_calls: set[str] = set()
        self.released_outside: set[str] = set()  # ``other.sock.close()``: sock
        self.closed_callees: set[str] = set()  # ``r = Resolver(); r.close()``: Resolver
        # self.<attr> -> where it is first mentioned (line, column, a store?), and on which lines
        self.first_mention: dict[str, tuple[int, int, bool]] = {}
        self.mention_lines: dict[str, list[int]] = {}
        self.attr_types: dict[str, set[str]] = {}  # ``self.x: T = ...``: T
        self.attr_elements: dict[str, set[str]] = {}  # ``self.x = defaultdict(F)``: F
        self.element_stores: dict[str, set[str]] = {}  # ``self.x[k] = F()``: F
        # ``self.x = F()``: F, and ``self.x = F(p).acquire()``: F.acquire (see ``acquired_by``)
        self.acquires: dict[str, set[str]] = {}

    def nested(self) -> Iterator[_FunctionReader]:
        """Readers of the functions defined in this one (in its blocks, not in a class or a
        lambda of it), and of theirs: a call to one is resolved to its qualified name."""
        if not self.qualname:
            return
        for stmt in _statements(self.node.body):
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner = _FunctionReader(stmt, self.names, nested_qualname(self.qualname, stmt.name))
                yield inner
                yield from inner.nested()

    def refreshed(self) -> frozenset[str]:
        """The attributes of self the method's first mention of is a store, on a line that
        does not read them too (``self.f = open(p)``, not ``self.f = wrap(self.f)``)."""
        return frozenset(
            attr
            for attr, (line, _, stored) in self.first_mention.items()
            if stored and self.mention_lines[attr].count(line) == 1
        )

    def read(
        self, qualname: str, path: str, is_method: bool, class_name: str | None = None
    ) -> FunctionFacts | None:
        node = self.node
        me = self.params[0] if is_method and self.params else None
        assigned: dict[str, dict[str, int]] = {}  # local name -> calls assigned to it
        released_names: set[str] = set()
        returned: list[ast.expr] = []
        takes: set[str] = set()
        params = set(self.params)
        quiet: set[int] = set()  # self.attr nodes that are receivers or store targets
        patches: set[str] = set()
        local_calls: set[str] = set()
        drains: dict[str, set[str]] = {}  # param -> what reads it to its end (``p.text``)
        assigned_calls: dict[str, list[ast.Call]] = {}  # local name -> the calls bound to it
        closed_locals: set[str] = set()  # local names closed or entered in a ``with``
        self_stored: dict[str, set[str]] = {}  # parameter -> attributes of self it is kept on
        nodes = _walk_scope(node)
        module_globals = {
            name for sub in nodes if isinstance(sub, ast.Global) for name in sub.names
        }
        drawn, param_aliases = _local_sources(nodes, me, params)
        failing = _in_reraising_handlers(nodes)
        put: list[tuple[str, ast.expr]] = []  # (container on self, what is put into it)
        for sub in nodes:
            if type(sub) not in _READ_NODES:
                continue
            if isinstance(sub, ast.Assign):
                value = sub.value
                calls = self._call_sources(value, assigned, me, class_name)
                for target in sub.targets:
                    container = (
                        _is_self_attr(target.value, me)
                        if me and isinstance(target, ast.Subscript) else None
                    )
                    if container is not None:  # ``self._conns[key] = connect()``
                        put.append((container, value))
                if any(self._keeps(t, module_globals) for t in sub.targets):
                    # ``conn = _local.conn = connect()``, ``_CACHE[key] = conn``: a cache
                    # outliving the call keeps it; whoever gets it back only borrows it
                    released_names.update(_kept_names(value))
                    for target in sub.targets:
                        released_names.update(_target_names(target))
                for target in sub.targets:
                    if isinstance(target, ast.Name) and target.id in module_globals:
                        # ``global _state; _state = FileInput(); return _state``: the module
                        # keeps it (and closes it on the next call), not the caller;
                        # ``global broker; broker = b``: the module takes the parameter
                        # (dramatiq's set_broker, first contact round 8)
                        released_names.add(target.id)
                        released_names.update(_kept_names(value))
                        kept = {param_aliases.get(n, n) for n in _kept_names(value)}
                        takes.update(kept & params)
                    elif isinstance(target, ast.Name):
                        for callee in calls:
                            assigned.setdefault(target.id, {}).setdefault(callee, sub.lineno)
                        if isinstance(value, ast.Call):
                            assigned_calls.setdefault(target.id, []).append(value)
                    elif isinstance(target, (ast.Tuple, ast.List)) and all(
                        isinstance(e, ast.Name) and e.id not in module_globals
                        for e in target.elts
                    ):
                        # ``a, b = convert(a, b)``: local names again, nothing kept elsewhere
                        # (a parameter handed back is not taken: leakfixes LF026)
                        continue
                    else:
                        attr = _is_self_attr(target, me) if me else None
                        for kept in _kept_names(value):
                            kept = param_aliases.get(kept, kept)  # ``fd = realsock``
                            if kept not in params:
                                continue
                            if attr is not None:  # ``self.file = fileobj``: see param_attrs
                                self_stored.setdefault(kept, set()).add(attr)
                            else:
                                takes.add(kept)
                        if attr is None and isinstance(target, ast.Attribute):
                            patched = self.names.resolve(target)
                            if patched is not None:
                                patches.add(patched)
                        if attr is not None:
                            # ``self.sock = s; return s``: the object keeps it, not the caller
                            released_names.update(_kept_names(value))
                            quiet.add(id(target))
                            if calls:
                                self.stores.setdefault(attr, set()).update(calls)
                            acquired = calls | self._chained_calls(value)
                            if acquired:
                                self.acquires.setdefault(attr, set()).update(acquired)
                            elements = _element_factories(value, self.names.resolve)
                            if elements:
                                self.attr_elements.setdefault(attr, set()).update(elements)
            elif isinstance(sub, ast.AnnAssign):
                attr = _is_self_attr(sub.target, me) if me else None
                typed = self.names.resolve(sub.annotation) if attr is not None else None
                if attr is not None and typed is not None:
                    self.attr_types.setdefault(attr, set()).add(typed)
            elif isinstance(sub, ast.Return) and sub.value is not None:
                returned.append(sub.value)
                takes.update(n for n in _kept_names(sub.value) if n in params)
            elif isinstance(sub, ast.Call):
                func = sub.func
                if isinstance(func, ast.Attribute):
                    receiver = func.value
                    if (
                        isinstance(receiver, ast.Name)
                        and receiver.id in params
                        and func.attr in _DRAINING_METHODS
                        and not sub.args
                        and not sub.keywords
                    ):
                        drains.setdefault(receiver.id, set()).add(f"{func.attr}()")
                    if isinstance(receiver, ast.Name):
                        if is_releasing(func.attr):
                            if id(sub) not in failing:
                                # (``except OSError: sock.close(); raise``: released on the
                                # way out of a failure only, the success path returns it)
                                released_names.add(receiver.id)
                            if receiver.id in drawn:
                                # ``for conn in self._conns.values(): conn.close()``: what
                                # the container holds is released
                                self.attr_calls.setdefault(drawn[receiver.id], set()).add(func.attr)
                            if receiver.id in params:
                                takes.add(receiver.id)
                        if receiver.id != me:
                            local_calls.add(func.attr)
                            if closes(func.attr):
                                closed_locals.add(receiver.id)
                        else:
                            self.self_calls.add(func.attr)
                            if is_owning_method(func.attr):
                                # ``self.set_socket(sock)``: the object keeps it
                                takes.update(
                                    a.id for a in sub.args if isinstance(a, ast.Name) and a.id in params
                                )
                    attr = _is_self_attr(receiver, me) if me else None
                    if attr is not None:
                        quiet.add(id(receiver))
                        self.attr_calls.setdefault(attr, set()).add(func.attr)
                    elif me and isinstance(receiver, ast.Subscript) and is_releasing(func.attr):
                        held = _is_self_attr(receiver.value, me)  # ``self._conns[k].close()``
                        if held is not None:
                            self.attr_calls.setdefault(held, set()).add(func.attr)
                    if attr is not None and func.attr in _CACHE_FILLING:
                        put.extend((attr, arg) for arg in sub.args)  # ``self._s.append(s)``
                    if (
                        attr is not None and func.attr in _KEEPING_CALLEES
                        or func.attr in _CACHE_FILLING and self._outlives(receiver, module_globals)
                    ):
                        # ``self._socks.append(s)``, ``_POOL.setdefault(k, s)``; ``return s``:
                        # the object (or the module's cache) keeps s; ``extend((a, b))``: a, b
                        released_names.update(
                            e.id
                            for a in sub.args
                            for e in (a.elts if isinstance(a, (ast.Tuple, ast.List)) else [a])
                            if isinstance(e, ast.Name)
                        )
                elif (
                    isinstance(func, ast.Name)
                    and func.id == "setattr"
                    and sub.args
                    and self._outlives(sub.args[0], module_globals)
                ):
                    # ``setattr(_local, "conn", conn); return conn``: the thread-local keeps it
                    released_names.update(a.id for a in sub.args[2:] if isinstance(a, ast.Name))
                callee_name = _last_name(func)
                if is_releasing(callee_name) or callee_name in _KEEPING_CALLEES or (
                    callee_name == "__init__"  # ``super().__init__(fp)``: the base keeps it
                ):
                    takes.update(a.id for a in sub.args if isinstance(a, ast.Name) and a.id in params)
                if callee_name in _RELEASE_REGISTERING:
                    # ``stack.enter_context(f); return f``: the stack releases f, not the caller
                    released_names.update(a.id for a in sub.args if isinstance(a, ast.Name))
            elif isinstance(sub, (ast.With, ast.AsyncWith)):
                for item in sub.items:
                    entered = item.context_expr
                    if isinstance(entered, ast.Name):
                        closed_locals.add(entered.id)
                        if entered.id in params:
                            takes.add(entered.id)
                    elif isinstance(entered, ast.Call):
                        callee = self.names.resolve(entered.func)
                        if callee is not None:
                            self.closed_callees.add(callee)
            elif isinstance(sub, ast.Attribute):
                if (
                    isinstance(sub.value, ast.Name)
                    and sub.value.id in params
                    and isinstance(sub.ctx, ast.Load)
                    and sub.attr in _DRAINING_ATTRIBUTES
                ):
                    drains.setdefault(sub.value.id, set()).add(sub.attr)
                if isinstance(sub.value, ast.Name) and is_releasing(sub.attr):
                    # ``test.addCleanup(skt.close)``, ``atexit.register(f.close)``: released
                    if id(sub) not in failing:
                        released_names.add(sub.value.id)
                elif (
                    isinstance(sub.value, ast.Attribute)
                    and is_releasing(sub.attr)
                    and not (isinstance(sub.value.value, ast.Name) and sub.value.value.id == me)
                ):
                    self.released_outside.add(sub.value.attr)
                if me is None:
                    continue
                attr = _is_self_attr(sub.value, me)
                if attr is not None:
                    quiet.add(id(sub.value))  # ``self.sock.family``: a use, not a hand-over
                    if is_releasing(sub.attr):
                        # ``self.addCleanup(self.file.close)``: whoever calls it releases it
                        self.attr_calls.setdefault(attr, set()).add(sub.attr)
                attr = _is_self_attr(sub, me)
                if attr is None:
                    continue
                where = (sub.lineno, sub.col_offset, isinstance(sub.ctx, ast.Store))
                if attr not in self.first_mention or where[:2] < self.first_mention[attr][:2]:
                    self.first_mention[attr] = where
                self.mention_lines.setdefault(attr, []).append(sub.lineno)
                if id(sub) not in quiet:
                    # passed, returned, aliased, used in with: someone else may release it
                    self.handed.add(attr)
        for name in closed_locals - params:
            self.closed_callees.update(assigned.get(name, ()))
        for container, value in put:
            made = self._call_sources(value, assigned, me, class_name)
            if made:
                self.element_stores.setdefault(container, set()).update(made)
        sources: dict[str, int] = {}
        source_args: dict[str, set[tuple[tuple[str, str], ...]]] = {}
        for value in returned:
            for leaf in _value_leaves(value):
                if isinstance(leaf, ast.Call):
                    callee = self.names.resolve(leaf.func)
                    if callee:
                        sources.setdefault(callee, leaf.lineno)
                        texts = self._argument_texts(leaf, assigned)
                        source_args.setdefault(callee, set()).add(texts)
                elif isinstance(leaf, ast.Name) and leaf.id not in released_names:
                    for callee, line in assigned.get(leaf.id, {}).items():
                        sources.setdefault(callee, line)
                    for call in assigned_calls.get(leaf.id, ()):
                        callee = self.names.resolve(call.func)
                        if callee:
                            texts = self._argument_texts(call, assigned)
                            source_args.setdefault(callee, set()).add(texts)
        tuple_returns = self._tuple_returns(returned, assigned, released_names)
        tuple_releasers = _tuple_releasers(node, returned) if tuple_returns else ()
        if _is_abstract(node):
            return None
        takes |= _built_into_returns(nodes, params, returned)
        ends_unless = self._ends_unless(nodes, assigned, me, class_name)
        if _decorated_as_context_manager(node, self.names):
            sources, tuple_returns = {}, ()  # its yield lends, it returns nothing to own
            tuple_releasers = ()
        elif _memoised(node, self.names):
            # ``@lru_cache``: every caller gets the one object the cache keeps
            sources, tuple_returns, tuple_releasers = {}, (), ()
        return FunctionFacts(
            qualname=qualname,
            path=path,
            line=node.lineno,
            returns=sources,
            params=self.params,
            takes=frozenset(takes) | frozenset(self_stored),
            param_attrs={
                param: frozenset(attrs) for param, attrs in self_stored.items() if param not in takes
            },
            is_method=is_method,
            patches=frozenset(patches),
            local_calls=frozenset(local_calls),
            ends_unless=ends_unless,
            never_returns=frozenset() in ends_unless,
            return_annotation=self.names.resolve(node.returns) if node.returns else None,
            tuple_returns=tuple_returns,
            tuple_releasers=tuple_releasers,
            catches_all=_catches_all(node, self.names),
            drains={param: frozenset(uses) for param, uses in drains.items() if param not in takes},
            source_args={
                callee: tuple(sorted(calls))
                for callee, calls in source_args.items()
                if callee in sources
            },
            returns_self=_returns_self(node, nodes, me),
        )

    def _argument_texts(
        self, call: ast.Call, assigned: dict[str, dict[str, int]]
    ) -> tuple[tuple[str, str], ...]:
        """The arguments of a returned call as the registry's ``borrow-when`` reads them
        (``cst_questions._argument_text``): ``("fp", "typing.IO()")`` for ``fp=buf`` of a
        parameter ``buf: IO[bytes]``, ``("@0", "io.BytesIO()")``, ``("closefd", "False")``."""
        annotations = {
            a.arg: a.annotation
            for a in (*self.node.args.posonlyargs, *self.node.args.args, *self.node.args.kwonlyargs)
            if a.annotation is not None
        }

        def text(value: ast.expr) -> str:
            if isinstance(value, ast.Call):
                return f"{self.names.resolve(value.func) or '?'}()"
            if isinstance(value, ast.Name) and value.id in annotations:
                kind = annotations[value.id]
                kind = kind.value if isinstance(kind, ast.Subscript) else kind
                resolved = self.names.resolve(kind)
                return f"{resolved}()" if resolved else value.id
            if isinstance(value, ast.Name) and len(assigned.get(value.id, ())) == 1:
                return f"{next(iter(assigned[value.id]))}()"  # ``buf = io.BytesIO(data)``
            if isinstance(value, (ast.Name, ast.Constant)):
                return ast.unparse(value)
            return "?"

        out = [
            (f"@{n}", text(a)) for n, a in enumerate(call.args) if not isinstance(a, ast.Starred)
        ]
        out += [(k.arg, text(k.value)) for k in call.keywords if k.arg is not None]
        return tuple(out)

    def _tuple_returns(
        self,
        returned: list[ast.expr],
        assigned: dict[str, dict[str, int]],
        released_names: set[str],
    ) -> tuple[tuple[int, str, int], ...]:
        """``FunctionFacts.tuple_returns``: the calls each returned tuple's elements come
        from (``return (stream, filename)``; ``stream = open(p)`` before it)."""
        out: set[tuple[int, str, int]] = set()
        for value in returned:
            for leaf in _value_leaves(value):
                if not isinstance(leaf, ast.Tuple) or any(
                    isinstance(e, ast.Starred) for e in leaf.elts
                ):
                    continue
                for index, element in enumerate(leaf.elts):
                    for part in _value_leaves(element):
                        if isinstance(part, ast.Call):
                            callee = self.names.resolve(part.func)
                            if callee:
                                out.add((index, callee, part.lineno))
                        elif isinstance(part, ast.Name) and part.id not in released_names:
                            out.update(
                                (index, callee, line)
                                for callee, line in assigned.get(part.id, {}).items()
                            )
        return tuple(sorted(out))

    def _ends_unless(
        self,
        nodes: list[ast.AST],
        assigned: dict[str, dict[str, int]],
        me: str | None,
        class_name: str | None,
    ) -> frozenset[frozenset[str]]:
        """``FunctionFacts.ends_unless``: empty for a function that may return (one with a
        ``return``, a generator, one whose body can run off its end)."""
        node = self.node
        if _annotated_no_return(node.returns, self.names):
            return _ALWAYS
        if any(isinstance(sub, (ast.Return, ast.Yield, ast.YieldFrom)) for sub in nodes):
            return _NEVER

        def callee(call: ast.Call) -> str | None:
            func = call.func
            name = self.names.resolve(func)
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                receiver = func.value.id
                if receiver == me and class_name is not None:
                    return f"{class_name}.{func.attr}"
                made = sorted(assigned.get(receiver, ()))
                if len(made) == 1:  # ``module = AnsibleModule(...)``; ``module.fail_json()``
                    return f"{made[0]}.{func.attr}"
                typed = self._annotation(receiver)
                if typed is not None:  # ``module: AnsibleModule``
                    return f"{typed}.{func.attr}"
            return name

        return _block_ends(node.body, callee)

    def _annotation(self, param: str) -> str | None:
        args = self.node.args
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
            if arg.arg == param and arg.annotation is not None:
                return self.names.resolve(arg.annotation)
        return None

    def _keeps(self, target: ast.expr, module_globals: set[str]) -> bool:
        """Does storing into ``target`` keep the value past the call: an attribute or item of
        something that outlives it (``self._conn``, ``_local.conn``, ``_CACHE[key]``), or a
        name declared global?"""
        if isinstance(target, ast.Name):
            return target.id in module_globals
        return isinstance(target, (ast.Attribute, ast.Subscript)) and self._outlives(
            target.value, module_globals
        )

    def _outlives(self, node: ast.expr, module_globals: set[str]) -> bool:
        """Is ``node`` (``_POOL``, ``self._by_name``, ``_local``) an object the call does not
        make: rooted in a parameter (self, cls), a global or a module-level name? A parameter
        rebound to a fallback is still the caller's (``hub = hub or get_event_loop()``; then
        ``hub._client = Client(hub)`` is a cache on the loop)."""
        while isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        return isinstance(node, ast.Name) and (
            node.id in module_globals
            or node.id not in self.names.bound
            or node.id in self._fallback_params
        )

    def _chained_calls(self, value: ast.expr) -> set[str]:
        """``F(p).acquire()``: ``F.acquire``, the method of what ``F`` makes (which ``F`` the
        name of a class, or of a function, tells only where it is defined)."""
        out: set[str] = set()
        for leaf in _value_leaves(value):
            func = leaf.func if isinstance(leaf, ast.Call) else None
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call):
                made = self.names.resolve(func.value.func)
                if made is not None:
                    out.add(f"{made}.{func.attr}")
        return out

    def _call_sources(
        self,
        value: ast.expr,
        assigned: dict[str, dict[str, int]],
        me: str | None,
        class_name: str | None,
    ) -> set[str]:
        """The calls (qualified) whose result ``value`` may be: ``f()``, ``x if c else g()``,
        a local name assigned from one, ``self._open()`` (a method of this class)."""
        out: set[str] = set()
        for leaf in _value_leaves(value):
            if isinstance(leaf, ast.Call):
                callee = self.names.resolve(leaf.func)
                func = leaf.func
                if (
                    callee is None
                    and class_name is not None
                    and isinstance(func, ast.Attribute)
                    and isinstance(func.value, ast.Name)
                    and func.value.id == me
                ):
                    callee = f"{class_name}.{func.attr}"
                if callee:
                    out.add(callee)
            elif isinstance(leaf, ast.Name):
                out.update(assigned.get(leaf.id, ()))
        return out


def _is_abstract(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A body of a docstring, ``...``, ``pass`` or ``raise NotImplementedError``: subclasses
    decide what it does with its arguments, so it has no summary."""
    for stmt in node.body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # the docstring, or ``...``
        if isinstance(stmt, ast.Pass):
            continue
        if isinstance(stmt, ast.Raise) and stmt.exc is not None:
            raised = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
            if isinstance(raised, ast.Name) and raised.id == "NotImplementedError":
                continue
        return False
    return True


def _decorated_as_context_manager(node: ast.FunctionDef | ast.AsyncFunctionDef, names: _Names) -> bool:
    return _context_manager_kind(node, names) is not None


def _context_manager_kind(
    node: ast.FunctionDef | ast.AsyncFunctionDef, names: _Names
) -> str | None:
    """"sync" for ``@contextmanager``, "async" for ``@asynccontextmanager``, else None."""
    for decorator in node.decorator_list:
        kind = CONTEXT_MANAGER_DECORATORS.get(names.resolve(_callee(decorator)) or "")
        if kind is not None:
            return kind
    return None


_KEEPING_CALLEES = frozenset({"closing", "enter_context", "callback", "append", "add", "register"})
#: Methods that take on releasing what they are given: an exit stack's, a test's clean-ups.
_RELEASE_REGISTERING = frozenset(
    {"enter_context", "enter_async_context", "push", "push_async_exit", "addCleanup",
     "addAsyncCleanup", "closing"}
)


#: Methods of a container that keep what they are given (a module's cache, a pool).
_CACHE_FILLING = frozenset(
    {"append", "appendleft", "add", "insert", "setdefault", "put", "put_nowait", "extend"}
)


def _returns_self(
    node: ast.FunctionDef | ast.AsyncFunctionDef, nodes: list[ast.AST], me: str | None
) -> bool:
    """Does the method give its own object back on every path: it ends in ``return self`` and
    returns nothing else anywhere (no bare ``return``, no falling off another branch's end
    into ``None``)? A generator or coroutine gives something else."""
    if me is None or isinstance(node, ast.AsyncFunctionDef) or not node.body:
        return False
    if not _gives_back(node.body[-1], me):
        return False
    for sub in nodes:
        if isinstance(sub, (ast.Yield, ast.YieldFrom)):
            return False
        if isinstance(sub, ast.Return) and not _gives_back(sub, me):
            return False
    return True


def _gives_back(stmt: ast.AST, me: str) -> bool:
    """``return self``."""
    return (
        isinstance(stmt, ast.Return) and isinstance(stmt.value, ast.Name) and stmt.value.id == me
    )


#: Decorators that memoise: the function returns the object they keep, to every caller.
_MEMOISING = re.compile(r"(a?lru_|ttl_)?cached?(_method)?|memoi[sz]ed?", re.IGNORECASE)


def _memoised(node: ast.FunctionDef | ast.AsyncFunctionDef, names: _Names) -> bool:
    """``@functools.cache``, ``@lru_cache(maxsize=None)``, ``@cached``, ``@memoize``."""
    for decorator in node.decorator_list:
        name = names.resolve(_callee(decorator)) or _last_name(_callee(decorator))
        if _MEMOISING.fullmatch(name.rsplit(".", 1)[-1]):
            return True
    return False


def _built_into_returns(
    nodes: Iterable[ast.AST], params: Collection[str], returned: Iterable[ast.expr]
) -> set[str]:
    """Parameters a returned value was built from through a local: ``t = make(sock)`` ...
    ``return t, p`` keeps ``sock`` as ``return make(sock)`` does."""
    flows: dict[str, set[str]] = {}
    for sub in nodes:
        if (
            isinstance(sub, ast.Assign)
            and isinstance(sub.value, (ast.Call, ast.Await))
            and len(sub.targets) == 1
        ):
            call = sub.value.value if isinstance(sub.value, ast.Await) else sub.value
            if not isinstance(call, ast.Call):
                continue
            names = [a.id for a in (*call.args, *(k.value for k in call.keywords))
                     if isinstance(a, ast.Name)]
            sources = {n for n in names if n in params}
            for n in names:
                sources |= flows.get(n, set())
            if sources:
                for target in _target_names(sub.targets[0]):
                    flows.setdefault(target, set()).update(sources)
    out: set[str] = set()
    for value in returned:
        for name in _kept_names(value):
            out |= flows.get(name, set())
    return out


#: containers whose missing values a factory makes: ``defaultdict(threading.Lock)``
DEFAULTING_CONTAINERS = frozenset({"collections.defaultdict"})


def _element_factories(value: ast.expr, resolve: Callable[[ast.expr], str | None]) -> set[str]:
    """What makes the values of the container ``value`` builds: ``defaultdict(Lock)``,
    ``{k: Lock() for k in ks}``, ``[socket() for _ in range(n)]``."""
    made: set[str] = set()
    if isinstance(value, ast.Call) and value.args:
        if resolve(value.func) in DEFAULTING_CONTAINERS:
            factory = value.args[0]
            if isinstance(factory, ast.Lambda):
                factory = factory.body.func if isinstance(factory.body, ast.Call) else factory
            made.add(resolve(factory) or "")
    elif isinstance(value, (ast.DictComp, ast.ListComp, ast.SetComp)):
        element = value.value if isinstance(value, ast.DictComp) else value.elt
        if isinstance(element, ast.Call):
            made.add(resolve(element.func) or "")
    return made - {""}


#: Methods that take an element out of a container (``conn = self._conns.pop(key)``).
_DRAWING = frozenset({"pop", "popitem", "popleft", "get", "get_nowait"})
#: Views of a container a loop runs over (``for conn in self._conns.values()``).
_VIEWS = frozenset({"values", "items", "copy"})
_COPIES = frozenset({"list", "tuple", "sorted", "reversed"})


def _local_sources(
    nodes: list[ast.AST], me: str | None, params: Collection[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """What some local names stand for, from their bindings (one pass over the body):

    - drawn: the local names bound to an element of a container held on self -> that
      attribute (``for conn in self._conns.values()``, ``_, conn = self._conns.popitem()``,
      ``conn = self._conns[key]``, ``for s in list(self._socks)``), for a method;
    - aliases: the local names bound to a parameter, and to no other one (``fd =
      family_or_realsock`` in one branch, ``fd = socket(family)`` in the other): keeping
      them keeps the parameter."""
    drawn: dict[str, str] = {}
    aliases: dict[str, str] = {}
    ambiguous: set[str] = set()
    for node in nodes:
        kind = type(node)
        if kind is ast.Assign:
            source, targets = node.value, node.targets
            if len(targets) == 1 and type(targets[0]) is ast.Name and type(source) is ast.Name:
                name = targets[0].id
                if source.id in params and name not in params:
                    if aliases.setdefault(name, source.id) != source.id:
                        ambiguous.add(name)
                continue
        elif kind is ast.For or kind is ast.AsyncFor:
            source, targets = node.iter, [node.target]
        else:
            continue
        if me is None:
            continue
        element = kind is not ast.Assign  # (a loop's target is one)
        while isinstance(source, ast.Call):
            func = source.func
            if isinstance(func, ast.Name) and func.id in _COPIES and len(source.args) == 1:
                source = source.args[0]
            elif isinstance(func, ast.Attribute) and func.attr in _VIEWS | _DRAWING:
                source, element = func.value, element or func.attr in _DRAWING
            else:
                break
        if isinstance(source, ast.Subscript) and kind is ast.Assign:
            source, element = source.value, True  # ``conn = self._conns[key]``
        attr = _is_self_attr(source, me)
        if attr is None or not element:
            continue
        for target in targets:
            for name in _target_names(target):
                drawn[name] = attr
    return drawn, {name: p for name, p in aliases.items() if name not in ambiguous}


def _rebound_to_a_fallback(func: ast.AST, params: set[str]) -> frozenset[str]:
    """Parameters whose every rebinding in ``func`` keeps the caller's object when one was
    given: ``hub = hub or get_event_loop()``, ``x = x if x is not None else make()``."""
    rebound: dict[str, bool] = {}
    for node in ast.walk(func):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id in params:
                    ok = _falls_back(node.value, target.id)
                    rebound[target.id] = rebound.get(target.id, True) and ok
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id in params:
            # a loop's target, ``as x``, ``x := ...`` (an assignment's own target is met after
            # the assignment: ast.walk goes parent first)
            rebound.setdefault(node.id, False)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and isinstance(node.target, ast.Name):
            if node.target.id in params:
                rebound[node.target.id] = False
    return frozenset(name for name, ok in rebound.items() if ok)


def _falls_back(value: ast.expr | None, name: str) -> bool:
    """``name or default``, ``name if name is not None else default``,
    ``default if name is None else name``."""
    if isinstance(value, ast.BoolOp) and isinstance(value.op, ast.Or) and value.values:
        first = value.values[0]
        return isinstance(first, ast.Name) and first.id == name
    if isinstance(value, ast.IfExp):
        return any(isinstance(side, ast.Name) and side.id == name for side in (value.body, value.orelse))
    return False


#: What reads an argument to its end (``resp.text``, ``resp.read()``): a function doing it
#: to a parameter does it to what its caller passes (a release of an HTTP response, say, in
#: the registry's words: ``requests.get`` lists ``text`` and ``content``).
_DRAINING_ATTRIBUTES = frozenset({"text", "content"})
_DRAINING_METHODS = frozenset({"read", "json", "readall"})


def _tuple_releasers(
    node: ast.FunctionDef | ast.AsyncFunctionDef, returned: list[ast.expr]
) -> tuple[tuple[int, int], ...]:
    """``FunctionFacts.tuple_releasers``: in ``return f, commit, abort`` the callables that
    release another element of the tuple: a function defined here (``def abort(): f.close()``)
    or a lambda. dulwich's ``add_pack()``, first contact round 13: the caller's ``abort()``
    closes the file it was given with it."""
    nested = {
        sub.name: sub
        for sub in ast.walk(node)
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)) and sub is not node
    }

    def released_by(element: ast.expr) -> set[str]:
        if isinstance(element, ast.Name) and element.id in nested:
            body: ast.AST = nested[element.id]
        elif isinstance(element, ast.Lambda):
            body = element.body
        else:
            return set()
        out = set()
        for sub in ast.walk(body):
            if not isinstance(sub, ast.Call):
                continue
            func = sub.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                if is_releasing(func.attr):
                    out.add(func.value.id)  # ``f.close()``
            if is_releasing(_last_name(func)):
                out.update(a.id for a in sub.args if isinstance(a, ast.Name))  # ``os.close(fd)``
        return out

    pairs: set[tuple[int, int]] = set()
    for value in returned:
        for leaf in _value_leaves(value):
            if not isinstance(leaf, ast.Tuple):
                continue
            names = {e.id: i for i, e in enumerate(leaf.elts) if isinstance(e, ast.Name)}
            for index, element in enumerate(leaf.elts):
                for name in released_by(element):
                    if name in names and names[name] != index:
                        pairs.add((index, names[name]))
    return tuple(sorted(pairs))


#: What a handler must catch to catch every exception a call can realistically raise.
_CATCH_ALL = frozenset(
    {"builtins.Exception", "builtins.BaseException", "Exception", "BaseException"}
)


def _catches_all(node: ast.FunctionDef | ast.AsyncFunctionDef, names: _Names) -> bool:
    """``FunctionFacts.catches_all``: the body is a ``try`` with a handler of ``Exception``
    (or wider, or bare) that raises nothing and calls nothing, beside statements that cannot
    raise but by a programming error: imports, returns and assignments of names and
    constants, calls whose arguments are all constants (``Struct("HHHH")``). First contact
    round 15 (plumbum's ``_ioctl_GWINSZ``): a call of it is no exit to blame a leak on."""
    if isinstance(node, ast.AsyncFunctionDef):
        return False  # (an ``await`` in it can be cancelled)
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    guarded = False
    for stmt in body:
        if isinstance(stmt, ast.Try) and not stmt.finalbody and any(
            _catches_everything(h, names) and _is_quiet(h.body) for h in stmt.handlers
        ) and _is_quiet(stmt.orelse):
            guarded = True
        elif not _is_quiet([stmt]):
            return False
    return guarded


def _catches_everything(handler: ast.ExceptHandler, names: _Names) -> bool:
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return handler.type is None or any(
        kind is not None and (names.resolve(kind) or ast.unparse(kind)) in _CATCH_ALL
        for kind in kinds
    )


def _is_quiet(stmts: list[ast.stmt]) -> bool:
    """Statements that raise only on a programming error: ``pass``, imports, returns and
    assignments of names, constants and tuples of them, calls of constants only."""

    def plain(value: ast.expr | None) -> bool:
        if value is None or isinstance(value, (ast.Constant, ast.Name)):
            return True
        if isinstance(value, ast.Tuple):
            return all(plain(e) for e in value.elts)
        if isinstance(value, ast.Call):
            return isinstance(value.func, (ast.Name, ast.Attribute)) and not value.keywords and all(
                isinstance(a, ast.Constant) for a in value.args
            )
        return False

    for stmt in stmts:
        if isinstance(stmt, (ast.Pass, ast.Import, ast.ImportFrom)):
            continue
        if isinstance(stmt, ast.Return) and plain(stmt.value):
            continue
        if isinstance(stmt, ast.Assign) and plain(stmt.value) and all(
            isinstance(t, ast.Name) for t in stmt.targets
        ):
            continue
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and plain(
            stmt.value
        ):
            continue
        return False
    return True
