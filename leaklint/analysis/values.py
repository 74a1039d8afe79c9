"""Expression effects in the obligation analysis: what an expression's value may hold, and what
using it does (consumed and dropped, escaping, handed to a constructor, formatted into a
string), with the questions about values it asks (constants, calls that cannot raise,
containers, buffers).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import libcst as cst

from leaklint.analysis import ownership
from leaklint.analysis.cst_questions import (
    _expression_children,
    _flat_items,
    _flatten_targets,
    _passes,
    _subscript_holder,
    _subscript_key,
    _walk_expression,
)
from leaklint.analysis.names import dotted_name
from leaklint.analysis.state import _Effects, _Item, _State
from leaklint.analysis.summaries import is_releasing
from leaklint.resources import Resource


class ValuesMixin:
    """``value_of`` an expression and the ways a value is used: consumed, escaping, handed on.

    Analyser attributes it assigns: ``lambda_handed``. It reads (or changes in place):
    ``awaited``, ``class_name``, ``ctx``, ``expecting_raise``, ``in_message``, ``keys_set``,
    ``lends_on_yield``, ``parts``, ``receivers``, ``scope``, ``self_name``, ``yield_raises``.
    Methods of the other parts it calls: ``held_in_collection``, ``qualname``,
    ``released_by_method``, ``self_attribute``, ``value_of_call``. The attributes are made in
    ``_ScopeAnalyser.__init__`` (obligations.py).
    """

    def format_into(self, expr: cst.BaseExpression, fx: _Effects) -> None:
        """``expr`` is written into a string: a named descriptor goes with it (see
        ``_Effects.formatted``); anything else is used and dropped."""
        items = self.value_of(expr, fx)
        if not self.in_message:
            fx.formatted.extend(item[1] for item in items if item[0] == "name")
        self.consume_items([item for item in items if item[0] != "name"], fx)

    def consume(self, expr: cst.BaseExpression, fx: _Effects) -> None:
        """The value is used and dropped: a fresh resource in it is LL102."""
        self.consume_items(self.value_of(expr, fx), fx)

    def consume_items(self, items: list[_Item], fx: _Effects, opened: bool = False) -> None:
        """``opened``: a method that opens it was called on it (``create_engine(u).connect()``);
        a resource with ``opens-on`` dropped unopened holds nothing."""
        for item in items:
            if item[0] == "new" and (opened or not item[2].opens_on):
                fx.unbound.append((item[1], item[2]))
            elif item[0] == "contained":
                self.consume_items(item[1], fx)

    def escape(self, expr: cst.BaseExpression, fx: _Effects) -> None:
        """The value leaves our hands (returned, yielded, stored): so do the resources in it,
        and the ones it was built from (``return Reader(f)``, ``self.h = handler(sock)``)."""
        self.escape_value_items(self.value_of(expr, fx, escaping=True), fx)

    def hand(self, expr: cst.BaseExpression, fx: _Effects) -> None:
        """``Connection(sock)``: the object built keeps it, once the constructor returns."""
        items = self.value_of(expr, fx, escaping=True)
        fx.handed.extend(item[1] for item in _flat_items(items) if item[0] == "name")

    def escape_value_items(self, items: list[_Item], fx: _Effects) -> None:
        for item in items:
            if item[0] == "name":
                fx.escaped.append(item[1])
            elif item[0] == "contained":
                self.escape_value_items(item[1], fx)

    def consume_node(self, node: cst.CSTNode, fx: _Effects) -> None:
        if isinstance(node, cst.BaseExpression):
            self.consume(node, fx)
        else:
            for child in _expression_children(node):
                self.consume(child, fx)

    def factory_args(self, call: cst.Call, resource: Resource, fx: _Effects) -> None:
        """A factory's arguments are used, except those it takes over: by keyword
        (``connector=``) or by position (``"@0"``: ``open(fd)`` closes the descriptor)."""
        position = 0
        for arg in call.args:
            if arg.keyword is not None:
                owned = arg.keyword.value in resource.owns_arguments
            elif arg.star:
                owned = False  # ``*args``: which position each value takes is not known
            else:
                owned = f"@{position}" in resource.owns_arguments
                position += 1
            (self.escape if owned else self.consume)(arg.value, fx)

    def value_of(
        self, expr: cst.BaseExpression, fx: _Effects, escaping: bool = False
    ) -> list[_Item]:
        """Gather the effects inside ``expr``; return what its value may hold.

        ``escaping``: the value leaves the scope, so a named resource passed to a call that
        builds it leaves with it."""
        if isinstance(expr, cst.Name):
            return [("name", expr.value)]
        if isinstance(expr, cst.Call):
            return self.value_of_call(expr, fx, escaping)
        if isinstance(expr, cst.Attribute):
            attr = self.self_attribute(expr)
            if attr is not None:
                # ``task.add_done_callback(self._done)``: whoever calls it releases what the
                # method releases of self
                fx.released.extend(
                    f"{self.self_name}.{released}" for released in self.released_by_method(attr)
                )
                return [("name", f"{self.self_name}.{attr}")]
            if isinstance(expr.value, cst.Name):
                # ``w._run_lock.release()``: the lock an obligation on ``w._run_lock`` sits on
                holder = f"{expr.value.value}.{expr.attr.value}"
                if holder in self.receivers:
                    return [("name", holder)]
            inner = self.value_of(expr.value, fx)
            for item in inner:
                if item[0] == "name":
                    # ``f.close`` handed over as a value: whoever calls it releases f
                    fx.method_uses.append((item[1], expr.attr.value))
                    fx.touched.append((item[1], expr.attr.value))
                    if not self.expecting_raise:
                        # ``broker.connection``: a property that connects opens it too
                        fx.opened.append((item[1], expr.attr.value))
            self.consume_items([i for i in inner if i[0] != "name"], fx)
            return []
        if isinstance(expr, (cst.Tuple, cst.List, cst.Set)):
            inner: list[_Item] = []
            for element in expr.elements:
                inner.extend(self.value_of(element.value, fx))
            # ``files = [open(a), open(b)]``; a tuple is more often a call's arguments
            return [("contained", inner, not isinstance(expr, cst.Tuple))] if inner else []
        if isinstance(expr, cst.Dict):
            inner = []
            for element in expr.elements:
                if isinstance(element, cst.DictElement):
                    self.consume(element.key, fx)
                inner.extend(self.value_of(element.value, fx))
            # ``files = {"a": open(a)}``: a local dict holds what it is made with, as a list
            return [("contained", inner, True)] if inner else []
        if isinstance(expr, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
            elt = None if isinstance(expr, cst.DictComp) else expr.elt
            passed = self.comprehension_clauses(expr.for_in, fx, elt)
            if isinstance(expr, cst.DictComp):
                self.consume(expr.key, fx)
                inner = self.value_of(expr.value, fx)
            else:
                inner = passed or self.value_of(expr.elt, fx)
            # ``[f for f in range(3)]``: the comprehension's own ``f``, not the scope's
            own = _comprehension_targets(expr.for_in)
            inner = [i for i in inner if not (i[0] == "name" and i[1] in own)]
            # a list or set is made at once, a generator only as it is iterated
            eager = not isinstance(expr, cst.GeneratorExp)
            return [("contained", inner, eager)] if inner else []
        if isinstance(expr, cst.IfExp):
            self.consume(expr.test, fx)
            return self.value_of(expr.body, fx, escaping) + self.value_of(
                expr.orelse, fx, escaping
            )
        if isinstance(expr, cst.BooleanOperation):
            return self.value_of(expr.left, fx, escaping) + self.value_of(
                expr.right, fx, escaping
            )
        if isinstance(expr, cst.Await):
            fx.may_raise = True
            if isinstance(expr.expression, cst.Call):
                self.awaited.add(id(expr.expression))
            if isinstance(expr.expression, cst.Name):
                # ``await connect``: what the coroutine bound to it gives (``awaited_tuple``)
                return [("awaited", expr.expression.value), ("name", expr.expression.value)]
            return self.value_of(expr.expression, fx, escaping)
        if isinstance(expr, cst.Yield):
            fx.may_raise = fx.may_raise or self.yield_raises
            value = expr.value
            if isinstance(value, cst.From):
                self.consume(value.item, fx)
            elif value is not None:
                if self.lends_on_yield:
                    self.consume_items(
                        [i for i in self.value_of(value, fx) if i[0] != "name"], fx
                    )
                else:
                    self.escape(value, fx)
            return []
        if isinstance(expr, cst.NamedExpr):
            items = self.value_of(expr.value, fx)
            if isinstance(expr.target, cst.Name):
                fx.walrus.append((expr.target.value, items))
                return [("name", expr.target.value)]
            return items
        if isinstance(expr, cst.Subscript):
            key = _subscript_key(expr)
            if key is not None and key[0] in self.parts and "".join(key) in self.receivers:
                return [("name", "".join(key))]  # ``fds[0]`` of ``fds = os.pipe()``
            sliced = not self.ctx.strict and all(
                isinstance(element.slice, cst.Slice) for element in expr.slice
            )  # ``name[:-4]``: a slice of a sequence is never out of range
            if not sliced and (
                key is None or self.ctx.strict or key[1] not in self.keys_set.get(key[0], ())
            ):
                fx.may_raise = True  # a missing key or index; not one this scope just set
            index = _literal_index(expr)
            if index is not None:
                # ``srv.accept()[0]``: the one resource of the tuple, taken out of it
                made = self.value_of(expr.value, fx)
                if len(made) == 1 and made[0][0] == "new" and made[0][2].unpack == (index,):
                    return [("new", made[0][1], made[0][2], index)]
                self.consume_items(made, fx)
                return []
            self.consume(expr.value, fx)
            for element in expr.slice:
                self.consume_node(element.slice, fx)
            holder = _subscript_holder(expr)
            # ``locks[k].release()``: the value an obligation on ``locks[k]`` sits on
            return [("name", holder)] if holder in self.receivers else []
        if isinstance(expr, cst.StarredElement):
            return self.value_of(expr.value, fx)
        if isinstance(expr, cst.Lambda):
            # its own scope: what it reads it borrows (``retry(lambda: sock.connect(a))``),
            # what it releases or passes on it may release later (``lambda: f.close()``,
            # ``Thread(target=lambda: serve(sock))``)
            self.lambda_handed |= _handed_in(expr.body) - _lambda_params(expr)
            return []
        if isinstance(expr, _LEAF_EXPRESSIONS):
            return []
        if isinstance(expr, cst.FormattedString):
            for part in expr.parts:
                if isinstance(part, cst.FormattedStringExpression):
                    self.format_into(part.expression, fx)
            return []
        if isinstance(expr, _CHAINS):
            # ``"a" "b" "c" ...`` and ``a + b + c ...`` nest one level per operand
            for operand in _chain_operands(expr):
                self.consume(operand, fx)
            return []
        for child in _expression_children(expr):
            self.consume(child, fx)
        return []

    def holds_a_container(self, expr: cst.BaseExpression, state: _State) -> bool:
        """``for info in primary.state.server_info``: a name or attribute read that holds no
        resource of this scope and was made by no factory here is taken for a container, whose
        iteration fails only on its caller's error (a size changed while iterating). A file or
        socket held here is read by its iteration (I/O)."""
        name = dotted_name(expr) if isinstance(expr, (cst.Name, cst.Attribute)) else None
        if name is None:
            return False
        root = name.split(".", 1)[0]
        made_by = self.scope.made_by.get(root, set())
        if root == name and self.held_in_collection(expr, state):
            return True  # ``socks = [make(x) for x in xs]``: a list of them
        if root == name and (root in self.scope.params or root not in self.scope.bindings):
            return False  # ``for i in items`` of a parameter: maybe a generator
        return not (
            state.names.get(root)
            or state.names.get(name)
            or not made_by <= _CONTAINER_BUILDERS
            or (self.self_name is not None and root == self.self_name)
        )

    def comprehension_clauses(
        self, clause: cst.CompFor | None, fx: _Effects, elt: cst.BaseExpression | None = None
    ) -> list[_Item]:
        """Evaluate the clauses; ``[s for s in [make(x) for x in xs] if s]``: the elements
        a comprehension passes on from the container it iterates (``elt`` is its target)."""
        passed: list[_Item] = []
        first = True
        while clause is not None:
            if (
                first
                and clause.inner_for_in is None
                and isinstance(elt, cst.Name)
                and isinstance(clause.target, cst.Name)
                and clause.target.value == elt.value
            ):
                items = self.value_of(clause.iter, fx)
                passed = [i for item in items if item[0] == "contained" for i in item[1]]
                self.consume_items([i for i in items if i[0] != "contained"], fx)
            else:
                self.consume(clause.iter, fx)
            first = False
            for cond in clause.ifs:
                self.consume(cond.test, fx)
            clause = clause.inner_for_in
        return passed

    def cannot_raise(self, call: cst.Call) -> bool:
        """The call is no exit to blame a leak on (``ownership.cannot_raise``), or it writes a
        short literal into a file this scope opened (``f.write(b"spam")``)."""
        one_number = len(call.args) == 1 and call.args[0].keyword is None and isinstance(
            call.args[0].value, (cst.Integer, cst.Float)
        ) and not call.args[0].star
        if self.ctx.strict:
            return False
        qualname = self.qualname(call.func)
        if qualname == "builtins.getattr" and len(call.args) == 3:
            return True  # with a default: a missing attribute gives the default
        if qualname in ownership.BORROWING_OPENS and _passes(call, ("closefd=False",)):
            return True  # ``io.open(fd, closefd=False)``: wraps a descriptor it is lent
        func = call.func
        if self.inits_a_non_raising_base(call):
            return True
        project = self.ctx.project
        if project is not None:
            facts = project.functions.get(self.callee_name(func) or "")
            if facts is not None and facts.catches_all:
                return True  # ``_ioctl_GWINSZ(fd)``: ``try: ... except Exception: return None``
        makers = ownership.NON_RAISING_BY_MAKER.get(func.attr.value) if isinstance(
            func, cst.Attribute
        ) else None
        if makers:
            made = self.makers_of(func.value)
            if made and made <= makers:
                return True  # ``sel.register(sock, EVENT_READ)`` on ``sel = DefaultSelector()``
        if qualname in ownership.FAIL_ONLY_WHEN_EXHAUSTED and all(
            self.is_constant(arg.value) for arg in call.args
        ):
            return True  # ``a, b = socketpair()`` after another pair: EMFILE only
        return ownership.cannot_raise(qualname, call.func, one_number) or self.fills_a_buffer(
            call
        )

    def inits_a_non_raising_base(self, call: cst.Call) -> bool:
        """``super().__init__()`` in a class whose bases are all ones whose constructor does
        not raise (``class Worker(threading.Thread)``: it only checks its arguments; first
        contact round 8, dramatiq's event loop thread)."""
        func = call.func
        if not (
            isinstance(func, cst.Attribute)
            and func.attr.value == "__init__"
            and isinstance(func.value, cst.Call)
            and isinstance(func.value.func, cst.Name)
            and func.value.func.value == "super"
            and not func.value.args
        ):
            return False
        project = self.ctx.project
        facts = project.classes.get(self.class_name) if project and self.class_name else None
        if facts is None or not facts.bases:
            return False
        return all(
            base is not None and (base == "builtins.object" or base in ownership.NON_RAISING_FUNCTIONS)
            for base in facts.bases
        )

    def is_constant(self, node: cst.BaseExpression) -> bool:
        """A literal, ``None``/``True``/``False``, or a constant of a standard module
        (``socket.AF_UNIX``); not ``self.tmpdir`` or a parameter."""
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.Integer)):
            return True
        if isinstance(node, cst.Name):
            return node.value in ("None", "True", "False")
        if isinstance(node, cst.Attribute):
            qualname = self.qualname(node)
            return qualname is not None and qualname.split(".", 1)[0] in sys.stdlib_module_names
        return False

    def makers_of(self, node: cst.BaseExpression) -> set[str]:
        """Every call a name or a ``self`` attribute may have been made by (``sel =
        DefaultSelector()``; ``self.thread = threading.Thread(...)`` in any method)."""
        if isinstance(node, cst.Name):
            return set(self.scope.types_of(node.value))
        attr = self.self_attribute(node)
        project = self.ctx.project
        if attr is None or project is None or self.class_name is None:
            return set()
        facts = project.classes.get(self.class_name)
        return set(facts.stores.get(attr, ())) if facts else set()

    def fills_a_buffer(self, call: cst.Call) -> bool:
        """``f.write(b"spam")``, ``f.write("a" * 22)`` on ``f = open(...)`` of this scope: a
        literal of ASCII text or bytes shorter than the file's buffer (io.DEFAULT_BUFFER_SIZE)
        is copied into it; no system call happens, so nothing can fail."""
        func = call.func
        if not (
            isinstance(func, cst.Attribute)
            and func.attr.value == "write"
            and isinstance(func.value, cst.Name)
            and len(call.args) == 1
            and call.args[0].keyword is None
            and not call.args[0].star
        ):
            return False
        size = _literal_size(call.args[0].value)
        if size is None or size >= _BUFFER_SIZE:
            return False
        name = func.value.value
        made_by = self.scope.made_by.get(name)
        return (
            bool(made_by)
            and made_by <= ownership.BUFFERED_FILE_FACTORIES
            and name not in self.scope.unbuffered
        )


_LEAF_EXPRESSIONS = (cst.SimpleString, cst.Integer, cst.Float, cst.Imaginary, cst.Ellipsis)


_CHAINS = (cst.ConcatenatedString, cst.BinaryOperation)


_BUFFER_SIZE = 8192  # io.DEFAULT_BUFFER_SIZE


def _literal_size(expr: cst.BaseExpression) -> int | None:
    """The length of ``b"spam"``, ``"good"``, ``"a" * 22`` (ASCII text: its encoding cannot
    fail); None for anything else."""
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Multiply):
        for text, count in ((expr.left, expr.right), (expr.right, expr.left)):
            size = _literal_size(text)
            if size is not None and isinstance(count, cst.Integer):
                return size * int(count.evaluated_value)
        return None
    if not isinstance(expr, (cst.SimpleString, cst.ConcatenatedString)):
        return None
    value = expr.evaluated_value
    if value is None or (isinstance(value, str) and not value.isascii()):
        return None
    return len(value)


def _chain_operands(expr: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    """The operands of a left- or right-nested chain, without recursion."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.ConcatenatedString):
            stack.append(node.right)
            stack.append(node.left)
        elif isinstance(node, cst.BinaryOperation):
            stack.append(node.right)
            stack.append(node.left)
        else:
            yield node


def _literal_index(expr: cst.Subscript) -> int | None:
    """``x[0]``: the non-negative integer literal it indexes with, if that is all it is."""
    if len(expr.slice) != 1:
        return None
    element = expr.slice[0].slice
    if isinstance(element, cst.Index) and isinstance(element.value, cst.Integer):
        return int(element.value.evaluated_value)
    return None


#: Calls that build a plain container: iterating what they made cannot fail.
_CONTAINER_BUILDERS = frozenset(
    f"builtins.{name}" for name in ("list", "tuple", "dict", "set", "frozenset", "sorted")
)


def _comprehension_targets(clause: cst.CompFor | None) -> set[str]:
    """The names a comprehension's ``for`` clauses bind (its own, in Python 3)."""
    names: set[str] = set()
    while clause is not None:
        names.update(_flatten_names(clause.target))
        clause = clause.inner_for_in
    return names


def _flatten_names(target: cst.BaseExpression) -> Iterator[str]:
    for node in _flatten_targets(target):
        if isinstance(node, cst.StarredElement):
            node = node.value
        if isinstance(node, cst.Name):
            yield node.value


def _handed_in(expr: cst.BaseExpression) -> set[str]:
    """Names a lambda's body releases or passes to a call: ``f`` in ``lambda: f.close()``,
    ``lambda: serve(sock)``; not ``sock`` in ``lambda: sock.connect(addr)`` (used, kept)."""
    names: set[str] = set()
    for node in _walk_expression(expr):
        if not isinstance(node, cst.Call):
            continue
        func = node.func
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and is_releasing(func.attr.value)
        ):
            names.add(func.value.value)
        names.update(arg.value.value for arg in node.args if isinstance(arg.value, cst.Name))
    return names


def _lambda_params(expr: cst.Lambda) -> set[str]:
    params = expr.params
    found = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            found.add(star.name.value)
    return found
