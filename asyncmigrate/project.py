"""Where a project starts, which files belong to it, and what Python calls each one.

Module names follow the import system: a file's dotted name runs from the nearest
directory that is not a package (has no `__init__.py`), so `src/` layouts and test
directories work without configuration. Files under namespace directories are also
known by their path from the project root, which is how `import app.services.x`
reaches them.
"""

from __future__ import annotations

import copy
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from pathspec import GitIgnoreSpec

from .fileio import check_paths

ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git")


def find_root(path: Path) -> Path:
    """The nearest ancestor holding a project marker, else the top package's parent."""
    start = path.resolve()
    if not start.is_dir():
        start = start.parent
    for candidate in (start, *start.parents):
        # A package's own `setup.py` module (Home Assistant's) marks no project.
        in_package = (candidate / "__init__.py").exists()
        markers = [m for m in ROOT_MARKERS if not (in_package and m == "setup.py")]
        if any((candidate / marker).exists() for marker in markers):
            return candidate
    top = start
    while (top / "__init__.py").exists() and top.parent != top:
        top = top.parent
    return top


#: A directory holding this file is a virtualenv, whatever it is called.
VENV_MARKER = "pyvenv.cfg"


class PathFilter:
    """Which paths of a project are skipped: the exclude globs, virtualenvs, and (with
    `respect_gitignore`) what git ignores.

    Globs use gitignore syntax, matched by pathspec: one without a slash matches a
    file or directory name at any depth, one with a slash matches the path from the
    project root. Ignore files are read from the top of the git repository (else the
    project root) down to each directory walked: `.git/info/exclude`, then every
    `.gitignore`, a deeper one overriding a shallower one, as git does.
    """

    def __init__(self, root: Path, excludes: Iterable[str], respect_gitignore: bool = True):
        self.root = root.resolve()
        self.excludes = _Patterns(GitIgnoreSpec.from_lines(excludes))
        self.respect_gitignore = respect_gitignore
        git_top = _git_top(self.root) if respect_gitignore else None
        #: where ignore files are looked for, and what `rel` paths below are relative to
        self.top = git_top or self.root
        self._root_rel = relpath(self.root, self.top)
        #: (named directory, exclude patterns matched below it): see _unmasked_below
        self._floating: tuple[str, _Patterns] | None = None
        #: directory rel -> its ignore file's patterns (None: it has none)
        self._specs: dict[str, _Patterns | None] = {}
        self._chains: dict[str, tuple[tuple[str, _Patterns], ...]] = {}
        if git_top is not None:
            self._info_exclude = _read_ignore_file(git_top / ".git" / "info" / "exclude")
        else:
            self._info_exclude = None
        # An ignore file above the project that ignores the project itself (a project
        # in an ignored directory, a home directory under git that ignores `*`) is
        # about the outer repository: it must not empty this one.
        self._unmask_gitignore(_prefixes(self._root_rel, 0), move_floating=False)

    # -- single paths ----------------------------------------------------------

    def reason(self, path: Path) -> str | None:
        """Why `path`, or a directory it is in, is skipped; None when it is not.

        Only the part of the path below the project root is looked at.
        """
        rel = relpath(path, self.top)
        if not self._contains(rel):
            return None
        parts = rel.split("/") if rel else []
        start = len(self._root_rel.split("/")) if self._root_rel else 0
        for depth in range(start + 1, len(parts) + 1):
            sub = "/".join(parts[:depth])
            is_dir = depth < len(parts) or path.is_dir()
            why = self._skipped(sub, is_dir, str(self.top / sub))
            if why:
                return why if sub == rel else f"is in {self._shown(sub)}/, which {why}"
        return None

    # -- walking ---------------------------------------------------------------

    def walk(self, start: Path) -> Iterator[Path]:
        """Every `.py` file below the directory `start`, in a stable order.

        `start` itself is not checked (it was named), and neither are the patterns
        that skip it or a directory above it: they would skip everything below.
        Directory symlinks are not followed, so a symlink loop cannot hang the walk.
        A directory that cannot be listed is reported on stderr, not skipped quietly.
        """
        start_rel = relpath(start, self.top)
        if not self._contains(start_rel):
            # Outside the project: filter by the same globs, from `start` down.
            outside = PathFilter(start, self.excludes.lines(), self.respect_gitignore)
            yield from outside.walk(start)
            return
        view = self._unmasked_below(start_rel)
        for dirpath, dirnames, filenames in os.walk(start, onerror=_report_unlisted, followlinks=False):
            rel_dir = os.path.relpath(dirpath, start).replace(os.sep, "/")
            if rel_dir == ".":
                rel_dir = start_rel
            else:
                rel_dir = f"{start_rel}/{rel_dir}" if start_rel else rel_dir
            prefix = f"{rel_dir}/" if rel_dir else ""
            dirnames[:] = sorted(
                d for d in dirnames
                if not view._skipped(prefix + d, True, os.path.join(dirpath, d))
            )
            here = Path(dirpath)
            for name in sorted(filenames):
                if name.endswith(".py") and not view._skipped(prefix + name, False, None):
                    yield here / name

    # -- internals ---------------------------------------------------------------

    def _contains(self, rel: str) -> bool:
        """Whether `rel` (from the top) is the project root or below it."""
        if rel == ".." or rel.startswith("../"):
            return False
        root = self._root_rel
        return not root or rel == root or rel.startswith(root + "/")

    def _shown(self, rel: str) -> str:
        """`rel` (from the top) as a path from the project root, for messages."""
        return rel[len(self._root_rel) + 1:] if self._root_rel else rel

    def _skipped(self, rel: str, is_dir: bool, path: str | None) -> str | None:
        """Why the one entry `rel` (from the top) is skipped, its parents aside
        (`path`: where a directory is, to look for a virtualenv)."""
        mark = "/" if is_dir else ""
        include, pattern = self.excludes.check(self._shown(rel) + mark)
        if not include and self._floating is not None:
            start, floating = self._floating
            include, pattern = floating.check((rel[len(start) + 1:] if start else rel) + mark)
        if include:
            return f"matches the exclude pattern `{pattern}`"
        if is_dir and path is not None and os.path.isfile(os.path.join(path, VENV_MARKER)):
            return f"is a virtualenv ({VENV_MARKER})"
        if self.respect_gitignore:
            for base, spec in self._chain(rel.rpartition("/")[0]):
                below = rel[len(base) + 1:] if base and base != _INFO_EXCLUDE else rel
                include, pattern = spec.check(below + mark)
                if include:
                    return f"is ignored by {_ignore_file_name(base)} (`{pattern}`)"
                if include is not None:
                    break  # re-included by a `!pattern`
        return None

    def _chain(self, rel_dir: str) -> tuple[tuple[str, _Patterns], ...]:
        """The ignore specs that apply in directory `rel_dir`, deepest first."""
        chain = self._chains.get(rel_dir)
        if chain is None:
            if rel_dir:
                parent = self._chain(rel_dir.rpartition("/")[0])
            elif self._info_exclude is not None:
                parent = ((_INFO_EXCLUDE, self._info_exclude),)
            else:
                parent = ()
            spec = self._spec(rel_dir)
            chain = ((rel_dir, spec), *parent) if spec is not None else parent
            self._chains[rel_dir] = chain
        return chain

    def _spec(self, rel_dir: str) -> _Patterns | None:
        if rel_dir not in self._specs:
            self._specs[rel_dir] = _read_ignore_file(self.top / rel_dir / ".gitignore")
        return self._specs[rel_dir]

    def _unmasked_below(self, start_rel: str) -> "PathFilter":
        """This filter without the patterns that skip `start_rel` or a directory
        above it within the project, for walking a directory that was named."""
        depth = len(self._root_rel.split("/")) if self._root_rel else 0
        dirs = _prefixes(start_rel, depth)
        if not dirs:
            return self
        view = copy.copy(self)
        view.excludes, floating = self.excludes.without_matches([self._shown(d) + "/" for d in dirs])
        if floating:
            # A dropped pattern that matches a name at any depth still applies below
            # `start_rel` (build/ named, build/sub/build/ still skipped).
            view._floating = (start_rel, _Patterns(GitIgnoreSpec(floating)))
        view._specs = dict(self._specs)
        view._unmask_gitignore(dirs)
        return view

    def _unmask_gitignore(self, dirs: list[str], move_floating: bool = True) -> None:
        """Drop the ignore patterns that skip one of `dirs` (from the top; each a
        parent of the next) from the ignore files above the last of them; with
        `move_floating`, those that match a name at any depth still apply below it."""
        if not dirs or not self.respect_gitignore:
            return
        last = dirs[-1]
        moved: list = []
        for base, spec in reversed(self._chain(last)):  # shallowest first
            if base == last:
                continue  # its own patterns are about what is below it
            if base == _INFO_EXCLUDE or not base:
                below = [d + "/" for d in dirs]
            else:
                below = [d[len(base) + 1:] + "/" for d in dirs if d.startswith(base + "/")]
            masked, floating = spec.without_matches(below)
            moved += floating
            if base == _INFO_EXCLUDE:
                self._info_exclude = masked
            else:
                self._specs[base] = masked
        if moved and move_floating:
            own = self._spec(last)
            self._specs[last] = _Patterns(GitIgnoreSpec(moved + (own.spec.patterns if own else [])))
        self._chains = {}


#: the directories already reported as unreadable (the index and the lint targets
#: walk the same tree: one line each)
_UNLISTED: set[str] = set()


def _report_unlisted(error: OSError) -> None:
    where = str(error.filename)
    if where not in _UNLISTED:
        _UNLISTED.add(where)
        print(
            f"warning: cannot read directory {where}: {error.strerror or error}; the files in it are not checked",
            file=sys.stderr,
        )


def _prefixes(rel: str, depth: int) -> list[str]:
    """The directories `rel` is in or is, deeper than `depth` components: a/b/c ->
    [a, a/b, a/b/c] for depth 0."""
    parts = rel.split("/") if rel else []
    return ["/".join(parts[:n]) for n in range(depth + 1, len(parts) + 1)]


#: the chain key of `.git/info/exclude` (it applies from the top of the repository)
_INFO_EXCLUDE = "\0info/exclude"


def _ignore_file_name(base: str) -> str:
    if base == _INFO_EXCLUDE:
        return ".git/info/exclude"
    return f"{base}/.gitignore" if base else ".gitignore"


class _Patterns:
    """The patterns of one ignore file (or of the exclude globs), with one combined
    regex that answers "matches nothing", the common case, in one search."""

    def __init__(self, spec: GitIgnoreSpec):
        self.spec = spec
        active = [p for p in spec.patterns if p.include is not None]
        self._any = None
        # Without a `!pattern` the first match decides; with one, order matters and
        # pathspec decides every path.
        if active and all(p.include for p in active):
            try:
                self._any = re.compile(
                    "|".join(f"(?:{_NAMED_GROUP.sub('(?:', p.regex.pattern)})" for p in active)
                ).search
            except (AttributeError, re.error):
                self._any = None

    def check(self, path: str) -> tuple[bool | None, str]:
        """(True, pattern) when `path` is ignored, (False, pattern) when a `!pattern`
        re-includes it, (None, "") when no pattern matches it."""
        if self._any is not None and self._any(path) is None:
            return None, ""
        result = self.spec.check_file(path)
        if result.include is None or result.index is None:
            return None, ""
        return result.include, self.spec.patterns[result.index].pattern

    def lines(self) -> list[str]:
        return [p.pattern for p in self.spec.patterns]

    def without_matches(self, dirs: list[str]) -> "tuple[_Patterns, list]":
        """These patterns without those that ignore one of `dirs` (when one is), and
        the dropped ones that match a name at any depth (no slash but a last one)."""
        if not any(self.check(d)[0] for d in dirs):
            return self, []
        kept, floating = [], []
        for p in self.spec.patterns:
            if p.include and any(p.match_file(d) for d in dirs):
                if "/" not in p.pattern.rstrip("/"):
                    floating.append(p)
            else:
                kept.append(p)
        return _Patterns(GitIgnoreSpec(kept)), floating


#: a named group, made plain so that patterns can be joined into one regex
_NAMED_GROUP = re.compile(r"\(\?P<\w+>")


def _read_ignore_file(path: Path) -> _Patterns | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:  # absent, a directory, unreadable: nothing ignored by it
        return None
    spec = GitIgnoreSpec.from_lines(text.splitlines())
    return _Patterns(spec) if any(p.include is not None for p in spec.patterns) else None


def _git_top(start: Path) -> Path | None:
    """The top of the git work tree holding `start` (the nearest `.git`), if any."""
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def iter_python_files(
    path: Path, root: Path, excludes: Iterable[str], *, respect_gitignore: bool = True
) -> Iterator[Path]:
    """Every `.py` file below `path` in a stable order, skipping excluded directories
    (a file `path` is yielded as it is)."""
    if path.is_file():
        yield path
        return
    yield from PathFilter(root, excludes, respect_gitignore).walk(path)


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
    paths: Iterable[Path],
    root: Path,
    excludes: Iterable[str],
    *,
    respect_gitignore: bool = True,
    force_exclude: bool = False,
    on_excluded: Callable[[Path, str], None] | None = None,
) -> list[Path]:
    """The files named on the command line, expanded; a missing path is a usage error.

    A path named on the command line is used even when an exclude matches it (what
    is below a named directory is still filtered), as Ruff does: naming a file is
    asking for it. With `force_exclude` the excludes apply to named paths too, and
    each one skipped is passed to `on_excluded` with the reason, so that a run over
    nothing is never mistaken for a clean one.
    """
    path_filter = PathFilter(root, excludes, respect_gitignore)
    found: list[Path] = []
    seen: set[Path] = set()
    for path in paths:
        check_paths([path])
        if force_exclude:
            why = path_filter.reason(path)
            if why is not None:
                if on_excluded is not None:
                    on_excluded(path, why)
                continue
        if not path.is_dir() or path.is_symlink():
            # Anything but a directory is read as a file (a FIFO or a device is then
            # reported as not a regular file, never skipped without a word).
            candidates: Iterable[Path] = [path]
        else:
            candidates = path_filter.walk(path)
        for candidate in candidates:
            key = candidate.absolute()
            if key not in seen:
                seen.add(key)
                found.append(candidate)
    return found
