"""Reading sources and writing results without ever losing the user's data.

A rewrite is written to a temporary file in the same directory and moved over the
original with `os.replace`, which is atomic on POSIX and Windows: a Ctrl-C or a crash
leaves either the old file or the new one, never half of each. The original's
permission bits are kept.

The commands that rewrite files (lint --fix, asyncify, contextvars) share the rest
of their file handling here too, so they agree on it: the check of the paths named
on the command line, the unified diff of `--diff`, and the write that turns a
failure into a one-line error.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from .errors import UsageError


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file moved over it.

    A symlink is written through (the link stays a link). An existing file keeps its
    permission bits, and its temporary copy never has wider ones; a new file gets
    the mode `open()` would give it (0666 less the umask), not tempfile's 0600.
    """
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    try:
        mode: int | None = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    fd, tmp = _create_temporary(path, 0o666 if mode is None else mode & 0o777)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)  # the umask may have narrowed it
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _create_temporary(path: Path, mode: int) -> tuple[int, str]:
    """A new file beside `path`, created with `mode` (less the umask: the kernel
    applies it, so no process-wide umask call is needed)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(path.parent, f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, mode), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def check_paths(paths: Iterable[str | os.PathLike[str]]) -> None:
    """Fail before any work when a path named on the command line does not exist: a
    typo must be a usage error, not a green run over nothing. A symlink counts even
    when it dangles (lint reports it as unreadable, as it does one found in a walk).
    The message shows the path as given."""
    for path in paths:
        if not os.path.lexists(path):
            raise UsageError(f"path does not exist: {path}")


def unified_diff(before: str, after: str, name: str) -> str:
    """The change to `name`, labelled `a/NAME` and `b/NAME` as `git diff` does, so
    `git apply` and `patch -p1` take the `--diff` output of every command."""
    import difflib  # only `--diff` needs it

    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            f"a/{name}",
            f"b/{name}",
        )
    )


def write_result(
    path: Path,
    data: bytes,
    name: str | os.PathLike[str] | None = None,
    *,
    unless_changed_from: bytes | None = None,
) -> bool:
    """Write a command's result over `path` atomically.

    With `unless_changed_from` (the bytes the command read), a file that no longer
    holds them is left alone and False is returned: the user edited it during the
    run, and their edit wins. A failure raises a UsageError naming the file as
    `name` (default: the path), which `command_errors` reports in one line instead
    of a traceback.
    """
    try:
        if unless_changed_from is not None and path.read_bytes() != unless_changed_from:
            return False
        atomic_write_bytes(path, data)
    except OSError as e:
        raise UsageError(f"cannot write {name or path}: {e.strerror or e}") from e
    return True
