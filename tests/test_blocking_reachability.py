"""The whole-project reachability behind AM250: shortest chains, cycles, hand-offs,
overrides, a generic leaf predicate, and caching with the index."""

from __future__ import annotations

import pytest

from asyncmigrate.analysis import Project
from asyncmigrate.reachability import Reachability


@pytest.fixture
def project(project_copy) -> Project:
    return Project.load(project_copy("blocking"))


def test_chains_are_shortest_and_cross_modules(project):
    reach = project.blocking_reachability
    assert reach.chain("inventory.services:load_item") == [
        "_repo.fetch_row",
        "sqlite3.Cursor.execute",
    ]
    assert reach.chain("inventory.repo:Repo.__init__") == ["sqlite3.connect"]
    # record -> check_levels -> restock -> record is a cycle; the search ends anyway
    assert reach.chain("inventory.audit:record") == [
        "check_levels",
        "services.restock",
        "_repo.update_qty",
        "sqlite3.Connection.execute",
    ]
    assert reach.chain("inventory.services:restock") == [
        "_repo.update_qty",
        "sqlite3.Connection.execute",
    ]


def test_cycles_without_blocking_calls_and_pure_functions_are_not_reached(project):
    reach = project.blocking_reachability
    for fid in (
        "inventory.audit:walk",
        "inventory.audit:walk_children",
        "inventory.services:needs_restock",
        "inventory.repo:row_to_dict",
        "inventory.storage:MemoryStorage.save",
    ):
        assert fid not in reach


def test_hand_offs_are_not_chains(project):
    reach = project.blocking_reachability
    # only passes restock to executor.submit
    assert "inventory.services:schedule_restock" not in reach
    # decorated with @sync_to_async: runs in a worker thread when called
    assert "inventory.workers:export_item" not in reach
    # async functions are never walked: their callers await them
    assert "inventory.api:get_item" not in reach


def test_a_base_method_reaches_through_its_overrides(project):
    assert project.blocking_reachability.chain("inventory.storage:Storage.save") == [
        "FileStorage.save",
        "pathlib.Path.write_bytes",
    ]


def test_the_leaf_predicate_is_generic(project):
    def returns_dicts(site):
        if site.callee is not None and site.callee.qualified == "inventory.repo.row_to_dict":
            return "row_to_dict"
        return None

    reach = Reachability.compute(project.call_graph, project.resolver, returns_dicts)
    assert reach.chains == {"inventory.services:load_item": ["row_to_dict"]}


def test_computed_once_and_cached_with_the_index(project_copy, monkeypatch):
    root = project_copy("blocking")
    first = Project.load(root).blocking_reachability
    assert "blocking_reachability" in Project.load(root).index.derived

    def must_not_recompute(*args, **kwargs):
        raise AssertionError("reachability was recomputed despite a valid cache")

    monkeypatch.setattr(Reachability, "compute", classmethod(must_not_recompute))
    assert Project.load(root).blocking_reachability.chains == first.chains
    monkeypatch.undo()

    # Any change to the project invalidates it.
    repo = root / "inventory" / "repo.py"
    repo.write_text(repo.read_text().replace("cur.execute(", "cur.executemany("))
    changed = Project.load(root).blocking_reachability
    assert changed.chain("inventory.repo:Repo.fetch_row") == ["sqlite3.Cursor.executemany"]


def test_changed_configuration_invalidates_the_cache(project_copy):
    root = project_copy("blocking")
    assert "inventory.services:legacy_price" in Project.load(root).blocking_reachability
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("inventory.legacy.*.lookup", "nothing.*"))
    assert "inventory.services:legacy_price" not in Project.load(root).blocking_reachability
