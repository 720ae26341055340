"""The project index: a summary of every module, cached on disk by content hash.

An entry is reused when the file's content hash and module name match, so a second
run on an unchanged project parses nothing; a file whose size, mtime and inode are
those recorded is not even read. Summaries are loaded when first asked for (a
pre-commit run that finds its findings cached loads none).

The cache holds facts the rules trust, so whoever can write it can hide findings (a
pull request that commits a cache with a call record removed under the file's true
hash). It therefore lives outside the work tree, in the user's cache directory
(`cache_dir`), in a folder of its own per project (keyed by the project's real path
and the tool's version), private to the user (0700). Of the two ways to make it
unforgeable this one was chosen over an in-tree cache signed with a per-user HMAC
key: both trust only what the user's own runs wrote, but this one also leaves the
work tree clean and has no key to manage. CI restores the directory only from the
main branch's cache (see the README).

Reading trusts nothing anyway (`cachedb` checks the folder and the database file):
a row that is not JSON, nested too deeply, or of the wrong shape (`lazy.malformed`) is
reported with one line on stderr, not used, and dropped so the next run rebuilds it.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..config import Config
from ..fileio import read_source
from ..project import iter_python_files, module_names, relpath
from ..workers import parallel_map
from . import cachedb
from .cachedb import CACHE_ENV, CACHE_FILE, MAX_CACHE_BYTES, cache_dir, cache_home  # noqa: F401
from .lazy import DerivedTable, ModuleNames, Rows, SummaryTable
from .summary import SCHEMA, summarize

_CACHE_KEY = cachedb.CACHE_KEY
#: a file changed this recently may change again within the clock's granularity
#: without its mtime moving: its metadata is not recorded, so it is hashed again
_RACY_NS = 2_000_000_000


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


@dataclass
class IndexStats:
    files: int = 0
    parsed: int = 0
    cached: int = 0
    #: files whose content was read to hash it (the rest matched their metadata)
    hashed: int = 0


class _RelativePaths:
    """`relpath(path, root)` for many files, resolving each directory once: only
    the directory part is resolved, so a file's path is its directory's, then its
    name (a million-line project has thousands of files in hundreds of folders)."""

    def __init__(self, root: Path):
        self.root = root
        self._folders: dict[str, str] = {}

    def __call__(self, path: Path) -> str:
        folder, name = os.path.split(os.path.abspath(path))
        base = self._folders.get(folder)
        if base is None:
            # The relative path of a stand-in file in that folder, without its name.
            base = self._folders[folder] = relpath(Path(folder, "_"), self.root)[:-1]
        return base + name


def _summarize_job(job: tuple[bytes, str, bool]) -> dict[str, Any]:
    source, name, is_package = job
    return summarize(source, name, is_package)


@dataclass
class ProjectIndex:
    """Summaries of every module under `root`, by module name and by relative path."""

    root: Path
    by_path: SummaryTable = field(default_factory=SummaryTable)
    by_name: ModuleNames = field(default=None)  # type: ignore[assignment]
    hashes: dict[str, str] = field(default_factory=dict)
    stats: IndexStats = field(default_factory=IndexStats)
    derived: Any = field(default_factory=dict)
    #: False under --no-cache: derived results then stay in memory too
    use_cache: bool = True
    #: the cache database (None without a cache), and the fingerprint the disk has
    #: (derived results are written only while the index still agrees with it)
    _db: Rows | None = field(default=None, repr=False)
    _disk_fingerprint: str = ""
    _fingerprint: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.by_name is None:
            self.by_name = ModuleNames(self.by_path)

    def module(self, name: str) -> dict[str, Any] | None:
        return self.by_name.get(name)

    def summaries(self) -> Iterator[dict[str, Any]]:
        return iter(self.by_path.values())

    def module_for_path(self, path: Path) -> dict[str, Any] | None:
        return self.by_path.get(relpath(path, self.root))

    def overlaid(self, rel: str, names: list[str], source: bytes) -> "ProjectIndex":
        """A copy of the index in which file `rel` holds `source` (an editor buffer,
        a fix in progress, a file changed during the run). The copy never writes the
        cache: it no longer describes the files on disk."""
        by_path = self.by_path.copy()
        view = ProjectIndex(
            root=self.root,
            by_path=by_path,
            by_name=self.by_name.copy(by_path),
            hashes=dict(self.hashes),
            use_cache=False,
        )
        view.hashes[rel] = content_hash(source)
        view._add(rel, names, summarize(source, names[0], rel.endswith("__init__.py")))
        return view

    @classmethod
    def of_source(cls, root: Path, rel: str, names: list[str], source: bytes) -> "ProjectIndex":
        """An index of one text that is not on disk (a rule example, stdin)."""
        return cls(root=root, use_cache=False).overlaid(rel, names, source)

    @property
    def fingerprint(self) -> str:
        """A hash of every file's content: the key for whole-project analyses.

        Rules ask for it per call site, so it is computed once per state of
        `hashes` (`_add` is the one place that follows a change to them).
        """
        if self._fingerprint is None:
            digest = hashlib.blake2b(digest_size=16)
            for rel in sorted(self.hashes):
                digest.update(f"{rel}\0{self.hashes[rel]}\n".encode())
            self._fingerprint = digest.hexdigest()
        return self._fingerprint

    def _add(self, rel: str, names: list[str], summary: dict[str, Any] | None) -> None:
        """Record file `rel` under its module names; a None summary is read from the
        cache when first asked for."""
        self._fingerprint = None
        self.by_path.put(rel, names[0], summary)
        self.by_name.add(rel, names)

    # -- building ------------------------------------------------------------

    @classmethod
    def build(
        cls, config: Config, *, use_cache: bool = True, jobs: int = 1
    ) -> "ProjectIndex":
        root = config.root
        connection = cachedb.open_cache(root) if use_cache else None
        rows = Rows(root, connection) if connection is not None else None
        index = cls(root=root, by_path=SummaryTable(rows), use_cache=use_cache, _db=rows)
        known = rows.metadata() if rows is not None else {}
        todo: list[tuple[str, list[str], bytes, str, tuple[int, int, int]]] = []
        touched: list[tuple[str, tuple[int, int, int]]] = []
        files = iter_python_files(
            root, root, config.excludes, respect_gitignore=config.respect_gitignore
        )
        now = time.time_ns()
        rel_of = _RelativePaths(root)
        for path in files:
            rel = rel_of(path)
            names = module_names(rel, root) or [path.stem]
            row = known.get(rel)
            try:
                info = os.stat(path)
                meta = (info.st_size, info.st_mtime_ns, info.st_ino)
                if row is not None and row[1] == names[0] and row[2:] == meta and meta[1]:
                    index.hashes[rel] = row[0]
                    index._add(rel, names, None)
                    index.stats.cached += 1
                    continue
                data = read_source(path)
            except OSError as e:
                summary = {"schema": SCHEMA, "name": names[0], "error": f"cannot read: {e.strerror}"}
                index._add(rel, names, summary)
                continue
            index.stats.hashed += 1
            digest = content_hash(data)
            index.hashes[rel] = digest
            if now - meta[1] < _RACY_NS:
                meta = (meta[0], 0, meta[2])
            if row is not None and row[0] == digest and row[1] == names[0]:
                index._add(rel, names, None)
                index.stats.cached += 1
                if row[2:] != meta:
                    touched.append((rel, meta))
            else:
                todo.append((rel, names, data, digest, meta))
        index.stats.files = len(index.by_path) + len(todo)
        jobs_input = [(data, names[0], rel.endswith("__init__.py")) for rel, names, data, _, _ in todo]
        if jobs > 1 and len(todo) > 64:
            results = parallel_map(_summarize_job, jobs_input, jobs, chunksize=16)
        else:
            results = [_summarize_job(job) for job in jobs_input]
        for (rel, names, _, _, _), summary in zip(todo, results):
            index._add(rel, names, summary)
            index.stats.parsed += 1
        index._disk_fingerprint = index.fingerprint
        if rows is not None:
            gone = set(known) - set(index.hashes)
            parsed = [
                (rel, digest, names[0], meta, summary)
                for (rel, names, _, digest, meta), summary in zip(todo, results)
            ]
            rows.write_modules(parsed, touched, gone)
            index.derived = DerivedTable(rows, index._disk_fingerprint)
        return index

    def save_derived(self, name: str, value: Any) -> None:
        """Cache a whole-project analysis result with the index it was computed from
        (an overlaid copy never writes: it no longer describes the files on disk)."""
        self.derived[name] = value

    # -- per-file results (the lint findings cache) ----------------------------

    def cached_results(self, rels: list[str]) -> dict[str, tuple[str, str]]:
        """The stored (key, JSON text) of each of `rels` that has one."""
        return self._db.results(rels) if self._db is not None and self.use_cache else {}

    def cache_problem(self, reason: str) -> None:
        """Report (once per run) a cached entry that is not used: it is rebuilt."""
        if self._db is not None:
            self._db.warn(reason)

    def save_results(self, items: list[tuple[str, str, str]]) -> None:
        """Store (rel, key, JSON text) for each item, while the index describes the
        files on disk; a run that cannot write does not cache."""
        if self._db is not None and self.use_cache and items:
            self._db.write_results(items)
