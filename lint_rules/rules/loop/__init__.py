"""AM4xx: event-loop misuse (nested loops, the deprecated loop getter)."""

from .deprecated_get_event_loop import DeprecatedGetEventLoop
from .nested_event_loop import NestedEventLoop

RULES = (NestedEventLoop, DeprecatedGetEventLoop)
