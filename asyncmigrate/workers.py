"""Work spread over processes that leave Ctrl-C to the parent.

A terminal's Ctrl-C sends SIGINT to the whole process group. Workers that took it
would each print a KeyboardInterrupt traceback, and the parent would then wait for
every queued task before it could exit. So workers ignore SIGINT: they are started
(during submission) with SIGINT and SIGTERM held back, which they inherit, and
their initializer ignores SIGINT before letting signals through, so there is no
moment at which a worker would take it. The parent gets the KeyboardInterrupt,
cancels what is queued and ends the workers (they only compute: every write is the
parent's), and `command_errors` exits 130.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from .fileio import signals_deferred

T = TypeVar("T")
R = TypeVar("R")


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


def parallel_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    jobs: int,
    *,
    chunksize: int,
    mp_context: Any = None,
    on_result: Callable[[R], None] | None = None,
) -> list[R]:
    """`[fn(item) for item in items]` over `jobs` worker processes, in order;
    `on_result` is called with each result as it arrives (a progress bar)."""
    with signals_deferred():
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=mp_context, initializer=_ignore_interrupts)
        results = pool.map(fn, items, chunksize=chunksize)
    try:
        done = []
        for result in results:
            done.append(result)
            if on_result is not None:
                on_result(result)
        return done
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        # No public way to stop running workers before Python 3.14's terminate_workers.
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()
        raise
    finally:
        pool.shutdown()
