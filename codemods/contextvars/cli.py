"""`python -m codemods.contextvars PATH... --name module:GLOBAL`.

Exit status: 0 done (or nothing to do); 1 when a conversion is refused, or with
`--check` when something would change; 2 on a usage, configuration or internal
error, or a file that cannot be written. Files are written atomically, and only
when every file of a conversion compiles.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from asyncmigrate.analysis import Project
from codemods.contextvars.conversion import ConversionRefused, convert
from asyncmigrate import fileio
from asyncmigrate.clicommand import Command
from asyncmigrate.errors import command_errors
from asyncmigrate.project import collect_targets, find_root


@click.command(name="contextvars", cls=Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--name", "names", multiple=True, required=True, metavar="MODULE:NAME",
              help="A module global or threading.local() to convert (repeatable).")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path),
              help="Project root used to name modules (default: found upward from PATH).")
@click.option("--diff", is_flag=True, help="Print a unified diff; write nothing.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if anything would change.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read settings from this TOML file instead of pyproject.toml.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the index cache.")
def contextvars_command(
    paths: tuple[Path, ...],
    names: tuple[str, ...],
    root: Path | None,
    diff: bool,
    check: bool,
    config_file: Path | None,
    no_cache: bool,
) -> None:
    """Convert module globals (and threading.local objects) in PATHS to ContextVars,
    rewriting every read, write and `from mod import NAME` importer in the project."""
    with command_errors():
        fileio.check_paths(paths)
        root = (root or find_root(paths[0])).resolve()
        project = Project.load(root, config_file=config_file, use_cache=not no_cache)
        config = project.config
        # The files PATHS name, walked as lint walks them (a named path is used even
        # when excluded, unless force-exclude is configured).
        targets = {
            file.resolve()
            for file in collect_targets(
                paths,
                root,
                config.excludes,
                respect_gitignore=config.respect_gitignore,
                force_exclude=config.force_exclude,
                on_excluded=lambda path, why: click.echo(
                    f"warning: {path} is excluded: it {why} (force-exclude); not rewritten", err=True
                ),
            )
        }

        def writable(rel: str) -> bool:
            return (root / rel).resolve() in targets

        changed: dict[str, bytes] = {}
        refused = False
        for name in names:
            try:
                conversion = convert(project, name, sources=changed, writable=writable)
            except ConversionRefused as e:
                click.echo(f"refused {name}: {e}", err=True)
                refused = True
                continue
            if conversion.already_done:
                click.echo(f"{name}: already a ContextVar; nothing to do", err=True)
                continue
            changed.update(conversion.changes)
            kind = "threading.local" if conversion.kind == "thread_local" else "global"
            click.echo(
                f"{name}: {kind} -> ContextVar {', '.join(conversion.variables)} "
                f"({len(conversion.changes)} file(s))",
                err=True,
            )

        if diff or check:
            for rel, new in sorted(changed.items()):
                if diff:
                    old = (root / rel).read_text(encoding="utf-8")
                    click.echo(fileio.unified_diff(old, new.decode("utf-8"), rel), nl=False)
            click.echo(f"Would change {len(changed)} file(s).", err=True)
            sys.exit(1 if refused or (check and changed) else 0)
        # One conversion spans several files: the first that cannot be written
        # ends the run, rather than going on to leave more of it half-done.
        for rel, new in sorted(changed.items()):
            fileio.write_result(root / rel, new, rel)
        click.echo(f"Changed {len(changed)} file(s).", err=True)
    sys.exit(1 if refused else 0)


def main() -> None:
    contextvars_command(prog_name="python -m codemods.contextvars")
