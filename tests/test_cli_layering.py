"""The `asyncmigrate` command group loads a subcommand only when it runs, and the
commands that write files share one error policy: a write that fails is a one-line
error with exit status 2, never a traceback (nor a green run)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from contextlib import contextmanager
from pathlib import Path

import click
import pytest

from asyncmigrate.cli import COMMANDS, main
from conftest import REPO, run_cli

HEAVY = ("codemods", "libcst.codemod", "libcst.matchers")


def _loaded_after(code: str, cwd: Path = REPO) -> list[str]:
    """Which of HEAVY are imported after running `code` in a fresh interpreter."""
    probe = textwrap.dedent(code) + textwrap.dedent(
        f"""
        import sys
        print("loaded:", *(m for m in {HEAVY!r} if m in sys.modules))
        """
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[-1].split()[1:]


def test_lint_loads_no_codemod_machinery():
    looked_up = """
        import click
        from asyncmigrate.cli import main
        assert main.get_command(click.Context(main), "lint").name == "lint"
    """
    assert _loaded_after(looked_up) == []


def test_a_lint_run_loads_no_codemod_machinery(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "app.py").write_text("import asyncio\n\nasync def main():\n    asyncio.sleep(1)\n")
    run = """
        from asyncmigrate.cli import main
        try:
            main(["lint", ".", "--no-cache"])
        except SystemExit as e:
            assert e.code == 1, e.code
    """
    assert _loaded_after(run, cwd=tmp_path) == []


def test_help_lists_every_command_with_its_summary():
    result = run_cli("--help", module="asyncmigrate")
    assert result.returncode == 0, result.stderr
    listed = dict(
        line.split(maxsplit=1) for line in result.stdout.split("Commands:\n", 1)[1].splitlines()
    )
    assert sorted(listed) == ["asyncify", "contextvars", "lint", "profile", "rule", "rules"]
    assert sorted(listed) == sorted(COMMANDS)
    context = click.Context(main)
    for name, summary in listed.items():
        short_help = main.get_command(context, name).get_short_help_str(limit=len(summary))
        assert summary == short_help, name


def test_an_unknown_command_is_a_usage_error():
    result = run_cli("lnit", module="asyncmigrate")
    assert result.returncode == 2
    assert "No such command 'lnit'" in result.stderr


@contextmanager
def _no_room_for_files():
    """Every write to a regular file fails (EFBIG) in processes started inside: a
    write failure that, unlike chmod, holds for root too. The test process writes
    no file while a child runs (its output goes through pipes)."""
    resource = pytest.importorskip("resource")  # POSIX only
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def _project(root: Path, files: dict[str, str]) -> dict[str, bytes]:
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    for name, text in files.items():
        (root / name).write_text(textwrap.dedent(text))
    return {p.name: p.read_bytes() for p in root.iterdir()}


@pytest.mark.parametrize(
    "module, args",
    [
        ("lint_rules", ("app.py", "--fix", "--no-cache")),
        ("asyncmigrate", ("lint", "app.py", "--fix", "--no-cache")),
        ("codemods.asyncify", ("app.py", "--no-cache")),
        ("codemods.contextvars", ("app.py", "--name", "app:user", "--no-cache")),
    ],
)
def test_a_failed_write_is_one_line_and_exit_2(tmp_path, module, args):
    before = _project(
        tmp_path,
        {
            "app.py": """
                import time

                user = None

                def wait():
                    time.sleep(1)

                async def main():
                    global user
                    user = "me"
                    time.sleep(1)
            """,
        },
    )
    with _no_room_for_files():
        result = run_cli(*args, cwd=tmp_path, module=module)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.splitlines()[-1] == "error: cannot write app.py: File too large"
    assert "Traceback" not in result.stderr
    # Nothing half-written, no temporary file left behind.
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
