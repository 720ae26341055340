"""`BlockingProfiler`: one watchdog plus where its report goes, and the process-wide
profiler that `start()`/`stop()`/`watch()` manage."""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import Any

from .report import BlockingReport
from .watchdog import LoopWatchdog

# Profilers running now, oldest first. Several may run at once (an app that embeds
# the finder, run under `asyncmigrate profile` or the pytest plugin): each wraps the
# loop step independently and keeps its own counts.
_active: list[BlockingProfiler] = []
_active_lock = threading.Lock()


class BlockingProfiler:
    """Watches every asyncio event loop in this process while it is started.

    `output` (optional) is written atomically on `stop()`, at interpreter exit, and
    every `flush_interval` seconds while new blocking was recorded, so a server that
    is killed still leaves a recent report.
    """

    def __init__(self, threshold_ms: float = 10.0, output: str | os.PathLike[str] | None = None,
                 *, flush_interval: float = 5.0, metadata: dict[str, Any] | None = None) -> None:
        self.output = os.fspath(output) if output is not None else None
        self.metadata = dict(metadata or {})
        self._watchdog = LoopWatchdog(threshold_ms, on_flush=self._flush if self.output else None,
                                      flush_interval=flush_interval)
        self._atexit_registered = False

    @property
    def threshold_ms(self) -> float:
        return self._watchdog.threshold_ms

    @property
    def running(self) -> bool:
        return self._watchdog.running

    def start(self) -> BlockingProfiler:
        if self.running:
            return self
        self._watchdog.install()
        with _active_lock:
            _active.append(self)
        if not self._atexit_registered:
            atexit.register(self._at_exit)
            self._atexit_registered = True
        return self

    def stop(self) -> BlockingReport:
        """Stop watching; write and return the report."""
        self._watchdog.uninstall()
        with _active_lock:
            if self in _active:
                _active.remove(self)
        report = self.report()
        if self.output:
            self._write(report)
        return report

    def report(self) -> BlockingReport:
        report = self._watchdog.report()
        report.metadata.update(self.metadata)
        report.metadata.setdefault("pid", os.getpid())
        report.metadata.setdefault("argv", list(sys.argv))
        return report

    def after_fork_in_child(self, output: str | None = None) -> None:
        if output is not None:
            self.output = output
        self._watchdog.after_fork_in_child()

    def _flush(self) -> None:
        self._write(self.report())

    def _write(self, report: BlockingReport) -> None:
        assert self.output is not None
        try:
            report.write(self.output)
        except OSError as exc:
            print(f"asyncmigrate profile: cannot write {self.output}: {exc}", file=sys.stderr)

    def _at_exit(self) -> None:
        if self.running:
            self.stop()

    def __enter__(self) -> BlockingProfiler:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def active() -> BlockingProfiler | None:
    """The most recently started profiler that is still running."""
    with _active_lock:
        return _active[-1] if _active else None
