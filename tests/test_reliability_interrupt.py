"""Ctrl-C during `lint` and `lint --fix`: exit 130, one line, no traceback (from the
parent or a worker), no temporary file left, and every file either as it was or
completely fixed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO

FILES = 300
ORIGINAL = "import asyncio\n\n\n" + "".join(f"async def f{j}():\n    asyncio.sleep(1)\n\n\n" for j in range(5))
FIXED = ORIGINAL.replace("    asyncio.sleep(1)", "    await asyncio.sleep(1)")


def _tree(root: Path) -> Path:
    root.mkdir()
    (root / "pyproject.toml").write_text("")
    for i in range(FILES):
        (root / f"m{i}.py").write_text(ORIGINAL)
    return root


def _interrupted(root: Path, delay: float, *args: str) -> subprocess.CompletedProcess:
    """Run `asyncmigrate lint . ARGS` and press Ctrl-C after `delay` seconds: SIGINT
    to the whole process group, as a terminal sends it (workers included)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "asyncmigrate", "lint", ".", "--jobs", "2", *args],
        cwd=root,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    time.sleep(delay)
    try:
        os.killpg(process.pid, signal.SIGINT)
    except ProcessLookupError:
        pass  # already done
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _temporaries(*directories: Path) -> list[Path]:
    return [p for d in directories for p in d.rglob("*.tmp")]


@pytest.mark.parametrize("args", [(), ("--fix",)], ids=["lint", "fix"])
def test_ctrl_c_exits_130_and_leaves_no_temporary(tmp_path, private_cache, args):
    interrupted = 0
    for n, delay in enumerate((0.8, 1.6, 3.0, 4.5)):
        root = _tree(tmp_path / f"run{n}")
        result = _interrupted(root, delay, *args)
        assert "Traceback" not in result.stderr, result.stderr
        if result.returncode == 130:
            interrupted += 1
            assert result.stderr.rstrip().endswith("interrupted"), result.stderr
        else:  # it finished before the signal
            assert result.returncode == 1, result.stderr
        assert _temporaries(root, private_cache) == []
        for path in root.glob("m*.py"):
            assert path.read_text() in (ORIGINAL, FIXED if args else ORIGINAL), path
    assert interrupted >= 2
