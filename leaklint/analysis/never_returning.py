"""Functions that never return: read from one body (``_block_ends``: every path raises,
exits or calls something that never returns, as clauses of project callees), then closed
over the project (``_never_returning``) and asked of a call (``_never_returns``)."""

from __future__ import annotations

import ast
from collections.abc import Callable, Collection, Iterator, Mapping

from leaklint.analysis.facts import ClassFacts, FunctionFacts
from leaklint.analysis.syntax import _SCOPES, _Names, child_nodes

#: ``ends_unless`` of a function that never returns, and of one that may.
_ALWAYS: frozenset[frozenset[str]] = frozenset({frozenset()})
_NEVER: frozenset[frozenset[str]] = frozenset()
#: Clauses kept of a conjunction: past this, a function is taken to return (the safe side).
_MAX_CLAUSES = 8
#: Calls that never return: they raise an exception no ``except Exception`` catches, or end
#: the process.
_NEVER_RETURNING = frozenset(
    {
        "sys.exit", "os._exit", "os.abort", "posix._exit", "posix.abort", "builtins.exit",
        "builtins.quit", "pytest.fail", "pytest.skip", "pytest.exit", "pytest.xfail",
        "_pytest.outcomes.fail", "_pytest.outcomes.skip", "_pytest.outcomes.exit",
        "_pytest.outcomes.xfail", "unittest.SkipTest", "unittest.TestCase.fail",
        "unittest.TestCase.skipTest", "unittest.case.TestCase.fail",
        "unittest.case.TestCase.skipTest", "argparse.ArgumentParser.error",
        "argparse.ArgumentParser.exit", "optparse.OptionParser.error",
        "optparse.OptionParser.exit",
    }
)
_NO_RETURN_TYPES = frozenset(
    {"typing.NoReturn", "typing.Never", "typing_extensions.NoReturn", "typing_extensions.Never"}
)


def _annotated_no_return(annotation: ast.expr | None, names: _Names) -> bool:
    """``-> NoReturn``, ``-> typing.Never``, ``-> "NoReturn"``."""
    if annotation is None:
        return False
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        return annotation.value.rsplit(".", 1)[-1] in ("NoReturn", "Never")
    return (names.resolve(annotation) or "") in _NO_RETURN_TYPES


def _both(
    left: frozenset[frozenset[str]], right: frozenset[frozenset[str]]
) -> frozenset[frozenset[str]]:
    """Both never complete: every pairing of a clause of each."""
    out = frozenset(a | b for a in left for b in right)
    return frozenset(sorted(out, key=lambda c: (len(c), sorted(c)))[:_MAX_CLAUSES])


def _block_ends(
    body: list[ast.stmt], callee: Callable[[ast.Call], str | None]
) -> frozenset[frozenset[str]]:
    """When a block never runs off its end: any of its statements never completes."""
    out: set[frozenset[str]] = set()
    for stmt in body:
        out |= _statement_ends(stmt, callee)
        if frozenset() in out:
            return _ALWAYS
    return frozenset(out)


def _statement_ends(
    stmt: ast.stmt, callee: Callable[[ast.Call], str | None]
) -> frozenset[frozenset[str]]:
    """When control never goes past ``stmt``: ``raise``, a call that never returns, an
    ``if`` both of whose branches end, a ``try`` whose body and every handler end (or whose
    ``finally`` ends), ``while True`` without ``break``. A ``with`` may swallow what its body
    raises (``pytest.raises``): it completes."""
    if isinstance(stmt, ast.Raise):
        return _ALWAYS
    if isinstance(stmt, ast.Assert):
        test = stmt.test
        return _ALWAYS if isinstance(test, ast.Constant) and not test.value else _NEVER
    if isinstance(stmt, ast.Expr):
        call = stmt.value.value if isinstance(stmt.value, ast.Await) else stmt.value
        if not isinstance(call, ast.Call):
            return _NEVER
        name = callee(call)
        if name is None:
            return _NEVER
        head, _, last = name.rpartition(".")
        if name in _NEVER_RETURNING or (head in ("os", "posix") and last.startswith("exec")):
            return _ALWAYS
        return frozenset({frozenset({name})})
    if isinstance(stmt, ast.If):
        return _both(_block_ends(stmt.body, callee), _block_ends(stmt.orelse, callee))
    if isinstance(stmt, (ast.Try, getattr(ast, "TryStar", ast.Try))):
        ends = _block_ends(stmt.body, callee) | _block_ends(stmt.orelse, callee)
        for handler in stmt.handlers:
            ends = _both(ends, _block_ends(handler.body, callee))
        return ends | _block_ends(stmt.finalbody, callee)
    if isinstance(stmt, ast.While):
        test = stmt.test
        forever = isinstance(test, ast.Constant) and bool(test.value)
        if forever and not any(isinstance(sub, ast.Break) for sub in _loop_body(stmt)):
            return _ALWAYS
    return _NEVER


def _loop_body(loop: ast.While) -> Iterator[ast.AST]:
    """The nodes of a loop's body that belong to it, not to a loop or scope inside it."""
    stack: list[ast.AST] = list(loop.body)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (*_SCOPES, ast.For, ast.AsyncFor, ast.While)):
            stack.extend(child_nodes(node))


def _never_returning(
    functions: Mapping[str, FunctionFacts], classes: Mapping[str, ClassFacts]
) -> set[str]:
    """The project functions that never return, closed to a fixed point over their callees."""
    out = {name for name, facts in functions.items() if facts.never_returns}
    todo = [facts for facts in functions.values() if facts.ends_unless and not facts.never_returns]
    changed = True
    while changed:
        changed = False
        for facts in todo:
            if facts.qualname in out:
                continue
            if any(
                all(_never_returns(c, out, functions, classes) for c in clause)
                for clause in facts.ends_unless
            ):
                out.add(facts.qualname)
                changed = True
    return out


def _never_returns(
    callee: str,
    never: Collection[str],
    functions: Mapping[str, FunctionFacts],
    classes: Mapping[str, ClassFacts],
) -> bool:
    """Is ``callee`` one of ``never``, a call that never returns, or a method that is one of
    them in the first class of its lineage that defines it?"""
    if callee in never or callee in _NEVER_RETURNING:
        return True
    if callee in functions:
        return False
    owner, _, method = callee.rpartition(".")
    if owner not in classes:
        return False
    seen: set[str] = set()
    todo: list[str | None] = [owner]
    while todo:
        name = todo.pop(0)
        if name is None or name in seen:
            return False  # a base the project cannot resolve may define it
        seen.add(name)
        qualified = f"{name}.{method}"
        if qualified in functions or qualified in _NEVER_RETURNING:
            return qualified in never or qualified in _NEVER_RETURNING
        facts = classes.get(name)
        if facts is None:
            return False
        todo[:0] = facts.bases
    return False
