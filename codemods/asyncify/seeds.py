"""Where propagation starts: `--seed`, `--seed-file` and `--profile` reports.

A seed names a function or method as `module.path:Qualified.name` (the index's
function id). Seeds are checked against the index here, so a typo is a usage error
(exit 2) rather than a run that silently converts nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from asyncmigrate.analysis import Project
from asyncmigrate.catalogue import PROTOCOLS
from asyncmigrate.errors import UsageError
from asyncmigrate.index.values import join_id, split_id

_SEED = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


@dataclass
class Seeds:
    #: project functions (inside or outside PATH) that are, or must become, async
    functions: set[str] = field(default_factory=set)
    #: qualified names of external async APIs (`netlib.Client.get`)
    external: set[str] = field(default_factory=set)
    #: profile sites: (function id, line, call qualified name or None, total ms)
    profile_sites: list[tuple[str, int, str | None, float]] = field(default_factory=list)
    #: profile entries that matched no project function (reported)
    unmatched: list[str] = field(default_factory=list)


def read_seed_file(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise UsageError(f"cannot read seed file {path}: {e.strerror}") from e
    seeds = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            seeds.append(line)
    return seeds


def resolve_seeds(project: Project, written: Iterable[str]) -> Seeds:
    """Check each `module:Qual.name` against the index."""
    seeds = Seeds()
    for seed in written:
        if not _SEED.match(seed):
            raise UsageError(
                f"bad seed {seed!r}: expected module.path:Qualified.name (e.g. shop.db:Store.load)"
            )
        module, qualname = split_id(seed)
        summary = project.index.module(module)
        if summary is None:
            # Not a project module: an external async API whose calls are awaited.
            seeds.external.add(project.catalogue.normalize(seed.replace(":", ".")))
            continue
        if "functions" not in summary:
            raise UsageError(f"seed {seed}: module {module} does not parse")
        canonical = join_id(summary["name"], qualname)
        if qualname in summary["functions"]:
            seeds.functions.add(canonical)
            continue
        owner, _, name = qualname.rpartition(".")
        # A seed on a protocol dunder means "instances are used with async with /
        # async for"; after a first run the class has the async names.
        renamed = PROTOCOLS.async_dunders.get(name)
        if owner and owner in summary["classes"] and renamed:
            if f"{owner}.{renamed}" in summary["functions"]:
                continue  # converted by an earlier run
        raise UsageError(f"unknown seed {seed}: no such function or method in {module}")
    return seeds


def function_at(project: Project, path: Path, line: int) -> str | None:
    """The innermost project function whose definition spans `line` of `path`."""
    summary = project.index.module_for_path(path)
    if summary is None or "functions" not in summary:
        return None
    best = None
    for qualname, fn in summary["functions"].items():
        if fn["line"] <= line <= (fn.get("end_line") or fn["line"]):
            if best is None or fn["line"] >= summary["functions"][best]["line"]:
                best = qualname
    return join_id(summary["name"], best) if best else None


def load_profile(project: Project, report: Path, seeds: Seeds) -> None:
    """Add the sites of a runtime-finder report (schema version 1) to `seeds`."""
    try:
        data: Any = json.loads(report.read_text(encoding="utf-8"))
    except OSError as e:
        raise UsageError(f"cannot read profile {report}: {e.strerror}") from e
    except ValueError as e:
        raise UsageError(f"profile {report} is not JSON: {e}") from e
    if (
        not isinstance(data, dict)
        or data.get("version") != 1
        or not isinstance(data.get("sites"), list)
    ):
        raise UsageError(f'profile {report}: expected {{"version": 1, "sites": [...]}}')
    for site in data["sites"]:
        try:
            path, line = Path(site["file"]), int(site["line"])
        except (KeyError, TypeError, ValueError):
            raise UsageError(f"profile {report}: a site lacks file/line: {site!r}") from None
        fid = function_at(project, path, line)
        if fid is None:
            seeds.unmatched.append(f"{path}:{line}")
            continue
        seeds.profile_sites.append(
            (fid, line, site.get("call"), float(site.get("total_ms") or 0.0))
        )
