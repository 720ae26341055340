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
    # per module: "== pool.py" then "  kind: matched G of W (recall R); added A (precision P)"
    results: dict[tuple[str, str], tuple[int, int, float]] = {}
    module = ""
    for line in run.stdout.splitlines():
        if line.startswith("== "):
            module = line[3:]
        found = re.match(r"\s+(async def|await|async with|async for): matched (\d+) of (\d+) .*precision ([\d.]+)", line)
        if found:
            kind, got, want, precision = found.groups()
            results[(module, kind)] = (int(got), int(want), float(precision))
    assert {m for m, _ in results} == {"pool.py", "null_pool.py", "sched.py"}
    # Never converts or awaits what the original does not (precision 1), and keeps
    # the recall this closed conversion reaches (see the README's figures).
    assert all(precision == 1.0 for _, _, precision in results.values()), results
    assert results[("pool.py", "async def")][0] >= 22
    assert results[("pool.py", "await")][0] >= 17
    assert results[("pool.py", "async with")][0] >= 13
