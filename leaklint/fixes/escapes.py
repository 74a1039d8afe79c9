"""What of a resource outlives a block: names made from it (a cursor, a reader), what is
returned, stored, yielded or handed to a call (``_derived_escapes``, ``kept``), which uses
are only through its attributes or eager readers (``_only_attribute_uses``), which calls
give back data that holds nothing of it (``EAGER_METHODS``, ``DATA_METHODS``)."""

from __future__ import annotations

import libcst as cst

from leaklint.analysis.names import dotted_name
from leaklint.fixes.identifiers import _count_uses, _Identifiers
from leaklint.fixes.tree import Tree

#: Methods whose result is data, not an object still tied to the connection.
DATA_METHODS = frozenset({"fetchall", "fetchone", "fetchmany", "commit",
                                              "rollback", "total_changes"})


def _escapes(stmt: cst.With, var: str, scope: cst.CSTNode) -> bool:
    """Whether something made from ``var`` inside the ``with`` block (a cursor, a result
    set) may outlive the block: bound to a name used outside it, stored in an attribute or
    an item, returned, yielded, raised, handed to a call, or captured by a nested function.
    What an eager method gives (``cur.fetchall()``, ``f.read()``) is data and may."""
    made = {var}
    for _ in range(8):  # names made from names made from ``var``: a small fixed point
        look = _Made(made)
        stmt.body.visit(look)
        if look.escapes:
            return True
        if look.made <= made:
            break
        made |= look.made
    outside_uses = {name: _count_uses(scope, name) - _count_uses(stmt, name) for name in made - {var}}
    return any(count > 0 for count in outside_uses.values())


def _is_data(node: cst.CSTNode) -> bool:
    """A call whose result holds nothing of its receiver or argument."""
    if not isinstance(node, cst.Call):
        return False
    if isinstance(node.func, cst.Attribute):
        return node.func.attr.value in EAGER_METHODS | DATA_METHODS
    return dotted_name(node.func) in EAGER_READERS | {"len", "bool", "str", "int", "float", "print"}


class _Mentions(_Identifiers):
    """Whether an expression mentions one of ``names`` other than inside a data call."""

    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.found = False

    def visit_Call(self, node: cst.Call) -> bool:
        return not _is_data(node)

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.names:
            self.found = True


def _mentions(node: cst.CSTNode | None, names: set[str]) -> bool:
    if node is None:
        return False
    look = _Mentions(names)
    node.visit(look)
    return look.found


class _Made(cst.CSTVisitor):
    """One pass over a block: the names bound from what mentions ``names``, and whether any
    of it leaves the block other than by such a name."""

    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.made: set[str] = set()
        self.escapes = False

    def _bind(self, target: cst.CSTNode, value: cst.CSTNode | None) -> None:
        if not _mentions(value, self.names):
            return
        if isinstance(target, cst.Name):
            self.made.add(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind(element.value, value)
        elif isinstance(target, cst.StarredElement):
            self._bind(target.value, value)
        else:  # an attribute or an item: stored where the block cannot see its end
            self.escapes = True

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bind(node.target, node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._bind(node.target, node.value)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind(node.target, node.value)

    def visit_For(self, node: cst.For) -> None:
        if not (isinstance(node.iter, cst.Name) and node.iter.value in self.names):
            self._bind(node.target, node.iter)  # ``for line in f``: the lines are data

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind(node.asname.name, node.item)

    def visit_Return(self, node: cst.Return) -> None:
        self.escapes = self.escapes or _mentions(node.value, self.names)

    def visit_Yield(self, node: cst.Yield) -> None:
        self.escapes = self.escapes or _mentions(node.value, self.names)

    def visit_Raise(self, node: cst.Raise) -> None:
        self.escapes = self.escapes or _mentions(node.exc, self.names)

    def visit_Call(self, node: cst.Call) -> None:
        if _is_data(node):
            return
        receiver = node.func.value if isinstance(node.func, cst.Attribute) else None
        if receiver is not None and _mentions(receiver, self.names):
            return  # a method of the connection (or of a cursor): ``conn.execute(q, args)``
        if any(_mentions(arg.value, self.names) for arg in node.args):
            self.escapes = True  # handed on: the callee may keep it

    def _nested(self, node: cst.CSTNode) -> bool:
        self.escapes = self.escapes or _mentions(node, self.names)
        return False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return self._nested(node)

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return self._nested(node)

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return self._nested(node)

    def visit_Global(self, node: cst.Global) -> None:
        self.escapes = self.escapes or any(item.name.value in self.names for item in node.names)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self.escapes = self.escapes or any(item.name.value in self.names for item in node.names)


#: Methods whose result holds nothing of the resource: the statement may use it afterwards.
EAGER_METHODS = frozenset(
    {"read", "read1", "readline", "readlines", "readinto", "write", "writelines", "getvalue",
     "recv", "send", "sendall", "getsockname", "getpeername", "namelist", "getnames",
     "getmembers", "infolist", "extractall", "seek", "tell", "truncate", "flush",
     "accept"}  # a listener's accept(): a new socket of its own, which closing it leaves open
)
#: Functions that read all they need from a file before they return (not ``csv.reader``).
EAGER_READERS = frozenset(
    {"json.load", "pickle.load", "marshal.load", "tomllib.load", "plistlib.load", "list",
     "tuple", "sorted", "set"}
)


def _used_eagerly(tree: Tree, node: cst.CSTNode) -> bool:
    """``node`` is the receiver of an eager method (``open(p).read()``) or the first argument
    of an eager reader (``json.load(open(p))``): nothing of it outlives the statement."""
    parent = tree.parents.get(node)
    if isinstance(parent, cst.Attribute) and parent.value is node:
        call = tree.parents.get(parent)
        return isinstance(call, cst.Call) and call.func is parent and parent.attr.value in EAGER_METHODS
    if isinstance(parent, cst.For) and parent.iter is node:
        return True  # ``for line in f``: the loop reads it; nothing of it outlives the loop
    if isinstance(parent, cst.Arg) and parent.keyword is None and not parent.star:
        call = tree.parents.get(parent)
        return (
            isinstance(call, cst.Call)
            and call.args[0] is parent
            and dotted_name(call.func) in EAGER_READERS
        )
    return False


def _derived_escapes(
    nodes: list[cst.CSTNode], var: str, scope: cst.CSTNode, visitor: type[_Made] = _Made
) -> bool:
    """Whether something made from ``var`` in ``nodes`` (a cursor, a reader) may outlive them:
    returned, stored, handed on, or bound to a name used elsewhere in ``scope``; what an
    eager method gives is data and may."""
    made = {var}
    for _ in range(8):
        look = visitor(made)
        for node in nodes:
            node.visit(look)
        if look.escapes:
            return True
        if look.made <= made:
            break
        made |= look.made
    return any(
        _count_uses(scope, name) > sum(_count_uses(node, name) for node in nodes)
        for name in made - {var}
    )


class _HeldHere(_Made):
    """As ``_Made``, but a ``return`` of the object (or of a tuple holding it) hands it to no
    one while the function may still raise: nothing runs after it. A call it is passed to,
    a store, a yield (the consumer holds it while the generator goes on) still do."""

    def visit_Return(self, node: cst.Return) -> None:
        return None  # the calls in its value are visited: ``return wrap(f)`` still hands f on


class _Kept(_Made):
    """As ``_Made``, but a call it is passed to only borrows it (what a callee may keep is
    the stated risk of the unsafe ``finally``)."""

    def visit_Call(self, node: cst.Call) -> None:
        return None


def kept(nodes: list[cst.CSTNode], var: str, scope: cst.CSTNode) -> bool:
    """Whether ``var``, or something made from it, is returned, yielded, raised or stored
    in ``nodes`` (or bound to a name used outside them): it outlives them where it did not
    leak."""
    return _derived_escapes(nodes, var, scope, _Kept)


def _ends_in_data(tree: Tree, node: cst.CSTNode) -> bool:
    """``node`` heads a chain of method calls that ends in data: ``conn.cursor().fetchall()``,
    ``f.buffer.read()``."""
    while True:
        parent = tree.parents.get(node)
        if not (isinstance(parent, cst.Attribute) and parent.value is node):
            return False
        call = tree.parents.get(parent)
        if not (isinstance(call, cst.Call) and call.func is parent):
            node = parent  # an attribute: ``f.buffer``
            continue
        if _is_data(call):
            return True
        node = call


def _only_attribute_uses(tree: Tree, middle: list[cst.CSTNode], var: str) -> bool:
    """Every use of ``var`` is ``var.attr`` or the argument of an eager reader
    (``json.load(f)``), never the object itself otherwise (it could be returned, stored or
    handed on), and what a ``return``/``yield`` gives back of it is the
    result of an eager method (``return f.readline()``), not something still reading it."""

    class Uses(_Identifiers):
        ok = True
        exits = 0

        def visit_Name(self, node: cst.Name) -> None:
            if node.value != var:
                return
            parent = tree.parents.get(node)
            if not (isinstance(parent, cst.Attribute) and parent.value is node):
                self.ok = self.ok and _used_eagerly(tree, node)  # ``json.load(f)`` reads it
            elif self.exits and not _used_eagerly(tree, node) and not _ends_in_data(tree, node):
                self.ok = False

        def on_visit(self, node: cst.CSTNode) -> bool:
            if isinstance(node, (cst.Return, cst.Yield)):
                self.exits += 1
            return super().on_visit(node)

        def on_leave(self, node: cst.CSTNode) -> None:
            if isinstance(node, (cst.Return, cst.Yield)):
                self.exits -= 1
            super().on_leave(node)

    uses = Uses()
    for stmt in middle:
        stmt.visit(uses)
    return uses.ok
