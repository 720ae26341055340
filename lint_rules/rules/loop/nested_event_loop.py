"""AM401: an event loop started from async code, directly or through sync helpers."""

from __future__ import annotations


import libcst as cst
from fixit import Invalid, LintRule, Valid

from asyncmigrate.analysis import Project
from asyncmigrate.callgraph import CallSite
from asyncmigrate.index.refpath import written
from asyncmigrate.index.refpath import cst_ref_path
from lint_rules.rule import ProjectRule
from asyncmigrate.shared_state import loop_reachability, loop_runner


class NestedEventLoop(ProjectRule, LintRule):
    """
    ## What it does
    Finds event loops started from async code: `asyncio.run`, `run_until_complete`, `async_to_sync`.

    Also `asyncio.get_event_loop().run_until_complete(...)`, `loop.run_forever()`,
    `asyncio.Runner.run`, `anyio.run`, `trio.run`, functions decorated with
    `@async_to_sync`, and the project's own bridges: sync functions that start a
    loop, called from an `async def` directly or through other sync functions in
    any module. The message shows the chain, e.g. `report -> legacy.fetch_all ->
    asyncio.run`. A bridge handed to `asyncio.to_thread` or `run_in_executor`
    runs in a worker thread, where starting a loop is fine, and is not reported.

    ## Why is this bad?
    The coroutine already runs inside a loop on this thread. `asyncio.run` raises
    "asyncio.run() cannot be called from a running event loop",
    `run_until_complete` raises "This event loop is already running", and
    `async_to_sync` either raises or blocks the loop until another thread finishes
    the work. The failure often appears only when a sync entry point that bridged
    into async code is itself reached from a newly converted coroutine.

    ## Example
    ```python
    # legacy.py
    def fetch_all(urls):
        return asyncio.run(fetch_many(urls))

    # api.py
    async def report(urls):
        return summarize(legacy.fetch_all(urls))
    ```

    ## Use instead
    ```python
    async def report(urls):
        return summarize(await fetch_many(urls))
    ```

    ## Fix safety
    No automatic fix: the bridge's callers decide whether to await the coroutine
    or to move the bridge to a worker thread.
    """

    CODE = "AM401"
    NEEDS_ASYNC_DEF = True

    VALID = [
        Valid(
            """
            from asgiref.sync import async_to_sync
            class Consumer:
                async def start(self, send):
                    self.base_send = async_to_sync(send)  # called later, from a worker thread
            """
        ),
        Valid(
            """
            import asyncio
            async def fetch(): ...
            def main():
                asyncio.run(fetch())
            """
        ),
        Valid(
            """
            import asyncio
            async def fetch(): ...
            def bridge():
                return asyncio.run(fetch())
            async def handler():
                return await asyncio.to_thread(bridge)
            """
        ),
        Valid(
            """
            import asyncio
            async def fetch(): ...
            async def handler():
                return await fetch()
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import asyncio
            async def fetch(): ...
            async def handler():
                return asyncio.run(fetch())
            """
        ),
        Invalid(
            """
            import asyncio
            async def fetch(): ...
            def load():
                return asyncio.get_event_loop().run_until_complete(fetch())
            def cached():
                return load()
            async def handler():
                return cached()
            """
        ),
        Invalid(
            """
            from asgiref.sync import async_to_sync
            async def fetch(): ...
            async def handler():
                return async_to_sync(fetch)()
            """
        ),
        Invalid(
            """
            from asgiref.sync import async_to_sync
            async def fetch(): ...
            def bridge():
                run = async_to_sync(fetch)
                return run()
            async def handler():
                return bridge()
            """
        ),
    ]


    @classmethod
    def prepare(cls, project: Project) -> None:
        if project.has_async_code:
            loop_reachability(project)

    def visit_Module(self, node: cst.Module) -> None:
        super().visit_Module(node)
        #: calls under `await`: what they call returns an awaitable there
        self._awaited: set[int] = set()

    def visit_Await(self, node: cst.Await) -> None:
        self._awaited.add(id(node.expression))

    def visit_Call(self, node: cst.Call) -> None:
        if not self.in_async_function:
            return
        path = cst_ref_path(node.func)
        if path is None:
            return
        target = self.call_target(node)
        direct = loop_runner(self.project, CallSite("", target, tuple(path), 0, 0, id(node) in self._awaited))
        if direct is not None:
            how = " (decorated with @async_to_sync)" if direct.endswith("(@async_to_sync)") else ""
            # `async_to_sync(f)(x)` shows as `async_to_sync(...)()`
            shown = f"{written(path[:-1])}(...)()" if path[-1] == "()" and len(path) > 1 else f"{written(path)}()"
            self.report(
                node,
                f"nested event loop: `{shown}`{how} starts a loop inside a running "
                "one (\"cannot be called from a running event loop\" or a deadlock); "
                "await the coroutine instead",
            )
            return
        if target is None:
            return
        if target.kind == "function":
            fid, suffix = target.name, ""
        elif target.kind == "class":
            fid = self.project.resolver.method_in_mro(target.name, "__init__") or ""
            suffix = "()"
        else:
            return
        chain = loop_reachability(self.project).chain(fid)
        if not chain:
            return
        self.report(
            node,
            f"nested event loop via {' -> '.join([written(path) + suffix, *chain])}: the "
            "bridge starts a loop inside the running one (\"This event loop is already "
            "running\" or a deadlock); await the coroutine instead, or run the bridge in "
            "asyncio.to_thread",
        )
