"""asyncmigrate's lint rules: one Fixit `LintRule` per file.

Enable them in Fixit with `[tool.fixit] enable = ["lint_rules"]`, or run them with
the fast runner: `python -m lint_rules PATH...`.
"""

from .async_without_await import AsyncWithoutAwait
from .await_in_loop import AwaitInLoop
from .blocking_file_io import BlockingFileIO
from .blocking_http_call import BlockingHttpCall
from .blocking_input import BlockingInput
from .blocking_network_call import BlockingNetworkCall
from .blocking_sleep import BlockingSleep
from .blocking_subprocess import BlockingSubprocess
from .blocking_thread_wait import BlockingThreadWait
from .configured_blocking_call import ConfiguredBlockingCall
from .coroutine_called_from_sync import CoroutineCalledFromSync
from .deprecated_get_event_loop import DeprecatedGetEventLoop
from .dropped_task import DroppedTask
from .global_state_in_async import GlobalStateInAsync
from .nested_event_loop import NestedEventLoop
from .sequential_awaits import SequentialAwaits
from .shared_state_race import SharedStateRace
from .sync_with_or_for_on_async import SyncWithOrForOnAsync
from .thread_local_in_async import ThreadLocalInAsync
from .transitive_blocking_call import TransitiveBlockingCall
from .unawaited_coroutine import UnawaitedCoroutine

#: Every rule, in code order. The runner, the flake8 adapter and the docs read this.
ALL_RULES = (
    UnawaitedCoroutine,
    CoroutineCalledFromSync,
    DroppedTask,
    SyncWithOrForOnAsync,
    BlockingSleep,
    BlockingHttpCall,
    BlockingSubprocess,
    BlockingFileIO,
    BlockingNetworkCall,
    BlockingInput,
    BlockingThreadWait,
    ConfiguredBlockingCall,
    TransitiveBlockingCall,
    GlobalStateInAsync,
    SharedStateRace,
    ThreadLocalInAsync,
    NestedEventLoop,
    DeprecatedGetEventLoop,
    AwaitInLoop,
    SequentialAwaits,
    AsyncWithoutAwait,
)

__all__ = [rule.__name__ for rule in ALL_RULES] + ["ALL_RULES"]
