"""What a cached per-file result depends on besides the file: the code that
computed it.

A release changes `__version__`, but a checkout being edited (or a knowledge file
being tuned) does not, so the key also covers the size and mtime of every source
and data file of the tool itself: a stale result is never served after an edit to
a rule. It costs one `stat` per file of the tool (a few hundred), not a read.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

from . import __version__

_SUFFIXES = (".py", ".toml")


@lru_cache(maxsize=None)
def code_fingerprint(*packages: str) -> str:
    """A hash of the tool's version and of the (path, size, mtime) of every file of
    the named top-level packages."""
    digest = hashlib.blake2b(__version__.encode(), digest_size=16)
    base = Path(__file__).resolve().parent.parent
    for package in packages:
        for folder, dirs, files in os.walk(base / package):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith(_SUFFIXES):
                    path = os.path.join(folder, name)
                    info = os.stat(path)
                    digest.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()
