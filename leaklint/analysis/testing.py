"""Test-framework knowledge of the obligation analysis: ``assertRaises``/``pytest.raises`` (the
body is meant to fail), ``assertWarns(ResourceWarning)`` and ``del x`` in a test (a resource
left to the finaliser on purpose), ``self.fail()`` after a call meant to fail, and the names
``mock.patch`` replaces.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from leaklint.analysis import protocols
from leaklint.analysis.cst_questions import _statement_call_of, _walk_expression
from leaklint.analysis.names import dotted_name
from leaklint.analysis.state import _MaybeState, _State


class TestFrameworkMixin:
    """What a test means by the resources it drops: the body of ``with pytest.raises(E):``
    before the statement that fails, and what a test hands to the finaliser (``del x`` or
    ``x = None`` under ``assertWarns(ResourceWarning)``, or followed by ``gc.collect()``).

    Analyser attributes it assigns: ``expecting_raise``. It reads (or changes in place):
    ``collected_after``, ``expecting_resource_warning``, ``in_test``. Methods of the other
    parts it calls: ``block``. The attributes are made in ``_ScopeAnalyser.__init__``
    (obligations.py).
    """

    def raising_body(self, body: Sequence[cst.BaseStatement], state: _State) -> _MaybeState:
        """``with pytest.raises(E): f = open(p); int(f.read())``: the statements before the
        last are meant to succeed (what they acquire is tracked), the last one to fail; the
        context manager catches what the body raises (the caller's suppress frame), so the
        run goes on after it with what was still open (LF032: a file opened in the block and
        never closed)."""
        out = self.block(body[:-1], state)
        self.expecting_raise += 1
        try:
            return self.block(body[-1:], out)
        finally:
            self.expecting_raise -= 1

    def hands_to_finaliser(self, stmt: cst.CSTNode) -> bool:
        """``del x`` or ``x = None`` under ``assertWarns(ResourceWarning)``, or followed at once
        by ``gc.collect()``, and ``del x`` anywhere in a test: a test of the finaliser drops the
        last reference on purpose. Outside a test, ``del`` of an open resource is reported: it
        leaves the release to reference counting (a ResourceWarning, and no release at all
        where objects are not reference counted). In a test, a ``del`` that leaves a resource
        open is how a test of ``__del__``, of reference counting or of the collector is
        written: every one of them in the real-world corpus is (``benchmarks/realworld``)."""
        deleted = isinstance(stmt, cst.Del)
        if not (deleted or (isinstance(stmt, cst.Assign) and _is_none(stmt.value))):
            return False
        return (
            (deleted and self.in_test)
            or self.expecting_resource_warning > 0
            or id(stmt) in self.collected_after
        )


#: Context managers and decorators of HTTP recorders: vcrpy's ``use_cassette`` (a function of
#: the module and a method of its ``VCR`` objects) and pytest-recording's ``pytest.mark.vcr``.
#: In their body the HTTP clients talk to the cassette: a response is an in-memory copy of one
#: read to its end, and a connection opens no socket when it plays back (first contact round
#: 14, vcrpy's own tests). Sessions and clients, which keep their pools, stay resources.
_RECORDING_CONTEXTS = frozenset({"use_cassette", "pytest.mark.vcr"})
#: What they fake, by qualified name (see ``HandoffsMixin.factory``).
_RECORDED_FACTORIES = frozenset(
    {
        "urllib.request.urlopen",
        "urllib.request.build_opener.open",
        "http.client.HTTPConnection",
        "http.client.HTTPSConnection",
        "http.client.HTTPConnection.getresponse",
        "http.client.HTTPSConnection.getresponse",
        "requests.get",
        "requests.post",
        "requests.request",
        "requests.Session.get",
        "requests.Session.post",
        "requests.Session.request",
        "httpx.Client.send",
        "httpx.Client.stream",
        "httpx.AsyncClient.send",
        "httpx.AsyncClient.stream",
        "httpx.stream",
        "urllib3.PoolManager.request",
        "aiohttp.ClientSession.get",
        "aiohttp.ClientSession.post",
        "aiohttp.ClientSession.request",
    }
)


def _recording(expr: cst.BaseExpression) -> bool:
    """``with my_vcr.use_cassette(p):``, ``@vcr.use_cassette(p)``, ``@pytest.mark.vcr``."""
    callee = dotted_name(expr.func if isinstance(expr, cst.Call) else expr) or ""
    return callee in _RECORDING_CONTEXTS or callee.rsplit(".", 1)[-1] in _RECORDING_CONTEXTS


def _patched_names(expr: cst.BaseExpression) -> set[str]:
    """``patch("builtins.open", ...)``, ``mock.patch("%s.open" % name)``: {"open"}; an HTTP
    recorder's cassette: the qualified names of the HTTP factories it fakes."""
    if _recording(expr):
        return set(_RECORDED_FACTORIES)
    if not isinstance(expr, cst.Call) or not expr.args:
        return set()
    callee = dotted_name(expr.func) or ""
    name = callee.rsplit(".", 1)[-1]
    first = expr.args[0].value
    if callee.endswith("patch.object"):
        # ``mock.patch.object(subprocess.Popen, "_execute_child")``: Popen makes no process
        patched = dotted_name(first)
        return {patched.rsplit(".", 1)[-1]} if patched else set()
    if name != "patch":
        return set()
    if isinstance(first, cst.BinaryOperation):
        first = first.left
    if isinstance(first, cst.SimpleString):
        target = first.evaluated_value
        if isinstance(target, str):
            return {target.rsplit(".", 1)[-1]}
    return set()


def _expects_raise(expr: cst.BaseExpression) -> bool:
    """``self.assertRaises(...)``, ``pytest.raises(...)``: the body is meant to fail."""
    if not isinstance(expr, cst.Call):
        return False
    name = dotted_name(expr.func) or ""
    return name.rsplit(".", 1)[-1] in _EXPECTING_RAISE


def _ends_in_cleanup(body: cst.BaseSuite) -> bool:
    """``with assertRaises(E): shm = SharedMemory(name); shm.unlink()``: a block whose last
    statement releases or undoes is there for the case the call before it did not fail, so
    the acquisition is what is meant to fail."""
    last = body.body[-1]
    call = _statement_call_of(last) if isinstance(last, cst.SimpleStatementLine) else None
    if call is None or not isinstance(call.func, cst.Attribute):
        return False
    return protocols._is_undoing_name(call.func.attr.value)


def _catches_raise(expr: cst.BaseExpression) -> bool:
    """``pytest.raises(E)``, ``self.assertRaises(E)`` (not ``assertWarns``): the context
    manager catches the exception its body raises, and the code after it runs."""
    if not isinstance(expr, cst.Call):
        return False
    name = dotted_name(expr.func) or ""
    return name.rsplit(".", 1)[-1] in _EXPECTING_RAISE - {"assertWarns"}


def _fails_at_once(orelse: cst.Else | None) -> bool:
    """An ``else:`` of a try whose first statement fails: ``self.fail(...)``,
    ``pytest.fail(...)``, ``raise ...``, ``assert False``."""
    if orelse is None or not orelse.body.body:
        return False
    first = orelse.body.body[0]
    if not isinstance(first, cst.SimpleStatementLine):
        return False
    small = first.body[0]
    if isinstance(small, cst.Raise):
        return True
    if isinstance(small, cst.Assert):
        return isinstance(small.test, cst.Name) and small.test.value == "False"
    return _is_fail_call(small)


def _ends_in_fail(body: cst.BaseSuite) -> bool:
    """A try body whose last statement is ``self.fail(...)``/``pytest.fail(...)`` (not a
    ``raise``, which its own handler may be there to catch)."""
    last = body.body[-1] if body.body else None
    return isinstance(last, cst.SimpleStatementLine) and _is_fail_call(last.body[-1])


def _tries_for_the_error(stmt: cst.Try | cst.TryStar) -> bool:
    """``try: open(missing) except OSError as e: expected = e``: a body of one call whose value
    is dropped, and a handler that keeps the error (assigns or returns it) to check it; the call
    is there to fail, as under ``assertRaises`` (first contact round 2, aiofiles)."""
    body = stmt.body.body
    if len(body) != 1 or not isinstance(body[0], cst.SimpleStatementLine):
        return False
    only = body[0].body
    if len(only) != 1 or not isinstance(only[0], cst.Expr):
        return False
    value = only[0].value
    if not isinstance(value.expression if isinstance(value, cst.Await) else value, cst.Call):
        return False
    return any(_keeps_the_error(handler) for handler in stmt.handlers)


def _keeps_the_error(handler: cst.ExceptHandler | cst.ExceptStarHandler) -> bool:
    """``except OSError as e: expected = e`` (or ``return e``)."""
    if handler.name is None or not isinstance(handler.name.name, cst.Name):
        return False
    name = handler.name.name.value
    for line in handler.body.body:
        if not isinstance(line, cst.SimpleStatementLine):
            continue
        for small in line.body:
            value = small.value if isinstance(small, (cst.Assign, cst.AnnAssign, cst.Return)) else None
            if isinstance(value, cst.Name) and value.value == name:
                return True
    return False


def _is_fail_call(small: cst.BaseSmallStatement) -> bool:
    call = _statement_call_of(small)
    return call is not None and (dotted_name(call.func) or "").rsplit(".", 1)[-1] == "fail"


def _expects_resource_warning(expr: cst.BaseExpression) -> bool:
    """``self.assertWarns(ResourceWarning)``, ``check_warnings(("", ResourceWarning))``,
    ``pytest.warns(ResourceWarning)``: the body is meant to leave something to the finaliser."""
    if not isinstance(expr, cst.Call):
        return False
    name = (dotted_name(expr.func) or "").rsplit(".", 1)[-1]
    return name in _EXPECTING_WARNING and any(
        isinstance(node, cst.Name) and node.value == "ResourceWarning"
        for arg in expr.args
        for node in _walk_expression(arg.value)
    )


_EXPECTING_WARNING = frozenset(
    {"assertWarns", "assertWarnsRegex", "check_warnings", "warns", "catch_warnings"}
)


def _is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


_EXPECTING_RAISE = frozenset(
    {"assertRaises", "assertRaisesRegex", "assertRaisesRegexp", "raises", "assertWarns"}
)
