"""contextvars: turn module globals and `threading.local()` state into ContextVars.

The conversion itself lives in `codemods.contextvars.conversion` (the AM301/AM303
fixes use it too); this package is its command line.
"""

from codemods.contextvars.conversion import Conversion, ConversionRefused, convert

__all__ = ["Conversion", "ConversionRefused", "convert"]
