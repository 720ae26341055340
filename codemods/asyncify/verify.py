"""asyncify checks its own result before writing it.

The converted texts are read as a project in memory (`Project.with_sources`) and the
AM1xx rules run over every file the conversion touches: the rewritten files and the
files that call a converted function. A finding there that the original program did
not have (a coroutine never awaited, a coroutine called from sync code, `with`/`for`
over an object that now only works with `async with`/`async for`) means the result
is broken. When its culprit is a function this run converted, the next round keeps
that function sync; otherwise nothing is written. A hazard (AM207: a `threading`
lock the converted code holds across `await`) is listed for the user instead.

The rules live in `lint_rules`, above this layer: they are found through the
`asyncmigrate.verifiers` entry point, never imported.
"""

from __future__ import annotations

from collections import Counter
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Callable, Iterable, NamedTuple

from asyncmigrate import fileio
from asyncmigrate.analysis import Project
from asyncmigrate.catalogue import PROTOCOLS
from asyncmigrate.errors import UsageError
from asyncmigrate.index import records
from asyncmigrate.index.values import join_id

from .plan import AsyncifyPlan

GROUP = "asyncmigrate.verifiers"


class Problem(NamedTuple):
    """A finding in the converted program that the original did not have."""

    path: str
    line: int
    code: str
    message: str
    #: the converted function that causes it, when the tool can tell
    culprit: str | None
    #: a hazard (a lock held across `await`) is told to the user; it blocks nothing
    hazard: bool = False

    def render(self) -> str:
        return f"{self.path}:{self.line}: {self.code} {self.message}"


def _checker() -> Callable[[Project, dict[str, bytes]], list[Any]]:
    found = sorted(entry_points(group=GROUP), key=lambda ep: ep.name)
    if not found:
        raise UsageError(
            f"asyncify cannot check its result: no `{GROUP}` entry point (reinstall asyncmigrate)"
        )
    return found[0].load()


def problems(project: Project, plan: AsyncifyPlan, results: Iterable[Any]) -> list[Problem]:
    """What would be broken if `results` (the rewritten files) were written."""
    results = list(results)
    new_texts = {r.rel: r.new for r in results if r.changed and r.error is None}
    if not new_texts:
        return []
    touched = set(new_texts) | _caller_files(project, plan)
    before = {rel: _read(project.root / rel) for rel in touched}
    before = {rel: text for rel, text in before.items() if text is not None}
    after_project = project.with_sources(new_texts)
    after = {rel: new_texts.get(rel, text) for rel, text in before.items()}
    check = _checker()
    old = Counter((f.path, f.code, f.message) for f in check(project, before))
    found = []
    for finding in check(after_project, after):
        key = (finding.path, finding.code, finding.message)
        if old[key]:
            old[key] -= 1
            continue
        culprit = None if finding.hazard else _culprit(after_project, plan, finding)
        found.append(Problem(finding.path, finding.line, finding.code, finding.message, culprit, finding.hazard))
    return found


def _caller_files(project: Project, plan: AsyncifyPlan) -> set[str]:
    rel_of = {s["name"]: rel for rel, s in project.index.by_path.items()}
    graph = project.call_graph
    return {
        rel_of[site.module]
        for fid in plan.functions
        for site in graph.calls_to(fid)
        if site.module in rel_of
    }


def _read(path: Path) -> bytes | None:
    try:
        return fileio.read_source(path)
    except OSError:
        return None


def _culprit(project: Project, plan: AsyncifyPlan, finding: Any) -> str | None:
    """The converted function called where `finding` starts (in the converted text),
    or whose `with`/`for` use is there; failing that, the first converted function
    called inside its span (a generator expression that `await` made async)."""
    rel, line, column = finding.path, finding.line, finding.column
    summary = project.index.by_path.get(rel)
    if summary is None or "functions" not in summary:
        return None
    module = summary["name"]
    scopes = [(q, f["calls"]) for q, f in summary["functions"].items()]
    scopes.append((None, summary.get("module_calls", [])))
    inside: list[tuple[int, int, str]] = []
    for scope, calls in scopes:
        for call in records.calls(calls):
            at = (call.line, call.column)
            if not (line, column) <= at <= (finding.end_line, finding.end_column):
                continue
            target = project.resolver.call_target(module, scope, call.path)
            if target is not None and target.kind == "function" and target.name in plan.functions:
                if at == (line, column):
                    return target.name
                inside.append((*at, target.name))
            if at == (line, column) and target is not None and target.kind == "class":
                for dunder in ("__aenter__", "__aiter__", "__init__"):
                    method = project.resolver.method_in_mro(target.name, dunder)
                    if method is not None and _converted(plan, method):
                        return _converted(plan, method)
    for qualname, fn in summary["functions"].items():
        for use in records.uses(fn):
            if use.line == line and use.path:
                value = project.resolver.value_of(module, qualname, list(use.path))
                if value is not None and value.kind == "function" and value.name in plan.functions:
                    return value.name
                if value is not None and value.kind == "instance":
                    for dunder in ("__aenter__", "__aiter__"):
                        method = project.resolver.method_in_mro(value.name, dunder)
                        if method is not None and _converted(plan, method):
                            return _converted(plan, method)
    return min(inside)[2] if inside else None


def _converted(plan: AsyncifyPlan, fid: str) -> str | None:
    """`fid`, or the sync dunder it was renamed from (`__aenter__` <- `__enter__`)."""
    if fid in plan.functions:
        return fid
    module, _, qualname = fid.partition(":")
    owner, _, name = qualname.rpartition(".")
    original = {new: old for old, new in PROTOCOLS.async_dunders.items()}.get(name)
    if original is None:
        return None
    renamed = join_id(module, f"{owner}.{original}" if owner else original)
    return renamed if renamed in plan.functions else None
