"""AM2xx: blocking calls in async code, direct (the catalogue) and transitive (AM250).

`blocking_call.py` is the family's helper: the shared rule body that matches a call
against `knowledge/blocking.toml` through the resolver.
"""

from .blocking_file_io import BlockingFileIO
from .blocking_http_call import BlockingHttpCall
from .blocking_input import BlockingInput
from .blocking_network_call import BlockingNetworkCall
from .blocking_sleep import BlockingSleep
from .blocking_subprocess import BlockingSubprocess
from .blocking_thread_wait import BlockingThreadWait
from .configured_blocking_call import ConfiguredBlockingCall
from .transitive_blocking_call import TransitiveBlockingCall

RULES = (
    BlockingSleep,
    BlockingHttpCall,
    BlockingSubprocess,
    BlockingFileIO,
    BlockingNetworkCall,
    BlockingInput,
    BlockingThreadWait,
    ConfiguredBlockingCall,
    TransitiveBlockingCall,
)
