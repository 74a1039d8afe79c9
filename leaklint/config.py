"""``[tool.leaklint]`` in ``pyproject.toml`` → one frozen, picklable ``Config``."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leaklint._toml import tomllib
from leaklint.resources import (
    Registry,
    RegistryError,
    Resource,
    builtin_registry,
    resource_from_entry,
)

if TYPE_CHECKING:
    import pathspec

#: As ruff's defaults: tool and environment folders, never the project's own code.
DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".hg",
    ".leaklint_cache",
    ".mypy_cache",
    ".nox",
    ".pytest_cache",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".venv",
    "__pycache__",
    "__pypackages__",
    "_build",
    "buck-out",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
)

_KNOWN_KEYS = {
    "extend",
    "select",
    "ignore",
    "extend-select",
    "extend-ignore",
    "per-file-ignores",
    "exclude",
    "extend-exclude",
    "resources",
    "max-file-size-mb",
    "analysis-timeout",
    "max-memory-mb",
    "strict",
}

#: The watchdog's budget per file (``leaklint.pool``). The standard library's slowest file
#: takes 1.3 s of CPU to check (pydoc_data/topics.py) and libcst's parse of its most
#: memory-hungry one grows a process by 173 MB (test/test_typing.py): both defaults are more
#: than ten times that, so no ordinary file meets them.
DEFAULT_ANALYSIS_TIMEOUT = 60.0
DEFAULT_MAX_MEMORY_MB = 2048
#: Files larger than this are not read (LL900). Measured libcst parse growth per MB of
#: source: 0.19 GB (topics.py, long strings) to 0.6 GB (dense code, test_typing.py), 2.1 GB
#: for a list literal of digits. Above 10 MB even the sparsest measured file would exceed the
#: memory budget (2048 / 185 = 11 MB), so it is refused unread; below, the watchdog decides.
DEFAULT_MAX_FILE_SIZE_MB = 10


class ConfigError(ValueError):
    """A configuration problem, reported as one line and exit code 2."""


@dataclass(frozen=True, slots=True)
class Config:
    select: tuple[str, ...] = ("LL",)
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDES
    extend_exclude: tuple[str, ...] = ()
    resources: tuple[Resource, ...] = ()
    #: (gitignore-style pattern, codes or prefixes, the folder the pattern is relative to:
    #: ``root``, or the folder of the file an ``extend`` chain took it from)
    per_file_ignores: tuple[tuple[str, tuple[str, ...], str], ...] = ()
    source: str | None = None  # the configuration file it came from (the nearest of a chain)
    root: str = field(default_factory=os.getcwd)
    max_file_size_mb: int = DEFAULT_MAX_FILE_SIZE_MB
    #: a file whose analysis takes longer (seconds) or grows its worker by more (MB) is
    #: stopped: one LL900 line (``leaklint.pool``); 0 is no limit
    analysis_timeout: float = DEFAULT_ANALYSIS_TIMEOUT
    max_memory_mb: int = DEFAULT_MAX_MEMORY_MB
    #: report every exception path, also through calls that only fail on a caller's error
    #: (``ownership.NON_RAISING_FUNCTIONS``/``NON_RAISING_METHODS``)
    strict: bool = False

    @property
    def max_file_bytes(self) -> int:
        return self.max_file_size_mb * 2**20

    @property
    def registry(self) -> Registry:
        return _registry_with(self.resources)

    @property
    def excludes(self) -> tuple[str, ...]:
        return self.exclude + self.extend_exclude

    def enabled(self, code: str) -> bool:
        """Longest matching prefix wins; on a tie ``ignore`` wins (as in ruff and flake8)."""
        selected = max((len(p) for p in self.select if code.startswith(p)), default=-1)
        ignored = max((len(p) for p in self.ignore if code.startswith(p)), default=-1)
        return selected >= 0 and selected > ignored

    def enabled_for(self, code: str, path: str) -> bool:
        """``enabled`` and not silenced for ``path`` by ``per-file-ignores``."""
        if not self.enabled(code):
            return False
        if not self.per_file_ignores:
            return True
        return not any(
            code.startswith(prefix)
            for pattern, codes, base in self.per_file_ignores
            if _pattern(pattern).match_file(_relative_to(path, base or self.root))
            for prefix in codes
        )

    def excluded(self, path: str) -> bool:
        """Does ``exclude``/``extend-exclude`` match ``path`` (relative to ``root``) or a
        folder it is in? What ``--force-exclude`` asks of a file named on the command line."""
        relative = _relative_to(path, self.root)
        spec = exclude_spec(self.excludes)
        parts = relative.split("/")
        return any(
            spec.match_file("/".join(parts[: i + 1]) + ("/" if i + 1 < len(parts) else ""))
            for i in range(len(parts))
        )

    def with_codes(self, select: Iterable[str] | None, ignore: Iterable[str] | None) -> Config:
        """The command line's ``--select``/``--ignore`` replace the file's."""
        changed = self
        if select is not None:
            changed = replace(changed, select=validate_codes(select, "--select"))
        if ignore is not None:
            changed = replace(changed, ignore=validate_codes(ignore, "--ignore"))
        return changed


def _relative_to(path: str, root: str) -> str:
    """``path`` as a posix path below ``root`` if it is there, else as given."""
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute, root)
    except ValueError:  # another drive on Windows
        relative = absolute
    if relative.startswith(".."):
        relative = os.path.normpath(path)
    return Path(relative).as_posix()


@lru_cache(maxsize=256)
def _pattern(pattern: str) -> pathspec.GitIgnoreSpec:
    import pathspec  # here: 50 ms to import, and only per-file ignores need it

    return pathspec.GitIgnoreSpec.from_lines([pattern])


@lru_cache(maxsize=32)
def exclude_spec(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(patterns)


@lru_cache(maxsize=8)
def _registry_with(resources: tuple[Resource, ...]) -> Registry:
    return builtin_registry().extended(resources)


def validate_codes(codes: Iterable[str], where: str) -> tuple[str, ...]:
    """Each must be a code or a prefix of one (``LL``, ``LL1``, ``LL100``)."""
    from leaklint.rules import ALL_RULES

    known = [rule.code for rule in ALL_RULES]
    out = []
    for raw in codes:
        code = raw.strip().upper()
        if not code:
            continue
        if code == "ALL":
            code = "LL"
        if not any(k.startswith(code) for k in known):
            raise ConfigError(f"{where}: unknown rule code or prefix {raw!r}")
        out.append(code)
    return tuple(out)


#: The files that can hold leaklint's configuration, in the order they are preferred when a
#: folder has several (as ruff: ``.ruff.toml``, ``ruff.toml``, ``pyproject.toml``).
CONFIG_NAMES = (".leaklint.toml", "leaklint.toml", "pyproject.toml")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror or err}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from None


def _table_of(path: Path, data: dict[str, Any]) -> dict[str, Any] | None:
    """The leaklint table of a configuration file; None for a pyproject.toml without one."""
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("leaklint") if isinstance(data.get("tool"), dict) else None
        return table if table is not None else None
    tool = data.get("tool")
    if isinstance(tool, dict) and "leaklint" in tool and not set(data) - {"tool"}:
        return tool["leaklint"]  # a leaklint.toml written as [tool.leaklint]
    return data


def config_file_in(folder: Path) -> Path | None:
    """The configuration file of ``folder`` itself, if it has one. A ``pyproject.toml`` that
    is not valid TOML is an error (``ConfigError``), as in ruff: its ``[tool.leaklint]`` table
    cannot be known, and silently using another configuration would be worse."""
    for name in CONFIG_NAMES:
        candidate = folder / name
        if not candidate.is_file():
            continue
        if name != "pyproject.toml":
            return candidate
        if _table_of(candidate, _read_toml(candidate)) is not None:
            return candidate
    return None


def find_config(start: Path) -> Path | None:
    """The nearest configuration file at or above ``start`` (a folder)."""
    start = start.resolve()
    for folder in (start, *start.parents):
        found = config_file_in(folder)
        if found is not None:
            return found
    return None


def find_pyproject(start: Path) -> Path | None:
    """Kept for callers of the first API: ``find_config``."""
    return find_config(start)


def load_config(path: Path | None = None, start: Path | None = None) -> Config:
    """Read ``path`` (``--config``), or the nearest configuration at or above ``start``
    (default: the working folder); no file: the defaults, rooted in the working folder."""
    if path is None:
        path = find_config(start or Path.cwd())
        if path is None:
            return Config(root=os.path.realpath(os.getcwd()))
    return _load_chain(Path(path), ())


def _load_chain(path: Path, seen: tuple[str, ...]) -> Config:
    """``path``'s configuration on top of the one its ``extend`` names (relative to its
    folder), and so on up the chain; a chain that comes back to a file is an error."""
    real = os.path.realpath(path)
    if real in seen:
        chain = " -> ".join([*seen, real])
        raise ConfigError(f"{path}: 'extend' goes round in a circle: {chain}")
    table = _table_of(path, _read_toml(path))
    if table is None:
        raise ConfigError(f"{path}: has no [tool.leaklint] table")
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.leaklint] must be a table")
    base: Config | None = None
    extend = table.get("extend")
    if extend is not None:
        if not isinstance(extend, str):
            raise ConfigError(f"{path}: [tool.leaklint]: 'extend' must be a path (a string)")
        parent = Path(os.path.expanduser(extend))
        parent = parent if parent.is_absolute() else path.parent / parent
        if not parent.is_file():
            raise ConfigError(f"{path}: [tool.leaklint]: 'extend': no file {str(parent)!r}")
        base = _load_chain(parent, (*seen, real))
    return config_from_table(table, str(path), base)


def config_from_table(table: Any, origin: str, base: Config | None = None) -> Config:
    """The configuration ``table`` (from ``origin``) says, on top of ``base`` (what the file
    it extends says; default: the defaults). ``select``/``ignore``/``exclude`` replace the
    base's, the ``extend-*`` keys add to them, per-file ignores and resources add to the
    base's (a pattern or a resource named again replaces it)."""
    if not isinstance(table, dict):
        raise ConfigError(f"{origin}: [tool.leaklint] must be a table")
    unknown = sorted(set(table) - _KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"{origin}: [tool.leaklint]: unknown key {unknown[0]!r}")

    def strings(key: str) -> tuple[str, ...] | None:
        if key not in table:
            return None
        value = table[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{origin}: [tool.leaklint]: {key!r} must be a list of strings")
        return tuple(value)

    root = str(Path(origin).resolve().parent)
    config = replace(base or Config(), source=origin, root=root)
    for key, name, adds in (
        ("select", "select", False),
        ("extend-select", "select", True),
        ("ignore", "ignore", False),
        ("extend-ignore", "ignore", True),
    ):
        codes = strings(key)
        if codes is not None:
            valid = validate_codes(codes, f"{origin}: {key}")
            config = replace(config, **{name: (getattr(config, name) if adds else ()) + valid})
    exclude = strings("exclude")
    if exclude is not None:
        config = replace(config, exclude=exclude)
    extend_exclude = strings("extend-exclude")
    if extend_exclude is not None:
        config = replace(config, extend_exclude=config.extend_exclude + extend_exclude)
    if "max-file-size-mb" in table:
        size = table["max-file-size-mb"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ConfigError(
                f"{origin}: [tool.leaklint]: 'max-file-size-mb' must be a whole number, 1 or more"
            )
        config = replace(config, max_file_size_mb=size)
    if "strict" in table:
        if not isinstance(table["strict"], bool):
            raise ConfigError(f"{origin}: [tool.leaklint]: 'strict' must be true or false")
        config = replace(config, strict=table["strict"])
    for key, name, kinds in (
        ("analysis-timeout", "analysis_timeout", (int, float)),
        ("max-memory-mb", "max_memory_mb", (int,)),
    ):
        if key in table:
            value = table[key]
            if not isinstance(value, kinds) or isinstance(value, bool) or not 0 <= value < 1e9:
                what = "a number of seconds" if float in kinds else "a whole number of MB"
                raise ConfigError(f"{origin}: [tool.leaklint]: {key!r} must be {what}, 0 for no limit")
            config = replace(config, **{name: value})
    per_file = table.get("per-file-ignores", {})
    if not isinstance(per_file, dict):
        raise ConfigError(
            f"{origin}: [tool.leaklint]: 'per-file-ignores' must be a table of pattern = [codes]"
        )
    own = {}
    for pattern, codes in per_file.items():
        key = f"per-file-ignores.{pattern!r}"
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise ConfigError(f"{origin}: [tool.leaklint]: {key} must be a list of strings")
        own[pattern] = (pattern, validate_codes(codes, f"{origin}: {key}"), root)
    inherited = tuple(
        # a base's pattern stays relative to the folder of the file that wrote it
        (pattern, codes, where or (base.root if base else root))
        for pattern, codes, where in config.per_file_ignores
        if pattern not in own
    )
    config = replace(config, per_file_ignores=inherited + tuple(own.values()))
    resources = table.get("resources", {})
    if not isinstance(resources, dict):
        raise ConfigError(f"{origin}: [tool.leaklint.resources] must be a table")
    try:
        extra = tuple(
            resource_from_entry(name, entry, f"{origin}: [tool.leaklint]")
            for name, entry in resources.items()
        )
    except RegistryError as err:
        raise ConfigError(str(err)) from None
    names = {resource.qualname for resource in extra}
    kept = tuple(r for r in config.resources if r.qualname not in names)
    return replace(config, resources=kept + extra)


@dataclass(frozen=True, slots=True)
class Overrides:
    """What the command line says on top of every file's configuration."""

    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] | None = None
    extend_ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] | None = None
    extend_exclude: tuple[str, ...] = ()
    analysis_timeout: float | None = None
    max_memory_mb: int | None = None
    strict: bool | None = None  # --strict / --no-strict
    #: ``--config 'key = value'`` settings, as one [tool.leaklint] table
    table: tuple[tuple[str, Any], ...] = ()

    def apply(self, config: Config) -> Config:
        if self.table:
            settled = config_from_table(dict(self.table), "--config", config)
            config = replace(settled, source=config.source, root=config.root)
        config = config.with_codes(self.select, self.ignore)
        changes: dict[str, Any] = {}
        if self.extend_select:
            changes["select"] = config.select + validate_codes(self.extend_select, "--extend-select")
        if self.extend_ignore:
            changes["ignore"] = config.ignore + validate_codes(self.extend_ignore, "--extend-ignore")
        if self.exclude is not None:
            changes["exclude"] = self.exclude
        if self.extend_exclude:
            changes["extend_exclude"] = config.extend_exclude + self.extend_exclude
        if self.analysis_timeout is not None:
            changes["analysis_timeout"] = self.analysis_timeout
        if self.max_memory_mb is not None:
            changes["max_memory_mb"] = self.max_memory_mb
        if self.strict is not None:
            changes["strict"] = self.strict
        return replace(config, **changes) if changes else config


def inline_setting(text: str) -> tuple[str, Any]:
    """``--config 'select = ["LL100"]'``: one TOML ``key = value`` line, validated as a key
    of the [tool.leaklint] table."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(
            f"--config {text!r}: neither a file nor a TOML 'key = value' setting ({err})"
        ) from None
    if len(data) != 1:
        raise ConfigError(f"--config {text!r}: give one 'key = value' setting at a time")
    key, value = next(iter(data.items()))
    if key not in _KNOWN_KEYS - {"extend"}:
        raise ConfigError(f"--config {text!r}: unknown key {key!r}")
    return key, value


class Resolver:
    """The configuration of each file, as ruff finds it: the nearest configuration file at or
    above the file's folder (``.leaklint.toml``, ``leaklint.toml``, or a ``pyproject.toml``
    with ``[tool.leaklint]``), or ``--config``'s for every file, or with ``--isolated`` none;
    then the command line's overrides. One ``Config`` per configuration file: every file of
    a project shares it, and so its summaries and its cache entries."""

    def __init__(
        self,
        config_path: Path | None = None,
        *,
        isolated: bool = False,
        overrides: Overrides | None = None,
    ) -> None:
        self.overrides = overrides or Overrides()
        self.fixed: Config | None = None
        if isolated:
            self.fixed = self.overrides.apply(Config(root=os.path.realpath(os.getcwd())))
        elif config_path is not None:
            self.fixed = self.overrides.apply(load_config(Path(config_path)))
        self._files: dict[str, Path | None] = {}  # real folder -> its nearest config file
        self._configs: dict[Path | None, Config] = {}

    @classmethod
    def of(cls, config: Config) -> Resolver:
        """One configuration for every file (callers that hold a ``Config``)."""
        resolver = cls()
        resolver.fixed = config
        return resolver

    def _nearest(self, folder: str) -> Path | None:
        if folder in self._files:
            return self._files[folder]
        found = config_file_in(Path(folder))
        if found is None:
            parent = os.path.dirname(folder)
            found = self._nearest(parent) if parent != folder else None
        self._files[folder] = found
        return found

    def config_file(self, folder: str) -> Path | None:
        """The configuration file that governs ``folder`` (None: the defaults)."""
        if self.fixed is not None:
            return Path(self.fixed.source) if self.fixed.source else None
        return self._nearest(os.path.realpath(folder))

    def for_folder(self, folder: str) -> Config:
        if self.fixed is not None:
            return self.fixed
        file = self.config_file(folder)
        config = self._configs.get(file)
        if config is None:
            loaded = _load_chain(file, ()) if file is not None else Config(
                root=os.path.realpath(os.getcwd())
            )
            config = self._configs[file] = self.overrides.apply(loaded)
        return config

    def for_path(self, path: str) -> Config:
        """The configuration of a file (or of a folder, named as a path to check)."""
        folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
        return self.for_folder(folder or ".")
