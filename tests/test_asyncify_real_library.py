"""asyncify on psycopg_pool's sync pool, compared with its own async version
(`bench/asyncify_psycopg_pool.py`; downloads the package, so it is slow)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from conftest import REPO


@pytest.mark.slow
def test_psycopg_pool_sync_to_async_matches_the_original():
    run = subprocess.run(
        [sys.executable, str(REPO / "bench" / "asyncify_psycopg_pool.py"), "3.3.3"],
        capture_output=True, text=True, timeout=600,
    )
    if run.returncode != 0 and "pip download" in run.stderr:
        pytest.skip("package registry not reachable")
    assert run.returncode == 0, run.stderr
    counts = {
        kind: (int(got), int(total), int(extra))
        for kind, got, total, extra in re.findall(
            r"^(async def|await|async with): matched (\d+) of (\d+); extra (\d+)", run.stdout, re.M
        )
    }
    assert counts["async with"] == (16, 16, 0)
    assert counts["async def"][0] >= 34 and counts["async def"][2] == 0
    assert counts["await"][0] >= 48 and counts["await"][2] == 0
