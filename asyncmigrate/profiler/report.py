"""The blocking report: what held the event loop, per call site, as JSON (schema
version 1) and as a ranked table.

Schema (README, "Runtime blocking-call finder"):

    {"version": 1, "threshold_ms": float,
     "sites": [{"file": abs path, "line": int, "function": "pkg.mod:Cls.meth",
                "call": "time.sleep" | null, "coroutine": "pkg.mod:handler" | null,
                "count": int, "total_ms": float, "max_ms": float,
                "stack": ["file:line in pkg.mod:func", ...]}],
     ...metadata}

Sites are ranked by total blocked time. Merging sums counts and totals and keeps the
worst single block (with the stack and coroutine seen with it).

This module is imported inside profiled programs: the standard library only (rich is
imported when a table is printed).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..fileio import atomic_write_text

REPORT_VERSION = 1


class ReportError(Exception):
    """A report file that cannot be read or is not a version-1 blocking report."""


@dataclass
class BlockingSite:
    file: str
    line: int
    function: str
    call: str | None = None
    coroutine: str | None = None
    count: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0
    stack: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.file, self.line, self.function)

    def absorb(self, other: BlockingSite) -> None:
        self.count += other.count
        self.total_ms += other.total_ms
        if other.max_ms > self.max_ms:
            self.max_ms = other.max_ms
            self.stack = list(other.stack)
            self.coroutine = other.coroutine or self.coroutine
            self.call = other.call or self.call
        else:
            self.call = self.call or other.call
            self.coroutine = self.coroutine or other.coroutine

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "function": self.function,
            "call": self.call,
            "coroutine": self.coroutine,
            "count": self.count,
            "total_ms": round(self.total_ms, 3),
            "max_ms": round(self.max_ms, 3),
            "stack": list(self.stack),
        }

    @classmethod
    def from_json(cls, data: Any) -> BlockingSite:
        if not isinstance(data, dict):
            raise ReportError(f"a site must be an object, not {type(data).__name__}")
        try:
            return cls(
                file=str(data["file"]),
                line=int(data["line"]),
                function=str(data["function"]),
                call=None if data.get("call") is None else str(data["call"]),
                coroutine=None if data.get("coroutine") is None else str(data["coroutine"]),
                count=int(data["count"]),
                total_ms=float(data["total_ms"]),
                max_ms=float(data["max_ms"]),
                stack=[str(entry) for entry in data.get("stack") or []],
            )
        except KeyError as exc:
            raise ReportError(f"a site lacks the {exc.args[0]!r} field") from None
        except (TypeError, ValueError) as exc:
            raise ReportError(f"a site has a malformed field: {exc}") from None


@dataclass
class BlockingReport:
    threshold_ms: float
    sites: list[BlockingSite] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def blocked_ms(self) -> float:
        return sum(site.total_ms for site in self.sites)

    def ranked(self) -> list[BlockingSite]:
        return sorted(self.sites, key=lambda s: (-s.total_ms, -s.max_ms, s.file, s.line))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": REPORT_VERSION,
            "threshold_ms": self.threshold_ms,
            "sites": [site.to_json() for site in self.ranked()],
        }
        for key, value in self.metadata.items():
            data.setdefault(key, value)
        data["blocked_ms"] = round(self.blocked_ms, 3)
        return data

    @classmethod
    def from_json(cls, data: Any) -> BlockingReport:
        if not isinstance(data, dict):
            raise ReportError("not a blocking report (expected a JSON object)")
        version = data.get("version")
        if version != REPORT_VERSION:
            raise ReportError(f"unsupported report version {version!r} (this asyncmigrate reads {REPORT_VERSION})")
        if not isinstance(data.get("sites"), list):
            raise ReportError("the report has no 'sites' list")
        try:
            threshold = float(data["threshold_ms"])
        except (KeyError, TypeError, ValueError):
            raise ReportError("the report has no numeric 'threshold_ms'") from None
        metadata = {k: v for k, v in data.items() if k not in ("version", "threshold_ms", "sites", "blocked_ms")}
        return cls(threshold, [BlockingSite.from_json(site) for site in data["sites"]], metadata)

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write atomically: a reader (or a Ctrl-C) never sees half a report."""
        atomic_write_text(Path(path), json.dumps(self.to_json(), indent=2) + "\n")


def load_report(path: str | os.PathLike[str]) -> BlockingReport:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ReportError(f"{path}: not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}: invalid JSON ({exc})") from None
    try:
        return BlockingReport.from_json(data)
    except ReportError as exc:
        raise ReportError(f"{path}: {exc}") from None


def merge_reports(reports: Iterable[BlockingReport]) -> BlockingReport:
    """One report for several runs: counts and totals add up, the worst block wins.
    The merged threshold is the lowest one (the report then says which were used)."""
    reports = list(reports)
    if not reports:
        return BlockingReport(threshold_ms=10.0)
    thresholds = sorted({report.threshold_ms for report in reports})
    merged: dict[tuple[str, int, str], BlockingSite] = {}
    for report in reports:
        for site in report.sites:
            existing = merged.get(site.key)
            if existing is None:
                merged[site.key] = BlockingSite(**{**site.__dict__, "stack": list(site.stack)})
            else:
                existing.absorb(site)
    metadata: dict[str, Any] = {"runs": sum(int(r.metadata.get("runs", 1)) for r in reports)}
    if len(thresholds) > 1:
        metadata["thresholds_ms"] = thresholds
    slow = [r.metadata.get("slow_steps") for r in reports]
    if all(isinstance(n, int) for n in slow):
        metadata["slow_steps"] = sum(slow)  # type: ignore[arg-type]
    return BlockingReport(thresholds[0], list(merged.values()), metadata)


def _relative(path: str) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if relative.startswith("..") else relative


def table_console(*, stderr: bool = False) -> Any:
    """A rich console for the table: the terminal's width on a terminal; wide when
    the output is a file or a pipe (CI logs), so that paths are not folded."""
    from rich.console import Console

    console = Console(stderr=stderr)
    if not console.is_terminal:
        console = Console(stderr=stderr, width=200)
    return console


def render_table(report: BlockingReport, *, limit: int | None = 20, console: Any = None) -> None:
    """Print the ranked table (rich): call site, function, call, count, total, max,
    share of all blocked time."""
    from rich.table import Table

    console = console or table_console()
    ranked = report.ranked()
    blocked = report.blocked_ms or 1.0
    shown = ranked if limit is None else ranked[:limit]
    title = (
        f"Event-loop blocking (steps over {report.threshold_ms:g} ms): "
        f"{len(ranked)} site{'s' if len(ranked) != 1 else ''}, {report.blocked_ms:.1f} ms blocked"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("call site", overflow="fold")
    table.add_column("function", overflow="fold")
    table.add_column("call", overflow="fold")
    table.add_column("count", justify="right")
    table.add_column("total ms", justify="right")
    table.add_column("max ms", justify="right")
    table.add_column("share", justify="right")
    for rank, site in enumerate(shown, 1):
        table.add_row(
            str(rank),
            f"{_relative(site.file)}:{site.line}",
            site.function,
            site.call or "",
            str(site.count),
            f"{site.total_ms:.1f}",
            f"{site.max_ms:.1f}",
            f"{100 * site.total_ms / blocked:.1f}%",
        )
    if not ranked:
        console.print(f"No step held the event loop longer than {report.threshold_ms:g} ms.")
        return
    console.print(table)
    if len(ranked) > len(shown):
        console.print(f"... and {len(ranked) - len(shown)} more site(s) in the report")
