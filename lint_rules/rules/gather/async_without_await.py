"""AM503: an `async def` that never awaits (off by default)."""

from __future__ import annotations

from typing import Any

import libcst as cst
from fixit import Invalid, LintRule, Valid

from asyncmigrate.index import records
from asyncmigrate.index.values import join_id
from lint_rules.rule import ProjectRule


class AsyncWithoutAwait(ProjectRule, LintRule):
    """
    ## What it does
    Finds `async def` functions that never `await`, `async for` or `async with`.

    Async generators, stubs (a body of `pass`, `...`, a docstring or `raise
    NotImplementedError`), decorated functions (frameworks may require a coroutine
    function), dunder methods and methods that override or may be overridden by
    another class's method, and functions passed or stored as values (callbacks)
    are not reported: their signature is dictated by others. Off by default: select `AM503` explicitly, typically after a migration
    has settled.

    ## Why is this bad?
    Calling it builds a coroutine and every caller must await it, for nothing: the
    body never gives control back to the loop. It costs time on every call and
    spreads `async` to callers that do not need it.

    ## Example
    ```python
    async def price_with_tax(price):
        return price * 1.2
    ```

    ## Use instead
    ```python
    def price_with_tax(price):
        return price * 1.2
    ```
    and drop the `await` at its call sites.

    ## Fix safety
    No automatic fix: every call site must change with the definition.
    """

    CODE = "AM503"
    NEEDS_ASYNC_DEF = True
    DEFAULT_ENABLED = False

    VALID = [
        Valid(
            """
            import asyncio
            async def tick():
                await asyncio.sleep(1)
            """
        ),
        Valid(
            """
            async def numbers():
                yield 1
            """
        ),
        Valid(
            """
            class Handler:
                async def handle(self, request):
                    raise NotImplementedError
            class Echo(Handler):
                async def handle(self, request):
                    return request
            """
        ),
        Valid(
            """
            @app.get("/")
            async def index():
                return {"ok": True}
            """
        ),
        Valid(
            """
            async def on_message(message):
                print(message)
            def subscribe(bus):
                bus.listen(on_message)
            """
        ),
        Valid(
            """
            async def rows(cursor):
                async for row in cursor:
                    print(row)
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            async def price_with_tax(price):
                return price * 1.2
            """
        ),
        Invalid(
            """
            class Cart:
                async def total(self):
                    return sum(self.prices)
            """
        ),
    ]


    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        super().visit_FunctionDef(node)
        if node.asynchronous is None or node.decorators or _is_stub(node):
            return
        name = node.name.value
        if name.startswith("__") and name.endswith("__"):
            return
        scope = self.scopes[-1]
        summary = self.project.index.module(self.context.module) or {}
        fn = summary.get("functions", {}).get(scope.qualname)
        if fn is None or fn["awaits"] or fn["is_generator"]:
            return
        if fn["owner"] is not None and self._overridable(fn):
            return
        if name in self._passed_names(summary):
            return  # handed on as a callback: its caller expects a coroutine function
        self.report(
            node.name,
            f"`async def {name}` never awaits: make it a plain `def` (and drop the "
            "`await` at its call sites)",
        )

    def visit_Module(self, node: cst.Module) -> None:
        super().visit_Module(node)
        self._passed: set[str] | None = None

    def _passed_names(self, summary: dict[str, Any]) -> set[str]:
        """Names this module passes as arguments or stores as values."""
        if self._passed is None:
            calls = [c for f in summary.get("functions", {}).values() for c in records.calls(f["calls"])]
            calls += records.calls(summary.get("module_calls", []))
            paths = [r for c in calls for r in c.refs]
            paths += [ref.path for ref in records.value_refs(summary)]
            self._passed = {p[-1] for p in paths if p}
        return self._passed

    def _overridable(self, fn: dict[str, Any]) -> bool:
        """A method whose signature another class shares: a base or an override."""
        module = self.context.module
        cid = join_id(module, fn["owner"])
        fid = join_id(module, fn["qualname"])
        resolver = self.project.resolver
        for base in resolver.mro(cid)[1:]:
            if ":" not in base:
                return True  # an external base may call it as a coroutine
            cls = resolver.class_(base)
            if cls and fn["name"] in cls["methods"]:
                return True
        return bool(self.project.call_graph.overrides(fid))


def _is_stub(node: cst.FunctionDef) -> bool:
    body = node.body
    if not isinstance(body, cst.IndentedBlock):
        statements = list(body.body)
    else:
        statements = []
        for line in body.body:
            if not isinstance(line, cst.SimpleStatementLine):
                return False
            statements += list(line.body)
    for statement in statements:
        if isinstance(statement, cst.Pass):
            continue
        if isinstance(statement, cst.Expr) and isinstance(
            statement.value, (cst.Ellipsis, cst.SimpleString, cst.ConcatenatedString)
        ):
            continue
        if isinstance(statement, cst.Raise) and "NotImplementedError" in cst.Module([]).code_for_node(statement):
            continue
        return False
    return True
