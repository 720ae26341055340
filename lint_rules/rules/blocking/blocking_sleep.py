"""AM201: `time.sleep` inside `async def`."""

from __future__ import annotations

import libcst as cst
from fixit import Invalid, LintRule, Valid

from asyncmigrate.catalogue import BlockingEntry
from lint_rules.import_edits import edit_imports
from asyncmigrate.index.values import Value

from .blocking_call import BlockingCallRule


class BlockingSleep(BlockingCallRule, LintRule):
    """
    ## What it does
    Finds `time.sleep` called in an `async def`.

    Names resolve through imports and aliases (`from time import sleep as nap`,
    `import time as t`). A nested sync `def` or `lambda`, and `time.sleep` handed
    to `asyncio.to_thread` or `run_in_executor` without being called, are fine.

    ## Why is this bad?
    `time.sleep` stops the thread, and the event loop runs in that thread: for the
    whole delay no other task, request or timer makes progress.

    ## Example
    ```python
    import time

    async def retry(fetch):
        for _ in range(3):
            if await fetch():
                return
            time.sleep(1)
    ```

    ## Use instead
    ```python
    import asyncio

    async def retry(fetch):
        for _ in range(3):
            if await fetch():
                return
            await asyncio.sleep(1)
    ```

    ## Fix safety
    The fix rewrites a `time.sleep(...)` statement to `await asyncio.sleep(...)`,
    adds `import asyncio`, and removes the `time` import when nothing else uses it.
    It is safe: the coroutine waits as long as before, and other tasks may run
    meanwhile, which is the point of async code. A `time.sleep` used inside a larger
    expression is reported without a fix.
    """

    CODE = "AM201"
    AUTOFIX = True

    VALID = [
        Valid(
            """
            import asyncio
            async def main():
                await asyncio.sleep(1)
            """
        ),
        Valid(
            """
            import time
            def main():
                time.sleep(1)
            """
        ),
        Valid(
            """
            import asyncio, time
            async def main():
                def worker():
                    time.sleep(1)
                await asyncio.to_thread(worker)
                await asyncio.to_thread(time.sleep, 1)
                callback = lambda: time.sleep(1)
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import time
            async def main():
                time.sleep(1)
            """,
            expected_replacement="""
            import asyncio

            async def main():
                await asyncio.sleep(1)
            """,
        ),
        Invalid(
            """
            from time import sleep as nap, monotonic
            async def main():
                start = monotonic()
                nap(0.5)
            """,
            expected_replacement="""
            from time import monotonic
            import asyncio

            async def main():
                start = monotonic()
                await asyncio.sleep(0.5)
            """,
        ),
        Invalid(
            """
            import asyncio
            import time as t
            async def main():
                t.sleep(2)
                return t.time()
            """,
            expected_replacement="""
            import asyncio
            import time as t
            async def main():
                await asyncio.sleep(2)
                return t.time()
            """,
        ),
        Invalid(
            """
            import time
            async def main():
                done = time.sleep(1) or True
            """
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._statement_calls: set[cst.Call] = set()

    def visit_Expr(self, node: cst.Expr) -> None:
        if isinstance(node.value, cst.Call):
            self._statement_calls.add(node.value)

    def on_blocking(self, call: cst.Call, target: Value, entry: BlockingEntry) -> None:
        message = self.message(target, entry)
        if call in self._statement_calls:
            module = self._module
            self.report_with_module_fix(call, message, lambda: _fixed_module(module, call))
        else:
            self.report(call, message)



def _fixed_module(module: cst.Module, call: cst.Call) -> cst.Module:
    """`module` with `await asyncio.sleep(...)` for `call`, and its imports edited."""
    awaited = cst.Await(
        expression=call.with_changes(
            func=cst.Attribute(value=cst.Name("asyncio"), attr=cst.Name("sleep"))
        )
    )
    fixed = module.deep_replace(call, awaited)
    assert isinstance(fixed, cst.Module)
    imported = _import_of(call.func)
    return edit_imports(fixed, add=["asyncio"], remove=[imported] if imported else [])


def _import_of(func: cst.BaseExpression) -> tuple[str, str | None, str | None] | None:
    """The import that bound the callee: (module, name, asname) for RemoveImportsVisitor."""
    if isinstance(func, cst.Name):
        return ("time", "sleep", func.value if func.value != "sleep" else None)
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
        alias = func.value.value
        return ("time", None, alias if alias != "time" else None)
    return None
