"""CI gate output: SARIF 2.1.0 (validated against the OASIS schema), GitHub Actions
annotations, and the exit status of every format."""

from __future__ import annotations

import json
from pathlib import Path

import shutil

import jsonschema
import pytest

from conftest import FIXTURES, lint_json, run_cli
from lint_rules import ALL_RULES

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict], dict]:
    """The demo linted once as JSON and once as SARIF (nothing here writes to it)."""
    demo = tmp_path_factory.mktemp("formats") / "demo"
    shutil.copytree(FIXTURES / "demo", demo, ignore=shutil.ignore_patterns(".asyncmigrate_cache"))
    _, findings = lint_json("shop", cwd=demo)
    return demo, findings, sarif("shop", cwd=demo)


def sarif(*args: str, cwd: Path) -> dict:
    result = run_cli(*args, "--format", "sarif", cwd=cwd)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def apply_replacements(text: str, replacements: list[dict]) -> str:
    """Apply SARIF replacements (1-based lines, code-point columns, exclusive end)."""
    lines = text.splitlines(keepends=True)

    def offset(line: int, column: int) -> int:
        return sum(len(x) for x in lines[: line - 1]) + column - 1

    spans = []
    for r in replacements:
        region = r["deletedRegion"]
        start = offset(region["startLine"], region["startColumn"])
        end = offset(region["endLine"], region["endColumn"])
        spans.append((start, end, r["insertedContent"]["text"]))
    for start, end, new in sorted(spans, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def test_sarif_is_valid_and_describes_every_rule(demo_run):
    _, _, log = demo_run
    validator = jsonschema.validators.validator_for(SCHEMA)(SCHEMA)
    errors = sorted(validator.iter_errors(log), key=str)
    assert not errors, [e.message for e in errors[:5]]

    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["AM001", "AM002", "AM003", *(rule.CODE for rule in ALL_RULES)]
    for descriptor, rule in zip(rules[3:], ALL_RULES):
        assert descriptor["name"] == rule.__name__
        assert descriptor["shortDescription"]["text"]
        assert len(descriptor["fullDescription"]["text"]) > len(descriptor["shortDescription"]["text"])
        assert descriptor["helpUri"].endswith("#rules")
        assert "## Why is this bad?" in descriptor["help"]["markdown"]


def test_sarif_results_match_json_and_carry_fixes(demo_run):
    _, findings, log = demo_run
    results = log["runs"][0]["results"]
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    as_json = [
        {
            "path": r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "line": r["locations"][0]["physicalLocation"]["region"]["startLine"],
            "column": r["locations"][0]["physicalLocation"]["region"]["startColumn"],
            "end_line": r["locations"][0]["physicalLocation"]["region"]["endLine"],
            "end_column": r["locations"][0]["physicalLocation"]["region"]["endColumn"],
            "code": r["ruleId"],
            "message": r["message"]["text"],
            "fixable": "fixes" in r,
        }
        for r in results
    ]
    assert as_json == findings
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    assert sum("fixes" in r for r in results) == sum(f["fixable"] for f in findings) > 0


def test_sarif_fixes_reproduce_what_fix_writes(demo_run):
    """Applying each file's SARIF replacements gives exactly the `--fix` result
    (fixtures/demo_fixed), multi-line `async with` blocks included."""
    demo, _, log = demo_run
    by_file: dict[str, list[dict]] = {}
    for result in log["runs"][0]["results"]:
        for fix in result.get("fixes", []):
            for change in fix["artifactChanges"]:
                by_file.setdefault(change["artifactLocation"]["uri"], []).extend(change["replacements"])
    assert {"shop/streams.py", "shop/services/orders.py"} <= set(by_file)
    for uri, replacements in by_file.items():
        fixed = apply_replacements((demo / uri).read_text(), replacements)
        assert fixed == (FIXTURES / "demo_fixed" / uri).read_text(), uri


def test_sarif_fix_that_edits_imports_too(tmp_path):
    """A fix beyond the finding's span (AM201 also edits the imports) is given as
    changed lines; applied, they give what `--fix` writes."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    source = "import time\n\n\nasync def nap():\n    time.sleep(1)\n"
    (tmp_path / "sleepy.py").write_text(source)
    log = sarif("sleepy.py", cwd=tmp_path)
    (result,) = log["runs"][0]["results"]
    assert result["ruleId"] == "AM201"
    (change,) = result["fixes"][0]["artifactChanges"]
    assert len(change["replacements"]) == 2
    fixed = apply_replacements(source, change["replacements"])
    assert run_cli("sleepy.py", "--fix", cwd=tmp_path).returncode == 0
    assert fixed == (tmp_path / "sleepy.py").read_text()
    assert "await asyncio.sleep(1)" in fixed


def test_github_annotations(demo_run):
    demo, findings, _ = demo_run
    result = run_cli("shop", "--format", "github", cwd=demo)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == len(findings)
    assert lines[0] == (
        "::error file=shop/app.py,line=20,col=5,endLine=20,endColumn=11,title=AM102::"
        "coroutine function `shop.app.main` is called from module-level code, where its "
        "coroutine can never be awaited: bridge it (asyncio.run / async_to_sync) or make "
        "the caller async"
    )
    for line, finding in zip(lines, findings):
        assert line.startswith(
            f"::error file={finding['path']},line={finding['line']},col={finding['column']},"
        )
        assert f",title={finding['code']}::" in line


def test_github_escapes_property_and_message_separators(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "a,b:c%.py").write_text("import asyncio\nasync def f():\n    asyncio.sleep(1)\n")
    result = run_cli("a,b:c%.py", "--format", "github", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("::error file=a%2Cb%3Ac%25.py,line=3,col=5,")


CLEAN = "import asyncio\nasync def f():\n    await asyncio.sleep(1)\n"
BUGGY = "import asyncio\nasync def f():\n    asyncio.sleep(1)\n"


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_exit_status_in_every_format(tmp_path, fmt):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "clean.py").write_text(CLEAN)
    (tmp_path / "buggy.py").write_text(BUGGY)
    clean = run_cli("clean.py", "--format", fmt, cwd=tmp_path)
    buggy = run_cli("buggy.py", "--format", fmt, cwd=tmp_path)
    missing = run_cli("nope.py", "--format", fmt, cwd=tmp_path)
    assert (clean.returncode, buggy.returncode, missing.returncode) == (0, 1, 2)
    assert missing.stdout == ""
    if fmt == "json":
        assert json.loads(clean.stdout) == [] and len(json.loads(buggy.stdout)) == 1
    elif fmt == "sarif":
        assert json.loads(clean.stdout)["runs"][0]["results"] == []
        assert len(json.loads(buggy.stdout)["runs"][0]["results"]) == 1
    elif fmt == "github":
        assert clean.stdout == ""
        assert buggy.stdout.startswith("::error file=buggy.py,line=3,col=5,")


def test_fix_prints_what_it_fixed_and_keeps_stdout_to_the_format(project_copy):
    demo = project_copy("demo")
    result = run_cli("shop/services/orders.py", "--fix", "--format", "json", cwd=demo)
    assert result.returncode == 1  # the AM250 has no fix and remains
    assert [f["code"] for f in json.loads(result.stdout)] == ["AM250"]
    assert result.stderr.splitlines() == [
        "fixed 4 in shop/services/orders.py",
        "  18:9: AM101 coroutine `shop.db.base.Repository.save()` is never awaited: its result is dropped",
        "  19:12: AM101 coroutine `shop.services.notify.send_email()` is used as a value without `await`",
        "  21:9: AM101 coroutine `shop.services.notify.send_email()` is never awaited: its result is dropped",
        "  33:16: AM101 coroutine `shop.db.base.Repository.fetch()` is bound to a name that is never awaited",
        "Fixed 4 findings in 1 files.",
    ]


def test_diff_exit_status_and_no_writes(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "clean.py").write_text(CLEAN)
    (tmp_path / "buggy.py").write_text(BUGGY)
    clean = run_cli("clean.py", "--diff", cwd=tmp_path)
    assert (clean.returncode, clean.stdout) == (0, "")
    buggy = run_cli("buggy.py", "--diff", cwd=tmp_path)
    assert buggy.returncode == 1
    assert "-    asyncio.sleep(1)\n+    await asyncio.sleep(1)\n" in buggy.stdout
    assert "Would fix 1 findings in 1 files." in buggy.stderr
    assert (tmp_path / "buggy.py").read_text() == BUGGY
