"""asyncify, case by case: each test writes a small project, runs the command in
process and asserts the whole rewritten file (or the report) exactly."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from codemods.asyncify.cli import asyncify_command
from conftest import write_files


def write(root: Path, files: dict[str, str]) -> None:
    (root / "pyproject.toml").write_text("[project]\nname = 'case'\n")
    write_files(root, files, strip="\n")


def asyncify(root: Path, *args: str, paths: tuple[str, ...] = (".",)):
    runner = CliRunner(mix_stderr=False)
    return runner.invoke(
        asyncify_command, [*(str(root / p) for p in paths), "--no-cache", "--jobs", "1", *args]
    )


def read(root: Path, rel: str) -> str:
    return (root / rel).read_text(encoding="utf-8")


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def test_external_seed_awaits_calls_and_leaves_definitions(tmp_path):
    write(
        tmp_path,
        {
            "app.py": """
            from netlib import Client


            def fetch_all(ids):
                client = Client()
                return [client.fetch(i) for i in ids]
        """,
            "lib/api.py": """
            def get(key):
                return key
        """,
            "lib/use.py": """
            from lib.api import get


            def twice(key):
                return get(key) + get(key)
        """,
        },
    )
    result = asyncify(
        tmp_path,
        "--seed",
        "netlib:Client.fetch",
        "--seed",
        "lib.api:get",
        paths=("app.py", "lib/use.py"),
    )
    assert result.exit_code == 0, result.stderr
    assert read(tmp_path, "app.py") == dedent("""
        from netlib import Client


        async def fetch_all(ids):
            client = Client()
            return [await client.fetch(i) for i in ids]
    """)
    assert read(tmp_path, "lib/use.py") == dedent("""
        from lib.api import get


        async def twice(key):
            return await get(key) + await get(key)
    """)
    assert read(tmp_path, "lib/api.py") == "def get(key):\n    return key\n"


def test_iter_next_seed_makes_an_async_iterator(tmp_path):
    write(
        tmp_path,
        {
            "m.py": """
        class Cursor:
            def __init__(self, rows):
                self.rows = list(rows)

            def __iter__(self):
                return self

            def __next__(self):
                if not self.rows:
                    raise StopIteration
                return self.rows.pop(0)


        def consume(rows):
            return [row for row in Cursor(rows)]
    """
        },
    )
    result = asyncify(tmp_path, "--seed", "m:Cursor.__next__")
    assert result.exit_code == 0, result.stderr
    assert read(tmp_path, "m.py") == dedent("""
        class Cursor:
            def __init__(self, rows):
                self.rows = list(rows)

            def __aiter__(self):
                return self

            async def __anext__(self):
                if not self.rows:
                    raise StopAsyncIteration
                return self.rows.pop(0)


        async def consume(rows):
            return [row async for row in Cursor(rows)]
    """)
    again = asyncify(tmp_path, "--seed", "m:Cursor.__next__", "--check")
    assert again.exit_code == 0, again.stderr


def test_asyncio_bridge_and_max_layer(tmp_path):
    write(
        tmp_path,
        {
            "m.py": """
        import time


        def leaf():
            time.sleep(0.1)


        def middle():
            leaf()


        def top():
            middle()
    """
        },
    )
    result = asyncify(tmp_path, "--bridge", "asyncio", "--max-layer", "0")
    assert result.exit_code == 0, result.stderr
    assert read(tmp_path, "m.py") == dedent("""
        import asyncio


        async def leaf():
            await asyncio.sleep(0.1)


        def middle():
            asyncio.run(leaf())


        def top():
            middle()
    """)
    assert asyncify(tmp_path, "--bridge", "asyncio", "--max-layer", "0", "--check").exit_code == 0


def test_nested_event_loop_is_reported_not_bridged(tmp_path):
    source = """
        import time


        def login():
            time.sleep(0.1)
            return "token"


        class Client:
            def __init__(self):
                self.token = login()


        async def serve():
            return Client()
    """
    write(tmp_path, {"m.py": source})
    result = asyncify(tmp_path)
    assert result.exit_code == 0, result.stderr
    # Converting `login` would leave `__init__` (sync, run by async code) calling a
    # coroutine with no safe bridge: the conversion is closed by keeping it sync.
    assert read(tmp_path, "m.py") == dedent(source)
    assert (
        "m.py:4: left sync: `m:login` would become async, but code that must stay as it is calls it: "
        "`m:Client.__init__` stays sync (__init__ is called synchronously by Python) and calls it, "
        "but async code runs `m:Client.__init__`: a bridge there would nest the event loop (m.py:11)"
        in result.stderr
    )


@pytest.mark.parametrize(
    "source, reason",
    [
        (
            """
            import time


            def gen():
                time.sleep(0)
                yield 1


            def outer():
                result = yield from gen()
                return result
            """,
            "left sync: `m:gen` would become async, but code that must stay as it is calls it: `m:outer` uses it in `yield from`, which an async generator cannot (m.py:10)",
        ),
        (
            """
            import time


            class Handlers:
                def on_a(self):
                    time.sleep(0)


            def dispatch(h: Handlers, name):
                return getattr(h, "on_" + name)()
            """,
            "`m:dispatch` calls it through getattr on `m:Handlers` (m.py:10)",
        ),
        (
            """
            import socketserver
            import time


            class Handler(socketserver.BaseRequestHandler):
                def handle(self):
                    time.sleep(0)
            """,
            "left sync: `m:Handler.handle` may override a method of the third-party base class socketserver.BaseRequestHandler",
        ),
        (
            """
            import time
            import scheduler


            def job():
                time.sleep(0)


            def setup():
                scheduler.every(10, job)
            """,
            "`m:job` is passed as a value to scheduler.every",
        ),
        (
            """
            import time


            def rows():
                time.sleep(0)
                yield 1


            def total():
                return sum(rows())
            """,
            "its result is passed to builtins.sum, which cannot consume an async generator (m.py:10)",
        ),
    ],
)
def test_refused_cases_are_reported(tmp_path, source, reason):
    write(tmp_path, {"m.py": source})
    result = asyncify(tmp_path, "--diff")
    assert result.exit_code == 0, result.stderr
    assert reason in result.stderr
    # Closed conversion: nothing that would leave a caller broken is converted.
    assert result.stdout == ""
    assert result.stderr.startswith("Would change 0 file(s): 0 function(s) converted")


@pytest.mark.parametrize(
    "source, reason",
    [
        (
            """
            import time


            class Pool:
                def close(self):
                    time.sleep(0)

                def __del__(self):
                    self.close()
            """,
            "m.py:5: left sync: `m:Pool.close` would become async, but code that must stay as it is calls it: the finalizer `m:Pool.__del__` calls it; a finalizer may run inside the event loop, so it gets no bridge (m.py:9)",
        ),
        (
            """
            import time


            def numbers(n):
                time.sleep(0)
                yield from range(n)
            """,
            "it uses `yield from` (line 6), which async generators cannot",
        ),
    ],
)
def test_unsafe_bridges_and_generators_are_left_alone(tmp_path, source, reason):
    write(tmp_path, {"m.py": source})
    before = read(tmp_path, "m.py")
    result = asyncify(tmp_path)
    assert result.exit_code == 0, result.stderr
    assert reason in result.stderr
    assert "async_to_sync" not in read(tmp_path, "m.py")
    if "yield from" in before:
        assert read(tmp_path, "m.py") == before


def test_unknown_receiver_is_reported_never_guessed(tmp_path):
    write(
        tmp_path,
        {
            "m.py": """
        import time


        class Conn:
            def close(self):
                time.sleep(0)


        def shutdown(thing):
            thing.close()
    """
        },
    )
    result = asyncify(tmp_path)
    assert "thing.close()" in read(tmp_path, "m.py")
    assert "def shutdown(thing):" in read(tmp_path, "m.py")
    # `thing` may be a Conn: converting Conn.close would leave `shutdown` calling
    # it un-awaited, so the conversion is closed by keeping Conn.close sync.
    assert "    def close(self):\n        time.sleep(0)" in read(tmp_path, "m.py")
    assert (
        "m.py:5: left sync: `m:Conn.close` would become async, but code that must stay as it is calls it: "
        "`m:shutdown` calls `thing.close()`, whose receiver may be it (its type is unknown) (m.py:10)"
        in result.stderr
    )


def test_decorators(tmp_path):
    write(
        tmp_path,
        {
            "m.py": """
        import functools
        import time


        def timed(fn):
            @functools.wraps(fn)
            def wrapper(*args):
                return fn(*args)
            return wrapper


        @timed
        def slow():
            time.sleep(0)


        @timed
        def fast():
            return 1


        @functools.lru_cache
        def cached():
            time.sleep(0)
    """
        },
    )
    result = asyncify(tmp_path)
    assert "decorator `m:timed` also wraps sync functions (m:fast)" in result.stderr
    assert "`m:cached` is decorated with functools.lru_cache" in result.stderr
    assert "    def wrapper(*args):" in read(tmp_path, "m.py")


def test_contextmanager_imported_by_name_and_stop_at(tmp_path):
    write(
        tmp_path,
        {
            "m.py": """
        import time
        from contextlib import contextmanager


        @contextmanager
        def session():
            time.sleep(0)
            yield "s"


        def work():
            with session() as s:
                return s


        def cli_main():
            return work()
    """
        },
    )
    result = asyncify(tmp_path, "--stop-at", "m:cli_*")
    assert result.exit_code == 0, result.stderr
    assert read(tmp_path, "m.py") == dedent("""
        from contextlib import asynccontextmanager
        import asyncio
        from asgiref.sync import async_to_sync


        @asynccontextmanager
        async def session():
            await asyncio.sleep(0)
            yield "s"


        async def work():
            async with session() as s:
                return s


        def cli_main():
            return async_to_sync(work)()
    """)


@pytest.mark.parametrize(
    "config, marker",
    [
        ('[tool.pytest.ini_options]\nasyncio_mode = "auto"\n', None),
        ('[tool.asyncmigrate]\ntest-marker = "anyio"\n', "@pytest.mark.anyio"),
        ("", "@pytest.mark.asyncio"),
    ],
)
def test_pytest_marker_style(tmp_path, config, marker):
    write(
        tmp_path,
        {
            "lib.py": "import time\n\n\ndef slow():\n    time.sleep(0)\n    return 1\n",
            "tests/test_lib.py": "import pytest\n\nfrom lib import slow\n\n\ndef test_slow():\n    assert slow() == 1\n",
        },
    )
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'case'\n" + config)
    result = asyncify(tmp_path)
    assert result.exit_code == 0, result.stderr
    head = f"{marker}\n" if marker else ""
    assert read(tmp_path, "tests/test_lib.py").endswith(
        f"\n\n{head}async def test_slow():\n    assert await slow() == 1\n"
    )


def test_columns_count_utf8_bytes(tmp_path):
    write(
        tmp_path,
        {
            "m.py": """
        import time


        def wait():
            label = "naïve ☕"; time.sleep(0); return label
    """
        },
    )
    result = asyncify(tmp_path)
    assert result.exit_code == 0, result.stderr
    assert 'label = "naïve ☕"; await asyncio.sleep(0); return label' in read(tmp_path, "m.py")


def test_profile_seeds_offload_and_rank(tmp_path):
    write(
        tmp_path,
        {
            "m.py": """
        import json


        def load(path):
            with open(path) as f:
                return json.loads(f.read())


        def parse(text):
            return json.loads(text)
    """
        },
    )
    report = {
        "version": 1,
        "threshold_ms": 5.0,
        "sites": [
            {
                "file": str(tmp_path / "m.py"),
                "line": 10,
                "function": None,
                "call": "json.loads",
                "count": 3,
                "total_ms": 30.0,
                "max_ms": 12.0,
            },
            {
                "file": str(tmp_path / "elsewhere.py"),
                "line": 1,
                "function": None,
                "call": None,
                "count": 1,
                "total_ms": 1.0,
                "max_ms": 1.0,
            },
        ],
    }
    (tmp_path / "profile.json").write_text(json.dumps(report))
    plan = asyncify(
        tmp_path, "--profile", str(tmp_path / "profile.json"), "--plan", "--format", "json"
    )
    assert plan.exit_code == 0, plan.stderr
    data = json.loads(plan.stdout)
    assert data["layers"][0]["functions"] == [
        {"function": "m:parse", "path": "m.py", "line": 9, "call_sites": 0, "blocked_ms": 30.0}
    ]
    assert data["layers"][0]["blocked_ms"] == 30.0
    result = asyncify(tmp_path, "--profile", str(tmp_path / "profile.json"))
    assert result.exit_code == 0, result.stderr
    assert "async def parse(text):\n    return await asyncio.to_thread(json.loads, text)\n" in read(
        tmp_path, "m.py"
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (("--seed", "m:nope"), "unknown seed m:nope"),
        (("--seed", "not a seed"), "bad seed 'not a seed'"),
        (("--seed-file", "missing.txt"), "cannot read seed file"),
    ],
)
def test_usage_errors_exit_2(tmp_path, args, message):
    write(tmp_path, {"m.py": "def f():\n    pass\n"})
    result = asyncify(tmp_path, *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_missing_path_exits_2(tmp_path):
    result = asyncify(tmp_path, paths=("does-not-exist",))
    assert result.exit_code == 2
    assert "path does not exist" in result.stderr


def test_seed_file(tmp_path):
    write(tmp_path, {"m.py": "def f():\n    return 1\n\n\ndef g():\n    return f()\n"})
    (tmp_path / "seeds.txt").write_text("# leaves\nm:f\n")
    result = asyncify(tmp_path, "--seed-file", str(tmp_path / "seeds.txt"))
    assert result.exit_code == 0, result.stderr
    assert (
        read(tmp_path, "m.py")
        == "async def f():\n    return 1\n\n\nasync def g():\n    return await f()\n"
    )


def test_root_names_modules_and_outside_path_is_only_analysed(tmp_path):
    project = tmp_path / "proj"
    project.mkdir()
    write(
        project,
        {
            "app/__init__.py": "",
            "app/db.py": "import time\n\n\ndef load():\n    time.sleep(0)\n",
            "app/views.py": "from app.db import load\n\n\ndef show():\n    return load()\n",
        },
    )
    (project / "pyproject.toml").unlink()  # no marker: --root names the modules
    result = asyncify(
        project, "--root", str(project), "--seed", "app.db:load", paths=("app/views.py",)
    )
    assert result.exit_code == 0, result.stderr
    assert (
        read(project, "app/views.py")
        == "from app.db import load\n\n\nasync def show():\n    return await load()\n"
    )
    assert read(project, "app/db.py") == "import time\n\n\ndef load():\n    time.sleep(0)\n"


def test_mutual_recursion_is_one_layer_and_offload_wraps_blocking_leaves(tmp_path):
    write(
        tmp_path,
        {
            "m.py": """
        import time


        def read(path):
            with open(path) as f:
                return f.read()


        def ping(n):
            time.sleep(0)
            return pong(n - 1) if n else 0


        def pong(n):
            return ping(n - 1) if n else 1


        def main(path):
            return ping(3), read(path)
    """
        },
    )
    plan = asyncify(tmp_path, "--seed", "m:read", "--plan", "--format", "json")
    layers = [
        [f["function"] for f in layer["functions"]] for layer in json.loads(plan.stdout)["layers"]
    ]
    assert layers == [["m:ping", "m:pong", "m:read"], ["m:main"]]
    result = asyncify(tmp_path, "--seed", "m:read", "--offload")
    assert result.exit_code == 0, result.stderr
    assert "    with await asyncio.to_thread(open, path) as f:\n" in read(tmp_path, "m.py")
    assert "    return await ping(3), await read(path)\n" in read(tmp_path, "m.py")


def test_enter_seed_means_async_with(tmp_path):
    write(
        tmp_path,
        {
            "m.py": """
            class Lock:
                def __enter__(self):
                    return self

                def __exit__(self, *exc):
                    return None


            def critical(lock: Lock):
                with lock:
                    return 1
        """,
        },
    )
    result = asyncify(tmp_path, "--seed", "m:Lock.__enter__")
    assert result.exit_code == 0, result.stderr
    assert read(tmp_path, "m.py") == dedent("""
        class Lock:
            async def __aenter__(self):
                return self

            async def __aexit__(self, *exc):
                return None


        async def critical(lock: Lock):
            async with lock:
                return 1
    """)
    assert asyncify(tmp_path, "--seed", "m:Lock.__enter__", "--check").exit_code == 0


def test_yield_from_statement_becomes_async_for(tmp_path):
    write(
        tmp_path,
        {
            "m.py": """
            import time


            def rows():
                time.sleep(0)
                yield 1


            def outer():
                # delegate
                yield from rows()  # all of them


            def consume():
                return [r for r in outer()]
        """,
        },
    )
    result = asyncify(tmp_path)
    assert result.exit_code == 0, result.stderr
    assert read(tmp_path, "m.py").endswith(
        dedent("""
        async def outer():
            # delegate
            async for item in rows():
                yield item  # all of them


        async def consume():
            return [r async for r in outer()]
    """)
    )


def test_code_that_was_already_async_keeps_its_coroutine_handling(tmp_path):
    """`handle` was async before the run: `main` gathering its coroutines is left
    alone; only the new async function's callers are awaited."""
    write(
        tmp_path,
        {
            "app.py": """
            import asyncio
            import time


            def slow_lookup(key):
                time.sleep(0.05)
                return key.upper()


            async def handle(request):
                return slow_lookup(request)


            async def main(requests):
                coros = [handle(r) for r in requests]
                return await asyncio.gather(*coros)
        """,
        },
    )
    result = asyncify(tmp_path)
    assert result.exit_code == 0, result.output + result.stderr
    assert read(tmp_path, "app.py") == dedent(
        """
        import asyncio


        async def slow_lookup(key):
            await asyncio.sleep(0.05)
            return key.upper()


        async def handle(request):
            return await slow_lookup(request)


        async def main(requests):
            coros = [handle(r) for r in requests]
            return await asyncio.gather(*coros)
    """
    )


def test_items_of_annotated_containers_are_typed(tmp_path):
    """`Deque[Waiter]` on an attribute and `list[Waiter]` on a parameter: iterating
    gives Waiters, so their converted method is awaited (and not guessed elsewhere)."""
    write(tmp_path, {"m.py": """
        import collections
        import time
        from typing import Deque


        class Waiter:
            def fail(self):
                time.sleep(0)


        class Pool:
            def __init__(self):
                self._waiting: Deque[Waiter] = collections.deque()

            def close(self):
                for pos in self._waiting:
                    pos.fail()


        def each(waiters: list[Waiter]):
            for w in waiters:
                w.fail()
    """})
    result = asyncify(tmp_path)
    assert result.exit_code == 0, result.stderr
    assert read(tmp_path, "m.py") == dedent("""
        import collections
        from typing import Deque
        import asyncio


        class Waiter:
            async def fail(self):
                await asyncio.sleep(0)


        class Pool:
            def __init__(self):
                self._waiting: Deque[Waiter] = collections.deque()

            async def close(self):
                for pos in self._waiting:
                    await pos.fail()


        async def each(waiters: list[Waiter]):
            for w in waiters:
                await w.fail()
    """)
    assert "0 item(s) left for a human" in result.stderr


def test_types_declared_in_configuration_type_what_the_code_does_not_say(tmp_path):
    """An untyped constructor argument stored on `self` (a list of clients) and a
    local: without `types` the calls on them keep `Client.get` sync; with it they
    are awaited."""
    source = {
        "m.py": """
        import time


        class Client:
            def get(self, key):
                time.sleep(0)
                return key


        class Fallback:
            def __init__(self, caches):
                self.caches = caches

            def get(self, key):
                for cache in self.caches:
                    return cache.get(key)


        def first(factory, key):
            client = factory()
            return client.get(key)
    """
    }
    write(tmp_path, source)
    untyped = asyncify(tmp_path, "--diff")
    assert untyped.stdout == ""
    assert "left sync: `m:Client.get` would become async" in untyped.stderr
    (tmp_path / "pyproject.toml").write_text(
        "[project]\nname = 'case'\n\n[tool.asyncmigrate]\n"
        'types = { "m:Fallback.caches" = "list[m:Client]", "m:first.client" = "m:Client" }\n'
    )
    typed = asyncify(tmp_path)
    assert typed.exit_code == 0, typed.stderr
    assert read(tmp_path, "m.py") == dedent("""
        import asyncio


        class Client:
            async def get(self, key):
                await asyncio.sleep(0)
                return key


        class Fallback:
            def __init__(self, caches):
                self.caches = caches

            async def get(self, key):
                for cache in self.caches:
                    return await cache.get(key)


        async def first(factory, key):
            client = factory()
            return await client.get(key)
    """)
    assert "0 item(s) left for a human" in typed.stderr


def test_a_malformed_declared_type_is_a_configuration_error(tmp_path):
    write(tmp_path, {"m.py": "x = 1\n"})
    (tmp_path / "pyproject.toml").write_text(
        "[project]\nname = 'case'\n\n[tool.asyncmigrate]\ntypes = { \"m:f.x\" = \"list[m:C\" }\n"
    )
    result = asyncify(tmp_path)
    assert result.exit_code == 2
    assert "`types`: 'm:f.x' = 'list[m:C': expected" in result.stderr


def test_files_that_do_not_parse_are_named_and_left_unchanged(tmp_path):
    write(tmp_path, {"app.py": """
        import time

        def nap():
            time.sleep(1)
    """})
    broken = b"def f(:\n"
    not_utf8 = b"\xff\xfe x = 1\n"
    (tmp_path / "broken.py").write_bytes(broken)
    (tmp_path / "latin.py").write_bytes(not_utf8)
    (tmp_path / "empty.py").write_bytes(b"")
    result = asyncify(tmp_path)
    assert result.exit_code == 0, result.stderr
    assert "broken.py:1: not analysed (SyntaxError: invalid syntax): left unchanged, and its calls are not seen" in result.stderr
    assert "latin.py:1: not analysed (SyntaxError: (unicode error)" in result.stderr
    assert "empty.py" not in result.stderr
    assert read(tmp_path, "app.py").startswith("import asyncio\n")
    assert (tmp_path / "broken.py").read_bytes() == broken
    assert (tmp_path / "latin.py").read_bytes() == not_utf8
    assert (tmp_path / "empty.py").read_bytes() == b""


def test_a_method_of_a_third_party_subclass_converts_only_when_allowed(tmp_path):
    """The tool cannot see what a third-party base defines (it imports nothing of
    it), so `fetch` might override a method the library calls synchronously: it is
    refused, and the refusal names the way out. `--allow-override` (or
    `allow-override` in the configuration) converts it; the class's other methods
    were never refused."""
    source = """
        import time

        import vendorlib


        class Client(vendorlib.Base):
            def fetch(self):
                time.sleep(0)
                return 1

            def load(self):
                return 2


        async def main(client: Client):
            return client.fetch() + client.load()
    """
    converted = dedent("""
        import vendorlib
        import asyncio


        class Client(vendorlib.Base):
            async def fetch(self):
                await asyncio.sleep(0)
                return 1

            def load(self):
                return 2


        async def main(client: Client):
            return await client.fetch() + client.load()
    """)
    write(tmp_path, {"m.py": source})
    refused = asyncify(tmp_path, "--diff")
    assert refused.exit_code == 0, refused.stderr
    assert (
        "m.py:7: left sync: `m:Client.fetch` may override a method of the third-party base class "
        "vendorlib.Base, which would call it synchronously (if vendorlib.Base has no such method, "
        "`--allow-override 'm:Client.fetch'` converts it)"
    ) in refused.stderr
    assert refused.stdout == ""
    allowed = asyncify(tmp_path, "--allow-override", "m:Client.fet*")
    assert allowed.exit_code == 0, allowed.stderr
    assert read(tmp_path, "m.py") == converted
    write(tmp_path, {"m.py": source})
    (tmp_path / "pyproject.toml").write_text(
        "[project]\nname = 'case'\n\n[tool.asyncmigrate]\nallow-override = [\"m:Client.*\"]\n"
    )
    configured = asyncify(tmp_path)
    assert configured.exit_code == 0, configured.stderr
    assert read(tmp_path, "m.py") == converted


def test_calls_through_getitem_and_a_generic_base_convert_but_an_unnamed_receiver_does_not(tmp_path):
    """`self[name].ping()` goes through `Registry.__getitem__`, and
    `self.get(key).ping()` through a generic base (`Pool(Base[Conn])`): both
    convert. `(self.primary or self.backup).ping()` names no receiver the index can
    follow: a converted `ping` would be called there un-awaited, so `ping` stays
    sync and the summary says where."""
    source = """
        import time
        from typing import Generic, TypeVar

        T = TypeVar("T")


        class Conn:
            def ping(self):
                time.sleep(0)
                return "pong"


        class Base(Generic[T]):
            def __init__(self, items: dict):
                self.items = items

            def get(self, key) -> T:
                return self.items[key]


        class Pool(Base[Conn]):
            def check(self, key):
                return self.get(key).ping()


        class Registry:
            def __getitem__(self, name) -> Conn:
                return Conn()

            def ping(self, name):
                return self[name].ping()
    """
    fallback = """


        class Fallback:
            def ping(self):
                return (self.primary or self.backup).ping()
    """
    write(tmp_path, {"m.py": source + fallback})
    refused = asyncify(tmp_path, "--seed", "m:Conn.ping", "--diff")
    assert refused.exit_code == 0, refused.stderr
    assert refused.stdout == ""
    assert (
        "m.py:8: left sync: `m:Conn.ping` would become async, but code that must stay as it is calls it: "
        "`m:Fallback.ping` calls `(...).ping()`, whose receiver may be it (its type is unknown) (m.py:37)"
    ) in refused.stderr
    write(tmp_path, {"m.py": source})
    converted = asyncify(tmp_path, "--seed", "m:Conn.ping")
    assert converted.exit_code == 0, converted.stderr
    assert "3 function(s) converted, 3 call site(s) awaited" in converted.stderr
    text = read(tmp_path, "m.py")
    assert "    async def check(self, key):\n        return await self.get(key).ping()\n" in text
    assert "    async def ping(self, name):\n        return await self[name].ping()\n" in text
