"""AM1xx: coroutines that are never awaited, and async-only objects used synchronously.

`coroutine_use.py` is the family's helper: it follows a coroutine from the call that
makes it to the place that awaits (or drops) it.
"""

from .coroutine_called_from_sync import CoroutineCalledFromSync
from .dropped_task import DroppedTask
from .sync_with_or_for_on_async import SyncWithOrForOnAsync
from .unawaited_coroutine import UnawaitedCoroutine

RULES = (UnawaitedCoroutine, CoroutineCalledFromSync, DroppedTask, SyncWithOrForOnAsync)
