"""``leaklint server``: a Language Server Protocol server over stdio (pygls).

What an editor gets: diagnostics for each open Python document, from the buffer as it is
(not the file on disk), on open, on change (debounced) and on save, pushed
(``textDocument/publishDiagnostics``) or pulled (``textDocument/diagnostic``), whichever
the client says it supports; each with its rule code, a link to the rules' documentation
and the trace of the leak as related locations. Code actions: each fix there is for a
finding (a safe one as the preferred quick fix, an unsafe one labelled so), "suppress
LLxxx on this line" (``# noqa: LLxxx``) and "fix all safe leaklint fixes in this file".
Hover on a reported line shows the rule's documentation.

The configuration is the project's, found from each document's folder as the CLI finds
it (``load_config(start=...)``), read again when a ``pyproject.toml`` is saved. The
cross-file summaries (factories, owning classes) are kept in memory: the summary of each
project module a document imports, from disk (re-read when the file changes) or from its
editor buffer when it is open; a change to one open document re-checks every other open
document whose project holds it (a changed factory re-checks its callers).

All analysis runs in one worker thread, one file at a time: the parse switches libcst's
node validation off for its duration (``core.parse_unvalidated``), which a fix running
beside it must not see; the event loop stays free to read the client's messages.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from leaklint import __version__
from leaklint.config import Config, ConfigError, load_config
from leaklint.files import NotReadable, read_file
from leaklint.incremental import Reuse, Summaries
from leaklint.notebook import NOTEBOOK_SUFFIX, cell_position
from leaklint.results import FileResult, Finding
from leaklint.rules import RULES_BY_CODE


@functools.lru_cache(maxsize=256)
def rule_page(code: str, docs_url: str | None = None) -> str | None:
    """The link a diagnostic of rule ``code`` carries. A client may name where the rules are
    documented (``initializationOptions``: ``{"docsUrl": "..."}``: ``<docsUrl>#ll100``);
    otherwise the rule's own documentation (``leaklint rule LL100``) is written once as a
    Markdown page in leaklint's user cache folder and linked as a ``file:`` URI, which works
    offline and opens in the editor. None when there is no such rule or nowhere to write.
    Written once per server: a diagnostic of every check asks for it."""
    rule = RULES_BY_CODE.get(code)
    if rule is None:
        return None
    if docs_url:
        return f"{docs_url}#{code.lower()}"
    base = os.environ.get("XDG_CACHE_HOME") or os.environ.get("LOCALAPPDATA")
    folder = Path(base or Path.home() / ".cache") / "leaklint" / "rules" / __version__
    page = folder / f"{code}.md"
    text = f"# {rule.code} {rule.name}\n\n{rule.summary}\n\n{rule.docs}"
    try:
        if not page.is_file() or page.read_text("utf-8") != text:
            folder.mkdir(parents=True, exist_ok=True)
            scratch = folder / f".{code}.{os.getpid()}.tmp"
            scratch.write_text(text, "utf-8")
            os.replace(scratch, page)
    except OSError:
        return None
    return page.as_uri()

#: How long after the last change a document is checked (seconds); ``initializationOptions``:
#: ``{"debounce": 0.1}``.
DEBOUNCE = 0.05

FIX_ALL_KIND = f"{lsp.CodeActionKind.SourceFixAll.value}.leaklint"

#: How many rounds of imports the summaries follow from a document (as the CLI does).
_IMPORT_DEPTH = 8

#: Where a (1-based line, 0-based column) of a checked text is shown: (URI, line there, range).
_Place = Callable[[int, int], "tuple[str, int, lsp.Range]"]

_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)


#: The notebooks the server checks (LSP 3.17 notebook document sync): Jupyter notebooks'
#: Python cells.
NOTEBOOK_SYNC = lsp.NotebookDocumentSyncOptions(
    notebook_selector=[lsp.NotebookDocumentFilterWithCells(
        cells=[lsp.NotebookCellLanguage("python")], notebook="jupyter-notebook",
    )],
    save=True,
)


@dataclass
class _Checked:
    """The last check of a document: the text it was of, and what it found. A notebook's
    text is the notebook (JSON) its cells make, and ``cells`` the URI of each of its cells,
    in order: a finding in cell N is shown in ``cells[N - 1]``."""

    version: int | None
    text: str
    result: FileResult
    path: str
    config: Config
    cells: tuple[str, ...] = ()


@dataclass
class State:
    """Everything the server keeps between messages."""

    configs: dict[str, Config] = field(default_factory=dict)  # by folder
    #: summaries read from disk: path -> ((mtime_ns, size), facts, error)
    disk: dict[str, tuple[tuple[int, int], Any, Any]] = field(default_factory=dict)
    #: summaries of open buffers: path -> (text, facts, error)
    buffers: dict[str, tuple[str, Any, Any]] = field(default_factory=dict)
    #: the real paths of every file the project of each open document holds, by its URI
    depends: dict[str, set[str]] = field(default_factory=dict)
    checked: dict[str, _Checked] = field(default_factory=dict)  # by URI
    pending: dict[str, asyncio.Task[None]] = field(default_factory=dict)  # by URI
    docs_url: str | None = None  # the client's ``docsUrl``, else local pages (``rule_page``)
    debounce: float = DEBOUNCE
    pull: bool = False  # the client pulls diagnostics
    refresh: bool = False  # ... and can be told to pull again


class LeaklintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("leaklint", __version__, notebook_document_sync=NOTEBOOK_SYNC)
        self.state = State()
        self.reuse = Reuse()
        self.summaries = Summaries(names=self.reuse)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="leaklint")

    # ---- running the analysis

    async def run(self, function: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    def config_for(self, path: str) -> Config:
        folder = os.path.dirname(os.path.abspath(path))
        config = self.state.configs.get(folder)
        if config is None:
            try:
                config = load_config(start=Path(folder) if os.path.isdir(folder) else None)
            except ConfigError as err:
                self.window_show_message(
                    lsp.ShowMessageParams(lsp.MessageType.Error, f"leaklint: {err}")
                )
                config = Config()
            self.state.configs[folder] = config
        return config

    def check_text(self, uri: str, path: str, text: str) -> tuple[FileResult, Config]:
        """Check ``text`` (the buffer of ``uri``) with the summaries of its project; a
        Python document's definitions that did not change since its last check are not
        analysed again (``leaklint.incremental``)."""
        from leaklint.notebook import check_bytes, kind_of

        config = self.config_for(path)
        data = text.encode("utf-8")
        project = self.project_for(uri, path, data, config)
        if kind_of(path, data) == "python":
            return self.reuse.check(uri, data, path, config, project), config
        return check_bytes(data, path, config, project=project), config

    def project_for(self, uri: str | None, path: str, data: bytes, config: Config) -> Any:
        """The summaries of the document and of the project modules it imports (as a CLI
        run of that file sees them), open buffers before files on disk; what they hold is
        recorded as ``uri``'s dependencies (when given)."""
        from leaklint.analysis.summaries import build_project, module_file

        facts, error = self._buffer_facts(path, data)
        modules = [facts] if facts is not None else []
        errors = {path: error} if error is not None else {}
        seen = {os.path.realpath(path)}
        frontier = list(modules)
        for _ in range(_IMPORT_DEPTH):
            wanted = []
            for module in frontier:
                for name in module.imports:
                    file = module_file(module.root, name)
                    if file is not None and os.path.realpath(file) not in seen:
                        seen.add(os.path.realpath(file))
                        wanted.append(file)
            frontier = [f for f in (self._facts_of(file) for file in wanted) if f is not None]
            if not frontier:
                break
            modules.extend(frontier)
        if uri is not None:
            self.state.depends[uri] = seen
        return build_project(modules, config.registry, errors, [os.path.normpath(path)])

    def _buffer_facts(self, path: str, data: bytes) -> tuple[Any, Any]:
        text = data.decode("utf-8")
        known = self.state.buffers.get(path)
        if known is not None and known[0] == text:
            return known[1], known[2]
        facts, error = _summarise(path, data, self.summaries.facts)
        self.state.buffers[path] = (text, facts, error)
        return facts, error

    def _facts_of(self, path: str) -> Any:
        """The summary of a project module: its open buffer's, else its file's (re-read when
        its size or modification time changed)."""
        for open_path, (_, facts, _) in self.state.buffers.items():
            if os.path.realpath(open_path) == os.path.realpath(path):
                return facts
        try:
            info = os.stat(path)
        except OSError:
            return None
        key = (info.st_mtime_ns, info.st_size)
        known = self.state.disk.get(path)
        if known is not None and known[0] == key:
            return known[1]
        try:
            data = read_file(path, self.config_for(path).max_file_bytes)
        except NotReadable:
            return None
        facts, error = _summarise(path, data)
        self.state.disk[path] = (key, facts, error)
        return facts

    # ---- diagnostics

    def schedule(self, uri: str, delay: float) -> None:
        """Check ``uri`` after ``delay`` seconds, unless it changes again before then."""
        pending = self.state.pending.pop(uri, None)
        if pending is not None and not pending.done():
            pending.cancel()
        self.state.pending[uri] = asyncio.get_running_loop().create_task(self._check_later(uri, delay))

    async def _check_later(self, uri: str, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        checked = await self.check_document(uri)
        if checked is None:
            return
        if self.state.pull:
            if self.state.refresh:
                self.workspace_diagnostic_refresh(None)
            return
        self.publish(uri, checked)

    async def check_document(self, uri: str) -> _Checked | None:
        """Check the document as the editor holds it now (the last check when the text is
        the same); for a notebook or one of its cells, the notebook."""
        notebook = self.notebook_of(uri)
        if notebook is not None:
            return await self.check_notebook(notebook)
        document = self.workspace.get_text_document(uri)
        if not _is_python(document):
            return None
        text, version = document.source, document.version
        known = self.state.checked.get(uri)
        if known is not None and known.text == text:
            return known
        path = _path_of(uri)
        result, config = await self.run(self.check_text, uri, path, text)
        checked = _Checked(version, text, result, path, config)
        if self.workspace.get_text_document(uri).source == text:
            self.state.checked[uri] = checked
        return checked

    def notebook_of(self, uri: str) -> lsp.NotebookDocument | None:
        """The open notebook ``uri`` is, or holds as a cell."""
        workspace = self.workspace
        return (workspace.get_notebook_document(notebook_uri=uri)
                or workspace.get_notebook_document(cell_uri=uri))

    def notebook_text(self, notebook: lsp.NotebookDocument) -> tuple[str, tuple[str, ...]]:
        """The notebook (JSON, as a ``.ipynb`` file holds it) the editor's cells make, and
        the URI of each cell. A code cell in another language than Python is a raw cell."""
        cells = []
        for cell in notebook.cells:
            document = self.workspace.get_text_document(cell.document)
            python = cell.kind == lsp.NotebookCellKind.Code and document.language_id in (None, "python")
            kind = "code" if python else "markdown" if cell.kind == lsp.NotebookCellKind.Markup else "raw"
            item: dict[str, Any] = {"cell_type": kind, "metadata": {}, "source": document.source}
            if kind == "code":  # as nbformat 4.4 has it: the fixes validate what they write
                item.update(execution_count=None, outputs=[])
            cells.append(item)
        metadata = notebook.metadata if isinstance(notebook.metadata, dict) else {}
        text = json.dumps({"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 4})
        return text, tuple(cell.document for cell in notebook.cells)

    async def check_notebook(self, notebook: lsp.NotebookDocument) -> _Checked:
        """Check a notebook as its cells are now: its code cells as one module, as the CLI
        checks a ``.ipynb`` file."""
        uri = notebook.uri
        text, cells = self.notebook_text(notebook)
        known = self.state.checked.get(uri)
        if known is not None and known.text == text:
            return known
        path = _path_of(uri)
        result, config = await self.run(self.check_text, uri, path, text)
        checked = _Checked(notebook.version, text, result, path, config, cells)
        now = self.workspace.get_notebook_document(notebook_uri=uri)
        if now is not None and self.notebook_text(now)[0] == text:
            self.state.checked[uri] = checked
        return checked

    def publish(self, uri: str, checked: _Checked) -> None:
        for shown, diagnostics in self.diagnostics_by_uri(uri, checked).items():
            version = checked.version
            if checked.cells:
                version = self.workspace.get_text_document(shown).version
            self.text_document_publish_diagnostics(
                lsp.PublishDiagnosticsParams(uri=shown, version=version, diagnostics=diagnostics)
            )

    def diagnostics_by_uri(self, uri: str, checked: _Checked) -> dict[str, list[lsp.Diagnostic]]:
        """The diagnostics of each document the check covers: the document, or each cell of
        the notebook (an empty list for a cell with none)."""
        out: dict[str, list[lsp.Diagnostic]] = {cell: [] for cell in checked.cells} or {uri: []}
        for _, diagnostic in self.placed(uri, checked):
            out.setdefault(diagnostic.data["uri"], []).append(diagnostic)
        return out

    def diagnostics(self, uri: str, checked: _Checked) -> list[lsp.Diagnostic]:
        """The diagnostics shown in ``uri`` (a document, or a notebook's cell)."""
        return [diagnostic for _, diagnostic in self.placed(uri, checked, only=uri)]

    def placed(
        self, uri: str, checked: _Checked, only: str | None = None
    ) -> list[tuple[Finding, lsp.Diagnostic]]:
        """Each finding (its line made the line in the document it is shown in: a cell's,
        in a notebook) with its diagnostic; those shown in ``only`` when given."""
        place = self.place_in_cells(checked) if checked.cells else self.place_in(uri, checked.text)
        out = []
        for finding in checked.result.findings:
            diagnostic = _diagnostic(finding, place, self.state.docs_url)
            shown = diagnostic.data["uri"]
            if only is None or shown == only:
                line = diagnostic.data["line"]
                out.append((replace(finding, line=line, cells=()), diagnostic))
        return out

    def place_in(self, uri: str, text: str) -> _Place:
        lines = text.splitlines()
        document = self.workspace.get_text_document(uri)
        return lambda line, col: (uri, line, _range(lines, document, line, col))

    def place_in_cells(self, checked: _Checked) -> _Place:
        """Where a line of a notebook's virtual module is: its cell's URI and line."""
        from leaklint.notebook import read

        starts = read(checked.text.encode("utf-8")).index

        def place(line: int, col: int) -> tuple[str, int, lsp.Range]:
            number, at = cell_position(starts, line) if starts else (1, line)
            uri = checked.cells[min(number, len(checked.cells)) - 1]
            document = self.workspace.get_text_document(uri)
            return uri, at, _range(document.source.splitlines(), document, at, col)

        return place

    def edited(self, uri: str) -> None:
        """A document (or notebook) changed: check it after the debounce, and every other
        open document whose project holds it."""
        self.schedule(uri, self.state.debounce)
        self.recheck_dependents(_path_of(uri))

    def recheck_dependents(self, path: str) -> None:
        for other in self.dependents(path):
            self.state.checked.pop(other, None)
            self.schedule(other, self.state.debounce)

    def clear(self, uris: Sequence[str]) -> None:
        """Take the diagnostics pushed to ``uris`` away (a client that pulls asks again)."""
        if self.state.pull:
            return
        for uri in uris:
            self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    def dependents(self, path: str) -> list[str]:
        """The open documents (but ``path``'s own) whose project holds ``path``."""
        real = os.path.realpath(path)
        return [
            uri for uri, held in self.state.depends.items()
            if real in held and os.path.realpath(_path_of(uri)) != real
        ]

    # ---- code actions

    def actions(self, uri: str, checked: _Checked, wanted: lsp.Range) -> list[lsp.CodeAction]:
        """The code actions for the findings on the lines of ``wanted`` (runs in the worker)."""
        from leaklint.fixes.transforms import FIXABLE_CODES

        out: list[lsp.CodeAction] = []
        document = self.workspace.get_text_document(uri)
        lines = document.source.splitlines(keepends=True) if checked.cells else (
            checked.text.splitlines(keepends=True))
        version = document.version if checked.cells else checked.version
        here = [
            (finding, diagnostic) for finding, diagnostic in self.placed(uri, checked, only=uri)
            if wanted.start.line <= finding.line - 1 <= wanted.end.line
        ]
        for finding, diagnostic in here:
            if finding.code in FIXABLE_CODES:
                for unsafe in (False, True):
                    key = (diagnostic.data["at"], finding.col, finding.code)
                    fixed = self.fixed(uri, checked, unsafe, key)
                    if fixed is None:
                        continue
                    edit, applied = fixed
                    title = applied[0].title if applied else "Fix"
                    out.append(lsp.CodeAction(
                        title=f"leaklint: {title}" + (" (unsafe)" if unsafe else ""),
                        kind=lsp.CodeActionKind.QuickFix,
                        diagnostics=[diagnostic],
                        is_preferred=not unsafe,
                        edit=edit,
                    ))
                    break
            suppress = _suppression(lines, finding)
            if suppress is not None:
                out.append(lsp.CodeAction(
                    title=f"leaklint: suppress {finding.code} on this line",
                    kind=lsp.CodeActionKind.QuickFix,
                    diagnostics=[diagnostic],
                    edit=lsp.WorkspaceEdit(document_changes=[lsp.TextDocumentEdit(
                        text_document=lsp.OptionalVersionedTextDocumentIdentifier(
                            uri=uri, version=version),
                        edits=[suppress],
                    )]),
                ))
        if any(f.code in FIXABLE_CODES for f in checked.result.findings):
            fixed = self.fixed(uri, checked, False, None)
            if fixed is not None:
                where = "notebook" if checked.cells else "file"
                out.append(lsp.CodeAction(
                    title=f"leaklint: fix all safe leaklint fixes in this {where}",
                    kind=FIX_ALL_KIND,
                    edit=fixed[0],
                ))
        return out

    def fixed(
        self, uri: str, checked: _Checked, unsafe: bool, only: tuple[int, int, str] | None
    ) -> tuple[lsp.WorkspaceEdit, list[Any]] | None:
        """The edit that applies the document's fixes (only that of the finding at
        ``only``, (line, column, code) as checked, when given): of the document, or of each
        cell of a notebook the fixes change (``notebook.fix_notebook``)."""
        from leaklint.fixes.apply import fix_source
        from leaklint.notebook import fix_notebook, read

        data = checked.text.encode("utf-8")
        project = self.project_for(None, checked.path, data, checked.config)
        reported = None
        if only is not None:

            def reported(findings: Sequence[Finding], path: str, data: bytes) -> list[Finding]:
                return [f for f in findings if (f.line, f.col, f.code) == only]

        fix = fix_notebook if checked.cells else fix_source
        outcome = fix(data, checked.path, checked.config, project=project, unsafe=unsafe,
                      reported=reported)
        if outcome.fixed is None or outcome.internal_error:
            return None
        if not checked.cells:
            return _edit(uri, checked.version, checked.text, outcome.fixed.decode("utf-8")), outcome.applied
        changes = []
        for cell in read(outcome.fixed).cells:
            document = self.workspace.get_text_document(checked.cells[cell.index])
            if cell.text != document.source:
                changes += _edit(document.uri, document.version, document.source, cell.text).document_changes
        return (lsp.WorkspaceEdit(document_changes=changes), outcome.applied) if changes else None

    def hover(self, uri: str, checked: _Checked, line: int) -> lsp.Hover | None:
        codes = sorted({f.code for f, _ in self.placed(uri, checked, only=uri) if f.line - 1 == line})
        if not codes:
            return None
        parts = []
        for code in codes:
            rule = RULES_BY_CODE.get(code)
            if rule is not None:
                parts.append(f"### {rule.code} {rule.name}\n\n{rule.summary}\n\n{rule.docs}")
        return lsp.Hover(contents=lsp.MarkupContent(lsp.MarkupKind.Markdown, "\n\n---\n\n".join(parts)))


def _summarise(
    path: str, data: bytes, read: Callable[[bytes, str], tuple[Any, Any]] | None = None
) -> tuple[Any, Any]:
    """The summary of a project file (``facts_of_source``, or ``read``: an open buffer's
    ``Summaries.facts``)."""
    from leaklint.analysis.summaries import facts_of_source
    from leaklint.core import collector_paused, users_warnings_ignored
    from leaklint.notebook import kind_of, python_source

    if kind_of(path, data) == "notebook":
        source = python_source(data)
        if source is None:
            return None, None
        data = source
    try:
        with users_warnings_ignored(), collector_paused():
            return (read or facts_of_source)(data, path)
    except (RecursionError, MemoryError):
        return None, (1, 0, "too deeply nested to analyse")


def _path_of(uri: str) -> str:
    """The file a document is (an untitled buffer: a name in the current folder)."""
    path = to_fs_path(uri)
    if path:
        return path
    name = re.sub(r"[^\w.-]", "_", uri.rsplit("/", 1)[-1]) or "untitled"
    return name if name.endswith((".py", NOTEBOOK_SUFFIX)) else name + ".py"


def _is_python(document: Any) -> bool:
    language = getattr(document, "language_id", None)
    path = _path_of(document.uri)
    return language == "python" or path.endswith((".py", ".pyi", ".pyw"))


def _word_end(line: str, col: int) -> int:
    match = re.compile(r"[\w.]+").match(line, col)
    return match.end() if match and match.end() > col else min(len(line), col + 1) or col


def _range(lines: Sequence[str], document: Any, line: int, col: int) -> lsp.Range:
    """The range of the word at (1-based ``line``, 0-based code point ``col``), in the
    client's units."""
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    start = lsp.Position(line - 1, min(col, len(text)))
    end = lsp.Position(line - 1, _word_end(text, start.character))
    codec = document.position_codec
    return lsp.Range(
        codec.position_to_client_units(lines, start), codec.position_to_client_units(lines, end)
    )


def _diagnostic(finding: Finding, place: _Place, docs_url: str | None) -> lsp.Diagnostic:
    """The diagnostic of ``finding``, in the document ``place`` puts its line in (its URI
    and line there in ``data``); its trace steps wherever theirs are."""
    page = rule_page(finding.code, docs_url)
    related = []
    for line, col, label in finding.related:
        uri, _, where = place(line, col)
        related.append(lsp.DiagnosticRelatedInformation(location=lsp.Location(uri, where), message=label))
    uri, line, where = place(finding.line, finding.col)
    return lsp.Diagnostic(
        range=where,
        message=finding.message,
        severity=lsp.DiagnosticSeverity.Warning if finding.code == "LL900" else lsp.DiagnosticSeverity.Error,
        code=finding.code,
        code_description=lsp.CodeDescription(href=page) if page else None,
        source="leaklint",
        related_information=related or None,
        data={"line": line, "col": finding.col, "code": finding.code, "uri": uri, "at": finding.line},
    )


def _edit(uri: str, version: int | None, old: str, new: str) -> lsp.WorkspaceEdit:
    """One text edit that turns ``old`` into ``new``: the lines between their common head
    and tail."""
    before = old.splitlines(keepends=True)
    after = new.splitlines(keepends=True)
    head = 0
    while head < min(len(before), len(after)) and before[head] == after[head]:
        head += 1
    tail = 0
    while (
        tail < min(len(before), len(after)) - head
        and before[len(before) - 1 - tail] == after[len(after) - 1 - tail]
    ):
        tail += 1
    end_line = len(before) - tail
    if tail == 0 and before and not before[-1].endswith(("\n", "\r")):
        end = lsp.Position(len(before) - 1, len(before[-1]))
    else:
        end = lsp.Position(end_line, 0)
    edit = lsp.TextEdit(
        range=lsp.Range(lsp.Position(head, 0), end),
        new_text="".join(after[head : len(after) - tail]),
    )
    return lsp.WorkspaceEdit(document_changes=[lsp.TextDocumentEdit(
        text_document=lsp.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
        edits=[edit],
    )])


def _suppression(lines: Sequence[str], finding: Finding) -> lsp.TextEdit | None:
    """``# noqa: CODE`` at the end of the finding's line (its code added to a ``# noqa:``
    that is there already); None where a bare ``# noqa`` silences everything already."""
    if not 0 < finding.line <= len(lines):
        return None
    line = lines[finding.line - 1]
    body = line.rstrip("\r\n")
    noqa = _NOQA.search(body)
    if noqa is not None:
        if noqa.group("codes") is None:
            return None
        at = noqa.end("codes")
        return lsp.TextEdit(
            range=lsp.Range(lsp.Position(finding.line - 1, at), lsp.Position(finding.line - 1, at)),
            new_text=f", {finding.code}",
        )
    end = len(body)
    return lsp.TextEdit(
        range=lsp.Range(lsp.Position(finding.line - 1, end), lsp.Position(finding.line - 1, end)),
        new_text=f"  # noqa: {finding.code}",
    )


def make_server() -> LeaklintServer:
    server = LeaklintServer()
    state = server.state

    @server.feature(lsp.INITIALIZE)
    def initialize(ls: LeaklintServer, params: lsp.InitializeParams) -> None:
        options = params.initialization_options or {}
        if isinstance(options, dict):
            if isinstance(options.get("docsUrl"), str):
                state.docs_url = options["docsUrl"]
            if isinstance(options.get("debounce"), (int, float)):
                state.debounce = max(0.0, float(options["debounce"]))
        capabilities = params.capabilities
        text = capabilities.text_document
        state.pull = bool(text is not None and text.diagnostic is not None)
        workspace = capabilities.workspace
        state.refresh = bool(
            workspace is not None and workspace.diagnostics is not None
            and workspace.diagnostics.refresh_support
        )

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: LeaklintServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: LeaklintServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.edited(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: LeaklintServer, params: lsp.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        if _path_of(uri).endswith("pyproject.toml"):
            _configuration_changed(ls)
            return
        ls.schedule(uri, 0)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: LeaklintServer, params: lsp.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        forget(ls, uri)
        ls.clear([uri])

    @server.feature(lsp.NOTEBOOK_DOCUMENT_DID_OPEN)
    async def notebook_open(ls: LeaklintServer, params: lsp.DidOpenNotebookDocumentParams) -> None:
        ls.schedule(params.notebook_document.uri, 0)

    @server.feature(lsp.NOTEBOOK_DOCUMENT_DID_CHANGE)
    async def notebook_change(ls: LeaklintServer, params: lsp.DidChangeNotebookDocumentParams) -> None:
        cells = params.change.cells
        structure = cells.structure if cells is not None else None
        if structure is not None:  # a deleted cell's diagnostics go with it
            ls.clear([gone.uri for gone in structure.did_close or []])
        ls.edited(params.notebook_document.uri)

    @server.feature(lsp.NOTEBOOK_DOCUMENT_DID_SAVE)
    async def notebook_save(ls: LeaklintServer, params: lsp.DidSaveNotebookDocumentParams) -> None:
        ls.schedule(params.notebook_document.uri, 0)

    @server.feature(lsp.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def notebook_close(ls: LeaklintServer, params: lsp.DidCloseNotebookDocumentParams) -> None:
        forget(ls, params.notebook_document.uri)
        ls.clear([cell.uri for cell in params.cell_text_documents])

    @server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched(ls: LeaklintServer, params: lsp.DidChangeWatchedFilesParams) -> None:
        for change in params.changes:
            path = _path_of(change.uri)
            if path.endswith("pyproject.toml"):
                _configuration_changed(ls)
                return
            state.disk.pop(path, None)
            ls.recheck_dependents(path)

    @server.feature(
        lsp.TEXT_DOCUMENT_DIAGNOSTIC,
        lsp.DiagnosticOptions(identifier="leaklint", inter_file_dependencies=True,
                              workspace_diagnostics=False),
    )
    async def pull(ls: LeaklintServer, params: lsp.DocumentDiagnosticParams) -> lsp.DocumentDiagnosticReport:
        uri = params.text_document.uri
        checked = await ls.check_document(uri)
        if checked is None:
            return lsp.RelatedFullDocumentDiagnosticReport(items=[])
        return lsp.RelatedFullDocumentDiagnosticReport(
            items=ls.diagnostics(uri, checked), result_id=str(id(checked))
        )

    @server.feature(
        lsp.TEXT_DOCUMENT_CODE_ACTION,
        lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix, FIX_ALL_KIND]),
    )
    async def code_action(ls: LeaklintServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        checked = await ls.check_document(params.text_document.uri)
        if checked is None:
            return []
        actions = await ls.run(ls.actions, params.text_document.uri, checked, params.range)
        only = params.context.only
        if only:
            actions = [a for a in actions if any(str(a.kind).startswith(str(k)) for k in only)]
        return actions

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    async def hover(ls: LeaklintServer, params: lsp.HoverParams) -> lsp.Hover | None:
        checked = await ls.check_document(params.text_document.uri)
        uri = params.text_document.uri
        return None if checked is None else ls.hover(uri, checked, params.position.line)

    return server


def forget(ls: LeaklintServer, uri: str) -> None:
    """A document (or notebook) closed: what the server kept of it goes."""
    pending = ls.state.pending.pop(uri, None)
    if pending is not None:
        pending.cancel()
    ls.state.checked.pop(uri, None)
    ls.state.depends.pop(uri, None)
    ls.state.buffers.pop(_path_of(uri), None)
    ls.reuse.forget(uri)


def _configuration_changed(ls: LeaklintServer) -> None:
    """A ``pyproject.toml`` changed: every configuration is read again, every open
    document checked again."""
    ls.state.configs.clear()
    for uri in list(ls.state.checked):
        ls.state.checked.pop(uri, None)
        ls.schedule(uri, 0)


def main() -> None:
    """Serve over stdio until the client says exit."""
    make_server().start_io()
    sys.exit(0)
