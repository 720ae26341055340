"""Whole-program analysis: from seeds to an `AsyncifyPlan`, in one pass over the index.

Propagation runs to a fixed point over the shared call graph:

- a function that awaits (or `async with`s / `async for`s) must be `async def`, so
  every caller of a function that became async becomes async too;
- a method changes with its whole family (base and overrides in every module),
  because a call through the base may run any override;
- the protocol dunders change in pairs (`__enter__`/`__exit__` -> `__aenter__`/
  `__aexit__`; `__iter__`/`__next__` -> `__aiter__`/`__anext__`), and their users
  switch to `async with` / `async for`;
- a function that Python calls synchronously (`__init__`, properties, callbacks
  handed to `sorted` or a thread, module-level code, `--stop-at`) stays sync: its
  calls get the sync bridge, unless async code reaches it (a nested event loop);
- a function whose callers cannot all be seen (stored in a dict, passed to unknown
  code, overriding a third-party method) is left alone and reported.

Then the converted functions are layered bottom-up (strongly connected components in
topological order) and the edits are listed per file for the transformer.
"""

from __future__ import annotations

import fnmatch
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, NamedTuple

from asyncmigrate.analysis import Project
from asyncmigrate.callgraph import MODULE_SCOPE, CallSite
from asyncmigrate.catalogue import BRIDGES, PROTOCOLS
from asyncmigrate.index import records
from asyncmigrate.index.values import Value, join_id, split_id

from .edits import Edge, FileEdits, Item, SiteEdit, call_key, ref_key, stmt_key
from .layers import layer_numbers
from .safety import SafetyRules
from .seeds import Seeds
from .swapflow import call_arguments, only_called
from .swapplan import SwapPlanning
from .testing import TestStyle


#: the function each bridge runs a coroutine with -> the bridge
_RUNNERS = {bridge.function: bridge for bridge in BRIDGES.values()}


class Ban(NamedTuple):
    """A function a planning round found unsafe to convert."""

    reason: str
    #: a caller it leaves broken may run inside the event loop (so it may too)
    in_loop: bool = True
    #: that caller (its own ban, if any, is why this one is needed)
    caller: str = ""


@dataclass
class PlanOptions:
    bridge: str = "asgiref"
    offload: bool = False
    #: swap families not to apply ("all": none)
    no_swap: list[str] = field(default_factory=list)
    max_layer: int | None = None
    stop_at: list[str] = field(default_factory=list)
    #: methods converted although they may override a third-party base's method
    allow_override: list[str] = field(default_factory=list)
    test_style: TestStyle = field(default_factory=TestStyle)


@dataclass
class FunctionPlan:
    fid: str
    path: str
    line: int
    layer: int = 0
    call_sites: int = 0
    blocked_ms: float = 0.0
    #: the library swaps made inside it (they are why it converts)
    swaps: list[str] = field(default_factory=list)


@dataclass
class AsyncifyPlan:
    functions: dict[str, FunctionPlan]
    layers: list[list[str]]
    files: dict[str, FileEdits]
    items: list[Item]
    #: bridges written (caller id, callee id, path, line)
    bridges: list[tuple[str, str, str, int]]
    #: bridges a layer needs while the layers above it stay sync (--plan)
    layer_bridges: dict[int, list[tuple[str, str, str, int]]]
    edges: list[tuple[str, str]]
    #: bridges a layer needs only until the layer above it lands
    temporary_bridges: dict[int, list[tuple[str, str, str, int]]] = field(default_factory=dict)
    awaited_sites: int = 0
    profiled: bool = False
    #: what the run says once (a missing type engine)
    notes: list[str] = field(default_factory=list)
    #: distributions the converted code needs ("asgiref (the sync bridge)")
    requirements: list[str] = field(default_factory=list)
    #: swap family -> edits that swap it
    swaps: dict[str, int] = field(default_factory=dict)
    #: swap families kept as they are -> why (file:line: reason)
    dropped_swaps: dict[str, str] = field(default_factory=dict)

    @property
    def converted(self) -> int:
        return len(self.functions)


class Planner(SafetyRules, SwapPlanning):
    def __init__(
        self,
        project: Project,
        targets: set[str],
        options: PlanOptions,
        banned: dict[str, str] | None = None,
        typed: dict[tuple[str, int, int], str] | None = None,
        dropped_swaps: dict[str, str] | None = None,
    ):
        self.project = project
        #: calls the second type tier resolved: (caller, line, col) -> function id
        self.typed = dict(typed or {})
        #: this round's new second-tier answers, for the next round
        self.retyped: dict[tuple[str, int, int], str] = {}
        #: what the run says once, not per place (a missing type engine)
        self.notes: list[str] = []
        #: functions a previous round found unsafe to convert -> why
        self.banned: dict[str, Ban] = dict(banned or {})
        #: converted functions whose callers cannot await or bridge them -> why,
        #: the caller, and whether the caller surely may run inside the event loop
        self.conflicts: dict[str, tuple[str, str, bool]] = {}
        self.resolver = project.resolver
        self.graph = project.call_graph
        self.options = options
        self.rel_of = {s["name"]: rel for rel, s in project.index.by_path.items()}
        self.targets = {self.rel_of[m] for m in self.rel_of if self.rel_of[m] in targets}
        self.items: set[Item] = set()
        self.async_fns: set[str] = set()  # async after conversion (before --max-layer)
        self.existing: set[str] = set()  # already `async def`
        self.external_async: set[str] = set()  # external names and seeds outside PATH
        self.kept_sync: dict[str, str] = {}  # function id -> why it stays sync
        self.edges: list[Edge] = []
        self.blocked_ms: dict[str, float] = defaultdict(float)
        self._work: list[str] = []
        self._init_swaps(dropped_swaps)
        self._index_references()

    # -- helpers ---------------------------------------------------------------

    def fn(self, fid: str) -> dict | None:
        return self.resolver.function(fid)

    def in_targets(self, fid: str) -> bool:
        return self.rel_of.get(split_id(fid)[0]) in self.targets

    def where(self, fid_or_module: str, line: int | None = None) -> tuple[str, int]:
        module, qualname = split_id(fid_or_module)
        fn = self.fn(fid_or_module) if qualname and not qualname.startswith("<") else None
        return self.rel_of.get(module, module), line or (fn["line"] if fn else 1)

    def report(self, fid_or_module: str, line: int | None, reason: str) -> None:
        path, at = self.where(fid_or_module, line)
        self.items.add(Item(path, at, reason))

    def conflict(
        self, callee: str, caller: str, line: int | None, why: str, in_loop: bool = False
    ) -> None:
        """Converting `callee` would leave `caller` broken (it cannot await, and no
        bridge is safe there): the next round keeps `callee` sync. `in_loop`: the
        caller may run inside the event loop whatever the call graph says (then
        so may `callee`, which must not bridge either)."""
        path, at = self.where(caller, line)
        if ":" not in callee or callee in self.existing or callee in self.external_async:
            # Async before the run: not this run's to undo; the caller is for a human.
            self.report(caller, line, f"`{callee}` is async, but {why}: rewrite the caller by hand")
            return
        self.conflicts.setdefault(callee, (f"{why} ({path}:{at})", caller, in_loop))

    def bans(self, reached: set[str]) -> dict[str, "Ban"]:
        """This round's conflicts as bans for the next."""
        return {
            callee: Ban(why, in_loop or caller in reached, caller)
            for callee, (why, caller, in_loop) in self.conflicts.items()
        }

    def flavour(self, fid: str) -> str:
        fn = self.fn(fid)
        if fn is None or not fn["is_generator"]:
            return "coroutine"
        catalogue = self.project.catalogue
        factories = (catalogue.context_manager_decorators, catalogue.async_context_manager_decorators)
        if any(d in names for d in self.project.decorators(fid) for names in factories):
            return "asynccm"
        return "asyncgen"

    def _qualified(self, value: Value | None) -> str | None:
        if value is None:
            return None
        return value.name if value.kind == "function" else value.qualified

    # -- references the call graph does not hold --------------------------------

    def _index_references(self) -> None:
        resolve = self.resolver.value_of
        self.uses_by_key: dict[str, list[tuple[str, records.UseRecord]]] = defaultdict(list)
        #: function id -> (module, line, col) of each reference that stores it
        self.stored: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
        self.lambda_calls: list[tuple[str, Value | None, records.ScopedRef]] = []
        for summary in self.project.index.summaries():
            if "functions" not in summary:
                continue
            module = summary["name"]
            for qualname, fn in summary["functions"].items():
                for use in records.uses(fn):
                    key = self._use_key(module, qualname, fn, use)
                    if key:
                        self.uses_by_key[key].append((join_id(module, qualname), use))
            for ref in records.value_refs(summary):
                value = resolve(module, ref.scope, ref.path)
                if value is not None and value.kind == "function":
                    self.stored[value.name].append((module, ref.line, ref.column))
            for ref in records.lambda_calls(summary):
                value = self.resolver.call_target(module, ref.scope, ref.path)
                self.lambda_calls.append((module, value, ref))
        self._index_tables()
        self.passed: dict[str, list[CallSite]] = defaultdict(list)
        for site in self.graph.sites():
            for value in site.passed:
                if value.kind == "function":
                    self.passed[value.name].append(site)
        self._index_aliases()
        self._index_callable_params()
        self.typed_calls: dict[str, list[CallSite]] = defaultdict(list)
        for site in self.graph.sites() if self.typed else ():
            fid = self.typed.get((site.caller, site.line, site.column))
            if fid is not None and site.callee is None:
                self.typed_calls[fid].append(site._replace(callee=Value("function", fid)))

    def _index_tables(self) -> None:
        """Dispatch tables whose every use is `TABLE[key](...)` in their own module:
        their functions change together (like a method family) and those calls are
        awaited, so storing a function there is no refusal."""
        imported = {
            target for s in self.project.index.summaries() for target in s.get("imports", {}).values()
        }
        #: function id -> the table id it is in; table id -> its functions and calls
        self.table_of: dict[str, str] = {}
        self.table_members: dict[str, set[str]] = {}
        self.table_calls: dict[str, list[tuple[str, str, int, int, bool]]] = {}
        in_tables: set[tuple[str, int, int]] = set()
        for summary in self.project.index.summaries():
            module = summary["name"]
            escapes = set(summary.get("table_escapes", ()))
            for name, members in summary.get("tables", {}).items():
                if name in escapes or f"{module}.{name}" in imported:
                    continue
                values = [self.resolver.value_of(module, None, path) for path, _, _ in members]
                if any(v is None or v.kind != "function" for v in values):
                    continue
                table = join_id(module, name)
                self.table_members[table] = {v.name for v in values}
                for value in values:
                    self.table_of.setdefault(value.name, table)
                in_tables.update((module, line, col) for _, line, col in members)
                self.table_calls[table] = [
                    (join_id(module, call[0] or MODULE_SCOPE), module, *call[2:5], self._runner(module, call),
                     tuple(call[5]) + ("()",) if len(call) > 5 else (name, "[]"))
                    for call in summary.get("table_calls", ())
                    if call[1] == name
                ]
        self._unstore(in_tables)

    def _index_aliases(self) -> None:
        """Locals that only hold functions and are only called (`reader = _readline`
        or `partial(_readsegment, ...)`, then `reader(sock, buf)`): the functions
        change together, and the local's calls are awaited like direct calls."""
        #: function id -> the functions sharing a local with it; its calls through locals
        self.alias_mates: dict[str, set[str]] = defaultdict(set)
        self.alias_calls: dict[str, list[tuple[str, str, int, int, bool, tuple[str, ...]]]] = defaultdict(list)
        refs_in_aliases: set[tuple[str, int, int]] = set()
        partials: set[tuple[str, int]] = set()
        for summary in self.project.index.summaries():
            module = summary["name"]
            for qualname, fn in summary.get("functions", {}).items():
                for name, refs in fn.get("aliases", {}).items():
                    values = [self.resolver.value_of(module, qualname, path) for path, _, _ in refs]
                    if any(v is None or v.kind != "function" for v in values):
                        continue
                    caller = join_id(module, qualname)
                    fids = {v.name for v in values}
                    calls = [
                        (caller, module, c.line, c.column, c.awaited, (name,))
                        for c in records.calls(fn["calls"])
                        if list(c.path) == [name]
                    ]
                    for fid in fids:
                        self.alias_mates[fid] |= fids
                        self.alias_calls[fid] += calls
                    refs_in_aliases.update((module, line, col) for _, line, col in refs)
                    partials.update((caller, line) for _, line, _ in refs)
        self._unstore(refs_in_aliases)
        for fid, sites in list(self.passed.items()):
            self.passed[fid] = [
                s for s in sites
                if not (self._qualified(s.callee) == "functools.partial" and (s.caller, s.line) in partials)
            ]

    def _index_callable_params(self) -> None:
        """Parameters that only hold project functions and are only called
        (`def _with_retry(self, func, *args): ... return func(*args)`, given
        `self._with_retry(self._fetch, key)` at every call): like a local alias, the
        functions passed there change together and the parameter's calls are
        awaited like direct calls, so handing a function to such a helper is no
        refusal."""
        candidates: set[tuple[str, str]] = set()
        for fid, sites in self.passed.items():
            for site in sites:
                for param, value in (self._bound_arguments(site) or {}).items():
                    if value is not None and value.name == fid:
                        candidates.add((site.callee.name, param))
        for holder, param in sorted(candidates):
            mates, sites = self._callable_param(holder, param)
            if not mates:
                continue
            module, _ = split_id(holder)
            calls = [
                (holder, module, c.line, c.column, c.awaited, (param,))
                for c in records.calls(self.fn(holder)["calls"])
                if list(c.path) == [param]
            ]
            handed = {(s.caller, s.line, s.column) for s in sites}
            for fid in mates:
                self.alias_mates[fid] |= mates
                self.alias_calls[fid] += calls
                self.passed[fid] = [s for s in self.passed[fid] if (s.caller, s.line, s.column) not in handed]

    def _bound_arguments(self, site: CallSite) -> dict[str, Value | None] | None:
        """What each parameter of the project function `site` calls is given there
        (None: not a plain reference); None when the call's arguments cannot be
        bound (`*args`, `**kwargs`, a callee that is not a project function)."""
        module, scope = split_id(site.caller)
        scope = None if scope == MODULE_SCOPE else scope
        if site.callee is None or site.callee.kind not in ("function", "class"):
            return None  # only a project function's parameters bind
        rel = self.rel_of.get(site.module)
        args = call_arguments(self.project.root / rel, site.line, site.column) if rel else None
        if args is None or any(keyword in ("*", "**") for keyword, _ in args):
            return None
        receiver = self.resolver.value_of(module, scope, site.path[:-1]) if len(site.path) > 1 else None
        through_class = receiver is not None and receiver.kind == "class"
        found = self.project.bind_arguments(site.callee, through_class, [keyword for keyword, _ in args])
        if found is None:
            return None
        return {
            param["name"]: self.resolver.value_of(module, scope, ref) if ref else None
            for param, (_, ref) in zip(found[2], args)
            if param is not None  # None: it lands in `*args` or `**kwargs`
        }

    def _callable_param(self, holder: str, param: str) -> tuple[set[str], list[CallSite]]:
        """The project functions every call of `holder` passes for `param`, when that
        is all it ever gets and `holder` only calls it; else nothing."""
        fn = self.fn(holder)
        if fn is None or holder in self.stored or self.passed.get(holder):
            return set(), []  # called from where the plan cannot see what it is given
        if not any(p["name"] == param and p["kind"] in ("pos", "kw") for p in fn["params"]):
            return set(), []
        rel = self.rel_of.get(split_id(holder)[0])
        if rel is None or not only_called(self.project.root / rel, fn["line"], fn["name"], param):
            return set(), []
        mates: set[str] = set()
        sites = list(self.graph.calls_to(holder))
        for site in sites:
            value = (self._bound_arguments(site) or {}).get(param)
            if value is None or value.kind != "function":
                return set(), []  # a lambda, a default, a sync library function
            mates.add(value.name)
        return mates, sites

    def _unstore(self, positions: set[tuple[str, int, int]]) -> None:
        """References at `positions` (module, line, col) are not "stored as a value"."""
        for fid, places in list(self.stored.items()):
            self.stored[fid] = [place for place in places if place not in positions]
            if not self.stored[fid]:
                del self.stored[fid]

    def _runner(self, module: str, call: list) -> str | None:
        """The bridge a table call goes through (`async_to_sync(TABLE[key])(...)`)."""
        if len(call) < 6:
            return None
        value = self.resolver.value_of(module, call[0], call[5])
        bridge = _RUNNERS.get(self._qualified(value) or "")
        return bridge.name if bridge is not None and bridge.wraps == "function" else "unknown"

    def _use_key(self, module: str, scope: str, fn: dict, use: records.UseRecord) -> str | None:
        """The function a `with`/`for` runs implicitly: a factory or a dunder."""
        kind, path = use.kind, use.path
        if not path:
            return None
        dunder = "__enter__" if kind.endswith("with") else "__iter__"
        resolve = self.resolver.value_of
        if path[-1] == "()":
            callee = resolve(module, scope, path[:-1])
            if callee is not None and callee.kind == "function":
                return callee.name
        elif len(path) == 1 and kind.endswith("for") and path[0] in fn["locals"]:
            texpr = fn["locals"][path[0]]
            if texpr[0] == "call":
                callee = resolve(module, scope, texpr[1])
                if callee is not None and callee.kind == "function":
                    return callee.name
        value = resolve(module, scope, path)
        if value is not None and value.kind == "instance":
            return self.resolver.method_in_mro(value.name, dunder)
        if value is not None and value.kind == "external_instance":
            return f"{value.name}.{dunder}"  # matched by an external dunder seed
        return None

    # -- propagation -----------------------------------------------------------

    def seed(self, seeds: Seeds) -> None:
        for fid in sorted(seeds.functions):
            if self.in_targets(fid):
                self.make_async(fid, explicit=True)
            else:  # outside PATH: an async API whose definition is left alone
                self.external_async.add(fid)
                self.async_fns.add(fid)
                self._work.append(fid)
        for name in sorted(seeds.external):
            self.external_async.add(name)
            self._work.append(name)
        blocking = self.project.blocking_catalogue
        configured = list(self.project.config.blocking_calls)
        for site in list(self.graph.sites()):
            if site.callee is None or site.callee.kind != "external" or site.awaited:
                continue
            entry = blocking.match(site.callee.name)
            if entry is not None and entry.async_equivalent:
                detail = f"{entry.async_equivalent}|{site.callee.name}"
                self._require(site.caller, self._edge(site, "", "replace", detail))
        self._seed_swaps()
        self._seed_bridges()
        for fid, line, call, total_ms in seeds.profile_sites:
            self.blocked_ms[fid] += total_ms
            found = False
            for site in self.graph.calls_from(fid):
                if site.line != line or site.callee is None or site.awaited:
                    continue
                if site.callee.kind == "function":
                    continue  # the blocking frame is further down; it has its own site
                entry = blocking.match(site.callee.name)
                if entry is not None and entry.async_equivalent:
                    edge = self._edge(
                        site, "", "replace", f"{entry.async_equivalent}|{site.callee.name}"
                    )
                else:
                    edge = self._edge(site, "", "offload")
                found = True
                self._require(site.caller, edge)
            if not found:
                if self.in_targets(fid):
                    self.make_async(fid, explicit=True)
                self.report(
                    fid,
                    line,
                    f"profiled blocking at line {line} ({call or 'unknown call'}): no call to offload found; converted `{fid}` only, check the blocking call by hand",
                )
        self._offload_patterns = configured

    def _seed_bridges(self) -> None:
        """A bridge (`async_to_sync(f)(...)`, `asyncio.run(f(...))`) to a project
        coroutine in a sync function is a sync call of it, as an earlier
        `--max-layer` run left it: the caller converts like any other, and the
        bridge becomes an await (unless the caller must stay sync)."""
        for site in list(self.graph.sites()):
            bridge = _RUNNERS.get(self._qualified(site.callee) or "")
            if bridge is None or split_id(site.caller)[1] == MODULE_SCOPE:
                continue
            caller_fn = self.fn(site.caller)
            if caller_fn is None or caller_fn["is_async"]:
                continue
            siblings = self.graph.calls_from(site.caller)
            path = tuple(site.path)
            if bridge.wraps == "function":  # async_to_sync(f)(args): f is passed
                target = site.passed[0] if site.passed else None
                path += ("()",)  # the edit is on the outer call
                if not any(s.line == site.line and s.column == site.column and tuple(s.path) == path for s in siblings):
                    continue
            else:  # asyncio.run(f(args)): f is called right inside, at the next column
                inner = [
                    s for s in siblings
                    if s.line == site.line and s.column > site.column and s.callee is not None
                    and self._qualified(s.outer) == bridge.function
                ]
                target = min(inner, key=lambda s: s.column).callee if inner else None
            if target is None or target.kind != "function":
                continue
            callee_fn = self.fn(target.name)
            if callee_fn is None or not callee_fn["is_async"] or callee_fn["is_generator"]:
                continue
            self.existing.add(target.name)
            edge = Edge(site.caller, target.name, "unbridge", site.module, site.line, site.column, path, bridge.name)
            self._require(site.caller, edge)
        for table, calls in self.table_calls.items():
            members = self.table_members[table]
            if not all((self.fn(m) or {}).get("is_async") for m in members):
                continue
            for caller, module, line, col, awaited, runner, path in calls:
                caller_fn = self.fn(caller)
                if runner not in (None, "unknown") and caller_fn is not None and not caller_fn["is_async"]:
                    callee = min(members)
                    self.existing.update(members)
                    self._require(caller, Edge(caller, callee, "unbridge", module, line, col, path, runner))

    def _edge(self, site: CallSite, callee: str, kind: str, detail: str = "") -> Edge:
        return Edge(
            site.caller, callee, kind, site.module, site.line, site.column, site.path, detail
        )

    def _require(self, caller: str, edge: Edge) -> None:
        """`edge` in `caller` needs an async caller."""
        self.edges.append(edge)
        if split_id(caller)[1] == MODULE_SCOPE:
            return
        self.make_async(caller)

    def make_async(self, fid: str, explicit: bool = False) -> None:
        if fid in self.async_fns or fid in self.kept_sync:
            return
        fn = self.fn(fid)
        if fn is None:
            return
        if fn["is_async"]:
            self.existing.add(fid)
            self.async_fns.add(fid)
            self._work.append(fid)
            return
        if not self.in_targets(fid):
            self.kept_sync[fid] = "outside PATH"
            self.report(
                fid,
                None,
                f"`{fid}` is outside PATH but calls async code: include it in PATH or convert it by hand",
            )
            return
        reason = None if explicit else self.must_stay_sync(fid)
        if reason:
            self.kept_sync[fid] = reason
            return
        group = self._group(fid)
        for member in sorted(group):
            problem = self._blocked(member) or self.refusal(member)
            if problem is None and not self.in_targets(member):
                problem = (f"`{member}` (same method family as `{fid}`) is outside PATH", None)
            if problem is None and member != fid and self.must_stay_sync(member):
                problem = (
                    f"`{member}` must stay sync ({self.must_stay_sync(member)}) but is in the method family of `{fid}`",
                    None,
                )
            if problem:
                ban = self.banned.get(member)
                # A function kept sync only for its callers' sake can still bridge
                # (when nothing runs it inside the loop); a refused one cannot.
                why = "blocked" if ban is not None and not ban.in_loop else "refused"
                for other in group:
                    self.kept_sync[other] = why
                self.report(fid, problem[1], f"left sync: {problem[0]}")
                return
        for member in group:
            member_fn = self.fn(member)
            if member_fn["is_async"]:
                self.existing.add(member)
            self.async_fns.add(member)
            self._work.append(member)

    def _blocked(self, fid: str) -> tuple[str, int | None] | None:
        if fid not in self.banned:
            return None
        reasons, seen, current = [], {fid}, self.banned[fid]
        while True:  # follow the chain to the caller that started it
            reasons.append(current.reason)
            if current.caller in seen or current.caller not in self.banned:
                break
            seen.add(current.caller)
            current = self.banned[current.caller]
        chain = "; which is kept sync because ".join(reasons)
        return (f"`{fid}` would become async, but code that must stay as it is calls it: {chain}", None)

    def _group(self, fid: str) -> set[str]:
        """Functions that must change together: method families and protocol pairs."""
        group: set[str] = set()
        todo = [fid]
        while todo:
            current = todo.pop()
            if current in group:
                continue
            group.add(current)
            todo.extend(self.graph.method_family(current) - group)
            table = self.table_of.get(current)
            if table is not None:
                todo.extend(self.table_members[table] - group)
            todo.extend(self.alias_mates.get(current, set()) - group)
            fn = self.fn(current)
            if fn and fn["owner"]:
                module, _ = split_id(current)
                for pair in PROTOCOLS.protocols:
                    if fn["name"] in pair:
                        cls = self.resolver.class_(join_id(module, fn["owner"]))
                        for name in pair:
                            if cls and name in cls["methods"]:
                                todo.append(join_id(module, cls["methods"][name]))
        return group

    def propagate(self) -> None:
        while self._work:
            callee = self._work.pop()
            flavour = self.flavour(callee) if ":" in callee else "coroutine"
            for site in (*self.graph.calls_to(callee), *self.typed_calls.get(callee, ())):
                self._call(site, callee, flavour)
            table = self.table_of.get(callee)
            for caller, module, line, col, awaited, runner, path in self.table_calls.get(table, ()) if table else ():
                if awaited or flavour != "coroutine" or self._already_async_use(caller, callee):
                    continue
                if runner is None:
                    self._require(caller, Edge(caller, callee, "await", module, line, col, path))
                elif runner == "unknown":
                    self.conflict(callee, caller, line, "a call passes it through an unknown function")
                elif not (self.fn(caller) or {}).get("is_async", True):
                    self._require(caller, Edge(caller, callee, "unbridge", module, line, col, path, runner))
            for caller, module, line, col, awaited, path in self.alias_calls.get(callee, ()):
                if not awaited and flavour == "coroutine" and not self._already_async_use(caller, callee):
                    self._require(caller, Edge(caller, callee, "await", module, line, col, path))
            for caller, use in self.uses_by_key.get(callee, ()):
                self._use(caller, use, callee)

    def _already_async_use(self, caller: str, callee: str) -> bool:
        """A function that was `async def` before the run, used in code that was
        async before the run: that code already chose how to use the coroutine
        (await it, gather it, schedule it), and AM101 checks the choice. Only its
        sync callers are part of the migration."""
        caller_fn = self.fn(caller) if ":" in caller else None
        return callee in self.existing and caller_fn is not None and caller_fn["is_async"]

    def _call(self, site: CallSite, callee: str, flavour: str) -> None:
        if site.awaited or self._already_async_use(site.caller, callee):
            return
        outer = self._qualified(site.outer)
        if flavour == "coroutine":
            consumers = self.project.catalogue.coroutine_consumers
            if outer in consumers or self.project.is_task_factory(site.outer):
                return
            self._require(site.caller, self._edge(site, callee, "await"))
        elif outer is not None:
            self.conflict(
                callee,
                site.caller,
                site.line,
                f"its result is passed to {outer}, which cannot consume an async {'generator' if flavour == 'asyncgen' else 'context manager'}",
            )

    def _use(self, caller: str, use: records.UseRecord, callee: str) -> None:
        kind, line, col = use.kind, use.line, use.column
        if kind.startswith("async") or self._already_async_use(caller, callee):
            return
        if kind == "yieldfrom" and use.statement and self.flavour(callee) == "asyncgen":
            module = split_id(caller)[0]
            edge = Edge(caller, callee, "async yield from", module, *use.statement, None, kind)
            self._require(caller, edge)
            return
        if kind == "yieldfrom":
            self.conflict(callee, caller, line, f"`{caller}` uses it in `yield from`, which an async generator cannot")
            return
        if kind == "with" and self.flavour(callee) == "asyncgen":
            return
        callee_fn = self.fn(callee) if ":" in callee else None
        if (
            callee_fn is not None
            and self.flavour(callee) == "coroutine"
            and callee_fn["name"] not in PROTOCOLS.async_dunders
        ):
            # `for x in f()` where f becomes a coroutine function returning a list:
            # `for x in await f()` (the call's await) is the whole change; `async
            # for` is only for async iterables.
            return
        edit = {"with": "async with", "for": "async for", "compfor": "async comp"}[kind]
        module = split_id(caller)[0]
        self._require(caller, Edge(caller, callee, edit, module, line, col, None, kind))

    def offload(self) -> None:
        """`--offload`: blocking calls left in converted functions go to a thread."""
        blocking = self.project.blocking_catalogue
        for fid in sorted(self.async_fns - self.existing - self.external_async):
            for site in self.graph.calls_from(fid):
                if site.callee is None or site.callee.kind != "external" or site.awaited:
                    continue
                name = site.callee.name
                entry = blocking.match(name)
                configured = any(fnmatch.fnmatchcase(name, p) for p in self._offload_patterns)
                if (entry is not None and not entry.async_equivalent) or (
                    entry is None and configured
                ):
                    self.edges.append(self._edge(site, "", "offload"))

    # -- layers ------------------------------------------------------------------

    def layers(self, convertible: set[str]) -> dict[str, int]:
        """Layer numbers, counted from the project's async code: a function that
        awaits only code that is already async is in layer 1 when that code is in
        layer 0, so the numbers stay the same from one `--max-layer` run to the
        next. A `with`/`for` user lands with what it uses (it cannot be bridged)."""
        nodes = set(convertible)
        succ: dict[str, set[str]] = defaultdict(set)
        for edge in self.edges:
            if edge.caller not in convertible or edge.caller == edge.callee:
                continue
            if edge.callee in convertible:
                succ[edge.caller].add(edge.callee)
                if edge.kind.startswith("async "):
                    succ[edge.callee].add(edge.caller)
            elif edge.callee in self.existing:
                succ[edge.caller].add(edge.callee)
                nodes.add(edge.callee)
        todo = sorted(nodes - convertible)
        while todo:  # how deep the existing async code is
            fid = todo.pop()
            for site in self.graph.calls_from(fid):
                callee = site.callee
                if callee is None or callee.kind != "function" or callee.name == fid:
                    continue
                callee_fn = self.fn(callee.name)
                if callee_fn is None or not callee_fn["is_async"] or callee.name in convertible:
                    continue
                succ[fid].add(callee.name)
                if callee.name not in nodes:
                    nodes.add(callee.name)
                    todo.append(callee.name)
        for fid in convertible:  # families and protocol pairs land together
            for member in self._group(fid) & convertible:
                if member != fid:
                    succ[fid].add(member)
        numbers = layer_numbers(nodes, succ)
        return {f: numbers[f] for f in convertible}

    # -- the plan ---------------------------------------------------------------

    def build(self) -> AsyncifyPlan:
        self.propagate()
        if self.options.offload:
            self.offload()
        candidates = {f for f in self.async_fns - self.existing - self.external_async}
        layer = self.layers(candidates)
        max_layer = self.options.max_layer
        converted = {f for f in candidates if max_layer is None or layer[f] <= max_layer}
        self._decorators(converted)
        async_after = converted | self.existing | self.external_async
        self._check_followers(async_after)
        reached = self.reached = self._reached_from_async(async_after)
        files: dict[str, FileEdits] = {}
        functions = {
            f: FunctionPlan(
                f, *self.where(f), layer=layer[f], blocked_ms=self.blocked_ms.get(f, 0.0)
            )
            for f in converted
        }
        bridges: list[tuple[str, str, str, int]] = []
        layer_bridges: dict[int, list] = defaultdict(list)
        awaited = 0

        def edits_for(module: str) -> FileEdits:
            rel = self.rel_of[module]
            return files.setdefault(rel, FileEdits(rel))

        for fid in sorted(converted):
            module, qualname = split_id(fid)
            edit = edits_for(module).def_edit(qualname)
            fn = self.fn(fid)
            name = fn["name"]
            edit.make_async = name != "__iter__" or fn["is_generator"]
            if name in PROTOCOLS.async_dunders:
                edit.rename = PROTOCOLS.async_dunders[name]
                edit.stop_iteration = name == "__next__"
            if self.flavour(fid) == "asynccm":
                edit.asynccontextmanager = True
            style = self.options.test_style
            if style.is_test(fid, fn):
                edit.marker = style.marker
            elif style.is_fixture(self.project.decorators(fid)):
                edit.async_fixture = style.needs_async_fixture
            for decorator in self.project.decorators(fid):
                if (
                    ":" not in decorator
                    and decorator not in self.project.catalogue.coroutine_safe_decorators
                ):
                    value = self.resolver.qualified_value(decorator)
                    if value is None or value.kind != "function":
                        self.report(
                            fid,
                            None,
                            f"`{fid}` is decorated with {decorator}: check that it supports coroutine functions",
                        )
        for fid in sorted(self.extra_async):
            module, qualname = split_id(fid)
            edits_for(module).def_edit(qualname).make_async = True

        for edge in sorted(set(self.edges), key=lambda e: (e.module, e.line, e.col, e.kind)):
            if edge.callee and edge.callee not in async_after:
                continue  # the callee stays sync (beyond --max-layer, refused)
            caller = edge.caller
            caller_async = caller in async_after
            if caller_async:
                if edge.module not in self.rel_of:
                    continue
                if not self.in_targets(caller):
                    if caller in self.existing and edge.kind == "await":
                        self.report(
                            caller,
                            edge.line,
                            f"`{caller}` (outside PATH) must await `{edge.callee}`: include it in PATH",
                        )
                    continue
                caller_fn = self.fn(caller)
                if caller_fn and caller_fn["name"] == "__iter__" and not caller_fn["is_generator"]:
                    # `__aiter__` is called without await: it cannot await anything.
                    self.conflict(
                        edge.callee, caller, edge.line,
                        f"`{caller}` becomes `__aiter__`, which must stay sync, and calls it",
                    )
                    continue
                key = (
                    call_key(edge.line, edge.col, edge.path)
                    if edge.path is not None
                    else stmt_key(
                        edge.detail if edge.detail != "compfor" else "comp", edge.line, edge.col
                    )
                )
                detail, _, origin = (
                    edge.detail.partition("|") if edge.kind in ("replace", "swap")
                    else (edge.detail, "", "") if edge.kind == "unbridge"
                    else ("", "", "")
                )
                edits_for(edge.module).sites[key] = SiteEdit(edge.kind, detail, edge.line, origin)
                if edge.callee in functions:
                    functions[edge.callee].call_sites += 1
                if edge.kind in ("await", "replace", "offload", "unbridge", "swap"):
                    awaited += 1
                if edge.kind.startswith("swap") and caller in async_after:
                    family = self.swap_family(edge)
                    if caller in functions and family not in functions[caller].swaps:
                        functions[caller].swaps.append(family)
                    if edge.kind != "swap" or json.loads(edge.detail.partition("|")[0])["form"] != "client":
                        self.shared_swap_users[caller].add(family)
                continue
            if edge.kind.startswith("swap"):
                self._drop_swap(
                    self.swap_family(edge), edge.module, edge.line,
                    f"`{caller}` stays sync ({self._sync_reason(caller)}) and uses the swapped client there",
                )
                continue
            if edge.kind in ("replace", "offload"):
                continue  # a sync caller may block
            if edge.kind == "unbridge":
                continue  # the caller stays sync: its bridge stays too
            if edge.kind != "await":
                self.conflict(
                    edge.callee, caller, edge.line,
                    f"`{caller}` stays sync ({self._why_sync(caller)}) and uses it in `{edge.kind.split()[-1]}`, which needs `{edge.kind}`",
                )
                continue
            self._bridge(edge, caller, reached, edits_for, bridges, layer_bridges, layer, functions)
        for module, value, (scope, path, line, col) in self.lambda_calls:
            callee = self._qualified(value)
            if callee is None or callee not in async_after:
                continue
            if ":" in callee and self.flavour(callee) != "coroutine":
                continue
            enclosing = join_id(module, scope or MODULE_SCOPE)
            if enclosing in async_after or enclosing in reached:
                self.conflict(
                    callee, enclosing, line,
                    "a lambda calls it from code that async code runs, where a bridge would nest the event loop",
                )
                continue
            if self.rel_of.get(module) not in self.targets:
                continue
            edits_for(module).sites[call_key(line, col, path)] = SiteEdit(
                "bridge", self.options.bridge, line
            )
            bridges.append((enclosing + " (lambda)", callee, self.rel_of[module], line))
        for edge in self.swap_edges:  # factories and names: no await, so anywhere
            if self.rel_of.get(edge.module) not in self.targets:
                continue
            if edge.kind == "swap":
                detail, _, origin = edge.detail.partition("|")
                edits_for(edge.module).sites[call_key(edge.line, edge.col, edge.path)] = SiteEdit(
                    "swap", detail, edge.line, origin
                )
            else:  # "swap name", "swap attr": the new name
                new, _, origin = edge.detail.partition("|")
                edits_for(edge.module).sites[ref_key(edge.line, edge.col, edge.path)] = SiteEdit(
                    edge.kind, new, edge.line, origin
                )
        for fe in files.values():
            for site_edit in fe.sites.values():
                if site_edit.kind == "swap":
                    self.swap_counts[json.loads(site_edit.detail)["family"]] += 1
        self.items.update(self.swap_items())
        self._dispatch_checks(converted)
        self._swap_bridges(bridges)
        order = sorted({layer[f] for f in converted})
        layers = [sorted(f for f in converted if layer[f] == n) for n in order]
        for rel, fe in list(files.items()):
            if not fe:
                del files[rel]
        edges = sorted(
            {
                (e.caller, e.callee)
                for e in self.edges
                if e.caller in converted and e.callee in converted
            }
        )
        temporary: dict[int, set] = defaultdict(set)
        for e in self.edges:
            if (
                e.kind == "await"
                and e.callee in layer
                and e.caller in layer
                and layer[e.caller] > layer[e.callee]
            ):
                temporary[layer[e.callee]].add((e.caller, e.callee, self.rel_of[e.module], e.line))
        return AsyncifyPlan(
            functions,
            layers,
            files,
            sorted(self.items),
            bridges,
            dict(layer_bridges),
            edges,
            {n: sorted(v) for n, v in temporary.items()},
            awaited_sites=awaited,
            requirements=self._requirements(files, bridges),
            swaps=dict(self.swap_counts),
            dropped_swaps={f: r for f, r in self.dropped_swaps.items() if r},
        )

    def _requirements(self, files: dict[str, FileEdits], bridges: list) -> list[str]:
        """The distributions the converted code needs at run time or in its tests."""
        needed = set()
        package = BRIDGES[self.options.bridge].package
        if bridges and package:
            needed.add(f"{package} (the sync bridge)")
        markers = {e.marker for fe in files.values() for e in fe.defs.values() if e.marker}
        if any(e.async_fixture for fe in files.values() for e in fe.defs.values()) or "asyncio" in markers:
            needed.add("pytest-asyncio (the converted tests)")
        if "anyio" in markers:
            needed.add("anyio (the converted tests)")
        for family in self.swap_counts:
            requirement = self.swaps.family(family).requirement
            if requirement:
                needed.add(f"{requirement} (swap `{family}`)")
        return sorted(needed)

    def _sync_reason(self, fid: str) -> str:
        """Why `fid` stays sync, in full (not only "refused")."""
        if split_id(fid)[1] != MODULE_SCOPE and self.fn(fid) is not None:
            problem = self._blocked(fid) or self.refusal(fid)
            if problem:
                return problem[0]
            reason = self.must_stay_sync(fid)
            if reason:
                return reason
        return self._why_sync(fid)

    def _why_sync(self, fid: str) -> str:
        if split_id(fid)[1] == MODULE_SCOPE:
            return "module-level code"
        return self.kept_sync.get(fid) or "beyond --max-layer"

    def _bridge(
        self, edge, caller, reached, edits_for, bridges, layer_bridges, layer, functions
    ) -> None:
        why = self._why_sync(caller)
        if why == "refused":
            self.conflict(
                edge.callee, caller, edge.line,
                f"`{caller}` is left sync ({why}) and calls it; it may run inside the event loop, so it gets no bridge "
                f"(if it never does, `--stop-at '{caller}'` keeps it sync with a bridge)",
                in_loop=True,
            )
            return
        if why == "outside PATH" or (
            split_id(caller)[1] == MODULE_SCOPE and self.rel_of.get(edge.module) not in self.targets
        ):
            self.conflict(
                edge.callee, caller, edge.line,
                f"`{caller}` is outside PATH, so asyncify cannot await or bridge its call",
            )
            return
        if split_id(caller)[1].endswith(".__del__"):
            self.conflict(
                edge.callee, caller, edge.line,
                f"the finalizer `{caller}` calls it; a finalizer may run inside the event loop, so it gets no bridge",
                in_loop=True,
            )
            return
        if caller in reached:
            self.conflict(
                edge.callee, caller, edge.line,
                f"`{caller}` stays sync ({why}) and calls it, but async code runs `{caller}`: a bridge there would nest the event loop",
            )
            return
        module = edge.module
        if module not in self.rel_of:
            return
        if split_id(caller)[1] != MODULE_SCOPE and not self.in_targets(caller):
            return
        if split_id(caller)[1] == MODULE_SCOPE and self.rel_of[module] not in self.targets:
            return
        edits_for(module).sites[call_key(edge.line, edge.col, edge.path)] = SiteEdit(
            "bridge", self.options.bridge, edge.line
        )
        record = (caller, edge.callee, self.rel_of[module], edge.line)
        bridges.append(record)
        if edge.callee in layer:
            layer_bridges[layer[edge.callee]].append(record)
        if edge.callee in functions:
            functions[edge.callee].call_sites += 1
        fn = self.fn(caller)
        if fn is not None and fn["kind"] == "property":
            self.report(
                caller,
                edge.line,
                f"bridged inside property `{caller}`: reading it from async code would nest the event loop (calls through attribute access are not in the call graph)",
            )

    def _reached_from_async(self, async_after: set[str]) -> set[str]:
        """Sync functions that async code calls (directly, through sync callees, or as
        callbacks of `sorted`-like APIs): a bridge in them would nest the loop."""
        reached: set[str] = set()
        todo = [f for f in async_after if ":" in f]
        todo += [
            join_id(s["name"], q)
            for s in self.project.index.summaries()
            for q, fn in s.get("functions", {}).items()
            if fn["is_async"]
        ]
        seen: set[str] = set()
        while todo:
            fid = todo.pop()
            if fid in seen:
                continue
            seen.add(fid)
            for site in self.graph.calls_from(fid):
                targets = []
                if site.callee is not None and site.callee.kind == "function" and not site.awaited:
                    targets.append(site.callee.name)
                elif site.callee is not None and site.callee.kind == "class":
                    init = self.resolver.method_in_mro(site.callee.name, "__init__")
                    if init:
                        targets.append(init)
                if self._qualified(site.callee) in self.project.catalogue.sync_callbacks:
                    targets += [v.name for v in site.passed if v.kind == "function"]
                for target in targets:
                    if target not in async_after and target not in reached:
                        reached.add(target)
                        todo.append(target)
        return reached


#: planning rounds before giving up on closing the conversion (each bans at least one
#: function, so this only bounds pathological projects)
MAX_ROUNDS = 50


def build_plan(
    project: Project,
    targets: set[str],
    seeds: Seeds,
    options: PlanOptions,
    banned: dict[str, str] | None = None,
) -> AsyncifyPlan:
    """Plan to a closed conversion: every caller of a converted function awaits it
    or is safely bridged. A function whose conversion would leave a caller broken
    is banned (kept sync, with the reason), and the plan is made again without it,
    until nothing conflicts."""
    banned = dict(banned or {})
    typed: dict[tuple[str, int, int], str] = {}
    dropped: dict[str, str] = {}
    for _ in range(MAX_ROUNDS):
        planner = Planner(project, targets, options, banned, typed, dropped)
        planner.seed(seeds)
        plan = planner.build()
        plan.notes = planner.notes
        if planner.retyped:  # the type engine named receivers: plan again with them
            typed.update(planner.retyped)
            continue
        if planner.swap_conflicts:  # a family cannot swap whole: plan again without it
            dropped.update(planner.swap_conflicts)
            continue
        fresh = {f: ban for f, ban in planner.bans(planner.reached).items() if f not in banned}
        if not fresh:
            break
        banned.update(fresh)
    else:
        raise RuntimeError(f"asyncify: the plan did not close after {MAX_ROUNDS} rounds")
    plan.profiled = bool(seeds.profile_sites)
    for rel in sorted(targets):
        summary = project.index.by_path.get(rel)
        if summary is not None and "error" in summary:
            # Unseen code: its calls of converted functions cannot be awaited here.
            line = (summary.get("error_at") or [0])[0]
            plan.items.append(Item(rel, line, f"not analysed ({summary['error']}): left unchanged, and its calls are not seen"))
    for missing in seeds.unmatched:
        path, _, line = missing.rpartition(":")
        plan.items.append(Item(path, int(line), "profiled site is not inside a project function"))
    return plan


def target_rels(project: Project, files: Iterable[Path]) -> set[str]:
    from asyncmigrate.project import relpath

    return {relpath(f, project.root) for f in files}
