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

Every such analysis has one memo, `Reachabilities`: in memory for the run, and on
disk with the index (`ProjectIndex.derived`, plain JSON). Its key is the same for
all of them: the search's version, the index fingerprint (every file's content),
and the knowledge key (every `knowledge/*.toml` file and the configuration), so an
edit to any input of a leaf test makes every cached chain stale.
"""

from __future__ import annotations

from collections import deque
from typing import Callable

from .callgraph import CallGraph, CallSite
from .index.refpath import written
from .index.resolve import Resolver
from .index.store import ProjectIndex
from .index.values import Value, split_id

#: A leaf test: the label that ends the chain (`sqlite3.Cursor.execute`), or None.
LeafTest = Callable[[CallSite], "str | None"]


#: Bump when the search changes: cached results of an older one are stale.
_VERSION = 6


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

    @classmethod
    def compute(cls, graph: CallGraph, resolver: Resolver, leaf: LeafTest) -> "Reachability":
        walked = {fid for fid in graph.functions if _walkable(resolver, fid)}
        direct: dict[str, str] = {}
        callers: dict[str, list[tuple[str, str]]] = {}
        for fid in graph.functions:
            if fid not in walked:
                continue
            edges = _dispatch(graph, resolver, fid)
            for site in graph.calls_from(fid):
                label = leaf(site)
                if label is not None:
                    direct.setdefault(fid, label)
                    continue
                edges += _targets(resolver, site)
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


class Reachabilities:
    """The one memo of a project's reachability analyses, by name."""

    def __init__(
        self,
        index: ProjectIndex,
        graph: Callable[[], CallGraph],
        resolver: Resolver,
        knowledge_key: str,
    ):
        self.index = index
        self._graph = graph
        self.resolver = resolver
        self.knowledge_key = knowledge_key
        self._memo: dict[str, tuple[str, Reachability]] = {}

    def key(self) -> str:
        return f"{_VERSION}:{self.index.fingerprint}:{self.knowledge_key}"

    def get(self, name: str, leaf: LeafTest) -> Reachability:
        """The analysis `name` (its chains end where `leaf` says), computed at most
        once per state of its inputs."""
        key = self.key()
        found = self._memo.get(name)
        if found is not None and found[0] == key:
            return found[1]
        entry = self.index.derived.get(name)
        if isinstance(entry, dict) and entry.get("key") == key and isinstance(entry.get("chains"), dict):
            result = Reachability(entry["chains"])
        else:
            result = Reachability.compute(self._graph(), self.resolver, leaf)
            self.index.save_derived(name, {"key": key, "chains": result.chains})
        self._memo[name] = (key, result)
        return result


def _walkable(resolver: Resolver, fid: str) -> bool:
    fn = resolver.function(fid)
    if fn is None or fn["is_async"]:
        return False
    # A decorator that runs the function in a worker thread (`@sync_to_async`)
    # makes its calls hand-offs, not blocking calls.
    return not any(
        resolver.catalogue.decorator_effect(d) == "to_async" for d in resolver.decorators(fid)
    )


def _dispatch(graph: CallGraph, resolver: Resolver, fid: str) -> list[tuple[str, str]]:
    """Edges from a method to its overrides, labelled `FileStore.save`.

    A method that has async overrides too is a sync/async dual (one mixin serving a
    sync and an async client, as in redis-py): which override runs depends on the
    receiver, and async code holds the async one, so dispatch proves nothing there.
    Constructors never dispatch: `Base()` runs `Base.__init__`, not a subclass's.
    """
    name = split_id(fid)[1].rsplit(".", 1)[-1]
    if name.startswith("__") and name.endswith("__"):
        return []
    overrides = sorted(graph.overrides(fid))
    if any((resolver.function(o) or {}).get("is_async") for o in overrides):
        return []
    return [(o, split_id(o)[1]) for o in overrides]


def _targets(resolver: Resolver, site: CallSite) -> list[tuple[str, str]]:
    """The project function a call site runs, with the hop's label."""
    callee: Value | None = site.callee
    if callee is None:
        return []
    if callee.kind == "function":
        return [(callee.name, written(site.path))]
    if callee.kind == "class":
        init = resolver.method_in_mro(callee.name, "__init__")
        return [(init, f"{written(site.path)}()")] if init else []
    return []
