"""Which sync project functions reach a given kind of call, and through which chain.

"Does this sync helper end up in `requests.get`?" (AM250), "does it start a nested
event loop?" (AM401): each is one search over the shared call graph, run once per
project rather than once per call site. It goes backwards from the functions that
make a *leaf* call (the caller's predicate over call sites), breadth first, so the
first chain found for a function is a shortest one and call-graph cycles end.

Only sync functions are walked: an `async def` on the way is awaited by its caller
and is that caller's own finding. A callable that is only passed (to
`asyncio.to_thread`, `run_in_executor`, `functools.partial`, `Thread(target=...)`)
is not called, so it is no edge; functions wrapped by a thread hand-off decorator
(`@sync_to_async`) are not walked either. A call through a base-class method may
run any override of it, so a method has an edge to each override (the hop reads
`FileStore.save`) unless some override is async; calling a class is an edge to
its `__init__`.

The result is plain JSON and is cached with the index (`ProjectIndex.derived`),
valid while the index fingerprint and the caller's key (the predicate's inputs)
are unchanged.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Callable

from .callgraph import CallSite
from .index.refpath import written
from .index.values import Value, split_id

if TYPE_CHECKING:
    from .analysis import Project

#: A leaf test: the label that ends the chain (`sqlite3.Cursor.execute`), or None.
LeafTest = Callable[[CallSite], "str | None"]


#: Bump when the search changes: cached results of an older one are stale.
_VERSION = 4


class Reachability:
    """Shortest chains from sync project functions to leaf calls."""

    def __init__(self, chains: dict[str, list[str]]):
        #: function id -> hops, the last one the leaf: `["repo.fetch_row",
        #: "sqlite3.Cursor.execute"]`
        self.chains = chains

    def chain(self, fid: str) -> list[str] | None:
        return self.chains.get(fid)

    def __contains__(self, fid: object) -> bool:
        return fid in self.chains

    # -- building ----------------------------------------------------------------

    @classmethod
    def cached(cls, project: "Project", name: str, key: str, leaf: LeafTest) -> "Reachability":
        """The analysis `name` from the index cache, or computed now and cached."""
        fingerprint = project.index.fingerprint
        key = f"{_VERSION}:{key}"
        entry = project.index.derived.get(name)
        if (
            isinstance(entry, dict)
            and entry.get("fingerprint") == fingerprint
            and entry.get("key") == key
            and isinstance(entry.get("chains"), dict)
        ):
            return cls(entry["chains"])
        result = cls.compute(project, leaf)
        project.index.save_derived(
            name, {"fingerprint": fingerprint, "key": key, "chains": result.chains}
        )
        return result

    @classmethod
    def compute(cls, project: "Project", leaf: LeafTest) -> "Reachability":
        graph = project.call_graph
        walked = {fid for fid in graph.functions if _walkable(project, fid)}
        direct: dict[str, str] = {}
        callers: dict[str, list[tuple[str, str]]] = {}
        for fid in graph.functions:
            if fid not in walked:
                continue
            edges = _dispatch(project, fid)
            for site in graph.calls_from(fid):
                label = leaf(site)
                if label is not None:
                    direct.setdefault(fid, label)
                    continue
                edges += _targets(project, site)
            for target, hop in edges:
                if target in walked and target != fid:
                    callers.setdefault(target, []).append((fid, hop))
        chains = {fid: [label] for fid, label in direct.items()}
        queue = deque(chains)
        while queue:
            reached = queue.popleft()
            for caller, hop in callers.get(reached, ()):
                if caller not in chains:
                    chains[caller] = [hop, *chains[reached]]
                    queue.append(caller)
        return cls(chains)


def _walkable(project: "Project", fid: str) -> bool:
    fn = project.resolver.function(fid)
    if fn is None or fn["is_async"]:
        return False
    # A decorator that runs the function in a worker thread (`@sync_to_async`)
    # makes its calls hand-offs, not blocking calls.
    return not any(
        project.catalogue.decorator_effect(d) == "to_async" for d in project.decorators(fid)
    )


def _dispatch(project: "Project", fid: str) -> list[tuple[str, str]]:
    """Edges from a method to its overrides, labelled `FileStore.save`.

    A method that has async overrides too is a sync/async dual (one mixin serving a
    sync and an async client, as in redis-py): which override runs depends on the
    receiver, and async code holds the async one, so dispatch proves nothing there.
    Constructors never dispatch: `Base()` runs `Base.__init__`, not a subclass's.
    """
    name = split_id(fid)[1].rsplit(".", 1)[-1]
    if name.startswith("__") and name.endswith("__"):
        return []
    overrides = sorted(project.call_graph.overrides(fid))
    if any((project.resolver.function(o) or {}).get("is_async") for o in overrides):
        return []
    return [(o, split_id(o)[1]) for o in overrides]


def _targets(project: "Project", site: CallSite) -> list[tuple[str, str]]:
    """The project function a call site runs, with the hop's label."""
    callee: Value | None = site.callee
    if callee is None:
        return []
    if callee.kind == "function":
        return [(callee.name, written(site.path))]
    if callee.kind == "class":
        init = project.resolver.method_in_mro(callee.name, "__init__")
        return [(init, f"{written(site.path)}()")] if init else []
    return []
