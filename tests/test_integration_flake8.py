"""The flake8 plugin (entry point `AM`): real flake8 reports exactly the findings of
`python -m lint_rules --format json`, and `# noqa: AM101` works there too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import lint_json

SEP = "\x1f"


def flake8(*args: str, cwd: Path) -> tuple[int, list[dict]]:
    result = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select", "AM",
         f"--format=%(path)s{SEP}%(row)d{SEP}%(col)d{SEP}%(code)s{SEP}%(text)s", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode in (0, 1), result.stderr
    findings = []
    for line in result.stdout.splitlines():
        path, row, col, code, text = line.split(SEP)
        findings.append({"path": path, "line": int(row), "column": int(col), "code": code, "message": text})
    return result.returncode, findings


def comparable(findings: list[dict]) -> list[tuple]:
    return sorted((f["path"], f["line"], f["column"], f["code"], f["message"]) for f in findings)


def test_flake8_reports_the_same_findings_as_the_runner(project_copy):
    demo = project_copy("demo")
    status, ours = lint_json("shop", cwd=demo)
    flake8_status, theirs = flake8("shop", cwd=demo)
    assert status == flake8_status == 1
    assert len(ours) >= 13  # tests/test_lint_demo.py pins the demo's findings
    assert comparable(theirs) == comparable(ours)


def test_noqa_is_respected_by_code(project_copy):
    demo = project_copy("demo")
    orders = demo / "shop" / "services" / "orders.py"
    text = orders.read_text()
    text = text.replace("# AM101: constructor-typed attribute", "# noqa: AM101")
    text = text.replace("# AM101: alias of an imported coroutine function", "# noqa: E501")
    orders.write_text(text)
    _, ours = lint_json("shop/services/orders.py", cwd=demo)
    _, theirs = flake8("shop/services/orders.py", cwd=demo)
    assert [f["line"] for f in theirs] == [19, 21, 33, 46]
    assert comparable(theirs) == comparable(ours)
