"""`python -m lint_rules` and `asyncmigrate lint`: one command, one contract.

Exit status: 0 when nothing is reported, 1 when something is, 2 on a usage,
configuration or internal error.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import click

from asyncmigrate.config import TARGET_VERSIONS
from asyncmigrate.clicommand import Command
from asyncmigrate.errors import UsageError, command_errors

from .formats import (
    FORMATS,
    STATISTICS_FORMATS,
    TEXT_FORMATS,
    RenderOptions,
    fix_summary,
    render,
    render_statistics,
)
from .source import SourceLines

if TYPE_CHECKING:
    from .diagnostics import Diagnostic
    from .docs import RuleDoc
    from .runner import LintOutcome, LintRequest


def _codes(values: tuple[str, ...]) -> list[str] | None:
    if not values:
        return None
    codes = [c.strip().upper() for v in values for c in v.split(",") if c.strip()]
    return codes


def _per_file_ignores(values: tuple[str, ...]) -> dict[str, list[str]]:
    """`--per-file-ignores "tests/**:AM2,AM5"` (Ruff's spelling) as a table."""
    table: dict[str, list[str]] = {}
    for value in values:
        glob, sep, codes = value.rpartition(":")
        if not sep or not glob or not codes.strip():
            raise click.BadParameter(f"{value!r} is not GLOB:CODES", param_hint="--per-file-ignores")
        table.setdefault(glob, []).extend(_codes((codes,)) or [])
    return table


@click.command(name="lint", cls=Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, required=True, type=click.Path())
# -- selection ---------------------------------------------------------------
@click.option("--select", multiple=True, metavar="CODES",
              help="Only these code prefixes (comma-separated, repeatable), e.g. AM1,AM201.")
@click.option("--ignore", multiple=True, metavar="CODES", help="Skip these code prefixes.")
@click.option("--extend-select", multiple=True, metavar="CODES",
              help="Also these code prefixes, on top of the configured selection.")
@click.option("--extend-ignore", multiple=True, metavar="CODES",
              help="Also skip these code prefixes, on top of the configured ones.")
@click.option("--per-file-ignores", multiple=True, metavar="GLOB:CODES",
              help="Skip CODES in files matching GLOB (gitignore syntax, relative to the "
              "project root), added to the configured per-file-ignores (repeatable).")
@click.option("--target-version", type=click.Choice(TARGET_VERSIONS), default=None,
              help="The oldest Python the code runs on (default: from requires-python).")
# -- fixes -------------------------------------------------------------------
@click.option("--fix", is_flag=True, help="Apply safe fixes in place.")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply fixes that change behaviour.")
@click.option("--diff", is_flag=True, help="Print fixes as a unified diff; write nothing.")
# -- files -------------------------------------------------------------------
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip matching paths (repeatable).")
@click.option("--extend-exclude", multiple=True, metavar="GLOB",
              help="Also skip matching paths, on top of the configured ones (repeatable).")
@click.option("--respect-gitignore/--no-respect-gitignore", default=None,
              help="Skip what .gitignore files and .git/info/exclude ignore (default: on).")
@click.option("--force-exclude/--no-force-exclude", default=None,
              help="Apply the excludes to the paths named on the command line too.")
@click.option("--stdin-filename", metavar="PATH",
              help="Lint the text read from `-` as this file of its project (it need not "
              "exist); with --fix, print the fixed text on stdout.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read settings from this TOML file instead of pyproject.toml.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the index cache.")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=0, show_default=True,
              help="Worker processes (0: one per CPU).")
# -- output ------------------------------------------------------------------
@click.option("--format", "--output-format", "fmt", type=click.Choice(FORMATS), default="text",
              show_default=True, help="Output format.")
@click.option("--statistics", is_flag=True,
              help="Count the findings per code, with the rule name, most frequent first, "
              "instead of listing them (text or json).")
@click.option("--show-fixes", is_flag=True,
              help="After the findings, list per file the fixes applied (with --fix) or available.")
@click.option("--exit-zero", is_flag=True,
              help="Exit 0 even when findings are reported (errors still exit 2).")
@click.option("--quiet", "-q", is_flag=True,
              help="Print the findings only: no summary line, no notes on stderr.")
@click.option("--output-file", "-o", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Write the report to FILE (atomically) instead of stdout.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto",
              show_default=True, help="Colour and source excerpts in text output; auto: on "
              "a terminal, unless NO_COLOR is set.")
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Report only findings that are not recorded in FILE.")
@click.option("--write-baseline", "write_baseline", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Record the current findings in FILE and report none.")
@click.option("--profile", "profile_report", type=click.Path(dir_okay=False, path_type=Path),
              metavar="REPORT", help="Rank findings by the blocked time the runtime finder "
              "measured at their lines (`asyncmigrate profile` report).")
def lint_command(paths: tuple[str, ...], **options: Any) -> None:
    """Find async anti-patterns in PATHS (files or directories)."""
    from . import runner

    request = runner.LintRequest(
        paths=list(paths),
        select=_codes(options["select"]),
        ignore=_codes(options["ignore"]),
        extend_select=_codes(options["extend_select"]) or [],
        extend_ignore=_codes(options["extend_ignore"]) or [],
        per_file_ignores=_per_file_ignores(options["per_file_ignores"]),
        target_version=options["target_version"],
        fix=options["fix"] and not options["diff"],
        unsafe_fixes=options["unsafe_fixes"],
        diff=options["diff"],
        use_cache=not options["no_cache"],
        jobs=options["jobs"],
        config_file=options["config_file"],
        exclude=list(options["exclude"]),
        fix_texts=options["fmt"] == "sarif",
        extend_exclude=list(options["extend_exclude"]),
        respect_gitignore=options["respect_gitignore"],
        force_exclude=options["force_exclude"],
        stdin=sys.stdin.buffer.read() if "-" in paths else None,
        stdin_filename=options["stdin_filename"],
    )
    with command_errors(), TerminalProgress.when_wanted(options["quiet"]) as progress:
        request.progress = progress
        status = _lint(
            request,
            Reporting.from_options(options),
            options["baseline_file"],
            options["write_baseline"],
            options["profile_report"],
        )
    sys.exit(status)


class TerminalProgress:
    """A progress bar on stderr for runs that lint many files (rich, as asyncify
    has): shown only on a terminal, never with --quiet, and gone when done."""

    #: fewer files than this finish before a bar would help
    MIN_FILES = 200

    def __init__(self) -> None:
        self._bar: Any = None
        self._task: Any = None

    @classmethod
    @contextlib.contextmanager
    def when_wanted(cls, quiet: bool):
        progress = cls() if not quiet and sys.stderr.isatty() else None
        try:
            yield progress
        finally:
            if progress is not None and progress._bar is not None:
                progress._bar.stop()

    def start(self, total: int) -> None:
        if total < self.MIN_FILES:
            return
        from rich.console import Console
        from rich.progress import Progress

        self._bar = Progress(console=Console(stderr=True), transient=True)
        self._task = self._bar.add_task("lint", total=total)
        self._bar.start()

    def advance(self, result: Any) -> None:
        if self._bar is not None:
            self._bar.advance(self._task)


@dataclass
class Reporting:
    """What the `# -- output` options ask of the report, and where it goes."""

    fmt: str = "text"
    statistics: bool = False
    show_fixes: bool = False
    exit_zero: bool = False
    quiet: bool = False
    output_file: Path | None = None
    color: str = "auto"

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> Reporting:
        return cls(
            fmt=options["fmt"],
            statistics=options["statistics"],
            show_fixes=options["show_fixes"],
            exit_zero=options["exit_zero"],
            quiet=options["quiet"],
            output_file=options["output_file"],
            color=options["color"],
        )

    def check(self) -> None:
        """Refuse a combination that cannot be honoured before any work is done."""
        if self.statistics and self.fmt not in STATISTICS_FORMATS:
            raise UsageError(
                f"--statistics prints in {', '.join(STATISTICS_FORMATS)}, not --format {self.fmt}"
            )

    def use_color(self) -> bool:
        """As Ruff: never in a file; auto means a terminal without NO_COLOR."""
        if self.output_file is not None or self.color == "never":
            return False
        if self.color == "always":
            return True
        return sys.stdout.isatty() and not os.environ.get("NO_COLOR")

    def status(self, found: bool) -> int:
        return 1 if found and not self.exit_zero else 0

    def note(self, message: str) -> None:
        """Progress and summaries on stderr, which `--quiet` leaves out."""
        if not self.quiet:
            click.echo(message, err=True)

    def emit(
        self,
        diagnostics: list[Diagnostic],
        outcome: LintOutcome,
        fixes: list[Diagnostic],
        applied: bool,
    ) -> None:
        """Render the report (with the `--show-fixes` table of `fixes`) and write it."""
        color = self.use_color()
        text = self.fmt in TEXT_FORMATS
        table = fix_summary(fixes, applied, color and text) if self.show_fixes else []
        options = RenderOptions(
            color=color and text,
            quiet=self.quiet,
            sources=SourceLines(outcome.results),
            appendix=table if text else [],
        )
        if self.statistics:
            report = render_statistics(self.fmt, diagnostics, outcome.files, options)
        else:
            report = render(self.fmt, diagnostics, outcome.files, options)
        if table and not text:
            # A machine format owns stdout (one JSON document, one XML document).
            click.echo("\n".join(table), err=True)
        self.write(report, color and text)

    def write(self, report: str, color: bool) -> None:
        if self.output_file is None:
            # click strips ANSI codes from output that is not a terminal unless told.
            click.echo(report, nl=False, color=True if color else None)
            return
        from asyncmigrate import fileio

        try:
            self.output_file.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UsageError(f"cannot write {self.output_file}: {e.strerror or e}") from e
        fileio.write_result(self.output_file, report.encode("utf-8"))


def _lint(
    request: LintRequest,
    output: Reporting,
    baseline_file: Path | None,
    write_baseline: Path | None,
    profile_report: Path | None = None,
) -> int:
    """Run, apply the baseline, write fixes, report; returns the exit status."""
    from . import baseline, runner

    output.check()
    # Read the baseline and the profile before the run: a bad one is a usage error.
    entries = baseline.load(baseline_file) if baseline_file and not write_baseline else None
    measured = _load_profile(profile_report) if profile_report else None
    outcome = runner.run(request)
    diagnostics = outcome.diagnostics
    if write_baseline:
        keys = baseline.KeyMaker(write_baseline, outcome.results)
        count = baseline.write(write_baseline, diagnostics, keys)
        output.note(f"Wrote {count} findings to the baseline {write_baseline}.")
        diagnostics = []
    elif entries is not None and baseline_file is not None:
        keys = baseline.KeyMaker(baseline_file, outcome.results)
        comparison = baseline.compare(entries, diagnostics, keys, outcome.codes)
        diagnostics = comparison.new
        if not output.quiet:
            _report_fixed(comparison.fixed, baseline_file, request.paths)

    if measured is not None:
        diagnostics = _rank_by_measured_cost(diagnostics, measured)

    changed = [r for r in outcome.results if r.fixed is not None]
    if request.diff:
        for result in changed:
            click.echo(runner.unified_diff(result), nl=False)
        if changed:
            output.note(
                f"Would fix {sum(r.fixes_applied for r in changed)} findings "
                f"in {len(changed)} files."
            )
        if output.show_fixes:
            would_fix = [d for r in changed for d in r.fixed_diagnostics]
            for line in fix_summary(would_fix, applied=False):
                click.echo(line, err=True)
        return output.status(bool(changed or diagnostics))

    if request.fix and outcome.stdin is not None:
        return _fix_stdin(request, outcome, diagnostics, output)
    if request.fix:
        written = []
        # Each file is reported as it is written: if a later write fails, the
        # user still sees which files already changed.
        for result in changed:
            if not runner.write_fix(result):
                continue
            written.append(result)
            output.note(f"fixed {result.fixes_applied} in {result.display}")
            for d in result.fixed_diagnostics:
                output.note(f"  {d.line}:{d.column}: {d.code} {d.message}")
        if written:
            count = sum(r.fixes_applied for r in written)
            output.note(f"Fixed {count} findings in {len(written)} files.")
        output.emit(diagnostics, outcome, [d for r in written for d in r.fixed_diagnostics], True)
    else:
        output.emit(diagnostics, outcome, [d for d in diagnostics if d.fixable], False)
    return output.status(bool(diagnostics))


def _fix_stdin(
    request: LintRequest, outcome: LintOutcome, diagnostics: list[Diagnostic], output: Reporting
) -> int:
    """`--fix` on `-` (as Ruff): the text, fixed, on stdout, and the report on stderr;
    no file is written, even when the --stdin-filename exists."""
    import contextlib

    result = outcome.stdin
    assert result is not None
    fixed = result.fixed if result.fixed is not None else (request.stdin or b"")
    stdout = click.get_binary_stream("stdout")
    stdout.write(fixed)
    stdout.flush()
    if result.fixed is not None:
        output.note(f"fixed {result.fixes_applied} in {result.display}")
    with contextlib.redirect_stdout(sys.stderr):
        output.emit(diagnostics, outcome, result.fixed_diagnostics, True)
    return output.status(bool(diagnostics))


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


@click.command(name="rules", cls=Command)
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text",
              show_default=True)
def rules_command(fmt: str) -> None:
    """List every rule with its code and summary."""
    from .docs import rule_table

    click.echo(rule_table(markdown=fmt == "markdown"))


def _explained(code: str) -> RuleDoc:
    from . import docs

    doc = docs.find(code)
    if doc is None:
        matches = docs.close_matches(code)
        listed = " or ".join([", ".join(matches[:-1]), matches[-1]] if matches[1:] else matches)
        hint = f"; did you mean {listed}?" if matches else ""
        raise UsageError(f"unknown rule code: {code}{hint} (`asyncmigrate rules` lists them)")
    return doc


def _complete_codes(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    from .docs import rule_docs

    return [d.code for d in rule_docs() if d.code.startswith(incomplete.upper())]


@click.command(name="rule", cls=Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("code", required=False, metavar="CODE", shell_complete=_complete_codes)
@click.option("--all", "show_all", is_flag=True, help="Explain every code.")
@click.option("--format", "--output-format", "fmt", type=click.Choice(["text", "json"]),
              default="text", show_default=True)
def rule_command(code: str | None, show_all: bool, fmt: str) -> None:
    """Explain a rule: what it finds, why, and what to write instead."""
    from . import docs

    with command_errors():
        if show_all == bool(code):
            raise UsageError("name one code (`asyncmigrate rule AM101`) or give --all")
        found = docs.rule_docs() if show_all else [_explained(code or "")]
    if fmt == "json":
        explained = [d.to_json() for d in found]
        click.echo(json.dumps(explained if show_all else explained[0], indent=2))
    else:
        # A blank line between rules, as `ruff rule --all`.
        click.echo("\n".join(d.text() for d in found), nl=False)


def main() -> None:
    lint_command(prog_name="python -m lint_rules")
