"""`asyncmigrate profile`: run a command with the blocking-call finder, and read,
merge and show its reports.

    asyncmigrate profile [--threshold MS] [--output FILE] -- CMD ARGS...
    asyncmigrate profile merge A.json B.json [-o OUT.json]
    asyncmigrate profile show REPORT.json

The command runs as a child process with a `sitecustomize` bootstrap first on
PYTHONPATH, so the finder runs inside every Python process of the command (servers
that fork workers included). Each process writes its own partial report into a
temporary directory; they are merged when the command ends. The exit status is the
command's own.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import click

from asyncmigrate.clicommand import Group

from .environment import DIR_VARIABLE, ROOT_VARIABLE, THRESHOLD_VARIABLE
from .report import (
    BlockingReport,
    ReportError,
    load_report,
    merge_reports,
    render_table,
    table_console,
)

_COMMAND_KEY = "asyncmigrate.profile.command"
_BOOTSTRAP = Path(__file__).resolve().parent / "bootstrap"
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent


class _ProfileGroup(Group):
    """A group whose own arguments are a command after `--`
    (`asyncmigrate profile -- python app.py`), beside its subcommands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            split = args.index("--")
            if not any(arg in self.commands for arg in args[:split]):
                ctx.meta[_COMMAND_KEY] = args[split + 1:]
                args = args[:split]
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        if args and args[0] not in self.commands:
            raise click.UsageError(
                f"no subcommand {args[0]!r}; to profile a command, put it after `--`: "
                f"asyncmigrate profile -- {' '.join(args)}", ctx)
        return super().resolve_command(ctx, args)


def _stderr_console():
    return table_console(stderr=True)


@click.group(cls=_ProfileGroup, invoke_without_command=True,
             subcommand_metavar="-- CMD [ARGS]... | merge REPORTS... | show REPORT",
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--threshold", type=click.FloatRange(min=0, min_open=True), default=10.0,
              show_default=True, metavar="MS",
              help="Report loop steps that take longer than this many milliseconds.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              default="asyncmigrate-profile.json", show_default=True,
              help="Where to write the JSON report.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="Rows in the printed table.")
@click.option("--quiet", "-q", is_flag=True, help="Do not print the table.")
@click.pass_context
def profile_group(ctx: click.Context, threshold: float, output: str, limit: int, quiet: bool) -> None:
    """Find what blocks the event loop while a real program runs.

    \b
    asyncmigrate profile -- python app.py --port 8000
    asyncmigrate profile --threshold 5 -o report.json -- pytest tests/
    asyncmigrate profile merge run1.json run2.json -o all.json
    asyncmigrate profile show report.json
    """
    if ctx.invoked_subcommand is not None:
        return
    command = ctx.meta.get(_COMMAND_KEY)
    if not command:
        raise click.UsageError("give the command to profile after `--`: asyncmigrate profile -- python app.py")
    ctx.exit(_run_profiled(command, threshold, Path(output), limit=limit, quiet=quiet))


def _run_profiled(command: list[str], threshold: float, output: Path, *, limit: int, quiet: bool) -> int:
    if not output.parent.is_dir():
        raise click.UsageError(f"cannot write the report: {output.parent} is not a directory")
    workdir = tempfile.mkdtemp(prefix="asyncmigrate-profile-")
    env = dict(os.environ)
    env[DIR_VARIABLE] = workdir
    env[THRESHOLD_VARIABLE] = repr(threshold)
    env[ROOT_VARIABLE] = str(_PACKAGE_ROOT)
    env["PYTHONPATH"] = os.pathsep.join([str(_BOOTSTRAP), *filter(None, [env.get("PYTHONPATH")])])
    started = time.time()
    try:
        try:
            child = subprocess.Popen(command, env=env)
        except FileNotFoundError:
            click.echo(f"asyncmigrate profile: command not found: {command[0]}", err=True)
            return 127
        except PermissionError:
            click.echo(f"asyncmigrate profile: cannot execute: {command[0]}", err=True)
            return 126
        returncode = _wait_forwarding_signals(child)
        report = _collect(workdir, threshold)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report.metadata.update({
        "command": command,
        "exit_code": returncode,
        "started_at": started,
        "wall_s": round(time.time() - started, 3),
    })
    report.write(output)
    if not quiet:
        console = _stderr_console()
        render_table(report, limit=limit, console=console)
        console.print(f"report: {output}")
    return returncode


def _wait_forwarding_signals(child: subprocess.Popen) -> int:
    """Wait for the command. Ctrl-C reaches the child from the terminal itself; we
    outlive it to write the report. SIGTERM sent to us is passed on."""
    forward = (lambda signum, frame: child.send_signal(signum))
    previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
    previous_term = signal.signal(signal.SIGTERM, forward)
    try:
        returncode = child.wait()
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)
    # a child killed by a signal: the shell's convention
    return 128 - returncode if returncode < 0 else returncode


def _collect(workdir: str, threshold: float) -> BlockingReport:
    reports = []
    for path in sorted(Path(workdir).glob("report-*.json")):
        try:
            reports.append(load_report(path))
        except ReportError as exc:
            click.echo(f"asyncmigrate profile: skipping a partial report: {exc}", err=True)
    merged = merge_reports(reports) if reports else BlockingReport(threshold)
    merged.threshold_ms = threshold
    merged.metadata["processes"] = len(reports)
    merged.metadata["runs"] = 1
    return merged


@profile_group.command(name="merge")
@click.argument("reports", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write the merged report here (default: print it as JSON on stdout).")
@click.option("--quiet", "-q", is_flag=True, help="With -o, do not print the table.")
def merge_command(reports: tuple[str, ...], output: str | None, quiet: bool) -> None:
    """Merge reports of several runs: counts and totals add up, the worst block wins."""
    merged = merge_reports(_load_all(reports))
    if output is None:
        import json

        click.echo(json.dumps(merged.to_json(), indent=2))
        return
    merged.write(output)
    if not quiet:
        console = _stderr_console()
        render_table(merged, console=console)
        console.print(f"report: {output}")


@profile_group.command(name="show")
@click.argument("report", type=click.Path(dir_okay=False))
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
def show_command(report: str, limit: int) -> None:
    """Print a report's ranked table."""
    render_table(_load_all([report])[0], limit=limit, console=table_console())


class _BadReport(click.ClickException):
    exit_code = 2  # bad input, as everywhere in asyncmigrate


def _load_all(paths) -> list[BlockingReport]:
    try:
        return [load_report(path) for path in paths]
    except ReportError as exc:
        raise _BadReport(str(exc)) from None
