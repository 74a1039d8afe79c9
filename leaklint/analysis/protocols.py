"""The project's own context managers: checks of their definitions (LL160, LL161, LL163).

These are syntactic checks of one ``def`` or ``class`` at a time; LL162 (what ``__enter__``
acquires and ``__exit__`` releases) and LL164 (a project context manager in the wrong kind of
``with``) need the class summaries and live in the obligation analysis.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from leaklint.analysis.leaks import Leak
from leaklint.resources import Resource

#: What LL160-LL164 findings are about (they have no registry entry).
CONTEXT_MANAGER = Resource("context-manager", kind="context manager", release=("__exit__",))

_SYNC = ("__enter__", "__exit__")
_ASYNC = ("__aenter__", "__aexit__")


def check_class(node: cst.ClassDef) -> list[Leak]:
    """LL160 for ``__exit__``/``__aexit__`` that always return true, LL163 for protocol
    mismatches."""
    leaks: list[Leak] = []
    methods = {
        item.name.value: item
        for item in _body(node.body)
        if isinstance(item, cst.FunctionDef)
    }
    for name in ("__exit__", "__aexit__"):
        method = methods.get(name)
        if method is not None:
            swallow = _always_true_return(method)
            if swallow is not None:
                leaks.append(Leak("exit-swallows", swallow, CONTEXT_MANAGER, name))
    for name, method in methods.items():
        is_async = method.asynchronous is not None
        if name in _ASYNC and not is_async:
            leaks.append(Leak("protocol-mismatch", method, CONTEXT_MANAGER, name, "plain-def"))
        elif name in _SYNC and is_async:
            leaks.append(Leak("protocol-mismatch", method, CONTEXT_MANAGER, name, "async-def"))
        if name in ("__exit__", "__aexit__") and not _takes_exc_info(method):
            leaks.append(Leak("protocol-mismatch", method, CONTEXT_MANAGER, name, "arity"))
    for name in ("__exit__", "__aexit__"):
        if name in methods:
            partway = _releases_in_a_row(methods[name])
            if partway is not None:
                first, (attr, later) = partway
                leaks.append(Leak("exit-partway", first, CONTEXT_MANAGER, attr, later))
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
                leaks.append(
                    Leak("protocol-mismatch", methods[enter], CONTEXT_MANAGER, enter, "no-exit")
                )
            elif leave in methods and enter not in defined:
                leaks.append(
                    Leak("protocol-mismatch", methods[leave], CONTEXT_MANAGER, leave, "no-enter")
                )
    return leaks


def check_generator_context_manager(node: cst.FunctionDef) -> list[Leak]:
    """A ``@contextmanager`` generator: LL161 when clean-up after the ``yield`` is skipped by
    an error in the with-block, LL160 when an ``except`` around the ``yield`` swallows it."""
    leaks: list[Leak] = []
    for block, index, statement in _yields_outside_try(node.body):
        if any(_does_something(s) for s in block[index + 1 :]):
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


def _always_true_return(method: cst.FunctionDef) -> cst.Return | None:
    """The ``return True`` of an exit whose every return is a true constant and that cannot
    fall off its end; None when it can return something else."""
    returns = list(_returns(method.body))
    if not returns or not all(_truthy_constant(r.value) for r in returns):
        return None
    last = _body(method.body)[-1:] if _body(method.body) else []
    if not last or not _ends_in_return(last[0]):
        return None
    return returns[0]


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


def _does_something(statement: cst.CSTNode) -> bool:
    """A statement after the yield that is clean-up, not just ``pass``/``return``."""
    if isinstance(statement, cst.SimpleStatementLine):
        return any(not isinstance(s, (cst.Pass, cst.Return)) for s in statement.body)
    return True


def _handlers_around_yield(suite: cst.BaseSuite) -> Iterator[cst.ExceptHandler]:
    """``except Exception:``/bare ``except:`` around a ``yield`` that does not re-raise."""
    for statement in _body(suite):
        if isinstance(statement, cst.Try):
            if any(_is_yield_statement(s) for s in _body(statement.body)):
                for handler in statement.handlers:
                    if _catches_everything(handler) and not any(
                        isinstance(s, cst.Raise) for s in _walk_statements(handler.body)
                    ):
                        yield handler
        elif isinstance(statement, (cst.If, cst.For, cst.While, cst.With)):
            yield from _handlers_around_yield(statement.body)


def _catches_everything(handler: cst.ExceptHandler) -> bool:
    kind = handler.type
    if kind is None:
        return True
    return isinstance(kind, cst.Name) and kind.value in ("Exception", "BaseException")


def _walk_statements(suite: cst.BaseSuite) -> Iterator[cst.CSTNode]:
    for statement in _body(suite):
        if isinstance(statement, cst.SimpleStatementLine):
            yield from statement.body
        else:
            yield statement
            for name in ("body", "orelse", "finalbody"):
                inner = getattr(statement, name, None)
                if isinstance(inner, cst.BaseSuite):
                    yield from _walk_statements(inner)
                elif inner is not None and hasattr(inner, "body"):
                    yield from _walk_statements(inner.body)
