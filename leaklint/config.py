"""``[tool.leaklint]`` in ``pyproject.toml`` → one frozen, picklable ``Config``."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leaklint._toml import tomllib
from leaklint.resources import Registry, RegistryError, Resource, builtin_registry, resource_from_entry

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
    "select",
    "ignore",
    "extend-select",
    "per-file-ignores",
    "exclude",
    "extend-exclude",
    "resources",
    "max-file-size-mb",
    "analysis-timeout",
    "max-memory-mb",
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
    #: (gitignore-style pattern, codes or prefixes), relative to ``root``
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    source: str | None = None  # the pyproject.toml it came from
    root: str = field(default_factory=os.getcwd)
    max_file_size_mb: int = DEFAULT_MAX_FILE_SIZE_MB
    #: a file whose analysis takes longer (seconds) or grows its worker by more (MB) is
    #: stopped: one LL900 line (``leaklint.pool``); 0 is no limit
    analysis_timeout: float = DEFAULT_ANALYSIS_TIMEOUT
    max_memory_mb: int = DEFAULT_MAX_MEMORY_MB

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
        relative = _relative_to(path, self.root)
        return not any(
            code.startswith(prefix)
            for pattern, codes in self.per_file_ignores
            if _pattern(pattern).match_file(relative)
            for prefix in codes
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


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start`` that has a ``[tool.leaklint]`` table."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text("utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue
            if "leaklint" in data.get("tool", {}):
                return candidate
    return None


def load_config(path: Path | None = None, start: Path | None = None) -> Config:
    """Read ``path`` (``--config``), or the nearest pyproject with ``[tool.leaklint]``."""
    if path is None:
        path = find_pyproject(start or Path.cwd())
        if path is None:
            return Config(root=str((start or Path.cwd()).resolve()))
    try:
        data = tomllib.loads(Path(path).read_text("utf-8"))
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror or err}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from None
    table = data.get("tool", {}).get("leaklint", {})
    if Path(path).name != "pyproject.toml" and not table and "tool" not in data:
        table = data  # a leaklint.toml-style file holding the table itself
    return config_from_table(table, str(path))


def config_from_table(table: Any, origin: str) -> Config:
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

    config = Config(source=origin, root=str(Path(origin).resolve().parent))
    select = strings("select")
    if select is not None:
        config = replace(config, select=validate_codes(select, f"{origin}: select"))
    extend = strings("extend-select")
    if extend is not None:
        config = replace(
            config, select=config.select + validate_codes(extend, f"{origin}: extend-select")
        )
    ignore = strings("ignore")
    if ignore is not None:
        config = replace(config, ignore=validate_codes(ignore, f"{origin}: ignore"))
    exclude = strings("exclude")
    if exclude is not None:
        config = replace(config, exclude=exclude)
    extend_exclude = strings("extend-exclude")
    if extend_exclude is not None:
        config = replace(config, extend_exclude=extend_exclude)
    if "max-file-size-mb" in table:
        size = table["max-file-size-mb"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ConfigError(
                f"{origin}: [tool.leaklint]: 'max-file-size-mb' must be a whole number, 1 or more"
            )
        config = replace(config, max_file_size_mb=size)
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
    pairs = []
    for pattern, codes in per_file.items():
        key = f"per-file-ignores.{pattern!r}"
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise ConfigError(f"{origin}: [tool.leaklint]: {key} must be a list of strings")
        pairs.append((pattern, validate_codes(codes, f"{origin}: {key}")))
    config = replace(config, per_file_ignores=tuple(pairs))
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
    return replace(config, resources=extra)
