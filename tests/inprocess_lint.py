"""Lint in this process, for tests whose subject is a rule rather than the CLI
contract (which tests/test_cli_contract.py and the `run_cli` tests cover): a
subprocess per check would cost a second of interpreter start-up each."""

from __future__ import annotations

from pathlib import Path

from lint_rules import runner


def lint(path: Path, select: str, *, fix: bool = False, unsafe_fixes: bool = False) -> list[dict]:
    """Findings as `--format json` objects; with `fix`, fixed files are written."""
    outcome = runner.run(
        runner.LintRequest(
            paths=[str(path)],
            select=select.split(","),
            fix=fix,
            unsafe_fixes=unsafe_fixes,
            jobs=1,
            use_cache=False,
        )
    )
    if fix:
        runner.write_fixes(outcome)
    return [d.to_json() for d in outcome.diagnostics]
