"""The project index: a summary of every module, cached on disk by content hash.

An entry is reused when the file's content hash and module name match, so a second
run on an unchanged project parses nothing. The cache holds facts the rules trust,
so whoever can write it can hide findings (a pull request that commits a cache with
a call record removed under the file's true hash). It therefore lives outside the
work tree, in the user's cache directory (`cache_dir`), in a folder of its own per
project (keyed by the project's real path and the tool's version), private to the
user (0700). Of the two ways to make it unforgeable this one was chosen over an
in-tree cache signed with a per-user HMAC key: both trust only what the user's own
runs wrote, but this one also leaves the work tree clean and has no key to manage.
CI restores the directory only from the main branch's cache (see the README).

Reading trusts nothing anyway: a folder or file that is a symlink, not the user's,
not a regular file, bigger than `MAX_CACHE_BYTES`, not JSON, nested too deeply
(the JSON decoder's own recursion guard), or of the wrong shape (`_malformed`) is
ignored with one line on stderr, and the index is rebuilt. Writes are atomic and
never follow a symlink, so an interrupted run leaves the old cache and nothing is
written outside the cache folder. The cache is JSON, never pickle: a cache that
unpickles could run code.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .. import __version__
from ..config import Config
from ..fileio import atomic_write_bytes, read_source
from ..project import iter_python_files, module_names, relpath
from ..workers import parallel_map
from .summary import SCHEMA, summarize

#: overrides where caches are kept (default: $XDG_CACHE_HOME/asyncmigrate, else
#: ~/.cache/asyncmigrate)
CACHE_ENV = "ASYNCMIGRATE_CACHE_DIR"
CACHE_FILE = "index.json"
#: a cache bigger than this is not read (a million-line project's is far smaller)
MAX_CACHE_BYTES = 512 * 2**20
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
                data = read_source(path)
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
            results = parallel_map(_summarize_job, jobs_input, jobs, chunksize=16)
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
    digest = hashlib.blake2b(f"{real}\0{_CACHE_KEY}".encode(), digest_size=12).hexdigest()
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


def _warn_ignored(reason: str) -> None:
    print(f"asyncmigrate: cache ignored ({reason}); rebuilding", file=sys.stderr)


def _read_cache(root: Path) -> dict[str, Any]:
    """The cache of `root` when it can be trusted, else {} (with one line on stderr
    unless there simply is none yet)."""
    directory = cache_dir(root)
    if directory is None:
        return {}
    try:
        reason = _unsafe(directory)
        if reason is None:
            data = read_source(directory / CACHE_FILE, MAX_CACHE_BYTES, follow_symlinks=False)
    except FileNotFoundError:
        return {}
    except OSError as e:
        reason = f"{CACHE_FILE} is a symlink" if e.errno == errno.ELOOP else f"{CACHE_FILE}: {e.strerror}"
    if reason is not None:
        _warn_ignored(reason)
        return {}
    try:
        payload = json.loads(data)
    except RecursionError:
        reason = "nested too deeply"
    except ValueError:  # UnicodeDecodeError too
        reason = "not valid JSON"
    else:
        reason = _malformed(payload)
    if reason is not None:
        _warn_ignored(reason)
        return {}
    return payload


def _summary_types() -> dict[str, tuple[type, ...]]:
    """The types each field of a summary may have: as an empty module's summary has
    it (a field that is None there may also be a list), and an error's fields."""
    empty = summarize(b"", "_", False)
    types = {key: (list, type(None)) if value is None else (type(value),) for key, value in empty.items()}
    return {**types, "error": (str,), "error_at": (list,)}


_SUMMARY_TYPES = _summary_types()


def _malformed(payload: Any) -> str | None:
    """What is wrong with the shape of a cache payload; None when every field the
    index reads has its type (a summary's own fields, to the first level)."""
    if not isinstance(payload, dict):
        return "not a JSON object"
    if payload.get("key") != _CACHE_KEY:
        return "written by another version"
    if not isinstance(payload.get("fingerprint"), str):
        return "`fingerprint` is not a string"
    if not isinstance(payload.get("derived"), dict):
        return "`derived` is not an object"
    files = payload.get("files")
    if not isinstance(files, dict):
        return "`files` is not an object"
    for rel, entry in files.items():
        summary = entry.get("summary") if isinstance(entry, dict) else None
        if not isinstance(summary, dict) or not isinstance(entry.get("hash"), str):
            return f"malformed entry for {rel}"
        if summary.get("schema") != SCHEMA or not isinstance(summary.get("name"), str):
            return f"malformed summary of {rel}"
        for key, value in summary.items():
            if not isinstance(value, _SUMMARY_TYPES.get(key, ())):
                return f"malformed field `{key}` in the summary of {rel}"
    return None


def _write_cache(root: Path, payload: dict[str, Any]) -> None:
    """Write the cache of `root`, never through a symlink: a folder that `_unsafe`
    rejects is left alone (the read has already said why)."""
    directory = cache_dir(root)
    if directory is None:
        return
    try:
        directory.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            pass
        if _unsafe(directory) is None:
            data = json.dumps(payload, separators=(",", ":")).encode("utf-8")
            atomic_write_bytes(directory / CACHE_FILE, data, follow_symlinks=False)
    except OSError:
        # A read-only cache directory still lints; it just cannot cache.
        pass
