"""Cached findings are the findings: cold, warm, incremental and --no-cache runs
report the same thing, finding for finding, and so do two runs at once and a run
after one killed mid-write."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import FIXTURES, REPO, run_cli

from asyncmigrate.index import store

PROJECTS = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir() and not p.name.startswith("."))


def _json(root: Path, *args: str) -> str:
    result = run_cli(".", "--format", "json", "--exit-zero", *args, cwd=root)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "cache ignored" not in result.stderr, result.stderr
    return result.stdout


def _cached_files(root: Path) -> int:
    db = sqlite3.connect(store.cache_dir(root) / store.CACHE_FILE)
    try:
        return db.execute("SELECT count(*) FROM results").fetchone()[0]
    finally:
        db.close()


@pytest.mark.parametrize("name", PROJECTS)
def test_cold_warm_and_no_cache_runs_report_the_same(project_copy, name):
    root = project_copy(name)
    uncached = _json(root, "--no-cache")
    assert not store.cache_dir(root).exists()
    assert _json(root) == uncached  # cold
    assert _cached_files(root) > 0
    assert _json(root) == uncached  # warm: every file's findings from the cache


def test_an_edit_relints_and_matches_an_uncached_run(project_copy):
    root = project_copy("blocking")
    _json(root)
    helper = root / "inventory" / "pause.py"
    helper.write_text("import time\n\n\ndef pause():\n    time.sleep(1)\n")
    users = root / "inventory" / "uses_pause.py"
    users.write_text("from .pause import pause\n\n\nasync def handler():\n    pause()\n")
    edited = _json(root)
    assert "AM250" in edited  # found through the new module
    assert edited == _json(root, "--no-cache")
    # The helper stops blocking: the finding in the other module goes too.
    helper.write_text("def pause():\n    return None\n")
    after = _json(root)
    assert "uses_pause.py" not in after
    assert after == _json(root, "--no-cache")


def test_one_file_named_matches_the_whole_run(project_copy):
    root = project_copy("blocking")
    whole = run_cli(".", "--format", "concise", "--exit-zero", cwd=root).stdout
    for _ in range(2):  # cached from the whole run's entry, then its own
        one = run_cli("inventory/api.py", "--format", "concise", "--exit-zero", cwd=root).stdout
        expected = [line[2:] for line in whole.splitlines() if line.startswith("./inventory/api.py:")]
        assert expected
        assert [line for line in one.splitlines() if line.startswith("inventory/")] == expected


def test_two_runs_at_once_report_what_one_run_does(project_copy):
    root = project_copy("state_app")
    expected = _json(root, "--no-cache")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    command = [sys.executable, "-m", "lint_rules", ".", "--format", "json", "--exit-zero"]
    for _ in range(2):  # both cold, then both warm
        runs = [
            subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        for run in runs:
            stdout, stderr = run.communicate(timeout=300)
            assert run.returncode == 0 and "Traceback" not in stderr and "cache ignored" not in stderr, stderr
            assert stdout == expected
    assert _json(root) == expected


_HOLD_A_WRITE = textwrap.dedent(
    """
    import sqlite3, sys, time
    db = sqlite3.connect(sys.argv[1], isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    db.execute("UPDATE modules SET summary = 'half written', hash = 'x'")
    db.execute("UPDATE results SET value = '[]'")
    db.execute("DELETE FROM derived")
    print("writing", flush=True)
    time.sleep(600)
    """
)


def test_a_run_killed_mid_write_leaves_a_usable_cache(project_copy):
    root = project_copy("blocking")
    expected = _json(root)
    writer = subprocess.Popen(
        [sys.executable, "-c", _HOLD_A_WRITE, str(store.cache_dir(root) / store.CACHE_FILE)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "writing"
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.wait(timeout=60)
    # The transaction never committed: the cache is as the last run left it.
    assert _json(root) == expected
    assert _json(root, "--no-cache") == expected


def test_a_lint_killed_while_it_runs_leaves_a_usable_cache(project_copy):
    """Killed at whatever point it reached (no timing is asserted): the next run
    reports as an uncached one does."""
    root = project_copy("state_app")
    expected = _json(root, "--no-cache")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    for delay in (0.3, 0.8, 1.5):
        run = subprocess.Popen(
            [sys.executable, "-m", "lint_rules", ".", "--format", "json"],
            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            run.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            run.kill()  # SIGKILL
        run.wait(timeout=60)
        assert _json(root) == expected
