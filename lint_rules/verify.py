"""The AM1xx rules as a check of a program that is not on disk: what asyncify runs
over its own result before writing it (un-awaited coroutines, coroutines called from
sync code, `with`/`for` over async-only objects). AM207 runs too, as a hazard: a
`threading` lock now held across `await` is reported to the user, not a reason to
write nothing (it deadlocks only when two tasks meet there).

Codemods never import lint rules (the layers point the other way), so asyncify finds
this function through the `asyncmigrate.verifiers` entry point.
"""

from __future__ import annotations

from typing import NamedTuple

from asyncmigrate.analysis import Project

from .engine import FileLinter
from .rules.blocking import BlockingThreadWait
from .rules.coroutines import CoroutineCalledFromSync, SyncWithOrForOnAsync, UnawaitedCoroutine

#: the rules whose findings mean a converted program is broken
CHECKS = (UnawaitedCoroutine, CoroutineCalledFromSync, SyncWithOrForOnAsync)
#: the rules whose findings the user must hear about, but that break nothing for sure
HAZARDS = (BlockingThreadWait,)


class Finding(NamedTuple):
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    code: str
    message: str
    hazard: bool = False


def coroutine_findings(project: Project, files: dict[str, bytes]) -> list[Finding]:
    """The CHECKS' findings in `files` (path relative to the root -> text), each file
    read as `project` holds it (`project.with_sources` for texts not on disk)."""
    linter = FileLinter(project, (*CHECKS, *HAZARDS))
    hazards = {rule.CODE for rule in HAZARDS}
    found = []
    for rel, text in sorted(files.items()):
        for d in linter.lint(project.root / rel, rel, text).diagnostics:
            found.append(Finding(rel, d.line, d.column, d.end_line, d.end_column, d.code, d.message, d.code in hazards))
    return found
