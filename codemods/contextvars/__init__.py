"""contextvars: turn module globals and `threading.local()` state into ContextVars.

The conversion itself lives in `asyncmigrate.contextvar_conversion` (the AM301/AM303
fixes use it too); this package is its command line.
"""

from asyncmigrate.contextvar_conversion import Conversion, ConversionRefused, convert

__all__ = ["Conversion", "ConversionRefused", "convert"]
