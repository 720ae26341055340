"""The project index: a summary of every module, cached on disk by content hash.

The cache is one JSON file under `<root>/.asyncmigrate_cache/` (never pickle: a
cache that unpickles could run code planted in a pull request). An entry is reused
when the file's content hash and module name match, so a second run on an unchanged
project parses nothing. Writes are atomic, so an interrupted run leaves the old cache.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .. import __version__
from ..config import Config
from ..fileio import atomic_write_text
from ..project import iter_python_files, module_names, relpath
from .summary import SCHEMA, summarize

CACHE_DIR = ".asyncmigrate_cache"
CACHE_FILE = "index.json"
_CACHE_KEY = f"{__version__}/{SCHEMA}"


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


@dataclass
class IndexStats:
    files: int = 0
    parsed: int = 0
    cached: int = 0


def _summarize_job(job: tuple[bytes, str, bool]) -> dict[str, Any]:
    source, name, is_package = job
    return summarize(source, name, is_package)


@dataclass
class ProjectIndex:
    """Summaries of every module under `root`, by module name and by relative path."""

    root: Path
    by_path: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_name: dict[str, dict[str, Any]] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    stats: IndexStats = field(default_factory=IndexStats)
    derived: dict[str, Any] = field(default_factory=dict)
    #: False under --no-cache: derived results then stay in memory too
    use_cache: bool = True
    #: the cache entries as on disk, and the fingerprint they have (derived
    #: results are written only while the index still agrees with the disk)
    _entries: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    _disk_fingerprint: str = ""
    _fingerprint: str | None = field(default=None, repr=False)

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
        view = ProjectIndex(
            root=self.root,
            by_path=dict(self.by_path),
            by_name=dict(self.by_name),
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

    def _add(self, rel: str, names: list[str], summary: dict[str, Any]) -> None:
        self._fingerprint = None
        self.by_path[rel] = summary
        for name in names:
            # The canonical name wins over another file's alternative name.
            if name not in self.by_name or name == summary["name"]:
                self.by_name[name] = summary

    # -- building ------------------------------------------------------------

    @classmethod
    def build(
        cls, config: Config, *, use_cache: bool = True, jobs: int = 1
    ) -> "ProjectIndex":
        root = config.root
        index = cls(root=root, use_cache=use_cache)
        cache = _read_cache(root) if use_cache else {}
        cached_files = cache.get("files", {})
        todo: list[tuple[str, list[str], bytes, str, bool]] = []
        entries: dict[str, dict[str, Any]] = {}
        files = iter_python_files(
            root, root, config.excludes, respect_gitignore=config.respect_gitignore
        )
        for path in files:
            rel = relpath(path, root)
            names = module_names(rel, root) or [path.stem]
            try:
                data = path.read_bytes()
            except OSError as e:
                summary = {"schema": SCHEMA, "name": names[0], "error": f"cannot read: {e.strerror}"}
                index._add(rel, names, summary)
                continue
            digest = content_hash(data)
            index.hashes[rel] = digest
            entry = cached_files.get(rel)
            if entry and entry["hash"] == digest and entry["summary"].get("name") == names[0]:
                index._add(rel, names, entry["summary"])
                entries[rel] = entry
                index.stats.cached += 1
            else:
                todo.append((rel, names, data, digest, rel.endswith("__init__.py")))
        index.stats.files = len(index.by_path) + len(todo)
        jobs_input = [(data, names[0], is_pkg) for _, names, data, _, is_pkg in todo]
        if jobs > 1 and len(todo) > 64:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                results = list(pool.map(_summarize_job, jobs_input, chunksize=16))
        else:
            results = [_summarize_job(job) for job in jobs_input]
        for (rel, names, _, digest, _), summary in zip(todo, results):
            index._add(rel, names, summary)
            entries[rel] = {"hash": digest, "summary": summary}
            index.stats.parsed += 1
        index._entries = entries
        index._disk_fingerprint = index.fingerprint
        if cache.get("fingerprint") == index._disk_fingerprint:
            index.derived = cache.get("derived", {})
        if use_cache and (todo or set(cached_files) != set(entries)):
            index._write_cache()
        return index

    def _write_cache(self) -> None:
        payload = {
            "key": _CACHE_KEY,
            "fingerprint": self._disk_fingerprint,
            "files": self._entries,
            "derived": self.derived,
        }
        _write_cache(self.root, payload)

    def save_derived(self, name: str, value: Any) -> None:
        """Cache a whole-project analysis result with the index it was computed from
        (an overlaid copy never writes: it no longer describes the files on disk)."""
        self.derived[name] = value
        if self.use_cache and self._entries and self.fingerprint == self._disk_fingerprint:
            self._write_cache()


def _read_cache(root: Path) -> dict[str, Any]:
    path = root / CACHE_DIR / CACHE_FILE
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("key") != _CACHE_KEY:
        return {}
    return data


def _write_cache(root: Path, payload: dict[str, Any]) -> None:
    directory = root / CACHE_DIR
    try:
        directory.mkdir(exist_ok=True)
        ignore = directory / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# Created by asyncmigrate\n*\n", encoding="utf-8")
        atomic_write_text(
            directory / CACHE_FILE, json.dumps(payload, separators=(",", ":"))
        )
    except OSError:
        # A read-only checkout still lints; it just cannot cache.
        pass

