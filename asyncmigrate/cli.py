"""The `asyncmigrate` command: the application shell over rules and codemods.

This is the one module of the core package that reaches up into `lint_rules` and
`codemods`, and it names them only as "module:attr" strings, imported when their
subcommand runs: `asyncmigrate lint` must not pay for the codemods (nor for
`libcst.codemod` and `libcst.matchers`, which they load).
"""

from __future__ import annotations

import importlib

import click

from . import __version__
from .clicommand import Group

#: subcommand -> "module:attr" of its click command
COMMANDS = {
    "lint": "lint_rules.cli:lint_command",
    "rules": "lint_rules.cli:rules_command",
    "rule": "lint_rules.cli:rule_command",
    "asyncify": "codemods.asyncify.cli:asyncify_command",
    "contextvars": "codemods.contextvars.cli:contextvars_command",
    "profile": "asyncmigrate.profiler.cli:profile_group",
}


class LazyGroup(Group):
    """click's lazy-loading group: a subcommand's module is imported only when the
    command is looked up (to run it, or to show its help; `--help` of the group
    looks up every one for its short help)."""

    def __init__(self, *args, lazy_commands: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy_commands:
            return super().get_command(ctx, cmd_name)
        module, _, attr = self.lazy_commands[cmd_name].partition(":")
        command = getattr(importlib.import_module(module), attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy_commands[cmd_name]} is not a click command")
        return command


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="asyncmigrate")
def main() -> None:
    """Move a Python code base from blocking I/O to asyncio, safely."""
