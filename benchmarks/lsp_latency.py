"""How long `leaklint server` takes to publish diagnostics for a 1,000-line file after a
change (issue 26's target: 150 ms after warm-up, the server's 50 ms debounce included).

    python benchmarks/lsp_latency.py [--lines 1000] [--changes 20] [--edit end|function|def]

A real client (pygls's) starts `python -m leaklint server` over stdio, opens a generated
module of N lines (functions that open files, sockets and connections, some leaking),
warms up with a few edits, then makes one edit at a time and measures from sending
`didChange` to receiving the `publishDiagnostics` of that version. The edit: a line of
module-level code added at the end (``end``), a line added inside a function in the
middle of the module, which moves every line below it (``function``), or a new function
at the end, which changes the module's summary (``def``). The server is the
``leaklint`` Python imports (``PYTHONPATH=<checkout>`` measures another checkout).
Besides the wall clock, the server process's CPU time (user + system, from /proc) between
sending a change and receiving its diagnostics: what the machine's load does not inflate.
Not a test: prints the numbers."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

UNIT = '''\
def read_{n}(path):
    f = open(path)
    if not path:
        return None
    data = f.read()
    f.close()
    return data


def head_{n}(path):
    with open(path) as f:
        return f.readline()


def talk_{n}(host):
    sock = socket.create_connection((host, 80))
    try:
        sock.sendall(b"x")
    finally:
        sock.close()


'''


def module(lines: int) -> str:
    out = ["import socket\n", "\n", "\n"]
    n = 0
    while sum(part.count("\n") for part in out) < lines:
        out.append(UNIT.format(n=n))
        n += 1
    return "".join(out)


def edited(text: str, version: int, edit: str) -> str:
    """``text`` after edit number ``version`` (see the module's docstring)."""
    if edit == "end":
        return text + f"X_{version} = {version}\n"
    if edit == "def":
        return text + f"\n\ndef added_{version}(path):\n    with open(path) as f:\n        return f.read()\n"
    at = text.find("    data = f.read()\n", len(text) // 2)
    return text[:at] + f"    n_{version} = len(path)\n" + text[at:]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(
    lines: int, changes: int, warm: int, edit: str = "end"
) -> tuple[list[float], list[float]]:
    """Wall-clock and server CPU seconds from each change to its diagnostics."""
    client = LanguageClient("latency", "1")
    arrived: dict[int, float] = {}
    event = asyncio.Event()

    @client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def published(params: lsp.PublishDiagnosticsParams) -> None:
        if params.version is not None:
            arrived.setdefault(params.version, time.perf_counter())
        event.set()

    folder = Path(tempfile.mkdtemp())
    path = folder / "big.py"
    text = module(lines)
    path.write_text(text)
    await client.start_io(sys.executable, "-m", "leaklint", "server", cwd=str(folder))
    await client.initialize_async(lsp.InitializeParams(capabilities=lsp.ClientCapabilities()))
    client.initialized(lsp.InitializedParams())
    uri = from_fs_path(str(path))
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        lsp.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
    ))
    times = []
    cpu = []
    pid = client._server.pid if client._server is not None else 0
    try:
        for version in range(2, 2 + warm + changes):
            text = edited(text, version, edit)
            sent = time.perf_counter()
            used = cpu_seconds(pid)
            client.text_document_did_change(lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)],
            ))
            while version not in arrived:
                event.clear()
                await asyncio.wait_for(event.wait(), 60)
            if version >= 2 + warm:
                times.append(arrived[version] - sent)
                cpu.append(cpu_seconds(pid) - used)
            await asyncio.sleep(0.2)  # the next edit comes after this one's diagnostics
    finally:
        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()
    return times, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--warm", type=int, default=3)
    parser.add_argument("--edit", choices=("end", "function", "def"), default="end")
    args = parser.parse_args()
    times, cpu = asyncio.run(measure(args.lines, args.changes, args.warm, args.edit))
    ms = sorted(t * 1000 for t in times)
    print(
        f"{args.lines} lines, edit {args.edit}, {len(ms)} changes after {args.warm} to warm up: "
        f"median {statistics.median(ms):.0f} ms, p90 {ms[int(len(ms) * 0.9) - 1]:.0f} ms, "
        f"min {ms[0]:.0f} ms, max {ms[-1]:.0f} ms (debounce 50 ms included); "
        f"server CPU median {statistics.median(cpu) * 1000:.0f} ms; "
        f"load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
