"""asyncify writes all its files or none: Ctrl-C at any moment, or a user editing a
file while it runs, never leaves a half-converted project, a lost edit or a
temporary file behind, and a re-run reaches the uninterrupted result."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import REPO

MODULES = 40


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.py"))}


def _make_project(root: Path) -> None:
    """A chain across MODULES modules: m0 sleeps, every other module calls the one
    before it, so one conversion touches every file."""
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'pkg'\n")
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "m0.py").write_text("import time\n\n\ndef step0():\n    time.sleep(0)\n    return 0\n")
    for n in range(1, MODULES):
        (root / "pkg" / f"m{n}.py").write_text(
            f"from .m{n - 1} import step{n - 1}\n\n\n"
            + "".join(f"def helper{n}_{k}(x):\n    return x + {k}\n\n\n" for k in range(30))
            + f"def step{n}():\n    return step{n - 1}() + 1\n"
        )


def _asyncify(root: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [sys.executable, "-m", "codemods.asyncify", ".", "--no-cache", "--bridge", "asyncio"],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """The project before, and as an uninterrupted run leaves it."""
    root = tmp_path_factory.mktemp("reference")
    _make_project(root)
    before = _tree(root)
    run = _asyncify(root)
    _, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    after = _tree(root)
    assert after != before
    return before, after


@pytest.mark.parametrize("seed", range(6))
def test_ctrl_c_at_a_random_moment_leaves_all_old_or_all_new(tmp_path, reference, seed):
    before, after = reference
    _make_project(tmp_path)
    run = _asyncify(tmp_path)
    time.sleep(random.Random(seed).uniform(0.2, 2.5))
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=300)
    # 0: done before the signal; 130: interrupted. A signal that lands while the
    # interpreter itself starts (before any of our code runs) kills it (-SIGINT),
    # which is what the property below is about too: all old or all new.
    assert run.returncode in (0, 130, -signal.SIGINT), err
    assert "Traceback" not in err, err
    if run.returncode == 130:
        assert err.strip().endswith("interrupted")
    state = _tree(tmp_path)
    assert state in (before, after), "a half-converted project"
    assert not [p for p in tmp_path.rglob("*.tmp")], "a temporary file was left behind"
    again = _asyncify(tmp_path)
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert _tree(tmp_path) == after


def test_a_file_edited_during_the_run_keeps_the_edit_and_nothing_is_written(tmp_path, monkeypatch):
    """The user saves `m3.py` after asyncify read it: every file keeps its old text
    (no half conversion), the edit is kept, and the summary says to run again."""
    from codemods.asyncify import cli, runner

    _make_project(tmp_path)
    real_rewrite_all = runner.rewrite_all

    def rewrite_then_user_edits(*args, **kwargs):
        results = real_rewrite_all(*args, **kwargs)
        with open(tmp_path / "pkg" / "m3.py", "a") as f:
            f.write("# edited by the user\n")
        return results

    monkeypatch.setattr(runner, "rewrite_all", rewrite_then_user_edits)
    before = _tree(tmp_path)
    result = CliRunner(mix_stderr=False).invoke(cli.asyncify_command, [str(tmp_path), "--no-cache"])
    assert result.exit_code == 1, result.output
    assert "pkg/m3.py:1: changed since asyncify read it: nothing was written; run asyncify again" in result.stderr
    now = _tree(tmp_path)
    assert now["pkg/m3.py"] == before["pkg/m3.py"] + b"# edited by the user\n"
    assert {rel: text for rel, text in now.items() if rel != "pkg/m3.py"} == {
        rel: text for rel, text in before.items() if rel != "pkg/m3.py"
    }
    assert not list(tmp_path.rglob("*.tmp"))


@pytest.mark.parametrize("entry", [
    "asyncmigrate.cli:main", "codemods.asyncify.cli:asyncify_command", "lint_rules.cli:lint_command",
    "codemods.contextvars.cli:contextvars_command", "asyncmigrate.profiler.cli:profile_group",
])
def test_ctrl_c_while_click_parses_the_command_line_is_exit_130(entry, monkeypatch, tmp_path):
    """click turns a Ctrl-C in its own parsing into "Aborted!" and exit 1 (which
    reads as "findings"); the random-moment test above hit that window on CI."""
    import importlib

    import click

    def interrupted_parse(self, ctx, args):
        raise KeyboardInterrupt

    for cls in {click.Command, getattr(click.core, "MultiCommand", click.Group)}:
        monkeypatch.setattr(cls, "parse_args", interrupted_parse)
    module, _, name = entry.partition(":")
    command = getattr(importlib.import_module(module), name)
    # the exit path ignores a second SIGINT; the processes this test process starts
    # later inherit that, so it is restored
    handler = signal.getsignal(signal.SIGINT)
    try:
        result = CliRunner(mix_stderr=False).invoke(command, [str(tmp_path)])
    finally:
        signal.signal(signal.SIGINT, handler)
    assert result.exit_code == 130, (result.output, result.stderr)
    assert result.stderr.strip() == "interrupted"
