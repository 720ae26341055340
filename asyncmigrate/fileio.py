"""Reading sources and writing results without ever losing the user's data.

A rewrite is written to a temporary file in the same directory and moved over the
original with `os.replace`, which is atomic on POSIX and Windows: a Ctrl-C or a crash
leaves either the old file or the new one, never half of each. SIGINT and SIGTERM
are held back from creating the temporary to the move (and delivered right after),
so an interrupt never strands a `.NAME.*.tmp` file. The original's permission bits
are kept.

Sources are read by `read_source` only: a regular file no larger than
`MAX_SOURCE_BYTES`. Anything else (a FIFO, which would block the read forever, a
device such as `/dev/zero` behind a `.py` symlink, which would fill memory) is an
OSError with a reason, which the callers report like any unreadable file.

The commands that rewrite files (lint --fix, asyncify, contextvars) share the rest
of their file handling here too, so they agree on it: the check of the paths named
on the command line, the unified diff of `--diff`, and the write that turns a
failure into a one-line error.
"""

from __future__ import annotations

import errno
import os
import secrets
import signal
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import UsageError

#: The largest source file read (10 MiB). No hand-written module comes close; a
#: bigger `.py` is generated data, and reading it would cost memory, not find bugs.
MAX_SOURCE_BYTES = 10 * 1024 * 1024

_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def read_source(
    path: str | os.PathLike[str], limit: int = MAX_SOURCE_BYTES, *, follow_symlinks: bool = True
) -> bytes:
    """The bytes of the regular file `path` (a symlink to one is followed, unless
    `follow_symlinks` is False: then a symlink is an OSError with errno ELOOP).

    Opened non-blocking, so a FIFO is refused at once instead of waiting for a
    writer; checked with fstat on the open descriptor, so what is read is what was
    checked. Raises OSError, whose `strerror` is the reason shown to the user.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if not follow_symlinks:
        if not hasattr(os, "O_NOFOLLOW") and os.path.islink(path):
            raise OSError(errno.ELOOP, "a symlink", str(path))
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = _KINDS.get(stat.S_IFMT(info.st_mode), "a special file")
            raise OSError(errno.EINVAL, f"not a regular file ({kind})", str(path))
        with open(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1) if info.st_size <= limit else b""
        if info.st_size > limit or len(data) > limit:
            size = max(info.st_size, len(data))
            raise OSError(
                errno.EFBIG,
                f"larger than the {limit // 2**20} MiB limit ({size} bytes); not read",
                str(path),
            )
    finally:
        os.close(fd)
    return data


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back in this thread until the block ends (they are
    delivered then: Ctrl-C still interrupts, just not in the middle of a write)."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no signal masks
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def atomic_write_bytes(
    path: Path, data: bytes, *, expected: bytes | None = None, follow_symlinks: bool = True
) -> bool:
    """Write `data` to `path` through a temporary file moved over it.

    A symlink is written through (the link stays a link) unless `follow_symlinks`
    is False (the cache: the link itself is replaced). An existing file keeps its
    permission bits, and its temporary copy never has wider ones; a new file gets
    the mode `open()` would give it (0666 less the umask), not tempfile's 0600.

    With `expected` (the bytes the caller read), the file is compared again right
    before the move, after the slow part (writing, fsync): a file that no longer
    holds them, or is gone, is left alone and False is returned.
    """
    if follow_symlinks and path.is_symlink():
        path = Path(os.path.realpath(path))
    try:
        info = os.stat(path, follow_symlinks=follow_symlinks)
    except FileNotFoundError:
        info = None
    # A link that is replaced, not written through, lends the new file no mode.
    mode = info.st_mode & 0o7777 if info is not None and stat.S_ISREG(info.st_mode) else None
    with signals_deferred():
        tmp = _stage(path, data, mode)
        try:
            if expected is not None and not _holds(path, expected):
                os.unlink(tmp)
                return False
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
    return True


def _holds(path: Path, expected: bytes) -> bool:
    try:
        return read_source(path, max(len(expected), MAX_SOURCE_BYTES)) == expected
    except OSError:  # gone, or no longer a regular file
        return False


def _stage(path: Path, data: bytes, mode: int | None) -> str:
    """`data` in a new temporary file beside `path`, written and fsynced, with the
    permission bits `mode` (None: those `open()` gives a new file); its name."""
    fd, tmp = _create_temporary(path, 0o666 if mode is None else mode & 0o777)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)  # the umask may have narrowed it
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


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
    expected: bytes | None = None,
) -> bool:
    """Write a command's result over `path` atomically.

    With `expected` (the bytes the command read), a file that no longer holds them
    when the result is moved into place is left alone and False is returned: the
    user edited it during the run, and their edit wins. A failure raises a
    UsageError naming the file as `name` (default: the path), which
    `command_errors` reports in one line instead of a traceback.
    """
    try:
        return atomic_write_bytes(path, data, expected=expected)
    except OSError as e:
        raise UsageError(f"cannot write {name or path}: {e.strerror or e}") from e


def write_all(changes: list[tuple[Path, bytes, bytes, str]]) -> list[str]:
    """Write several files as one change, all or none: `(path, new, old, name)`.

    Every new text is staged first, beside its file (written and fsynced: the slow
    part, which Ctrl-C may interrupt; the staged files are then removed). Then, with
    Ctrl-C held back, every file is checked to still hold `old`; only if all do are
    the staged texts moved into place. Returns the names of the files a user changed
    meanwhile (nothing is written then). A failure raises a UsageError naming the
    file, with no file changed (a move that fails puts back those already moved).
    """
    staged: list[tuple[Path, str, bytes, str]] = []
    name = ""
    try:
        for path, new, old, name in changes:
            target = Path(os.path.realpath(path)) if path.is_symlink() else path
            tmp = _stage(target, new, stat.S_IMODE(os.stat(target).st_mode))
            staged.append((target, tmp, old, name))
        with signals_deferred():
            changed = [name for target, _, old, name in staged if not _holds(target, old)]
            if changed:
                return changed
            moved: list[tuple[Path, bytes]] = []
            for target, tmp, old, name in staged:
                try:
                    os.replace(tmp, target)
                except OSError as e:
                    for done, before in moved:
                        atomic_write_bytes(done, before)
                    raise UsageError(f"cannot write {name}: {e.strerror or e}") from e
                moved.append((target, old))
            staged = []
            return []
    except OSError as e:  # staging failed: no file was touched
        raise UsageError(f"cannot write {name}: {e.strerror or e}") from e
    finally:
        for _, tmp, _, _ in staged:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
