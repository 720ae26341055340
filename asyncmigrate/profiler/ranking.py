"""Measured cost of static findings: how much blocked time a blocking report charges
to a given line, so `lint --profile` can rank AM2xx findings by what they cost at
run time.

A line is charged a site's total when it is the site itself (the blocking call) or a
frame of the site's stack: the line in a coroutine that calls the sync helper that
blocks (what the transitive rule reports) is charged too. Each site counts once per
line. The stack is the one seen in the site's worst step, so a helper reached from
several coroutines charges the one on that stack.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from .report import BlockingReport

T = TypeVar("T")


def _stack_position(entry: str) -> tuple[str, int] | None:
    location = entry.rsplit(" in ", 1)[0]
    file, _, line = location.rpartition(":")
    return (file, int(line)) if file and line.isdigit() else None


def blocked_ms_by_line(report: BlockingReport) -> dict[tuple[str, int], float]:
    """(real path of the file, line) -> blocked milliseconds measured through that
    line."""
    cost: dict[tuple[str, int], float] = defaultdict(float)
    for site in report.sites:
        lines = {(site.file, site.line)}
        lines.update(filter(None, (_stack_position(entry) for entry in site.stack)))
        for file, line in lines:
            cost[(os.path.realpath(file), line)] += site.total_ms
    return dict(cost)


def _json_position(finding: Any) -> tuple[str, int]:
    return str(finding["path"]), int(finding["line"])


def rank_findings(findings: Iterable[T], report: BlockingReport, *,
                  position: Callable[[T], tuple[str, int]] = _json_position,
                  base: str | os.PathLike[str] | None = None) -> list[tuple[T, float]]:
    """Findings with their measured cost, most expensive first; unmeasured findings
    keep their order, at the end. `position` gives a finding's (path, line), by
    default from `lint --format json` objects; relative paths are relative to `base`
    (default: the current directory)."""
    cost = blocked_ms_by_line(report)
    base = os.fspath(base) if base is not None else os.getcwd()
    ranked = []
    for finding in findings:
        path, line = position(finding)
        ranked.append((finding, cost.get((os.path.realpath(os.path.join(base, path)), line), 0.0)))
    return sorted(ranked, key=lambda item: -item[1])
