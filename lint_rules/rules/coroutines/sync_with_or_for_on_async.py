"""AM104: `with` or `for` over something that supports only `async with`/`async for`."""

from __future__ import annotations

import libcst as cst
from fixit import Invalid, LintRule, Valid

from asyncmigrate.catalogue import PROTOCOLS
from asyncmigrate.awaits import async_part
from lint_rules.rule import ProjectRule


class SyncWithOrForOnAsync(ProjectRule, LintRule):
    """
    ## What it does
    Finds `with` or `for` over objects that support only `async with` or `async for`.
    That is `with x:` where `x` supports only `async with` (`asyncio.Lock`,
    `aiohttp.ClientSession`, `httpx.AsyncClient`, a project class with `__aenter__`
    but no `__enter__`, a function decorated with `@asynccontextmanager`), and
    `for x in y` where `y` supports only `async for` (an async generator, a project
    class with `__aiter__` but no `__iter__`, `asyncio.StreamReader`). A generator
    expression with `await` in it is an async generator too: handed to a builtin
    that iterates with plain `for` (`any()`, `list()`, `", ".join()`) or unpacked
    with `*`, it is reported.

    ## Why is this bad?
    It fails at run time with `TypeError` (or `AttributeError: __enter__`), often on
    a path that tests do not cover, such as an error handler.

    ## Example
    ```python
    async def transfer(lock: asyncio.Lock):
        with lock:
            ...
        for row in stream_rows():    # async def stream_rows(): ... yield
            ...
    ```

    ## Use instead
    ```python
    async def transfer(lock: asyncio.Lock):
        async with lock:
            ...
        async for row in stream_rows():
            ...
    ```

    ## Fix safety
    Inside `async def`, the fix adds `async`; it is safe because the sync form can
    only raise. A `with` that mixes sync and async context managers, and code
    outside `async def`, are reported without a fix. A generator expression read to
    the end (`list()`, `sorted()`, `sum()`, `str.join()`, `*` unpacking) becomes a
    list comprehension, which awaits in the same order; one handed to `any()`,
    `all()`, `next()` or `zip()` is reported without a fix, because a list would
    give up their stopping early.
    """

    CODE = "AM104"

    @classmethod
    def wants_file(cls, project, summary, text) -> bool:
        return (
            bool(summary.get("has_async"))
            or project.imports_async_library(summary)
            or any(name in text for name in project.async_only_names)
        )

    VALID = [
        Valid(
            """
            import asyncio
            async def main(lock: asyncio.Lock):
                async with lock:
                    pass
            """
        ),
        Valid(
            """
            import threading
            lock = threading.Lock()
            def main():
                with lock:
                    pass
            """
        ),
        Valid(
            """
            def numbers():
                yield 1
            async def main():
                for n in numbers():
                    print(n)
            """
        ),
        Valid(
            """
            async def price(item): return 1
            def list(values): return values
            async def main(items):
                shadowed = list(await price(i) for i in items)
                first_iterable = sorted(x for x in await price(items))
                nested = tuple((await price(i) for i in items) for _ in range(2))
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import asyncio
            async def main(lock: asyncio.Lock):
                with lock:
                    pass
            """,
            expected_replacement="""
            import asyncio
            async def main(lock: asyncio.Lock):
                async with lock:
                    pass
            """,
        ),
        Invalid(
            """
            async def rows():
                yield 1
            async def main():
                for row in rows():
                    print(row)
            """,
            expected_replacement="""
            async def rows():
                yield 1
            async def main():
                async for row in rows():
                    print(row)
            """,
        ),
        Invalid(
            """
            from contextlib import asynccontextmanager
            @asynccontextmanager
            async def transaction():
                yield
            async def main():
                with transaction():
                    pass
            """,
            expected_replacement="""
            from contextlib import asynccontextmanager
            @asynccontextmanager
            async def transaction():
                yield
            async def main():
                async with transaction():
                    pass
            """,
        ),
        Invalid(
            """
            async def price(item): return 1
            async def total(items):
                return sum(await price(i) for i in items)
            """,
            expected_replacement="""
            async def price(item): return 1
            async def total(items):
                return sum([await price(i) for i in items])
            """,
        ),
        Invalid(
            """
            async def in_stock(item): return True
            async def any_in_stock(items):
                return any(await in_stock(i) for i in items)
            """
        ),
        Invalid(
            """
            class Pool:
                async def __aenter__(self): return self
                async def __aexit__(self, *exc): pass
            def main():
                with Pool():
                    pass
            """
        ),
    ]

    def _async_only_cm(self, expr: cst.BaseExpression) -> bool:
        if isinstance(expr, cst.Call) and self.project.is_async_context_factory(
            self.call_target(expr)
        ):
            return True
        return self.project.supports_only_async_with(self.value_of(expr))

    def _async_only_iterable(self, expr: cst.BaseExpression) -> bool:
        if isinstance(expr, cst.GeneratorExp):
            return async_part(expr) is not None
        if isinstance(expr, cst.Call) and self.project.is_async_generator_function(
            self.call_target(expr)
        ):
            return True
        return self.project.supports_only_async_for(self.value_of(expr))

    def _sync_consumer(self, call: cst.Call) -> str | None:
        """The builtin `call` calls, when it iterates its arguments with plain `for`."""
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value == "join":
            receiver = func.value
            if isinstance(receiver, cst.SimpleString):
                name = "builtins.bytes.join" if "b" in receiver.prefix.lower() else "builtins.str.join"
            elif isinstance(receiver, (cst.ConcatenatedString, cst.FormattedString)):
                name = "builtins.str.join"
            else:
                value = self.value_of(receiver)
                name = f"{value.name}.join" if value is not None and value.kind == "external_instance" else None
        else:
            value = self.call_target(call)
            name = value.name if value is not None and value.kind == "external" else None
        return name if name in PROTOCOLS.sync_iterators else None

    def visit_Call(self, node: cst.Call) -> None:
        for arg in node.args:
            genexp = arg.value
            if arg.keyword is not None or not isinstance(genexp, cst.GeneratorExp):
                continue
            if async_part(genexp) is None:
                continue
            if arg.star == "*":
                how, eager = "`*` unpacks", True
            else:
                consumer = self._sync_consumer(node)
                if consumer is None:
                    continue  # a project function may well take an async iterable
                how = f"`{consumer.removeprefix('builtins.')}()` iterates"
                eager = consumer in PROTOCOLS.eager_iterators
            fixable = eager and self.in_async_function
            advice = "use a list comprehension" if fixable else "collect it first with `[... async for ...]` or a loop"
            self.report(
                genexp,
                f"{how} this generator expression with plain `for`, but `await` in it makes it "
                f"an async generator (TypeError): {advice}",
                replacement=cst.ListComp(genexp.elt, genexp.for_in)
                if fixable
                else None,
            )

    def visit_With(self, node: cst.With) -> None:
        if node.asynchronous is not None:
            return
        flags = [self._async_only_cm(item.item) for item in node.items]
        if not any(flags):
            return
        fixable = all(flags) and self.in_async_function
        self.report(
            node,
            "`with` over an object that supports only `async with`: use `async with`",
            replacement=node.with_changes(asynchronous=cst.Asynchronous())
            if fixable
            else None,
        )

    def visit_For(self, node: cst.For) -> None:
        if node.asynchronous is None and self._async_only_iterable(node.iter):
            self.report(
                node,
                "`for` over an object that supports only `async for`: use `async for`",
                replacement=node.with_changes(asynchronous=cst.Asynchronous())
                if self.in_async_function
                else None,
            )

    def visit_CompFor(self, node: cst.CompFor) -> None:
        if node.asynchronous is None and self._async_only_iterable(node.iter):
            self.report(
                node,
                "comprehension `for` over an object that supports only `async for`: "
                "use `async for`",
                replacement=node.with_changes(asynchronous=cst.Asynchronous())
                if self.in_async_function
                else None,
            )
