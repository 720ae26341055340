"""AM202: a sync HTTP request inside `async def`."""

from __future__ import annotations

from fixit import Invalid, LintRule, Valid

from .blocking_call import BlockingCallRule


class BlockingHttpCall(BlockingCallRule, LintRule):
    """
    ## What it does
    Finds sync HTTP requests in an `async def`.

    Covered: requests, httpx (sync), urllib.request, http.client and urllib3.

    Functions (`requests.get`, `httpx.post`, `urllib.request.urlopen`) and methods
    on clients whose type is known (`s = requests.Session(); s.get(...)`,
    `self.client = httpx.Client()`, a parameter annotated `http.client.HTTPConnection`)
    are matched through the receiver's type, never by method name alone.

    ## Why is this bad?
    A request waits on the network for milliseconds to seconds. The event loop waits
    with it, so every other request the process serves stalls too.

    ## Example
    ```python
    import requests

    async def avatar(user):
        return requests.get(user.avatar_url, timeout=5).content
    ```

    ## Use instead
    ```python
    import httpx

    async def avatar(user, client: httpx.AsyncClient):
        return (await client.get(user.avatar_url, timeout=5)).content
    ```
    or `aiohttp.ClientSession`; for a rarely used call, `await asyncio.to_thread(...)`.

    ## Fix safety
    No automatic fix: the async clients differ in API and need a session's lifetime.
    """

    CODE = "AM202"

    VALID = [
        Valid(
            """
            import httpx
            async def fetch(url):
                async with httpx.AsyncClient() as client:
                    return await client.get(url)
            """
        ),
        Valid(
            """
            import asyncio, functools, requests
            async def fetch(url):
                return await asyncio.to_thread(functools.partial(requests.get, url, timeout=5))
            """
        ),
        Valid(
            """
            class Cache:
                def get(self, key): ...
            async def lookup(cache: Cache):
                return cache.get("k")
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import requests
            async def fetch(url):
                return requests.get(url)
            """
        ),
        Invalid(
            """
            from requests import Session
            async def fetch(url):
                session = Session()
                return session.post(url, json={})
            """
        ),
        Invalid(
            """
            import httpx
            class Api:
                def __init__(self):
                    self.client = httpx.Client()
                async def user(self, uid):
                    return self.client.get(f"/users/{uid}")
            """
        ),
        Invalid(
            """
            from urllib.request import urlopen
            async def fetch(url):
                return urlopen(url).read()
            """
        ),
    ]
