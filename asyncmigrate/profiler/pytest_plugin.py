"""pytest plugin (entry point `pytest11`): `pytest --asyncmigrate-profile=report.json`
watches every event loop the test suite runs (asyncio.run in tests, pytest-asyncio,
anyio's asyncio backend) and writes the blocking report at the end of the session,
with the ranked table in the terminal summary.

Under pytest-xdist each worker writes `report.json.<worker>` and the controller merges
them into `report.json`.
"""

from __future__ import annotations

import glob
import io
import os

import pytest

_PROFILER = pytest.StashKey[object]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("asyncmigrate", "asyncmigrate runtime blocking-call finder")
    group.addoption(
        "--asyncmigrate-profile", metavar="PATH", default=None,
        help="watch every asyncio event loop the tests run and write the blocking report (JSON) to PATH",
    )
    group.addoption(
        "--asyncmigrate-profile-threshold", metavar="MS", type=float, default=10.0,
        help="report loop steps longer than this many milliseconds (default 10)",
    )


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("asyncmigrate_profile")
    if not path:
        return
    threshold = config.getoption("asyncmigrate_profile_threshold")
    if not threshold > 0:
        raise pytest.UsageError("--asyncmigrate-profile-threshold must be a positive number of milliseconds")
    from .session import BlockingProfiler

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    output = f"{path}.{worker}" if worker else path
    profiler = BlockingProfiler(threshold, output, metadata={"pytest_args": list(config.invocation_params.args)})
    profiler.start()
    config.stash[_PROFILER] = profiler


def _finish(config: pytest.Config):
    profiler = config.stash.get(_PROFILER, None)
    if profiler is None:
        return None
    del config.stash[_PROFILER]
    report = profiler.stop()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return report
    parts = sorted(glob.glob(glob.escape(profiler.output) + ".gw*"))
    if parts:
        from .report import ReportError, load_report, merge_reports

        reports = [report]
        for part in parts:
            try:
                reports.append(load_report(part))
            except ReportError:
                continue
            os.unlink(part)
        report = merge_reports(reports)
        report.write(profiler.output)
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    # an xdist worker writes its part before it tells the controller it is done
    if os.environ.get("PYTEST_XDIST_WORKER"):
        _finish(session.config)


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    report = _finish(config)
    if report is None or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    from rich.console import Console

    from .report import render_table

    buffer = io.StringIO()
    # the terminal's width on a terminal; wide in a CI log, so that paths are not folded
    isatty = getattr(terminalreporter, "isatty", False)
    isatty = isatty() if callable(isatty) else isatty
    width = terminalreporter._tw.fullwidth if isatty else 200
    render_table(report, console=Console(file=buffer, width=width, force_terminal=False))
    terminalreporter.write_sep("-", "asyncmigrate: event-loop blocking")
    terminalreporter.write(buffer.getvalue())
    terminalreporter.write_line(f"report: {config.getoption('asyncmigrate_profile')}")


def pytest_unconfigure(config: pytest.Config) -> None:
    _finish(config)  # no terminal summary (e.g. -p no:terminal): still write the report
