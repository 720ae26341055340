"""The click classes every command line of ours uses, so Ctrl-C is exit 130
everywhere (`asyncmigrate.errors.InterruptExits130`)."""

from __future__ import annotations

import click

from .errors import InterruptExits130


class Command(InterruptExits130, click.Command):
    """A click command whose Ctrl-C is one line and exit 130."""


class Group(InterruptExits130, click.Group):
    """A click group whose Ctrl-C is one line and exit 130."""
