"""Where a project starts, which files belong to it, and what Python calls each one.

Module names follow the import system: a file's dotted name runs from the nearest
directory that is not a package (has no `__init__.py`), so `src/` layouts and test
directories work without configuration. Files under namespace directories are also
known by their path from the project root, which is how `import app.services.x`
reaches them.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from .fileio import check_paths

ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git")


def find_root(path: Path) -> Path:
    """The nearest ancestor holding a project marker, else the top package's parent."""
    start = path.resolve()
    if not start.is_dir():
        start = start.parent
    for candidate in (start, *start.parents):
        if any((candidate / marker).exists() for marker in ROOT_MARKERS):
            return candidate
    top = start
    while (top / "__init__.py").exists() and top.parent != top:
        top = top.parent
    return top


class Excludes:
    """Exclude globs, compiled once: a glob without `/` matches any path component,
    one with `/` matches the relative path (or a directory prefix of it)."""

    def __init__(self, patterns: Iterable[str]):
        components, paths = [], []
        for pattern in patterns:
            pattern = pattern.strip("/")
            if "/" in pattern:
                paths.append(fnmatch.translate(pattern))
                paths.append(fnmatch.translate(pattern + "/*"))
            else:
                components.append(fnmatch.translate(pattern))
        self._component = re.compile("|".join(components)) if components else None
        self._path = re.compile("|".join(paths)) if paths else None

    def component(self, name: str) -> bool:
        return bool(self._component and self._component.match(name))

    def path(self, relpath: str) -> bool:
        return bool(self._path and self._path.match(relpath))

    def __call__(self, relpath: str) -> bool:
        return self.path(relpath) or any(self.component(p) for p in relpath.split("/"))


def iter_python_files(
    path: Path, root: Path, excludes: Iterable[str]
) -> Iterator[Path]:
    """Every `.py` file below `path` in a stable order, skipping excluded directories.

    Directory symlinks are not followed, so a symlink loop cannot hang the walk.
    """
    excluded = Excludes(excludes)
    if path.is_file():
        yield path
        return
    start = relpath(path, root)
    if start and excluded(start):
        return
    for dirpath, dirnames, filenames in os.walk(path, followlinks=False):
        here = Path(dirpath)
        rel_dir = os.path.relpath(dirpath, path).replace(os.sep, "/")
        rel_dir = start if rel_dir == "." else (f"{start}/{rel_dir}" if start else rel_dir)
        # Directories already walked passed the check, so only the new component and
        # the path patterns need testing.
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not excluded.component(d)
            and not excluded.path(f"{rel_dir}/{d}" if rel_dir else d)
        )
        for name in sorted(filenames):
            if not name.endswith(".py"):
                continue
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if not excluded.component(name) and not excluded.path(rel):
                yield here / name


def relpath(path: Path, root: Path) -> str:
    """`path` relative to `root` with forward slashes ('' for the root itself).

    Only the directory part is resolved: the file itself may be a symlink (even a
    dangling or looping one, which is reported when it is read).
    """
    path = Path(os.path.abspath(path))
    path = path.parent.resolve() / path.name if path.name else path.resolve()
    root = root.resolve()
    try:
        rel = path.relative_to(root)
    except ValueError:
        rel = Path(os.path.relpath(path, root))
    text = rel.as_posix()
    return "" if text == "." else text


def module_names(rel: str, root: Path) -> list[str]:
    """Dotted names under which the file `rel` (relative to `root`) can be imported.

    The first name is canonical: from the nearest non-package ancestor. The path from
    the root (and from `src/`) follows when it differs, for namespace packages.
    """
    parts = rel[:-3].split("/") if rel.endswith(".py") else rel.split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    directory_parts = rel.split("/")[:-1]
    # Walk up while the directory is a package.
    start = len(directory_parts)
    while start > 0 and (root / "/".join(directory_parts[:start]) / "__init__.py").exists():
        start -= 1
    names = []
    canonical = parts[start:]
    if canonical:
        names.append(".".join(canonical))
    for prefix in (0, 1 if parts and parts[0] == "src" else None):
        if prefix is None:
            continue
        alt = parts[prefix:]
        if alt and ".".join(alt) not in names:
            names.append(".".join(alt))
    return names


def collect_targets(
    paths: Iterable[Path], root: Path, excludes: Iterable[str]
) -> list[Path]:
    """The files named on the command line, expanded; a missing path is a usage error."""
    excludes = tuple(excludes)
    found: list[Path] = []
    seen: set[Path] = set()
    for path in paths:
        check_paths([path])
        if path.is_file() or path.is_symlink():
            candidates: Iterable[Path] = [path]
        else:
            candidates = iter_python_files(path, root, excludes)
        for candidate in candidates:
            key = candidate.absolute()
            if key not in seen:
                seen.add(key)
                found.append(candidate)
    return found
