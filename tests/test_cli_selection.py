"""Selection cannot pass by mistake: unknown codes are errors, and the selection
options and keys Ruff users expect (`extend-select`, `extend-ignore`,
`per-file-ignores`, `target-version`, unused-`noqa` reports) work on every route."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli

SLEEPS = "import time\n\n\nasync def pause():\n    time.sleep(1)\n"


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """A project with the same blocking call in app code and in a test."""
    root = tmp_path / "proj"
    (root / "app").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "jobs.py").write_text(SLEEPS)
    (root / "tests" / "test_jobs.py").write_text(SLEEPS)
    (root / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "0"\n')
    return root


def configure(root: Path, table: str) -> None:
    with open(root / "pyproject.toml", "a", encoding="utf-8") as f:
        f.write(f"\n[tool.asyncmigrate]\n{table}\n")


def findings(root: Path, *args: str) -> list[tuple[str, int, str]]:
    result = run_cli(".", "--format", "json", *args, cwd=root)
    assert result.returncode in (0, 1), result.stderr
    return sorted((d["path"].removeprefix("./"), d["line"], d["code"]) for d in json.loads(result.stdout))


@pytest.mark.parametrize(
    "args, message",
    [
        (["--select", "AM999"], "--select: unknown rule code or prefix `AM999`"),
        (["--select", "E501"], "--select: unknown rule code or prefix `E501`; did you mean `AM501`?"),
        (["--ignore", "AM9"], "--ignore: unknown rule code or prefix `AM9`"),
        (["--extend-select", "AM2O1"], "--extend-select: unknown rule code or prefix `AM2O1`; did you mean `AM201`?"),
        (["--per-file-ignores", "tests/**:AM77"], "--per-file-ignores tests/**: unknown rule code or prefix `AM77`"),
    ],
)
def test_an_unknown_code_on_the_command_line_is_a_usage_error(app, args, message):
    result = run_cli(".", *args, cwd=app)
    assert result.returncode == 2
    assert message in result.stderr
    assert "All checks passed" not in result.stdout


@pytest.mark.parametrize(
    "table, where",
    [
        ('select = ["AM9"]', "select"),
        ('ignore = ["E501"]', "ignore"),
        ('extend-ignore = ["AM1O1"]', "extend-ignore"),
        ('per-file-ignores = { "tests/**" = ["XYZ1"] }', "per-file-ignores['tests/**']"),
    ],
)
def test_an_unknown_code_in_the_configuration_is_a_usage_error(app, table, where):
    configure(app, table)
    result = run_cli(".", cwd=app)
    assert result.returncode == 2
    assert f"pyproject.toml: {where}: unknown rule code or prefix" in result.stderr
    assert "Traceback" not in result.stderr


def test_per_file_ignores_in_the_configuration(app):
    assert findings(app) == [("app/jobs.py", 5, "AM201"), ("tests/test_jobs.py", 5, "AM201")]
    configure(app, 'per-file-ignores = { "tests/**" = ["AM2"] }')
    assert findings(app) == [("app/jobs.py", 5, "AM201")]
    # A file named alone is matched by its path in the project, not as given.
    result = run_cli("test_jobs.py", "--format", "json", cwd=app / "tests")
    assert (result.returncode, json.loads(result.stdout)) == (0, [])


def test_per_file_ignores_also_hold_for_fixes(app):
    configure(app, 'per-file-ignores = { "tests/**" = ["AM201"] }')
    result = run_cli(".", "--fix", cwd=app)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (app / "tests" / "test_jobs.py").read_text() == SLEEPS
    assert "await asyncio.sleep(1)" in (app / "app" / "jobs.py").read_text()


def test_per_file_ignores_on_the_command_line_add_to_the_configured_ones(app):
    configure(app, 'per-file-ignores = { "tests/**" = ["AM2"] }')
    assert findings(app, "--per-file-ignores", "app/*.py:AM201") == []


def test_extend_select_and_extend_ignore(app):
    assert findings(app, "--extend-ignore", "AM201") == []
    configure(app, 'extend-ignore = ["AM201"]')
    assert findings(app) == []
    (app / "app" / "idle.py").write_text("async def idle():\n    return 1\n")
    # AM503 is off by default: only its exact code turns it on.
    assert ("app/idle.py", 1, "AM503") in findings(app, "--extend-select", "AM503")
    assert ("app/idle.py", 1, "AM503") not in findings(app, "--extend-select", "AM5")


def test_unused_noqa_is_reported_when_selected(app):
    (app / "app" / "jobs.py").write_text(
        "import time\n\n\nasync def pause():\n"
        "    time.sleep(1)  # noqa: AM201\n"
        "    x = 1  # noqa: AM201, E501\n"
        "    text = '# noqa: AM101'\n"
        "    return x, text  # noqa\n"
    )
    assert [f for f in findings(app) if f[0] == "app/jobs.py"] == []
    result = run_cli("app", "--extend-select", "AM002", cwd=app)
    assert result.returncode == 1
    # Only our own codes are judged (E501 is flake8's), only in real comments, and a
    # bare `# noqa` could be another tool's.
    assert result.stdout.splitlines()[:-1] == [
        "app/jobs.py:6:12: AM002 unused `noqa` directive: AM201 silences nothing on this line"
    ]


def test_noqa_and_per_file_ignores_hold_under_fixit(app):
    configure(app, 'per-file-ignores = { "tests/**" = ["AM201"] }')
    with open(app / "pyproject.toml", "a", encoding="utf-8") as f:
        f.write('\n[tool.fixit]\nroot = true\nenable = ["lint_rules"]\ndisable = ["fixit.rules"]\n')
    (app / "app" / "jobs.py").write_text(SLEEPS.replace("time.sleep(1)", "time.sleep(1)  # noqa: AM201\n    time.sleep(2)"))
    result = subprocess.run(
        [sys.executable, "-m", "fixit", "lint", "app", "tests"],
        cwd=app, capture_output=True, text=True, timeout=300,
    )
    reported = [line for line in result.stdout.splitlines() if "AM201" in line]
    assert reported == [line for line in reported if line.startswith("app/jobs.py@6:")] and len(reported) == 1, result.stdout


@pytest.mark.parametrize(
    "setting, status",
    [
        ('gather-style = "taskgroup"\ntarget-version = "py310"', 2),
        ('gather-style = "taskgroup"\ntarget-version = "py311"', 1),
        ('gather-style = "taskgroup"', 2),  # requires-python >=3.9 below
    ],
)
def test_taskgroup_fixes_need_python_3_11(app, setting, status):
    text = (app / "pyproject.toml").read_text().replace('version = "0"', 'version = "0"\nrequires-python = ">=3.9"')
    (app / "pyproject.toml").write_text(text)
    configure(app, setting)
    result = run_cli(".", cwd=app)
    assert result.returncode == status, result.stderr
    if status == 2:
        assert "needs target-version py311 or newer" in result.stderr


def test_target_version_on_the_command_line(app):
    configure(app, 'gather-style = "taskgroup"')
    assert run_cli(".", cwd=app).returncode == 1
    result = run_cli(".", "--target-version", "py310", cwd=app)
    assert result.returncode == 2 and "--target-version" in result.stderr
