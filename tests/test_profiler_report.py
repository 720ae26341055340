"""Blocking reports: schema, merge (sums counts and totals, keeps the worst block),
`asyncmigrate profile merge` / `show`, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from conftest import REPO, run_cli

from asyncmigrate.profiler import (
    BlockingReport,
    BlockingSite,
    ReportError,
    load_report,
    merge_reports,
)
from asyncmigrate.profiler.ranking import rank_findings

SCHEMA = json.loads((REPO / "asyncmigrate" / "profiler" / "report.schema.json").read_text())


def site(line: int, total: float, worst: float, count: int = 1, **fields) -> BlockingSite:
    return BlockingSite(file="/app/svc.py", line=line, function="app.svc:handler", count=count,
                        total_ms=total, max_ms=worst, stack=[f"/app/svc.py:{line} in app.svc:handler"], **fields)


def write(path: Path, report: BlockingReport) -> Path:
    report.write(path)
    return path


def profile(*args: str, cwd: Path):
    return run_cli(*args, cwd=cwd, module="asyncmigrate.profiler")


def test_round_trip_and_schema(tmp_path: Path) -> None:
    report = BlockingReport(10.0, [site(3, 50, 30, count=2, call="time.sleep", coroutine="app.svc:handler"),
                                   site(9, 120, 120)], {"command": ["python", "app.py"]})
    path = write(tmp_path / "r.json", report)
    data = json.loads(path.read_text())
    jsonschema.validate(data, SCHEMA)
    assert [s["line"] for s in data["sites"]] == [9, 3]  # ranked by total
    assert data["blocked_ms"] == 170 and data["command"] == ["python", "app.py"]
    again = load_report(path)
    assert again.threshold_ms == 10.0
    assert {s.key: s for s in again.sites}[("/app/svc.py", 3, "app.svc:handler")].call == "time.sleep"


def test_merge_sums_counts_and_totals_and_keeps_the_worst() -> None:
    first = BlockingReport(10.0, [site(3, 50, 30, count=2, call="time.sleep"), site(9, 20, 20)],
                           {"slow_steps": 3})
    worst = site(3, 80, 80, count=1)
    worst.stack = ["worst stack"]
    worst.coroutine = "app.svc:other"
    second = BlockingReport(5.0, [worst], {"slow_steps": 1})
    merged = merge_reports([first, second])
    by_line = {s.line: s for s in merged.sites}
    assert by_line[3].count == 3 and by_line[3].total_ms == 130 and by_line[3].max_ms == 80
    assert by_line[3].stack == ["worst stack"] and by_line[3].coroutine == "app.svc:other"
    assert by_line[3].call == "time.sleep"  # known in one run is known
    assert by_line[9].count == 1
    assert merged.threshold_ms == 5.0 and merged.metadata["thresholds_ms"] == [5.0, 10.0]
    assert merged.metadata["runs"] == 2 and merged.metadata["slow_steps"] == 4
    # the inputs are untouched
    assert first.sites[0].count == 2


def test_merge_command(tmp_path: Path) -> None:
    a = write(tmp_path / "a.json", BlockingReport(10.0, [site(3, 50, 30)]))
    b = write(tmp_path / "b.json", BlockingReport(10.0, [site(3, 70, 70), site(4, 15, 15)]))
    result = profile("merge", str(a), str(b), "-o", str(tmp_path / "out.json"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    merged = json.loads((tmp_path / "out.json").read_text())
    jsonschema.validate(merged, SCHEMA)
    assert [(s["line"], s["count"], s["total_ms"], s["max_ms"]) for s in merged["sites"]] == [(3, 2, 120, 70), (4, 1, 15, 15)]
    assert merged["runs"] == 2
    assert "svc.py:3" in result.stderr  # the table
    to_stdout = profile("merge", str(a), str(b), cwd=tmp_path)
    assert json.loads(to_stdout.stdout)["sites"][0]["total_ms"] == 120


def test_show_command_ranks_with_shares(tmp_path: Path) -> None:
    path = write(tmp_path / "r.json", BlockingReport(10.0, [site(3, 25, 25), site(9, 75, 40, count=3, call="time.sleep")]))
    result = profile("show", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.index("svc.py:9") < out.index("svc.py:3")
    assert "75.0%" in out and "25.0%" in out and "time.sleep" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "invalid JSON"),
        (json.dumps({"version": 2, "threshold_ms": 10, "sites": []}), "unsupported report version 2"),
        (json.dumps({"version": 1, "threshold_ms": 10}), "no 'sites' list"),
        (json.dumps({"version": 1, "threshold_ms": 10, "sites": [{"file": "x"}]}), "lacks the 'line' field"),
        (json.dumps([1, 2]), "not a blocking report"),
    ],
)
def test_bad_reports_are_clear_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ReportError, match=message):
        load_report(path)
    result = profile("show", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_missing_report_file(tmp_path: Path) -> None:
    result = profile("merge", str(tmp_path / "nope.json"), cwd=tmp_path)
    assert result.returncode == 2
    assert "nope.json" in result.stderr and "Traceback" not in result.stderr


def test_findings_are_ranked_by_measured_cost(tmp_path: Path) -> None:
    """`lint --profile` support: a finding is charged the sites at its line or with its
    line on their stack (the coroutine line that calls the blocking helper)."""
    helper, handler = tmp_path / "helper.py", tmp_path / "handler.py"
    report = BlockingReport(10.0, [
        BlockingSite(file=str(helper), line=5, function="helper:pause", call="time.sleep", count=2,
                     total_ms=300, max_ms=200,
                     stack=[f"{handler}:9 in handler:refresh", f"{helper}:5 in helper:pause"]),
        BlockingSite(file=str(handler), line=20, function="handler:login", count=1, total_ms=100, max_ms=100,
                     stack=[f"{handler}:20 in handler:login"]),
    ])
    findings = [
        {"path": "handler.py", "line": 3, "code": "AM201"},
        {"path": "handler.py", "line": 20, "code": "AM209"},
        {"path": "handler.py", "line": 9, "code": "AM211"},
    ]
    ranked = rank_findings(findings, report, base=tmp_path)
    assert [(finding["line"], cost) for finding, cost in ranked] == [(9, 300), (20, 100), (3, 0)]
