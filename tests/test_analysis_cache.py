"""Whole-project analyses: computed once per state of their inputs, and only then.

Their inputs are the files (the index fingerprint), the knowledge base
(`asyncmigrate/knowledge/*.toml`) and the configuration. A change to any of them
makes every cached analysis stale; linting a text that differs from the file on
disk (a fix round, an editor buffer) changes none of them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from asyncmigrate import catalogue
from asyncmigrate.analysis import Project
from asyncmigrate.reachability import Reachability
from asyncmigrate.shared_state import loop_reachability, rebinding_reachability, thread_local_reachability
from lint_rules import ALL_RULES
from lint_rules.engine import FileLinter

ANALYSES = {
    "blocking_reachability": lambda p: p.blocking_reachability,
    "global_rebinding_reachability": rebinding_reachability,
    "thread_local_reachability": thread_local_reachability,
    "nested_loop_reachability": loop_reachability,
}


@pytest.fixture
def computed(monkeypatch):
    """The names of the analyses computed (not served from a cache) since reset."""
    names: list[str] = []
    compute = Reachability.compute.__func__

    def counting(cls, graph, resolver, leaf):
        names.append(leaf)
        return compute(cls, graph, resolver, leaf)

    monkeypatch.setattr(Reachability, "compute", classmethod(counting))
    return names


def _all_analyses(root: Path) -> dict[str, dict]:
    project = Project.load(root)
    return {name: get(project).chains for name, get in ANALYSES.items()}


def test_a_second_run_serves_every_analysis_from_the_cache(project_copy, computed):
    root = project_copy("blocking")
    first = _all_analyses(root)
    assert len(computed) == len(ANALYSES)
    computed.clear()
    assert _all_analyses(root) == first
    assert computed == []


def test_editing_the_knowledge_base_invalidates_every_analysis(project_copy, computed, tmp_path, monkeypatch):
    root = project_copy("blocking")
    _all_analyses(root)
    computed.clear()

    # A copy of the knowledge base with one catalogue file edited, as a user editing
    # `knowledge/*.toml` in a checkout would.
    knowledge = tmp_path / "knowledge"
    shutil.copytree(Path(catalogue.__file__).parent / "knowledge", knowledge)
    with open(knowledge / "async_apis.toml", "a", encoding="utf-8") as f:
        f.write("\n# edited\n")
    monkeypatch.setattr(catalogue, "knowledge_dir", lambda: knowledge)

    _all_analyses(root)
    assert len(computed) == len(ANALYSES)


def test_editing_the_configuration_invalidates_every_analysis(project_copy, computed):
    root = project_copy("blocking")
    _all_analyses(root)
    computed.clear()
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'stop-at = ["inventory.api:*"]\n')
    _all_analyses(root)
    assert len(computed) == len(ANALYSES)


def test_linting_a_changed_text_keeps_the_whole_project_analyses(project_copy, computed):
    root = project_copy("blocking")
    project = Project.load(root)
    analyses = {name: get(project) for name, get in ANALYSES.items()}
    graph = project.call_graph
    computed.clear()

    path = root / "inventory" / "api.py"
    source = path.read_bytes() + b"\n\nasync def added():\n    import time\n    time.sleep(1)\n"
    view, module = project.for_source(path, source)

    # The view sees the new text ...
    assert "added" in view.index.module(module)["functions"]
    assert "added" not in project.index.module(module)["functions"]
    # ... and shares the analyses of the project as indexed.
    assert view.call_graph is graph
    assert {name: get(view) for name, get in ANALYSES.items()} == analyses
    assert project.for_source(path, path.read_bytes())[0] is project
    assert computed == []


def test_fix_rounds_do_not_recompute_whole_project_analyses(project_copy, computed):
    root = project_copy("blocking")
    path = root / "inventory" / "pause.py"
    path.write_text(
        "import time\n\n\nasync def pause():\n    time.sleep(1)\n\n\nasync def later():\n    time.sleep(2)\n"
    )
    project = Project.load(root)
    linter = FileLinter(project, ALL_RULES)
    prepared = len(computed)
    result = linter.fix(path, "pause.py", path.read_bytes())
    # Each AM201 fix edits the imports, a whole-module fix: one round each.
    assert result.fixes_applied == 2
    assert b"await asyncio.sleep(1)" in result.fixed and b"await asyncio.sleep(2)" in result.fixed
    assert len(computed) == prepared
