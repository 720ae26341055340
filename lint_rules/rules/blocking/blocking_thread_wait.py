"""AM207: waiting for a thread inside `async def`."""

from __future__ import annotations

from fixit import Invalid, LintRule, Valid

from .blocking_call import BlockingCallRule


class BlockingThreadWait(BlockingCallRule, LintRule):
    """
    ## What it does
    Finds waits on other threads in an `async def`.

    Covered: `threading` lock, event, condition, semaphore and barrier waits,
    `queue.Queue` get/put, `Thread.join` and `concurrent.futures` `.result()`.

    Matched through the receiver's type (`threading.Lock()`, `queue.Queue()`,
    `executor.submit(...)` returning a `concurrent.futures.Future`, annotations).
    The non-blocking forms (`lock.acquire(blocking=False)`, `q.get(False)`) are not
    reported; `asyncio.Lock`, `asyncio.Queue` and `asyncio.Future` are different
    classes and are not reported either.

    ## Why is this bad?
    The event loop thread sleeps until another thread acts. If that thread in turn
    waits for the event loop (a callback, a `run_coroutine_threadsafe`), the process
    deadlocks.

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
    ]

    INVALID = [
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
