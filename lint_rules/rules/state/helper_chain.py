"""How a call from async code reaches shared state through sync helpers (AM301, AM303)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import libcst as cst

from asyncmigrate.index.refpath import cst_ref_path, written
from asyncmigrate.index.values import Value, split_id
from asyncmigrate.shared_state import SharedState, is_sync_project_function, usage_chain

if TYPE_CHECKING:
    from asyncmigrate.analysis import Project
    from asyncmigrate.reachability import Reachability
    from lint_rules.rule import ProjectRule


def helper_chain(
    rule: "ProjectRule",
    call: cst.Call,
    label: "Callable[[Project], Callable[[str], str | None]]",
    reach: "Callable[[Project], Reachability]",
) -> tuple[Value, list[str]] | None:
    """The sync project function `call` runs and the chain by which it reaches the
    state that `label` names (directly, or through the shortest chain of `reach`);
    None when it does not."""
    project = rule.project
    target = rule.call_target(call)
    if not is_sync_project_function(project, target):
        return None
    if rule.context.module == split_id(target.name)[0]:
        # The helper is in the file being linted: its facts come from this text.
        SharedState.of(project).facts(rule.context.module, source=lambda: rule._module.bytes)  # type: ignore[attr-defined]
    first = written(cst_ref_path(call.func) or [target.qualified])
    chain = usage_chain(target.name, first, label(project), lambda: reach(project))
    return (target, chain) if chain else None
