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
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from asyncmigrate.analysis import Project
from asyncmigrate.callgraph import MODULE_SCOPE, CallSite
from asyncmigrate.catalogue import PROTOCOLS
from asyncmigrate.index import records
from asyncmigrate.index.values import Value, join_id, split_id

from .edits import Edge, FileEdits, Item, SiteEdit, call_key, stmt_key
from .layers import layer_numbers
from .safety import SafetyRules
from .seeds import Seeds
from .testing import TestStyle


@dataclass
class PlanOptions:
    bridge: str = "asgiref"
    offload: bool = False
    max_layer: int | None = None
    stop_at: list[str] = field(default_factory=list)
    test_style: TestStyle = field(default_factory=TestStyle)


@dataclass
class FunctionPlan:
    fid: str
    path: str
    line: int
    layer: int = 0
    call_sites: int = 0
    blocked_ms: float = 0.0


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

    @property
    def converted(self) -> int:
        return len(self.functions)


class Planner(SafetyRules):
    def __init__(self, project: Project, targets: set[str], options: PlanOptions):
        self.project = project
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
        self.stored: dict[str, list[tuple[str, int]]] = defaultdict(list)
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
                    self.stored[value.name].append((module, ref.line))
            for ref in records.lambda_calls(summary):
                value = self.resolver.call_target(module, ref.scope, ref.path)
                self.lambda_calls.append((module, value, ref))
        self.passed: dict[str, list[CallSite]] = defaultdict(list)
        for site in self.graph.sites():
            for value in site.passed:
                if value.kind == "function":
                    self.passed[value.name].append(site)

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
            problem = self.refusal(member)
            if problem is None and not self.in_targets(member):
                problem = (f"`{member}` (same method family as `{fid}`) is outside PATH", None)
            if problem is None and member != fid and self.must_stay_sync(member):
                problem = (
                    f"`{member}` must stay sync ({self.must_stay_sync(member)}) but is in the method family of `{fid}`",
                    None,
                )
            if problem:
                for other in group:
                    self.kept_sync[other] = "refused"
                self.report(fid, problem[1], f"left sync: {problem[0]}")
                return
        for member in group:
            member_fn = self.fn(member)
            if member_fn["is_async"]:
                self.existing.add(member)
            self.async_fns.add(member)
            self._work.append(member)

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
            for site in self.graph.calls_to(callee):
                self._call(site, callee, flavour)
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
            self.report(
                site.caller,
                site.line,
                f"`{callee}` becomes an async {'generator' if flavour == 'asyncgen' else 'context manager'}; its result is passed to {outer}, which cannot consume it: rewrite by hand",
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
            self.kept_sync.setdefault(caller, "yield from")
            self.report(
                caller,
                line,
                f"`yield from` of `{callee}`, which becomes an async generator: rewrite as `async for item in ...: yield item` by hand",
            )
            return
        if kind == "with" and self.flavour(callee) == "asyncgen":
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
        succ: dict[str, set[str]] = defaultdict(set)
        for edge in self.edges:
            if (
                edge.caller in convertible
                and edge.callee in convertible
                and edge.caller != edge.callee
            ):
                succ[edge.caller].add(edge.callee)
        for fid in convertible:  # families and protocol pairs land together
            for member in self._group(fid) & convertible:
                if member != fid:
                    succ[fid].add(member)
        return layer_numbers(convertible, succ)

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
        reached = self._reached_from_async(async_after)
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
                    self.report(
                        caller,
                        edge.line,
                        f"`{caller}` becomes `__aiter__`, which must stay sync, but calls "
                        f"`{edge.callee}`: move that call into `__anext__` by hand",
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
                    edge.detail.partition("|") if edge.kind == "replace" else ("", "", "")
                )
                edits_for(edge.module).sites[key] = SiteEdit(edge.kind, detail, edge.line, origin)
                if edge.callee in functions:
                    functions[edge.callee].call_sites += 1
                if edge.kind in ("await", "replace", "offload"):
                    awaited += 1
                continue
            if edge.kind in ("replace", "offload"):
                continue  # a sync caller may block
            if edge.kind != "await":
                self.report(
                    caller,
                    edge.line,
                    f"`{edge.kind}` over `{edge.callee}` needs an async caller, but `{caller}` stays sync ({self._why_sync(caller)})",
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
                self.report(
                    enclosing,
                    line,
                    f"a lambda calls `{callee}`, which becomes async, from code that async code runs: a bridge would nest the event loop; rewrite by hand",
                )
                continue
            if self.rel_of.get(module) not in self.targets:
                continue
            edits_for(module).sites[call_key(line, col, path)] = SiteEdit(
                "bridge", self.options.bridge, line
            )
            bridges.append((enclosing + " (lambda)", callee, self.rel_of[module], line))
        self._dispatch_checks(converted)
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
        )

    def _why_sync(self, fid: str) -> str:
        if split_id(fid)[1] == MODULE_SCOPE:
            return "module-level code"
        return self.kept_sync.get(fid) or "beyond --max-layer"

    def _bridge(
        self, edge, caller, reached, edits_for, bridges, layer_bridges, layer, functions
    ) -> None:
        why = self._why_sync(caller)
        if why in ("refused", "yield from", "outside PATH"):
            self.report(
                caller,
                edge.line,
                f"`{caller}` is left sync ({why}) and calls `{edge.callee}`, which becomes async: its result is now an un-awaited coroutine",
            )
            return
        if split_id(caller)[1].endswith(".__del__"):
            self.report(
                caller,
                edge.line,
                f"`{caller}` calls `{edge.callee}`, which becomes async: a finalizer runs wherever the object is collected, possibly inside the event loop, so it gets no bridge; rewrite by hand",
            )
            return
        if caller in reached:
            self.report(
                caller,
                edge.line,
                f"`{caller}` stays sync ({why}) but is reached from async code: a sync bridge to `{edge.callee}` would nest the event loop; await it in an async caller instead",
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


def build_plan(
    project: Project, targets: set[str], seeds: Seeds, options: PlanOptions
) -> AsyncifyPlan:
    planner = Planner(project, targets, options)
    planner.seed(seeds)
    plan = planner.build()
    plan.profiled = bool(seeds.profile_sites)
    for missing in seeds.unmatched:
        path, _, line = missing.rpartition(":")
        plan.items.append(Item(path, int(line), "profiled site is not inside a project function"))
    return plan


def target_rels(project: Project, files: Iterable[Path]) -> set[str]:
    from asyncmigrate.project import relpath

    return {relpath(f, project.root) for f in files}
