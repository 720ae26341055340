"""AM103: a task that is created and immediately dropped."""

from __future__ import annotations

import libcst as cst
from fixit import Invalid, LintRule, Valid

from lint_rules.rule import ProjectRule


class DroppedTask(ProjectRule, LintRule):
    """
    ## What it does
    Finds `asyncio.create_task(...)`, `asyncio.ensure_future(...)` and
    `loop.create_task(...)` whose result is discarded: used as a statement, or bound
    to `_`.

    ## Why is this bad?
    The event loop keeps only a weak reference to tasks. A task nobody references
    can be garbage-collected before it finishes, and its exception is never seen
    (the asyncio documentation warns about exactly this).

    ## Example
    ```python
    async def on_message(msg):
        asyncio.create_task(notify(msg))
    ```

    ## Use instead
    ```python
    background_tasks = set()

    async def on_message(msg):
        task = asyncio.create_task(notify(msg))
        background_tasks.add(task)
        task.add_done_callback(background_tasks.discard)
    ```
    or start it in an `asyncio.TaskGroup`, which keeps the reference.

    ## Fix safety
    No automatic fix: where the reference should live is the author's decision.
    """

    CODE = "AM103"

    @classmethod
    def wants_file(cls, project, summary, text) -> bool:
        return "create_task" in text or "ensure_future" in text

    VALID = [
        Valid(
            """
            import asyncio
            async def main(coro):
                task = asyncio.create_task(coro)
                await task
            """
        ),
        Valid(
            """
            import asyncio
            async def main(coro):
                async with asyncio.TaskGroup() as tg:
                    tg.create_task(coro)
            """
        ),
        Valid(
            """
            import asyncio
            tasks = set()
            async def main(coro):
                tasks.add(asyncio.ensure_future(coro))
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import asyncio
            async def main(coro):
                asyncio.create_task(coro)
            """
        ),
        Invalid(
            """
            from asyncio import ensure_future
            async def main(coro):
                _ = ensure_future(coro)
            """
        ),
        Invalid(
            """
            import asyncio
            async def main(coro):
                loop = asyncio.get_running_loop()
                loop.create_task(coro)
            """
        ),
    ]

    def visit_Expr(self, node: cst.Expr) -> None:
        if isinstance(node.value, cst.Call):
            self._check(node.value, "dropped")

    def visit_Assign(self, node: cst.Assign) -> None:
        if (
            isinstance(node.value, cst.Call)
            and len(node.targets) == 1
            and isinstance(node.targets[0].target, cst.Name)
            and node.targets[0].target.value == "_"
        ):
            self._check(node.value, "bound to `_`")

    def _check(self, call: cst.Call, how: str) -> None:
        target = self.call_target(call)
        if self.project.is_task_factory(target):
            self.report(
                call,
                f"task from `{self.project.describe(target)}()` is {how}: the loop keeps "
                "only a weak reference, so it can be garbage-collected before it "
                "finishes; keep a reference (or use a TaskGroup)",
            )
