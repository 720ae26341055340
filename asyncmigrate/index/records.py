"""Named views over the index's JSON records.

The summaries stay compact positional lists on disk (see `summary.py` for their
layout); code reads them through these views, by name, never as `call[4]`.
"""

from __future__ import annotations

from typing import Any, Iterator, NamedTuple, Sequence

Path = Sequence[str]


class CallRecord(NamedTuple):
    """A call: `[path, line, col, awaited, refs?, outer?, quick?, nargs?]`."""

    path: Path
    line: int
    column: int
    awaited: bool
    #: plain references passed as arguments (`to_thread(fn, x)` -> fn, x)
    refs: Sequence[Path] = ()
    #: the call that receives this call's result as an argument (`asyncio.run(...)`)
    outer: Path | None = None
    #: `[keyword or None, value]` of its literal False and 0 arguments
    quick: Sequence[Sequence[Any]] = ()
    #: its number of arguments, positional and keyword (recorded with `quick`)
    nargs: int = 0


class UseRecord(NamedTuple):
    """An implicit protocol call: `with`, `for`, a comprehension's `for`, `yield from`
    (and their `async` forms), at the position of the statement or iterable."""

    kind: str
    path: Path | None
    line: int
    column: int
    #: `with`: which item of the statement (0-based)
    item: int | None = None
    #: `yield from` as a whole statement: the statement's (line, col)
    statement: tuple[int, int] | None = None

    @classmethod
    def of(cls, raw: Sequence[Any]) -> "UseRecord":
        kind, path, line, column, *rest = raw
        if kind.endswith("with"):
            return cls(kind, path, line, column, item=rest[0] if rest else None)
        if kind == "yieldfrom" and len(rest) >= 2:
            return cls(kind, path, line, column, statement=(rest[0], rest[1]))
        return cls(kind, path, line, column)


class ScopedRef(NamedTuple):
    """A reference made in a scope (`value_refs`, `lambda_calls`):
    `[enclosing function or None, path, line, col]`."""

    scope: str | None
    path: Path
    line: int
    column: int


def calls(records: Sequence[Sequence[Any]]) -> Iterator[CallRecord]:
    """A function's `calls` (or a module's `module_calls`)."""
    return (CallRecord(*raw) for raw in records)


def uses(function: dict[str, Any]) -> Iterator[UseRecord]:
    return (UseRecord.of(raw) for raw in function.get("uses", ()))


def value_refs(summary: dict[str, Any]) -> Iterator[ScopedRef]:
    return (ScopedRef(*raw) for raw in summary.get("value_refs", ()))


def lambda_calls(summary: dict[str, Any]) -> Iterator[ScopedRef]:
    return (ScopedRef(*raw) for raw in summary.get("lambda_calls", ()))
