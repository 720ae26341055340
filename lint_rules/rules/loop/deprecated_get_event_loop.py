"""AM402: `asyncio.get_event_loop()` in a coroutine, or where no loop is running."""

from __future__ import annotations

from typing import Any

import libcst as cst
from fixit import Invalid, LintRule, Valid

from asyncmigrate.analysis import Project
from lint_rules.import_edits import edit_imports
from lint_rules.rule import ProjectRule


class DeprecatedGetEventLoop(ProjectRule, LintRule):
    """
    ## What it does
    Finds `asyncio.get_event_loop()` in a coroutine, and in sync code that then runs the loop.

    In sync code it is reported at module level, and in a function that goes on
    to call `run_until_complete` or `run_forever` on a loop (so no loop is running
    there; a project object's own `run_forever` is no loop). A
    sync callback called by a running loop may use it and is not reported.

    ## Why is this bad?
    Inside a coroutine the loop is always running, and
    `asyncio.get_running_loop()` says so: it cannot silently create a second loop
    and it is faster. Where no loop is running, `get_event_loop()` is deprecated
    (a `DeprecationWarning` since Python 3.12, an error since 3.14 when no loop was
    set), and the loop it creates is never closed.

    ## Example
    ```python
    async def fetch(url):
        loop = asyncio.get_event_loop()
        return await loop.run_in_executor(None, download, url)

    def main():
        asyncio.get_event_loop().run_until_complete(serve())
    ```

    ## Use instead
    ```python
    async def fetch(url):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, download, url)

    def main():
        asyncio.run(serve())
    ```
    or create, set and close a loop explicitly (`asyncio.new_event_loop()`,
    `asyncio.Runner`) when it must outlive one call.

    ## Fix safety
    In a coroutine the fix replaces the call with `asyncio.get_running_loop()`
    (adding `import asyncio` when the name was imported on its own). It is safe:
    inside a coroutine both return the running loop. Sync code gets no fix.
    """

    CODE = "AM402"
    AUTOFIX = True

    VALID = [
        Valid(
            """
            import asyncio
            async def main():
                loop = asyncio.get_running_loop()
            """
        ),
        Valid(
            """
            import asyncio
            def on_data(data):
                asyncio.get_event_loop().call_soon(print, data)
            """
        ),
        Valid(
            """
            import asyncio
            def main():
                asyncio.run(serve())
            """
        ),
        Valid(
            """
            import asyncio
            class Scheduler:
                def run_forever(self, jobs): ...
            def tick(jobs):
                asyncio.get_event_loop().call_soon(print, jobs)
                return Scheduler().run_forever(jobs)
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import asyncio
            async def fetch(url):
                loop = asyncio.get_event_loop()
                return await loop.run_in_executor(None, print, url)
            """,
            expected_replacement="""
            import asyncio
            async def fetch(url):
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(None, print, url)
            """,
        ),
        Invalid(
            """
            from asyncio import get_event_loop
            async def fetch(url):
                return get_event_loop().time()
            """,
            expected_replacement="""
            import asyncio

            async def fetch(url):
                return asyncio.get_running_loop().time()
            """,
        ),
        Invalid(
            """
            import asyncio
            def main():
                loop = asyncio.get_event_loop()
                loop.run_until_complete(serve())
            """
        ),
        Invalid(
            """
            import asyncio
            loop = asyncio.get_event_loop()
            """
        ),
    ]

    @classmethod
    def wants_file(cls, project: Project, summary: dict[str, Any], text: str) -> bool:
        return "get_event_loop" in text

    def __init__(self) -> None:
        super().__init__()
        #: per sync function (and the module): its get_event_loop() calls, and
        #: whether it runs the loop
        self._frames: list[tuple[list[cst.Call], list[bool]]] = []

    def visit_Module(self, node: cst.Module) -> None:
        super().visit_Module(node)
        self._frames = [([], [True])]  # module level: no loop is running at import

    def leave_Module(self, original_node: cst.Module) -> None:
        self._flush()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        super().visit_FunctionDef(node)
        self._frames.append(([], [False]))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._flush()
        super().leave_FunctionDef(original_node)

    def _flush(self) -> None:
        calls, runs = self._frames.pop()
        if not runs[0]:
            return
        for call in calls:
            self.report(
                call,
                "`asyncio.get_event_loop()` where no loop is running is deprecated (an "
                "error since Python 3.14); use asyncio.run(main()), or an explicit "
                "asyncio.new_event_loop() that you set and close",
            )

    def visit_Attribute(self, node: cst.Attribute) -> None:
        runs_loop = node.attr.value in self.project.catalogue.loop_runner_methods
        if runs_loop and self.in_sync_code and self._frames and not self._project_object(node.value):
            self._frames[-1][1][0] = True

    def _project_object(self, node: cst.BaseExpression) -> bool:
        """`node` resolves to a project object that is no event loop (a module,
        function, or class with only project bases): its `run_forever` is its own.
        An unknown receiver may be a loop."""
        value = self.value_of(node)
        if value is None:
            return False
        if value.kind == "module":
            return self.project.index.module(value.name) is not None
        if value.kind == "function":
            return True
        if value.kind in ("instance", "class"):
            return all(":" in entry for entry in self.project.resolver.mro(value.name))
        return False

    def visit_Call(self, node: cst.Call) -> None:
        target = self.call_target(node)
        getters = self.project.catalogue.implicit_loop_getters
        if target is None or target.kind != "external" or target.name not in getters:
            return
        if self.in_async_function:
            self._report_in_coroutine(node)
        elif self.in_sync_code and self._frames:
            self._frames[-1][0].append(node)

    def _report_in_coroutine(self, node: cst.Call) -> None:
        message = (
            "`asyncio.get_event_loop()` in a coroutine: use `asyncio.get_running_loop()`, "
            "which cannot create a second loop"
        )
        func = node.func
        if isinstance(func, cst.Attribute):
            base = self.value_of(func.value)
            if base is not None and base.kind == "module" and base.name == "asyncio":
                self.report(
                    node,
                    message,
                    replacement=node.with_changes(func=func.with_changes(attr=cst.Name("get_running_loop"))),
                )
                return
        if isinstance(func, cst.Name):
            original = self._module
            asname = func.value if func.value != "get_event_loop" else None

            def fixed() -> cst.Module:  # import edits: built only when fixing
                replaced = node.with_changes(func=cst.parse_expression("asyncio.get_running_loop"))
                module = original.deep_replace(node, replaced)
                assert isinstance(module, cst.Module)
                return edit_imports(module, add=["asyncio"], remove=[("asyncio", "get_event_loop", asname)])

            self.report_with_module_fix(node, message, fixed)
            return
        self.report(node, message)
