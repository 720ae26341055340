"""`lint --profile REPORT`: findings ranked by the blocked time measured at run time."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import lint_json, run_cli

APP = """\
import time

async def rarely():
    time.sleep(0.1)

async def hot_path():
    time.sleep(0.2)
"""


def report(tmp_path: Path, sites: list[dict]) -> Path:
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"version": 1, "threshold_ms": 10.0, "sites": sites}))
    return path


def test_measured_findings_come_first_with_their_cost(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    app = tmp_path / "app.py"
    app.write_text(APP)
    site = {
        "file": str(app), "line": 7, "function": "app:hot_path", "call": "time.sleep",
        "coroutine": "hot_path", "count": 12, "total_ms": 2412.4, "max_ms": 230.0, "stack": [],
    }
    _, plain = lint_json("app.py", cwd=tmp_path)
    assert [f["line"] for f in plain] == [4, 7]
    _, ranked = lint_json("app.py", "--profile", str(report(tmp_path, [site])), cwd=tmp_path)
    assert [f["line"] for f in ranked] == [7, 4]
    assert ranked[0]["message"].endswith("[measured: 2412 ms blocked]")
    assert "measured" not in ranked[1]["message"]


def test_bad_profile_report_is_a_usage_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "bad.json").write_text("{not json")
    result = run_cli("app.py", "--profile", "bad.json", cwd=tmp_path)
    assert result.returncode == 2
    assert "bad profile report" in result.stderr
