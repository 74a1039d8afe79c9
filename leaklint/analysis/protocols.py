"""The project's own context managers: checks of their definitions (LL160, LL161, LL163).

These are syntactic checks of one ``def`` or ``class`` at a time; LL162 (what ``__enter__``
acquires and ``__exit__`` releases) and LL164 (a project context manager in the wrong kind of
``with``) need the class summaries and live in the obligation analysis.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from itertools import pairwise

import libcst as cst

from leaklint.analysis.leaks import Leak
from leaklint.analysis.names import dotted_name
from leaklint.analysis.ownership import UNDOING_WORDS, is_releasing_callee
from leaklint.resources import Registry, Resource, builtin_registry

#: What LL160-LL164 findings are about (they have no registry entry).
CONTEXT_MANAGER = Resource("context-manager", kind="context manager", release=("__exit__",))

_SYNC = ("__enter__", "__exit__")
_ASYNC = ("__aenter__", "__aexit__")


def check_class(node: cst.ClassDef, test_double: bool = False) -> list[Leak]:
    """LL160 for ``__exit__``/``__aexit__`` that always return true, LL163 for protocol
    mismatches; only LL162's partway exit for a ``test_double`` (a class defined inside a
    test function): its suppressing exit or broken protocol is what that test exercises, the
    test runs it at once, and nothing else can use it."""
    leaks: list[Leak] = []
    methods = {
        item.name.value: item
        for item in _body(node.body)
        if isinstance(item, cst.FunctionDef)
    }
    for name in () if test_double else ("__exit__", "__aexit__"):
        method = methods.get(name)
        # a plain ``def __aexit__`` (or an ``async def __exit__``) is LL163's to report
        if method is not None and (method.asynchronous is not None) == (name == "__aexit__"):
            swallow = _always_true_return(method, methods)
            if swallow is not None:
                leaks.append(Leak("exit-swallows", swallow, CONTEXT_MANAGER, name))
    if not test_double:
        leaks.extend(_protocol_mismatches(node, methods))
    for name in ("__exit__", "__aexit__"):
        if name in methods:
            partway = _releases_in_a_row(methods[name])
            if partway is not None:
                first, (attr, later) = partway
                leaks.append(Leak("exit-partway", first, CONTEXT_MANAGER, attr, later))
    return leaks


def _protocol_mismatches(
    node: cst.ClassDef, methods: Mapping[str, cst.FunctionDef]
) -> Iterator[Leak]:
    """LL163. Not for an interface declaration (``zope.interface``, ``typing.Protocol``), nor
    for a class that is nothing but half a protocol (a stand-in built to make ``with`` raise
    TypeError); not for a declared method (no ``self``, a stub body); not for a plain-def
    ``__aenter__``/``__aexit__`` that may return an awaitable."""
    protocol = set(_SYNC) | set(_ASYNC)
    if _declares_an_interface(node) or (len(methods) == 1 and set(methods) <= protocol):
        return
    for name, method in methods.items():
        if name not in protocol or _is_declaration(method):
            continue
        is_async = method.asynchronous is not None
        if name in _ASYNC and not is_async:
            if _may_return_an_awaitable(method):
                continue
            yield Leak("protocol-mismatch", method, CONTEXT_MANAGER, name, "plain-def")
        elif name in _SYNC and is_async:
            yield Leak("protocol-mismatch", method, CONTEXT_MANAGER, name, "async-def")
        if name in ("__exit__", "__aexit__") and not _takes_exc_info(method):
            yield Leak("protocol-mismatch", method, CONTEXT_MANAGER, name, "arity")
    # ``__enter__ = acquire`` in the class body defines it too
    assigned = {
        target.target.value
        for item in _body(node.body)
        if isinstance(item, cst.SimpleStatementLine)
        for small in item.body
        if isinstance(small, cst.Assign)
        for target in small.targets
        if isinstance(target.target, cst.Name)
    }
    defined = set(methods) | assigned
    if not node.bases:  # with base classes the other half may be inherited
        for enter, leave in (_SYNC, _ASYNC):
            if enter in methods and leave not in defined:
                if not _is_declaration(methods[enter]):
                    yield Leak("protocol-mismatch", methods[enter], CONTEXT_MANAGER, enter, "no-exit")
            elif leave in methods and enter not in defined and not _is_declaration(methods[leave]):
                yield Leak("protocol-mismatch", methods[leave], CONTEXT_MANAGER, leave, "no-enter")


def check_generator_context_manager(node: cst.FunctionDef) -> list[Leak]:
    """A ``@contextmanager`` generator: LL161 when clean-up after the ``yield`` is skipped by
    an error in the with-block, LL160 when an ``except`` around the ``yield`` swallows it."""
    leaks: list[Leak] = []
    for block, index, statement in _yields_outside_try(node.body):
        after: list[cst.CSTNode] = []
        for later in block[index + 1 :]:
            if _is_yield_statement(later):  # a second yield: a broken generator, not clean-up
                break
            after.append(later)
        if _cleans_up(after, _set_up_before(node, statement)):
            leaks.append(Leak("cleanup-skipped", statement, CONTEXT_MANAGER, node.name.value))
    for handler in _handlers_around_yield(node.body):
        leaks.append(Leak("exit-swallows", handler, CONTEXT_MANAGER, node.name.value))
    return leaks


# --------------------------------------------------------------------------- helpers

_RELEASING = ("close", "aclose", "release", "shutdown", "terminate", "cleanup", "stop", "quit")


def _releases_in_a_row(
    method: cst.FunctionDef,
) -> tuple[cst.Call, tuple[str, str]] | None:
    """``self.a.close(); self.b.close()`` at the top of an exit: if the first raises, the
    second never runs. The first call and the two attributes, or None."""
    calls: list[tuple[cst.Call, str]] = []
    for statement in _body(method.body):
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            value = small.value if isinstance(small, cst.Expr) else None
            if isinstance(value, cst.Await):
                value = value.expression
            if (
                isinstance(value, cst.Call)
                and isinstance(value.func, cst.Attribute)
                and value.func.attr.value.lower().startswith(_RELEASING)
                and isinstance(value.func.value, cst.Attribute)
                and isinstance(value.func.value.value, cst.Name)
                and value.func.value.value.value == "self"
            ):
                attr = value.func.value.attr.value
                if all(attr != seen for _, seen in calls):
                    calls.append((value, attr))
    if len(calls) < 2:
        return None
    return calls[0][0], (f"self.{calls[0][1]}", f"self.{calls[1][1]}")



def _body(suite: cst.BaseSuite) -> list[cst.CSTNode]:
    if isinstance(suite, cst.IndentedBlock):
        return list(suite.body)
    return []


def _takes_exc_info(method: cst.FunctionDef) -> bool:
    params = method.params
    if isinstance(params.star_arg, cst.Param):
        return True
    positional = [*params.posonly_params, *params.params]
    return len(positional) == 4 or (
        len(positional) > 4 and all(p.default is not None for p in positional[4:])
    )


def _truthy_constant(node: cst.BaseExpression | None) -> bool:
    if isinstance(node, cst.Name):
        return node.value == "True"
    if isinstance(node, cst.Integer):
        return node.value not in ("0",)
    if isinstance(node, cst.SimpleString):
        return len(node.evaluated_value or "") > 0
    return False


def _always_true_return(
    method: cst.FunctionDef, methods: Mapping[str, cst.FunctionDef]
) -> cst.Return | None:
    """The ``return True`` of an exit that swallows every exception unseen: every return is a
    true constant, it cannot fall off its end, it never reads its exception arguments (an
    exit that looks at what it swallows decided to), and no path of it raises instead (a
    ``raise``, ``self.fail(...)``, a method of the class that never returns). None otherwise."""
    returns = list(_returns(method.body))
    if not returns or not all(_truthy_constant(r.value) for r in returns):
        return None
    last = _body(method.body)[-1:] if _body(method.body) else []
    if not last or not _ends_in_return(last[0]):
        return None
    if _reads_exc_info(method) or _may_raise(method, methods):
        return None
    return returns[0]


#: Calls that read the exception being handled (``sys.exc_info()``, ``log.exception(...)``,
#: ``traceback.print_exc()``).
_EXCEPTION_READERS = frozenset(
    {"exc_info", "exception", "format_exc", "print_exc", "format_exception", "print_exception"}
)


def _reads_exc_info(method: cst.FunctionDef) -> bool:
    """The exit uses ``exc_type``/``exc``/``tb`` (or ``*exc_details``), or ``sys.exc_info()``."""
    params = method.params
    names = {p.name.value for p in [*params.posonly_params, *params.params][1:]}
    names |= {p.name.value for p in params.kwonly_params}
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            names.add(star.name.value)
    return any(
        (isinstance(n, cst.Name) and n.value in names) or _reads_current_exception(n)
        for n in _walk(method.body)
    )


def _reads_current_exception(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.Call) and (
        _callee_name(node) in _EXCEPTION_READERS
        or any(arg.keyword is not None and arg.keyword.value == "exc_info" for arg in node.args)
    )


def _may_raise(method: cst.FunctionDef, methods: Mapping[str, cst.FunctionDef]) -> bool:
    """A path of the exit raises: a ``raise``, a ``fail(...)`` (unittest's, pytest's), a call of
    a method of the class that never returns (``-> NoReturn``, or its body ends in raise)."""
    for node in _walk(method.body):
        if isinstance(node, cst.Raise):
            return True
        if isinstance(node, cst.Call):
            name = _callee_name(node)
            if name == "fail":
                return True
            func = node.func
            if (
                isinstance(func, cst.Attribute)
                and isinstance(func.value, cst.Name)
                and func.value.value == "self"
                and name in methods
                and _never_returns(methods[name])
            ):
                return True
    return False


def _never_returns(method: cst.FunctionDef) -> bool:
    returns = method.returns.annotation if method.returns is not None else None
    if isinstance(returns, cst.SimpleString):
        annotation = returns.evaluated_value or ""
    elif isinstance(returns, (cst.Name, cst.Attribute)):
        annotation = _dotted(returns) or ""
    else:
        annotation = ""
    if annotation.rsplit(".", 1)[-1] in ("NoReturn", "Never"):
        return True
    last = _body(method.body)[-1:]
    return bool(last) and isinstance(last[0], cst.SimpleStatementLine) and any(
        isinstance(small, cst.Raise) for small in last[0].body
    )


def _ends_in_return(statement: cst.CSTNode) -> bool:
    if isinstance(statement, cst.SimpleStatementLine):
        return any(isinstance(s, (cst.Return, cst.Raise)) for s in statement.body)
    if isinstance(statement, cst.If):
        if statement.orelse is None:
            return False
        others = (
            [statement.orelse]
            if isinstance(statement.orelse, cst.If)
            else _body(statement.orelse.body)[-1:]
        )
        mine = _body(statement.body)[-1:]
        return bool(mine) and _ends_in_return(mine[0]) and bool(others) and _ends_in_return(
            others[-1]
        )
    return False


def _returns(node: cst.CSTNode) -> Iterator[cst.Return]:
    """Return statements of a function body, not of nested functions or classes."""
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Return):
            yield current
            continue
        if isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if isinstance(current, cst.BaseExpression):
            continue
        stack.extend(reversed(current.children))  # pre-order: the first return first


def _is_yield_statement(statement: cst.CSTNode) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    for small in statement.body:
        value = getattr(small, "value", None)
        if isinstance(value, cst.Await):
            value = value.expression
        if isinstance(value, cst.Yield):
            return True
    return False


def _yields_outside_try(
    suite: cst.BaseSuite,
) -> Iterator[tuple[list[cst.CSTNode], int, cst.CSTNode]]:
    """``yield`` statements not protected by try/finally or with, and the block they are in."""
    block = _body(suite)
    for index, statement in enumerate(block):
        if _is_yield_statement(statement):
            yield block, index, statement
        elif isinstance(statement, (cst.If, cst.For, cst.While)):
            yield from _yields_outside_try(statement.body)
            orelse = statement.orelse
            if isinstance(orelse, cst.If):
                yield from _yields_outside_try(cst.IndentedBlock(body=[orelse]))
            elif orelse is not None:
                yield from _yields_outside_try(orelse.body)
        # try (any form) and with bodies: the clean-up is theirs to run


# LL161: what counts as clean-up after the yield -------------------------------------------

#: A name bound before the yield: the methods that release it (``f.close()``, ``t.join()`` of
#: a started thread) and the calls it is handed back to (``pool.putconn(conn)``).
_SetUp = dict[str, tuple[frozenset[str], frozenset[str]]]


def _cleans_up(statements: list[cst.CSTNode], set_up: _SetUp) -> bool:
    """The statements after a yield release something: a call named for undoing a set-up
    (``close``, ``release``, ``chdir``, ``removeObserver``, ``teardown_loop``, ...), or one that
    releases what was acquired before the yield. Success-only steps (``p.execute()``, an
    ``after_create`` event, a check that raises, a timing print, ``self.depth -= 1``) are not
    clean-up, and neither is a call in a branch that tests what the block did (a name bound
    after the yield: ``if elapsed > limit: cleanup()``) unless it releases that very name."""
    bound_after = set()
    for node in _walk_all(statements):
        bound_after |= _bound_names(node)
    return any(_is_cleanup_call(call, set_up) for call in _calls(statements, bound_after))


def _calls(statements: list[cst.CSTNode], bound_after: set[str]) -> Iterator[cst.Call]:
    stack: list[tuple[cst.CSTNode, frozenset[str]]] = [(s, frozenset()) for s in reversed(statements)]
    while stack:
        current, needs = stack.pop()
        if isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if isinstance(current, (cst.If, cst.While)):
            needs = needs | (_names(current.test) & bound_after)
        if isinstance(current, cst.Call) and (not needs or _names(current) & needs):
            yield current
        stack.extend((child, needs) for child in reversed(current.children))


def _is_cleanup_call(call: cst.Call, set_up: _SetUp) -> bool:
    name = _callee_name(call)
    if name is None:
        return False
    if _is_undoing_name(name):
        return True
    func = call.func
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
        released_by = set_up.get(func.value.value)
        if released_by is not None and name in released_by[0]:
            return True
    return any(
        isinstance(arg.value, cst.Name)
        and arg.value.value in set_up
        and name in set_up[arg.value.value][1]
        for arg in call.args
    )


_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def _is_undoing_name(name: str) -> bool:
    """``f.close``, ``os.chdir``, ``gc.enable``, ``removeObserver``, ``tear_down``: a whole word
    of the name (or two adjacent ones) says it undoes something."""
    if is_releasing_callee(name):
        return True
    words = [word.lower() for word in _WORD.findall(name)]
    candidates = set(words) | {a + b for a, b in pairwise(words)}
    return not candidates.isdisjoint(UNDOING_WORDS)


def _set_up_before(function: cst.FunctionDef, stop: cst.CSTNode) -> _SetUp:
    """What the generator acquired before the statement ``stop``: ``name = factory(...)`` of a
    registry resource, ``name.start()`` (a thread or process, joined to release it)."""
    set_up: _SetUp = {}
    for node in _walk(function.body, stop=stop):
        if (
            isinstance(node, cst.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0].target, cst.Name)
            and isinstance(node.value, cst.Call)
        ):
            resource = _registry_resource(_dotted(node.value.func))
            if resource is not None:
                release = frozenset(resource.release) - {"__exit__"}
                set_up[node.targets[0].target.value] = (release, frozenset(resource.return_to))
        elif (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "start"
            and isinstance(node.func.value, cst.Name)
        ):
            release, back = set_up.get(node.func.value.value, (frozenset(), frozenset()))
            set_up[node.func.value.value] = (release | {"join"}, back)
    return set_up


def _registry_resource(dotted: str | None) -> Resource | None:
    """The registry's entry for a callee as written: ``open``, ``subprocess.Popen``, or a
    name imported from its module (``Popen``) when only one entry ends in it."""
    if dotted is None:
        return None
    registry = builtin_registry()
    found = registry.get(dotted) or registry.get(f"builtins.{dotted}")
    if found is None and "." not in dotted:
        found = _by_last_name(registry).get(dotted)
    return found


_LAST_NAMES: dict[int, dict[str, Resource]] = {}


def _by_last_name(registry: Registry) -> dict[str, Resource]:
    table = _LAST_NAMES.get(id(registry))
    if table is None:
        candidates: dict[str, list[Resource]] = {}
        for qualname, resource in registry.by_name.items():
            candidates.setdefault(qualname.rsplit(".", 1)[-1], []).append(resource)
        table = {name: found[0] for name, found in candidates.items() if len(found) == 1}
        _LAST_NAMES[id(registry)] = table
    return table


# LL160: an except around the yield --------------------------------------------------------


def _handlers_around_yield(suite: cst.BaseSuite) -> Iterator[cst.ExceptHandler]:
    """``except Exception:``/bare ``except:`` around a ``yield`` that discards the exception
    unseen: it does not re-raise, does not use the caught exception (``as ex`` then ``ex``,
    ``sys.exc_info()``, ``log.exception(...)``), and does not yield again (contextmanager
    then raises RuntimeError itself)."""
    for statement in _body(suite):
        if isinstance(statement, cst.Try):
            if any(_is_yield_statement(s) for s in _body(statement.body)):
                for handler in statement.handlers:
                    if _catches_everything(handler) and not _looks_at_exception(handler):
                        yield handler
        elif isinstance(statement, (cst.If, cst.For, cst.While, cst.With)):
            yield from _handlers_around_yield(statement.body)


def _looks_at_exception(handler: cst.ExceptHandler) -> bool:
    caught = (
        handler.name.name.value
        if handler.name is not None and isinstance(handler.name.name, cst.Name)
        else None
    )
    for node in _walk(handler.body):
        if isinstance(node, (cst.Raise, cst.Yield)) or _reads_current_exception(node):
            return True
        if caught is not None and isinstance(node, cst.Name) and node.value == caught:
            return True
    return False


def _catches_everything(handler: cst.ExceptHandler) -> bool:
    kind = handler.type
    if kind is None:
        return True
    return isinstance(kind, cst.Name) and kind.value in ("Exception", "BaseException")


def _walk(node: cst.CSTNode, stop: cst.CSTNode | None = None) -> Iterator[cst.CSTNode]:
    """The nodes under ``node`` in source order, not those of nested functions and classes;
    with ``stop``, only those before it."""
    stack: list[cst.CSTNode] = list(reversed(node.children))
    while stack:
        current = stack.pop()
        if current is stop:
            return
        if isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        yield current
        if isinstance(current, (cst.Attribute, cst.Arg)):
            # ``x.close``, ``f(exc_info=...)``: ``close`` and ``exc_info`` are no references
            stack.append(current.value)
        else:
            stack.extend(reversed(current.children))


def _walk_all(nodes: list[cst.CSTNode]) -> Iterator[cst.CSTNode]:
    for node in nodes:
        yield node
        yield from _walk(node)


def _names(node: cst.CSTNode) -> set[str]:
    found = {node.value} if isinstance(node, cst.Name) else set()
    found.update(n.value for n in _walk(node) if isinstance(n, cst.Name))
    return found


def _bound_names(node: cst.CSTNode) -> set[str]:
    """The plain names a statement or expression binds (``x =``, ``x +=``, ``for x``,
    ``as x``, ``x :=``)."""
    if isinstance(node, cst.AssignTarget):
        return _target_names(node.target)
    if isinstance(node, (cst.AugAssign, cst.AnnAssign, cst.NamedExpr)):
        return _target_names(node.target)
    if isinstance(node, (cst.For, cst.CompFor)):
        return _target_names(node.target)
    if isinstance(node, cst.AsName):
        return _target_names(node.name)
    return set()


def _target_names(target: cst.CSTNode) -> set[str]:
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        return {name for element in target.elements for name in _target_names(element.value)}
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    return set()


def _dotted(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr.value}" if inner is not None else None
    return None


def _callee_name(call: cst.Call) -> str | None:
    """The last name of the callee: ``close`` for ``self.f.close()``, ``exit`` for ``exit()``."""
    if isinstance(call.func, cst.Attribute):
        return call.func.attr.value
    if isinstance(call.func, cst.Name):
        return call.func.value
    return None


# LL163: what is not an implementation ------------------------------------------------------

_INTERFACE_BASES = ("Interface", "Protocol")


def _declares_an_interface(node: cst.ClassDef) -> bool:
    """``class IThing(Interface)`` (zope.interface), ``class Thing(Protocol)``/``Protocol[T]``:
    declarations of what implementations have, not context managers."""
    for arg in node.bases:
        base = arg.value
        if isinstance(base, cst.Subscript):
            base = base.value
        dotted = _dotted(base)
        if dotted is not None and dotted.rsplit(".", 1)[-1] in _INTERFACE_BASES:
            return True
    return False


def _is_declaration(method: cst.FunctionDef) -> bool:
    """A method that only declares: no ``self`` (zope.interface), a body of a docstring
    and/or ``...`` (a stub), or an abstract one (``@abstractmethod``, or a body that only
    raises ``NotImplementedError``: aio-pika's ``abc.py``, first contact round 16)."""
    if any(
        (dotted_name(d.decorator) or "").rsplit(".", 1)[-1] == "abstractmethod"
        for d in method.decorators
    ):
        return True
    if _only_raises_not_implemented(method):
        return True
    params = method.params
    if not [*params.posonly_params, *params.params] and not isinstance(params.star_arg, cst.Param):
        return True
    statements = _body(method.body)
    if isinstance(method.body, cst.SimpleStatementSuite):
        statements = [method.body]
    for index, statement in enumerate(statements):
        smalls = getattr(statement, "body", None)
        if not isinstance(smalls, (list, tuple)) or len(smalls) != 1:
            return False
        small = smalls[0]
        if not isinstance(small, cst.Expr):
            return False
        if isinstance(small.value, cst.Ellipsis):
            continue
        if index == 0 and isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString)):
            continue
        return False
    return True


def _only_raises_not_implemented(method: cst.FunctionDef) -> bool:
    """``raise NotImplementedError`` (after a docstring, if any), and nothing else."""
    statements = _body(method.body)
    if isinstance(method.body, cst.SimpleStatementSuite):
        statements = [method.body]
    simple = (cst.SimpleStatementLine, cst.SimpleStatementSuite)
    if not all(isinstance(statement, simple) for statement in statements):
        return False
    smalls = [small for statement in statements for small in statement.body]
    if smalls and isinstance(smalls[0], cst.Expr) and isinstance(
        smalls[0].value, (cst.SimpleString, cst.ConcatenatedString)
    ):
        smalls = smalls[1:]
    if len(smalls) != 1 or not isinstance(smalls[0], cst.Raise) or smalls[0].exc is None:
        return False
    raised = smalls[0].exc
    raised = raised.func if isinstance(raised, cst.Call) else raised
    return (dotted_name(raised) or "") == "NotImplementedError"


def _may_return_an_awaitable(method: cst.FunctionDef) -> bool:
    """A plain-def ``__aenter__``/``__aexit__`` is fine when what it returns may be awaitable
    (``return self.acquire()``, ``return succeed(False)``): ``async with`` awaits it. Not when
    it returns ``self``, ``None``, a constant or a literal, or has no return at all."""
    returns = list(_returns(method.body))
    return bool(returns) and not any(_not_awaitable(r.value) for r in returns)


def _not_awaitable(value: cst.BaseExpression | None) -> bool:
    if value is None:
        return True
    if isinstance(value, cst.Name):
        return value.value in ("self", "None", "True", "False")
    return isinstance(
        value,
        (
            cst.Integer,
            cst.Float,
            cst.Imaginary,
            cst.SimpleString,
            cst.ConcatenatedString,
            cst.FormattedString,
            cst.Tuple,
            cst.List,
            cst.Dict,
            cst.Set,
            cst.ListComp,
            cst.SetComp,
            cst.DictComp,
            cst.Lambda,
            cst.UnaryOperation,
            cst.BinaryOperation,
            cst.Comparison,
        ),
    )
