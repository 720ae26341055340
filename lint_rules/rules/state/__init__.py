"""AM3xx: state that every task on the event loop shares.

`contextvar_fix.py` is the family's helper: the AM301/AM303 unsafe fix, which runs
the ContextVar conversion of `codemods.contextvars`.
"""

from .global_state_in_async import GlobalStateInAsync
from .shared_state_race import SharedStateRace
from .thread_local_in_async import ThreadLocalInAsync

RULES = (GlobalStateInAsync, SharedStateRace, ThreadLocalInAsync)
