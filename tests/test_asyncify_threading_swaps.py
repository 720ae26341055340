"""The threading primitives follow (issue 15): `threading.Lock`, `BoundedSemaphore`
and `Event` become their asyncio forms only when every use is in code that becomes
async for other reasons; a lock is never a reason to make code async.

`fixtures/swaps/ratelimit` is a limiter whose lock and semaphore are used only in
methods that a `time.sleep` makes async, and whose event is also set by a sync
`close()`: asyncify with no seeds swaps the lock and the semaphore, keeps the event
with the reason, and the converted program prints what the original printed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import FIXTURES, assert_compiles, py_sources, run_asyncify, run_python, write_files

CASE = FIXTURES / "swaps" / "ratelimit"

pytest.importorskip("asgiref")


def _asyncify(root: Path, *args: str) -> subprocess.CompletedProcess:
    return run_asyncify(str(root), "--no-cache", *args, cwd=root)


def test_locks_used_only_by_code_that_becomes_async_swap_to_the_expected_tree(project_copy):
    root = project_copy("swaps/ratelimit/input")
    before = run_python("-m", "ratelimit.main", cwd=root)
    assert before.stdout == "[1, 2, None, 'closed: a']\n", before.stderr
    done = _asyncify(root)
    assert done.returncode == 0, done.out
    assert py_sources(root) == py_sources(CASE / "expected")
    assert_compiles(root)
    assert (
        "ratelimit/limiter.py:34: swap `threading.Event` not applied: `threading.Event.set()` is used in "
        "`ratelimit.limiter:Limiter.close`, which stays sync (a `threading.Event` swaps only when every "
        "use of it is in code that becomes async)"
    ) in done.out
    after = run_python("-m", "ratelimit.main", cwd=root)
    assert after.returncode == 0, after.stderr
    assert after.stdout == before.stdout
    again = _asyncify(root)
    assert again.returncode == 0, again.out
    assert "Changed 0 file(s)" in again.out
    assert py_sources(root) == py_sources(CASE / "expected")


def test_a_lock_is_never_a_reason_to_make_code_async(tmp_path):
    root = write_files(tmp_path / "p", {
        "counter.py": """
            import threading

            LOCK = threading.Lock()
            COUNT = [0]

            def bump():
                with LOCK:
                    COUNT[0] += 1
        """,
    })
    done = _asyncify(root, "--diff")
    assert done.returncode == 0, done.out
    # nothing async uses it, so there is nothing to say about it either
    assert "Would change 0 file(s)" in done.out and "0 item(s) left for a human" in done.out


def test_a_lock_shared_with_a_thread_that_stays_sync_keeps_the_family(tmp_path):
    """The worker thread's target stays sync (a thread cannot await), so the lock
    it shares with the converted code stays a `threading.Lock`: an asyncio lock
    taken from another thread would not protect anything. The converted `record`
    then holds a threading lock across `await` (a deadlock when two tasks meet
    there): asyncify's check of its result says so (AM207)."""
    root = write_files(tmp_path / "p", {
        "jobs.py": """
            import threading
            import time

            LOCK = threading.Lock()
            DONE = []

            def worker():
                with LOCK:
                    DONE.append("worker")

            def record(name):
                with LOCK:
                    time.sleep(0.01)
                    DONE.append(name)

            def start():
                threading.Thread(target=worker).start()
        """,
    })
    done = _asyncify(root, "--diff")
    assert done.returncode == 0, done.out
    assert "-def record(name):\n+async def record(name):" in done.out
    assert "-        time.sleep(0.01)\n+        await asyncio.sleep(0.01)" in done.out
    assert "asyncio.Lock()" not in done.out and "async with LOCK" not in done.out
    assert "jobs.py:9: swap `threading.Lock` not applied: `with` over it is used in `jobs:worker`, which stays sync" in done.out
    # ... and the conversion now holds that lock across `await`: told, not hidden
    assert "jobs.py:13: the converted code has AM207: `threading.Lock` is held across `await`" in done.out


def test_wait_with_a_timeout_has_no_async_form_and_keeps_the_family(tmp_path):
    root = write_files(tmp_path / "p", {
        "ready.py": """
            import threading
            import time

            class Gate:
                def __init__(self):
                    self.ready = threading.Event()

                def pass_through(self):
                    time.sleep(0.01)
                    return self.ready.wait(5)
        """,
    })
    done = _asyncify(root, "--diff")
    assert done.returncode == 0, done.out
    assert "asyncio.Event()" not in done.out
    assert (
        "ready.py:11: swap `threading.Event` not applied: `threading.Event.wait(...)` with arguments: "
        "asyncio.Event.wait() takes no timeout"
    ) in done.out
