"""The obligation analysis: where an acquired resource can reach the end of its scope unreleased.

Each scope (module body, class body, function) is interpreted over its libcst statements.
The abstract state maps every acquisition site (an *obligation*) to the set of states it may
be in on the paths reaching this point (``OPEN`` and/or ``DONE``) and every local name to the
obligations it may hold. Control flow is structured: branches join, loops iterate to a fixed
point, and every statement that can raise sends the state it had before it (less what it
released) along an exceptional edge to the innermost handler, ``finally`` or the scope's
exceptional exit. An obligation still ``OPEN`` at

* a normal exit (fall-through or ``return``) is **LL100**,
* only an exceptional exit is **LL101** (naming the statement that raised),
* and a resource never bound to anything (``open(p).read()``) is **LL102**.

``DONE`` covers release, ownership transfer (``return``/``yield``/stored on an object or in a
container, handed to an owning callee) and "was never acquired on this path" (``if f is None``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import libcst as cst

from leaklint.analysis import ownership, protocols
from leaklint.analysis.bindings import BindingsMixin
from leaklint.analysis.branches import BranchesMixin
from leaklint.analysis.calls import CallsMixin
from leaklint.analysis.cst_questions import _MANUAL_ENTER, _receiver_key, _statement_call_of
from leaklint.analysis.handoffs import OwnershipMixin
from leaklint.analysis.leaks import NEVER_RELEASED, Leak
from leaklint.analysis.loops import LoopsMixin
from leaklint.analysis.names import (
    SameScopeVisitor,
    Scope,
    body_scope,
    captured_names,
    dotted_name,
    function_scope,
)
from leaklint.analysis.receivers import ReceiverTypes
from leaklint.analysis.state import (
    DONE,
    OPEN,
    _Effects,
    _Frame,
    _MaybeState,
    _Module,
    _Obligation,
    _State,
)
from leaklint.analysis.statements import StatementsMixin
from leaklint.analysis.summaries import Project
from leaklint.analysis.testing import TestFrameworkMixin, _patched_names
from leaklint.analysis.try_with import TryWithMixin
from leaklint.analysis.values import ValuesMixin
from leaklint.resources import Registry, Resource

__all__ = [
    "DONE",
    "ENGINE_TRIGGERS",
    "OPEN",
    "Leak",
    "_MANUAL_ENTER",
    "_ScopeAnalyser",
    "analyse_module",
]


# --------------------------------------------------------------------------- module entry


def analyse_module(
    module: cst.Module,
    registry: Registry,
    *,
    module_name: str = "",
    is_package: bool = False,
    project: Project | None = None,
    strict: bool = False,
) -> list[Leak]:
    """Every leak in ``module``, in no particular order (the caller sorts by position).
    ``strict``: no call is taken to be one that practically never raises."""
    ctx = _Module(registry, project, module_name, strict)
    ctx.receiver_methods = _receiver_methods(registry, project)
    ctx.plain_classes = frozenset(
        f"{module_name}.{stmt.name.value}" if module_name else stmt.name.value
        for stmt in module.body
        if isinstance(stmt, cst.ClassDef) and not stmt.decorators
    )
    scope = body_scope("module", None, module.body, module_name, is_package)
    _ScopeAnalyser(ctx, scope, "module").run(module.body)
    return ctx.leaks


# --------------------------------------------------------------------------- the analyser


class _ScopeAnalyser(
    StatementsMixin,
    BranchesMixin,
    LoopsMixin,
    TryWithMixin,
    BindingsMixin,
    OwnershipMixin,
    ValuesMixin,
    CallsMixin,
    TestFrameworkMixin,
):
    """One scope's analyser: the driver (``run``, the module's body, the report of what leaked)
    and the nested scopes (``def``, ``class``: each analysed by an analyser of its own) are
    here; the rest lives in one mixin per part, each in its own module: the statement
    interpreter (statements.py, branches.py, loops.py, try_with.py), binding names and
    applying effects (bindings.py), ownership policy (handoffs.py), expression values
    (values.py), calls (calls.py) and test-framework knowledge (testing.py). No two parts
    define the same name, so the order of the bases changes nothing. All the parts share the
    state ``__init__`` makes.
    """

    def __init__(
        self,
        ctx: _Module,
        scope: Scope,
        kind: str,
        lends_on_yield: bool = False,
        yield_raises: bool = True,  # a pytest fixture is resumed, never thrown into
        class_name: str | None = None,
        method: cst.FunctionDef | None = None,
        mocked: frozenset[str] = frozenset(),
        cleanup_skipped: bool = False,
        in_test: bool = False,
    ) -> None:
        self.ctx = ctx
        self._flag_resets: dict[str, bool] = {}  # attr -> flag_reset_elsewhere(attr)
        # inside a test function (``def test_...``), at any depth: a class defined there is
        # that test's own stand-in, exercised by the test itself
        self.in_test = in_test
        # in a method: the class's qualified name and the name of ``self``
        self.class_name = class_name
        self.self_name = _first_param(method) if method is not None else None
        self.in_init = method is not None and method.name.value == "__init__"
        self.method = method
        # in a method: the attributes of self it calls a releasing method on (``self.f.close()``),
        # found when a resource is first stored on self outside __init__ (see method_owns)
        self._self_releases: frozenset[str] | None = None
        self.method_name = method.name.value if method is not None else None
        # a @contextmanager whose clean-up after yield is skipped (LL161 says it)
        self.cleanup_skipped = cleanup_skipped
        self.pending: set[int] = set()  # stored on self in __init__: owned once it returns
        # taken on self in an acquire() whose class's release() gives it back (paired_release)
        self.kept_for_caller: set[int] = set()
        # pending obligations an exception left the scope with before they were pending: the
        # next exception must record them in ``init_raises`` (see ``leave_by_exception``)
        self.repending: set[int] = set()
        self.registry = ctx.registry
        self.scope = scope
        self.receiver_types = ReceiverTypes(scope, ctx.project, class_name, self.self_name)
        self.kind = kind  # "module" | "class" | "function"
        self.lends_on_yield = lends_on_yield
        self.yield_raises = yield_raises
        self.obligations: list[_Obligation] = []
        self.by_site: dict[tuple[int, int], int] = {}
        self.by_call: dict[int, list[int]] = {}  # id of the acquiring call -> its obligations
        self.frames: list[_Frame] = []
        self.normal_exits: dict[int, list[cst.CSTNode | None]] = {}
        self.done_at_exit: set[int] = set()  # released or handed on at some normal exit
        self.never_ended: set[int] = set()  # open where a call that never returns ran
        self.collections: set[int] = set()  # obligations held by a local list of them
        # calls whose value the code itself releases (``_evidence_from_use``), by call id
        self.evidence: dict[int, Resource] = {}
        self.loop_back: _MaybeState = None  # the last loop's state back at its head (``loop``)
        self.exception_exits: dict[int, cst.CSTNode | None] = {}
        self.overwritten: dict[int, cst.CSTNode] = {}
        self.init_raises: dict[int, cst.CSTNode | None] = {}
        self.unbound: dict[int, tuple[cst.Call, Resource]] = {}
        self.nested: list[cst.CSTNode] = []  # nested scopes (def, class): captures
        self.lambda_handed: set[str] = set()  # names lambdas release or pass on
        self.expecting_raise = 0  # inside ``with self.assertRaises(...)``/``pytest.raises``
        # inside ``with self.assertWarns(ResourceWarning)`` (or check_warnings, pytest.warns)
        self.expecting_resource_warning = 0
        # ``del x`` / ``x = None`` statements a ``gc.collect()`` follows at once
        self.collected_after: set[int] = set()
        # statements ``os._exit()``/``os.exec*()`` follows at once: what they make and drop is
        # reclaimed by the operating system a moment later (``Popen(cmd); os._exit(0)``)
        self.process_ends_after: set[int] = set()
        # ``err = None`` then ``while not err:``: loops whose test is true when first reached
        self.enters_loop: set[int] = set()
        # ``d["k"] = {}``: subscripts this scope stored into, by the name they start from;
        # reading one again (``d["k"]["x"] = 1``) finds the key (forgotten when d is rebound)
        self.keys_set: dict[str, set[str]] = {}
        # what on-receiver obligations are held under here (``lock``, ``locks[k]``)
        self.receivers: set[str] = set()
        # a name bound to a factory's tuple of resources -> ``name[i]``, each one's holder
        self.parts: dict[str, list[str]] = {}
        # inside the arguments of a message (``debug(f"got {fd=}")``, ``print``, ``log.info``):
        # a descriptor formatted there is not handed to anyone (see ``format_into``)
        self.in_message = 0
        self.loop_targets: list[frozenset[str]] = []  # names the enclosing for loops bind
        #: a branch a loop takes at most once -> the calls in it (see ``_once_per_loop``)
        self.once_per_loop: dict[int, frozenset[int]] = {}
        # on-receiver obligations taken on each element of a loop (``for k in ks:
        # locks[k].acquire()``): one per element, given back by a loop of their own
        self.per_element: set[int] = set()
        self.rebinds: dict[str, int] = {}  # how often each name was bound so far
        # names bound to a callable that releases another name: ``f, commit, abort =
        # store.add_pack()`` -> {commit: {f}, abort: {f}}; calling one releases what it names
        self.releasers: dict[str, set[str]] = {}
        self.in_main_block = 0  # inside a module's ``if __name__ == "__main__":``
        # obligations a test of the finaliser drops on purpose (see hands_to_finaliser): left
        # to the finaliser by design on every path, so none of their leaks is reported
        self.finalised: set[int] = set()
        self.mocked: set[str] = set(mocked)  # names patched by ``mock.patch("...open")``
        # module attributes this code (or a project helper it calls) assigns before: a test's
        # fake (``http.client.HTTPConnection = fakehttp(data)``, ``self.fakehttp(data)``)
        self.patched: set[str] = set()
        # Inside except handlers and finally blocks only an explicit ``raise`` raises: a
        # failure of the clean-up code itself is not blamed on the code it cleans up after.
        self.in_cleanup = 0
        # the first obligation id of each cleanup block entered: what a handler acquires
        # itself is its own code's, and a raise after it leaks it (``except gaierror: s =
        # socket(AF_INET6); s.connect(a)``, leakfixes LF013)
        self.cleanup_marks: list[int] = []
        self.children: list[int] = []  # obligations with parents, oldest first (release_children)
        self.called_on: set[tuple[str, str]] = set()  # (name, method) of every call here
        # the order calls are visited in (loops visit theirs again): when each (name, method)
        # was last called, and when each obligation was first made
        self.visits = 0
        self.last_call: dict[tuple[str, str], int] = {}
        self.born: dict[int, int] = {}
        self.awaited: set[int] = set()  # calls under ``await``
        self.statement_calls: set[int] = set()  # calls that are a whole statement or test
        self.unrolled: set[int] = set()  # ``[f(p) for p in (a, b)]`` statements run as a loop
        self.unawaited: set[str] = set()  # names whose clean-up coroutine was dropped (LL203)
        self.tests: set[int] = set()  # calls that are the whole test of an ``if``
        self.given: set[int] = set()  # lazy objects given what they would open (conn.sock = x)
        self.conditional: dict[int, int] = {}  # ``lock.acquire(blocking=False)`` call → oid
        self.created: list[int] = []  # every obligation, in the order it was created
        self.fresh: list[int] = []  # obligations the last statement created (nested ones too)
        self.previous_fresh: list[int] = []  # ... and the statement before the current one
        self.broken: dict[int, cst.Break] = {}  # the first break that left a loop with it open
        self.method_receivers: frozenset[str] = frozenset()  # names this function calls methods of

    # ---- driver

    def run(self, body: Sequence[cst.CSTNode]) -> None:
        if self.kind == "function":
            self.evidence, self.method_receivers = _evidence_from_use(body, self.known_callee)
        if self.kind == "module":
            out = self.module_body(body)
        else:
            out = self.block(body, _State())
        if out is not None:
            self.exit_normal(out, None)
        self.report()

    def module_body(self, body: Sequence[cst.CSTNode]) -> _MaybeState:
        """The module's statements, each leak found inside one tagged with it (so that
        positions can be computed for that statement alone)."""
        leaks = self.ctx.leaks
        state: _MaybeState = _State()
        for stmt in body:
            before = len(leaks)
            if state is not None:
                state = self.step(stmt, state)
            for index in range(before, len(leaks)):
                leaks[index] = dataclasses.replace(leaks[index], top=stmt)
        return state

    def report(self) -> None:
        leaks = self.ctx.leaks
        escaped_names = self.scope.declared_global | self.scope.declared_nonlocal
        if self.nested and any(o.names for o in self.obligations):
            escaped_names = escaped_names | captured_names(
                self.nested, module_level=self.kind == "module"
            )
        escaped_names = escaped_names | self.lambda_handed
        for call, resource in self.unbound.values():
            leaks.append(Leak("unbound", call, resource))
        # a context entered by hand (LL202) that leaks: its resource's own leak is the same bug
        entered = {
            name
            for oid, obligation in enumerate(self.obligations)
            if obligation.resource.code == "LL202" and oid in self.exception_exits
            for name in obligation.names
        }
        for oid, obligation in enumerate(self.obligations):
            if oid in self.finalised:
                continue
            if obligation.names.keys() & escaped_names:
                continue  # a closure or another scope can still release it
            if obligation.names.keys() & self.unawaited:
                continue  # its LL203 (the close that is never awaited) says it already
            if (
                obligation.resource.on_receiver
                and not any(
                    (holder, method) in self.called_on
                    for holder in obligation.names
                    for method in obligation.resource.release
                )
                and not any(holder in self.scope.made_by for holder in obligation.names)
            ):
                # ``_acquireLock()`` / ``_releaseLock()`` helpers, a semaphore used as a
                # signal: acquire and release are paired across functions, not here
                continue
            if oid in self.per_element and any(
                (holder, method) in self.called_on
                for holder in obligation.names
                for method in obligation.resource.release
            ):
                # ``for k in ks: locks[k].acquire()`` ... ``for k in ks: locks[k].release()``:
                # which elements each loop reaches is beyond a path-by-path reading
                continue
            if obligation.resource.counting and not any(
                self.last_call.get((holder, method), -1) > self.born.get(oid, 0)
                for holder in obligation.names
                for method in obligation.resource.release
            ):
                # ``await sem.acquire(); return True``: a permit taken and kept, given back by
                # whoever the function hands it to (a worker pool's done callback), not a
                # lock held by mistake
                continue
            if obligation.resource.kind == "lock" and all(
                self.made_fresh_here(holder) and holder not in escaped_names
                for holder in obligation.names
            ) and self.kind == "function":
                continue  # a lock made here and held by a local name: nobody else waits on it
            var = _first_name(obligation)
            if obligation.via_with and (
                oid in self.normal_exits or oid in self.overwritten or oid in self.exception_exits
            ):
                leaks.append(Leak("with-does-not-close", obligation.call, obligation.resource, var))
            elif self.kind == "function" and oid in self.normal_exits:
                exits = self.normal_exits[oid]
                # falling off the end: through a loop's break, the message names the break
                early = self.broken.get(oid) if None in exits else exits[0]
                if oid not in self.done_at_exit:
                    early = NEVER_RELEASED  # no path out of the function releases it
                leaks.append(Leak("not-released", obligation.call, obligation.resource, var, early))
            elif oid in self.overwritten:
                leaks.append(
                    Leak("overwritten", obligation.call, obligation.resource, var,
                         self.overwritten[oid])
                )
            elif oid in self.init_raises:
                leaks.append(
                    Leak("init-raises", obligation.call, obligation.resource, var,
                         self.init_raises[oid])
                )
            elif (
                self.kind == "function"
                and oid in self.exception_exits
                and not (obligation.resource.code != "LL202" and obligation.names.keys() & entered)
                and not (self.cleanup_skipped and _is_yield(self.exception_exits[oid]))
            ):
                if oid in self.never_ended and oid not in self.done_at_exit:
                    # ``fd = os.open(p)`` ... ``sys.exit(1)``: released by no way out
                    leaks.append(Leak("not-released", obligation.call, obligation.resource, var,
                                      NEVER_RELEASED))
                    continue
                leaks.append(
                    Leak("exception-path", obligation.call, obligation.resource, var,
                         self.exception_exits[oid])
                )

    # ---- nested scopes: each ``def`` and ``class`` is analysed by an analyser of its own

    def stmt_FunctionDef(self, stmt: cst.FunctionDef, state: _State) -> _MaybeState:
        found = len(self.ctx.leaks)
        state = self.function_def(stmt, state)
        if self.kind == "class" and self.class_name is not None:
            # a method of a module-level class: what was found in it is placed within it
            leaks = self.ctx.leaks
            for index in range(found, len(leaks)):
                leaks[index] = dataclasses.replace(leaks[index], method=stmt)
        return state

    def function_def(self, stmt: cst.FunctionDef, state: _State) -> _MaybeState:
        fx = _Effects()
        for decorator in stmt.decorators:
            self.consume(decorator.decorator, fx)
        state = self.apply(fx, state, stmt)
        if state is not None:
            self.bind(state, stmt.name.value, [], stmt)
        decorators = {self.qualname(_decorator_callee(d.decorator)) for d in stmt.decorators}
        lends = bool(decorators & ownership.CONTEXT_MANAGER_DECORATORS.keys())
        # a pytest fixture's yield lends too, and pytest resumes it after the test whatever
        # happened (no LL161), but never closes what it was given
        fixture = bool(decorators & ownership.FIXTURE_DECORATORS)
        self.nested.append(stmt)
        if decorators & _SKIPPING_DECORATORS:
            # ``@unittest.skip("...")``: a test whose body never runs leaks nothing (first
            # contact round 16, motor's examples)
            self.ctx.analysed.add(id(stmt))
        if id(stmt) not in self.ctx.analysed:
            self.ctx.analysed.add(id(stmt))
            skipped: list[Leak] = []
            if lends:
                skipped = protocols.check_generator_context_manager(stmt)
                self.ctx.leaks.extend(skipped)
            scope = function_scope(stmt, self.scope, stmt.body.body)
            in_class = self.kind == "class"
            patched = set(self.mocked)
            for decorator in stmt.decorators:
                patched |= _patched_names(decorator.decorator)
            if self.ctx.project is not None and self.ctx.project.fixture_mocks:
                # ``def test_open(self, client):``: the fixture it asks for patches
                for param in (*stmt.params.params, *stmt.params.kwonly_params):
                    patched |= self.ctx.project.fixture_mocks.get(param.name.value, frozenset())
            _ScopeAnalyser(
                self.ctx,
                scope,
                "function",
                lends_on_yield=lends or fixture,
                yield_raises=not fixture,
                class_name=self.class_name if in_class else None,
                method=stmt if in_class else None,
                mocked=frozenset(patched),
                cleanup_skipped=any(leak.kind == "cleanup-skipped" for leak in skipped),
                in_test=self.in_test or stmt.name.value.startswith("test"),
            ).run(stmt.body.body)
        return state

    def stmt_ClassDef(self, stmt: cst.ClassDef, state: _State) -> _MaybeState:
        fx = _Effects()
        for decorator in stmt.decorators:
            self.consume(decorator.decorator, fx)
        for arg in stmt.bases:
            self.consume(arg.value, fx)
        state = self.apply(fx, state, stmt)
        if state is not None:
            self.bind(state, stmt.name.value, [], stmt)
        self.nested.append(stmt)
        if {self.qualname(_decorator_callee(d.decorator)) for d in stmt.decorators} & (
            _SKIPPING_DECORATORS
        ):
            self.ctx.analysed.add(id(stmt))  # ``@unittest.skip`` on a TestCase: none runs
        if id(stmt) not in self.ctx.analysed:
            self.ctx.analysed.add(id(stmt))
            scope = body_scope("class", self.scope, stmt.body.body, name=stmt.name.value)
            # only module-level classes have a name other files (and the summaries) know
            name = (
                f"{self.ctx.module}.{stmt.name.value}"
                if self.kind == "module" and self.ctx.module
                else None
            )
            self.ctx.leaks.extend(protocols.check_class(stmt, test_double=self.in_test))
            _ScopeAnalyser(
                self.ctx, scope, "class", class_name=name, in_test=self.in_test
            ).run(stmt.body.body)
            if name is not None:
                self.report_owner(name)
        return state


# --------------------------------------------------------------------------- helpers


def _first_param(node: cst.FunctionDef) -> str | None:
    params = node.params
    positional = (*params.posonly_params, *params.params)
    return positional[0].name.value if positional else None


def _first_name(obligation: _Obligation) -> str | None:
    return next(iter(obligation.names), None)


#: Names that start an obligation whatever the registry says (manual enters, LL203's
#: coroutines): the pre-filter must let a file that has one through.
ENGINE_TRIGGERS = frozenset(
    {
        "__enter__",
        "__aenter__",
        "__exit__",
        "aclose",
        "__aexit__",
        "wait_closed",
        "contextmanager",  # LL160/LL161/LL164 on the project's own context managers
        "asynccontextmanager",
        # evidence from use: the code's own release makes what it releases a resource
        *ownership.RELEASE_EVIDENCE,
        *ownership.CHECKIN_METHODS,
    }
)


class _Evidence(SameScopeVisitor):
    """What a function's own code says it owns: names bound to a call's value that it calls
    a release method on (``conn = bind.connect()`` ... ``conn.close()``), receivers it both
    acquires and releases (``self._lock.acquire()`` ... ``self._lock.release()``), and
    checkouts it gives back (``c = pool.getconn()`` ... ``pool.putconn(c)``)."""

    def __init__(self) -> None:
        self.made: dict[str, list[cst.Call]] = {}  # name -> calls whose value it is bound to
        self.released: dict[str, set[str]] = {}  # name -> release methods called on it
        self.acquired: dict[str, list[cst.Call]] = {}  # receiver -> its acquire() calls
        self.order = 0  # calls in source order: a release() after an acquire() pairs with it
        # release calls that are statements of the function's own block, or of the finally
        # of a try in it: the function releases unconditionally, so it owns what it releases
        # (one under ``if owned:`` says ownership depends on what the analysis cannot see)
        self.main_path: set[int] = set()
        self.first_acquire: dict[str, int] = {}
        self.last_release: dict[str, int] = {}
        self.given_back: dict[tuple[str, str], str] = {}  # (pool, name) -> putconn/release
        # name or ``self.x`` -> (``X(...).acquire()`` bound to it, when): released later, the
        # acquire() gave back the lock itself
        self.taken: dict[str, list[tuple[cst.Call, int]]] = {}
        # names it calls a method of, anywhere (``loop`` of ``loop.run_until_complete()``):
        # does it use what it installs (``CallsMixin.installs``)?
        self.called_on: set[str] = set()

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value.expression if isinstance(node.value, cst.Await) else node.value
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            if isinstance(value, cst.Call):
                self.made.setdefault(node.targets[0].target.value, []).append(value)
        if (
            len(node.targets) == 1
            and isinstance(node.value, cst.Call)  # (an awaited acquire() is a pool's)
            and isinstance(value.func, cst.Attribute)
            and value.func.attr.value == "acquire"
        ):
            # ``lock = DirLock(p).acquire()``: an acquire() that gives its object back
            holder = dotted_name(node.targets[0].target)
            if holder is not None:
                self.taken.setdefault(holder, []).append((value, self.order))

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute):
            return
        if isinstance(func.value, cst.Name):
            self.called_on.add(func.value.value)
        holder = _receiver_key(func)
        method = func.attr.value
        if holder is None:
            return
        self.order += 1
        if method in ownership.RELEASE_EVIDENCE and not node.args and id(node) in self.main_path:
            self.released.setdefault(holder, set()).add(method)
        if method == "release" and not node.args:
            self.last_release[holder] = self.order
        if method == "acquire" and not node.args and holder not in ("self", "cls"):
            # (a class's own acquire() written with its own: its callers pair them)
            self.acquired.setdefault(holder, []).append(node)
            self.first_acquire.setdefault(holder, self.order)
        if method in ownership.CHECKIN_METHODS and len(node.args) == 1:
            arg = node.args[0].value
            if isinstance(arg, cst.Name):
                self.given_back[(holder, arg.value)] = method


def _evidence_from_use(
    body: Sequence[cst.CSTNode], known: Callable[[cst.BaseExpression], bool]
) -> tuple[dict[int, Resource], frozenset[str]]:
    """The calls of a function body whose value the body itself releases (see ``_Evidence``),
    each with the resource of unknown kind it is taken to acquire; and the names the body calls
    a method of (``_Evidence.called_on``), from the same walk."""
    seen = _Evidence()
    for stmt in body:
        blocks = [stmt]
        if isinstance(stmt, cst.Try) and stmt.finalbody is not None:
            blocks = list(stmt.finalbody.body.body)
        for line in blocks:
            call = _statement_call_of(line)
            if call is not None:
                seen.main_path.add(id(call))
    for stmt in body:
        stmt.visit(seen)
    out: dict[int, Resource] = {}
    for name, calls in seen.made.items():
        for call in calls:
            func = call.func
            pool = _receiver_key(func) if isinstance(func, cst.Attribute) else None
            if (
                pool is not None
                and func.attr.value in ownership.CHECKOUT_METHODS
                and (pool, name) in seen.given_back
            ):
                out[id(call)] = Resource(
                    f"{pool}.{func.attr.value}", kind="pooled connection", release=(),
                    return_to=(seen.given_back[(pool, name)], *ownership.CHECKIN_METHODS),
                    code="LL130",
                    origin=_EVIDENCE.format(seen.given_back[(pool, name)]),
                )
            elif (
                name in seen.released
                and name not in ("self", "cls")
                and not known(func)
                and not _is_getter(func)
            ):
                verbs = sorted(seen.released[name])
                out[id(call)] = Resource(
                    dotted_name(func) or "call", kind="resource",
                    release=(*verbs, *ownership.EVIDENCE_ALSO_RELEASES),
                    origin=_EVIDENCE.format(verbs[0]),
                )
    for holder, taken in seen.taken.items():
        for call, when in taken:
            if seen.last_release.get(holder, 0) > when and id(call) not in out and not known(
                call.func
            ):
                out[id(call)] = Resource(
                    dotted_name(call.func) or "acquire", kind="lock", release=("release",),
                    code="LL140", origin=_EVIDENCE.format("release"),
                )
    for holder, acquires in seen.acquired.items():
        # released after it is taken; not a lock this function made (nobody else waits on it)
        if seen.last_release.get(holder, 0) > seen.first_acquire[holder] and (
            holder not in seen.made
        ):
            for call in acquires:
                out[id(call)] = Resource(
                    f"{holder}.acquire", kind="lock", release=("release",), on_receiver=True,
                    code="LL140", origin=_EVIDENCE.format("release"),
                )
    return out, frozenset(seen.called_on)


def _is_getter(func: cst.BaseExpression) -> bool:
    """``d.get(k)``, ``loop.get_pipe_transport(fd)``, ``fut.result()``: hands out a reference
    its owner keeps, not a new object."""
    if isinstance(func, cst.Attribute):
        name = func.attr.value
    elif isinstance(func, cst.Name):
        name = func.value
    else:
        return False  # ``handlers[kind](x)``, ``make()(x)``: no name to read
    return name == "result" or name == "get" or name.startswith(("get_", "_get_"))


#: How a message names a resource the code's own release makes one (``Resource.origin``).
_EVIDENCE = "the {}() this function calls on it is the evidence"


#: Decorators that skip a test whatever happens: its body never runs (not ``skipIf``,
#: ``skipUnless``, ``pytest.mark.skipif``, whose condition may let it run).
_SKIPPING_DECORATORS = frozenset({"unittest.skip", "unittest.case.skip", "pytest.mark.skip"})


def _decorator_callee(node: cst.BaseExpression) -> cst.BaseExpression:
    return node.func if isinstance(node, cst.Call) else node


def _receiver_methods(registry: Registry, project: Project | None) -> frozenset[str]:
    """``_Module.receiver_methods``: the last part of each ``Type.method`` entry, a type
    being an entry itself or a class of the project (``Maildir._create_tmp`` opens a file)."""
    classes = project.classes if project is not None else {}
    return frozenset(
        last
        for type_name, _, last in (name.rpartition(".") for name in registry.by_name)
        if type_name in registry.by_name or type_name in classes
    )


def _is_yield(node: object) -> bool:
    """``yield x`` / ``x = yield`` as a statement: where a with-block's error comes back in."""
    value = getattr(node, "value", None)
    if isinstance(value, cst.Await):
        value = value.expression
    return isinstance(value, cst.Yield)
