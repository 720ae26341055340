"""AM102: a coroutine function called from sync code, where it can never be awaited."""

from __future__ import annotations

import libcst as cst
from fixit import Invalid, LintRule, Valid

from asyncmigrate.index.values import Value

from .coroutine_use import CoroutineUseTracker, Use


class CoroutineCalledFromSync(CoroutineUseTracker, LintRule):
    """
    ## What it does
    Finds calls to coroutine functions from sync code, where the coroutine can never
    be awaited. Sync code is a plain `def`, a class body, or module level (including
    `if __name__ == "__main__":`); the coroutine is dropped, used as a value, or bound
    to a name that is never handed on.

    ## Why is this bad?
    Sync code cannot `await`, so the coroutine never runs: the call does nothing.
    This is the typical leftover of a half-finished migration: a helper became
    `async def` and one sync caller was missed.

    ## Example
    ```python
    def nightly_job():
        cleanup_sessions()    # async def cleanup_sessions()
    ```

    ## Use instead
    Bridge at the sync boundary, or make the caller async (`asyncmigrate asyncify`
    does it for the whole call chain):
    ```python
    def nightly_job():
        asyncio.run(cleanup_sessions())
    ```
    Returning the coroutine (a coroutine factory) or passing it to a call such as
    `asyncio.run`, `loop.run_until_complete` or `async_to_sync` is fine.

    ## Fix safety
    No automatic fix: whether to bridge or to convert the caller is a design choice.
    """

    CODE = "AM102"

    VALID = [
        Valid(
            """
            import asyncio
            async def main(): ...
            if __name__ == "__main__":
                asyncio.run(main())
            """
        ),
        Valid(
            """
            async def fetch(): ...
            def factory():
                return fetch()
            """
        ),
        Valid(
            """
            import asyncio
            async def fetch(): ...
            def schedule(loop):
                coro = fetch()
                loop.run_until_complete(coro)
            """
        ),
        Valid(
            """
            def helper(): ...
            def main():
                helper()
            """
        ),
        Valid(
            """
            class Client:
                async def connect(self): ...
                def __await__(self):
                    return self.connect().__await__()
            """
        ),
        Valid(
            """
            from asgiref.sync import async_to_sync
            @async_to_sync
            async def refresh(): ...
            def job():
                refresh()
            """
        ),
        Valid(
            """
            from somewhere import unknown_decorator
            @unknown_decorator
            async def maybe(): ...
            def job():
                maybe()
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            async def main(): ...
            if __name__ == "__main__":
                main()
            """
        ),
        Invalid(
            """
            class Store:
                async def flush(self): ...
                def close(self):
                    self.flush()
            """
        ),
        Invalid(
            """
            async def ready(): ...
            def check():
                if ready():
                    return 1
            """
        ),
    ]

    def wants_scope(self) -> bool:
        return self.in_sync_code

    @classmethod
    def wants_file(cls, project, summary, text) -> bool:
        return project.calls_coroutine_from_sync(summary)

    def on_misuse(self, call: cst.Call, target: Value, use: Use) -> None:
        scope = self.code_scope
        where = f"sync function `{scope.qualname}`" if scope else "module-level code"
        self.report(
            call,
            f"coroutine function `{self.describe_target(target)}` is called from {where}, "
            "where its coroutine can never be awaited: bridge it (asyncio.run / "
            "async_to_sync) or make the caller async",
        )
