"""AM203: a blocking subprocess call inside `async def`."""

from __future__ import annotations

from fixit import Invalid, LintRule, Valid

from .blocking_call import BlockingCallRule


class BlockingSubprocess(BlockingCallRule, LintRule):
    """
    ## What it does
    Finds subprocesses run or waited for in an `async def`.

    Covered: `subprocess.*`, `os.system`, `os.popen`, `os.spawn*`, `os.posix_spawn*`
    and `os.wait*`.

    `subprocess.Popen(...).wait()` and `.communicate()` are matched through the
    `Popen` object's type.

    ## Why is this bad?
    The event loop waits until the child process exits; nothing else runs meanwhile.

    ## Example
    ```python
    import subprocess

    async def thumbnail(path):
        subprocess.run(["convert", path, "-resize", "64x64", "thumb.png"], check=True)
    ```

    ## Use instead
    ```python
    import asyncio

    async def thumbnail(path):
        proc = await asyncio.create_subprocess_exec(
            "convert", path, "-resize", "64x64", "thumb.png"
        )
        await proc.wait()
    ```

    ## Fix safety
    No automatic fix: `asyncio.create_subprocess_exec` has a different API.
    """

    CODE = "AM203"

    VALID = [
        Valid(
            """
            import asyncio
            async def run(cmd):
                proc = await asyncio.create_subprocess_exec(*cmd)
                return await proc.wait()
            """
        ),
        Valid(
            """
            import asyncio, subprocess
            async def run(cmd):
                return await asyncio.to_thread(subprocess.run, cmd, check=True)
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import subprocess as sp
            async def run(cmd):
                sp.check_call(cmd)
            """
        ),
        Invalid(
            """
            import os
            async def run(cmd):
                os.system(cmd)
            """
        ),
        Invalid(
            """
            from subprocess import Popen
            async def run(cmd):
                proc = Popen(cmd)
                return proc.communicate()
            """
        ),
    ]
