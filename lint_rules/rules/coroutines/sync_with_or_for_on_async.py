"""AM104: `with` or `for` over something that supports only `async with`/`async for`."""

from __future__ import annotations

import libcst as cst
from fixit import Invalid, LintRule, Valid

from lint_rules.rule import ProjectRule


class SyncWithOrForOnAsync(ProjectRule, LintRule):
    """
    ## What it does
    Finds `with` or `for` over objects that support only `async with` or `async for`.
    That is `with x:` where `x` supports only `async with` (`asyncio.Lock`,
    `aiohttp.ClientSession`, `httpx.AsyncClient`, a project class with `__aenter__`
    but no `__enter__`, a function decorated with `@asynccontextmanager`), and
    `for x in y` where `y` supports only `async for` (an async generator, a project
    class with `__aiter__` but no `__iter__`, `asyncio.StreamReader`).

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
    outside `async def`, are reported without a fix.
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
        if isinstance(expr, cst.Call) and self.project.is_async_generator_function(
            self.call_target(expr)
        ):
            return True
        return self.project.supports_only_async_for(self.value_of(expr))

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
