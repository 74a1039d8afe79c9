"""The ``leaklint`` command: parses options, calls the runner, prints. No analysis here."""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from leaklint import __version__

# Only click is imported at start-up: `leaklint --version` and `--help` need nothing else, and
# each command imports what it uses where it uses it (issue 25 item 7: the configuration,
# the runner and the report cost more than Python's own start here; the analysis, libcst, a
# quarter of a second, is imported by the runner only for a file the cache does not answer).
if TYPE_CHECKING:
    from leaklint.baseline import Baseline
    from leaklint.config import Config, Overrides, Resolver

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _codes(value: str | None) -> list[str] | None:
    return None if value is None else [c for c in value.replace(" ", ",").split(",") if c]


def _patterns(value: str | None) -> list[str] | None:
    return None if value is None else [p.strip() for p in value.split(",") if p.strip()]


def _tuple(values: list[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)


def _resolver(config_args: tuple[str, ...], isolated: bool, overrides: Overrides) -> Resolver:
    """``--config`` is a file (at most one) or ``key = value`` settings, as in ruff."""
    from dataclasses import replace

    from leaklint.config import ConfigError, Resolver, inline_setting

    files = [arg for arg in config_args if Path(arg).is_file() or "=" not in arg]
    if len(files) > 1:
        raise ConfigError("--config: give one configuration file at most")
    if files and not Path(files[0]).is_file():
        raise ConfigError(f"--config: no file {files[0]!r}")
    table = tuple(inline_setting(arg) for arg in config_args if arg not in files)
    if table:
        overrides = replace(overrides, table=table)
    return Resolver(Path(files[0]) if files else None, isolated=isolated, overrides=overrides)


def _settings(resolver: Resolver, path: str) -> str:
    """What ``--show-settings PATH`` prints: the file's resolved configuration."""
    config = resolver.for_path(path)
    rows = [
        ("path", path),
        ("configuration file", config.source or "(none: the defaults)"),
        ("root", config.root),
        ("select", ", ".join(config.select)),
        ("ignore", ", ".join(config.ignore)),
        ("exclude", ", ".join(config.exclude)),
        ("extend-exclude", ", ".join(config.extend_exclude)),
        ("per-file-ignores", "; ".join(
            f"{os.path.join(base, pattern)} = {', '.join(codes)}"
            for pattern, codes, base in config.per_file_ignores
        )),
        ("resources", ", ".join(r.qualname for r in config.resources)),
        ("max-file-size-mb", str(config.max_file_size_mb)),
        ("analysis-timeout", str(config.analysis_timeout)),
        ("max-memory-mb", str(config.max_memory_mb)),
        ("strict", "true" if config.strict else "false"),
    ]
    if config.excluded(path):
        rows.append(("excluded", "yes (a walk skips it; named, it is checked unless --force-exclude)"))
    width = max(len(name) for name, _ in rows)
    return "".join(f"{name:<{width}}  {value}\n" for name, value in rows)


class _FormatChoice(click.Choice):  # type: ignore[type-arg]
    """``--format``'s choice of ``leaklint.report.FORMATS``, read when an option is parsed or
    help is shown, not when this module is imported (the report imports every rule)."""

    def __init__(self) -> None:
        super().__init__(())

    @property  # type: ignore[override]
    def choices(self) -> tuple[str, ...]:
        from leaklint.report import FORMATS

        return FORMATS

    @choices.setter
    def choices(self, value: object) -> None:
        """click's ``__init__`` sets the choices; they are the report's."""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="leaklint")
def main() -> None:
    """leaklint: find resource leaks in Python code."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--select", help="Codes or prefixes to report (comma-separated), e.g. LL100,LL1.")
@click.option("--ignore", help="Codes or prefixes not to report (comma-separated).")
@click.option("--extend-select", help="Codes or prefixes to report besides those selected.")
@click.option("--extend-ignore", help="Codes or prefixes not to report, besides those ignored.")
@click.option(
    "--config",
    "config_args",
    multiple=True,
    help="A configuration file (pyproject.toml, leaklint.toml) to use for every file instead "
    "of each file's nearest one; or a 'key = value' setting that overrides the files' "
    "(repeatable).",
)
@click.option("--isolated", is_flag=True, help="Ignore every configuration file.")
@click.option("--exclude", help="Patterns to exclude (comma-separated), replacing the defaults.")
@click.option("--extend-exclude", help="Patterns to exclude besides the configured ones.")
@click.option(
    "--force-exclude",
    is_flag=True,
    help="Apply the excludes to files named on the command line too (for pre-commit).",
)
@click.option(
    "--show-settings",
    "show_settings",
    type=click.Path(path_type=str),
    help="Print the configuration that applies to this file, and exit.",
)
@click.option("--show-files", is_flag=True, help="Print the files that would be checked, and exit.")
@click.option("--format", "fmt", type=_FormatChoice(), default="text", show_default=True)
@click.option(
    "--output-file",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the report to this file instead of standard output.",
)
@click.option(
    "--color",
    "color_choice",
    type=click.Choice(("auto", "always", "never")),
    default="auto",
    show_default=True,
    help="Colour the text output: auto (on a terminal, unless NO_COLOR; FORCE_COLOR forces it).",
)
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes (default: CPUs).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="LEAKLINT_CACHE_DIR",
    help="Where the cache lives (default: .leaklint_cache in the project root; "
    "env LEAKLINT_CACHE_DIR).",
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option(
    "--exit-non-zero-on-fix",
    is_flag=True,
    help="With --fix: exit 1 if any file was fixed, even when no finding remains.",
)
@click.option("--statistics", is_flag=True, help="Print how many findings of each code instead.")
@click.option(
    "--baseline",
    "baseline_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Report only findings that this baseline file does not hold.",
)
@click.option(
    "--write-baseline",
    "write_baseline_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Record every finding of this run in a baseline file, and exit 0.",
)
@click.option(
    "--warn-unused-noqa",
    is_flag=True,
    help="Warn on standard error about leaklint suppression comments that suppress nothing.",
)
@click.option(
    "--stdin-filename",
    help="With `-` as the path: the name of the file on standard input (for editors).",
)
@click.option(
    "--summary/--no-summary",
    default=None,
    help="A one-line summary on standard error (default: only when it is a terminal).",
)
@click.option("--fix", is_flag=True, help="Apply the safe fixes, then report what remains.")
@click.option(
    "--add-noqa",
    is_flag=True,
    help="Add a `# noqa: CODE` comment for each finding (at the end of its statement), and exit 0.",
)
@click.option("--unsafe-fixes", is_flag=True, help="With --fix or --diff: apply unsafe fixes too.")
@click.option(
    "--diff", is_flag=True, help="Print the fixes as a unified diff; write nothing (exit 1 if any)."
)
@click.option("--show-fixes", is_flag=True, help="List each fix applied (or available) on stderr.")
@click.option(
    "--runtime-report",
    "runtime_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A `pytest --leaklint-report` file: mark the findings its tests confirmed, and list "
    "the leaks they saw that no finding reports.",
)
@click.option(
    "--analysis-timeout",
    type=click.FloatRange(min=0),
    help="Stop analysing a file after this many seconds: one LL900 line (0: no limit).",
)
@click.option(
    "--max-memory-mb",
    type=click.IntRange(min=0),
    help="Stop analysing a file whose worker grows by more than this: one LL900 line (0: no limit).",
)
@click.option(
    "--strict/--no-strict",
    default=None,
    help="Report the exception path of every call, also of calls that practically never "
    "raise (the `strict` key; default: off).",
)
@click.option("--debug", is_flag=True, help="Print the traceback of internal errors.")
def check(
    paths: tuple[str, ...],
    select: str | None,
    ignore: str | None,
    extend_select: str | None,
    extend_ignore: str | None,
    config_args: tuple[str, ...],
    isolated: bool,
    exclude: str | None,
    extend_exclude: str | None,
    force_exclude: bool,
    show_settings: str | None,
    show_files: bool,
    fmt: str,
    color_choice: str,
    output_file: Path | None,
    jobs: int | None,
    no_cache: bool,
    cache_dir: Path | None,
    exit_zero: bool,
    exit_non_zero_on_fix: bool,
    statistics: bool,
    baseline_path: Path | None,
    write_baseline_path: Path | None,
    warn_unused_noqa: bool,
    stdin_filename: str | None,
    summary: bool | None,
    fix: bool,
    add_noqa: bool,
    unsafe_fixes: bool,
    diff: bool,
    show_fixes: bool,
    runtime_path: Path | None,
    analysis_timeout: float | None,
    max_memory_mb: int | None,
    strict: bool | None,
    debug: bool,
) -> None:
    """Check PATHS (files or folders; default: the current folder) for resource leaks.

    `-` reads one file from standard input."""
    from leaklint.config import ConfigError, Overrides
    from leaklint.report import SourceLines, render, shown_path, source_text
    from leaklint.report import statistics as render_statistics
    from leaklint.runner import by_config, cache_folder, check_groups, discover
    from leaklint.runtime import RuntimeReportError, join, read_report

    started = time.monotonic()
    _exit_cleanly_on_signals()
    reading_stdin = paths == ("-",) or (not paths and stdin_filename is not None)
    if "-" in paths and not reading_stdin:
        _fail("`-` (standard input) cannot be combined with other paths")
    if exit_zero and exit_non_zero_on_fix:
        _fail("--exit-zero and --exit-non-zero-on-fix cannot be combined")
    if statistics and fmt not in ("text", "concise", "full", "json"):
        _fail("--statistics prints text or json, not --format " + fmt)
    if statistics and runtime_path is not None:
        _fail("--statistics counts findings; it cannot be combined with --runtime-report")
    fixing = fix or diff or show_fixes
    if fixing and reading_stdin:
        _fail("--fix, --diff and --show-fixes work on files, not on standard input")
    if add_noqa and (fixing or reading_stdin):
        _fail("--add-noqa works on files and cannot be combined with --fix, --diff or --show-fixes")
    paths = paths or (".",)
    try:
        resolver = _resolver(
            config_args, isolated,
            Overrides(
                select=_tuple(_codes(select)),
                extend_select=_tuple(_codes(extend_select)) or (),
                ignore=_tuple(_codes(ignore)),
                extend_ignore=_tuple(_codes(extend_ignore)) or (),
                exclude=_tuple(_patterns(exclude)),
                extend_exclude=_tuple(_patterns(extend_exclude)) or (),
                analysis_timeout=analysis_timeout,
                max_memory_mb=max_memory_mb,
                strict=strict,
            ),
        )
        if show_settings is not None:
            click.echo(_settings(resolver, show_settings), nl=False)
            sys.exit(EXIT_CLEAN)
        if reading_stdin:
            groups = []
            config = resolver.for_path(stdin_filename or "-")
        else:
            targets = discover(paths, resolver, force_exclude)
            if show_files:
                click.echo("".join(f"{shown_path(t.path)}\n" for t in targets), nl=False)
                sys.exit(EXIT_CLEAN)
            groups = by_config(targets, resolver)
        known = None
        if baseline_path is not None:
            from leaklint.baseline import Baseline

            known = Baseline.read(baseline_path)
        runtime = read_report(runtime_path) if runtime_path is not None else None
    except (ConfigError, RuntimeReportError) as err:
        _fail(str(err))
    source = SourceLines()
    fixed, changed = Counter(), 0  # findings fixed by code, files changed (or that would be)
    if reading_stdin:
        name = stdin_filename or "-"
        data = sys.stdin.buffer.read()
        source.given[name] = source_text(data)
        from leaklint import notebook  # here: a cached run never loads the analysis
        from leaklint.core import check_source

        if notebook.kind_of(name) == "notebook":  # --stdin-filename x.ipynb
            source.given[name] = notebook.source_lines(data) or ""
            results = [notebook.check_notebook(data, name, config)]
        else:
            results = [check_source(data, name, config)]
    else:
        configs = [config for config, _ in groups]
        if no_cache:
            cache = None
        else:
            from leaklint.cache import Cache

            cache = Cache.open(cache_dir or cache_folder(resolver, configs))
        if _is_tty(sys.stderr) and len(targets) >= _PROGRESS_FROM and summary is not False:
            with click.progressbar(length=len(targets), label="leaklint", file=sys.stderr) as bar:
                results = check_groups(groups, jobs, progress=bar.update, cache=cache)
        else:
            results = check_groups(groups, jobs, cache=cache)
        if fixing:
            by_path = {result.path: result for result in results}
            results = []
            for config, group in groups:
                done, fixed_here, changed_here = _fixes(
                    group, [by_path[t.path] for t in group], config, jobs, fix and not diff,
                    unsafe_fixes, diff, show_fixes, known,
                )
                results.extend(done)
                fixed.update(fixed_here)
                changed += changed_here
    findings = sorted(f for result in results for f in result.findings)
    if add_noqa:
        _add_noqa(results)
        sys.exit(EXIT_CLEAN)
    if write_baseline_path is not None:
        from leaklint.baseline import write_baseline

        write_baseline(write_baseline_path, findings, source)
        click.echo(
            f"leaklint: wrote {_count(len(findings), 'finding')} to {write_baseline_path}", err=True
        )
    reported = known.new(findings, source) if known is not None else findings
    if fixing:
        writing = fix and not diff
        remaining = len(reported) - (0 if writing else sum(fixed.values()))
        by_code = ", ".join(f"{code}: {n}" for code, n in sorted(fixed.items()))
        click.echo(
            f"leaklint: {'fixed' if writing else 'would fix'} "
            f"{_count(sum(fixed.values()), 'finding')}{f' ({by_code})' if by_code else ''} "
            f"in {_count(changed, 'file')}, {remaining} remaining",
            err=True,
        )
        if diff:
            sys.exit(EXIT_FINDINGS if changed else EXIT_CLEAN)
    if write_baseline_path is not None:
        output = ""  # the baseline is the report
    elif statistics:
        output = render_statistics(reported, fmt)
    else:
        tty = output_file is None and _is_tty(sys.stdout)
        color = _colour(color_choice, tty)
        joined = join(reported, runtime) if runtime is not None else None
        output = render(reported, fmt, source=source, tty=tty, color=color, runtime=joined)
    if output_file is not None:
        try:
            output_file.write_text(output, "utf-8")
        except OSError as err:
            _fail(f"{output_file}: cannot write: {err.strerror or err}")
    elif output:
        # click strips colour off a terminal unless told: --color always / FORCE_COLOR mean it
        click.echo(output, nl=False, color=True if _colour(color_choice, False) else None)
    if warn_unused_noqa:
        for unused in sorted(u for result in results for u in result.unused_suppressions):
            what = ", ".join(unused.codes) if unused.codes else "leaklint: ignore"
            click.echo(
                f"{shown_path(unused.path)}:{unused.line}:{unused.col + 1}: warning: unused suppression "
                f"({what}): nothing to suppress here",
                err=True,
            )
    if summary or (summary is None and _is_tty(sys.stderr)):
        known_note = f", {len(findings) - len(reported)} in the baseline" if known is not None else ""
        click.echo(
            f"leaklint: {_count(len(results), 'file')} checked, "
            f"{_count(len(reported), 'finding')}{known_note}, "
            f"{time.monotonic() - started:.2f} s",
            err=True,
        )
    internal = [r for r in results if r.internal_error]
    for result in internal:
        if debug:
            click.echo(f"leaklint: internal error on {shown_path(result.path)}:\n{result.internal_error}", err=True)
    if internal:
        if not debug:
            click.echo("leaklint: internal errors occurred; run with --debug for details", err=True)
        sys.exit(EXIT_ERROR)
    if write_baseline_path is not None:
        sys.exit(EXIT_CLEAN)
    fixed_files = fix and not diff and changed > 0  # as ruff: a run that changed files fails CI
    sys.exit(
        EXIT_FINDINGS if (reported and not exit_zero) or (exit_non_zero_on_fix and fixed_files)
        else EXIT_CLEAN
    )


def _fixes(
    targets: list,
    results: list,
    config: Config,
    jobs: int | None,
    write: bool,
    unsafe: bool,
    diff: bool,
    show: bool,
    baseline: Baseline | None,
) -> tuple[list, Counter[str], int]:
    """Fix the run's files (``write``), or print the diff (``diff``), or only list the fixes;
    a finding the baseline holds is not fixed. Returns the results to report (the remaining
    findings of each fixed file), how many findings were fixed by code, and how many files
    changed (or would)."""
    from dataclasses import replace

    from leaklint import (
        fixes,  # imports libcst, which a run answered from the cache never needs
    )
    from leaklint.report import shown_path
    from leaklint.runner import summarise

    jobs = jobs or os.cpu_count() or 1
    project = summarise(targets, config, jobs)
    reported = baseline.new_in if baseline is not None else None
    outcomes = fixes.fix_paths(results, config, project, unsafe=unsafe, jobs=jobs, reported=reported)
    by_path = {outcome.path: outcome for outcome in outcomes}
    fixed: Counter[str] = Counter()
    changed = 0
    new_results = []
    for result in results:
        outcome = by_path.get(result.path)
        if outcome is None:
            new_results.append(result)
            continue
        if outcome.error:
            click.echo(f"leaklint: {shown_path(outcome.path)}: {outcome.error}", err=True)
        if outcome.fixed is None:  # a fix that raised makes the run's exit code 2
            internal = outcome.internal_error or result.internal_error
            new_results.append(replace(result, internal_error=internal))
            continue
        if diff:
            click.echo(_unified_diff(outcome.path, outcome.source, outcome.fixed), nl=False)
        if write:
            try:
                fixes.write_atomic(outcome.path, outcome.fixed, outcome.snapshot)
            except fixes.WriteError as err:
                click.echo(f"leaklint: {shown_path(outcome.path)} {err}", err=True)
                new_results.append(result)
                continue
        changed += 1
        fixed.update(outcome.counts)
        if show:
            verb = "fixed" if write else "fix"
            for applied in outcome.applied:
                click.echo(
                    f"{shown_path(applied.path)}:{applied.line}:{applied.col + 1}: {applied.code} {verb}: "
                    f"{applied.title} ({applied.safety})",
                    err=True,
                )
        new_results.append(outcome.remaining if write and outcome.remaining else result)
    return new_results, fixed, changed


def _add_noqa(results: list) -> None:
    """Write a ``# noqa`` comment for every finding of every file (notebooks and files that
    changed since they were read are left alone, each said on stderr)."""
    from leaklint import fixes, suppressions
    from leaklint.files import NotReadable
    from leaklint.report import shown_path

    added = files = 0
    for result in results:
        wanted = [f for f in result.findings if f.code != "LL900"]
        if not wanted:
            continue
        if result.path.endswith(".ipynb"):
            click.echo(f"leaklint: {shown_path(result.path)}: notebooks get no noqa comments", err=True)
            continue
        try:
            snapshot = fixes.Snapshot.read(result.path, None)
            data, count = suppressions.add_noqa(snapshot.data, wanted)
            if count:
                fixes.write_atomic(result.path, data, snapshot)
        except (OSError, NotReadable, fixes.WriteError) as err:
            click.echo(f"leaklint: {shown_path(result.path)}: {err}", err=True)
            continue
        added, files = added + count, files + (1 if count else 0)
    click.echo(f"leaklint: added {_count(added, 'noqa comment')} to {_count(files, 'file')}", err=True)


def _exit_cleanly_on_signals() -> None:
    """SIGINT and SIGTERM end the run as an exception would: the worker processes are
    killed and temporary files removed on the way out (``finally`` blocks), then the exit
    code is 128 + the signal's number, as a shell reports it (130, 143)."""
    import signal

    def stop(number: int, frame: object) -> None:
        name = "interrupted" if number == signal.SIGINT else "terminated"
        os.write(2, f"leaklint: {name}\n".encode())
        raise SystemExit(128 + number)

    for name in ("SIGINT", "SIGTERM"):
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) in (
            signal.SIG_DFL, signal.default_int_handler,
        ):
            try:
                signal.signal(number, stop)
            except ValueError:  # not the main thread (leaklint called from a program's thread)
                return


def _unified_diff(path: str, before: bytes, after: bytes) -> bytes:
    from leaklint.fixes.diff import (
        unified_diff,  # the file's own bytes, for patch/git apply
    )

    return unified_diff(path, before, after)


#: A progress bar only for runs at least this long, and only on a terminal.
_PROGRESS_FROM = 32


def _colour(choice: str, tty: bool) -> bool:
    """``--color``: always, never, or auto: on a terminal unless ``NO_COLOR`` is set, and
    anywhere when ``FORCE_COLOR`` is (a non-empty value; as most tools read them)."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    return tty or bool(os.environ.get("FORCE_COLOR"))


def _is_tty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _fail(message: str) -> NoReturn:
    click.echo(f"leaklint: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


@main.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("text", "markdown")),
    default="text",
    show_default=True,
    help="markdown: the README's rule table.",
)
def rules(fmt: str) -> None:
    """List every rule: code, name and what it reports."""
    from leaklint.report import rule_table
    from leaklint.rules import ALL_RULES

    if fmt == "markdown":
        click.echo(rule_table(), nl=False)
        return
    width = max(len(rule.name) for rule in ALL_RULES)
    for rule in ALL_RULES:
        click.echo(f"{rule.code}  {rule.name:<{width}}  {rule.summary}")


@main.command()
def server() -> None:
    """Run the language server (LSP, over standard input and output) for editors.

    Needs the `server` extra: python -m pip install -e '.[server]' in a checkout."""
    try:
        from leaklint.server import main as serve
    except ImportError as err:
        _fail(
            f"the language server needs pygls ({err}): install leaklint's 'server' extra "
            "(python -m pip install -e '.[server]' in a checkout)"
        )
    serve()


@main.command()
@click.argument("code")
def rule(code: str) -> None:
    """Show the documentation of one rule (by code or name)."""
    from leaklint.rules import ALL_RULES, RULES_BY_CODE

    wanted = code.strip()
    found = RULES_BY_CODE.get(wanted.upper()) or next(
        (r for r in ALL_RULES if r.name == wanted.lower()), None
    )
    if found is None:
        click.echo(f"leaklint: error: unknown rule {code!r}; see `leaklint rules`", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(f"# {found.code} {found.name}\n\n{found.summary}\n\n{found.docs}", nl=False)
