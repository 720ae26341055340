"""The text of a linted file, as the interpreter reads it and as findings count lines."""

from __future__ import annotations

import io
import re
import tokenize
from typing import TYPE_CHECKING, Iterable

from asyncmigrate.fileio import read_source

if TYPE_CHECKING:
    from .engine import FileResult


def decode_source(source: bytes) -> str:
    """Decode like the interpreter: BOM, coding cookie, else UTF-8."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    text = source.decode(encoding)
    return text[1:] if text.startswith("\ufeff") else text


class SourceLines:
    """The text each finding's position refers to, by display path: after `--fix` or
    `--diff` that is the fixed text, not the file on disk. Read on demand: only the
    formats that show or hash source lines ask."""

    def __init__(self, results: Iterable["FileResult"]):
        self.results = {r.display: r for r in results}
        self._lines: dict[str, list[str]] = {}

    def __call__(self, display: str) -> list[str]:
        if display not in self._lines:
            result = self.results.get(display)
            try:
                if result is not None and result.fixed is not None:
                    source = result.fixed
                else:
                    source = read_source(result.path if result else display)
                # Split where the parser counts lines (not at \f or \u2028).
                self._lines[display] = re.split(r"\r\n?|\n", decode_source(source))
            except (OSError, SyntaxError, UnicodeDecodeError, LookupError, ValueError):
                self._lines[display] = []
        return self._lines[display]
