"""asyncmigrate's lint framework, with the rules below it in `lint_rules/rules/`.

Enable the rules in Fixit with `[tool.fixit] enable = ["lint_rules"]`, or run them
with the fast runner: `python -m lint_rules PATH...`. Fixit collects the `LintRule`
classes a package's `__init__` holds but not those of its sub-packages, so every
rule is re-exported here.
"""

from .rules import ALL_RULES
from .rules.coroutines import (
    CoroutineCalledFromSync,
    DroppedTask,
    SyncWithOrForOnAsync,
    UnawaitedCoroutine,
)
from .rules.blocking import (
    BlockingFileIO,
    BlockingHttpCall,
    BlockingInput,
    BlockingNetworkCall,
    BlockingSleep,
    BlockingSubprocess,
    BlockingThreadWait,
    ConfiguredBlockingCall,
    TransitiveBlockingCall,
)
from .rules.state import GlobalStateInAsync, SharedStateRace, ThreadLocalInAsync
from .rules.loop import DeprecatedGetEventLoop, NestedEventLoop
from .rules.gather import AsyncWithoutAwait, AwaitInLoop, SequentialAwaits

__all__ = [rule.__name__ for rule in ALL_RULES] + ["ALL_RULES"]
