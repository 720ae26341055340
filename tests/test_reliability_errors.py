"""A crash on one file is a finding on that file (AM003), never the end of the run;
a fix is never written over a file the user changed since it was read."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import run_cli

from asyncmigrate import fileio
from inprocess_lint import lint
from lint_rules import runner
from lint_rules.rules.blocking.blocking_sleep import BlockingSleep

# A form feed before the indentation: LibCST parses it, but it cannot build the
# fix's import edit there (its default indent would be "\f\t").
HARD = b"class C:\n\f\tpass\nimport time\nasync def f():\n    time.sleep(0)\n"
FIXABLE = b"import time\n\n\nasync def g():\n    time.sleep(0)\n"


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("")
    (root / "t.py").write_bytes(HARD)
    (root / "u.py").write_bytes(FIXABLE)
    return root


def test_a_fix_libcst_cannot_build_is_not_a_crash(proj):
    """Linting never builds fixes, so the file is linted like any other."""
    result = run_cli("t.py", "u.py", "--format", "json", cwd=proj)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    findings = json.loads(result.stdout)
    assert [(f["path"], f["code"]) for f in findings] == [("t.py", "AM201"), ("u.py", "AM201")]


def test_lint_fix_fixes_the_other_files_and_leaves_that_one_with_its_finding(proj):
    result = run_cli("t.py", "u.py", "--fix", cwd=proj)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "t.py:5:5: AM201" in result.stdout
    assert (proj / "t.py").read_bytes() == HARD
    assert b"await asyncio.sleep(0)" in (proj / "u.py").read_bytes()


def test_a_rule_crash_is_am003_for_that_file_only(proj, monkeypatch):
    (proj / "t.py").write_bytes(b"import time\n\n\nasync def f():\n    time.sleep(0)\n")
    (proj / "v.py").write_bytes(b"import asyncio\n\n\nasync def h():\n    asyncio.sleep(1)\n")

    def broken(self, *args):
        raise KeyError("surprise")

    monkeypatch.setattr(BlockingSleep, "on_blocking", broken)
    findings = lint(proj, "AM1,AM2")
    by_file = {os.path.basename(f["path"]): f for f in findings}
    assert {name: f["code"] for name, f in by_file.items()} == {"t.py": "AM003", "u.py": "AM003", "v.py": "AM101"}
    assert "KeyError: 'surprise'" in by_file["t.py"]["message"]
    assert "test_reliability_errors.py" in by_file["t.py"]["message"]  # where it was raised


def test_am003_is_documented():
    result = run_cli("rule", "AM003", module="asyncmigrate")
    assert result.returncode == 0
    assert result.stdout.startswith("# InternalError (AM003)")


# -- writes re-check the file --------------------------------------------------


def _temporaries(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


def test_write_result_leaves_a_changed_file_alone(tmp_path):
    path = tmp_path / "a.py"
    path.write_bytes(b"old\n")
    assert fileio.write_result(path, b"new\n", "a.py", expected=b"old\n") is True
    assert path.read_bytes() == b"new\n"
    assert fileio.write_result(path, b"newer\n", "a.py", expected=b"old\n") is False
    assert path.read_bytes() == b"new\n"
    assert fileio.write_result(path, b"plain\n", "a.py") is True  # the asyncify call, as it is today
    assert path.read_bytes() == b"plain\n"
    path.unlink()
    assert fileio.write_result(path, b"again\n", "a.py", expected=b"plain\n") is False
    assert not path.exists()
    assert _temporaries(tmp_path) == []


def test_the_check_is_made_after_the_write_right_before_the_move(tmp_path, monkeypatch):
    """The user saves the file while the result is being written (the fsync, the
    slow part): the move must not overwrite their edit."""
    path = tmp_path / "a.py"
    path.write_bytes(b"old\n")
    real_fsync = os.fsync

    def user_saves_meanwhile(fd):
        real_fsync(fd)
        path.write_bytes(b"the user's edit\n")

    monkeypatch.setattr(os, "fsync", user_saves_meanwhile)
    assert fileio.write_result(path, b"fixed\n", "a.py", expected=b"old\n") is False
    assert path.read_bytes() == b"the user's edit\n"
    assert _temporaries(tmp_path) == []


def test_lint_fix_reports_a_file_changed_during_the_run(proj, capsys):
    outcome = runner.run(runner.LintRequest(paths=[str(proj / "u.py")], fix=True, jobs=1))
    (proj / "u.py").write_bytes(FIXABLE + b"# edited meanwhile\n")
    assert runner.write_fixes(outcome) == []
    assert "u.py changed during the run; not fixed" in capsys.readouterr().err
    assert (proj / "u.py").read_bytes() == FIXABLE + b"# edited meanwhile\n"
    assert _temporaries(proj) == []
