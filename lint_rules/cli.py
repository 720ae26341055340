"""`python -m lint_rules` and `asyncmigrate lint`: one command, one contract.

Exit status: 0 when nothing is reported, 1 when something is, 2 on a usage,
configuration or internal error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import click

from asyncmigrate.errors import UsageError, command_errors

from .formats import FORMATS, render

if TYPE_CHECKING:
    from .runner import LintRequest


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
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Report only findings that are not recorded in FILE.")
@click.option("--write-baseline", "write_baseline", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Record the current findings in FILE and report none.")
@click.option("--profile", "profile_report", type=click.Path(dir_okay=False, path_type=Path),
              metavar="REPORT", help="Rank findings by the blocked time the runtime finder "
              "measured at their lines (`asyncmigrate profile` report).")
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
    baseline_file: Path | None,
    write_baseline: Path | None,
    profile_report: Path | None,
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
        fix_texts=fmt == "sarif",
    )
    with command_errors():
        status = _lint(request, fmt, baseline_file, write_baseline, profile_report)
    sys.exit(status)


def _lint(
    request: LintRequest,
    fmt: str,
    baseline_file: Path | None,
    write_baseline: Path | None,
    profile_report: Path | None = None,
) -> int:
    """Run, apply the baseline, write fixes, report; returns the exit status."""
    from . import baseline, runner

    # Read the baseline and the profile before the run: a bad one is a usage error.
    entries = baseline.load(baseline_file) if baseline_file and not write_baseline else None
    measured = _load_profile(profile_report) if profile_report else None
    outcome = runner.run(request)
    diagnostics = outcome.diagnostics
    if write_baseline:
        keys = baseline.KeyMaker(write_baseline, outcome.results)
        count = baseline.write(write_baseline, diagnostics, keys)
        click.echo(f"Wrote {count} findings to the baseline {write_baseline}.", err=True)
        diagnostics = []
    elif entries is not None and baseline_file is not None:
        keys = baseline.KeyMaker(baseline_file, outcome.results)
        comparison = baseline.compare(entries, diagnostics, keys, outcome.codes)
        diagnostics = comparison.new
        _report_fixed(comparison.fixed, baseline_file, request.paths)

    if measured is not None:
        diagnostics = _rank_by_measured_cost(diagnostics, measured)

    changed = [r for r in outcome.results if r.fixed is not None]
    if request.diff:
        for result in changed:
            click.echo(runner.unified_diff(result), nl=False)
        if changed:
            click.echo(
                f"Would fix {sum(r.fixes_applied for r in changed)} findings "
                f"in {len(changed)} files.",
                err=True,
            )
        return 1 if changed or diagnostics else 0

    if request.fix:
        written = []
        # Each file is reported as it is written: if a later write fails, the
        # user still sees which files already changed.
        for result in changed:
            if not runner.write_fix(result):
                continue
            written.append(result)
            click.echo(f"fixed {result.fixes_applied} in {result.display}", err=True)
            for d in result.fixed_diagnostics:
                click.echo(f"  {d.line}:{d.column}: {d.code} {d.message}", err=True)
        if written:
            count = sum(r.fixes_applied for r in written)
            click.echo(f"Fixed {count} findings in {len(written)} files.", err=True)
    click.echo(render(fmt, diagnostics, outcome.files), nl=False)
    return 1 if diagnostics else 0


def _load_profile(path: Path):
    from asyncmigrate.profiler.report import ReportError, load_report

    try:
        return load_report(path)
    except ReportError as e:
        raise UsageError(f"bad profile report: {e}") from None


def _rank_by_measured_cost(diagnostics: list, report) -> list:
    """Most blocked time first; the measured time is added to the message. Findings
    the finder did not see keep their order, after the measured ones."""
    from dataclasses import replace

    from asyncmigrate.profiler.ranking import rank_findings

    ranked = rank_findings(diagnostics, report, position=lambda d: (d.path, d.line))
    return [
        replace(d, message=f"{d.message} [measured: {ms:.0f} ms blocked]") if ms else d
        for d, ms in ranked
    ]


def _report_fixed(fixed: list[dict[str, str]], baseline_file: Path, paths: Sequence[str]) -> None:
    if not fixed:
        return
    noun = "finding" if len(fixed) == 1 else "findings"
    click.echo(f"{len(fixed)} baselined {noun} no longer reported (fixed):", err=True)
    for entry in fixed:
        where = f" in {entry['scope']}" if entry["scope"] else ""
        click.echo(f"  {entry['path']}: {entry['code']}{where}: {entry['message']}", err=True)
    click.echo(
        f"Refresh the baseline so they cannot come back unnoticed: "
        f"asyncmigrate lint {' '.join(paths)} --write-baseline {baseline_file}",
        err=True,
    )


@click.command(name="rules")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text",
              show_default=True)
def rules_command(fmt: str) -> None:
    """List every rule with its code and summary."""
    from .docs import rule_table

    click.echo(rule_table(markdown=fmt == "markdown"))


def main() -> None:
    lint_command(prog_name="python -m lint_rules")
