"""`python -m lint_rules` and `asyncmigrate lint`: one command, one contract.

Exit status: 0 when nothing is reported, 1 when something is, 2 on a usage,
configuration or internal error.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import click

from asyncmigrate.errors import UsageError

from .formats import FORMATS, render


def _codes(values: tuple[str, ...]) -> list[str] | None:
    if not values:
        return None
    codes = [c.strip().upper() for v in values for c in v.split(",") if c.strip()]
    return codes


@click.command(name="lint", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Output format.")
@click.option("--select", multiple=True, metavar="CODES",
              help="Only these code prefixes (comma-separated, repeatable), e.g. AM1,AM201.")
@click.option("--ignore", multiple=True, metavar="CODES", help="Skip these code prefixes.")
@click.option("--fix", is_flag=True, help="Apply safe fixes in place.")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply fixes that change behaviour.")
@click.option("--diff", is_flag=True, help="Print fixes as a unified diff; write nothing.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the index cache.")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=0, show_default=True,
              help="Worker processes (0: one per CPU).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read settings from this TOML file instead of pyproject.toml.")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip matching paths (repeatable).")
def lint_command(
    paths: tuple[str, ...],
    fmt: str,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    fix: bool,
    unsafe_fixes: bool,
    diff: bool,
    no_cache: bool,
    jobs: int,
    config_file: Path | None,
    exclude: tuple[str, ...],
) -> None:
    """Find async anti-patterns in PATHS (files or directories)."""
    from . import runner

    request = runner.LintRequest(
        paths=list(paths),
        select=_codes(select),
        ignore=_codes(ignore),
        fix=fix and not diff,
        unsafe_fixes=unsafe_fixes,
        diff=diff,
        use_cache=not no_cache,
        jobs=jobs,
        config_file=config_file,
        exclude=list(exclude),
    )
    try:
        outcome = runner.run(request)
    except UsageError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception:  # an internal error must not look like "no findings"
        click.echo("internal error:\n" + traceback.format_exc(), err=True)
        sys.exit(2)

    changed = [r for r in outcome.results if r.fixed is not None]
    if diff:
        for result in changed:
            click.echo(runner.unified_diff(result), nl=False)
        if changed:
            click.echo(
                f"Would fix {sum(r.fixes_applied for r in changed)} findings "
                f"in {len(changed)} files.",
                err=True,
            )
        sys.exit(1 if changed or outcome.diagnostics else 0)

    if request.fix:
        for result in runner.write_fixes(outcome):
            click.echo(f"fixed {result.fixes_applied} in {result.display}", err=True)
    click.echo(render(fmt, outcome.diagnostics, outcome.files), nl=False)
    sys.exit(1 if outcome.diagnostics else 0)


def main() -> None:
    lint_command(prog_name="python -m lint_rules")
