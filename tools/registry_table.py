"""The README's coverage table, made from the registry (``leaklint/resources.toml``).

One row per package (the top-level module of its entries): the factories and methods that
acquire, what releases them, whether ``with`` closes, and where the claim comes from.

Usage: ``python tools/registry_table.py`` prints the table; ``--write`` puts it into
README.md between its markers; ``--check`` exits 1 when the README's copy is stale.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from leaklint.resources import Resource, builtin_registry  # noqa: E402

README = ROOT / "README.md"
START = "<!-- registry-table:start (python tools/registry_table.py --write) -->"
END = "<!-- registry-table:end -->"


#: Releases that are attribute reads, not calls (a requests response's ``.content`` reads it
#: to its end): shown as ``.content``.
_ATTRIBUTE_READS = frozenset({"content", "text"})

def _release(resource: Resource) -> str:
    if resource.return_to:
        return "given back: " + ", ".join(f"`{m}()`" for m in resource.return_to)
    how = ", ".join(
        f"`.{m}`" if m in _ATTRIBUTE_READS else f"`{m.removesuffix('()')}()`"
        for m in resource.release
    )
    if resource.kind == "file descriptor":
        how = "`os.close(fd)`"
    return ("await " if resource.is_async and resource.awaited_release else "") + how


def table() -> str:
    rows: dict[str, list[Resource]] = defaultdict(list)
    for name, resource in sorted(builtin_registry().by_name.items()):
        if resource.tracked:
            rows[name.split(".", 1)[0]].append(resource)
    stdlib = set(sys.stdlib_module_names) | {"builtins"}
    lines = [
        f"{len(rows)} packages, {sum(map(len, rows.values()))} acquiring entries "
        f"({sum(1 for p in rows if p not in stdlib)} third-party packages).",
        "",
        "| package | acquires (entry: released by) | `with` closes | source |",
        "|---|---|---|---|",
    ]
    for package in sorted(rows, key=lambda p: (p not in stdlib, p.lower())):
        entries = rows[package]
        acquired = "; ".join(
            f"`{r.qualname}`" + (f"[{','.join(map(str, r.unpack))}]" if r.unpack else "")
            + f": {_release(r)}"
            for r in entries
        )
        closes = "no: " + entries[0].cm_effect if any(not r.cm_closes for r in entries) else "yes"
        sources = sorted({r.source.split(" ")[0].rstrip(",") for r in entries if r.source})
        where = "standard library" if package in stdlib else ", ".join(sources) or "-"
        lines.append(f"| {package} | {acquired} | {closes} | {where} |")
    return "\n".join(lines) + "\n"


def readme_section(text: str) -> str:
    start, end = text.index(START) + len(START), text.index(END)
    return text[start:end].strip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    made = table()
    text = README.read_text(encoding="utf-8")
    if args.check:
        if readme_section(text) != made:
            print("README.md's registry table is stale: python tools/registry_table.py --write",
                  file=sys.stderr)
            return 1
        return 0
    if args.write:
        start, end = text.index(START) + len(START), text.index(END)
        README.write_text(text[:start] + "\n" + made + text[end:], encoding="utf-8")
    else:
        sys.stdout.write(made)
    return 0


if __name__ == "__main__":
    sys.exit(main())
