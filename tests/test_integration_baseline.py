"""Baselines: `--write-baseline` freezes today's findings, `--baseline` reports only new
ones, matched by file, code, enclosing function and line text, never line numbers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES, lint_json, run_cli

ORDERS = "shop/services/orders.py"
DROPPED = "        self.audit.save(user_key, item)  # AM101: constructor-typed attribute\n"


@pytest.fixture(scope="module")
def baselined(tmp_path_factory: pytest.TempPathFactory) -> Path:
    demo = tmp_path_factory.mktemp("baseline") / "demo"
    shutil.copytree(FIXTURES / "demo", demo, ignore=shutil.ignore_patterns(".asyncmigrate_cache"))
    written = run_cli("shop", "--write-baseline", "baseline.json", cwd=demo)
    assert written.returncode == 0, written.stderr
    assert written.stdout == "All checks passed (10 files checked).\n"
    count = len(json.loads((demo / "baseline.json").read_text())["findings"])
    assert count >= 13  # tests/test_lint_demo.py pins the demo's findings
    assert f"Wrote {count} findings to the baseline baseline.json." in written.stderr
    return demo


@pytest.fixture
def demo(baselined: Path, tmp_path: Path) -> Path:
    """A fresh copy of the demo with its baseline written, for a test to edit."""
    demo = tmp_path / "demo"
    shutil.copytree(baselined, demo)
    return demo


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1
    path.write_text(text.replace(old, new))


def test_written_baseline_silences_the_gate(demo):
    data = json.loads((demo / "baseline.json").read_text())
    entries = [e for e in data["findings"] if e["path"] == ORDERS and e["code"] == "AM101"]
    assert sorted(e["scope"] for e in entries) == ["OrderService.lookup", *["OrderService.place"] * 3]
    assert all(len(e["fingerprint"]) == 16 and "line" not in e for e in entries)
    status, findings = lint_json("shop", "--baseline", "baseline.json", cwd=demo)
    assert (status, findings) == (0, [])


def test_inserted_lines_do_not_resurface_a_baselined_finding(demo):
    edit(demo / ORDERS, "class OrderService:\n", "# a\n# b\n\n\nclass OrderService:\n")
    edit(demo / ORDERS, DROPPED, "        # reindented and moved down\n" + DROPPED.replace("  #", "    #"))
    status, findings = lint_json("shop", "--baseline", "baseline.json", cwd=demo)
    assert (status, findings) == (0, [])


def test_a_second_identical_finding_in_the_same_function_is_new(demo):
    edit(demo / ORDERS, DROPPED, DROPPED * 2)
    status, findings = lint_json("shop", "--baseline", "baseline.json", cwd=demo)
    assert status == 1
    assert [(f["path"], f["line"], f["code"]) for f in findings] == [(ORDERS, 19, "AM101")]


def test_a_new_finding_of_the_same_code_in_the_same_function_is_reported(demo):
    edit(demo / ORDERS, "        await aio.sleep(0)\n", "        aio.sleep(1)\n")
    status, findings = lint_json("shop", "--baseline", "baseline.json", cwd=demo)
    assert status == 1
    assert [(f["line"], f["code"]) for f in findings] == [(22, "AM101")]
    assert "asyncio.sleep()" in findings[0]["message"]


def test_the_same_line_in_another_function_is_new(demo):
    same_text = "        self.audit.save(user_key, item)\n"  # as in OrderService.place
    edit(demo / ORDERS, "        return key\n", same_text + "        return key\n")
    status, findings = lint_json("shop", "--baseline", "baseline.json", cwd=demo)
    assert [(f["line"], f["code"]) for f in findings] == [(34, "AM101")]


def test_fixed_findings_are_reported_with_a_refresh_hint(demo):
    edit(demo / ORDERS, DROPPED, DROPPED.replace("self.audit", "await self.audit"))
    result = run_cli("shop", "--baseline", "baseline.json", cwd=demo)
    assert result.returncode == 0
    assert result.stdout == "All checks passed (10 files checked).\n"
    assert "1 baselined finding no longer reported (fixed):" in result.stderr
    assert f"{ORDERS}: AM101 in OrderService.place: coroutine" in result.stderr
    assert "--write-baseline baseline.json" in result.stderr


def test_files_not_checked_are_not_reported_fixed(demo):
    """pre-commit names only the staged files; the rest of the baseline stays."""
    result = run_cli(ORDERS, "--baseline", "baseline.json", cwd=demo)
    assert result.returncode == 0 and "fixed" not in result.stderr
    selected = run_cli("shop", "--select", "AM104", "--baseline", "baseline.json", cwd=demo)
    assert selected.returncode == 0 and "fixed" not in selected.stderr


def test_paths_are_relative_to_the_baseline_file(demo):
    """The gate matches however the paths are spelled on the command line."""
    status, findings = lint_json(
        str(demo / "shop"), "--baseline", str(demo / "baseline.json"), cwd=demo.parent
    )
    assert (status, findings) == (0, [])
    result = run_cli("./shop/services", "--baseline", "baseline.json", cwd=demo)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("content", ["not json", '{"version": 99, "findings": []}', "[]"])
def test_a_bad_baseline_is_a_usage_error(demo, content):
    (demo / "bad.json").write_text(content)
    result = run_cli("shop", "--baseline", "bad.json", cwd=demo)
    assert result.returncode == 2 and result.stdout == ""
    assert "baseline" in result.stderr
    missing = run_cli("shop", "--baseline", "missing.json", cwd=demo)
    assert missing.returncode == 2 and "--write-baseline" in missing.stderr
