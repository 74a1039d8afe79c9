"""LL120: a class that stores a resource on ``self`` and never releases it gets a
``close()`` that does (and ``__enter__``/``__exit__`` calling it when it has neither)."""

from __future__ import annotations

import libcst as cst

from leaklint.analysis.leaks import Leak
from leaklint.fixes.base import UNSAFE, Edit, Fix
from leaklint.fixes.transforms import Tree

ADD_CLOSE = Fix(
    ("LL120",),
    UNSAFE,
    "Add a close() that releases it (and __enter__/__exit__ calling it)",
    "nothing calls the new close() until the class's users do; it raises AttributeError if "
    "the attribute was never set, and a subclass's own close() now hides it",
)
FIXES = (ADD_CLOSE,)


def _method(cls: cst.ClassDef, name: str) -> cst.FunctionDef | None:
    for stmt in cls.body.body:
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value == name:
            return stmt
    return None


_CONTAINERS = (cst.List, cst.Tuple, cst.Set, cst.Dict, cst.ListComp, cst.SetComp, cst.DictComp,
               cst.GeneratorExp)


def _holds_it_itself(cls: cst.ClassDef, attr: str) -> bool:
    """Every ``self.<attr> = value`` in the class stores an object, not a container of them."""

    class Stores(cst.CSTVisitor):
        values: list[cst.BaseExpression] = []

        def visit_Assign(self, node: cst.Assign) -> None:
            for target in node.targets:
                t = target.target
                if (isinstance(t, cst.Attribute) and t.attr.value == attr
                        and isinstance(t.value, cst.Name) and t.value.value == "self"):
                    self.values.append(node.value)

    stores = Stores()
    stores.values = []
    cls.visit(stores)
    return not any(isinstance(value, _CONTAINERS) for value in stores.values)


def add_close(leak: Leak, tree: Tree, code: str, line: int, col: int) -> Edit | None:
    var = leak.var or ""
    attr = var.removeprefix("self.")
    release = leak.resource.release[0] if leak.resource.release else ""
    if not var.startswith("self.") or "." in attr or not release.isidentifier():
        return None
    if leak.resource.is_async or release.startswith("__"):
        return None
    cls = next((a for a in tree.ancestors(leak.call) if isinstance(a, cst.ClassDef)), None)
    if cls is None or not isinstance(cls.body, cst.IndentedBlock) or cls.keywords:
        return None
    if any(not (isinstance(b.value, cst.Name) and b.value.value == "object") for b in cls.bases):
        return None  # a base may have its own close() or context manager
    if _method(cls, "close") is not None:
        return None  # it has one that does not release this: left to a person
    if not _holds_it_itself(cls, attr):
        return None  # ``self.files = [f]``: ``self.files.close()`` would not release it
    has_protocol = _method(cls, "__enter__") or _method(cls, "__exit__")
    text = f"def close(self):\n    self.{attr}.{release}()\n"
    if not has_protocol:
        text += (
            "\ndef __enter__(self):\n    return self\n"
            "\ndef __exit__(self, *exc_info):\n    self.close()\n"
        )
    methods = list(cst.parse_module(text).body)
    blank = (cst.EmptyLine(indent=False),)
    added = [m.with_changes(leading_lines=blank) for m in methods]
    body = cls.body

    def build(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.IndentedBlock)
        return updated.with_changes(body=[*updated.body, *added])

    end = tree.positions[cls].end
    point = (end.line, end.column)
    return Edit(ADD_CLOSE, code, line, col, (point, point), ((body, build),))
