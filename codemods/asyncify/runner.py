"""Running asyncify: load the project, plan once, rewrite files (in parallel), write.

Before anything is written, the rewritten program is checked in memory (`verify.py`)
and re-planned until it is clean. A file is written atomically, and only when the
rewritten text still compiles; a file that changed on disk since it was indexed is
skipped (its planned edits would land in the wrong places) and reported.
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import libcst as cst
from libcst.codemod import CodemodContext

from asyncmigrate.analysis import Project
from asyncmigrate.workers import parallel_map
from asyncmigrate.errors import UsageError
from asyncmigrate import fileio, syntax
from asyncmigrate.index.store import content_hash
from asyncmigrate.project import collect_targets, find_root

from . import verify
from .edits import FileEdits, Item
from .plan import AsyncifyPlan, Ban, PlanOptions, build_plan, target_rels
from .seeds import Seeds, load_profile, read_seed_file, resolve_seeds
from .testing import detect_style
from .transform import AsyncifyCommand


@dataclass
class AsyncifyRequest:
    paths: list[Path]
    seeds: list[str] = field(default_factory=list)
    seed_file: Path | None = None
    root: Path | None = None
    bridge: str | None = None
    stop_at: list[str] = field(default_factory=list)
    allow_override: list[str] = field(default_factory=list)
    offload: bool = False
    #: swap families not to apply ("all": none)
    no_swap: list[str] = field(default_factory=list)
    max_layer: int | None = None
    profile: Path | None = None
    config_file: Path | None = None
    use_cache: bool = True
    jobs: int = 1


@dataclass
class FileResult:
    rel: str
    old: bytes
    new: bytes | None = None  # None when unchanged or not written
    notes: list[Item] = field(default_factory=list)
    error: str | None = None

    @property
    def changed(self) -> bool:
        return self.new is not None and self.new != self.old


@dataclass
class Migration:
    """What a plan is made from; `plan(banned)` makes one (again, in later rounds)."""

    project: Project
    targets: set[str]
    seeds: Seeds
    options: PlanOptions

    def plan(self, banned: dict[str, Ban] | None = None) -> AsyncifyPlan:
        return build_plan(self.project, self.targets, self.seeds, self.options, banned)


#: plan -> rewrite -> check rounds before giving up on a clean result
MAX_CHECK_ROUNDS = 5


def converge(
    migration: Migration,
    jobs: int = 1,
    progress: Callable[[FileResult], None] | None = None,
) -> tuple[AsyncifyPlan, list[FileResult], list["verify.Problem"]]:
    """Plan, rewrite in memory and check the result (`verify.py`); a problem whose
    culprit is a converted function keeps that function sync in the next round.
    Returns the last round's plan, rewritten files and remaining problems."""
    banned: dict[str, Ban] = {}
    for _ in range(MAX_CHECK_ROUNDS):
        plan = migration.plan(banned)
        results = rewrite_all(migration.project, plan, jobs, progress)
        problems = verify.problems(migration.project, plan, results)
        fresh = {
            p.culprit: Ban(f"the converted program would have {p.code} at {p.path}:{p.line} ({p.message})")
            for p in problems
            if p.culprit is not None and p.culprit not in banned and not p.hazard
        }
        if not problems or not fresh:
            return plan, results, problems
        banned.update(fresh)
    return plan, results, problems


def prepare(request: AsyncifyRequest) -> Migration:
    fileio.check_paths(request.paths)
    root = (request.root or find_root(request.paths[0])).resolve()
    if not root.is_dir():
        raise UsageError(f"--root is not a directory: {root}")
    project = Project.load(root, config_file=request.config_file, use_cache=request.use_cache)
    config = project.config
    files = collect_targets(
        request.paths,
        root,
        config.excludes,
        respect_gitignore=config.respect_gitignore,
        force_exclude=config.force_exclude,
        on_excluded=_warn_excluded,
    )
    written = list(request.seeds)
    if request.seed_file is not None:
        written += read_seed_file(request.seed_file)
    seeds: Seeds = resolve_seeds(project, written)
    if request.profile is not None:
        load_profile(project, request.profile, seeds)
    families = project.catalogue.swaps.families
    unknown = set(request.no_swap) - set(families) - {"all"}
    if unknown:
        raise UsageError(
            f"--no-swap {', '.join(sorted(unknown))}: no such swap family (known: {', '.join(sorted(families))}, all)"
        )
    options = PlanOptions(
        bridge=request.bridge or config.bridge,
        offload=request.offload,
        no_swap=request.no_swap,
        max_layer=request.max_layer,
        stop_at=list(config.stop_at) + list(request.stop_at),
        allow_override=list(config.allow_override) + list(request.allow_override),
        test_style=detect_style(project, config.test_marker),
    )
    return Migration(project, target_rels(project, files), seeds, options)


def load(request: AsyncifyRequest) -> tuple[Project, AsyncifyPlan]:
    """The project and its plan, unchecked (`--plan`)."""
    migration = prepare(request)
    return migration.project, migration.plan()


def _warn_excluded(path: Path, why: str) -> None:
    """`force-exclude` in config skips a named path: say so, never silently."""
    import sys

    print(f"warning: {path} is excluded: it {why} (force-exclude); not rewritten", file=sys.stderr)


#: set by the SIGINT handler `rewrite_all` installs: LibCST may surface a Ctrl-C as
#: another exception, which must still stop the run, not become a file's error
_INTERRUPTED = False


def _note_interrupt(signum, frame) -> None:
    global _INTERRUPTED
    _INTERRUPTED = True
    raise KeyboardInterrupt


def rewrite(job: tuple[str, str, FileEdits, str | None]) -> FileResult:
    """Apply one file's edits; runs in a worker process."""
    root, rel, edits, expected_hash = job
    path = Path(root) / rel
    try:
        old = fileio.read_source(path)
    except OSError as e:
        return FileResult(rel, b"", error=f"cannot read: {e.strerror}")
    result = FileResult(rel, old)
    if expected_hash is not None and content_hash(old) != expected_hash:
        result.error = "changed on disk since it was analysed: skipped"
        return result
    try:
        module = cst.parse_module(old)
        command = AsyncifyCommand(CodemodContext(filename=str(path)), edits, module.code)
        new_module = _keep_docstring_gap(module, command.transform_module(module))
    except Exception as e:  # a file we cannot rewrite must not stop the others
        if _INTERRUPTED:  # Ctrl-C that LibCST turned into another exception
            raise KeyboardInterrupt from e
        result.error = f"cannot rewrite: {type(e).__name__}: {e}"
        return result
    result.notes = [Item(rel, line, text) for line, text in command.notes + command.missing()]
    new = new_module.bytes
    error = syntax.compile_error(new, str(path))
    if error is not None:
        result.error = f"result does not compile ({error}): not written"
        return result
    result.new = new
    return result


def _keep_docstring_gap(old: cst.Module, new: cst.Module) -> cst.Module:
    """Removing the first import after a docstring takes its blank line with it;
    put the blank line back so only the import changes. Removing the module's
    first statement (`import time`) leaves the next one's blank lines at the top
    of the file: drop them."""
    if new.body and old.body and not old.body[0].leading_lines and new.body[0].leading_lines:
        first = new.body[0]
        if all(line.comment is None for line in first.leading_lines):
            new = new.with_changes(body=[first.with_changes(leading_lines=[]), *new.body[1:]])
    if len(old.body) < 2 or len(new.body) < 2 or not old.body[1].leading_lines:
        return new
    if old.get_docstring(clean=False) is None:
        return new  # `import time` first: the import added after it needs no gap
    if old.body[0].deep_equals(new.body[0]) and not new.body[1].leading_lines:
        second = new.body[1].with_changes(leading_lines=old.body[1].leading_lines)
        return new.with_changes(body=[new.body[0], second, *new.body[2:]])
    return new


def rewrite_all(
    project: Project,
    plan: AsyncifyPlan,
    jobs: int = 1,
    progress: Callable[[FileResult], None] | None = None,
) -> list[FileResult]:
    work = [
        (str(project.root), rel, edits, project.index.hashes.get(rel))
        for rel, edits in sorted(plan.files.items())
    ]
    global _INTERRUPTED
    _INTERRUPTED = False  # this run's Ctrl-C only
    results: list[FileResult] = []
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, _note_interrupt) if main else None
    try:
        if jobs > 1 and len(work) > 8:
            for result in parallel_map(rewrite, work, jobs, chunksize=4):
                results.append(result)
                if progress:
                    progress(result)
        else:
            for job in work:
                result = rewrite(job)
                results.append(result)
                if progress:
                    progress(result)
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
    return results


def write(project: Project, results: Iterable[FileResult]) -> tuple[int, list[str]]:
    """Write the changed files as one change, all or none (`fileio.write_all`): a
    half-converted project does not run. Returns how many were written and the files
    a user changed since they were read (then none is written)."""
    changes = [
        (project.root / r.rel, r.new, r.old, r.rel)
        for r in results
        if r.changed and r.error is None and r.new is not None
    ]
    edited = fileio.write_all(changes)
    return (0 if edited else len(changes)), edited


def unified_diff(result: FileResult) -> str:
    return fileio.unified_diff(
        result.old.decode("utf-8", "replace"),
        (result.new or b"").decode("utf-8", "replace"),
        result.rel,
    )
