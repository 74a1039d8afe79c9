"""Jupyter notebooks: the code cells of a notebook checked as one module, each finding
placed in its cell, and fixes written back into the cells they change.

A notebook is read as JSON (``json``, not ``nbformat``, whose import alone costs about
0.7 s: a run over a folder of plain files must not pay it); ``nbformat`` validates a
notebook before ``--fix`` writes it. The code cells, in order, make one *virtual module*:
each cell's source, ending with a newline, one after another. IPython syntax is masked,
never parsed: a line magic (``%time x``), a shell escape (``!ls``, ``x = !ls``), help
(``?obj``, ``obj??``) and every line of a cell whose cell magic runs something other than
the kernel's Python (``%%bash``, ``%%sql``, ``%%writefile``) become a harmless expression
of the same length (``0`` and spaces), so every line and column of the cells stays where
it was. Findings keep their line in the virtual module (it orders them and
suppression comments read it) and carry the notebook's cell index
(``Finding.cells``); front ends print ``path:cell N:line:col`` with ``cell_position``.

A kernel is long-lived. What a cell leaves open stays open for the whole session: the
virtual module ends with a ``del`` of every name the cells bind at module level, so a
resource no cell releases is reported (LL100, "not closed by any cell") where a plain
module's globals would live as long as the program and not be. See the README's
"Notebooks" section for what counts as a leak there, with examples.
"""

from __future__ import annotations

import ast
import bisect
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from leaklint.results import FileResult, Finding

if TYPE_CHECKING:
    from leaklint.analysis.summaries import Project
    from leaklint.config import Config
    from leaklint.fixes.apply import FixOutcome, Reported

NOTEBOOK_SUFFIX = ".ipynb"
PYTHON_SUFFIXES = (".py", ".pyi", ".pyw")

#: Cell magics whose body is the kernel's own Python, run in its namespace: only their
#: first line is masked. Any other cell magic's body is another language, masked whole.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})

#: Names a notebook's metadata gives its language by, when it is Python.
_PYTHON_LANGUAGES = frozenset({"python", "python3", "ipython", "ipython3", "python2"})

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_HELP = re.compile(r"^[\w.\[\]]*\w[\w.\[\]]*\?{1,2}\s*$|^\?{1,2}")
_ASSIGNED_ESCAPE = re.compile(r"^(\s*[A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*\s*=\s*)[%!]")


class NotebookError(Exception):
    """Not a notebook leaklint can read: ``(line, column, why)`` for its LL900 line."""

    def __init__(self, line: int, col: int, why: str) -> None:
        super().__init__(why)
        self.line, self.col, self.why = line, col, why


def kind_of(path: str, data: bytes | None = None) -> str:
    """``"python"``, ``"notebook"`` or ``"other"`` (a file leaklint does not check): by the
    name's suffix; a file without one is a script when its first line is a ``python``
    ``#!`` line. Standard input (``-``) is Python."""
    lower = path.lower()
    if lower.endswith(NOTEBOOK_SUFFIX):
        return "notebook"
    if lower.endswith(PYTHON_SUFFIXES) or path == "-":
        return "python"
    if "." not in os.path.basename(path) and data is not None:
        first = data.split(b"\n", 1)[0]
        if first.startswith(b"#!") and b"python" in first:
            return "python"
    return "other"


def unhandled_message() -> str:
    return (
        "not checked: leaklint checks Python files (.py, .pyi, .pyw, a script with a "
        "python #! line) and Jupyter notebooks (.ipynb)"
    )


@dataclass(frozen=True, slots=True)
class CodeCell:
    index: int  # among all the notebook's cells, 0-based
    text: str  # the cell's source as the notebook has it
    masked: str  # the same with IPython syntax masked
    masked_lines: frozenset[int]  # 0-based lines of the cell that were masked
    start: int  # its first line in the virtual module, 1-based


@dataclass(frozen=True, slots=True)
class Notebook:
    json: dict  # type: ignore[type-arg]
    python: bool  # False: a notebook in another language, not checked
    cells: tuple[CodeCell, ...]
    source: str  # the virtual module, without the closing ``del``
    closing: str  # the closing ``del`` line ("" when the cells bind no name)

    @property
    def index(self) -> tuple[tuple[int, int], ...]:
        """(first virtual line, 1-based cell number) of each code cell, in order."""
        return tuple((cell.start, cell.index + 1) for cell in self.cells)

    @property
    def last_line(self) -> int:
        """The virtual module's last line that belongs to a cell."""
        return self.source.count("\n")


def cell_position(cells: tuple[tuple[int, int], ...], line: int) -> tuple[int, int]:
    """(1-based cell number, line in that cell) of ``line`` of the virtual module."""
    starts = [start for start, _ in cells]
    at = max(bisect.bisect_right(starts, line) - 1, 0)
    start, number = cells[at]
    return number, line - start + 1


def located(finding: Finding, line: int | None = None) -> tuple[int | None, int]:
    """(cell number, line in the cell) of ``line`` (default: the finding's own) in a
    notebook; (None, line) in a plain file."""
    line = finding.line if line is None else line
    if not finding.cells:
        return None, line
    return cell_position(finding.cells, line)


def shown_line(finding: Finding) -> str:
    """``cell N:line`` for a finding in a notebook, ``line`` for one in a plain file."""
    if not finding.cells:
        return str(finding.line)
    cell, line = cell_position(finding.cells, finding.line)
    return f"cell {cell}:{line}"


# --------------------------------------------------------------------------- reading


def load(data: bytes) -> dict:  # type: ignore[type-arg]
    """The notebook's JSON; ``NotebookError`` when it is not a version-4 notebook."""
    try:
        notebook = json.loads(data)
    except json.JSONDecodeError as err:
        raise NotebookError(err.lineno, max(err.colno - 1, 0), f"not valid JSON: {err.msg}") from None
    except (UnicodeDecodeError, ValueError) as err:
        raise NotebookError(1, 0, f"not valid JSON: {err}") from None
    except RecursionError:
        raise NotebookError(1, 0, "not valid JSON: nested too deeply") from None
    if not isinstance(notebook, dict):
        raise NotebookError(1, 0, "not a Jupyter notebook: its JSON is not an object")
    if "worksheets" in notebook and "cells" not in notebook:
        raise NotebookError(
            1, 0, "notebook format 3 is not supported: convert it with "
            "`jupyter nbconvert --to notebook --nbformat 4`"
        )
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        raise NotebookError(1, 0, "not a Jupyter notebook: no list of cells")
    for number, cell in enumerate(cells, 1):
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            raise NotebookError(1, 0, f"not a Jupyter notebook: cell {number} has no cell_type")
        source = cell.get("source", "")
        if not isinstance(source, str) and not (
            isinstance(source, list) and all(isinstance(part, str) for part in source)
        ):
            raise NotebookError(1, 0, f"not a Jupyter notebook: cell {number}'s source is not text")
    return notebook


def read(data: bytes) -> Notebook:
    """The notebook in ``data`` as a virtual module; ``NotebookError`` if it cannot be read."""
    notebook = load(data)
    python = _is_python(notebook)
    cells = []
    parts = []
    line = 1
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = cell.get("source", "")
        text = source if isinstance(source, str) else "".join(source)
        masked, masked_lines = mask(text)
        if masked and not masked.endswith(("\n", "\r")):
            masked += "\n"
        cells.append(CodeCell(index, text, masked, masked_lines, line))
        parts.append(masked)
        line += len(_LINE.findall(masked))
    source = "".join(parts)
    return Notebook(notebook, python, tuple(cells), source, _closing(source))


def _is_python(notebook: dict) -> bool:  # type: ignore[type-arg]
    metadata = notebook.get("metadata")
    if not isinstance(metadata, dict):
        return True
    for key, field in (("kernelspec", "language"), ("language_info", "name")):
        table = metadata.get(key)
        if isinstance(table, dict) and isinstance(table.get(field), str):
            return table[field].lower() in _PYTHON_LANGUAGES
    return True


def python_source(data: bytes) -> bytes | None:
    """What the summary pass reads of a notebook: its virtual module with the closing
    ``del``; None for one that is not a Python notebook or cannot be read."""
    try:
        notebook = read(data)
    except NotebookError:
        return None
    return (notebook.source + notebook.closing).encode("utf-8") if notebook.python else None


# --------------------------------------------------------------------------- masking


def mask(text: str) -> tuple[str, frozenset[int]]:
    """``text`` (one cell) with its IPython syntax masked, line for line and column for
    column; and which of its lines were masked."""
    lines = _LINE.findall(text)
    masked: set[int] = set()
    if not lines:
        return text, frozenset()
    first = re.match(r"\s*%%(\w*)", lines[0])
    if first is not None and first.group(1) not in PYTHON_CELL_MAGICS:
        return "".join(_blank(line, 0) for line in lines), frozenset(range(len(lines)))
    out = []
    scanner = _Scanner()
    magic_goes_on = False
    for number, line in enumerate(lines):
        body = line.rstrip("\r\n")
        if first is not None and number == 0:
            span: tuple[int, int] | None = (len(body) - len(body.lstrip()), len(body))
        elif magic_goes_on:  # the line after a magic's trailing backslash
            out.append(_spaces(line))
            masked.add(number)
            magic_goes_on = body.endswith("\\")
            continue
        else:
            span = _magic_span(body) if scanner.at_statement_start() else None
        if span is None:
            scanner.feed(body)
            out.append(line)
            continue
        out.append(_blank(line, span[0]))
        masked.add(number)
        magic_goes_on = body.endswith("\\")
    return "".join(out), frozenset(masked)


def _magic_span(body: str) -> tuple[int, int] | None:
    """Where the IPython syntax on a line that starts a statement is (start, end), if any."""
    stripped = body.lstrip()
    if not stripped:
        return None
    indent = len(body) - len(stripped)
    if stripped[0] in "%!?" or _HELP.match(stripped):
        return indent, len(body)
    assigned = _ASSIGNED_ESCAPE.match(body)
    if assigned is not None:
        return assigned.end(1), len(body)
    return None


def _blank(line: str, start: int) -> str:
    """``line`` with everything from ``start`` on replaced by ``0`` and spaces (a trailing
    backslash kept: the magic goes on on the next line); a blank line stays as it is."""
    body = line.rstrip("\r\n")
    end = line[len(body):]
    if not body[start:].strip():
        return line
    goes_on = body.endswith("\\")
    width = len(body) - start - (1 if goes_on else 0)
    return body[:start] + ("0" + " " * (width - 1) if width > 0 else "") + ("\\" if goes_on else "") + end


def _spaces(line: str) -> str:
    body = line.rstrip("\r\n")
    goes_on = body.endswith("\\")
    return " " * (len(body) - (1 if goes_on else 0)) + ("\\" if goes_on else "") + line[len(body):]


class _Scanner:
    """Just enough of Python's tokenizer to tell whether the next line starts a statement
    (not inside brackets, a triple-quoted string, or after a backslash)."""

    def __init__(self) -> None:
        self.depth = 0
        self.triple: str | None = None
        self.backslash = False

    def at_statement_start(self) -> bool:
        return self.depth == 0 and self.triple is None and not self.backslash

    def feed(self, body: str) -> None:
        self.backslash = False
        i, n = 0, len(body)
        while i < n:
            c = body[i]
            if self.triple is not None:
                if c == "\\":
                    i += 2
                elif body.startswith(self.triple, i):
                    self.triple = None
                    i += 3
                else:
                    i += 1
                continue
            if c == "#":
                return
            if c in "\"'":
                if body.startswith(c * 3, i):
                    self.triple = c * 3
                    i += 3
                    continue
                j = i + 1
                while j < n and body[j] != c:
                    j += 2 if body[j] == "\\" else 1
                i = j + 1
                continue
            if c in "([{":
                self.depth += 1
            elif c in ")]}":
                self.depth = max(0, self.depth - 1)
            i += 1
        self.backslash = self.triple is None and body.endswith("\\")


def _closing(source: str) -> str:
    """``del`` of every name the module-level code of ``source`` binds by assignment: the
    end of the kernel session, where what no cell released leaks ("" when none, or when
    the source does not parse: its syntax error is reported as it is)."""
    from leaklint.analysis.summaries import _target_names

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ""
    names: dict[str, None] = {}
    for node in _module_statements(tree.body):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        for target in targets:
            for name in _target_names(target):
                names.setdefault(name, None)
    return f"del {', '.join(names)}\n" if names else ""


def _module_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    for node in body:
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for field in ("body", "orelse", "finalbody"):
            yield from _module_statements(getattr(node, field, []))
        for handler in getattr(node, "handlers", []):
            yield from _module_statements(handler.body)
        for case in getattr(node, "cases", []):
            yield from _module_statements(case.body)


# --------------------------------------------------------------------------- checking


def check_bytes(
    data: bytes, path: str, config: Config, *, project: Project | None = None,
    honour_noqa: bool = True,
) -> FileResult:
    """Check a file's bytes, whatever kind of file it is: a notebook cell by cell, Python
    as it is, anything else one LL900 line (named on the command line, not checked)."""
    kind = kind_of(path, data)
    if kind == "notebook":
        return check_notebook(data, path, config, project=project, honour_noqa=honour_noqa)
    if kind == "other":
        return _not_checked(path, 1, 0, unhandled_message(), config)
    from leaklint.core import check_source

    return check_source(data, path, config, project=project, honour_noqa=honour_noqa)


def check_notebook(
    data: bytes, path: str, config: Config, *, project: Project | None = None,
    honour_noqa: bool = True,
) -> FileResult:
    """The findings of a notebook's code cells, placed in their cells."""
    try:
        notebook = read(data)
    except NotebookError as err:
        return _not_checked(path, err.line, err.col, err.why, config)
    if not notebook.python:
        return FileResult(path)
    from leaklint.core import check_source

    virtual = (notebook.source + notebook.closing).encode("utf-8")
    result = check_source(virtual, path, config, project=project, honour_noqa=honour_noqa)
    return placed(result, notebook)


#: How an LL100 (LL130, LL140...) line ends when the session's end is what it leaks at.
_SESSION_END = " is not {verb} by any cell: the kernel keeps it open until it restarts"


def placed(result: FileResult, notebook: Notebook) -> FileResult:
    """``result`` (of the virtual module) with each finding given the notebook's cell
    index, the session's end named as such, and trace steps past the last cell dropped;
    each unused suppression comment placed in its cell."""
    last = notebook.last_line
    index = notebook.index
    ending = re.compile(rf" is not (\w+) before (?:`[^`]*`|it) is deleted at line {last + 1}(?:: .*)?$")
    findings = []
    for finding in result.findings:
        message = ending.sub(lambda m: _SESSION_END.format(verb=m.group(1)), finding.message)
        message = _lines_in_cells(message, index, finding.line, os.path.basename(result.path))
        related = tuple(step for step in finding.related if step[0] <= last)
        line = min(finding.line, max(last, 1))
        findings.append(replace(finding, line=line, message=message, related=related, cells=index))
    unused = tuple(  # shown as path:cell N:line:col by --warn-unused-noqa, as --show-fixes does
        replace(comment, path=f"{comment.path}:cell {cell}", line=at)
        for comment in result.unused_suppressions
        for cell, at in [cell_position(index, comment.line)]
    ) if index else result.unused_suppressions
    return replace(result, findings=tuple(sorted(findings)), unused_suppressions=unused)


def _lines_in_cells(message: str, index: tuple[tuple[int, int], ...], line: int, name: str) -> str:
    """The virtual module's lines a message names, as the notebook's: ``line 6`` of the
    finding's own cell stays ``line N`` (in the cell), one of another cell becomes
    ``cell K, line N``; ``nb.ipynb:12`` in a factory's origin becomes ``nb.ipynb:cell K:N``."""
    if not index:
        return message
    own = cell_position(index, line)[0]

    def in_cell(match: re.Match[str]) -> str:
        cell, at = cell_position(index, int(match.group(1)))
        return f"line {at}" if cell == own else f"cell {cell}, line {at}"

    def in_origin(match: re.Match[str]) -> str:
        cell, at = cell_position(index, int(match.group(1)))
        return f"{match.group(0)[: -len(match.group(1))]}cell {cell}:{at}"

    message = re.sub(r"\bline (\d+)\b", in_cell, message)
    return re.sub(rf"{re.escape(name)}:(\d+)\b", in_origin, message)


def _not_checked(path: str, line: int, col: int, why: str, config: Config) -> FileResult:
    if not config.enabled_for("LL900", path):
        return FileResult(path)
    return FileResult(path, (Finding(path, line, col, "LL900", why),))


def source_lines(data: bytes) -> str | None:
    """The text a notebook's findings point into (their lines are the virtual module's);
    None when it is not a notebook that can be read."""
    try:
        return read(data).source
    except NotebookError:
        return None


# --------------------------------------------------------------------------- fixing


def fix_notebook(
    data: bytes,
    path: str,
    config: Config,
    *,
    project: Project | None = None,
    unsafe: bool = False,
    reported: Reported | None = None,
) -> FixOutcome:
    """``fix_source`` over a notebook: the fixes are made in the virtual module (without
    its closing ``del``: a fix never spans the session), then each changed cell's
    ``source`` is written back into the notebook's JSON text, everything else of it byte
    for byte; the result must validate with ``nbformat``. A fix that would span cells or
    move a masked IPython line leaves the notebook as it was, and says so."""
    from leaklint.fixes.apply import FixOutcome, fix_source

    try:
        notebook = read(data)
    except NotebookError:
        return FixOutcome(path, data)
    if not notebook.python:
        return FixOutcome(path, data)
    virtual = notebook.source.encode("utf-8")
    outcome = fix_source(virtual, path, config, project=project, unsafe=unsafe, reported=reported)
    index = notebook.index
    applied = [  # shown as path:cell N:line:col by --show-fixes
        replace(fix, path=f"{fix.path}:cell {cell}", line=line)
        for fix in outcome.applied
        for cell, line in [cell_position(index, fix.line)]
    ]
    result = FixOutcome(path, data, applied=applied, error=outcome.error,
                        internal_error=outcome.internal_error)
    if outcome.fixed is None:
        result.applied.clear()
        result.remaining = check_notebook(data, path, config, project=project)
        return result
    try:
        new_texts = _split_back(notebook, outcome.fixed.decode("utf-8"))
        fixed = write_cells(data, notebook, new_texts)
        _validate(fixed, data)
    except NotebookError as err:
        result.applied.clear()
        result.error = f"{err.why}; not fixed"
        result.remaining = check_notebook(data, path, config, project=project)
        return result
    result.fixed = fixed
    result.remaining = check_notebook(fixed, path, config, project=project)
    return result


def _split_back(notebook: Notebook, fixed: str) -> dict[int, str]:
    """The new text of each code cell a fix changed, by cell index."""
    import difflib

    old = _LINE.findall(notebook.source)
    new = _LINE.findall(fixed)
    owner = [cell_no for cell_no, cell in enumerate(notebook.cells)
             for _ in _LINE.findall(cell.masked)]
    masked = {cell.start - 1 + line for cell in notebook.cells for line in cell.masked_lines}
    pieces: list[list[str]] = [[] for _ in notebook.cells]
    originals = [_lines_as_read(cell.text) for cell in notebook.cells]
    changed: set[int] = set()
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i1, i2):
                cell = notebook.cells[owner[k]]
                pieces[owner[k]].append(originals[owner[k]][k - cell.start + 1])
            continue
        if any(k in masked for k in range(i1, i2)):
            raise NotebookError(1, 0, "a fix would move an IPython magic or shell line")
        cells = {owner[k] for k in range(i1, i2)}
        if not cells:  # a pure insertion: the cell it continues or begins
            indented = new[j1][:1] in (" ", "\t")
            before = owner[i1 - 1] if i1 > 0 else None
            after = owner[i1] if i1 < len(owner) else None
            chosen = before if (indented or after is None) and before is not None else after
            if chosen is None:
                raise NotebookError(1, 0, "a fix would add code outside every cell")
            cells = {chosen}
        if len(cells) > 1:
            raise NotebookError(1, 0, "a fix would span cells")
        (cell_no,) = cells
        if i1 < len(owner) and i1 == notebook.cells[cell_no].start - 1 and i1 in masked:
            raise NotebookError(1, 0, "a fix would add code before a cell magic")
        pieces[cell_no].extend(new[j1:j2])
        changed.add(cell_no)
    out = {}
    for cell_no in sorted(changed):
        cell = notebook.cells[cell_no]
        text = "".join(pieces[cell_no])
        if cell.text and not cell.text.endswith(("\n", "\r")) and text.endswith("\n"):
            text = text[:-1]  # the newline the virtual module added
        if text != cell.text:
            out[cell.index] = text
    return out


def _lines_as_read(text: str) -> list[str]:
    """A cell's lines as the virtual module has them (the last one ending with a newline)."""
    lines = _LINE.findall(text)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += "\n"
    return lines


def _validate(fixed: bytes, original: bytes) -> None:
    """``fixed`` must be a notebook ``nbformat`` validates (when the original was one)."""
    import nbformat

    def problem(data: bytes) -> str | None:
        try:
            nbformat.validate(nbformat.reads(data.decode("utf-8-sig"), as_version=nbformat.NO_CONVERT))
        except Exception as err:  # noqa: BLE001 - nbformat raises many kinds
            return str(err).splitlines()[0] if str(err) else type(err).__name__
        return None

    why = problem(fixed)
    if why is not None:
        was = problem(original)
        raise NotebookError(1, 0, (
            f"the notebook does not validate as it is ({was})" if was is not None
            else f"the fixed notebook would not validate ({why})"
        ))


def write_cells(data: bytes, notebook: Notebook, texts: dict[int, str]) -> bytes:
    """``data`` (the notebook's JSON text) with the ``source`` of each cell in ``texts``
    (by cell index) replaced, laid out as the original lays out its sources; every other
    byte as it was."""
    bom = "\ufeff" if data.startswith(b"\xef\xbb\xbf") else ""
    text = data.decode("utf-8-sig")
    spans = _source_spans(text)
    ascii_only = not any(ord(c) > 127 for c in text) and re.search(r"\\u[0-9a-fA-F]{4}", text) is not None
    newline = "\r\n" if "\r\n" in text else "\n"
    out = []
    at = 0
    for index in sorted(texts):
        if index not in spans:
            raise NotebookError(1, 0, f"cell {index + 1} has no source to write")
        start, end = spans[index]
        out.append(text[at:start])
        out.append(_layout(texts[index], text, start, end, ascii_only, newline))
        at = end
    out.append(text[at:])
    return (bom + "".join(out)).encode("utf-8")


def _layout(value: str, text: str, start: int, end: int, ascii_only: bool, newline: str) -> str:
    """``value`` as a JSON ``source``, laid out as the one it replaces (``text[start:end]``)."""
    was = text[start:end]
    if was.startswith('"'):
        return json.dumps(value, ensure_ascii=ascii_only)
    parts = value.splitlines(keepends=True)
    if not parts:
        return "[]"
    items = [json.dumps(part, ensure_ascii=ascii_only) for part in parts]
    if "\n" not in was and was != "[]":
        return "[" + ("," if '",\n' not in was and '","' in was else ", ").join(items) + "]"
    opened = re.match(r"\[[ \t]*\r?\n([ \t]*)", was)
    closed = re.search(r"\n([ \t]*)\]$", was)
    line_start = text.rfind("\n", 0, start) + 1
    key_indent = re.match(r"[ \t]*", text[line_start:]).group(0)  # type: ignore[union-attr]
    item_indent = opened.group(1) if opened else key_indent + _indent_unit(text)
    close_indent = closed.group(1) if closed else key_indent
    return (
        "[" + newline + ("," + newline).join(item_indent + item for item in items)
        + newline + close_indent + "]"
    )


def _indent_unit(text: str) -> str:
    match = re.match(r"\{[ \t]*\r?\n([ \t]+)", text)
    return match.group(1) if match else " "


def _source_spans(text: str) -> dict[int, tuple[int, int]]:
    """Where the ``source`` value of each cell is in the notebook's JSON text, by cell index
    (every other value is skipped with ``json``'s own scanner)."""
    decoder = json.JSONDecoder()
    blank = re.compile(r"[ \t\r\n]*")
    spans: dict[int, tuple[int, int]] = {}

    def skip(at: int) -> int:
        return blank.match(text, at).end()  # type: ignore[union-attr]

    def past(at: int, char: str) -> int:
        at = skip(at)
        if text[at] != char:
            raise NotebookError(1, 0, f"not a Jupyter notebook: {char!r} expected")
        return skip(at + 1)

    def members(at: int, value: Callable[[str, int], int]) -> int:
        """Walk the object at ``at``, ``value(key, start)`` giving the end of each value."""
        at = past(at, "{")
        while text[at] != "}":
            key, at = decoder.raw_decode(text, at)
            at = value(key, past(at, ":"))
            at = skip(at)
            if text[at] == ",":
                at = skip(at + 1)
        return at + 1

    def skipped(key: str, at: int) -> int:
        return decoder.raw_decode(text, at)[1]

    def cells(key: str, at: int) -> int:
        if key != "cells":
            return skipped(key, at)
        at = past(at, "[")
        index = 0
        while text[at] != "]":

            def cell_value(name: str, start: int, index: int = index) -> int:
                end = skipped(name, start)
                if name == "source":
                    spans[index] = (start, end)
                return end

            at = skip(members(at, cell_value))
            index += 1
            if text[at] == ",":
                at = skip(at + 1)
        return at + 1

    try:
        members(0, cells)
    except (IndexError, ValueError) as err:
        raise NotebookError(1, 0, f"not a Jupyter notebook: {err}") from None
    return spans
