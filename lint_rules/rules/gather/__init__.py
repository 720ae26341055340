"""AM5xx: concurrency patterns (awaits that could overlap, coroutines that never await).

`independent_awaits.py` is the family's helper: which awaited calls may overlap, and
the `asyncio.gather` call that runs them together.
"""

from .async_without_await import AsyncWithoutAwait
from .await_in_loop import AwaitInLoop
from .sequential_awaits import SequentialAwaits

RULES = (AwaitInLoop, SequentialAwaits, AsyncWithoutAwait)
