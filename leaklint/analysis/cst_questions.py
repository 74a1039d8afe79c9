"""What the parts of the obligation analysis ask of libcst nodes, when more than one part asks
it: what an expression's parts are, what a statement calls, the keys of subscripts, receivers
and tests, an argument's text, and the tables of calls and names these consult. (The summary
pass asks its own questions of CPython's ``ast``, in syntax.py.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import libcst as cst

from leaklint.analysis.names import Scope, dotted_name
from leaklint.analysis.state import _Item
from leaklint.resources import ABSENT_VALUES, Resource, argument_place, borrow_condition_met

_SKIPPED_FIELDS = frozenset(
    {
        "lpar", "rpar", "comma", "semicolon", "equal", "colon", "dot", "star", "operator",
        "lbracket", "rbracket", "lbrace", "rbrace", "leading_lines", "trailing_whitespace",
        "header", "footer", "newline", "whitespace_before", "whitespace_after",
        "asynchronous", "prefix", "quote", "start", "end", "string", "value_raw",
    }
)


_FIELDS_BY_TYPE: dict[type, tuple[str, ...]] = {}


def _expression_children(node: cst.CSTNode) -> Iterator[cst.BaseExpression]:
    """Sub-expressions of a node we do not model one by one (comparisons, f-strings, ...)."""
    names = _FIELDS_BY_TYPE.get(type(node))
    if names is None:
        names = _cache_fields(type(node))
    for name in names:
        value = getattr(node, name)
        if isinstance(value, (list, tuple)):
            for element in value:
                yield from _as_expressions(element)
        elif isinstance(value, cst.CSTNode):
            yield from _as_expressions(value)


def _cache_fields(kind: type) -> tuple[str, ...]:
    names = tuple(
        f
        for f in getattr(kind, "__dataclass_fields__", {})
        if f not in _SKIPPED_FIELDS and not f.startswith("whitespace")
    )
    _FIELDS_BY_TYPE[kind] = names
    return names


def _as_expressions(node: object) -> Iterator[cst.BaseExpression]:
    if isinstance(node, cst.BaseExpression):
        yield node
    elif isinstance(node, cst.CSTNode):
        yield from _expression_children(node)


def _flatten_targets(node: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    if isinstance(node, (cst.Tuple, cst.List)):
        for element in node.elements:
            yield from _flatten_targets(element.value)
    else:
        yield node


def _flat_items(items: list[_Item]) -> Iterator[_Item]:
    for item in items:
        if item[0] == "contained":
            yield from _flat_items(item[1])
        else:
            yield item


#: ``await cm.__aenter__()`` / ``cm.__enter__()`` by hand: the exit is owed on every path.
_MANUAL_ENTER = {
    "__aenter__": Resource(
        "__aenter__", kind="context", release=("__aexit__",), on_receiver=True, code="LL202"
    ),
    "__enter__": Resource(
        "__enter__", kind="context", release=("__exit__",), on_receiver=True, code="LL202"
    ),
}


_PASS_THROUGH_ITERATION = frozenset({"filter", "reversed", "sorted", "list", "tuple", "iter", "set"})


def _iterated_names(expr: cst.BaseExpression) -> list[str]:
    """Names listed in ``(a, b)``, ``[a, b]``, ``filter(None, (a, self.b))``: what a loop over
    it binds its target to (``self.b`` as the pseudo-name of ``__init__``)."""
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name):
        if expr.func.value in _PASS_THROUGH_ITERATION and expr.args:
            return _iterated_names(expr.args[-1].value)
        return []
    if not isinstance(expr, (cst.Tuple, cst.List, cst.Set)):
        return []
    names = []
    for element in expr.elements:
        value = element.value
        if isinstance(value, cst.Name):
            names.append(value.value)
        elif isinstance(value, cst.Attribute) and isinstance(value.value, cst.Name):
            names.append(f"{value.value.value}.{value.attr.value}")
    return names


def _subscript_key(expr: cst.Subscript) -> tuple[str, str] | None:
    """``kwargs["info"][app.name]`` → ("kwargs", that text): a subscript of a name by
    literals, names and attribute reads only, which reads the same key each time."""
    if len(expr.slice) != 1 or not isinstance(expr.slice[0].slice, cst.Index):
        return None
    index = expr.slice[0].slice.value
    if isinstance(index, (cst.SimpleString, cst.Integer)):
        text = index.value
    elif isinstance(index, (cst.Name, cst.Attribute)):
        text = dotted_name(index)
    else:
        return None
    value = expr.value
    if isinstance(value, cst.Name):
        return (value.value, f"[{text}]") if text is not None else None
    if isinstance(value, cst.Subscript):
        inner = _subscript_key(value)
        return (inner[0], f"{inner[1]}[{text}]") if inner is not None and text is not None else None
    return None


#: The nodes that bind a name, and the field holding what they bind.
_BINDING_FIELDS = (
    ((cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.For, cst.CompFor, cst.NamedExpr), "target"),
    ((cst.AsName,), "name"),
)


def _receiver_key(func: cst.BaseExpression) -> str | None:
    """The name an on-receiver obligation is kept under: ``lock``, ``self._lock``."""
    if not isinstance(func, cst.Attribute):
        return None
    receiver = func.value
    if isinstance(receiver, cst.Name):
        return receiver.value
    if isinstance(receiver, cst.Attribute) and isinstance(receiver.value, cst.Name):
        return f"{receiver.value.value}.{receiver.attr.value}"
    if isinstance(receiver, cst.Subscript):
        return _subscript_holder(receiver)
    return None


def _names_in(node: cst.CSTNode) -> frozenset[str]:
    """The names a for loop's target binds (``k``; ``k, v``)."""
    if isinstance(node, cst.Name):
        return frozenset({node.value})
    if isinstance(node, (cst.Tuple, cst.List)):
        return frozenset().union(*(_names_in(element.value) for element in node.elements))
    if isinstance(node, cst.StarredElement):
        return _names_in(node.value)
    return frozenset()


def _subscript_holder(expr: cst.Subscript) -> str | None:
    """``locks[k]``, ``self._locks[name]``: the text a container's value is held under (by
    a key of literals, names and attribute reads, it reads the same value each time)."""
    value = expr.value
    if isinstance(value, cst.Attribute) and isinstance(value.value, cst.Name):
        key = _subscript_key(expr.with_changes(value=cst.Name("_")))
        return f"{value.value.value}.{value.attr.value}{key[1]}" if key else None
    key = _subscript_key(expr)
    return f"{key[0]}{key[1]}" if key else None


def _flag_key(expr: cst.BaseExpression) -> str | None:
    """``single`` / ``self.single_client``: a test that can vouch for an ownership flag."""
    if isinstance(expr, (cst.Name, cst.Attribute)):
        return dotted_name(expr)
    return None


_COMPARED = " == "


_CALLED = " called with "


def _compared_names(flag: str) -> set[str]:
    """The names a comparison flag reads (``name == "-"`` → {"name"}); none for a plain flag,
    whose own assignment resets it."""
    flag = flag.removeprefix("not ")
    if _CALLED in flag:
        return {part.split(".", 1)[0] for part in flag.split(_CALLED, 1)[1].split(", ")}
    for operator in (_COMPARED, " is "):
        if operator in flag:
            return {part.split(".", 1)[0] for part in flag.split(operator)}
    return set()


def _acquires_conditionally(call: cst.Call) -> bool:
    """``lock.acquire(False)``, ``acquire(blocking=False)``, ``acquire(timeout=1)``."""
    if not (isinstance(call.func, cst.Attribute) and call.func.attr.value == "acquire"):
        return False
    for index, arg in enumerate(call.args):
        keyword = arg.keyword.value if arg.keyword is not None else None
        if keyword == "timeout" or (index == 1 and keyword is None):
            return True
        if keyword in ("blocking", None) and isinstance(arg.value, cst.Name):
            if arg.value.value == "False":
                return True
    return False


def _passes(call: cst.Call, wanted: tuple[str, ...]) -> bool:
    """``stream=True`` / ``name@0`` (given, not None): every condition of ``acquire-when``."""
    for condition in wanted:
        keyword, _, literal = condition.partition("=")
        text = _argument_text(call, keyword)
        if literal:
            if text != literal:
                return False
        elif text is None or text in ABSENT_VALUES:
            return False
    return True


def _borrows(call: cst.Call, resource: Resource, scope: Scope) -> bool:
    """``open(fd, closefd=False)``, ``ZipFile(io.BytesIO())``, ``ZipFile(buf)`` after
    ``buf = io.BytesIO()``: an argument of ``borrow-when`` with that value; a class that
    derives from it counts as it (``TarFile(fileobj=MyBytesIO(data))``)."""
    return any(
        borrow_condition_met(
            condition,
            lambda where: _argument_text(call, where, scope.types_of),
            scope.base_classes,
        )
        for condition in resource.borrow_when
    )


def _argument_text(
    call: cst.Call, where: str, types_of: Callable[[str], list[str]] | None = None
) -> str | None:
    """The argument ``where`` names (``keyword``, ``keyword@N``: or the Nth positional, ``N``:
    the Nth positional) as text: a name or a number as written, a string literal with its
    quotes, a call as ``callee()``; None when it is not passed."""
    keyword, index = argument_place(where)
    for number, arg in enumerate(call.args):
        if arg.star:
            if index is not None and arg.star == "*" and number <= index:
                return None  # the Nth positional is somewhere in *args
            continue
        if (arg.keyword is not None and arg.keyword.value == keyword) or (
            arg.keyword is None and number == index
        ):
            value = arg.value
            if isinstance(value, cst.Name) and types_of is not None:
                made = types_of(value.value)
                if len(made) == 1:  # ``buf = io.BytesIO()``: as if the call stood here
                    return f"{made[0]}()"
            if isinstance(value, (cst.Name, cst.Integer, cst.SimpleString)):
                return value.value
            if isinstance(value, cst.Call):
                return f"{dotted_name(value.func) or '?'}()"
            return "?"  # passed, value unknown
    return None


def _walk_expression(expr: cst.CSTNode) -> Iterator[cst.CSTNode]:
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.children)


def _statement_call_of(stmt: cst.CSTNode) -> cst.Call | None:
    """The call a statement (or a one-statement line) is made of, if it is one."""
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
        stmt = stmt.body[0]
    if isinstance(stmt, cst.Expr) and isinstance(stmt.value, cst.Call):
        return stmt.value
    return None


def _releases(resource: Resource, method: str) -> bool:
    """Calling ``method`` on the resource (``__exit__``: leaving a ``with``) releases it;
    so does ``__del__()`` called by hand."""
    if method == "__del__":
        return True
    if method in ("__exit__", "__aexit__") and method not in resource.release:
        return resource.cm_closes
    return method in resource.release
