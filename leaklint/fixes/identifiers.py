"""The names a planner asks about in a libcst subtree: which identifiers it reads or binds
(``names_in``), how often it uses one (``_count_uses``), a fresh name (``fresh_name``),
whether the module imports a module by its own name (``_imports_module``)."""

from __future__ import annotations

import libcst as cst


class _Identifiers(cst.CSTVisitor):
    """Visits identifiers only: not the attribute of ``a.b``, not the keyword of ``f(k=v)``."""

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)
        return False


class _Names(_Identifiers):
    """Every identifier a subtree reads or binds (not attribute names, not keywords of
    calls), and which of them it binds; whether a nested scope mentions them."""

    def __init__(self) -> None:
        self.all: set[str] = set()
        self.bound: set[str] = set()
        self.in_nested: set[str] = set()
        self.declared: set[str] = set()  # global / nonlocal
        self.depth = 0

    def visit_ImportAlias(self, node: cst.ImportAlias) -> bool:
        if node.asname is not None and isinstance(node.asname.name, cst.Name):
            self._bind(node.asname.name.value)
        else:
            top = node.name
            while isinstance(top, cst.Attribute):
                top = top.value
            if isinstance(top, cst.Name):
                self._bind(top.value)
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.all.add(node.value)
        if self.depth:
            self.in_nested.add(node.value)

    def _bind(self, name: str) -> None:
        self.all.add(name)
        self.bound.add(name)
        if self.depth:
            self.in_nested.add(name)

    def _bind_target(self, target: cst.CSTNode) -> None:
        if isinstance(target, cst.Name):
            self._bind(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind_target(element.value)
        elif isinstance(target, cst.StarredElement):
            self._bind_target(target.value)

    def on_visit(self, node: cst.CSTNode) -> bool:
        field = _BINDING_FIELD.get(type(node))
        if field is not None:
            self._bind_target(getattr(node, field))
        if isinstance(node, (cst.Global, cst.Nonlocal)):
            self.declared.update(item.name.value for item in node.names)
        return super().on_visit(node)

    def visit_MatchAs(self, node: cst.MatchAs) -> None:
        if node.name is not None:
            self._bind(node.name.value)

    def visit_MatchStar(self, node: cst.MatchStar) -> None:
        if node.name is not None:
            self._bind(node.name.value)

    def _enter_scope(self, name: cst.Name | None) -> None:
        if name is not None:
            self._bind(name.value)
        self.depth += 1

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._enter_scope(node.name)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.depth -= 1

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._enter_scope(node.name)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self.depth -= 1

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._enter_scope(None)

    def leave_Lambda(self, node: cst.Lambda) -> None:
        self.depth -= 1

    def visit_Param(self, node: cst.Param) -> None:
        self._bind(node.name.value)


#: Nodes that bind names, and the field holding the target.
_BINDING_FIELD: dict[type, str] = {
    cst.AssignTarget: "target",
    cst.AugAssign: "target",
    cst.AnnAssign: "target",
    cst.For: "target",
    cst.CompFor: "target",
    cst.AsName: "name",
    cst.NamedExpr: "target",
    cst.Del: "target",
}


def names_in(*nodes: cst.CSTNode) -> _Names:
    found = _Names()
    for node in nodes:
        node.visit(found)
    return found


def _body_names(scope: cst.CSTNode) -> _Names:
    """The names of a function (its parameters, body and decorators) or of the module."""
    return names_in(scope)


def fresh_name(base: str, taken: set[str]) -> str:
    """``base``, or ``base2``, ``base3``...: the first not in ``taken``."""
    if base not in taken:
        return base
    n = 2
    while f"{base}{n}" in taken:
        n += 1
    return f"{base}{n}"


def _imports_module(module: cst.Module, name: str) -> bool:
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Import):
                    for alias in small.names:
                        if alias.asname is None and isinstance(alias.name, cst.Name) and alias.name.value == name:
                            return True
    return False


class _Counter(_Identifiers):
    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == self.name:
            self.count += 1


def _count_uses(node: cst.CSTNode, name: str) -> int:
    counter = _Counter(name)
    node.visit(counter)
    return counter.count
