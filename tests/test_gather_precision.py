"""AM501/AM502 report only awaits that can really overlap (issue 13).

Each false-positive pattern seen on real code has a negative case in
`fixtures/gather_precision/hub/jobs.py`, next to positive cases that differ from it
in the one thing the rule must notice: the awaited coroutine never suspends, a
comment says the order is intended, the loop runs over a one-element constant,
every iteration acts on one shared object (or on objects from the iterable), the
await only starts something, the receivers are unknown or of a serialising kind.
"""

from __future__ import annotations

import ast
import json
import sqlite3
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES, run_cli

from asyncmigrate.analysis import Project
from asyncmigrate.index import store

JOBS = "hub/jobs.py"

REPORTED = {
    ("all_prices", "AM501"),  # a project coroutine that waits for the pricing service
    ("remote_prices", "AM501"),  # ... through another project coroutine; "in order to" is no intent
    ("two_regions", "AM501"),  # a two-element literal
    ("pages", "AM501"),  # one aiohttp.ClientSession: made for concurrent requests
    ("dashboard", "AM502"),  # two known, different, non-serialising receivers
    ("through_the_base", "AM502"),  # Store.load returns at once, but an override waits
    ("per_database", "AM501"),  # a different connection in each iteration
    ("fetch_entries", "AM501"),  # `async_` marks a coroutine; `fetch` is no ordered verb
    ("load_components", "AM501"),  # a different component to set up in each iteration
}


def _function_at(tree: ast.Module, line: int) -> str:
    for node in tree.body:
        if isinstance(node, ast.AsyncFunctionDef) and node.lineno <= line <= node.end_lineno:
            return node.name
    raise AssertionError(f"no function at line {line}")


def _lint(root: Path, *extra: str) -> list[dict]:
    result = run_cli(str(root), "--select", "AM501,AM502", "--format", "json", *extra)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def _reported(root: Path, findings: list[dict]) -> set[tuple[str, str]]:
    tree = ast.parse((root / JOBS).read_text())
    assert all(f["path"].endswith(JOBS) for f in findings), findings
    return {(_function_at(tree, f["line"]), f["code"]) for f in findings}


def _negatives() -> set[str]:
    tree = ast.parse((FIXTURES / "gather_precision" / JOBS).read_text())
    functions = {n.name for n in tree.body if isinstance(n, ast.AsyncFunctionDef)}
    return functions - {name for name, _ in REPORTED}


@pytest.fixture(scope="module")
def reported(tmp_path_factory) -> set[tuple[str, str]]:
    """The (function, code) pairs of one CLI run over a copy of the fixture."""
    root = tmp_path_factory.mktemp("precision") / "gather_precision"
    shutil.copytree(FIXTURES / "gather_precision", root)
    return _reported(root, _lint(root))


def test_only_awaits_that_can_overlap_are_reported(reported):
    assert reported == REPORTED


@pytest.mark.parametrize(
    "function",
    sorted(
        [
            "cached_prices",  # awaits a coroutine that only returns a value
            "looked_up",  # ... that only awaits such a coroutine
            "polite",  # "await these one by one so the API is not flooded"
            "throttled",  # "no gather here because ..." on the loop's line
            "one_region",  # a one-element literal
            "configured_regions",  # a module constant bound to one
            "regroup_all",  # one shared device for every iteration
            "refresh_all",  # receivers from the iterable: maybe one object twice
            "launch",  # each await only starts a server
            "settle",  # asyncio.sleep(0) only yields to the loop
            "both_cursors",  # two cursors of one connection, types unknown
            "typed_cursors",  # a cursor class serialises its calls
            "unknown_services",  # unknown receiver types: the safe answer
            "one_is_cached",  # one of the two never suspends
            "memory_only",  # a store whose load never suspends
            "in_order",  # "in order: ..." above the statements
            "shared_connection",  # one connection handed to every iteration
            "same_connection",  # ... and to both statements
            "sync_all",  # each call holds one module-level lock
            "load_platforms",  # ... one lock named in the linted file
            "remove_entries",  # `async_remove_*` is a `remove`: ordered
            "validated",  # validation rarely waits, and gates what follows
            "one_api",  # one library client handed to both calls
            "registry_app",  # (a helper, no loop)
            "load_entries",  # one component: only the first iteration sets it up
        ]
    ),
)
def test_false_positive_pattern_is_not_reported(reported, function):
    assert function in _negatives()
    assert function not in {name for name, _ in reported}


def test_every_function_of_the_fixture_is_a_case():
    cases = test_false_positive_pattern_is_not_reported.pytestmark[0].args[1]
    assert _negatives() == set(cases)


def test_the_unsafe_fix_leaves_the_cursors_alone(project_copy):
    root = project_copy("gather_precision")
    before = (root / JOBS).read_text()
    result = run_cli(str(root), "--select", "AM501,AM502", "--fix", "--unsafe-fixes")
    assert result.returncode in (0, 1), result.stderr
    after = (root / JOBS).read_text()
    assert after != before  # the positive cases are rewritten
    for kept in (
        "    r1 = await cur1.fetchall()\n    r2 = await cur2.fetchall()\n",
        "    profile = await users.get(uid)\n    orders = await shop.recent_orders(uid)\n",
        "        await device.regroup(group)\n",
        '    users = await count_rows(conn, "users")\n    orders = await count_rows(conn, "orders")\n',
    ):
        assert kept in after
    assert _lint(root) == []


def test_suspension_is_a_whole_project_fact(project_copy):
    root = project_copy("gather_precision")
    project = Project.load(root, use_cache=True)
    suspends = {
        name: project.may_suspend(f"hub.{name}")
        for name in (
            "prices:fetch_price",
            "prices:remote_price",
            "prices:cached_price",
            "prices:lookup",
            "prices:yield_once",
            "devices:Store.load",
            "devices:RemoteStore.load",
            "devices:MemoryStore.load",
        )
    }
    assert suspends == {
        "prices:fetch_price": True,  # asyncio.sleep(LATENCY)
        "prices:remote_price": True,  # awaits fetch_price, in the same module
        "prices:cached_price": False,
        "prices:lookup": False,
        "prices:yield_once": False,  # sleep(0): one turn of the loop
        "devices:Store.load": True,  # an override waits
        "devices:RemoteStore.load": True,
        "devices:MemoryStore.load": False,
    }
    # Waits only behind a once-only guard (`if component not in LOADED:`).
    assert project.waits_only_when("hub.devices:load_platform") == ("LOADED", "component")
    assert project.waits_only_when("hub.prices:fetch_price") is None
    # Computed once and cached with the index, keyed by its content.
    Project.load(root, use_cache=True)
    db = sqlite3.connect(store.cache_dir(root) / store.CACHE_FILE)
    (text,) = db.execute("SELECT value FROM derived WHERE name = 'never_suspending'").fetchone()
    db.close()
    assert "hub.prices:cached_price" in json.loads(text)["ids"]


def test_an_await_that_is_not_a_call_suspends(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\n')
    (tmp_path / "app.py").write_text(
        "async def quick():\n"
        "    return 1\n"
        "\n"
        "\n"
        "async def waits(future):\n"
        "    await quick()\n"
        "    return await future\n"
        "\n"
        "\n"
        "class Plugin:\n"
        "    async def handle(self, event):\n"
        "        raise NotImplementedError\n"
    )
    project = Project.load(tmp_path, use_cache=False)
    assert not project.may_suspend("app:quick")
    assert project.may_suspend("app:waits")  # `await future` is not in the index's calls
    assert project.may_suspend("app:Plugin.handle")  # a stub: the real body is an override
