"""AM201's fix: `time.sleep(x)` -> `await asyncio.sleep(x)`, imports edited by LibCST's
AddImportsVisitor/RemoveImportsVisitor, through `python -m lint_rules --fix`."""

from __future__ import annotations

import textwrap
from pathlib import Path

from conftest import lint_json, run_cli


def fix(path: Path) -> None:
    result = run_cli(str(path), "--fix", "--select", "AM201", "--no-cache")
    assert result.returncode in (0, 1), result.stderr


def assert_fixed_once(path: Path, expected: str) -> None:
    fix(path)
    fixed = path.read_text()
    assert fixed == expected
    compile(fixed, str(path), "exec")
    fix(path)
    assert path.read_text() == fixed, "a second --fix changed the file"
    status, remaining = lint_json(str(path), "--select", "AM201", "--no-cache")
    assert (status, remaining) == (0, [])


def test_fix_in_a_module_of_the_fixture(project_copy):
    root = project_copy("blocking")
    sleeping = root / "families" / "sleeping.py"
    before = sleeping.read_text()
    expected = (
        before.replace("import time as clock\n", "")
        .replace("from time import sleep\n", "")
        .replace("    time.sleep(1)  # expect", "    await asyncio.sleep(1)  # expect")
        .replace("    clock.sleep(1)  # expect", "    await asyncio.sleep(1)  # expect")
        .replace("    sleep(1)  # expect", "    await asyncio.sleep(1)  # expect")
    )
    # `time` stays: time.monotonic(), the nested def and the lambda still use it.
    assert "import time\n" in expected and expected.count("await asyncio.sleep(1)  #") == 3
    assert_fixed_once(sleeping, expected)


def test_fix_removes_an_aliased_from_import_and_keeps_the_rest(project_copy):
    root = project_copy("blocking")
    api = root / "inventory" / "api.py"
    before = api.read_text()
    expected = before.replace("from time import sleep as nap\n", "").replace(
        "        nap(0.1)  # expect", "        await asyncio.sleep(0.1)  # expect"
    )
    assert expected != before
    assert_fixed_once(api, expected)
    status, others = lint_json(str(api), "--select", "AM2", "--no-cache")
    assert status == 1 and "AM201" not in {d["code"] for d in others}


def test_fix_adds_the_asyncio_import_and_drops_an_unused_time_import(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'snippet'\n")
    job = tmp_path / "job.py"
    job.write_text(
        textwrap.dedent(
            """\
            \"\"\"Polls until ready.\"\"\"
            import logging
            import time

            log = logging.getLogger(__name__)


            async def wait_ready(probe, delay=0.5):
                while not await probe():
                    log.info("not ready")
                    time.sleep(delay)  # back off
                time.sleep(delay * 2)
            """
        )
    )
    expected = textwrap.dedent(
        """\
        \"\"\"Polls until ready.\"\"\"
        import logging
        import asyncio

        log = logging.getLogger(__name__)


        async def wait_ready(probe, delay=0.5):
            while not await probe():
                log.info("not ready")
                await asyncio.sleep(delay)  # back off
            await asyncio.sleep(delay * 2)
        """
    )
    assert_fixed_once(job, expected)


def test_sleep_inside_an_expression_is_reported_without_a_fix(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'snippet'\n")
    job = tmp_path / "job.py"
    source = "import time\n\n\nasync def main():\n    return time.sleep(1) or 1\n"
    job.write_text(source)
    status, found = lint_json(str(job), "--select", "AM201", "--no-cache")
    assert status == 1
    assert [(d["line"], d["code"], d["fixable"]) for d in found] == [(5, "AM201", False)]
    fix(job)
    assert job.read_text() == source


def test_the_fix_is_built_only_when_fixing(tmp_path, monkeypatch):
    """Import edits run LibCST metadata over the whole module (minutes on a large
    one): a plain lint reports the fixable finding without building its fix."""
    from inprocess_lint import lint
    from lint_rules.rules.blocking import blocking_sleep

    built = []
    real = blocking_sleep.edit_imports
    monkeypatch.setattr(blocking_sleep, "edit_imports", lambda *a, **k: built.append(1) or real(*a, **k))
    path = tmp_path / "app.py"
    path.write_text("import time\n\n\nasync def main():\n    time.sleep(1)\n")
    (found,) = lint(path, "AM201")
    assert (found["code"], found["fixable"]) == ("AM201", True)
    assert built == []
    lint(path, "AM201", fix=True)
    assert built and "await asyncio.sleep(1)" in path.read_text()
