"""The on-disk cache: one SQLite database per project, outside the work tree.

SQLite (standard library) rather than one JSON file, so that a run reads only the
rows it needs (a pre-commit run on one file of a large project reads a few), and
writes only what changed. WAL mode and a busy timeout let two runs share it: a
reader never waits for a writer, and a run that cannot get the write lock in time
simply does not cache. Every write is one transaction, so a run killed mid-write
leaves the database as it was before that write. Values are JSON text, never
pickle: a cache that unpickles could run code.

The folder is checked as before (`_unsafe`): not a symlink, the user's own, not
writable by others. The database file must be a regular file that is not a
symlink and not bigger than `MAX_CACHE_BYTES`. A file that is none of these, is
not a database, or was written by another version is reported with one line on
stderr and replaced by an empty database.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import sqlite3
import stat
import sys
from pathlib import Path

from .. import __version__
from .summary import SCHEMA

#: overrides where caches are kept (default: $XDG_CACHE_HOME/asyncmigrate, else
#: ~/.cache/asyncmigrate)
CACHE_ENV = "ASYNCMIGRATE_CACHE_DIR"
CACHE_FILE = "index.sqlite3"
#: a cache bigger than this is not read (a million-line project's is far smaller)
MAX_CACHE_BYTES = 512 * 2**20
CACHE_KEY = f"{__version__}/{SCHEMA}/sqlite1"
#: how long a run waits for another run's write before it gives up caching
BUSY_TIMEOUT_MS = 2000

_TABLES = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # One row per module: stat metadata recognises an unchanged file without reading it.
    "CREATE TABLE IF NOT EXISTS modules (rel TEXT PRIMARY KEY, hash TEXT NOT NULL, "
    "name TEXT NOT NULL, size INTEGER, mtime_ns INTEGER, inode INTEGER, summary TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS derived (name TEXT NOT NULL, fingerprint TEXT NOT NULL, "
    "value TEXT NOT NULL, PRIMARY KEY (name, fingerprint))",
    "CREATE TABLE IF NOT EXISTS results (rel TEXT PRIMARY KEY, key TEXT NOT NULL, value TEXT NOT NULL)",
)


def cache_home() -> Path | None:
    """Where asyncmigrate keeps its caches; None when there is no home directory
    (never a relative `~`, which would put the cache in the work tree)."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).absolute()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "asyncmigrate") if os.path.isabs(base) else None


def cache_dir(root: Path) -> Path | None:
    """The cache folder of the project at `root`: its name, then a hash of its real
    path and of the tool and index versions (another checkout, or another version,
    has its own)."""
    home = cache_home()
    if home is None:
        return None
    real = os.path.realpath(root)
    digest = hashlib.blake2b(f"{real}\0{CACHE_KEY}".encode(), digest_size=12).hexdigest()
    name = re.sub(r"[^A-Za-z0-9._-]", "_", os.path.basename(real))[:40]
    return home / f"{name}-{digest}"


def _unsafe(directory: Path) -> str | None:
    """Why the cache folder cannot be trusted (read or written), None when it can;
    FileNotFoundError when it does not exist."""
    info = os.lstat(directory)
    if stat.S_ISLNK(info.st_mode):
        return f"{directory} is a symlink"
    if not stat.S_ISDIR(info.st_mode):
        return f"{directory} is not a directory"
    if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        return f"{directory} belongs to another user"
    if info.st_mode & 0o022:
        return f"{directory} is writable by other users"
    return None


def warn_ignored(reason: str) -> None:
    print(f"asyncmigrate: cache ignored ({reason}); rebuilding", file=sys.stderr)


def _unsafe_file(path: Path) -> str | None:
    """Why the database file cannot be opened; None when it can (or is absent)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        return f"{CACHE_FILE} is a symlink"
    if not stat.S_ISREG(info.st_mode):
        from ..fileio import _KINDS

        kind = _KINDS.get(stat.S_IFMT(info.st_mode), "a special file")
        return f"{CACHE_FILE}: not a regular file ({kind})"
    if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        return f"{CACHE_FILE} belongs to another user"
    if info.st_size > MAX_CACHE_BYTES:
        return f"{CACHE_FILE}: larger than the {MAX_CACHE_BYTES // 2**20} MiB limit"
    return None


def _remove(path: Path) -> None:
    """Remove the database and its WAL files (never what a symlink points to)."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.unlink(f"{path}{suffix}")
        except FileNotFoundError:
            pass


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    return db


def _prepare(db: sqlite3.Connection) -> str | None:
    """Create the tables; None, or why an existing database is not usable."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "meta" in tables:
        row = db.execute("SELECT value FROM meta WHERE key = 'key'").fetchone()
        if row is None or row[0] != CACHE_KEY:
            return "written by another version"
    with db:
        db.execute("BEGIN IMMEDIATE")
        for statement in _TABLES:
            db.execute(statement)
        db.execute("INSERT OR IGNORE INTO meta VALUES ('key', ?)", (CACHE_KEY,))
    return None


def open_cache(root: Path) -> sqlite3.Connection | None:
    """The cache database of `root`, created when there is none; None when there is
    no usable cache folder (the run then does not cache). An untrustworthy or broken
    database is reported once and replaced."""
    directory = cache_dir(root)
    if directory is None:
        return None
    try:
        directory.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            pass
        reason = _unsafe(directory)
    except OSError as e:
        if e.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
            return None  # a read-only cache directory still lints; it just cannot cache
        reason = f"{directory}: {e.strerror}"
    if reason is not None:
        warn_ignored(reason)
        return None
    path = directory / CACHE_FILE
    reason = _unsafe_file(path)
    if reason is None:
        try:
            db = _connect(path)
            reason = _prepare(db)
            if reason is None:
                return db
            db.close()
        except sqlite3.OperationalError as e:
            if "locked" in str(e) or "busy" in str(e):
                return None  # another run holds it: this one does not cache
            reason = f"not a usable database: {e}"
        except sqlite3.DatabaseError as e:
            reason = f"not a database: {e}"
    warn_ignored(reason)
    try:
        _remove(path)
        db = _connect(path)
        if _prepare(db) is None:
            return db
    except (OSError, sqlite3.Error):
        pass
    return None


def reset(root: Path, connection: sqlite3.Connection | None, reason: str) -> sqlite3.Connection | None:
    """Replace a database found damaged while reading it by an empty one (reported
    with `reason`); None when that fails too (the run then does not cache)."""
    warn_ignored(reason)
    if connection is not None:
        connection.close()
    directory = cache_dir(root)
    if directory is None:
        return None
    try:
        if _unsafe(directory) is not None:
            return None
        path = directory / CACHE_FILE
        _remove(path)
        db = _connect(path)
        return db if _prepare(db) is None else None
    except (OSError, sqlite3.Error):
        return None


def reconnect(root: Path) -> sqlite3.Connection | None:
    """A connection for a forked worker (a SQLite connection must not cross a fork);
    None when the database is not there as the parent left it."""
    directory = cache_dir(root)
    if directory is None:
        return None
    path = directory / CACHE_FILE
    try:
        if _unsafe(directory) is not None or _unsafe_file(path) is not None:
            return None
        return _connect(path)
    except (OSError, sqlite3.Error):
        return None
