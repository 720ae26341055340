"""asyncmigrate's lint rules: one Fixit `LintRule` per file.

Enable them in Fixit with `[tool.fixit] enable = ["lint_rules"]`, or run them with
the fast runner: `python -m lint_rules PATH...`.
"""

from .coroutine_called_from_sync import CoroutineCalledFromSync
from .dropped_task import DroppedTask
from .sync_with_or_for_on_async import SyncWithOrForOnAsync
from .unawaited_coroutine import UnawaitedCoroutine

#: Every rule, in code order. The runner, the flake8 adapter and the docs read this.
ALL_RULES = (
    UnawaitedCoroutine,
    CoroutineCalledFromSync,
    DroppedTask,
    SyncWithOrForOnAsync,
)

__all__ = [rule.__name__ for rule in ALL_RULES] + ["ALL_RULES"]
