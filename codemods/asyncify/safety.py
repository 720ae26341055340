"""Which functions asyncify must keep sync, or must not touch, and why.

A function stays sync (a *root*, bridged inside) when Python or a sync API calls it:
dunders without an async form, properties, callbacks of `sorted`/`map`/threads,
`--stop-at` matches. It is *refused* (left alone and reported) when callers exist
that asyncify cannot see or rewrite: it is stored as a value, passed to unknown
code, or may override a third-party method. Decorators and dynamic dispatch around
converted functions are checked here too.
"""

from __future__ import annotations

import builtins
import fnmatch
from collections import defaultdict

from asyncmigrate.catalogue import PROTOCOLS
from asyncmigrate.index import records
from asyncmigrate.index.values import join_id, split_id

from .edits import Edge


class SafetyRules:
    """Mixin of `Planner`: the checks that keep a conversion from being silently wrong."""

    #: decorator wrappers that become async with the functions they wrap
    extra_async: set[str]

    # -- why a function cannot simply become async -----------------------------

    def must_stay_sync(self, fid: str) -> str | None:
        fn = self.fn(fid)
        name = fn["name"]
        if name.startswith("__") and name.endswith("__") and name not in PROTOCOLS.async_dunders:
            return f"{name} is called synchronously by Python"
        if fn["kind"] == "property":
            return "a property is read synchronously"
        for pattern in self.options.stop_at:
            if fnmatch.fnmatchcase(fid, pattern):
                return f"matches --stop-at {pattern}"
        catalogue = self.project.catalogue
        for site in self.passed.get(fid, ()):
            api = self._qualified(site.callee)
            if api in catalogue.sync_callbacks or api in catalogue.thread_callbacks:
                return f"a callback handed to {api}"
        return None

    def refusal(self, fid: str) -> tuple[str, int | None] | None:
        """Why converting `fid` is unsafe (it is then left alone and reported)."""
        module, qualname = split_id(fid)
        for use in records.uses(self.fn(fid)):
            if use.kind != "yieldfrom":
                continue
            key = self._use_key(module, qualname, self.fn(fid), use)
            if use.statement and key in self.async_fns and self.flavour(key) == "asyncgen":
                continue  # rewritten as `async for x in ...: yield x`
            return (
                f"`{fid}` would become an async generator, but it uses `yield from` (line "
                f"{use.line}), which async generators cannot: rewrite it as `async for` by hand",
                None,
            )
        for module, line in self.stored.get(fid, ()):
            return (
                f"`{fid}` is stored as a value at {self.rel_of.get(module)}:{line} and called from where asyncify cannot see: convert it by hand",
                None,
            )
        catalogue = self.project.catalogue
        for site in self.passed.get(fid, ()):
            api = self._qualified(site.callee)
            if (
                api in catalogue.coroutine_function_consumers
                or api in catalogue.sync_callbacks
                or api in catalogue.thread_callbacks
            ):
                continue
            return (
                f"`{fid}` is passed as a value to {api or '.'.join(site.path)} at "
                f"{self.where(site.caller, site.line)[0]}:{site.line}, which may call it "
                "synchronously: convert it by hand",
                None,
            )
        fn = self.fn(fid)
        if fn["owner"]:
            base = self._third_party_base(fid)
            if base:
                return f"`{fid}` may override a method of the third-party base class {base}", None
        return None

    def _third_party_base(self, fid: str) -> str | None:
        module, _ = split_id(fid)
        fn = self.fn(fid)
        name = fn["name"]
        for entry in self.resolver.mro(join_id(module, fn["owner"])):
            if ":" in entry:
                continue
            owner, _, attr = entry.rpartition(".")
            if owner == "builtins" and hasattr(builtins, attr):
                if hasattr(getattr(builtins, attr), name):
                    return entry
                continue
            if entry in PROTOCOLS.marker_bases and not hasattr(object, name):
                continue
            return entry
        return None

    def _decorators(self, converted: set[str]) -> None:
        """Forwarding decorators (`functools.wraps` style) around converted functions
        are converted when every function they wrap is converted."""
        self.extra_async = set()
        decorated: dict[str, set[str]] = defaultdict(set)
        for fid in self.graph.functions:
            for decorator in self.project.decorators(fid):
                value = self.resolver.qualified_value(decorator) if ":" not in decorator else None
                if value is not None and value.kind == "function":
                    decorated[value.name].add(fid)
        for decorator, wrapped in sorted(decorated.items()):
            if not wrapped & converted:
                continue
            sync_ones = sorted(
                w for w in wrapped if w not in converted and not self.fn(w)["is_async"]
            )
            forward = self._forwarder(decorator)
            where = sorted(wrapped & converted)[0]
            if sync_ones:
                self.report(
                    where,
                    None,
                    f"decorator `{decorator}` also wraps sync functions ({', '.join(sync_ones)}): left unchanged; it must await the converted ones",
                )
                continue
            if forward is None:
                self.report(
                    where,
                    None,
                    f"decorator `{decorator}` does not simply forward the call: check that it awaits the coroutine",
                )
                continue
            wrapper, call = forward
            if not self.in_targets(wrapper):
                self.report(
                    where,
                    None,
                    f"decorator `{decorator}` is outside PATH: make its wrapper async by hand",
                )
                continue
            self.extra_async.add(wrapper)
            self.edges.append(
                Edge(wrapper, "", "await", split_id(wrapper)[0], call.line, call.column, tuple(call.path))
            )
            self.existing.add(wrapper)

    def _forwarder(self, decorator: str) -> tuple[str, records.CallRecord] | None:
        fn = self.fn(decorator)
        if fn is None or not fn["params"]:
            return None
        param = fn["params"][0]["name"]
        module, qualname = split_id(decorator)
        summary = self.project.index.module(module)
        nested = [q for q, f in summary["functions"].items() if f["parent"] == qualname]
        if len(nested) != 1:
            return None
        inner = summary["functions"][nested[0]]
        if inner["is_async"] or inner["is_generator"]:
            return None
        calls = [c for c in records.calls(inner["calls"]) if list(c.path) == [param]]
        if len(calls) != 1 or calls[0].awaited:
            return None
        return join_id(module, nested[0]), calls[0]

    def _dispatch_checks(self, converted: set[str]) -> None:
        """getattr dispatch and receivers of unknown type: never awaited on a guess."""
        owners: dict[str, set[str]] = defaultdict(set)
        names: dict[str, set[str]] = defaultdict(set)
        for fid in converted:
            fn = self.fn(fid)
            if fn["owner"]:
                owners[join_id(split_id(fid)[0], fn["owner"])].add(fn["name"])
                names[fn["name"]].add(fid)
        called = {(s.caller, s.line) for s in self.graph.sites() if s.path[:2] == ("getattr", "()")}
        for site in self.graph.sites():
            if (
                self._qualified(site.callee) == "builtins.getattr"
                and site.passed
                and (site.caller, site.line) in called
            ):
                target = site.passed[0]
                if target.kind in ("instance", "class"):
                    hit = set()
                    for cls in [target.name, *self.resolver.subclasses(target.name)]:
                        for base in self.resolver.mro(cls):
                            hit |= owners.get(base, set())
                    if hit:
                        self.report(
                            site.caller,
                            site.line,
                            f"getattr dispatch on `{target.name}` may reach converted methods ({', '.join(sorted(hit))}): the result would need an await; rewrite by hand",
                        )
            elif (
                site.callee is None
                and len(site.path) > 1
                and site.path[-1] in names
                and not site.awaited
                and "()" not in site.path[-1:]
            ):
                if site.caller in converted or self.in_targets(site.caller):
                    self.report(
                        site.caller,
                        site.line,
                        f"`{'.'.join(site.path)}()`: receiver type unknown; if it is {' or '.join(sorted(names[site.path[-1]]))}, it must be awaited",
                    )
