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
import importlib
import sys
from collections import defaultdict

from asyncmigrate.catalogue import PROTOCOLS
from asyncmigrate.index import records
from asyncmigrate.index.refpath import written
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
        if fn["owner"] and self._unittest_case(join_id(split_id(fid)[0], fn["owner"])):
            return "unittest runs the methods of a TestCase synchronously"
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
        for module, line, _ in self.stored.get(fid, ()):
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
        if fn["owner"] and not any(fnmatch.fnmatchcase(fid, p) for p in self.options.allow_override):
            base = self._third_party_base(fid)
            if base:
                return (
                    f"`{fid}` may override a method of the third-party base class {base}, which would "
                    f"call it synchronously (if {base} has no such method, `--allow-override '{fid}'` "
                    "converts it)",
                    None,
                )
        return None

    def _unittest_case(self, cid: str) -> bool:
        """`cid`, or a subclass of it (a mixin), is a test case whose runner calls its
        methods without awaiting (`[test_cases]` in knowledge/async_apis.toml)."""
        catalogue = self.project.catalogue
        for cls in (cid, *self.resolver.subclasses(cid)):
            bases = [b for b in self.resolver.mro(cls) if ":" not in b]
            if any(b in catalogue.async_test_cases for b in bases):
                continue
            if any(b in catalogue.sync_test_cases for b in bases):
                return True
        return False

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
            stdlib_class = _stdlib_class(entry)
            if stdlib_class is not None:
                # The standard library is the tool's own, not the user's code: a
                # method it does not define is no override.
                if hasattr(stdlib_class, name):
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

    def second_tier(self, site) -> str | None:
        """What the type engine (pyrefly) says `local.method()` at `site` calls: a
        project method's id, "" for an object that is no project class, None when
        it does not know either."""
        if len(site.path) != 2:
            return None
        module, qualname = split_id(site.caller)
        rel = self.rel_of.get(module)
        engine = self.project.type_engine
        text = engine.local_types(rel, qualname).get(site.path[0]) if rel else None
        if engine.unavailable and engine.unavailable not in self.notes:
            self.notes.append(f"{engine.unavailable}: receivers the index cannot type stay unknown (pip install 'asyncmigrate[types]')")
        value = self.resolver.named_type(module, text) if text else None
        if value is None:
            return None
        if value.kind == "instance":
            return self.resolver.method_in_mro(value.name, site.path[-1]) or ""
        return ""

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
                owners[join_id(split_id(fid)[0], fn["owner"])].add(fid)
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
                    for method in sorted(hit):
                        self.conflict(
                            method, site.caller, site.line,
                            f"`{site.caller}` calls it through getattr on `{target.name}`",
                        )
            elif (
                site.callee is None
                and len(site.path) > 1
                and site.path[-1] in names
                and not site.awaited
                and "()" not in site.path[-1:]
            ):
                if (site.caller, site.line, site.column) in self.typed:
                    continue
                # Any caller in the project, under PATH or not: an un-awaited call of a
                # converted method is broken wherever it is.
                typed = self.second_tier(site)
                if typed is not None:
                    if typed:  # a project method: the next round awaits it
                        self.retyped[(site.caller, site.line, site.column)] = typed
                    continue
                for method in sorted(names[site.path[-1]]):
                    self.conflict(
                        method, site.caller, site.line,
                        f"`{site.caller}` calls `{written(site.path)}()`, whose receiver may be it (its type is unknown)",
                    )


def _stdlib_class(qualified: str) -> type | None:
    """The standard-library class `qualified` names (`unittest.TestCase`), or None.
    Only the standard library is looked at this way: it is the tool's own, never
    the project's or a third party's."""
    module_name, _, attr = qualified.rpartition(".")
    if not module_name or module_name.split(".")[0] not in sys.stdlib_module_names:
        return None
    try:
        value = getattr(importlib.import_module(module_name), attr, None)
    except Exception:  # a platform module that does not import here
        return None
    return value if isinstance(value, type) else None
