"""AM206: `input()` inside `async def`."""

from __future__ import annotations

from fixit import Invalid, LintRule, Valid

from .blocking_call import BlockingCallRule


class BlockingInput(BlockingCallRule, LintRule):
    """
    ## What it does
    Finds `input()` and `getpass.getpass()` called in an `async def`.

    ## Why is this bad?
    The event loop waits until a human types a line: every task, timer and
    connection on it is frozen meanwhile.

    ## Example
    ```python
    async def confirm(question):
        return input(f"{question} [y/N] ") == "y"
    ```

    ## Use instead
    ```python
    import asyncio

    async def confirm(question):
        return await asyncio.to_thread(input, f"{question} [y/N] ") == "y"
    ```

    ## Fix safety
    No automatic fix.
    """

    CODE = "AM206"

    VALID = [
        Valid(
            """
            import asyncio
            async def ask():
                return await asyncio.to_thread(input, "name? ")
            """
        ),
        Valid(
            """
            def ask():
                return input("name? ")
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            async def ask():
                return input("name? ")
            """
        ),
        Invalid(
            """
            from getpass import getpass
            async def login():
                return getpass()
            """
        ),
    ]
