"""AM101: a coroutine created in async code and never awaited."""

from __future__ import annotations

import libcst as cst
from fixit import Invalid, LintRule, Valid

from asyncmigrate.index.values import Value

from .coroutine_use import CoroutineUseTracker, Use


class UnawaitedCoroutine(CoroutineUseTracker, LintRule):
    """
    ## What it does
    Finds calls to coroutine functions inside `async def` whose coroutine is never
    awaited: dropped as a statement, bound to a name that is never awaited or handed
    on, returned un-awaited from an `async def`, or used as a plain value
    (`if coro():`, `coro().attr`, `str(coro())`, `isinstance(coro, int)`, `coro() + 1`,
    or passed for a parameter of a project function annotated with a type no
    coroutine can be, `def show(count: int)`). Coroutine functions are
    known from the whole project (across modules, through imports and aliases,
    methods through `self`/`cls`, constructors, annotations and inheritance), from
    asyncio, and from a catalogue of popular async libraries.

    ## Why is this bad?
    Calling a coroutine function only creates a coroutine object; its body does not
    run until it is awaited. The call silently does nothing (Python warns
    "coroutine was never awaited" only when the object is garbage-collected), and a
    value use tests or formats the coroutine object instead of its result.

    ## Example
    ```python
    async def handler(user_id):
        audit.record(user_id)        # audit.record is `async def`
        return repo.load(user_id)    # caller's await gets a coroutine
    ```

    ## Use instead
    ```python
    async def handler(user_id):
        await audit.record(user_id)
        return await repo.load(user_id)
    ```
    A coroutine that is meant to run concurrently is fine when handed to
    `asyncio.gather`, `create_task`, `wait_for` or any other call whose parameter
    is not annotated with such a type, stored in a
    container or attribute, or yielded.

    ## Fix safety
    The fix inserts `await`. It is safe: the code was already wrong, and awaiting
    is what the call was written for.
    """

    CODE = "AM101"
    NEEDS_ASYNC_DEF = True

    VALID = [
        Valid(
            """
            import asyncio
            async def work():
                await asyncio.sleep(1)
            """
        ),
        Valid(
            """
            import asyncio
            async def fetch(): ...
            async def main():
                results = await asyncio.gather(fetch(), fetch())
                task = asyncio.create_task(fetch())
                await task
            """
        ),
        Valid(
            """
            async def fetch(): ...
            async def main():
                pending = []
                pending.append(fetch())
                coro = fetch()
                await coro
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
            class Client:
                async def get(self): ...
                async def run(self):
                    return await self.get()
            """
        ),
        Valid(
            """
            async def stream():
                yield 1
            async def main():
                async for item in stream():
                    print(item)
            """
        ),
        Valid(
            """
            from collections.abc import Awaitable
            async def fetch(): ...
            def run_later(job, label: str): ...
            def show(value: Awaitable[int]): ...
            async def main():
                value = fetch()
                if isinstance(value, Awaitable):
                    value = await value
                run_later(fetch(), "job")
                show(fetch())
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            async def fetch(): ...
            async def main():
                value = fetch()
                if isinstance(value, int):
                    print("a number")
            """,
            expected_replacement="""
            async def fetch(): ...
            async def main():
                value = await fetch()
                if isinstance(value, int):
                    print("a number")
            """,
        ),
        Invalid(
            """
            async def fetch_name(): ...
            class Greeting:
                def __init__(self, name: str): ...
            async def main():
                return Greeting(fetch_name())
            """,
            expected_replacement="""
            async def fetch_name(): ...
            class Greeting:
                def __init__(self, name: str): ...
            async def main():
                return Greeting(await fetch_name())
            """,
        ),
        Invalid(
            """
            from asgiref.sync import sync_to_async
            @sync_to_async
            def load_profile(user): ...
            async def view(user):
                load_profile(user)
            """,
            expected_replacement="""
            from asgiref.sync import sync_to_async
            @sync_to_async
            def load_profile(user): ...
            async def view(user):
                await load_profile(user)
            """,
        ),
        Invalid(
            """
            import asyncio
            async def main():
                asyncio.sleep(1)
            """,
            expected_replacement="""
            import asyncio
            async def main():
                await asyncio.sleep(1)
            """,
        ),
        Invalid(
            """
            from asyncio import sleep as nap
            async def main():
                nap(1)
            """,
            expected_replacement="""
            from asyncio import sleep as nap
            async def main():
                await nap(1)
            """,
        ),
        Invalid(
            """
            class Repo:
                async def load(self, key): ...
            class Service:
                def __init__(self):
                    self.repo = Repo()
                async def get(self, key):
                    return self.repo.load(key)
            """,
            expected_replacement="""
            class Repo:
                async def load(self, key): ...
            class Service:
                def __init__(self):
                    self.repo = Repo()
                async def get(self, key):
                    return await self.repo.load(key)
            """,
        ),
        Invalid(
            """
            async def ready(): ...
            async def main():
                if ready():
                    pass
            """,
            expected_replacement="""
            async def ready(): ...
            async def main():
                if await ready():
                    pass
            """,
        ),
        Invalid(
            """
            async def load(): ...
            async def main():
                return load().name
            """,
            expected_replacement="""
            async def load(): ...
            async def main():
                return (await load()).name
            """,
        ),
        Invalid(
            """
            async def load(): ...
            async def main():
                pending = load()
                print("done")
            """,
            expected_replacement="""
            async def load(): ...
            async def main():
                pending = await load()
                print("done")
            """,
        ),
    ]

    def wants_scope(self) -> bool:
        return self.in_async_function


    def on_misuse(self, call: cst.Call, target: Value, use: Use) -> None:
        name = self.describe_target(target)
        messages = {
            Use.DROPPED: f"coroutine `{name}()` is never awaited: its result is dropped",
            Use.VALUE: f"coroutine `{name}()` is used as a value without `await`",
            Use.RETURNED: (
                f"coroutine `{name}()` is returned un-awaited from `async def`: the "
                "caller's `await` gets a coroutine, not its result"
            ),
            Use.ASSIGNED: f"coroutine `{name}()` is bound to a name that is never awaited",
        }
        awaited = cst.Await(expression=call)
        if call in self.tight_operands:
            awaited = awaited.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        self.report(call, messages[use], replacement=awaited)
