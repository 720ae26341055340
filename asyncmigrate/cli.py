"""The `asyncmigrate` command: the application shell over rules and codemods.

This is the one module of the core package that reaches up into `lint_rules` and
`codemods`; it imports them only when their subcommand runs.
"""

from __future__ import annotations

import click

from . import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="asyncmigrate")
def main() -> None:
    """Move a Python code base from blocking I/O to asyncio, safely."""


def _lint_command() -> click.Command:
    from lint_rules.cli import lint_command

    return lint_command


main.add_command(_lint_command(), name="lint")


def _asyncify_command() -> click.Command:
    from codemods.asyncify.cli import asyncify_command

    return asyncify_command


main.add_command(_asyncify_command(), name="asyncify")


def _contextvars_command() -> click.Command:
    from codemods.contextvars.cli import contextvars_command

    return contextvars_command


main.add_command(_contextvars_command(), name="contextvars")


def _profile_command() -> click.Command:
    from .profiler.cli import profile_group

    return profile_group


main.add_command(_profile_command(), name="profile")


@main.command(name="rules")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text",
              show_default=True)
def rules_command(fmt: str) -> None:
    """List every rule with its code and summary."""
    from lint_rules.docs import rule_table

    click.echo(rule_table(markdown=fmt == "markdown"))
