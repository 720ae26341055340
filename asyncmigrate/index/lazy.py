"""Index tables that read the cache database only for what a run asks.

`SummaryTable` maps a file's relative path to its summary, `ModuleNames` a module
name to the same summary, `DerivedTable` an analysis name to its cached result.
Each fetches a row the first time it is asked for it; iterating over every summary
fetches them all in one query. A row that cannot be trusted (`validate`) is
reported once, left out, and dropped from the database: the file it describes is
summarized again from disk.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..fileio import read_source
from . import cachedb
from .summary import SCHEMA, summarize

#: rows fetched per query when many are asked for at once (SQLite's default
#: limit on bound parameters is 999 in older builds)
_BATCH = 500


def _summary_types() -> dict[str, tuple[type, ...]]:
    """The types each field of a summary may have: as an empty module's summary has
    it (a field that is None there may also be a list), and an error's fields."""
    empty = summarize(b"", "_", False)
    types = {key: (list, type(None)) if value is None else (type(value),) for key, value in empty.items()}
    return {**types, "error": (str,), "error_at": (list,)}


_SUMMARY_TYPES = _summary_types()


def decode(text: Any) -> tuple[Any, str | None]:
    """The JSON value of a cached text, or why it has none."""
    if not isinstance(text, str):
        return None, "not JSON text"
    try:
        return json.loads(text), None
    except RecursionError:
        return None, "nested too deeply"
    except ValueError:
        return None, "not valid JSON"


def malformed(rel: str, summary: Any) -> str | None:
    """What is wrong with the shape of a cached summary; None when every field the
    index reads has its type (a summary's own fields, to the first level)."""
    if not isinstance(summary, dict):
        return f"malformed entry for {rel}"
    if summary.get("schema") != SCHEMA or not isinstance(summary.get("name"), str):
        return f"malformed summary of {rel}"
    for key, value in summary.items():
        if not isinstance(value, _SUMMARY_TYPES.get(key, ())):
            return f"malformed field `{key}` in the summary of {rel}"
    return None


class Rows:
    """The cache database of one project, as the index reads and writes it. A
    forked worker opens a connection of its own: one must not cross a fork."""

    def __init__(self, root: Path, connection: sqlite3.Connection):
        self.root = root
        self._connection: sqlite3.Connection | None = connection
        self._pid = os.getpid()
        self.warned = False

    @property
    def db(self) -> sqlite3.Connection | None:
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._connection = cachedb.reconnect(self.root)
        return self._connection

    def warn(self, reason: str) -> None:
        if not self.warned:
            self.warned = True
            cachedb.warn_ignored(reason)

    def _query(self, sql: str, keys: list[str]) -> list[tuple]:
        db = self.db
        if db is None:
            return []
        found: list[tuple] = []
        try:
            for start in range(0, len(keys), _BATCH):
                part = keys[start : start + _BATCH]
                marks = ",".join("?" * len(part))
                found += db.execute(sql.format(marks), part).fetchall()
        except sqlite3.Error as e:
            self.warn(f"cannot read the database: {e}")
            return []
        return found

    def _write(self, statements: list[tuple[str, list[tuple]]]) -> bool:
        """Run `statements` (each with its parameter rows) in one transaction;
        False when the database is busy or broken (nothing is then written)."""
        db = self.db
        if db is None:
            return False
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    if params:
                        db.executemany(sql, params)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        except sqlite3.Error:
            return False
        try:
            # Fold the log into the database file at once: the file alone then holds
            # the cache, so a damaged file is seen as damaged, not masked by the log.
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            pass  # another run is reading: a later write folds it in
        return True

    # -- modules -------------------------------------------------------------

    def metadata(self) -> dict[str, tuple[str, str, int, int, int]]:
        """rel -> (hash, name, size, mtime_ns, inode) of every cached module."""
        db = self.db
        if db is None:
            return {}
        try:
            rows = db.execute("SELECT rel, hash, name, size, mtime_ns, inode FROM modules").fetchall()
        except sqlite3.OperationalError:
            return {}  # busy: this run reads nothing from the cache
        except sqlite3.DatabaseError as e:
            # Damaged (a truncated file): start again from an empty database.
            self.warned = True
            self._connection = cachedb.reset(self.root, db, f"not a usable database: {e}")
            return {}
        known = {}
        for rel, digest, name, *meta in rows:
            if isinstance(digest, str) and isinstance(name, str) and all(isinstance(m, int) for m in meta):
                known[rel] = (digest, name, *meta)
        return known

    def summaries(self, rels: list[str]) -> dict[str, dict[str, Any]]:
        """The trusted cached summaries of `rels`; the others are reported (once)
        and dropped from the database."""
        found: dict[str, dict[str, Any]] = {}
        bad: list[tuple[str]] = []
        for rel, text in self._query("SELECT rel, summary FROM modules WHERE rel IN ({})", rels):
            summary, reason = decode(text)
            reason = reason or malformed(rel, summary)
            if reason is None:
                found[rel] = summary
            else:
                self.warn(reason)
                bad.append((rel,))
        if bad:
            self._write([("DELETE FROM modules WHERE rel = ?", bad)])
        return found

    def write_modules(
        self,
        parsed: list[tuple[str, str, str, tuple[int, int, int], dict[str, Any]]],
        touched: list[tuple[str, tuple[int, int, int]]],
        gone: set[str],
    ) -> None:
        if not (parsed or touched or gone):
            return
        self._write(
            [
                (
                    "INSERT OR REPLACE INTO modules VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (rel, digest, name, *meta, json.dumps(summary, separators=(",", ":")))
                        for rel, digest, name, meta, summary in parsed
                    ],
                ),
                (
                    "UPDATE modules SET size = ?, mtime_ns = ?, inode = ? WHERE rel = ?",
                    [(*meta, rel) for rel, meta in touched],
                ),
                ("DELETE FROM modules WHERE rel = ?", [(rel,) for rel in sorted(gone)]),
                ("DELETE FROM results WHERE rel = ?", [(rel,) for rel in sorted(gone)]),
            ]
        )

    # -- derived analyses ----------------------------------------------------

    def derived(self, name: str, fingerprint: str) -> Any:
        db = self.db
        try:
            rows = db.execute(
                "SELECT value FROM derived WHERE name = ? AND fingerprint = ?", (name, fingerprint)
            ).fetchall() if db is not None else []
        except sqlite3.Error as e:
            self.warn(f"cannot read the database: {e}")
            return None
        if not rows:
            return None
        value, reason = decode(rows[0][0])
        if reason is None and not isinstance(value, dict):
            reason = f"derived `{name}` is not an object"
        if reason is not None:
            self.warn(reason)
            self._write([("DELETE FROM derived WHERE name = ?", [(name,)])])
            return None
        return value

    def write_derived(self, name: str, fingerprint: str, value: Any) -> None:
        """Keep one result per analysis: the one of the project as it is now."""
        text = json.dumps(value, separators=(",", ":"))
        self._write(
            [
                ("DELETE FROM derived WHERE name = ?", [(name,)]),
                ("INSERT INTO derived VALUES (?, ?, ?)", [(name, fingerprint, text)]),
            ]
        )

    # -- per-file results ----------------------------------------------------

    def results(self, rels: list[str]) -> dict[str, tuple[str, str]]:
        rows = self._query("SELECT rel, key, value FROM results WHERE rel IN ({})", rels)
        return {rel: (key, value) for rel, key, value in rows if isinstance(key, str) and isinstance(value, str)}

    def write_results(self, items: list[tuple[str, str, str]]) -> None:
        self._write([("INSERT OR REPLACE INTO results VALUES (?, ?, ?)", items)])


class SummaryTable(Mapping):
    """rel -> summary: those computed in this run, else fetched from `rows` on
    first access. Copies (overlaid views) share what was fetched, since the rows
    are the same for both, but not what was put."""

    def __init__(self, rows: Rows | None = None):
        self._rows = rows
        #: rel -> the canonical module name (every file, loaded or not)
        self._names: dict[str, str] = {}
        self._own: dict[str, dict[str, Any]] = {}
        self._fetched: dict[str, dict[str, Any]] = {}

    def put(self, rel: str, name: str, summary: dict[str, Any] | None) -> None:
        self._names[rel] = name
        if summary is not None:
            self._own[rel] = summary
        else:
            self._own.pop(rel, None)

    def copy(self) -> "SummaryTable":
        table = SummaryTable(self._rows)
        table._names = dict(self._names)
        table._own = dict(self._own)
        table._fetched = self._fetched
        return table

    def _load(self, rels: list[str]) -> None:
        missing = [rel for rel in rels if rel not in self._own and rel not in self._fetched]
        if not missing:
            return
        found = self._rows.summaries(missing) if self._rows is not None else {}
        for rel in missing:
            summary = found.get(rel)
            self._fetched[rel] = summary if summary is not None else self._rebuild(rel)

    def _rebuild(self, rel: str) -> dict[str, Any]:
        """The summary of a file whose cached row was not usable, from disk."""
        name = self._names[rel]
        try:
            data = read_source(Path(self._rows.root if self._rows else ".", rel))
        except OSError as e:
            return {"schema": SCHEMA, "name": name, "error": f"cannot read: {e.strerror}"}
        return summarize(data, name, rel.endswith("__init__.py"))

    def __getitem__(self, rel: str) -> dict[str, Any]:
        summary = self._own.get(rel)
        if summary is not None:
            return summary
        if rel not in self._names:
            raise KeyError(rel)
        if rel not in self._fetched:
            self._load([rel])
        return self._fetched[rel]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, rel: object) -> bool:
        return rel in self._names

    def values(self):  # type: ignore[override]
        self._load(list(self._names))
        return [self[rel] for rel in self._names]

    def items(self):  # type: ignore[override]
        self._load(list(self._names))
        return [(rel, self[rel]) for rel in self._names]


class ModuleNames(Mapping):
    """module name -> summary, over a `SummaryTable`. The canonical name of a file
    wins over another file's alternative name for it."""

    def __init__(self, table: SummaryTable, files: dict[str, str] | None = None):
        self._table = table
        self._files: dict[str, str] = files if files is not None else {}

    def add(self, rel: str, names: list[str]) -> None:
        for name in names:
            if name not in self._files or name == names[0]:
                self._files[name] = rel

    def copy(self, table: SummaryTable) -> "ModuleNames":
        return ModuleNames(table, dict(self._files))

    def __getitem__(self, name: str) -> dict[str, Any]:
        return self._table[self._files[name]]

    def get(self, name: str, default: Any = None) -> Any:
        rel = self._files.get(name)
        return default if rel is None else self._table[rel]

    def __contains__(self, name: object) -> bool:
        return name in self._files

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)


class DerivedTable(Mapping):
    """analysis name -> its cached result for the project as on disk (`fingerprint`);
    setting one stores it."""

    def __init__(self, rows: Rows, fingerprint: str):
        self._rows = rows
        self._fingerprint = fingerprint
        self._values: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._values:
            self._values[name] = self._rows.derived(name, self._fingerprint)
        value = self._values[name]
        if value is None:
            raise KeyError(name)
        return value

    def __setitem__(self, name: str, value: Any) -> None:
        self._values[name] = value
        self._rows.write_derived(name, self._fingerprint, value)

    def __contains__(self, name: object) -> bool:
        try:
            self[name]  # type: ignore[index]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter([name for name, value in self._values.items() if value is not None])

    def __len__(self) -> int:
        return len(list(iter(self)))
