"""AM250: an `async def` calls a sync project function that reaches a blocking call."""

from __future__ import annotations

from typing import Any

import libcst as cst
from fixit import Invalid, LintRule, Valid

from asyncmigrate.analysis import Project
from asyncmigrate.index.values import Value
from asyncmigrate.index.refpath import written
from asyncmigrate.index.refpath import cst_ref_path
from lint_rules.rule import ProjectRule

from .blocking_call import async_call_targets, startup_note


class TransitiveBlockingCall(ProjectRule, LintRule):
    """
    ## What it does
    Finds calls in an `async def` to sync project functions that reach a blocking call.

    The blocking call may be at any depth.

    The blocking calls are those of AM201-AM207 and the configured AM210 ones. The
    chain may cross any number of modules, methods (through `self`, attributes,
    annotations, overrides in subclasses) and constructors; the message names the
    shortest one, e.g. `blocking call via load_user -> repo.fetch_row ->
    sqlite3.Cursor.execute`. A chain through a callable that is only handed to
    `asyncio.to_thread`, `run_in_executor` or a thread is no chain, and neither is a
    function decorated with `@sync_to_async`. Each call site is reported once.

    ## Why is this bad?
    The blocking call is not in the coroutine, so it hides from review and from
    linters that only look at the `async def` itself, yet it stalls the event loop
    just the same.

    ## Example
    ```python
    # repo.py
    def fetch_row(uid):
        return db.execute("select * from users where id = ?", (uid,)).fetchone()

    # users.py
    def load_user(uid):
        return User(*repo.fetch_row(uid))

    # api.py
    async def profile(uid):
        return load_user(uid)
    ```

    ## Use instead
    Convert the chain (`asyncmigrate asyncify` does it bottom-up), or offload it:
    ```python
    async def profile(uid):
        return await asyncio.to_thread(load_user, uid)
    ```

    ## Fix safety
    No automatic fix: `asyncmigrate asyncify` converts whole chains.
    """

    CODE = "AM250"

    VALID = [
        Valid(
            """
            import asyncio, time
            def slow():
                time.sleep(1)
            async def main():
                await asyncio.to_thread(slow)
            """
        ),
        Valid(
            """
            def pure(x):
                return x + 1
            async def main():
                return pure(1)
            """
        ),
        Valid(
            """
            import time
            def slow():
                time.sleep(1)
            def outer():
                slow()
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import time
            def backoff():
                time.sleep(1)
            def retry():
                backoff()
            async def main():
                retry()
            """
        ),
        Invalid(
            """
            import requests
            class Client:
                def fetch(self, url):
                    return requests.get(url)
                def user(self, uid):
                    return self.fetch(f"/users/{uid}")
            async def handler(client: Client):
                return client.user(1)
            """
        ),
    ]

    @classmethod
    def wants_file(cls, project: Project, summary: dict[str, Any], text: str) -> bool:
        if not summary.get("has_async"):
            return False
        return any(
            _chain(project, target) for target in async_call_targets(project, summary)
        )

    @classmethod
    def prepare(cls, project: Project) -> None:
        if project.has_async_code:
            project.blocking_reachability

    def visit_Call(self, node: cst.Call) -> None:
        if not self.in_async_function:
            return
        target = self.call_target(node)
        chain = _chain(self.project, target)
        if not chain:
            return
        assert target is not None
        suffix = "()" if target.kind == "class" else ""
        first = written(cst_ref_path(node.func) or [target.qualified]) + suffix
        self.report(
            node,
            f"blocking call via {' -> '.join([first, *chain])}: convert the chain to "
            "async (asyncify) or offload it with asyncio.to_thread" + startup_note(self),
        )


def _chain(project: Project, target: Value | None) -> list[str] | None:
    """The chain from calling `target` (a sync project function, or a class through its
    `__init__`) to a blocking call; None when it blocks directly (AM210) or not at all."""
    if target is None or project.blocking_entry(target) is not None:
        return None
    if target.kind == "function":
        fid = target.name
    elif target.kind == "class":
        fid = project.resolver.method_in_mro(target.name, "__init__") or ""
    else:
        return None
    return project.blocking_reachability.chain(fid)
