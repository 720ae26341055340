"""The lint run: which files, which rules, in parallel, and what to do with fixes.

Cross-module rules need the whole project even when pre-commit names only the
changed files, so the run always builds (or loads from cache) the index of every
project that a named path belongs to, and lints only the named files.

A file's findings are cached with the index (`FindingsCache`), keyed by its
content, the whole project's fingerprint, the configuration, the selected rules
and the tool's code: a run in which nothing changed parses nothing, and the
rules' whole-project analyses are not even prepared.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sys
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

from asyncmigrate.analysis import Project
from asyncmigrate.config import Config, check_gather_style, load_config
from lint_rules.diagnostics import INTERNAL_ERROR, PARSE_ERROR, UNUSED_NOQA, Diagnostic
from asyncmigrate import fileio
from asyncmigrate.errors import UsageError
from asyncmigrate.index.store import content_hash
from asyncmigrate.resultkeys import code_fingerprint
from asyncmigrate.project import PathFilter, collect_targets, find_root, relpath
from asyncmigrate.workers import parallel_map

from .engine import FileLinter, FileResult, decode_source
from .selection import check_codes, check_config, rule_enabled, select_rules

#: Below this many files a process pool costs more than it saves.
PARALLEL_THRESHOLD = 24


@dataclass
class LintRequest:
    paths: Sequence[str]
    select: list[str] | None = None
    ignore: list[str] | None = None
    fix: bool = False
    unsafe_fixes: bool = False
    diff: bool = False
    use_cache: bool = True
    jobs: int = 0
    config_file: Path | None = None
    exclude: list[str] = field(default_factory=list)
    #: give fixable diagnostics their replacement text (SARIF `fixes`)
    fix_texts: bool = False
    extend_select: list[str] = field(default_factory=list)
    extend_ignore: list[str] = field(default_factory=list)
    #: path glob -> code prefixes (`--per-file-ignores GLOB:CODES`)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    target_version: str | None = None
    extend_exclude: list[str] = field(default_factory=list)
    #: None: as configured (`respect-gitignore`, `force-exclude`)
    respect_gitignore: bool | None = None
    force_exclude: bool | None = None
    #: the text read for the path `-`, linted as `stdin_filename` (default `-`)
    stdin: bytes | None = None
    stdin_filename: str | None = None
    #: told how many files are linted (not served from the cache), then of each
    #: one done: a progress bar on a terminal (`cli.TerminalProgress`)
    progress: Progress | None = None


class Progress:
    """What the run reports while it lints; nothing by default."""

    def start(self, total: int) -> None:
        pass

    def advance(self, result: FileResult) -> None:
        pass


@dataclass
class LintOutcome:
    diagnostics: list[Diagnostic]
    results: list[FileResult]
    files: int
    #: the codes that were checked (enabled rules and AM001)
    codes: set[str] = field(default_factory=set)
    #: the result for the text read from stdin (`-`), which is never written back
    stdin: FileResult | None = None

    @property
    def fixed(self) -> int:
        return sum(r.fixes_applied for r in self.results if r.fixed is not None)


# Worker state, inherited by forked workers instead of being pickled per task.
_LINTERS: dict[Path, FileLinter] = {}


def _lint_one(job: tuple[Path, Path, str, bool, bytes | None]) -> FileResult:
    root, path, display, fix, source = job
    linter = _LINTERS[root]
    try:
        if source is None:
            source = fileio.read_source(path)
    except OSError as e:
        reason = e.strerror or str(e)
        return _file_finding(path, display, PARSE_ERROR, f"cannot read file: {reason}")
    try:
        if fix:
            return linter.fix(path, display, source)
        result = linter.lint(path, display, source)
        result.source_hash = content_hash(source)
        return result
    except RecursionError:
        return _file_finding(path, display, PARSE_ERROR, "file is too deeply nested to analyse")
    except Exception as e:  # noqa: BLE001 - one file's crash must not end the run
        return _file_finding(path, display, INTERNAL_ERROR, _internal_error(e))


def _file_finding(path: Path, display: str, code: str, message: str) -> FileResult:
    return FileResult(path, display, [Diagnostic(display, 1, 1, 1, 1, code, message)])


def _internal_error(error: Exception) -> str:
    """AM003's message: the exception and where it was raised (what a bug report
    needs first), and the request to report it."""
    frame = traceback.extract_tb(error.__traceback__)[-1]
    where = f"{'/'.join(Path(frame.filename).parts[-3:])}:{frame.lineno}"
    text = " ".join(str(error).split()) or "(no message)"
    return (
        f"internal error, file not checked: {type(error).__name__}: {text} (at {where}); "
        "this is a bug in asyncmigrate: please report it with this file"
    )


#: (root, file, display path, its text when it is not read from the file)
Target = tuple[Path, Path, str, "bytes | None"]


class FindingsCache:
    """Each file's findings, stored with the index of its project.

    A file's key covers its content hash, the fingerprint of the whole project
    (every file's hash: the cross-module facts its findings may depend on, taken
    whole as the first safe step, so any edit re-lints every file), the
    configuration, the selected codes, the knowledge base and the tool's code. The
    path as the user named it is not stored: it is given back on the way out.
    """

    def __init__(self, project: Project, codes: list[str], unsafe_fixes: bool):
        self.index = project.index
        self.root = project.root
        settings = json.dumps(asdict(project.config), default=str, sort_keys=True)
        parts = [
            code_fingerprint("asyncmigrate", "lint_rules"),
            project.analysis_key,
            settings,
            ",".join(codes),
            str(unsafe_fixes),
            self.index.fingerprint,
        ]
        self.base = hashlib.blake2b("\0".join(parts).encode(), digest_size=16).hexdigest()

    def _key(self, digest: str) -> str:
        return f"{self.base}:{digest}"

    def lookup(self, targets: list[Target]) -> dict[int, FileResult]:
        """The cached results of `targets`, by position in the list."""
        rels = {i: relpath(t[1], self.root) for i, t in enumerate(targets)}
        stored = self.index.cached_results(sorted(set(rels.values())))
        found = {}
        for i, (_, path, display, _) in enumerate(targets):
            rel = rels[i]
            digest = self.index.hashes.get(rel)
            entry = stored.get(rel)
            if digest is None or entry is None or entry[0] != self._key(digest):
                continue
            diagnostics = _decoded(display, entry[1])
            if diagnostics is None:
                self.index.cache_problem(f"malformed findings of {rel}")
            else:
                found[i] = FileResult(path, display, diagnostics)
        return found

    def store(self, linted: list[tuple[Target, FileResult]]) -> None:
        """Cache the results of files linted as the index saw them (a file that
        changed since, or whose check crashed, is not cached)."""
        items = []
        for (_, path, _, _), result in linted:
            rel = relpath(path, self.root)
            digest = result.source_hash
            if digest is None or digest != self.index.hashes.get(rel):
                continue
            if any(d.code == INTERNAL_ERROR for d in result.diagnostics):
                continue
            rows = [
                [d.line, d.column, d.end_line, d.end_column, d.code, d.message, d.fixable, d.scope]
                for d in result.diagnostics
            ]
            items.append((rel, self._key(digest), json.dumps(rows, separators=(",", ":"))))
        self.index.save_results(items)


_FIELD_TYPES = (int, int, int, int, str, str, bool, str)


def _decoded(display: str, text: str) -> list[Diagnostic] | None:
    """The findings of a cached text, None when it is not of their shape."""
    try:
        rows = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(rows, list):
        return None
    found = []
    for row in rows:
        if not (
            isinstance(row, list)
            and len(row) == len(_FIELD_TYPES)
            and all(type(v) is t for v, t in zip(row, _FIELD_TYPES))
        ):
            return None
        found.append(Diagnostic(display, *row))
    return found


def _targets(request: LintRequest) -> tuple[list[Target], int]:
    """The files to lint, directories expanded, and how many named paths were
    skipped (with --force-exclude; each is reported on stderr)."""
    if "-" in request.paths:
        return _stdin_target(request)
    if request.stdin_filename is not None:
        raise UsageError("--stdin-filename names the text read from stdin: pass `-` as the path")
    jobs: list[Target] = []
    skipped: list[Path] = []
    empty: list[str] = []
    for given in request.paths:
        path = Path(given)
        fileio.check_paths([given])
        root = find_root(path)
        config = _config(root, request)
        files = collect_targets(
            [path],
            root,
            config.excludes,
            respect_gitignore=config.respect_gitignore,
            force_exclude=config.force_exclude,
            on_excluded=lambda p, why: skipped.append(_warn_excluded(p, why)),
        )
        if not files and path.is_dir() and not (skipped and skipped[-1] == path):
            empty.append(given)
        for file in files:
            if path.is_dir():
                display = os.path.join(given, relpath(file, path))
            else:
                display = given
            jobs.append((root, file, display, None))
    if jobs:  # with no files at all, run() says so as an error
        for given in empty:
            print(f"warning: {given} holds no Python files to check (none there, or all excluded)", file=sys.stderr)
    return jobs, len(skipped)


def _stdin_target(request: LintRequest) -> tuple[list[Target], int]:
    """The text on stdin, linted as the file `--stdin-filename` of its project (which
    need not exist): cross-module rules see the project with this text in it."""
    if len(request.paths) > 1:
        raise UsageError("`-` (read from stdin) cannot be combined with other paths")
    given = request.stdin_filename or "-"
    path = Path(given)
    root = find_root(path)
    config = _config(root, request)
    if config.force_exclude:
        why = PathFilter(root, config.excludes, config.respect_gitignore).reason(path)
        if why is not None:
            _warn_excluded(path, why)
            return [], 1
    return [(root, path, given, request.stdin or b"")], 0


def _warn_excluded(path: Path, why: str) -> Path:
    print(f"warning: {path} is excluded: it {why} (--force-exclude); not checked", file=sys.stderr)
    return path


_configs: dict[Path, Config] = {}


def _config(root: Path, request: LintRequest) -> Config:
    if root not in _configs:
        config = load_config(root, request.config_file)
        check_config(config)
        for option, codes in (
            ("--select", request.select),
            ("--ignore", request.ignore),
            ("--extend-select", request.extend_select),
            ("--extend-ignore", request.extend_ignore),
        ):
            check_codes(codes or (), option)
        for glob, codes in request.per_file_ignores.items():
            check_codes(codes, f"--per-file-ignores {glob}")
        if request.select is not None:
            config.select = request.select
            config.extend_select = []
        if request.ignore is not None:
            config.ignore = [*config.ignore, *request.ignore]
        config.extend_select = [*config.extend_select, *request.extend_select]
        config.extend_ignore = [*config.extend_ignore, *request.extend_ignore]
        for glob, codes in request.per_file_ignores.items():
            config.per_file_ignores[glob] = [*config.per_file_ignores.get(glob, []), *codes]
        if request.target_version:
            config.target_version = request.target_version
            check_gather_style(config, "--target-version")
        config.exclude = [*config.exclude, *request.exclude]
        config.extend_exclude = [*config.extend_exclude, *request.extend_exclude]
        if request.respect_gitignore is not None:
            config.respect_gitignore = request.respect_gitignore
        if request.force_exclude is not None:
            config.force_exclude = request.force_exclude
        _configs[root] = config
    return _configs[root]


def run(request: LintRequest) -> LintOutcome:
    _configs.clear()
    targets, skipped = _targets(request)
    if not targets:
        # A gate that checked nothing must not pass.
        if skipped:
            raise UsageError("no Python files to check: every path named is excluded (--force-exclude)")
        raise UsageError(
            f"no Python files to check in {' '.join(request.paths)} (none there, or all "
            "excluded or ignored by .gitignore)"
        )
    jobs = request.jobs or os.cpu_count() or 1
    codes = {PARSE_ERROR, INTERNAL_ERROR}
    fix = request.fix or request.diff
    # Only plain lint runs of files on disk are cached: fixes and SARIF fix texts
    # carry more than the findings.
    cacheable = request.use_cache and not fix and not request.fix_texts and request.stdin is None
    caches: dict[Path, FindingsCache] = {}
    results: list[FileResult | None] = [None] * len(targets)
    for root in sorted({target[0] for target in targets}):
        config = _config(root, request)
        project = Project.load(root, config=config, use_cache=request.use_cache, jobs=jobs)
        rules = select_rules(config)
        unused = rule_enabled(config, UNUSED_NOQA, False)
        rule_codes = {rule.CODE for rule in rules} | ({UNUSED_NOQA} if unused else set())
        codes.update(rule_codes)
        mine = [i for i, target in enumerate(targets) if target[0] == root]
        if cacheable:
            caches[root] = FindingsCache(project, sorted(rule_codes), request.unsafe_fixes)
            for i, result in caches[root].lookup([targets[i] for i in mine]).items():
                results[mine[i]] = result
        if all(results[i] is not None for i in mine):
            continue  # every finding cached: no rule needs preparing
        _LINTERS[root] = FileLinter(project, rules, unsafe_fixes=request.unsafe_fixes)
        _LINTERS[root].fix_texts = request.fix_texts
        _LINTERS[root].unused_noqa = unused
    todo = [i for i, result in enumerate(results) if result is None]
    work = [(*targets[i][:3], fix, targets[i][3]) for i in todo]
    progress = request.progress or Progress()
    progress.start(len(work))
    if jobs > 1 and len(work) >= PARALLEL_THRESHOLD and _can_fork():
        context = multiprocessing.get_context("fork")
        linted = parallel_map(
            _lint_one, work, jobs, chunksize=8, mp_context=context, on_result=progress.advance
        )
    else:
        linted = []
        for job in work:
            linted.append(_lint_one(job))
            progress.advance(linted[-1])
    for i, result in zip(todo, linted):
        results[i] = result
    for root, cache in caches.items():
        cache.store([(targets[i], results[i]) for i in todo if targets[i][0] == root])
    done = [r for r in results if r is not None]
    diagnostics = sorted(d for r in done for d in r.diagnostics)
    stdin = done[0] if "-" in request.paths else None
    return LintOutcome(diagnostics, done, len(done), codes, stdin)


def linter_for(path: Path) -> FileLinter:
    """The linter of the project `path` belongs to, as a plain run would configure it
    (for adapters that are handed one file at a time, such as flake8)."""
    root = find_root(path)
    if root not in _LINTERS:
        config = load_config(root)
        project = Project.load(root, config=config)
        _LINTERS[root] = FileLinter(project, select_rules(config))
    return _LINTERS[root]


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def unified_diff(result: FileResult) -> str:
    assert result.fixed is not None and result.original is not None
    return fileio.unified_diff(
        decode_source(result.original), decode_source(result.fixed), result.display
    )


def write_fix(result: FileResult) -> bool:
    """Write one fixed file atomically; False when it changed since it was read (the
    user's edit wins). A file that cannot be written ends the run (UsageError)."""
    assert result.fixed is not None
    if fileio.write_result(
        result.path, result.fixed, result.display, expected=result.original
    ):
        return True
    print(f"warning: {result.display} changed during the run; not fixed", file=sys.stderr)
    return False


def write_fixes(outcome: LintOutcome) -> list[FileResult]:
    """Write every fixed file; returns those written."""
    return [r for r in outcome.results if r.fixed is not None and write_fix(r)]

