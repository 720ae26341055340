"""`python -m codemods.asyncify PATH...` and `asyncmigrate asyncify`.

Exit status: 0 done (or nothing to do); 1 with `--check` when something would
change; 2 on a usage or configuration error (missing path, bad or unknown seed)
or a file that cannot be written.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from asyncmigrate.clicommand import Command
from asyncmigrate.errors import command_errors

from .bridge import BRIDGES
from .report import PLAN_FORMATS


@click.command(name="asyncify", cls=Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--seed",
    "seeds",
    multiple=True,
    metavar="MODULE:QUALNAME",
    help="A function or method that is, or must become, async (repeatable).",
)
@click.option(
    "--seed-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read seeds from a file, one per line (# comments).",
)
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    help="Project root used to name modules (default: found upward from PATH).",
)
@click.option(
    "--bridge",
    type=click.Choice(BRIDGES),
    default=None,
    help="Sync bridge where a caller must stay sync (default: config, else asgiref).",
)
@click.option(
    "--stop-at",
    multiple=True,
    metavar="GLOB",
    help="Keep matching functions (module:Qual.name globs) sync (repeatable).",
)
@click.option(
    "--allow-override",
    multiple=True,
    metavar="GLOB",
    help="Convert matching methods (module:Qual.name globs) although they may override a third-party base class's method (repeatable).",
)
@click.option(
    "--offload",
    is_flag=True,
    help="Wrap blocking calls without an async equivalent in asyncio.to_thread.",
)
@click.option(
    "--no-swap",
    "no_swap",
    multiple=True,
    metavar="FAMILY",
    help="Do not swap this client library family (requests, redis, sqlite3, ...; `all`: none). Repeatable.",
)
@click.option(
    "--profile",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Seeds from a runtime blocking-call report (JSON).",
)
@click.option(
    "--plan", "show_plan", is_flag=True, help="Print the migration layers; write nothing."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(PLAN_FORMATS),
    default="text",
    show_default=True,
    help="Format of --plan.",
)
@click.option(
    "--max-layer",
    type=click.IntRange(min=0),
    default=None,
    help="Convert layers 0..N only; bridge the callers above.",
)
@click.option(
    "--allow-incomplete",
    is_flag=True,
    help="Write the result even if its own check finds it broken (then exit 1).",
)
@click.option("--diff", is_flag=True, help="Print a unified diff; write nothing.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if anything would change.")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read settings from this TOML file instead of pyproject.toml.",
)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the index cache.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Worker processes for rewriting (0: one per CPU).",
)
def asyncify_command(
    paths: tuple[Path, ...],
    seeds: tuple[str, ...],
    seed_file: Path | None,
    root: Path | None,
    bridge: str | None,
    stop_at: tuple[str, ...],
    allow_override: tuple[str, ...],
    offload: bool,
    no_swap: tuple[str, ...],
    profile: Path | None,
    show_plan: bool,
    fmt: str,
    max_layer: int | None,
    allow_incomplete: bool,
    diff: bool,
    check: bool,
    config_file: Path | None,
    no_cache: bool,
    jobs: int,
) -> None:
    """Convert sync call chains in PATHS to async, bottom-up through the call graph."""
    from . import report, runner

    request = runner.AsyncifyRequest(
        paths=list(paths),
        seeds=list(seeds),
        seed_file=seed_file,
        root=root,
        bridge=bridge,
        stop_at=list(stop_at),
        allow_override=list(allow_override),
        offload=offload,
        no_swap=list(no_swap),
        max_layer=max_layer,
        profile=profile,
        config_file=config_file,
        use_cache=not no_cache,
        jobs=jobs or os.cpu_count() or 1,
    )
    with command_errors():
        migration = runner.prepare(request)
        project = migration.project
        if show_plan:
            click.echo(report.render_plan(migration.plan(), fmt), nl=False)
            sys.exit(0)
        plan, results, found = _converge(migration, request.jobs)
        problems = [p for p in found if not p.hazard]

        items = list(plan.items)
        items += [runner.Item(p.path, p.line, f"the converted code has {p.code}: {p.message}") for p in found if p.hazard]
        for result in results:
            items += result.notes
            if result.error:
                items.append(runner.Item(result.rel, 1, result.error))
        changed = [r for r in results if r.changed and r.error is None]
        broken = report.problems(problems)
        if diff or check:
            if diff:
                for result in changed:
                    click.echo(runner.unified_diff(result), nl=False)
            click.echo(report.summary(plan, items, len(changed), "Would change"), err=True, nl=False)
            click.echo(broken, err=True, nl=False)
            sys.exit(1 if problems or (check and changed) else 0)
        if problems and not allow_incomplete:
            click.echo(report.summary(plan, items, 0, "Changed"), err=True, nl=False)
            click.echo(broken, err=True, nl=False)
            click.echo(
                "Nothing was written. Convert these by hand (or pass --allow-incomplete to "
                "write the result anyway).",
                err=True,
            )
            sys.exit(1)
        written, edited = runner.write(project, changed)
        if edited:
            items += [runner.Item(rel, 1, "changed since asyncify read it: nothing was written; run asyncify again") for rel in edited]
        click.echo(report.summary(plan, items, written, "Changed"), err=True, nl=False)
        click.echo(broken, err=True, nl=False)
    sys.exit(1 if problems or edited else 0)


def _converge(migration, jobs):
    from . import runner

    if not sys.stderr.isatty():
        return runner.converge(migration, jobs)
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        task = progress.add_task("asyncify", total=None)
        return runner.converge(migration, jobs, progress=lambda result: progress.advance(task))


def main() -> None:
    asyncify_command(prog_name="python -m codemods.asyncify")
