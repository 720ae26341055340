"""The loop watchdog: find the steps that hold an event loop too long and charge each
one to the call that blocked.

How it works:

- Every asyncio loop step is a `Handle._run` call (task steps, `call_soon` callbacks,
  timers, protocol callbacks). `asyncio.events.Handle._run` is pure Python, so one
  wrapper sees the steps of every loop in the process. Per step it publishes its
  start time in a dict keyed by loop and clears it afterwards: one clock read and
  three dict operations, because this is all a healthy loop pays.
- A daemon thread wakes when the oldest running step would reach the threshold (at
  least every threshold/2). A step still running past the threshold is marked slow,
  and the loop thread's stack is sampled with `sys._current_frames()` every
  threshold/5 until the step ends. A C call that releases the GIL (sleep, socket,
  file, hashlib) is seen at once; pure Python at the interpreter's next thread switch
  (<= 5 ms). A step is therefore caught once it runs past the threshold plus the
  watchdog's wake-up latency.
- A marked step's end is timed by the loop thread and queued; the watchdog splits its
  duration between the sampled sites (each sample accounts for the time since the
  previous one) and adds it to the per-site totals.

A site is the deepest frame in the user's code (not the standard library, not
site-packages) and the line it is on: for `time.sleep` inside a helper that is the
helper's line, for a blocking call made through a library it is the user's line that
called the library. A leaf frame that is not waiting on a call is running Python
itself; its samples are grouped by function (the line reported is where most of the
time went), because a loop's samples land on several lines.
"""

from __future__ import annotations

import collections
import sys
import threading
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .callsite import FrameNamer
from .report import BlockingReport, BlockingSite

_clock = time.perf_counter
_MAX_SAMPLES_PER_STEP = 2000


@dataclass
class _Sample:
    at: float
    key: tuple[Any, ...]
    file: str
    line: int
    function: str
    call: str | None
    coroutine: str | None
    stack: list[tuple[str, int, str]]


@dataclass
class _SiteTotals:
    file: str
    function: str
    lines: collections.Counter = field(default_factory=collections.Counter)
    calls: collections.Counter = field(default_factory=collections.Counter)
    count: int = 0
    total: float = 0.0
    worst: float = 0.0
    stack: list[tuple[str, int, str]] = field(default_factory=list)
    coroutine: str | None = None


def _make_step_wrapper(
    original: Callable[[Any], None],
    steps: dict[Any, float | None],
    marks: dict[Any, float],
    finished: collections.deque,
) -> Callable[[Any], None]:
    clock = _clock

    # This function is the whole cost of the finder on a healthy loop. The start time
    # doubles as the step's identity (a new float object per step); `marks` is empty
    # unless the watchdog caught a slow step, so the end check is one truth test.
    def _run(self: Any) -> None:
        loop = self._loop
        steps[loop] = start = clock()
        try:
            original(self)
        finally:
            steps[loop] = None
            if marks:
                mark = marks.pop(loop, None)
                if mark is not None:
                    # a mark is popped exactly once, here or by the watchdog; one left
                    # by an earlier step that ended as it was marked ends now
                    finished.append((loop, mark, clock(), _step_owner(self) if mark is start else None))

    _run.__wrapped__ = original  # type: ignore[attr-defined]
    _run.__qualname__ = "Handle._run"
    return _run


def _step_owner(handle: Any) -> tuple[list[tuple[types.FrameType, int]], Any]:
    """The task's coroutine frames (outermost first, with their lines) and a fallback
    code object, for a slow step: where to charge it if no sample caught it (it ended
    just as the watchdog marked it). Runs on the loop thread right after the step, so
    the coroutines are where the step left them."""
    callback = getattr(handle, "_callback", None)
    task = getattr(callback, "__self__", None)
    get_coro = getattr(task, "get_coro", None)
    coro = get_coro() if get_coro is not None else None
    frames = []
    current = coro
    for _ in range(100):
        inner = (
            getattr(current, "cr_frame", None)
            or getattr(current, "gi_frame", None)
            or getattr(current, "ag_frame", None)
        )
        if inner is None:
            break
        frames.append((inner, inner.f_lineno))
        current = (
            getattr(current, "cr_await", None)
            or getattr(current, "gi_yieldfrom", None)
            or getattr(current, "ag_await", None)
        )
    # without frames the coroutine finished in this step, or the step was a callback
    code = getattr(coro, "cr_code", None) or getattr(getattr(callback, "__func__", callback), "__code__", None)
    return frames, code


class LoopWatchdog:
    """Instruments every asyncio loop in the process and collects blocking sites."""

    def __init__(self, threshold_ms: float = 10.0, *, on_flush: Callable[[], None] | None = None,
                 flush_interval: float = 5.0) -> None:
        if not threshold_ms > 0:
            raise ValueError("threshold_ms must be positive")
        self.threshold_ms = float(threshold_ms)
        self._threshold = self.threshold_ms / 1000.0
        self._poll = self._threshold / 2
        self._sample_interval = max(self._threshold / 5, 0.001)
        self._on_flush = on_flush
        self._flush_interval = flush_interval
        self._namer = FrameNamer()
        self._lock = threading.Lock()
        self._reset_state()
        self._thread: threading.Thread | None = None
        self._stop_event = threading.Event()
        self._handle_class: Any = None
        self._original_run: Any = None
        self._wrapper: Any = None
        self._boundary: types.CodeType | None = None

    def _reset_state(self) -> None:
        self._steps: dict[Any, float | None] = {}
        self._marks: dict[Any, float] = {}
        self._finished: collections.deque = collections.deque()
        self._samples: dict[int, tuple[Any, list[_Sample]]] = {}
        self._sites: dict[tuple[Any, ...], _SiteTotals] = {}
        self._slow_steps = 0
        self._unsampled_steps = 0
        self._dirty = False
        self._started_at = time.time()

    # -- lifecycle --------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._wrapper is not None

    def install(self) -> None:
        """Patch `asyncio.events.Handle._run` and start the watchdog thread. The module
        is looked up in sys.modules when it is there, so this also works while the
        asyncio package is still being imported (the environment bootstrap installs as
        soon as asyncio.events has run)."""
        if self.running:
            return
        events = sys.modules.get("asyncio.events")
        if events is None:
            from asyncio import events
        handle = events.Handle
        original = handle.__dict__["_run"]
        self._handle_class = handle
        self._original_run = original
        # Stacks end at asyncio's own Handle._run, under any other wrappers (another
        # profiler running at the same time).
        innermost = original
        while hasattr(innermost, "__wrapped__"):
            innermost = innermost.__wrapped__
        self._boundary = innermost.__code__
        self._wrapper = _make_step_wrapper(original, self._steps, self._marks, self._finished)
        handle._run = self._wrapper
        self._start_thread()

    def _start_thread(self) -> None:
        self._stop_event = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="asyncmigrate-loop-watchdog", daemon=True)
        self._thread.start()

    def uninstall(self) -> None:
        if not self.running:
            return
        if self._handle_class.__dict__.get("_run") is self._wrapper:
            self._handle_class._run = self._original_run
        # else: something wrapped us; our wrapper stays in its chain, and with the
        # watchdog stopped nothing marks a step slow any more
        self._wrapper = None
        self._stop_event.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._thread = None
        self._drain()

    def after_fork_in_child(self) -> None:
        """A forked child has only the forking thread: restart the watchdog there, and
        start the child's counts from zero (the parent reports its own)."""
        if not self.running:
            return
        self._lock = threading.Lock()
        steps = self._steps
        self._finished.clear()
        self._samples.clear()
        self._marks.clear()
        for loop in list(steps):
            steps[loop] = None
        self._sites = {}
        self._slow_steps = self._unsampled_steps = 0
        self._dirty = False
        self._started_at = time.time()
        self._start_thread()

    # -- results ----------------------------------------------------------------------

    def report(self) -> BlockingReport:
        with self._lock:
            sites = [self._site_of(totals) for totals in self._sites.values()]
            metadata = {
                "slow_steps": self._slow_steps,
                "unsampled_steps": self._unsampled_steps,
                "started_at": self._started_at,
            }
        # Two keys can name the same line (a call there, and pure-Python time there).
        merged: dict[tuple[str, int, str], BlockingSite] = {}
        for site in sites:
            if site.key in merged:
                merged[site.key].absorb(site)
            else:
                merged[site.key] = site
        return BlockingReport(self.threshold_ms, list(merged.values()), metadata)

    @staticmethod
    def _site_of(totals: _SiteTotals) -> BlockingSite:
        line = totals.lines.most_common(1)[0][0]
        call = totals.calls.most_common(1)[0][0] if totals.calls else None
        return BlockingSite(
            file=totals.file,
            line=line,
            function=totals.function,
            call=call,
            coroutine=totals.coroutine,
            count=totals.count,
            total_ms=totals.total * 1000,
            max_ms=totals.worst * 1000,
            stack=[f"{file}:{lineno} in {function}" for file, lineno, function in totals.stack],
        )

    # -- the watchdog thread ----------------------------------------------------------

    def _watch(self) -> None:
        threshold = self._threshold
        stop = self._stop_event
        steps, marks = self._steps, self._marks
        last_flush = last_prune = _clock()
        while not stop.is_set():
            now = _clock()
            wake = now + self._poll
            for loop, start in list(steps.items()):
                if start is None:
                    continue
                if now - start < threshold:
                    wake = min(wake, start + threshold)
                    continue
                if marks.get(loop) is not start:
                    marks[loop] = start
                    if steps.get(loop) is not start:
                        # it ended as we marked it: whoever pops the mark queues it
                        if marks.pop(loop, None) is start:
                            self._finished.append((loop, start, now, None))
                        continue
                try:
                    self._sample(loop, start)
                except Exception:  # a sample is never worth disturbing the program
                    pass
                wake = min(wake, now + self._sample_interval)
            self._drain()
            if now - last_prune > 1.0:
                last_prune = now
                self._prune()
            if self._on_flush is not None and self._dirty and now - last_flush >= self._flush_interval:
                last_flush = now
                self._dirty = False
                try:
                    self._on_flush()
                except Exception:
                    pass
            stop.wait(max(wake - _clock(), 0.0005))

    def _prune(self) -> None:
        """Forget closed loops (a test suite makes thousands): the dict holds them."""
        steps = self._steps
        for loop, start in list(steps.items()):
            is_closed = getattr(loop, "is_closed", None)
            if start is None and is_closed is not None and is_closed():
                steps.pop(loop, None)

    def _drain(self) -> None:
        while self._finished:
            try:
                entry = self._finished.popleft()
            except IndexError:
                return
            try:
                self._finish_step(*entry)
            except Exception:
                pass

    def _sample(self, loop: Any, start: float) -> None:
        tid = getattr(loop, "_thread_id", None)
        if tid is None:
            return
        frame = sys._current_frames().get(tid)
        if frame is None:
            return
        at = _clock()
        # Copy the frames' positions first, in one tight pass: the loop thread takes
        # the GIL back within the switch interval and moves on, and everything below
        # (naming files, parsing source) may take longer than that.
        snapshot: list[tuple[types.FrameType, types.CodeType, int, int]] = []
        boundary = self._boundary
        current: types.FrameType | None = frame
        while current is not None:
            code = current.f_code
            if code is boundary:
                break
            snapshot.append((current, code, current.f_lineno, current.f_lasti))
            current = current.f_back
        # If the step is still the current one now, it was current during the copy.
        if current is None or self._steps.get(loop) is not start:
            return
        del frame
        namer = self._namer
        if not snapshot:
            # the callback itself is C (`loop.call_soon(time.sleep, 1)`): the leaf
            # frame is asyncio's Handle._run, and the call is the callback
            self._add_sample(start, self._callback_sample(at, current))
            return
        blocking_index = 0
        for index, (_, code, _, _) in enumerate(snapshot):
            if not namer.is_library(code.co_filename):
                blocking_index = index
                break
        blocking, code, lineno, lasti = snapshot[blocking_index]
        function = namer.function_id(blocking)
        if blocking_index == 0 and not namer.is_waiting_on_call(code, lasti):
            key: tuple[Any, ...] = ("python", code)
            call = None
        else:
            key = ("call", code, lineno)
            call = namer.call_name(blocking, lasti, lineno)
        coroutine = None
        outermost_coroutine = len(snapshot) - 1
        for index in range(blocking_index, len(snapshot)):
            if namer.is_coroutine(snapshot[index][1]):
                if coroutine is None:
                    coroutine = namer.function_id(snapshot[index][0])
                outermost_coroutine = index
        stack = [
            (namer.abspath(f_code.co_filename), f_lineno, namer.function_id(f))
            for f, f_code, f_lineno, _ in reversed(snapshot[: outermost_coroutine + 1])
        ]
        sample = _Sample(at, key, namer.abspath(code.co_filename), lineno, function, call,
                         coroutine, stack)
        self._add_sample(start, sample)

    def _add_sample(self, start: float, sample: _Sample) -> None:
        entry = self._samples.get(id(start))
        if entry is None:
            self._samples[id(start)] = (start, [sample])
            return
        samples = entry[1]
        samples.append(sample)
        if len(samples) >= _MAX_SAMPLES_PER_STEP:
            # a step stuck for minutes: keep every other sample; each one kept then
            # stands for the time since the previous kept one
            samples[:] = samples[1::2]

    def _callback_sample(self, at: float, frame: types.FrameType) -> _Sample:
        namer = self._namer
        file = namer.abspath(frame.f_code.co_filename)
        function = namer.function_id(frame)
        try:
            call = namer.public_name(frame.f_locals["self"]._callback)
        except Exception:
            call = None
        return _Sample(at, ("callback", frame.f_code, call), file, frame.f_lineno, function, call, None,
                       [(file, frame.f_lineno, function)])

    def _finish_step(self, loop: Any, start: float, end: float, owner: Any) -> None:
        entry = self._samples.pop(id(start), None)
        samples = entry[1] if entry is not None else []
        self._slow_steps += 1
        if not samples:
            self._unsampled_steps += 1
            fallback = self._fallback_sample(owner, end) if owner is not None else None
            if fallback is None:
                return
            samples = [fallback]
        # Each sample stands for the time since the previous one; the tail after the
        # last sample goes to the last sample's site.
        spent: dict[tuple[Any, ...], float] = collections.defaultdict(float)
        lines: dict[tuple[Any, ...], collections.Counter] = collections.defaultdict(collections.Counter)
        calls: dict[tuple[Any, ...], collections.Counter] = collections.defaultdict(collections.Counter)
        representative: dict[tuple[Any, ...], tuple[float, _Sample]] = {}
        previous = start
        for index, sample in enumerate(samples):
            at = end if index == len(samples) - 1 else sample.at
            share = max(at - previous, 0.0)
            previous = at
            spent[sample.key] += share
            lines[sample.key][sample.line] += share
            if sample.call:
                calls[sample.key][sample.call] += share
            best = representative.get(sample.key)
            if best is None or share > best[0]:
                representative[sample.key] = (share, sample)
        # A site that held the loop for less than the threshold within this step is
        # noise around a real one (the line after a sleep returned): fold it into the
        # step's main site.
        main = max(spent, key=spent.__getitem__)
        kept = {key for key, seconds in spent.items() if seconds >= self._threshold} or {main}
        if main not in kept:
            main = max(kept, key=spent.__getitem__)
        for key, seconds in list(spent.items()):
            if key not in kept:
                spent[main] += seconds
                del spent[key]
        with self._lock:
            for key, seconds in spent.items():
                sample = representative[key][1]
                totals = self._sites.get(key)
                if totals is None:
                    totals = self._sites[key] = _SiteTotals(sample.file, sample.function)
                totals.count += 1
                totals.total += seconds
                totals.lines.update(lines[key])
                totals.calls.update(calls[key])
                if seconds > totals.worst:
                    totals.worst = seconds
                    totals.stack = sample.stack
                    totals.coroutine = sample.coroutine
            self._dirty = True

    def _fallback_sample(self, owner: tuple[list[tuple[types.FrameType, int]], Any], end: float) -> _Sample | None:
        """An unsampled slow step: charge it to the innermost coroutine of the user's
        that ran, at the line where it stopped."""
        frames, code = owner
        namer = self._namer
        stack = [(namer.abspath(f.f_code.co_filename), line, namer.function_id(f)) for f, line in frames]
        users = [i for i, (f, _) in enumerate(frames) if not namer.is_library(f.f_code.co_filename)]
        if frames:
            index = users[-1] if users else len(frames) - 1
            file, line, function = stack[index]
            code = frames[index][0].f_code
            stack = stack[: index + 1]
        elif code is not None:
            function = namer.function_id_of_code(code)
            file, line = namer.abspath(code.co_filename), code.co_firstlineno
            stack = [(file, line, function)]
        else:
            return None
        coroutine = function if namer.is_coroutine(code) else None
        return _Sample(end, ("call", code, line), file, line, function, None, coroutine, stack)
