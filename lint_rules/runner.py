"""The lint run: which files, which rules, in parallel, and what to do with fixes.

Cross-module rules need the whole project even when pre-commit names only the
changed files, so the run always builds (or loads from cache) the index of every
project that a named path belongs to, and lints only the named files.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from asyncmigrate.analysis import Project
from asyncmigrate.config import Config, load_config
from lint_rules.diagnostics import PARSE_ERROR, Diagnostic
from asyncmigrate import fileio
from asyncmigrate.project import collect_targets, find_root, relpath

from . import ALL_RULES
from .engine import FileLinter, FileResult, decode_source

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


@dataclass
class LintOutcome:
    diagnostics: list[Diagnostic]
    results: list[FileResult]
    files: int
    #: the codes that were checked (enabled rules and AM001)
    codes: set[str] = field(default_factory=set)

    @property
    def fixed(self) -> int:
        return sum(r.fixes_applied for r in self.results if r.fixed is not None)


def rule_enabled(code: str, default_on: bool, config: Config) -> bool:
    """Ruff-style selection by code prefix; a later, longer match wins.

    Rules that are off by default run only when their exact code is selected.
    """
    selected = [*config.select, *config.extend_select]
    best_select = max((len(p) for p in selected if code.startswith(p)), default=-1)
    best_ignore = max((len(p) for p in config.ignore if code.startswith(p)), default=-1)
    if best_select < 0 or best_ignore >= best_select:
        return False
    if not default_on:
        return code in config.select or code in config.extend_select
    return True


def select_rules(config: Config) -> list[type]:
    return [
        rule for rule in ALL_RULES if rule_enabled(rule.CODE, rule.DEFAULT_ENABLED, config)
    ]


# Worker state, inherited by forked workers instead of being pickled per task.
_LINTERS: dict[Path, FileLinter] = {}


def _lint_one(job: tuple[Path, Path, str, bool]) -> FileResult:
    root, path, display, fix = job
    linter = _LINTERS[root]
    try:
        source = path.read_bytes()
    except OSError as e:
        reason = e.strerror or str(e)
        diag = Diagnostic(display, 1, 1, 1, 1, PARSE_ERROR, f"cannot read file: {reason}")
        return FileResult(path, display, [diag])
    try:
        if fix:
            return linter.fix(path, display, source)
        return linter.lint(path, display, source)
    except RecursionError:
        diag = Diagnostic(display, 1, 1, 1, 1, PARSE_ERROR, "file is too deeply nested to analyse")
        return FileResult(path, display, [diag])


def _targets(request: LintRequest) -> list[tuple[Path, Path, str]]:
    """(root, file, display path) for every file named, directories expanded."""
    jobs = []
    for given in request.paths:
        path = Path(given)
        fileio.check_paths([given])
        root = find_root(path)
        config = _config(root, request)
        for file in collect_targets([path], root, config.excludes):
            if path.is_dir():
                display = os.path.join(given, relpath(file, path))
            else:
                display = given
            jobs.append((root, file, display))
    return jobs


_configs: dict[Path, Config] = {}


def _config(root: Path, request: LintRequest) -> Config:
    if root not in _configs:
        config = load_config(root, request.config_file)
        if request.select is not None:
            config.select = request.select
            config.extend_select = []
        if request.ignore is not None:
            config.ignore = [*config.ignore, *request.ignore]
        config.exclude = [*config.exclude, *request.exclude]
        _configs[root] = config
    return _configs[root]


def run(request: LintRequest) -> LintOutcome:
    _configs.clear()
    targets = _targets(request)
    jobs = request.jobs or os.cpu_count() or 1
    codes = {PARSE_ERROR}
    for root in {root for root, _, _ in targets}:
        config = _config(root, request)
        project = Project.load(root, config=config, use_cache=request.use_cache, jobs=jobs)
        rules = select_rules(config)
        codes.update(rule.CODE for rule in rules)
        _LINTERS[root] = FileLinter(project, rules, unsafe_fixes=request.unsafe_fixes)
        _LINTERS[root].fix_texts = request.fix_texts
    fix = request.fix or request.diff
    work = [(root, path, display, fix) for root, path, display in targets]
    if jobs > 1 and len(work) >= PARALLEL_THRESHOLD and _can_fork():
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            results = list(pool.map(_lint_one, work, chunksize=8))
    else:
        results = [_lint_one(job) for job in work]
    diagnostics = sorted(d for r in results for d in r.diagnostics)
    return LintOutcome(diagnostics, results, len(work), codes)


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
        result.path, result.fixed, result.display, unless_changed_from=result.original
    ):
        return True
    print(f"warning: {result.display} changed during the run; not fixed", file=sys.stderr)
    return False


def write_fixes(outcome: LintOutcome) -> list[FileResult]:
    """Write every fixed file; returns those written."""
    return [r for r in outcome.results if r.fixed is not None and write_fix(r)]

