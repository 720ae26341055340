"""Shared test helpers: fixture projects are copied to a temp dir before any run that
could write (fixes, caches), so the checked-in fixtures never change."""

from __future__ import annotations

import json
import os
import py_compile
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"


def write_files(root: Path, files: dict[str, str], *, strip: bool | str = False) -> Path:
    """Write `files` (relative path -> source, dedented) under `root`; `strip`
    strips the text's start (True: whitespace; a string: those characters)."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = textwrap.dedent(text)
        if strip is not False:
            text = text.lstrip(None if strip is True else strip)
        path.write_text(text, encoding="utf-8")
    return root


def py_sources(root: Path) -> dict[str, str]:
    """Every `.py` file under `root` (not in `__pycache__`) by relative path: a tree
    compared whole with an expected one."""
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*.py"))
        if "__pycache__" not in p.parts
    }


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", help="run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's index caches go to a directory of its own (subprocesses inherit
    the variable), never to the user's cache directory."""
    home = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("ASYNCMIGRATE_CACHE_DIR", str(home))
    return home


@pytest.fixture
def project_copy(tmp_path: Path):
    """Copy a fixture project (by name under fixtures/) and return its path."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(FIXTURES / name, target, ignore=shutil.ignore_patterns(".asyncmigrate_cache", "__pycache__"))
        return target

    return copy


def run_python(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `python ARGS` in a project, as its user would: without this repo on
    PYTHONPATH, so a converted program stands on its own installed dependencies."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=timeout
    )


def run_asyncify(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`python -m codemods.asyncify ARGS` as a user runs it; `.out` is all it printed
    (the summary is on stderr)."""
    done = run_cli(*args, cwd=cwd, module="codemods.asyncify")
    done.out = done.stdout + done.stderr
    return done


def assert_compiles(root: Path) -> None:
    """Every Python file under `root` compiles (a rewrite's first bar)."""
    for path in sorted(root.rglob("*.py")):
        py_compile.compile(str(path), doraise=True)


def run_cli(*args: str, cwd: Path | None = None, module: str = "lint_rules") -> subprocess.CompletedProcess:
    """Run `python -m <module> args...` as a user would."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def lint_json(*args: str, cwd: Path | None = None) -> tuple[int, list[dict]]:
    result = run_cli(*args, "--format", "json", cwd=cwd)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


#: an `async def` with a blocking call: one AM201 finding at app.py:5:5
BLOCKING_APP = b"import time\n\n\nasync def handler():\n    time.sleep(1)\n"


@pytest.fixture
def blocking_app(tmp_path: Path) -> Path:
    """A one-module project whose `app.py` is BLOCKING_APP."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("")
    (root / "app.py").write_bytes(BLOCKING_APP)
    return root
