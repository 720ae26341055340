"""AM210: a call the project configured as blocking (`blocking-calls`)."""

from __future__ import annotations

from fixit import Invalid, LintRule, Valid

from asyncmigrate.catalogue import BlockingCatalogue, BlockingEntry
from asyncmigrate.index.values import Value

from .blocking_call import BlockingCallRule


class ConfiguredBlockingCall(BlockingCallRule, LintRule):
    """
    ## What it does
    Finds calls in an `async def` to what the project configured as blocking.

    The configuration is `blocking-calls` in `[tool.asyncmigrate]`.

    Each entry is a glob over qualified names (project functions and methods too,
    `*` also crosses dots) with an optional hint that the message repeats:
    ```toml
    [tool.asyncmigrate]
    blocking-calls = { "myapp.db.*.query" = "use myapp.db.aquery", "legacy_sdk.*" = "" }
    ```

    ## Why is this bad?
    The project knows its own slow calls (an in-house RPC client, a legacy SDK, a
    C extension) better than any catalogue. Once listed, they are found in async
    code like the built-in ones, and through sync helpers by AM250.

    ## Example
    ```python
    async def report(db):
        return db.query("select ...")   # myapp.db.Database.query
    ```

    ## Use instead
    ```python
    async def report(db):
        return await db.aquery("select ...")
    ```

    ## Fix safety
    No automatic fix.
    """

    CODE = "AM210"

    #: The configuration the examples assume. Only a snippet that is not on disk and
    #: has no configuration of its own (these examples under Fixit) uses it.
    EXAMPLE_BLOCKING_CALLS = {"myapp.db.*.query": "use myapp.db.aquery"}

    VALID = [
        Valid(
            """
            from myapp import db
            async def report(conn: db.Connection):
                return await conn.aquery("select 1")
            """
        ),
        Valid(
            """
            import asyncio
            from myapp import db
            async def report(conn: db.Connection):
                return await asyncio.to_thread(conn.query, "select 1")
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            from myapp import db
            async def report(conn: db.Connection):
                return conn.query("select 1")
            """,
            expected_message=(
                "AM210 `myapp.db.Connection.query` is configured as blocking "
                "(`myapp.db.*.query`); use myapp.db.aquery"
            ),
        ),
    ]

    def entry_for(self, target: Value | None) -> BlockingEntry | None:
        project = self.project
        if project.config.source is None and not self.context.path.exists():
            if target is None:
                return None
            catalogue = BlockingCatalogue(project.catalogue.normalize, self.EXAMPLE_BLOCKING_CALLS)
            return catalogue.match_configured(target.qualified)
        return super().entry_for(target)
