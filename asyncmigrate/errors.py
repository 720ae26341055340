"""Errors that end a command with exit status 2 and a one-line message."""


class UsageError(Exception):
    """Bad command line, bad configuration, or a path that cannot be used."""
