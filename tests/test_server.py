"""`leaklint server` through a real LSP client (pygls's), over stdio, in a subprocess:
open a document, receive diagnostics, apply a code action, see the diagnostic go."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pygls")

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

README = Path(__file__).resolve().parents[1] / "README.md"
NOTEBOOKS = Path(__file__).resolve().parents[1] / "fixtures" / "notebooks"

LEAK = """\
import json


def load(path):
    f = open(path)
    if not path:
        return None
    return json.load(f)


def head(path):
    return open(path).readline()
"""

#: The command every editor snippet in the README starts the server with.
COMMAND = ["leaklint", "server"]


class Session:
    """A client connected to ``python -m leaklint server``; diagnostics pushed to it are
    kept by URI, newest last."""

    def __init__(self, client: LanguageClient) -> None:
        self.client = client
        self.pushed: dict[str, list[list[lsp.Diagnostic]]] = {}
        self.changed = asyncio.Event()
        self.capabilities: lsp.ServerCapabilities | None = None

    def mark(self, uri: str) -> int:
        """How many publications ``uri`` has had so far (``diagnostics(since=...)``)."""
        return len(self.pushed.get(uri, []))

    async def diagnostics(
        self,
        uri: str,
        until: Callable[[list[lsp.Diagnostic]], bool],
        since: int = 0,
        timeout: float = 60,
    ) -> list[lsp.Diagnostic]:
        """The first diagnostics pushed for ``uri`` (kept or to come, from publication
        ``since`` on) that satisfy ``until``."""

        async def wait() -> list[lsp.Diagnostic]:
            while True:
                for published in self.pushed.get(uri, [])[since:]:
                    if until(published):
                        return list(published)
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(wait(), timeout)


def run_session(
    body: Callable[[Session], Awaitable[None]],
    root: Path,
    *,
    pull: bool = False,
    options: dict[str, Any] | None = None,
) -> None:
    async def main() -> None:
        client = LanguageClient("leaklint-tests", "1")
        session = Session(client)

        @client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def published(params: lsp.PublishDiagnosticsParams) -> None:
            session.pushed.setdefault(params.uri, []).append(params.diagnostics)
            session.changed.set()

        @client.feature(lsp.WORKSPACE_DIAGNOSTIC_REFRESH)
        def refresh(params: None) -> None:
            session.changed.set()

        @client.feature(lsp.WINDOW_LOG_MESSAGE)
        def log(params: lsp.LogMessageParams) -> None:
            pass

        await client.start_io(sys.executable, "-m", "leaklint", "server", cwd=str(root))
        capabilities = lsp.ClientCapabilities(
            text_document=lsp.TextDocumentClientCapabilities(
                diagnostic=lsp.DiagnosticClientCapabilities() if pull else None,
                publish_diagnostics=lsp.PublishDiagnosticsClientCapabilities(related_information=True),
            ),
            workspace=lsp.WorkspaceClientCapabilities(
                diagnostics=lsp.DiagnosticWorkspaceClientCapabilities(refresh_support=True)
                if pull else None,
            ),
            notebook_document=lsp.NotebookDocumentClientCapabilities(
                synchronization=lsp.NotebookDocumentSyncClientCapabilities()
            ),
        )
        initialized = await client.initialize_async(lsp.InitializeParams(
            capabilities=capabilities,
            root_uri=from_fs_path(str(root)),
            workspace_folders=[lsp.WorkspaceFolder(from_fs_path(str(root)), "root")],
            initialization_options=options or {},
        ))
        session.capabilities = initialized.capabilities
        client.initialized(lsp.InitializedParams())
        try:
            await body(session)
        finally:
            await client.shutdown_async(None)
            client.exit(None)
            await client.stop()

    asyncio.run(main())


def open_document(client: LanguageClient, path: Path, text: str, version: int = 1) -> str:
    uri = from_fs_path(str(path))
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        lsp.TextDocumentItem(uri=uri, language_id="python", version=version, text=text)
    ))
    return uri


def change(client: LanguageClient, uri: str, text: str, version: int) -> None:
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)],
    ))


def apply(text: str, edit: lsp.WorkspaceEdit) -> str:
    """``text`` with the (one document's) edits of ``edit`` applied, as an editor would."""
    (change_,) = edit.document_changes
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def offset(position: lsp.Position) -> int:
        if position.line >= len(lines):
            return len(text)
        return offsets[position.line] + position.character

    for edit_ in sorted(change_.edits, key=lambda e: offset(e.range.start), reverse=True):
        text = text[: offset(edit_.range.start)] + edit_.new_text + text[offset(edit_.range.end):]
    return text


def codes(diagnostics: list[lsp.Diagnostic]) -> list[tuple[int, str]]:
    return sorted((d.range.start.line + 1, str(d.code)) for d in diagnostics)


def test_diagnostics_on_open_then_a_quick_fix_removes_one(tmp_path: Path) -> None:
    path = tmp_path / "app.py"
    path.write_text("# on disk: nothing to report\n")  # the buffer is what is checked

    async def body(session: Session) -> None:
        client = session.client
        uri = open_document(client, path, LEAK)
        found = await session.diagnostics(uri, lambda d: len(d) == 2)
        assert codes(found) == [(5, "LL100"), (12, "LL102")]
        leak = next(d for d in found if d.code == "LL100")
        assert leak.source == "leaklint"
        assert leak.code_description is not None  # the rule's own page, written for the link
        page = leak.code_description.href
        assert page.startswith("file://") and page.endswith("/LL100.md")
        assert Path(page[len("file://"):]).read_text("utf-8").startswith(
            "# LL100 resource-not-released\n")
        assert "is never closed: no path through the function releases it" in leak.message
        steps = [(r.location.range.start.line + 1, r.message) for r in leak.related_information]
        assert steps == [(5, "`f` is acquired here"), (8, "`f` is still held when load() ends")]
        assert (leak.range.start.line, leak.range.start.character) == (4, 8)

        unbound = next(d for d in found if d.code == "LL102")
        actions = await client.text_document_code_action_async(lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(uri),
            range=unbound.range,
            context=lsp.CodeActionContext(diagnostics=[unbound]),
        ))
        titles = [a.title for a in actions]
        assert "leaklint: suppress LL102 on this line" in titles
        fix = next(a for a in actions if a.is_preferred)
        assert fix.kind == lsp.CodeActionKind.QuickFix and "(unsafe)" not in fix.title
        fixed = apply(LEAK, fix.edit)
        assert "with open(path) as f:" in fixed and "return f.readline()" in fixed
        mark = session.mark(uri)
        change(client, uri, fixed, 2)
        after = await session.diagnostics(uri, lambda d: len(d) == 1, mark)
        assert codes(after) == [(5, "LL100")]

        # suppressing the other one: the comment is added and the diagnostic goes
        actions = await client.text_document_code_action_async(lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(uri),
            range=after[0].range,
            context=lsp.CodeActionContext(diagnostics=after),
        ))
        suppress = next(a for a in actions if a.title == "leaklint: suppress LL100 on this line")
        quiet = apply(fixed, suppress.edit)
        assert "    f = open(path)  # noqa: LL100\n" in quiet
        mark = session.mark(uri)
        change(client, uri, quiet, 3)
        assert await session.diagnostics(uri, lambda d: True, mark) == []

        hover = await client.text_document_hover_async(lsp.HoverParams(
            text_document=lsp.TextDocumentIdentifier(uri), position=lsp.Position(4, 9)
        ))
        assert hover is None  # nothing is reported there any more

    run_session(body, tmp_path)


def test_fix_all_and_hover_and_unsafe_labels(tmp_path: Path) -> None:
    source = LEAK + "\n\ndef first(path):\n    return open(path).read(1)\n"

    async def body(session: Session) -> None:
        client = session.client
        uri = open_document(client, tmp_path / "many.py", source)
        found = await session.diagnostics(uri, lambda d: len(d) == 3)
        hover = await client.text_document_hover_async(lsp.HoverParams(
            text_document=lsp.TextDocumentIdentifier(uri), position=lsp.Position(11, 4)
        ))
        assert hover is not None and "LL102 unbound-resource" in hover.contents.value
        assert "## What it does" in hover.contents.value
        actions = await client.text_document_code_action_async(lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(uri),
            range=lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0)),
            context=lsp.CodeActionContext(diagnostics=[], only=["source.fixAll"]),
        ))
        (fix_all,) = actions
        assert fix_all.kind == "source.fixAll.leaklint"
        fixed = apply(source, fix_all.edit)
        mark = session.mark(uri)
        change(client, uri, fixed, 2)
        assert codes(await session.diagnostics(uri, lambda d: True, mark)) == [(5, "LL100")]
        del found

    run_session(body, tmp_path)


def test_unsafe_fix_is_labelled_and_not_preferred(tmp_path: Path) -> None:
    # at module level the LL102 fix is unsafe: the name it binds becomes a module attribute
    source = "DATA = open('x').read()\n"

    async def body(session: Session) -> None:
        client = session.client
        uri = open_document(client, tmp_path / "mod.py", source)
        (found,) = await session.diagnostics(uri, lambda d: len(d) == 1)
        actions = await client.text_document_code_action_async(lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(uri), range=found.range,
            context=lsp.CodeActionContext(diagnostics=[found]),
        ))
        unsafe = [a for a in actions if a.title.endswith("(unsafe)")]
        assert len(unsafe) == 1 and not unsafe[0].is_preferred
        assert "with open('x') as" in apply(source, unsafe[0].edit)

    run_session(body, tmp_path)


def test_pull_diagnostics_and_project_configuration(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.leaklint]\nignore = ["LL102"]\n')

    async def body(session: Session) -> None:
        client = session.client
        uri = open_document(client, tmp_path / "pulled.py", LEAK)
        report = await client.text_document_diagnostic_async(lsp.DocumentDiagnosticParams(
            text_document=lsp.TextDocumentIdentifier(uri)
        ))
        assert codes(report.items) == [(5, "LL100")]  # LL102 is ignored by the project
        await asyncio.sleep(0.5)
        assert uri not in session.pushed  # a client that pulls is not pushed to

    run_session(body, tmp_path, pull=True)


def test_a_changed_factory_rechecks_its_callers(tmp_path: Path) -> None:
    """Cross-file summaries from open buffers: the caller's finding follows the factory's
    unsaved edits."""
    (tmp_path / "helpers.py").write_text("def get(path):\n    return path\n")
    caller = "from helpers import get\n\n\ndef use(p):\n    f = get(p)\n    return f.name\n"

    async def body(session: Session) -> None:
        client = session.client
        helpers = open_document(client, tmp_path / "helpers.py", "def get(path):\n    return path\n")
        user = open_document(client, tmp_path / "user.py", caller)
        assert await session.diagnostics(user, lambda d: True) == []
        mark = session.mark(user)
        change(client, helpers, "def get(path):\n    return open(path)\n", 2)
        found = await session.diagnostics(user, lambda d: True, mark)
        assert codes(found) == [(5, "LL100")]
        assert "get() (open() at" in found[0].message

    run_session(body, tmp_path)


def open_notebook(client: LanguageClient, path: Path, version: int = 1) -> tuple[str, list[str]]:
    """Open the notebook at ``path`` as an editor does (LSP 3.17 notebook sync: the notebook
    and a text document per cell, with VS Code's cell URIs); its URI and its cells'."""
    cells = json.loads(path.read_text("utf-8"))["cells"]
    uri = from_fs_path(str(path))
    cell_uris = [f"vscode-notebook-cell:{path}#C{index}" for index in range(len(cells))]
    client.notebook_document_did_open(lsp.DidOpenNotebookDocumentParams(
        notebook_document=lsp.NotebookDocument(
            uri=uri, notebook_type="jupyter-notebook", version=version,
            cells=[
                lsp.NotebookCell(
                    kind=lsp.NotebookCellKind.Code if cell["cell_type"] == "code"
                    else lsp.NotebookCellKind.Markup,
                    document=cell_uri,
                )
                for cell, cell_uri in zip(cells, cell_uris)
            ],
        ),
        cell_text_documents=[
            lsp.TextDocumentItem(
                uri=cell_uri, version=1, text="".join(cell["source"]),
                language_id="python" if cell["cell_type"] == "code" else "markdown",
            )
            for cell, cell_uri in zip(cells, cell_uris)
        ],
    ))
    return uri, cell_uris


def change_cell(client: LanguageClient, notebook: str, version: int, cell: str, text: str) -> None:
    client.notebook_document_did_change(lsp.DidChangeNotebookDocumentParams(
        notebook_document=lsp.VersionedNotebookDocumentIdentifier(version=version, uri=notebook),
        change=lsp.NotebookDocumentChangeEvent(cells=lsp.NotebookDocumentCellChanges(
            text_content=[lsp.NotebookDocumentCellContentChanges(
                document=lsp.VersionedTextDocumentIdentifier(uri=cell, version=version),
                changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)],
            )],
        )),
    ))


def test_notebook_cells_get_their_diagnostics(tmp_path: Path) -> None:
    """A notebook through LSP notebook sync: each finding in its cell's document at the
    cell's line (the fixtures the CLI reports at cell 3:2:9 and cell 3:1:6), the trace in
    the cell, following edits, a new cell above, suppression and hover in a cell, and the
    diagnostics gone when the notebook closes."""
    for name in ("leak_in_function", "sqlite_with_in_cell"):
        (tmp_path / f"{name}.ipynb").write_text((NOTEBOOKS / f"{name}.ipynb").read_text("utf-8"))

    async def body(session: Session) -> None:
        assert session.capabilities is not None
        sync = session.capabilities.notebook_document_sync
        assert sync is not None and sync.save
        client = session.client
        notebook, cells = open_notebook(client, tmp_path / "leak_in_function.ipynb")
        (leak,) = await session.diagnostics(cells[2], lambda d: len(d) == 1)
        assert (leak.code, leak.range.start.line, leak.range.start.character) == ("LL100", 1, 8)
        assert "the return at line 4 skips it" in leak.message
        steps = [(r.location.uri, r.location.range.start.line) for r in leak.related_information]
        assert steps == [(cells[2], 1), (cells[2], 3)]
        for other in (cells[0], cells[1], cells[3]):  # each cell is published on its own
            assert await session.diagnostics(other, lambda d: True) == []

        # a cell added above: the finding stays in its cell, at the cell's line
        mark = session.mark(cells[2])
        new_cell = f"vscode-notebook-cell:{tmp_path / 'leak_in_function.ipynb'}#new"
        client.notebook_document_did_change(lsp.DidChangeNotebookDocumentParams(
            notebook_document=lsp.VersionedNotebookDocumentIdentifier(version=2, uri=notebook),
            change=lsp.NotebookDocumentChangeEvent(cells=lsp.NotebookDocumentCellChanges(
                structure=lsp.NotebookDocumentCellChangeStructure(
                    array=lsp.NotebookCellArrayChange(start=1, delete_count=0, cells=[
                        lsp.NotebookCell(kind=lsp.NotebookCellKind.Code, document=new_cell)]),
                    did_open=[lsp.TextDocumentItem(
                        uri=new_cell, language_id="python", version=1,
                        text="import os\n\nDEBUG = os.environ.get('DEBUG')\n")],
                ),
            )),
        ))
        (moved,) = await session.diagnostics(cells[2], lambda d: len(d) == 1, mark)
        assert (moved.range.start.line, moved.range.start.character) == (1, 8)
        assert await session.diagnostics(new_cell, lambda d: True) == []

        # the cell's leak fixed in the editor: its diagnostic goes
        mark = session.mark(cells[2])
        fixed = ("def load(path):\n    with open(path) as f:\n        if not path.endswith('.json'):\n"
                 "            return None\n        return json.load(f)")
        change_cell(client, notebook, 3, cells[2], fixed)
        assert await session.diagnostics(cells[2], lambda d: True, mark) == []

        other, other_cells = open_notebook(client, tmp_path / "sqlite_with_in_cell.ipynb")
        (found,) = await session.diagnostics(other_cells[2], lambda d: len(d) == 1)
        assert (found.code, found.range.start.line, found.range.start.character) == ("LL110", 0, 5)
        hover = await client.text_document_hover_async(lsp.HoverParams(
            text_document=lsp.TextDocumentIdentifier(other_cells[2]), position=lsp.Position(0, 6)))
        assert hover is not None and "LL110 context-manager-does-not-close" in hover.contents.value
        actions = await client.text_document_code_action_async(lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(other_cells[2]), range=found.range,
            context=lsp.CodeActionContext(diagnostics=[found]),
        ))
        suppress = next(a for a in actions if a.title == "leaklint: suppress LL110 on this line")
        (edit,) = suppress.edit.document_changes
        assert edit.text_document.uri == other_cells[2]
        cell_text = "".join(json.loads(
            (tmp_path / "sqlite_with_in_cell.ipynb").read_text("utf-8"))["cells"][2]["source"])
        quiet = apply(cell_text, suppress.edit)
        assert quiet.splitlines()[0].endswith("as conn:  # noqa: LL110")
        mark = session.mark(other_cells[2])
        change_cell(client, other, 2, other_cells[2], quiet)
        assert await session.diagnostics(other_cells[2], lambda d: True, mark) == []
        mark = session.mark(other_cells[2])  # a save checks (and publishes) at once
        client.notebook_document_did_save(lsp.DidSaveNotebookDocumentParams(
            notebook_document=lsp.NotebookDocumentIdentifier(other)))
        assert await session.diagnostics(other_cells[2], lambda d: True, mark) == []

        mark = session.mark(cells[2])
        client.notebook_document_did_close(lsp.DidCloseNotebookDocumentParams(
            notebook_document=lsp.NotebookDocumentIdentifier(notebook),
            cell_text_documents=[lsp.TextDocumentIdentifier(uri) for uri in [*cells, new_cell]],
        ))
        assert await session.diagnostics(cells[2], lambda d: True, mark) == []

    run_session(body, tmp_path)


def test_notebook_fixes_edit_the_cells(tmp_path: Path) -> None:
    """A quick fix in a cell edits that cell; fix-all edits every cell it fixes, and the
    diagnostics go."""
    cells = [
        "import json\n",
        "def head(path):\n    return open(path).readline()\n",
        "# md\nnotes",
        "def first(path):\n    return open(path).read(1)\n",
    ]
    (tmp_path / "fix.ipynb").write_text(json.dumps({
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": text[5:]} if text.startswith("# md")
            else {"cell_type": "code", "metadata": {}, "source": text, "outputs": [],
                  "execution_count": None}
            for text in cells
        ],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    }))

    async def body(session: Session) -> None:
        client = session.client
        notebook, uris = open_notebook(client, tmp_path / "fix.ipynb")
        (found,) = await session.diagnostics(uris[3], lambda d: len(d) == 1)
        await session.diagnostics(uris[1], lambda d: len(d) == 1)
        actions = await client.text_document_code_action_async(lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(uris[3]), range=found.range,
            context=lsp.CodeActionContext(diagnostics=[found]),
        ))
        quick = next(a for a in actions if a.is_preferred)
        ((edit,),) = [quick.edit.document_changes]
        assert edit.text_document.uri == uris[3]
        assert "with open(path) as" in apply(cells[3], quick.edit)
        (fix_all,) = [a for a in actions if a.kind == "source.fixAll.leaklint"]
        assert fix_all.title == "leaklint: fix all safe leaklint fixes in this notebook"
        edited = {change.text_document.uri for change in fix_all.edit.document_changes}
        assert edited == {uris[1], uris[3]}
        marks = {uri: session.mark(uri) for uri in (uris[1], uris[3])}
        for version, index in enumerate((1, 3), 2):
            change = next(c for c in fix_all.edit.document_changes
                          if c.text_document.uri == uris[index])
            fixed = apply(cells[index], lsp.WorkspaceEdit(document_changes=[change]))
            assert "with open(path) as" in fixed
            change_cell(client, notebook, version, uris[index], fixed)
        for uri in (uris[1], uris[3]):
            assert await session.diagnostics(uri, lambda d: not d, marks[uri]) == []

    run_session(body, tmp_path)


def test_notebook_cells_pulled(tmp_path: Path) -> None:
    """A client that pulls diagnostics asks for each cell's."""
    (tmp_path / "nb.ipynb").write_text((NOTEBOOKS / "leak_in_function.ipynb").read_text("utf-8"))

    async def body(session: Session) -> None:
        notebook, cells = open_notebook(session.client, tmp_path / "nb.ipynb")
        reports = [
            await session.client.text_document_diagnostic_async(lsp.DocumentDiagnosticParams(
                text_document=lsp.TextDocumentIdentifier(cell)))
            for cell in cells
        ]
        assert [codes(report.items) for report in reports] == [[], [], [(2, "LL100")], []]
        del notebook

    run_session(body, tmp_path, pull=True)


def test_readme_editor_snippets_start_the_server_the_tests_start() -> None:
    """Every editor snippet in the README's editor section runs `leaklint server`, the
    command these tests run (as `python -m leaklint server`)."""
    text = README.read_text("utf-8")
    section = text.split("## Editors", 1)[1].split("\n## ", 1)[0]
    for editor in ("VS Code", "Neovim", "Helix", "Emacs"):
        assert editor in section, editor
    blocks = re.findall(r"```(\w+)\n(.*?)```", section, re.DOTALL)
    assert len(blocks) >= 4
    for language, block in blocks:
        if language in ("json", "jsonc"):
            settings = json.loads(re.sub(r"//.*", "", block))
            assert _commands(settings), settings
            assert all(command == COMMAND for command in _commands(settings))
        elif language != "sh":
            assert re.search(r'"leaklint",?\s+"server"|command = "leaklint"\nargs = \["server"\]', block), block


def _commands(value: Any) -> list[list[str]]:
    found = []
    if isinstance(value, dict):
        if value.get("command") == "leaklint":
            found.append(["leaklint", *value.get("args", [])])
        for item in value.values():
            found += _commands(item)
    elif isinstance(value, list):
        for item in value:
            found += _commands(item)
    return found
