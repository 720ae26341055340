"""The per-file edit list: what the plan tells the transformer to change, by position.

Edits are plain data (picklable, so files can be rewritten in worker processes) and
name places the way the index does: 1-based lines and columns as `ast` counts them
(UTF-8 byte offsets). A call is keyed by position and callee path, because
`a.b().c()` holds two calls that start at the same column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


def call_key(line: int, col: int, path: tuple[str, ...] | list[str] | None) -> str:
    return f"{line}:{col}:{'.'.join(path or ())}"


def ref_key(line: int, col: int, path: tuple[str, ...] | list[str] | None) -> str:
    """A name or attribute read that a library swap renames (`requests.HTTPError`)."""
    return f"ref:{call_key(line, col, path)}"


def stmt_key(kind: str, line: int, col: int) -> str:
    """`with`/`for` statements and comprehension iterables (`comp`)."""
    return f"{kind}@{line}:{col}"


@dataclass
class DefEdit:
    """Changes to one `def` (by qualified name in its module)."""

    make_async: bool = False
    rename: str | None = None  # __enter__ -> __aenter__, ...
    stop_iteration: bool = False  # __anext__ raises StopAsyncIteration
    asynccontextmanager: bool = False
    #: pytest marker to add: "asyncio" or "anyio"
    marker: str | None = None
    #: @pytest.fixture -> @pytest_asyncio.fixture (pytest-asyncio strict mode)
    async_fixture: bool = False


@dataclass
class SiteEdit:
    """A change at one call site, `with`/`for` statement or comprehension.

    kind: "await", "replace" (await detail(...) instead), "offload"
    (await asyncio.to_thread), "bridge" (detail: "asgiref" or "asyncio"), "unbridge"
    (a bridge an earlier run wrote, now an await; detail: the bridge),
    "async with", "async for", "async comp"; a library swap's "swap" (detail: the
    swap as JSON, see `swapedit`), "swap with"/"swap for"/"swap compfor", and
    "swap name"/"swap attr" (detail: the new name; keyed by `ref_key`).
    """

    kind: str
    detail: str = ""
    line: int = 0
    #: the qualified name a "replace" rewrites away (`time.sleep`), for its import
    origin: str = ""


@dataclass
class FileEdits:
    path: str  # relative to the project root
    defs: dict[str, DefEdit] = field(default_factory=dict)
    sites: dict[str, SiteEdit] = field(default_factory=dict)

    def def_edit(self, qualname: str) -> DefEdit:
        return self.defs.setdefault(qualname, DefEdit())

    def __bool__(self) -> bool:
        return bool(self.defs or self.sites)


@dataclass(frozen=True, order=True)
class Item:
    """Something left unchanged for a human, with the reason."""

    path: str
    line: int
    reason: str

    def render(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


class Edge(NamedTuple):
    """A place in `caller` that must change when `callee` is async."""

    caller: str  # function id or `module:<module>` or `module:<lambda in X>`
    callee: str  # function id, external qualified name, or "" for a leaf rewrite
    kind: str  # await, replace, offload, async with, async for, async comp, lambda
    module: str
    line: int
    col: int
    path: tuple[str, ...] | None
    detail: str = ""
