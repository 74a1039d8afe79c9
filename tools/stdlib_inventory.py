"""List every class and function of the running CPython's standard library that hands out
an OS-level resource, derived from the sources (``ast``), and account for each one.

What counts, found by following the code:

* a **class** whose ``close()``, ``__exit__``, ``__del__`` (or a method they call on
  ``self``, or a base class of the same module) closes a descriptor, socket, process,
  mapping or handle: ``os.close(...)``, ``self._sock.close()``, ``self._file.close()``,
  ``_winapi.CloseHandle``, ``self._proc.wait()``, ``shutil.rmtree`` ...; or whose
  ``__del__`` emits ``ResourceWarning``; and every subclass of such a class;
* a **function** (module level, or a method of a public class) whose ``return`` gives back
  a call to one of those, or to a C-implemented factory (``os.open``, ``os.pipe``,
  ``socket.socket``...: ``C_FACTORIES`` in the data file), also inside a tuple
  (``return fd, name``: the index is recorded), or a local bound from one.

Every item is then either in leaklint's registry (``leaklint/resources.toml``; the entry is
named) or in ``tools/stdlib_not_resources.toml`` with a reason; anything else is printed as
UNACCOUNTED and the script exits 1.

Usage: ``python tools/stdlib_inventory.py [--output tools/stdlib_inventory.md] [--check]``
(``--check``: compare with the committed output instead of writing it).
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).with_name("stdlib_not_resources.toml")
OUTPUT = Path(__file__).with_name("stdlib_inventory.md")
REGISTRY = ROOT / "leaklint" / "resources.toml"

#: Folders of the stdlib that are not library code a user imports.
SKIPPED_DIRS = frozenset(
    {"test", "tests", "idle_test", "site-packages", "turtledemo", "__phello__", "lib2to3",
     "ensurepip", "venv", "pydoc_data"}
)

#: Calls that give back an OS-level thing, by their last name, on any receiver:
#: ``os.close(fd)``, ``self._sock.close()``, ``_winapi.CloseHandle(h)``.
CLOSING_FUNCTIONS = frozenset(
    {"os.close", "_os.close", "posix.close", "os.closerange", "_winapi.CloseHandle",
     "_overlapped.CloseHandle", "CloseHandle", "shutil.rmtree", "_shutil.rmtree", "_rmtree",
     "os.waitpid", "_os.waitpid", "os.kill", "os.rmdir", "_os.rmdir", "os.unlink", "_os.unlink",
     "_close", "_os_close"}
)
#: Methods that, called on an attribute of self (or on a local taken from one), release what
#: that attribute holds.
CLOSING_METHODS = frozenset(
    {"close", "terminate", "kill", "wait", "shutdown", "detach", "cleanup", "server_close",
     "Close", "_close", "_real_close", "disconnect", "unlink", "aclose"}
)
#: Words of a self-attribute that hold an OS-level thing (the attribute ``self._sock``,
#: ``self.fp``, ``self._file``, ``self._proc``, ``self._handle``, ``self._fd``...).
HOLDER_WORDS = (
    "sock", "socket", "file", "fp", "fd", "fileobj", "stream", "proc", "process", "popen",
    "handle", "pipe", "mmap", "map", "conn", "connection", "selector", "server", "transport",
    "fh", "fo", "f", "db", "dir", "name", "pool", "executor", "fobj", "stdin", "stdout",
    "stderr", "reader", "writer", "ssock", "csock", "listener", "child", "closer", "tarfile",
    "zipfile", "archive", "buffer", "raw", "source", "sink", "dest", "logfile", "out", "inp",
    "ssl", "sslobj", "wakeup", "epoll", "kqueue", "poll", "devpoll", "loop", "signal",
)


@dataclass
class Item:
    qualname: str
    what: str  # "class" | "function" | "method"
    evidence: str
    unpack: tuple[int, ...] = ()
    account: str = ""


@dataclass
class ModuleInfo:
    name: str
    tree: ast.Module
    imports: dict[str, str] = field(default_factory=dict)  # local name -> qualified
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)


def stdlib_modules(stdlib: Path) -> Iterator[tuple[str, Path]]:
    for path in sorted(stdlib.rglob("*.py")):
        rel = path.relative_to(stdlib)
        if any(part in SKIPPED_DIRS for part in rel.parts[:-1]):
            continue
        if rel.parts[-1].startswith("test_") or not all(p.isidentifier() for p in rel.with_suffix("").parts):
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if parts:
            yield ".".join(parts), path


def load(name: str, path: Path) -> ModuleInfo | None:
    try:
        tree = ast.parse(path.read_bytes(), str(path))
    except (SyntaxError, ValueError):
        return None
    info = ModuleInfo(name, tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                info.imports[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")
                parent = parent[: len(parent) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            for alias in node.names:
                if alias.name != "*":
                    info.imports[alias.asname or alias.name] = f"{base}.{alias.name}"
    for node in _top_level(tree.body):
        if isinstance(node, ast.ClassDef):
            info.classes.setdefault(node.name, node)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            info.functions.setdefault(node.name, node)
    return info


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements of the module, those under a top-level ``if``/``try`` included (the
    POSIX ``TemporaryFile``, the selectors each platform has)."""
    for node in body:
        if isinstance(node, ast.If):
            yield from _top_level(node.body)
            yield from _top_level(node.orelse)
        elif isinstance(node, ast.Try):
            yield from _top_level(node.body)
            yield from _top_level(node.orelse)
            for handler in node.handlers:
                yield from _top_level(handler.body)
        else:
            yield node


def dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = dotted(node.value)
        return f"{inner}.{node.attr}" if inner else None
    return None


def resolve(info: ModuleInfo, name: str | None) -> str | None:
    """A name as the module sees it, qualified: ``socket`` -> ``socket.socket`` in socket.py."""
    if not name:
        return None
    head, _, rest = name.partition(".")
    if head in info.imports:
        base = info.imports[head]
    elif head in info.classes or head in info.functions:
        base = f"{info.name}.{head}"
    elif head in ("open",) and not rest:
        return f"builtins.{head}"
    else:
        return None
    return f"{base}.{rest}" if rest else base


def _holds_os_thing(attr: str) -> bool:
    words = attr.strip("_").lower().replace("__", "_").split("_")
    return any(word in HOLDER_WORDS for word in words) or attr.strip("_").lower() in HOLDER_WORDS


def _self_attr(node: ast.expr, self_name: str) -> str | None:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == self_name:
        return node.attr
    return None


def method_evidence(func: ast.FunctionDef | ast.AsyncFunctionDef, info: ModuleInfo) -> tuple[str | None, set[str]]:
    """What this method closes (a short text) and the self methods it calls."""
    self_name = func.args.args[0].arg if func.args.args else "self"
    locals_from_self: dict[str, str] = {}
    calls: set[str] = set()
    found: str | None = None
    for node in ast.walk(func):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            attr = _self_attr(node.value, self_name)
            if attr:
                locals_from_self[node.targets[0].id] = attr
        if isinstance(node, ast.Name) and node.id == "ResourceWarning":
            found = found or "warns ResourceWarning"
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func)
        if name is None:
            continue
        if name in CLOSING_FUNCTIONS or name.rsplit(".", 1)[-1] in ("CloseHandle",):
            found = found or f"calls {name}()"
            continue
        head, _, last = name.rpartition(".")
        if head == self_name and last:
            calls.add(last)
            continue
        if head == "super()" or (isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Call)
                                 and isinstance(node.func.value.func, ast.Name) and node.func.value.func.id == "super"):
            calls.add(f"super:{node.func.attr}")
            continue
        if last in CLOSING_METHODS and isinstance(node.func, ast.Attribute):
            receiver = node.func.value
            attr = _self_attr(receiver, self_name)
            if attr is None and isinstance(receiver, ast.Name):
                attr = locals_from_self.get(receiver.id)
            if attr is not None and _holds_os_thing(attr):
                found = found or f"calls self.{attr}.{last}()"
    return found, calls


def class_bases(info: ModuleInfo, node: ast.ClassDef) -> list[str]:
    return [b for b in (resolve(info, dotted(base)) for base in node.bases) if b]


def find_resource_classes(modules: dict[str, ModuleInfo], c_factories: dict[str, list[int]]) -> dict[str, Item]:
    items: dict[str, Item] = {}
    bases_of: dict[str, list[str]] = {}
    for info in modules.values():
        for cname, cnode in info.classes.items():
            qual = f"{info.name}.{cname}"
            bases_of[qual] = class_bases(info, cnode)
            methods = {
                n.name: n for n in cnode.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            }
            memo: dict[str, str | None] = {}

            def closes(mname: str, depth: int = 0) -> str | None:
                if mname in memo or depth > 4:
                    return memo.get(mname)
                memo[mname] = None
                method = methods.get(mname)
                if method is None:
                    return None
                found, called = method_evidence(method, info)
                for other in sorted(called):
                    if found:
                        break
                    if not other.startswith("super:"):
                        inner = closes(other, depth + 1)
                        found = f"{mname}() -> {inner}" if inner else None
                memo[mname] = found
                return found

            for entry in ("close", "__exit__", "__aexit__", "__del__", "aclose", "cleanup",
                          "server_close", "shutdown", "terminate", "release"):
                found = closes(entry)
                if found:
                    evidence = found if found.startswith(entry) else f"{entry}(): {found}"
                    items[qual] = Item(qual, "class", evidence)
                    break
    # subclasses inherit it (to a fixed point), within the stdlib
    changed = True
    while changed:
        changed = False
        for qual, bases in bases_of.items():
            if qual in items:
                continue
            parent = next((b for b in bases if b in items or b in c_factories), None)
            if parent:
                items[qual] = Item(qual, "class", f"subclass of {parent}")
                changed = True
    return items


def _returned_values(func: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[ast.expr]:
    stack: list[ast.AST] = list(func.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Return) and node.value is not None:
            yield node.value
        stack.extend(ast.iter_child_nodes(node))


def _bindings(func: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, list[ast.expr]]:
    out: dict[str, list[ast.expr]] = {}
    for node in ast.walk(func):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    out.setdefault(target.id, []).append(node.value)
                elif isinstance(target, ast.Tuple):
                    for index, elt in enumerate(target.elts):
                        if isinstance(elt, ast.Name):
                            out.setdefault(elt.id, []).append(
                                ast.Subscript(value=node.value, slice=ast.Constant(index), ctx=ast.Load())
                            )
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if isinstance(item.optional_vars, ast.Name):
                    # ``with open() as f: return f`` would be closed: not a factory
                    out.setdefault(item.optional_vars.id, []).append(ast.Constant(None))
    return out


def producer_of(value: ast.expr, info: ModuleInfo, producers: dict[str, Item],
                binds: dict[str, list[ast.expr]], depth: int = 0) -> str | None:
    """The producer a returned value comes from, if any (following local bindings)."""
    if depth > 3:
        return None
    if isinstance(value, ast.Await):
        value = value.value
    if isinstance(value, ast.Call):
        name = resolve(info, dotted(value.func))
        if name in producers:
            return name
        return None
    if isinstance(value, ast.Subscript) and isinstance(value.slice, ast.Constant):
        inner = producer_of(value.value, info, producers, binds, depth + 1)
        if inner and producers[inner].unpack and value.slice.value in producers[inner].unpack:
            return inner
        return None
    if isinstance(value, ast.Name) and value.id in binds:
        for bound in binds[value.id]:
            found = producer_of(bound, info, producers, binds, depth + 1)
            if found:
                return found
    return None


def find_factories(modules: dict[str, ModuleInfo], classes: dict[str, Item],
                   c_factories: dict[str, list[int]]) -> dict[str, Item]:
    producers: dict[str, Item] = dict(classes)
    for name, unpack in c_factories.items():
        producers[name] = Item(name, "function", "C-implemented", tuple(unpack))
    found: dict[str, Item] = {}
    facts: dict[int, tuple[dict[str, list[ast.expr]], list[ast.expr]]] = {}
    changed = True
    while changed:
        changed = False
        for info in modules.values():
            owners: list[tuple[str, dict[str, ast.FunctionDef | ast.AsyncFunctionDef]]] = [
                (info.name, info.functions)
            ]
            for cname, cnode in info.classes.items():
                if cname.startswith("_"):
                    continue
                owners.append((f"{info.name}.{cname}", {
                    n.name: n for n in cnode.body
                    if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and not (n.name.startswith("_") and n.name not in ("__call__",))
                }))
            for owner, funcs in owners:
                for fname, func in funcs.items():
                    qual = f"{owner}.{fname}"
                    if qual in found or qual in producers:
                        continue
                    if id(func) not in facts:
                        facts[id(func)] = (_bindings(func), list(_returned_values(func)))
                    binds, returned = facts[id(func)]
                    if not returned:
                        continue
                    for value in returned:
                        if isinstance(value, ast.Tuple):
                            indexes = [i for i, elt in enumerate(value.elts)
                                       if producer_of(elt, info, producers, binds)]
                            if indexes:
                                source = producer_of(value.elts[indexes[0]], info, producers, binds)
                                item = Item(qual, "method" if owner != info.name else "function",
                                            f"returns a tuple holding {source}() at {indexes}",
                                            tuple(indexes))
                                break
                            continue
                        source = producer_of(value, info, producers, binds)
                        if source:
                            item = Item(qual, "method" if owner != info.name else "function",
                                        f"returns {source}()", producers[source].unpack)
                            break
                    else:
                        continue
                    found[qual] = item
                    producers[qual] = item
                    changed = True
    return found


def account(items: list[Item], registry: dict[str, dict], data: dict) -> None:
    aliases: dict[str, str] = data.get("registered-as", {})
    reasons: dict[str, str] = data.get("not-a-resource", {})
    for item in items:
        target = aliases.get(item.qualname, item.qualname)
        if target in registry:
            item.account = f"registry: `{target}`"
            continue
        reason = reasons.get(item.qualname)
        if reason is None:
            reason = next(
                (why for pattern, why in reasons.items()
                 if any(ch in pattern for ch in "*?[") and fnmatch.fnmatchcase(item.qualname, pattern)),
                None,
            )
        item.account = f"not a resource: {reason}" if reason else "UNACCOUNTED"


def inventory(stdlib: Path | None = None) -> list[Item]:
    stdlib = stdlib or Path(sysconfig.get_paths()["stdlib"])
    data = tomllib.loads(DATA.read_text(encoding="utf-8"))
    registry = tomllib.loads(REGISTRY.read_text(encoding="utf-8"))["resources"]
    modules = {}
    for name, path in stdlib_modules(stdlib):
        info = load(name, path)
        if info is not None:
            modules[name] = info
    c_factories = {name: list(v) for name, v in data.get("c-factories", {}).items()}
    classes = find_resource_classes(modules, c_factories)
    functions = find_factories(modules, classes, c_factories)
    items = sorted([*classes.values(), *functions.values()], key=lambda i: i.qualname)
    for name, unpack in sorted(c_factories.items()):
        items.append(Item(name, "function", "named in the data file (C code, or a method the walk cannot follow)", tuple(unpack)))
    account(items, registry, data)
    return items


def render(items: list[Item]) -> str:
    in_registry = sum(i.account.startswith("registry") for i in items)
    not_resource = sum(i.account.startswith("not a resource") for i in items)
    lines = [
        "# The standard library's resources",
        "",
        f"Generated by `python tools/stdlib_inventory.py` from CPython "
        f"{sys.version_info.major}.{sys.version_info.minor}'s sources; do not edit.",
        "",
        f"{len(items)} items: {in_registry} in leaklint's registry, {not_resource} not a "
        f"resource (reasons in `tools/stdlib_not_resources.toml`), "
        f"{len(items) - in_registry - not_resource} unaccounted.",
        "",
        "| item | what | evidence | accounted |",
        "|---|---|---|---|",
    ]
    for item in items:
        unpack = f" (tuple {list(item.unpack)})" if item.unpack else ""
        evidence = item.evidence.replace("|", "\\|")
        lines.append(f"| `{item.qualname}` | {item.what}{unpack} | {evidence} | {item.account} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="compare with the committed output")
    args = parser.parse_args(argv)
    items = inventory()
    text = render(items)
    missing = [i.qualname for i in items if i.account == "UNACCOUNTED"]
    for name in missing:
        print(f"UNACCOUNTED: {name}", file=sys.stderr)
    if args.check:
        if args.output.read_text(encoding="utf-8") != text:
            print(f"{args.output} is stale: run python tools/stdlib_inventory.py", file=sys.stderr)
            return 1
    else:
        args.output.write_text(text, encoding="utf-8")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
