"""The ``leaklint`` command: parses options, calls the runner, prints. No analysis here."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from leaklint import __version__
from leaklint.config import Config, ConfigError, load_config
from leaklint.report import FORMATS, render
from leaklint.rules import ALL_RULES, RULES_BY_CODE
from leaklint.runner import check_paths, discover

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _codes(value: str | None) -> list[str] | None:
    return None if value is None else [c for c in value.replace(" ", ",").split(",") if c]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="leaklint")
def main() -> None:
    """leaklint: find resource leaks in Python code."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--select", help="Codes or prefixes to report (comma-separated), e.g. LL100,LL1.")
@click.option("--ignore", help="Codes or prefixes not to report (comma-separated).")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A pyproject.toml to read [tool.leaklint] from (default: the nearest one).",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes (default: CPUs).")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--debug", is_flag=True, help="Print the traceback of internal errors.")
def check(
    paths: tuple[str, ...],
    select: str | None,
    ignore: str | None,
    config_path: Path | None,
    fmt: str,
    jobs: int | None,
    exit_zero: bool,
    debug: bool,
) -> None:
    """Check PATHS (files or folders; default: the current folder) for resource leaks."""
    paths = paths or (".",)
    try:
        start = Path(paths[0]) if Path(paths[0]).is_dir() else Path(paths[0]).parent
        config: Config = load_config(config_path, start=start if start.is_dir() else None)
        config = config.with_codes(_codes(select), _codes(ignore))
    except ConfigError as err:
        click.echo(f"leaklint: error: {err}", err=True)
        sys.exit(EXIT_ERROR)
    targets = discover(paths, config)
    results = check_paths(targets, config, jobs)
    findings = sorted(f for result in results for f in result.findings)
    click.echo(render(findings, fmt), nl=False)
    internal = [r for r in results if r.internal_error]
    for result in internal:
        if debug:
            click.echo(f"leaklint: internal error on {result.path}:\n{result.internal_error}", err=True)
    if internal:
        if not debug:
            click.echo("leaklint: internal errors occurred; run with --debug for details", err=True)
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if findings and not exit_zero else EXIT_CLEAN)


@main.command()
def rules() -> None:
    """List every rule: code, name and what it reports."""
    width = max(len(rule.name) for rule in ALL_RULES)
    for rule in ALL_RULES:
        click.echo(f"{rule.code}  {rule.name:<{width}}  {rule.summary}")


@main.command()
@click.argument("code")
def rule(code: str) -> None:
    """Show the documentation of one rule (by code or name)."""
    wanted = code.strip()
    found = RULES_BY_CODE.get(wanted.upper()) or next(
        (r for r in ALL_RULES if r.name == wanted.lower()), None
    )
    if found is None:
        click.echo(f"leaklint: error: unknown rule {code!r}; see `leaklint rules`", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(f"# {found.code} {found.name}\n\n{found.summary}\n\n{found.docs}", nl=False)
