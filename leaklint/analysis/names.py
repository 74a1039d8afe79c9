"""Name resolution from the module's own import table, built in one cheap pass.

libcst's ``QualifiedNameProvider`` resolves every name of a module and costs several times
the parse; the analysis only asks "what does the callee of this call name?", so each scope
records its bindings (imports, assignments, parameters, defs) as it is entered and a
lookup walks the chain of enclosing scopes, as Python does (class bodies are skipped by
the functions nested in them).
"""

from __future__ import annotations

import builtins
import sys
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import libcst as cst

_BUILTINS = frozenset(dir(builtins))

#: A binding whose target we cannot name (a parameter, a def, ``x = compute()``).
UNKNOWN = "<unknown>"


class SameScopeVisitor(cst.CSTVisitor):
    """A visitor that stays in the scope it starts in: nested functions, lambdas and classes
    run at another time, if at all."""

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False


def dotted_name(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def _import_module_name(node: cst.BaseExpression) -> str:
    return dotted_name(node) or ""


@dataclass(slots=True)
class Scope:
    """The names bound in one function, class or module body."""

    kind: str  # "module" | "class" | "function"
    parent: Scope | None = None
    module: str = ""  # the dotted module name, for module-level defs and relative imports
    is_package: bool = False
    bindings: dict[str, set[str]] = field(default_factory=dict)
    declared_global: set[str] = field(default_factory=set)
    declared_nonlocal: set[str] = field(default_factory=set)
    # name -> qualified names of what it is bound from: ``x = F(...)`` and ``x: F``
    made_by: dict[str, set[str]] = field(default_factory=dict)
    params: set[str] = field(default_factory=set)
    # names bound from a call that asks for no buffer (``open(p, "wb", buffering=0)``, ``0``
    # as its third argument): a write to them is a system call
    unbuffered: set[str] = field(default_factory=set)
    # class name -> the qualified names of its bases (``class MyBytesIO(io.BytesIO)``)
    bases: dict[str, set[str]] = field(default_factory=dict)
    # name -> the expressions assigned to it here (``q = p / "x"``, a parameter's default,
    # ``locks = defaultdict(Lock)``): what ``receivers.ReceiverTypes`` reads a type from
    values: dict[str, list[cst.BaseExpression]] = field(default_factory=dict)
    # name -> the calls a ``with`` entered to bind it (``with socket.socket() as s``): most
    # objects' ``__enter__`` gives the object itself, so the call's callee is its type
    entered: dict[str, list[cst.Call]] = field(default_factory=dict)
    # the modules a module-level ``from m import *`` reads (first contact round 6, trio's
    # tests: ``from ..testing import *`` then ``MemoryReceiveStream()``)
    star_imports: list[str] = field(default_factory=list)
    #: the qualified name of what this scope is the body of, as the project summaries name
    #: it (``pkg.mod``, ``pkg.mod.C``, ``pkg.mod.f``, ``pkg.mod.f.<locals>.g``); None where
    #: they do not (a lambda, a class inside a function): a function defined here is bound
    #: to its qualified name so a call to it finds its summary (leakfixes LF033: Pillow's
    #: ``open()`` hands the file to its nested ``_open_core(fp, ...)``)
    qualname: str | None = None

    def made_here(self, name: str) -> bool:
        """``name = Factory(...)`` in this very scope (not a parameter, not an outer name)."""
        return name in self.made_by and name not in self.params

    def types_of(self, name: str) -> list[str]:
        """What ``name`` may have been made by, looked up like the name itself."""
        scope: Scope | None = self
        while scope is not None:
            if name in scope.bindings or name in scope.made_by:
                return sorted(scope.made_by.get(name, ()))
            scope = scope.lookup_parent()
        return []

    def base_classes(self, name: str) -> set[str]:
        """The bases of the class ``name`` names here, when a scope in reach defines it."""
        scope: Scope | None = self
        while scope is not None:
            if name in scope.bases:
                return scope.bases[name]
            if name in scope.bindings:
                return set()
            scope = scope.lookup_parent()
        return set()

    def common_base(self, targets: Collection[str]) -> str | None:
        """Of the classes a name is bound to on different paths (``if win: Reader =
        ThreadReader else: Reader = PosixReader``), the one all the others derive from,
        through the bases this scope's module defines: what the name makes is one of it."""
        for candidate in sorted(targets):
            if all(other == candidate or self._derives(other, candidate) for other in targets):
                return None if candidate == UNKNOWN else candidate
        return None

    def _derives(self, class_name: str, base: str, depth: int = 0) -> bool:
        module = _module_of(self)
        prefix = f"{module.module}."
        if depth > 8 or not module.module or not class_name.startswith(prefix):
            return False
        bases = module.bases.get(class_name[len(prefix):], set())
        return base in bases or any(self._derives(b, base, depth + 1) for b in bases)

    def bind(self, name: str, target: str = UNKNOWN) -> None:
        self.bindings.setdefault(name, set()).add(target)

    def lookup_parent(self) -> Scope | None:
        """The scope a nested function sees next: class bodies are not visible from methods."""
        parent = self.parent
        while parent is not None and parent.kind == "class":
            parent = parent.parent
        return parent

    def resolve_name(self, name: str) -> str | None:
        """The qualified name ``name`` refers to here, or None when it is not knowable."""
        scope: Scope | None = self
        while scope is not None:
            if name in scope.declared_global and scope.parent is not None:
                scope = _module_of(scope)
                continue
            targets = scope.bindings.get(name)
            if targets:
                if len(targets) == 1:
                    (target,) = targets
                    return None if target == UNKNOWN else target
                # bound to different things on different paths: their common class, if one
                return scope.common_base(targets)
            scope = scope.lookup_parent()
        if name in _BUILTINS:
            return f"builtins.{name}"
        module = _module_of(self)
        if len(module.star_imports) == 1:
            # bound nowhere else: the one module whose names were all imported gives it
            return f"{module.star_imports[0]}.{name}"
        return None

    def resolve(self, node: cst.BaseExpression) -> str | None:
        """Qualified name of a Name/Attribute chain through this scope's imports."""
        dotted = dotted_name(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        target = self.resolve_name(head)
        if target is None:
            return None
        return f"{target}.{rest}" if rest else target


def resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str | None:
    """``from ..x import y`` inside ``module`` → the absolute module ``x`` names."""
    parts = module.split(".")
    if not is_package:
        parts = parts[:-1]
    if level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)] if level > 1 else parts
    if name:
        base = [*base, name]
    return ".".join(base) or None


def _module_of(scope: Scope) -> Scope:
    while scope.parent is not None:
        scope = scope.parent
    return scope


class _BindingCollector:
    """Records the bindings of one body without entering nested scopes."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        root = _module_of(scope)
        self.module, self.is_package = root.module, root.is_package

    def collect(self, body: Sequence[cst.BaseStatement]) -> None:
        for stmt in body:
            self.statement(stmt)

    def statement(self, stmt: cst.CSTNode) -> None:
        scope = self.scope
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                self.small(small)
        elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            if isinstance(stmt, cst.ClassDef):  # the bases run before the name is bound
                bases = {scope.resolve(arg.value) for arg in stmt.bases if arg.keyword is None}
                scope.bases[stmt.name.value] = {base for base in bases if base}
            if scope.kind == "module" and self.module:
                scope.bind(stmt.name.value, f"{self.module}.{stmt.name.value}")
            elif scope.kind == "function" and scope.qualname and isinstance(stmt, cst.FunctionDef):
                scope.bind(stmt.name.value, nested_qualname(scope.qualname, stmt.name.value))
            else:
                scope.bind(stmt.name.value)
        elif isinstance(stmt, (cst.For,)):
            self.target(stmt.target)
            self.block(stmt.body)
            if stmt.orelse:
                self.block(stmt.orelse.body)
        elif isinstance(stmt, cst.While):
            self.block(stmt.body)
            if stmt.orelse:
                self.block(stmt.orelse.body)
        elif isinstance(stmt, cst.If):
            self.block(stmt.body)
            if stmt.orelse is not None:
                if isinstance(stmt.orelse, cst.If):
                    self.statement(stmt.orelse)
                else:
                    self.block(stmt.orelse.body)
        elif isinstance(stmt, cst.With):
            for item in stmt.items:
                if item.asname is not None:
                    self.target(item.asname.name)
                    call = item.item.expression if isinstance(item.item, cst.Await) else item.item
                    if isinstance(item.asname.name, cst.Name) and isinstance(call, cst.Call):
                        scope.entered.setdefault(item.asname.name.value, []).append(call)
            self.block(stmt.body)
        elif isinstance(stmt, (cst.Try, cst.TryStar)):
            self.block(stmt.body)
            imported = _stdlib_imports_only(stmt.body)
            for handler in stmt.handlers:
                if handler.name is not None:
                    self.target(handler.name.name)
                if imported and _catches_import_error(handler):
                    self.fallback(handler.body, imported)
                else:
                    self.block(handler.body)
            if stmt.orelse:
                self.block(stmt.orelse.body)
            if stmt.finalbody:
                self.block(stmt.finalbody.body)
        elif isinstance(stmt, cst.Match):
            for case in stmt.cases:
                self.pattern(case.pattern)
                self.block(case.body)

    def fallback(self, block: cst.BaseSuite, imported: set[str]) -> None:
        """An ``except ImportError:`` handler after a ``try`` that only imports standard
        library modules (``try: import builtins`` / ``except ImportError: import __builtin__
        as builtins``): on Python 3 the import never fails, so what the handler binds to
        those names never stands."""
        bindings = self.scope.bindings
        kept = {name: set(bindings[name]) for name in imported if name in bindings}
        self.block(block)
        bindings.update(kept)

    def block(self, block: cst.BaseSuite) -> None:
        if isinstance(block, cst.IndentedBlock):
            self.collect(block.body)
        elif isinstance(block, cst.SimpleStatementSuite):
            for small in block.body:
                self.small(small)

    def small(self, small: cst.BaseSmallStatement) -> None:
        scope = self.scope
        if isinstance(small, cst.Import):
            for alias in small.names:
                module = _import_module_name(alias.name)
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    scope.bind(alias.asname.name.value, module)
                else:
                    head = module.split(".", 1)[0]
                    scope.bind(head, head)
        elif isinstance(small, cst.ImportFrom):
            if small.relative:
                name = _import_module_name(small.module) if small.module is not None else None
                base = (
                    resolve_relative(self.module, self.is_package, len(small.relative), name)
                    if self.module
                    else None
                )
            elif small.module is None:
                base = None
            else:
                base = _import_module_name(small.module)
            if isinstance(small.names, cst.ImportStar):
                if base and scope.kind == "module":
                    scope.star_imports.append(base)
                return
            for alias in small.names:
                name = _import_module_name(alias.name)
                bound = (
                    alias.asname.name.value
                    if alias.asname is not None and isinstance(alias.asname.name, cst.Name)
                    else name
                )
                scope.bind(bound, f"{base}.{name}" if base else UNKNOWN)
        elif isinstance(small, cst.Assign):
            value = _alias_target(scope, small.value)
            for target in small.targets:
                if value == UNKNOWN:  # ``socket = patcher.original("socket")``
                    value = _imported_by_its_name(target.target, small.value) or value
                self.target(target.target, value)
                self.made_by(target.target, small.value)
                self.value(target.target, small.value)
        elif isinstance(small, cst.AnnAssign):
            if small.value is not None:
                self.target(small.target, _alias_target(scope, small.value))
                self.made_by(small.target, small.value)
                self.value(small.target, small.value)
            self.made_by(small.target, small.annotation.annotation, annotation=True)
        elif isinstance(small, cst.AugAssign):
            self.target(small.target)
        elif isinstance(small, cst.Global):
            scope.declared_global.update(n.name.value for n in small.names)
        elif isinstance(small, cst.Nonlocal):
            scope.declared_nonlocal.update(n.name.value for n in small.names)

    def made_by(
        self, target: cst.BaseExpression, value: cst.BaseExpression, annotation: bool = False
    ) -> None:
        if not isinstance(target, cst.Name):
            return
        callee = value if annotation else value.func if isinstance(value, cst.Call) else None
        if annotation and isinstance(value, cst.Subscript):
            callee = value.value  # ``buf: IO[bytes]``: an IO
        if isinstance(value, cst.Await) and isinstance(value.expression, cst.Call):
            callee = value.expression.func  # ``pool = await asyncpg.create_pool()``
        if callee is None:
            return
        if isinstance(callee, cst.Call):  # ``sessionmaker(...)()``
            callee = callee.func
        qualname = self.scope.resolve(callee) if isinstance(callee, (cst.Name, cst.Attribute)) else None
        if qualname:
            self.scope.made_by.setdefault(target.value, set()).add(qualname)
            if isinstance(value, cst.Call) and _unbuffered(value):
                self.scope.unbuffered.add(target.value)

    def value(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self.scope.values.setdefault(target.value, []).append(value)

    def target(self, node: cst.BaseExpression, value: str | None = UNKNOWN) -> None:
        if isinstance(node, cst.Name):
            if value is not None:
                self.scope.bind(node.value, value)
        elif isinstance(node, (cst.Tuple, cst.List)):
            for element in node.elements:
                self.target(element.value)
        elif isinstance(node, cst.StarredElement):
            self.target(node.value)

    def pattern(self, pattern: cst.MatchPattern) -> None:
        if isinstance(pattern, cst.MatchAs):
            if pattern.name is not None:
                self.scope.bind(pattern.name.value)
            if pattern.pattern is not None:
                self.pattern(pattern.pattern)
        elif isinstance(pattern, cst.MatchStar):
            if pattern.name is not None:
                self.scope.bind(pattern.name.value)
        elif isinstance(pattern, (cst.MatchList, cst.MatchTuple)):
            for element in pattern.patterns:
                if isinstance(element, cst.MatchSequenceElement):
                    self.pattern(element.value)
                else:
                    self.pattern(element)
        elif isinstance(pattern, cst.MatchOr):
            for element in pattern.patterns:
                self.pattern(element.pattern)
        elif isinstance(pattern, cst.MatchMapping):
            for element in pattern.elements:
                self.pattern(element.pattern)
            if pattern.rest is not None:
                self.scope.bind(pattern.rest.value)
        elif isinstance(pattern, cst.MatchClass):
            for element in pattern.patterns:
                self.pattern(element.value)
            for keyword in pattern.kwds:
                self.pattern(keyword.pattern)


def _stdlib_imports_only(block: cst.BaseSuite) -> set[str]:
    """The names a ``try`` body binds when all it does is ``import m [as n]`` of top-level
    standard library modules (which always import); else nothing."""
    statements = block.body if isinstance(block, cst.IndentedBlock) else [block]
    names: set[str] = set()
    for stmt in statements:
        simple = isinstance(stmt, (cst.SimpleStatementLine, cst.SimpleStatementSuite))
        for small in stmt.body if simple else [None]:
            if not isinstance(small, cst.Import):
                return set()
            for alias in small.names:
                module = _import_module_name(alias.name)
                if "." in module or module not in sys.stdlib_module_names:
                    return set()
                asname = alias.asname.name if alias.asname is not None else None
                names.add(asname.value if isinstance(asname, cst.Name) else module)
    return names


def _catches_import_error(handler: cst.ExceptHandler | cst.ExceptStarHandler) -> bool:
    """``except ImportError:`` / ``except (ImportError, AttributeError):``."""
    kind = handler.type
    kinds = [e.value for e in kind.elements] if isinstance(kind, cst.Tuple) else [kind]
    return any(
        dotted_name(k) in ("ImportError", "ModuleNotFoundError") for k in kinds if k is not None
    )


def _alias_target(scope: Scope, value: cst.BaseExpression) -> str | None:
    """What ``name = value`` binds: an alias of a dotted name, nothing for ``None``."""
    if isinstance(value, cst.Name) and value.value == "None":
        return None  # ``x = None`` fallbacks do not hide the import they stand in for
    resolved = scope.resolve(value) if isinstance(value, (cst.Name, cst.Attribute)) else None
    return resolved or _imported_by_call(value) or UNKNOWN


#: Functions that import the module their first argument names and return it:
#: ``asyncore = import_helper.import_deprecated("asyncore")`` binds asyncore as an import does.
_IMPORTING_FUNCTIONS = frozenset({"import_module", "import_deprecated", "import_fresh_module"})


def _imported_by_call(value: cst.BaseExpression) -> str | None:
    if not (isinstance(value, cst.Call) and value.args and value.args[0].keyword is None):
        return None
    name = dotted_name(value.func) or ""
    module = value.args[0].value
    if name.rsplit(".", 1)[-1] not in _IMPORTING_FUNCTIONS or not isinstance(
        module, cst.SimpleString
    ):
        return None
    text = module.evaluated_value
    if not isinstance(text, str) or not all(part.isidentifier() for part in text.split(".")):
        return None
    return text


def _imported_by_its_name(target: cst.BaseExpression, value: cst.BaseExpression) -> str | None:
    """A name bound to a call given that very name, a standard library module's, as its one
    positional argument: an import helper returning the module (eventlet's
    ``socket = patcher.original("socket")``, ``ssl = pytest.importorskip("ssl")``,
    ``select = __import__("select")``)."""
    if not (isinstance(target, cst.Name) and isinstance(value, cst.Call)):
        return None
    positional = [arg for arg in value.args if arg.keyword is None]
    if len(positional) != 1 or positional[0].star or not isinstance(
        positional[0].value, cst.SimpleString
    ):
        return None
    text = positional[0].value.evaluated_value
    if text != target.value or text not in sys.stdlib_module_names:
        return None
    return text


def function_scope(
    node: cst.FunctionDef | cst.Lambda, parent: Scope, body: Iterable[cst.BaseStatement]
) -> Scope:
    """The scope of a function: its parameters, then what its body binds."""
    scope = Scope("function", parent)
    if isinstance(node, cst.FunctionDef):
        scope.qualname = _function_qualname(parent, node.name.value)
    params = node.params
    collector = _BindingCollector(scope)
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        scope.bind(param.name.value)
        scope.params.add(param.name.value)
        if param.annotation is not None:
            collector.made_by(param.name, param.annotation.annotation, annotation=True)
        if param.default is not None:  # ``lock=threading.Lock()``
            collector.value(param.name, param.default)
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            scope.bind(star.name.value)
    collector.collect(list(body))
    return scope


def body_scope(
    kind: str,
    parent: Scope | None,
    body: Iterable[cst.BaseStatement],
    module: str = "",
    is_package: bool = False,
    name: str | None = None,
) -> Scope:
    """The scope of a module or class body; ``name``: the class's (a class directly in the
    module gets its qualified name, as the summaries know it)."""
    scope = Scope(kind, parent, module=module, is_package=is_package)
    if kind == "module":
        scope.qualname = module or None
    elif name is not None and parent is not None and parent.kind == "module" and parent.qualname:
        scope.qualname = f"{parent.qualname}.{name}"
    _BindingCollector(scope).collect(list(body))
    return scope


def locals_of(outer: str) -> str:
    """The prefix of the qualified names of the functions defined in function ``outer``
    (Python's own ``__qualname__`` form, ``f.<locals>.g``, which no module attribute takes)."""
    return f"{outer}.<locals>"


def nested_qualname(outer: str, name: str) -> str:
    """The qualified name of function ``name`` defined in function ``outer``."""
    return f"{locals_of(outer)}.{name}"


def _function_qualname(parent: Scope | None, name: str) -> str | None:
    """The qualified name of a function defined in ``parent``: a module's or a class's
    function by its dotted name, a nested one by ``nested_qualname``."""
    if parent is None or not parent.qualname:
        return None
    if parent.kind == "function":
        return nested_qualname(parent.qualname, name)
    return f"{parent.qualname}.{name}"


def _unbuffered(call: cst.Call) -> bool:
    """``open(p, "wb", 0)``, ``open(p, "wb", buffering=0)``: the file has no buffer."""
    positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
    for arg in call.args:
        if (arg.keyword is not None and arg.keyword.value == "buffering") or (
            arg.keyword is None and len(positional) > 2 and arg is positional[2]
        ):
            return not (isinstance(arg.value, cst.Integer) and arg.value.value != "0")
    return False


# ---------------------------------------------------------------- names nested scopes capture

_SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef, cst.ListComp, cst.SetComp, cst.DictComp,
           cst.GeneratorExp)


def captured_names(nodes: Iterable[cst.CSTNode], module_level: bool = False) -> set[str]:
    """The names the nested scopes ``nodes`` (``def``, ``lambda``, ``class``, comprehension)
    take from the scope around them: those they read or assign through ``nonlocal`` and do
    not bind themselves (``def g(): f = 1`` has its own ``f``). ``module_level``: the scope
    around is the module, so a ``global f`` in them is its ``f`` too."""
    out: set[str] = set()
    for node in nodes:
        out |= _free_names(node, module_level)
    return out


def _free_names(scope: cst.CSTNode, module_level: bool) -> set[str]:
    bound: set[str] = set()
    reads: set[str] = set()
    declared_global: set[str] = set()
    declared_nonlocal: set[str] = set()
    stack: list[cst.CSTNode] = []
    if isinstance(scope, (cst.FunctionDef, cst.Lambda)):
        params = scope.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            bound.add(param.name.value)
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                bound.add(star.name.value)
        stack.append(scope.body)
    elif isinstance(scope, cst.ClassDef):
        stack.append(scope.body)
    elif isinstance(scope, (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)):
        clause: cst.CompFor | None = scope.for_in
        first = True
        while clause is not None:
            bound.update(_stored_names(clause.target))
            if not first:  # the first iterable is evaluated by the scope around
                stack.append(clause.iter)
            stack.extend(cond.test for cond in clause.ifs)
            first = False
            clause = clause.inner_for_in
        if isinstance(scope, cst.DictComp):
            stack.extend((scope.key, scope.value))
        else:
            stack.append(scope.elt)
    else:
        stack.append(scope)
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Name):
            reads.add(node.value)
            continue
        if isinstance(node, _SCOPES):
            reads |= _free_names(node, False)
            if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
                bound.add(node.name.value)
                stack.extend(d.decorator for d in node.decorators)
                if isinstance(node, cst.ClassDef):
                    stack.extend(arg.value for arg in node.bases)
            if isinstance(node, (cst.FunctionDef, cst.Lambda)):
                params = node.params
                stack.extend(
                    p.default
                    for p in (*params.posonly_params, *params.params, *params.kwonly_params)
                    if p.default is not None
                )
            if isinstance(node, (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)):
                stack.append(node.for_in.iter)
            continue
        if isinstance(node, cst.Global):
            declared_global.update(item.name.value for item in node.names)
            continue
        if isinstance(node, cst.Nonlocal):
            declared_nonlocal.update(item.name.value for item in node.names)
            continue
        if isinstance(node, (cst.Import, cst.ImportFrom)):
            if not isinstance(node.names, cst.ImportStar):
                for alias in node.names:
                    target = alias.asname.name if alias.asname is not None else alias.name
                    name = dotted_name(target) if isinstance(target, (cst.Name, cst.Attribute)) else None
                    if name:
                        bound.add(name.split(".")[0])
            continue
        if isinstance(node, cst.Attribute):
            stack.append(node.value)  # ``x.f``: reads x, not f
            continue
        if isinstance(node, cst.Arg):
            stack.append(node.value)  # ``g(f=1)``: the keyword is no read
            continue
        if isinstance(node, (cst.Assign,)):
            for target in node.targets:
                bound.update(_stored_names(target.target))
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign)):
            bound.update(_stored_names(node.target))
        elif isinstance(node, (cst.For,)):
            bound.update(_stored_names(node.target))
        elif isinstance(node, cst.WithItem) and node.asname is not None:
            bound.update(_stored_names(node.asname.name))
        elif isinstance(node, cst.ExceptHandler) and node.name is not None:
            bound.update(_stored_names(node.name.name))
        elif isinstance(node, cst.Del):
            bound.update(_stored_names(node.target))
        elif isinstance(node, (cst.MatchAs, cst.MatchStar)) and node.name is not None:
            bound.add(node.name.value)
        stack.extend(node.children)
    # a walrus in a comprehension binds in the scope around it: a store there, kept as a read
    free = (reads - bound - declared_global) | declared_nonlocal
    if module_level:
        free |= declared_global
    return free


def _stored_names(target: cst.CSTNode) -> Iterator[str]:
    """``a``, ``a, (b, *c)``: the names an assignment target binds (not ``x.a``, ``x[a]``)."""
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from _stored_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from _stored_names(target.value)
