"""The ``import X`` a fix needs, added where isort would put it (its default profile).

isort's sections are: ``__future__``, the standard library, third party, first party and
local, a blank line between two; in a section, every ``import x`` before the ``from x
import y`` lines, each kind sorted by module name, case aside. The modules a fix imports
(``contextlib``, ``os``) are of the standard library: the new line goes among the
standard library's ``import`` lines at its sorted place; or before its ``from`` lines; or,
where the module has none, as a section of its own after ``__future__`` and before the
others; or, in a module without imports, after the docstring.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

import libcst as cst

_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ()))


def add_imports(module: cst.Module, names: Iterable[str]) -> cst.Module:
    """``module`` with ``import name`` for each of ``names`` it does not import yet."""
    for name in sorted(set(names)):
        if not _imported(module, name):
            module = _insert(module, name)
    return module


def _imported(module: cst.Module, name: str) -> bool:
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Import) and any(
                    alias.asname is None and _dotted(alias.name) == name for alias in small.names
                ):
                    return True
    return False


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def _is_import(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(small, (cst.Import, cst.ImportFrom)) for small in stmt.body
    )


def _module_of(stmt: cst.SimpleStatementLine) -> tuple[str, bool]:
    """The module the first import of ``stmt`` names, and whether it is ``from`` one."""
    small = stmt.body[0]
    if isinstance(small, cst.Import):
        return _dotted(small.names[0].name), False
    assert isinstance(small, cst.ImportFrom)
    if small.relative:
        return "." + (_dotted(small.module) if small.module is not None else ""), True
    return _dotted(small.module) if small.module is not None else "", True


def _blank_lines(stmt: cst.CSTNode, wanted: int) -> cst.CSTNode:
    """``stmt`` with at least ``wanted`` blank lines before anything else above it."""
    lines = list(getattr(stmt, "leading_lines", ()))
    have = next((i for i, line in enumerate(lines) if line.comment is not None), len(lines))
    if have >= wanted:
        return stmt
    return stmt.with_changes(leading_lines=[cst.EmptyLine()] * (wanted - have) + lines)


def _insert(module: cst.Module, name: str) -> cst.Module:
    body = list(module.body)
    new = cst.parse_statement(f"import {name}\n")
    start = 0
    if body and isinstance(body[0], cst.SimpleStatementLine) and len(body[0].body) == 1:
        first = body[0].body[0]
        if isinstance(first, cst.Expr) and isinstance(first.value, (cst.SimpleString, cst.ConcatenatedString)):
            start = 1  # the docstring
    end = start
    while end < len(body) and _is_import(body[end]):
        end += 1
    run = list(range(start, end))
    kinds = {}
    for index in run:
        module_name, is_from = _module_of(body[index])  # type: ignore[arg-type]
        top = module_name.split(".")[0]
        section = "future" if top == "__future__" else "stdlib" if top in _STDLIB else "other"
        kinds[index] = (section, is_from, module_name.lower())
    plain = [i for i in run if kinds[i][:2] == ("stdlib", False)]
    froms = [i for i in run if kinds[i][:2] == ("stdlib", True)]
    others = [i for i in run if kinds[i][0] == "other"]
    key = name.lower()
    after = [i for i in plain if kinds[i][2] > key]
    if after or (froms and not plain):
        at = (after or froms)[0]  # before it, in its place: it keeps what was above it
        body[at:at] = [new.with_changes(leading_lines=body[at].leading_lines)]  # type: ignore[attr-defined]
        body[at + 1] = body[at + 1].with_changes(leading_lines=())
    elif plain:
        body.insert(plain[-1] + 1, new)
    elif others:
        at = others[0]  # a standard library section of its own, before the others
        body[at:at] = [new.with_changes(leading_lines=body[at].leading_lines)]  # type: ignore[attr-defined]
        body[at + 1] = _blank_lines(body[at + 1].with_changes(leading_lines=()), 1)
    else:
        # after __future__ (a blank line between), or after the docstring, or at the top
        at = end
        body.insert(at, _blank_lines(new, 1) if at > 0 else new)
        if at + 1 < len(body):
            following = body[at + 1]
            wanted = 2 if isinstance(following, (cst.FunctionDef, cst.ClassDef)) else 1
            body[at + 1] = _blank_lines(following, wanted)
    return module.with_changes(body=body)
