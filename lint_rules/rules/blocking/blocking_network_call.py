"""AM205: a blocking network or database client call inside `async def`."""

from __future__ import annotations

from fixit import Invalid, LintRule, Valid

from .blocking_call import BlockingCallRule


class BlockingNetworkCall(BlockingCallRule, LintRule):
    """
    ## What it does
    Finds blocking network and database client calls in an `async def`.

    Covered: socket and ssl operations, DNS lookups, sqlite3, psycopg2/psycopg,
    pymysql, sync redis, pymongo, smtplib and ftplib, and Django's ORM: queries
    through a model's manager or a queryset (`Product.objects.get(...)`,
    `....filter(...).first()`, a plain `for` over a queryset) and
    `instance.save()`/`delete()`, which raise
    SynchronousOnlyOperation in async code. Models are subclasses of
    `django.db.models.Model` found by resolution, across modules; building a
    queryset (`filter`, `order_by`) runs no query and is not reported.

    Methods are matched through the receiver's type: `sqlite3.connect()` returns a
    `sqlite3.Connection` whose `cursor()` is a `sqlite3.Cursor`;
    `redis.Redis(...)`, `pymongo.MongoClient(...)`, `socket.socket(...)` and
    annotated parameters are followed the same way. `redis.asyncio.Redis` and other
    async clients are not reported.

    ## Why is this bad?
    Each call waits for a server (or a disk, for sqlite3) while the event loop, and
    every other task on it, waits too.

    ## Example
    ```python
    import sqlite3

    async def user(uid):
        conn = sqlite3.connect("app.db")
        return conn.execute("select * from users where id = ?", (uid,)).fetchone()
    ```

    ## Use instead
    ```python
    import aiosqlite

    async def user(uid):
        async with aiosqlite.connect("app.db") as conn:
            cursor = await conn.execute("select * from users where id = ?", (uid,))
            return await cursor.fetchone()
    ```
    (asyncpg, aiomysql, `redis.asyncio`, motor, aiosmtplib), or
    `await asyncio.to_thread(...)`.

    ## Fix safety
    No automatic fix: async drivers have different APIs.
    """

    CODE = "AM205"

    VALID = [
        Valid(
            """
            import redis.asyncio as redis
            async def hits(r: redis.Redis):
                return await r.get("hits")
            """
        ),
        Valid(
            """
            import asyncio, socket
            async def resolve(host):
                loop = asyncio.get_running_loop()
                return await loop.getaddrinfo(host, 443)
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import sqlite3
            async def user(uid):
                conn = sqlite3.connect("app.db")
                cur = conn.cursor()
                cur.execute("select 1")
            """
        ),
        Invalid(
            """
            import socket
            async def resolve(host):
                return socket.gethostbyname(host)
            """
        ),
        Invalid(
            """
            import redis
            cache = redis.Redis()
            async def hits():
                return cache.get("hits")
            """
        ),
    ]
