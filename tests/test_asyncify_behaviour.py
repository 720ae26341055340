"""Behaviour is preserved, shown by running it: the fixture service (sleeps and file
I/O on every request) gives the same results before and after asyncify, its entry
point runs under the sync bridge, and its converted pytest tests pass."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli

pytest.importorskip("asgiref")
pytest.importorskip("pytest_asyncio")


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.parametrize("bridge", ["asgiref", "asyncio"])
def test_service_behaves_the_same_after_conversion(project_copy, bridge):
    root = project_copy("asyncify_service")
    (root / "before").mkdir()
    (root / "after").mkdir()
    before = _run("-m", "service.main", "before", cwd=root)
    assert before.returncode == 0, before.stderr

    result = run_cli(".", "--offload", "--bridge", bridge, cwd=root, module="codemods.asyncify")
    assert result.returncode == 0, result.stderr
    assert "0 item(s) left for a human" in result.stderr
    handlers = (root / "service" / "handlers.py").read_text()
    assert "async def handle_all" in handlers
    store = (root / "service" / "store.py").read_text()
    assert "await asyncio.to_thread(path.read_text)" in store
    main = (root / "service" / "main.py").read_text()
    assert (
        "async_to_sync(run)(sys.argv[1])"
        if bridge == "asgiref"
        else "asyncio.run(run(sys.argv[1]))"
    ) in main

    after = _run("-m", "service.main", "after", cwd=root)
    assert after.returncode == 0, after.stderr
    assert after.stdout == before.stdout
    for name in ("apple.json", "pear.json"):
        assert (root / "after" / name).read_text() == (root / "before" / name).read_text()

    tests = _run("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=root)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout

    again = run_cli(
        ".", "--offload", "--bridge", bridge, "--check", cwd=root, module="codemods.asyncify"
    )
    assert again.returncode == 0, again.stderr
