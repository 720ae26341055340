"""The runtime blocking-call finder: which call sites hold the asyncio event loop, for
how long, how often.

Embedding in a program (a server's startup, a benchmark)::

    from asyncmigrate import profiler

    with profiler.watch(threshold_ms=10, output="report.json"):
        asyncio.run(main())

    # or, around a server's lifetime
    profiler.start(threshold_ms=10, output="report.json")
    ...
    report = profiler.stop()          # a BlockingReport; also written to output

Other ways in: `asyncmigrate profile -- python app.py` and
`pytest --asyncmigrate-profile=report.json`.

The imports below are deferred: the `asyncmigrate profile` bootstrap imports this
package in every Python process it starts, and most of them never run a loop.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .report import (
        BlockingReport,
        BlockingSite,
        ReportError,
        load_report,
        merge_reports,
    )
    from .session import BlockingProfiler

__all__ = [
    "BlockingProfiler", "BlockingReport", "BlockingSite", "ReportError",
    "active", "load_report", "merge_reports", "start", "stop", "watch",
]

_LAZY = {
    "BlockingProfiler": "session",
    "BlockingReport": "report", "BlockingSite": "report", "ReportError": "report",
    "load_report": "report", "merge_reports": "report",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{module}", __name__), name)


def start(threshold_ms: float = 10.0, output: str | os.PathLike[str] | None = None,
          **options: Any) -> BlockingProfiler:
    """Start watching every asyncio loop in this process. `output` is written on
    stop(), at exit, and every few seconds while there is news."""
    from .session import BlockingProfiler

    return BlockingProfiler(threshold_ms, output, **options).start()


def stop() -> BlockingReport | None:
    """Stop the most recently started profiler; return its report (None if none was
    running)."""
    from .session import active as _active

    profiler = _active()
    return profiler.stop() if profiler is not None else None


def active() -> BlockingProfiler | None:
    from .session import active as _active

    return _active()


@contextlib.contextmanager
def watch(threshold_ms: float = 10.0, output: str | os.PathLike[str] | None = None,
          **options: Any) -> Iterator[BlockingProfiler]:
    """Watch the loops run inside the block; the report is written to `output` (if
    given) when the block exits, and is `profiler.report()` afterwards."""
    from .session import BlockingProfiler

    profiler = BlockingProfiler(threshold_ms, output, **options).start()
    try:
        yield profiler
    finally:
        profiler.stop()
