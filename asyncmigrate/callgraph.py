"""The project's call graph: every call site in every function, resolved once.

Built from the index summaries through the shared `Resolver`, so a rule that asks
"what does this function call?" and a codemod that asks "who calls this function?"
get the same answer. Module-level code is a caller named `module:<module>`.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cached_property
from typing import Any, Iterator, NamedTuple

from .index import records
from .index.resolve import Resolver
from .index.store import ProjectIndex
from .index.values import Value, join_id, split_id

MODULE_SCOPE = "<module>"


class CallSite(NamedTuple):
    caller: str  # function id `module:Qual.name`, or `module:<module>`
    callee: Value | None  # None when the target cannot be named statically
    path: tuple[str, ...]  # the callee as written, as a reference path
    line: int
    column: int
    awaited: bool
    #: values of plain references passed as arguments (`to_thread(fn, x)` -> fn, x)
    passed: tuple[Value, ...] = ()
    #: the call that receives this call's result as an argument (`asyncio.run(...)`)
    outer: Value | None = None
    #: `(keyword or None, value)` of its literal False and 0 arguments
    quick: tuple[tuple[str | None, Any], ...] = ()
    #: its number of arguments (known when `quick` is not empty)
    nargs: int = 0

    @property
    def module(self) -> str:
        return split_id(self.caller)[0]


class CallGraph:
    def __init__(self, index: ProjectIndex, resolver: Resolver):
        self.index = index
        self.resolver = resolver
        self._by_caller: dict[str, list[CallSite]] = defaultdict(list)
        self._by_callee: dict[str, list[CallSite]] = defaultdict(list)
        for summary in index.summaries():
            if "functions" not in summary:
                continue
            module = summary["name"]
            for qualname, fn in summary["functions"].items():
                self._add_calls(module, qualname, join_id(module, qualname), fn["calls"])
            self._add_calls(module, None, join_id(module, MODULE_SCOPE), summary.get("module_calls", ()))

    def _add_calls(self, module: str, scope: str | None, caller: str, calls: list) -> None:
        for call in records.calls(calls):
            callee = self.resolver.call_target(module, scope, call.path)
            passed = tuple(
                v for v in (self.resolver.value_of(module, scope, r) for r in call.refs) if v is not None
            )
            outer = self.resolver.call_target(module, scope, call.outer) if call.outer else None
            site = CallSite(
                caller, callee, tuple(call.path), call.line, call.column, call.awaited, passed, outer,
                tuple((k, v) for k, v in call.quick), call.nargs,
            )
            self._by_caller[caller].append(site)
            if callee is not None:
                self._by_callee[callee.name].append(site)

    def calls_from(self, caller: str) -> list[CallSite]:
        """Call sites inside function `caller` (its own body, not nested defs)."""
        return self._by_caller.get(caller, [])

    def calls_to(self, callee: str) -> list[CallSite]:
        """Call sites whose target resolves to `callee` (a function id or qualified name)."""
        return self._by_callee.get(callee, [])

    def sites(self) -> Iterator[CallSite]:
        for sites in self._by_caller.values():
            yield from sites

    @cached_property
    def functions(self) -> list[str]:
        """Every project function id."""
        return [join_id(s["name"], q) for s in self.index.summaries() for q in s.get("functions", {})]

    def overrides(self, fid: str) -> set[str]:
        """Methods in subclasses that override method `fid` (dynamic dispatch targets)."""
        fn = self.resolver.function(fid)
        if fn is None or fn["owner"] is None:
            return set()
        module, _ = split_id(fid)
        found = set()
        for sub in self.resolver.subclasses(join_id(module, fn["owner"])):
            cls = self.resolver.class_(sub)
            if cls and fn["name"] in cls["methods"]:
                found.add(join_id(split_id(sub)[0], cls["methods"][fn["name"]]))
        return found

    def method_family(self, fid: str) -> set[str]:
        """A method, the methods it overrides and every override of those: a call
        through any of them may run any other, so they change (to async) together."""
        fn = self.resolver.function(fid)
        if fn is None or fn["owner"] is None:
            return {fid}
        module, _ = split_id(fid)
        family = {fid}
        for base in self.resolver.mro(join_id(module, fn["owner"]))[1:]:
            if ":" in base:
                cls = self.resolver.class_(base)
                if cls and fn["name"] in cls["methods"]:
                    family.add(join_id(split_id(base)[0], cls["methods"][fn["name"]]))
        for member in list(family):
            family |= self.overrides(member)
        return family
