"""asyncify never leaves a broken program (issue 11), shown by running it.

Each case in `fixtures/asyncify_closed/` is a small app whose sync original broke
asyncify in the past: items of a generator built by a conditional expression
(`cart`), a `for` over a call that becomes a coroutine returning a list (`rows`), and
calls it could not bridge or see (`settings`: a class body run at import time, a
module outside PATH). The converted tree must equal the expected one, compile, be
stable under a second run, print what the original printed, and have no AM101,
AM102 or AM104 finding. The check asyncify runs on its own result is tested here
too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import FIXTURES, assert_compiles, lint_json, py_sources, run_cli, run_python

pytest.importorskip("asgiref")

CASES = FIXTURES / "asyncify_closed"
#: case -> the module `python -m` runs, and what it prints (sync or converted)
PROGRAMS = {
    "cart": ("cart.basket", "11\n"),
    "rows": ("ledger.report", "12 9 [5, -2, 9]\n"),
    "settings": ("conf.cli", "3 5 retries=3\n"),
}



def asyncify(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run_cli(*args, "--no-cache", cwd=cwd, module="codemods.asyncify")


@pytest.mark.parametrize("case", sorted(PROGRAMS))
def test_the_converted_app_is_exact_stable_and_prints_what_the_original_printed(project_copy, case):
    root = project_copy(f"asyncify_closed/{case}/input")
    module, output = PROGRAMS[case]
    before = run_python("-m", module, cwd=root)
    assert (before.returncode, before.stdout) == (0, output), before.stderr

    result = asyncify(".", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "0 item(s) left for a human" in result.stderr
    assert py_sources(root) == py_sources(CASES / case / "expected")
    assert_compiles(root)
    assert asyncify(".", "--check", cwd=root).returncode == 0

    after = run_python("-m", module, cwd=root)
    assert (after.returncode, after.stdout, after.stderr) == (0, output, "")


def test_a_conditional_expression_of_subclasses_and_a_generator_item_are_typed(project_copy):
    """`item = Promo(p) if c else Item(p); yield item` then `for item in items(): item.value()`:
    the item is an Item (the nearest common base), so the call is awaited and the
    override in Promo converts with the base."""
    root = project_copy("asyncify_closed/cart/input")
    assert asyncify(".", cwd=root).returncode == 0
    basket = (root / "cart" / "basket.py").read_text()
    assert "amount = amount + await item.value()" in basket
    items = (root / "cart" / "items.py").read_text()
    assert items.count("    async def value(self):") == 2


def test_a_list_returned_by_a_coroutine_is_iterated_with_plain_for(project_copy):
    root = project_copy("asyncify_closed/rows/input")
    assert asyncify(".", cwd=root).returncode == 0
    report = (root / "ledger" / "report.py").read_text()
    assert "    for row in await repo.rows():" in report
    assert 'max(row["amount"] for row in await repo.rows())' in report
    assert "async for" not in report


def test_a_caller_outside_path_keeps_its_callee_sync(project_copy):
    """With only `source.py` and `defaults.py` under PATH, `cli.py` (module-level
    `TIMEOUT = fetch(...)`) can be neither awaited nor bridged: `fetch` stays sync,
    nothing is written, and the summary says why, where."""
    root = project_copy("asyncify_closed/settings/input")
    before = py_sources(root)
    result = asyncify("conf/source.py", "conf/defaults.py", cwd=root)
    assert result.returncode == 0, result.stderr
    assert py_sources(root) == before
    assert (
        "conf/source.py:6: left sync: `conf.source:fetch` would become async, but code that "
        "must stay as it is calls it: `conf.cli:<module>` is outside PATH, so asyncify cannot "
        "await or bridge its call (conf/cli.py:6)"
    ) in result.stderr


def test_no_converted_fixture_has_an_un_awaited_coroutine_or_a_sync_with_over_async(project_copy):
    """Property over every asyncify fixture: after conversion, AM101 (never awaited),
    AM102 (coroutine called from sync code) and AM104 (`with`/`for` over async-only
    objects) find nothing."""
    inputs = [f"asyncify_closed/{case}/input" for case in sorted(PROGRAMS)]
    inputs += ["asyncify_shop/input", "asyncify_service"]
    for name in inputs:
        root = project_copy(name)
        assert asyncify(".", cwd=root).returncode == 0, name
        status, found = lint_json(".", "--select", "AM101,AM102,AM104", "--no-cache", cwd=root)
        assert (status, found) == (0, []), name


# -- the check asyncify runs on its own result ------------------------------------


def _broken_rows(root: Path) -> tuple[object, object, list]:
    """The `rows` plan and its rewritten files, with one await taken out of
    `balance` by hand: what a planner bug would produce."""
    from codemods.asyncify import runner

    migration = runner.prepare(runner.AsyncifyRequest(paths=[root], use_cache=False))
    plan = migration.plan()
    results = runner.rewrite_all(migration.project, plan)
    for result in results:
        if result.rel == "ledger/report.py":
            result.new = result.new.replace(b"for row in await repo.rows():", b"for row in repo.rows():")
    return migration, plan, results


def test_the_check_finds_a_broken_result_and_names_its_culprit(project_copy):
    from codemods.asyncify import verify

    root = project_copy("asyncify_closed/rows/input")
    migration, plan, results = _broken_rows(root)
    (problem,) = verify.problems(migration.project, plan, results)
    assert problem.render() == (
        "ledger/report.py:9: AM101 coroutine `ledger.repo.Repo.rows()` is used as a value without `await`"
    )
    assert problem.culprit == "ledger.repo:Repo.rows"
    for result in results:
        result.new = None  # nothing rewritten: nothing can be broken
    assert verify.problems(migration.project, plan, results) == []


@pytest.mark.parametrize("allow", [False, True])
def test_a_result_the_check_finds_broken_is_not_written_unless_allowed(project_copy, monkeypatch, allow):
    """When the check finds a problem that another round cannot fix (no culprit),
    nothing is written and the exit status is 1; `--allow-incomplete` writes the
    result and still exits 1. Either way the problem is printed with its place."""
    from codemods.asyncify import cli, verify

    root = project_copy("asyncify_closed/rows/input")
    before = py_sources(root)
    problem = verify.Problem("ledger/report.py", 8, "AM101", "coroutine `repo.rows()` is never awaited", None)
    monkeypatch.setattr(verify, "problems", lambda project, plan, results: [problem])
    args = [str(root), "--no-cache", *(["--allow-incomplete"] if allow else [])]
    result = CliRunner(mix_stderr=False).invoke(cli.asyncify_command, args)
    assert result.exit_code == 1, result.output
    assert "The converted program would be broken in 1 place(s):" in result.stderr
    assert "  ledger/report.py:8: AM101 coroutine `repo.rows()` is never awaited" in result.stderr
    if allow:
        assert py_sources(root) == py_sources(CASES / "rows" / "expected")
    else:
        assert py_sources(root) == before
        assert "Nothing was written." in result.stderr


# -- higher-order code, a generic pool and unittest tests, on real sockets ----------


@pytest.fixture
def loopback_server():
    """A memcached-style server on 127.0.0.1 (the fixture's own test handler)."""
    import socketserver
    import threading

    source = CASES / "wire" / "input"
    sys.path[:0] = [str(source), str(source / "tests")]
    try:
        from test_client import Handler
    finally:
        del sys.path[:2]
        for name in [m for m in sys.modules if m == "test_client" or m.split(".")[0] == "wire"]:
            del sys.modules[name]  # the copies under test import their own
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.store = {}
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_socket_client_converts_whole_and_still_talks_to_a_real_server(project_copy, loopback_server):
    """Seeded at its socket leaf (`_recv`, offloaded to a thread): the reader picked
    into a local (`reader = partial(_readsegment, ...)` or `_readline`) converts with
    both functions and its call is awaited; the pooled client, whose `client` only
    pyrefly can type (a `Generic[T]` pool), awaits too; the unittest test methods stay
    sync and bridge. Before and after, the demo and the tests talk to a real server."""
    from asyncmigrate.typeengine import pyrefly_command

    if pyrefly_command() is None:
        pytest.skip("needs pyrefly (the `types` extra): the pool's clients are typed by it")
    root = project_copy("asyncify_closed/wire/input")
    demo = ("-m", "wire.demo", str(loopback_server))
    before = run_python(*demo, cwd=root)
    assert (before.returncode, before.stdout) == (0, "True hello None\n"), before.stderr

    result = asyncify(".", "--seed", "wire.protocol:_recv", "--offload", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "0 item(s) left for a human" in result.stderr
    assert "The converted code needs: asgiref (the sync bridge)." in result.stderr
    assert py_sources(root) == py_sources(CASES / "wire" / "expected")
    assert asyncify(".", "--seed", "wire.protocol:_recv", "--offload", "--check", cwd=root).returncode == 0

    after = run_python(*demo, cwd=root)
    assert (after.returncode, after.stdout, after.stderr) == (0, before.stdout, "")
    tests = run_python("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=root)
    assert tests.returncode == 0 and "2 passed" in tests.stdout, tests.stdout + tests.stderr
