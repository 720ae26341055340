"""AM207: waiting for a thread inside `async def`."""

from __future__ import annotations

import libcst as cst
from fixit import Invalid, LintRule, Valid

from asyncmigrate.awaits import first_suspension
from asyncmigrate.index.values import Value

from .blocking_call import BlockingCallRule, async_use_values, external_method


def thread_lock(project, value: Value | None) -> bool:
    """Whether `value` is a `threading` lock: an instance whose `acquire` the
    catalogue files under AM207 (`threading.Lock`, `RLock`, `Semaphore`, ...)."""
    entry = project.blocking_entry(external_method(project, value, "acquire"))
    return entry is not None and entry.code == "AM207"


class BlockingThreadWait(BlockingCallRule, LintRule):
    """
    ## What it does
    Finds waits on other threads in an `async def`.

    Covered: `threading` lock, event, condition, semaphore and barrier waits,
    `queue.Queue` get/put, `Thread.join` and `concurrent.futures` `.result()`, and
    `with lock:` over a `threading` lock whose block suspends (`await`, `async for`,
    `async with`): a short `with lock:` that never suspends is not reported.

    Matched through the receiver's type (`threading.Lock()`, `queue.Queue()`,
    `executor.submit(...)` returning a `concurrent.futures.Future`, annotations).
    The non-blocking forms (`lock.acquire(blocking=False)`, `q.get(False)`) are not
    reported; `asyncio.Lock`, `asyncio.Queue` and `asyncio.Future` are different
    classes and are not reported either.

    ## Why is this bad?
    The event loop thread sleeps until another thread acts. If that thread in turn
    waits for the event loop (a callback, a `run_coroutine_threadsafe`), the process
    deadlocks. A `threading` lock held across `await` deadlocks with no other thread
    at all: while the holder is suspended, another task that takes the lock blocks
    the loop's thread, so the holder never resumes to release it.

    ## Example
    ```python
    async def next_job(jobs: queue.Queue):
        return jobs.get()
    ```

    ## Use instead
    ```python
    async def next_job(jobs: asyncio.Queue):
        return await jobs.get()
    ```
    or `await asyncio.wrap_future(future)` for a `concurrent.futures.Future`, or
    `await asyncio.to_thread(event.wait)`.

    ## Fix safety
    No automatic fix.
    """

    CODE = "AM207"

    VALID = [
        Valid(
            """
            import asyncio
            async def worker(jobs: asyncio.Queue, lock: asyncio.Lock):
                async with lock:
                    return await jobs.get()
            """
        ),
        Valid(
            """
            import threading
            lock = threading.Lock()
            async def try_work():
                if lock.acquire(blocking=False):
                    lock.release()
            """
        ),
        Valid(
            """
            import threading
            lock = threading.Lock()
            counts = {}
            async def bump(key):
                with lock:
                    counts[key] = counts.get(key, 0) + 1
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import asyncio
            import threading
            class Cache:
                def __init__(self):
                    self._lock = threading.Lock()
                async def refresh(self):
                    with self._lock:
                        await asyncio.sleep(1)
            """
        ),
        Invalid(
            """
            import queue
            async def next_job(jobs: queue.Queue):
                return jobs.get()
            """
        ),
        Invalid(
            """
            from concurrent.futures import ThreadPoolExecutor
            pool = ThreadPoolExecutor()
            async def compute(fn):
                return pool.submit(fn).result()
            """
        ),
        Invalid(
            """
            import threading
            async def stop(worker: threading.Thread, done: threading.Event):
                done.wait()
                worker.join()
            """
        ),
    ]

    @classmethod
    def wants_file(cls, project, summary, text) -> bool:
        if super().wants_file(project, summary, text):
            return True
        return any(thread_lock(project, value) for value in async_use_values(project, summary, ("with",)))

    def visit_With(self, node: cst.With) -> None:
        super().visit_With(node)
        if node.asynchronous is not None or not self.in_async_function:
            return
        for item in node.items:
            value = self.value_of(item.item)
            if not thread_lock(self.project, value):
                continue
            suspension = first_suspension(node.body)
            if suspension is None:
                continue
            kind = "await" if isinstance(suspension, cst.Await) else "async " + type(suspension).__name__.lower().replace("compfor", "for")
            self.report(
                item.item,
                f"`{self.project.describe(value)}` is held across `{kind}`: a task that takes it meanwhile "
                "blocks the event loop's thread, and the holder never resumes to release it (a deadlock); "
                "use `asyncio.Lock` with `async with`",
            )
