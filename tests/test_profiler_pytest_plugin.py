"""The pytest plugin (`pytest --asyncmigrate-profile=report.json`), run as a user would:
a pytest subprocess on a small test file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

TESTS = '''\
import asyncio
import time


def test_blocks_the_loop():
    async def handler():
        time.sleep(0.12)  # blocks

    asyncio.run(handler())


def test_awaits_properly():
    async def handler():
        await asyncio.sleep(0.05)
        await asyncio.to_thread(time.sleep, 0.05)

    asyncio.run(handler())


def test_another_loop_blocks():
    def on_timer():
        time.sleep(0.03)  # timer blocks

    loop = asyncio.new_event_loop()
    try:
        loop.call_later(0.01, on_timer)
        loop.run_until_complete(asyncio.sleep(0.05))
    finally:
        loop.close()
'''


def line_of(text: str) -> int:
    return next(n for n, line in enumerate(TESTS.splitlines(), 1) if text in line)


SLEEP_LINE = line_of("# blocks")
TIMER_LINE = line_of("# timer blocks")


def run_pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_sample.py").write_text(TESTS)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        # the plugin comes in through its pytest11 entry point, as for a user
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_sample.py", *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )


def test_plugin_reports_blocking_in_tests(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "--asyncmigrate-profile=report.json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["version"] == 1 and report["threshold_ms"] == 10.0
    # (a busy machine may add a descheduled step in pytest's own code: not asserted)
    sites = {(Path(s["file"]).name, s["line"]): s for s in report["sites"] if s["file"].endswith("test_sample.py")}
    assert set(sites) == {("test_sample.py", SLEEP_LINE), ("test_sample.py", TIMER_LINE)}
    assert sites[("test_sample.py", TIMER_LINE)]["function"] == "test_sample:test_another_loop_blocks.on_timer"
    first = sites[("test_sample.py", SLEEP_LINE)]
    assert first["function"] == "test_sample:test_blocks_the_loop.handler"
    assert first["call"] == "time.sleep" and 90 <= first["total_ms"] <= 2000
    assert "asyncmigrate: event-loop blocking" in result.stdout
    assert "report: report.json" in result.stdout


def test_threshold_option(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "--asyncmigrate-profile=report.json", "--asyncmigrate-profile-threshold=50")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["threshold_ms"] == 50.0
    assert [(Path(s["file"]).name, s["line"]) for s in report["sites"] if s["file"].endswith("test_sample.py")] == [
        ("test_sample.py", SLEEP_LINE)]


def test_plugin_is_inert_without_the_option(tmp_path: Path) -> None:
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "asyncmigrate" not in result.stdout
    assert not list(tmp_path.glob("*.json"))


def test_xdist_workers_reports_are_merged(tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    result = run_pytest(tmp_path, "-n", "2", "--asyncmigrate-profile=report.json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert {(Path(s["file"]).name, s["line"]) for s in report["sites"] if s["file"].endswith("test_sample.py")} == {
        ("test_sample.py", SLEEP_LINE), ("test_sample.py", TIMER_LINE)}
    assert report["runs"] == 3  # the controller and two workers
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("report")) == ["report.json"]
