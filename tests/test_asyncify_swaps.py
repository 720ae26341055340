"""Library swaps (issue 15): asyncify starts from real I/O, with no seeds.

`fixtures/swaps/forecast` is a sync service over `requests` (a Session and a
module-level `requests.get`), `redis` (a client, a pipeline) and `sqlite3`. asyncify
with no `--seed` must give exactly the expected tree (httpx.AsyncClient,
redis.asyncio, aiosqlite), which compiles, is stable under a second run, and
computes what the original computed against real servers: a loopback HTTP
backend, a real `redis-server` (skipped, with the reason, where none is installed;
`.ci/run` installs one) and SQLite files.

The refusals are shown on small projects: a family swaps whole or not at all, and
says why not.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from conftest import FIXTURES, assert_compiles, lint_json, py_sources, run_asyncify, write_files

CASE = FIXTURES / "swaps" / "forecast"


def asyncify(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run_asyncify(*args, "--no-cache", cwd=cwd)


# -- real servers ------------------------------------------------------------------


class _Backend(BaseHTTPRequestHandler):
    hits: list[str] = []

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path == "/health":
            self._send(200, {"status": "ok", "agent": self.headers.get("User-Agent", "")[:8]})
        elif url.path == "/forecast":
            city = parse_qs(url.query)["city"][0]
            self.hits.append(city)
            agent = self.headers.get("User-Agent")
            if agent != "forecast/1.0":
                self._send(400, {"error": f"bad agent {agent}"})
                return
            self._send(200, {"city": city, "temp": round(len(city) * 1.5, 1)})
        else:
            self._send(404, {"error": "no such path"})

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def http_backend():
    _Backend.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Backend)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Backend.hits
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (Debian package redis-server; .ci/run installs it)")
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("redis-server did not start")
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


_DRIVER = """
import asyncio, inspect, json, sys
from forecast.service import main
args = (sys.argv[1], sys.argv[2], sys.argv[3], ["oslo", "lima", "oslo"])
result = asyncio.run(main(*args)) if inspect.iscoroutinefunction(main) else main(*args)
print(json.dumps(result, sort_keys=True))
"""


def _run_service(root: Path, base: str, redis: str, db: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", _DRIVER, base, redis, str(db)],
        cwd=root, capture_output=True, text=True, env=env, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# -- the fixture service ------------------------------------------------------------


def test_no_seeds_swaps_to_exactly_the_expected_tree_which_compiles_and_is_stable(project_copy):
    root = project_copy("swaps/forecast/input")
    done = asyncify(str(root), cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert py_sources(root) == py_sources(CASE / "expected")
    assert_compiles(root)
    assert "aiosqlite>=0.17 (swap `sqlite3`), httpx>=0.23 (swap `requests`), redis>=4.2 (swap `redis`)" in done.out
    again = asyncify(str(root), cwd=root)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Changed 0 file(s)" in again.out
    assert py_sources(root) == py_sources(CASE / "expected")


def test_the_swapped_service_computes_what_the_sync_one_did_against_real_servers(
    project_copy, http_backend, redis_url, tmp_path
):
    pytest.importorskip("httpx")
    pytest.importorskip("aiosqlite")
    pytest.importorskip("redis.asyncio")
    pytest.importorskip("requests")
    base, hits = http_backend
    sync_root = project_copy("swaps/forecast/input")
    before = _run_service(sync_root, base, redis_url, tmp_path / "sync.db")
    sync_hits = list(hits)
    hits.clear()
    async_root = project_copy("swaps/forecast/expected")
    after = _run_service(async_root, base, redis_url, tmp_path / "async.db")
    assert after == before
    assert hits == sync_hits == ["oslo", "lima"]  # the second "oslo" and "pune" come from Redis
    assert before["first"] == {"oslo": 6.0, "lima": 6.0}
    assert before["pune"] == {"city": "pune", "temp": 31.0}
    assert before["history"] == [6.0] and before["count"] == 2


# -- refusals: a family swaps whole, or not at all, and says why -----------------


def _plan(root: Path, *args: str) -> subprocess.CompletedProcess:
    return asyncify(str(root), "--diff", *args, cwd=root)


def test_a_client_that_leaves_the_places_the_plan_follows_keeps_its_family_sync(tmp_path):
    root = write_files(tmp_path / "p", {
        "app/__init__.py": "",
        "app/http.py": """
            import requests

            def make():
                return requests.Session()

            def fetch(url):
                return requests.get(url).json()
        """,
    })
    done = _plan(root)
    assert done.returncode == 0, done.stderr
    assert "app/http.py:5: swap `requests` not applied: the `requests.Session` made here cannot be followed: it is returned" in done.out
    assert "Would change 0 file(s)" in done.out


def test_sqlite_with_connection_means_a_transaction_and_is_not_swapped(tmp_path):
    root = write_files(tmp_path / "p", {
        "db.py": """
            import sqlite3

            def add(path, value):
                conn = sqlite3.connect(path)
                with conn:
                    conn.execute("INSERT INTO t VALUES (?)", (value,))
                conn.close()
        """,
    })
    done = _plan(root)
    assert "db.py:6: swap `sqlite3` not applied: `with` over a `sqlite3.Connection`: `with conn:` commits or rolls back" in done.out
    assert "Would change 0 file(s)" in done.out


def test_a_connection_made_in_init_cannot_be_awaited_and_says_so(tmp_path):
    root = write_files(tmp_path / "p", {
        "db.py": """
            import sqlite3

            class Store:
                def __init__(self, path):
                    self.conn = sqlite3.connect(path)

                def count(self):
                    return self.conn.execute("SELECT 1").fetchone()[0]
        """,
    })
    done = _plan(root)
    assert "swap `sqlite3` not applied: `db:Store.__init__` stays sync" in done.out
    assert "Would change 0 file(s)" in done.out


def test_an_argument_with_no_async_form_keeps_the_family_sync(tmp_path):
    root = write_files(tmp_path / "p", {
        "dl.py": """
            import requests

            def download(url):
                return requests.get(url, stream=True).raw
        """,
    })
    done = _plan(root)
    assert "dl.py:5: swap `requests` not applied: `requests.get(..., stream=...)`: httpx streams" in done.out


def test_no_swap_and_an_unknown_family(tmp_path):
    root = write_files(tmp_path / "p", {
        "ping.py": """
            import requests

            def ping(url):
                return requests.get(url).status_code
        """,
    })
    assert "Would change 1 file(s)" in _plan(root).out
    assert "Would change 0 file(s)" in _plan(root, "--no-swap", "requests").out
    assert "Would change 0 file(s)" in _plan(root, "--no-swap", "all").out
    bad = _plan(root, "--no-swap", "reqests")
    assert bad.returncode == 2
    assert "--no-swap reqests: no such swap family" in bad.out


def test_a_project_on_a_python_the_async_library_does_not_support_is_not_swapped(tmp_path):
    root = write_files(tmp_path / "p", {
        "pyproject.toml": '[project]\nname = "p"\nrequires-python = ">=3.7"\n',
        "ping.py": """
            import requests

            def ping(url):
                return requests.get(url).status_code
        """,
    })
    done = _plan(root)
    assert "swap `requests` not applied: the project supports Python 3.7" in done.out
    assert "Would change 0 file(s)" in done.out


def test_a_users_own_client_swaps_from_configuration(tmp_path):
    root = write_files(tmp_path / "p", {
        "pyproject.toml": """
            [tool.asyncmigrate]
            [[tool.asyncmigrate.swaps]]
            family = "acme"
            requirement = "acme-client>=2"
            [tool.asyncmigrate.swaps.calls]
            "acme.Client" = { to = "acme.aio.AsyncClient" }
            [tool.asyncmigrate.swaps.types."acme.Client"]
            to = "acme.aio.AsyncClient"
            await = ["fetch", "close"]
            rename = { close = "aclose" }
        """,
        "use.py": """
            import acme

            class Feed:
                def __init__(self):
                    self.client = acme.Client()

                def latest(self):
                    return self.client.fetch("latest")
        """,
    })
    done = asyncify(str(root), cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (root / "use.py").read_text() == textwrap.dedent("""
        import acme.aio

        class Feed:
            def __init__(self):
                self.client = acme.aio.AsyncClient()

            async def latest(self):
                return await self.client.fetch("latest")
    """)
    assert "acme-client>=2 (swap `acme`)" in done.out


def test_a_malformed_swap_in_configuration_is_a_usage_error(tmp_path):
    root = write_files(tmp_path / "p", {
        "pyproject.toml": '[[tool.asyncmigrate.swaps]]\nfamily = "x"\nclases = {}\n',
        "m.py": "x = 1\n",
    })
    done = _plan(root)
    assert done.returncode == 2
    assert "swaps[0]: unknown key(s) clases" in done.stderr


def test_a_staged_run_would_share_a_client_across_event_loops_and_does_not_swap(project_copy):
    root = project_copy("swaps/forecast/input")
    done = asyncify(str(root), "--max-layer", "0", cwd=root)
    assert done.returncode == 0, done.out
    assert (
        "forecast/service.py:18: swap `requests` not applied: `forecast.service:ForecastService.today` stays sync "
        "and bridges `forecast.backend:Backend.forecast`, which would run the shared async client on an event loop"
    ) in done.out
    assert py_sources(root) == py_sources(CASE / "input")


def test_client_keywords_move_to_the_per_call_client_and_star_kwargs_are_refused(tmp_path):
    root = write_files(tmp_path / "p", {
        "ping.py": """
            import requests

            def ping(url):
                return requests.get(url, timeout=3, verify=False).status_code
        """,
    })
    done = asyncify(str(root), cwd=root)
    assert done.returncode == 0, done.out
    assert (root / "ping.py").read_text() == textwrap.dedent("""
        import httpx

        async def ping(url):
            async with httpx.AsyncClient(verify=False) as client:
                return (await client.get(url, timeout=3)).status_code
    """)
    star = write_files(tmp_path / "q", {
        "ping.py": """
            import requests

            def ping(url, **options):
                return requests.get(url, **options).status_code
        """,
    })
    done = _plan(star)
    assert "swap `requests` not applied: `requests.get(..., **...)`: keyword arguments passed with `**` cannot be checked" in done.out


def test_exceptions_and_annotations_in_other_modules_change_with_the_swap(tmp_path):
    root = write_files(tmp_path / "p", {
        "app/__init__.py": "",
        "app/api.py": """
            import requests

            def fetch(url) -> requests.Response:
                return requests.get(url)
        """,
        "app/use.py": """
            from requests import HTTPError

            from app.api import fetch

            def title(url):
                try:
                    response = fetch(url)
                    response.raise_for_status()
                except HTTPError:
                    return None
                return response.json()["title"] if response.ok else ""
        """,
    })
    done = asyncify(str(root), cwd=root)
    assert done.returncode == 0, done.out
    assert (root / "app/use.py").read_text() == textwrap.dedent("""
        from app.api import fetch
        import httpx

        async def title(url):
            try:
                response = await fetch(url)
                response.raise_for_status()
            except httpx.HTTPStatusError:
                return None
            return response.json()["title"] if response.is_success else ""
    """)
    assert (root / "app/api.py").read_text() == textwrap.dedent("""
        import httpx

        async def fetch(url) -> httpx.Response:
            async with httpx.AsyncClient() as client:
                return await client.get(url)
    """)


def test_psycopg_connections_cursors_and_transactions_swap(tmp_path):
    root = write_files(tmp_path / "p", {
        "pg.py": """
            import psycopg

            def totals(dsn):
                with psycopg.connect(dsn) as conn:
                    with conn.transaction():
                        with conn.cursor() as cur:
                            cur.execute("SELECT 1")
                            rows = [row for row in cur]
                    return rows, conn.execute("SELECT 2").fetchone()
        """,
    })
    done = asyncify(str(root), cwd=root)
    assert done.returncode == 0, done.out
    assert (root / "pg.py").read_text() == textwrap.dedent("""
        import psycopg

        async def totals(dsn):
            async with await psycopg.AsyncConnection.connect(dsn) as conn:
                async with conn.transaction():
                    async with conn.cursor() as cur:
                        await cur.execute("SELECT 1")
                        rows = [row async for row in cur]
                return rows, await (await conn.execute("SELECT 2")).fetchone()
    """)


def test_blocking_findings_name_the_swap_and_know_niquests_and_httpx2(tmp_path):
    root = write_files(tmp_path / "p", {
        "h.py": """
            import niquests
            import requests
            import sqlite3

            async def handler(url, path):
                conn = sqlite3.connect(path)
                return requests.get(url), niquests.Session().get(url), conn
        """,
    })
    _, findings = lint_json(str(root / "h.py"), "--no-cache", cwd=root)
    messages = sorted((f["code"], f["line"], f["message"]) for f in findings)
    assert [(code, line) for code, line, _ in messages] == [("AM202", 8), ("AM202", 8), ("AM205", 7)]
    niquests_call, requests_call, connect = (m for _, _, m in messages)
    assert niquests_call == (
        "`niquests.Session.get` makes a blocking HTTP request in async code; use httpx.AsyncClient or aiohttp.ClientSession"
    )
    assert requests_call.startswith("`requests.get` makes a blocking HTTP request")
    assert requests_call.endswith("; `asyncmigrate asyncify` swaps it for `httpx.AsyncClient.get` (family `requests`)")
    assert connect.endswith("; `asyncmigrate asyncify` swaps it for `aiosqlite.connect` (family `sqlite3`)")


def test_code_outside_path_keeps_its_own_clients_but_not_one_from_path(tmp_path):
    root = tmp_path / "p"
    shutil.copytree(CASE / "input", root)
    (root / "pyproject.toml").write_text('[project]\nname = "p"\n')
    write_files(root, {
        "tools/__init__.py": "",
        "tools/dump.py": """
            import sqlite3

            def dump(path):
                conn = sqlite3.connect(path)
                for row in conn.execute("SELECT 1"):
                    print(row)
                conn.close()
        """,
    })
    done = asyncify(str(root / "forecast"), cwd=root)
    assert done.returncode == 0, done.out
    assert py_sources(root / "forecast") == py_sources(CASE / "expected" / "forecast")
    assert "sqlite3.connect" in (root / "tools/dump.py").read_text()
    write_files(root, {"tools/peek.py": """
        from forecast.cache import Cache

        def peek(url):
            return Cache(url).redis.get("x")
    """})
    shutil.copytree(CASE / "input" / "forecast", root / "forecast", dirs_exist_ok=True)
    done = asyncify(str(root / "forecast"), "--diff", cwd=root)
    assert "tools/peek.py:5: swap `redis` not applied: `redis.Redis.get` is used outside PATH" in done.out
