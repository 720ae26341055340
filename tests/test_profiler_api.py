"""The embedding API (`asyncmigrate.profiler.watch`, `start`/`stop`) in this process:
what is attributed where, what is not reported, and that the loop is left as found."""

from __future__ import annotations

import asyncio
import asyncio.events
import json
import sys
import threading
import time
from pathlib import Path
from time import sleep as nap

import pytest

from asyncmigrate import profiler

HERE = str(Path(__file__).resolve())


def line_of(function, text: str) -> int:
    """Line of the first line of `function` that contains `text`."""
    import inspect

    lines, first = inspect.getsourcelines(function)
    return first + next(i for i, line in enumerate(lines) if text in line)


def pause(seconds: float) -> None:
    nap(seconds)  # the blocking call


async def handler() -> None:
    pause(0.08)
    await asyncio.sleep(0)


async def polite() -> None:
    await asyncio.sleep(0.08)
    await asyncio.to_thread(time.sleep, 0.08)
    await asyncio.get_running_loop().run_in_executor(None, time.sleep, 0.08)


def only_site(report, file: str = HERE):
    """The one site in `file` (a busy machine may add a descheduled step elsewhere)."""
    sites = [s for s in report.sites if s.file == file]
    assert len(sites) == 1, [(s.file, s.line, s.function) for s in report.sites]
    return sites[0]


def test_watch_names_the_blocking_call() -> None:
    with profiler.watch(threshold_ms=10) as watching:
        asyncio.run(handler())
    site = only_site(watching.report())
    assert (site.file, site.line) == (HERE, line_of(pause, "nap(seconds)"))
    assert site.function == f"{__name__}:pause"
    assert site.call == "time.sleep"  # through `from time import sleep as nap`
    assert site.coroutine == f"{__name__}:handler"
    assert site.count == 1
    assert 60 <= site.total_ms <= 2000
    assert [entry.rsplit(" in ", 1)[1] for entry in site.stack] == [f"{__name__}:handler", f"{__name__}:pause"]


def test_awaiting_and_offloading_are_not_reported() -> None:
    with profiler.watch(threshold_ms=20) as watching:
        asyncio.run(polite())
    assert [s for s in watching.report().sites if s.file == HERE] == []


def test_start_stop_writes_the_report(tmp_path: Path) -> None:
    output = tmp_path / "report.json"
    # (this suite may itself run under `pytest --asyncmigrate-profile`)
    original, already_active = asyncio.events.Handle._run, profiler.active()
    started = profiler.start(threshold_ms=10, output=output)
    assert profiler.active() is started
    assert asyncio.events.Handle._run is not original
    asyncio.run(handler())
    report = profiler.stop()
    assert profiler.active() is already_active
    assert asyncio.events.Handle._run is original
    assert report is not None and only_site(report).call == "time.sleep"
    data = json.loads(output.read_text())
    assert data["version"] == 1 and "time.sleep" in [site["call"] for site in data["sites"]]
    if already_active is None:
        assert profiler.stop() is None


def test_threshold_is_respected() -> None:
    async def short_block() -> None:
        time.sleep(0.03)

    with profiler.watch(threshold_ms=200) as lenient:
        asyncio.run(short_block())
    assert [s for s in lenient.report().sites if s.file == HERE] == []
    with profiler.watch(threshold_ms=5) as strict:
        asyncio.run(short_block())
    assert only_site(strict.report()).call == "time.sleep"


def test_a_loop_in_another_thread_is_watched() -> None:
    with profiler.watch(threshold_ms=10) as watching:
        thread = threading.Thread(target=asyncio.run, args=(handler(),))
        thread.start()
        thread.join()
    assert only_site(watching.report()).function == f"{__name__}:pause"


def test_two_profilers_at_once_both_see_the_block() -> None:
    with profiler.watch(threshold_ms=10) as outer:
        with profiler.watch(threshold_ms=10) as inner:
            asyncio.run(handler())
    for watching in (outer, inner):
        site = only_site(watching.report())
        assert site.function == f"{__name__}:pause"
        assert [entry.rsplit(" in ", 1)[1] for entry in site.stack][0] == f"{__name__}:handler"


def test_pure_python_work_is_one_site_per_function() -> None:
    def crunch(n: int) -> int:
        acc = 0
        for i in range(n):
            acc = (acc * 31 + i) % 1_000_003
        return acc

    async def busy() -> None:
        crunch(1_500_000)

    with profiler.watch(threshold_ms=10) as watching:
        asyncio.run(busy())
    site = only_site(watching.report())
    assert site.function == f"{__name__}:test_pure_python_work_is_one_site_per_function.crunch"
    assert site.call is None
    first = line_of(crunch, "for i in range(n)")
    assert first <= site.line <= first + 1


def test_a_step_no_sample_caught_is_charged_to_its_coroutine(monkeypatch: pytest.MonkeyPatch) -> None:
    """If a slow step ends before the watchdog could sample it, it is still counted,
    at the coroutine that ran (where it stopped)."""
    from asyncmigrate.profiler import watchdog

    monkeypatch.setattr(watchdog.LoopWatchdog, "_sample", lambda self, loop, start: None)

    async def blocks_then_waits() -> None:
        time.sleep(0.05)
        await asyncio.sleep(0)  # where the step stops

    with profiler.watch(threshold_ms=10) as watching:
        asyncio.run(blocks_then_waits())
    report = watching.report()
    site = only_site(report)
    assert site.function == f"{__name__}:test_a_step_no_sample_caught_is_charged_to_its_coroutine.blocks_then_waits"
    assert site.line == line_of(blocks_then_waits, "await asyncio.sleep(0)")
    assert report.metadata["unsampled_steps"] >= 1


def test_plain_callbacks_are_watched_too() -> None:
    def on_timer() -> None:
        time.sleep(0.05)

    async def main() -> None:
        asyncio.get_running_loop().call_soon(on_timer)
        await asyncio.sleep(0.01)

    with profiler.watch(threshold_ms=10) as watching:
        asyncio.run(main())
    site = only_site(watching.report())
    assert site.function.endswith("test_plain_callbacks_are_watched_too.on_timer")
    assert site.coroutine is None
    assert site.call == "time.sleep"


def test_a_c_callback_is_named_by_its_callable() -> None:
    """`call_soon(time.sleep, ...)` has no Python frame of its own: the leaf frame is
    asyncio's Handle._run, and the call is the callback."""

    async def main() -> None:
        asyncio.get_running_loop().call_soon(time.sleep, 0.05)
        await asyncio.sleep(0.01)

    with profiler.watch(threshold_ms=10) as watching:
        asyncio.run(main())
    site = only_site(watching.report(), file=str(Path(asyncio.events.__file__).resolve()))
    assert site.function == "asyncio.events:Handle._run"
    assert site.call == "time.sleep"


def test_profiler_modules_stay_light() -> None:
    """The `asyncmigrate profile` bootstrap imports asyncmigrate.profiler in every
    Python process of the command: it must not pull in the watchdog (or rich) before
    asyncio is imported."""
    import subprocess

    code = ("import sys, asyncmigrate.profiler.environment; "
            "print(sorted(m for m in sys.modules if m.startswith(('asyncmigrate.profiler.', 'rich', 'asyncio'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "['asyncmigrate.profiler.environment']", result.stderr
