"""Errors that end a command, and the one place that turns failures into the CLI
contract: exit 2 with a one-line message for usage/configuration errors and for
I/O errors (a file that cannot be read or written is the environment, not a bug),
130 on Ctrl-C, and 2 with the traceback for an internal error (which must never look
like "no findings")."""

from __future__ import annotations

import signal
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager


class UsageError(Exception):
    """Bad command line, bad configuration, or a path that cannot be used."""


@contextmanager
def command_errors() -> Iterator[None]:
    import click

    try:
        yield
    except UsageError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
    except OSError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        interrupted()
    except (SystemExit, click.exceptions.Exit):
        raise
    except Exception:
        click.echo("internal error:\n" + traceback.format_exc(), err=True)
        sys.exit(2)


def interrupted() -> None:
    """Ctrl-C: one line and exit 130 (128 + SIGINT, as shells report it), never a
    traceback. Also used by the `asyncmigrate` group, for an interrupt that comes
    while a subcommand's modules are still being imported."""
    print("interrupted", file=sys.stderr, flush=True)
    try:  # a signal still pending (held back during a write) must not kill the exit
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        pass
    sys.exit(130)


class InterruptExits130:
    """Mixin for click commands and groups. click turns Ctrl-C into "Aborted!" and
    exit 1, which reads as "findings" or "would change"; a Ctrl-C while click parses
    the command line or while the command runs is exit 130 instead."""

    def make_context(self, *args, **kwargs):
        try:
            return super().make_context(*args, **kwargs)
        except KeyboardInterrupt:
            interrupted()

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            interrupted()

