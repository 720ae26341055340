"""AM204: blocking file-system I/O inside `async def`."""

from __future__ import annotations

from fixit import Invalid, LintRule, Valid

from .blocking_call import BlockingCallRule


class BlockingFileIO(BlockingCallRule, LintRule):
    """
    ## What it does
    Finds file-system I/O in an `async def`.

    Covered: `open` and file objects, `pathlib.Path` I/O, the disk queries of
    `os`/`os.path`, `shutil`, `glob` and `tempfile`.

    `Path` methods are matched through the receiver's type
    (`Path(p).read_text()`, `p = Path(...)`, a parameter annotated `Path`); pure
    path arithmetic (`.name`, `.suffix`, `.joinpath`, `os.path.join`) is not I/O and
    is not reported.

    One expression is one finding, at its outermost blocking call: `open(p).read()`
    is reported once, as the `read`. A literal mode names the file's class
    (`open(p, "rb")` is an `io.BufferedReader`, `"wb"` an `io.BufferedWriter`).

    ## Why is this bad?
    Disk and network file-system access can take milliseconds to seconds (a cold
    cache, NFS, a large file), and the event loop waits for all of it.

    ## Example
    ```python
    async def load_template(name):
        with open(f"templates/{name}") as f:
            return f.read()
    ```

    ## Use instead
    ```python
    import asyncio
    from pathlib import Path

    async def load_template(name):
        return await asyncio.to_thread(Path(f"templates/{name}").read_text)
    ```
    or `aiofiles` / `anyio.Path`. Reading a small file once at start-up is usually
    fine: suppress it with `# noqa: AM204`.

    ## Fix safety
    No automatic fix: offloading changes where exceptions surface and what runs
    concurrently.
    """

    CODE = "AM204"

    VALID = [
        Valid(
            """
            import os
            from pathlib import Path
            async def names(root: Path):
                return [root.name, root.suffix, os.path.join("a", "b"), root.joinpath("x").name]
            """
        ),
        Valid(
            """
            import asyncio
            from pathlib import Path
            async def load(p: Path):
                return await asyncio.to_thread(p.read_text)
            """
        ),
        Valid(
            """
            async def load(store, key):
                return store.open(key)
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            async def load(path):
                with open(path) as f:
                    return f.read()
            """
        ),
        Invalid(
            """
            from pathlib import Path
            async def load(name):
                return Path("templates", name).read_text()
            """
        ),
        Invalid(
            """
            async def load(path):
                return open(path, "rb").read()
            """,
            expected_message=(
                "AM204 `io.BufferedReader.read` does blocking file-system I/O in async code; "
                "use await asyncio.to_thread(...), aiofiles or anyio.Path"
            ),
        ),
        Invalid(
            """
            import os.path
            async def exists(path):
                return os.path.exists(path)
            """
        ),
        Invalid(
            """
            import shutil
            async def clean(tmp):
                shutil.rmtree(tmp)
            """
        ),
    ]
