"""AM301-AM303 on real project layouts: chains across modules, imported state,
the quiet cases (constants, import-time setup, no await in between), and the
unsafe ContextVar fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

from conftest import lint_json, write_files
from inprocess_lint import lint


def make_project(root: Path, files: dict[str, str]) -> Path:
    (root / "pyproject.toml").write_text('[project]\nname = "app"\n')
    return write_files(root, files, strip=True)


def codes(findings: list[dict], prefix: str = "AM3") -> list[tuple[str, int, str]]:
    return sorted((f["path"].split("/")[-1], f["line"], f["code"]) for f in findings if f["code"].startswith(prefix))


# -- AM301 ---------------------------------------------------------------------


def test_am301_chain_across_modules_in_fixture(project_copy):
    root = project_copy("state_app/input")
    status, findings = lint_json(str(root), "--select", "AM301")
    assert status == 1
    assert [(f["path"].split("/")[-1], f["line"]) for f in findings] == [("auth.py", 13)]
    assert "login -> context.set_user (global current_user)" in findings[0]["message"]
    assert "codemods.contextvars" in findings[0]["message"]
    assert not findings[0]["fixable"]


def test_am301_deeper_chain_and_quiet_cases(tmp_path):
    root = make_project(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/state.py": """
                current_tenant = None
                settings = None
                hits = 0
                _client = None

                def use_tenant(name):
                    global current_tenant
                    current_tenant = name

                def configure(value):
                    global settings
                    settings = value

                def count():
                    global hits
                    hits += 1

                def client():
                    global _client
                    if _client is None:
                        _client = object()
                    return _client
            """,
            "app/middleware.py": """
                from app.state import use_tenant

                def bind(request):
                    use_tenant(request["tenant"])
            """,
            "app/views.py": """
                from app import middleware, state

                state.configure({"debug": False})   # import time only

                async def handle(request):
                    middleware.bind(request)
                    state.count()
                    state.client()
                    return state.current_tenant

                async def startup():
                    state.configure({"debug": True})

                def sync_view(request):
                    middleware.bind(request)
            """,
        },
    )
    findings = lint(root, "AM301")
    assert codes(findings) == [("views.py", 6, "AM301")]
    assert "middleware.bind -> use_tenant (global current_tenant)" in findings[0]["message"]


def test_am301_unsafe_fix_converts_a_module_local_global(tmp_path):
    root = make_project(
        tmp_path,
        {
            "svc.py": """
                request_id = None

                async def handle(rid, work):
                    global request_id
                    request_id = rid
                    await work()
                    return request_id
            """,
        },
    )
    findings = lint(root, "AM301")
    assert [(f["line"], f["fixable"]) for f in findings] == [(5, False)]
    findings = lint(root, "AM301", unsafe_fixes=True)
    assert [(f["line"], f["fixable"]) for f in findings] == [(5, True)]
    # Only with --unsafe-fixes.
    lint(root, "AM301", fix=True)
    assert "global request_id" in (root / "svc.py").read_text()
    assert lint(root, "AM301", fix=True, unsafe_fixes=True) == []
    assert (root / "svc.py").read_text() == textwrap.dedent(
        """\
        import contextvars

        request_id = contextvars.ContextVar("request_id", default=None)

        async def handle(rid, work):
            request_id.set(rid)
            await work()
            return request_id.get()
        """
    )


def test_am301_no_fix_when_the_global_is_mutated_in_place(tmp_path):
    root = make_project(
        tmp_path,
        {
            "svc.py": """
                seen = {}

                async def reset(key):
                    global seen
                    seen = {}
                    seen[key] = True
            """,
        },
    )
    findings = lint(root, "AM301", unsafe_fixes=True)
    assert len(findings) == 1 and not findings[0]["fixable"]
    assert "mutated in place" in findings[0]["message"]


# -- AM302 ---------------------------------------------------------------------


def test_am302_imported_and_class_state(tmp_path):
    root = make_project(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/cache.py": """
                from collections import defaultdict

                USERS = {}
                ROOMS = defaultdict(set)
                LIMITS = (10, 20)
            """,
            "app/service.py": """
                import asyncio

                from app import cache
                from app.cache import LIMITS, USERS

                _lock = asyncio.Lock()

                async def get_user(uid, fetch):
                    if uid not in USERS:
                        USERS[uid] = await fetch(uid)
                    return USERS[uid]

                async def join(room, user, notify):
                    members = cache.ROOMS[room]
                    await notify(members)
                    cache.ROOMS[room].add(user)

                async def no_await_between(uid, value, fetch):
                    if uid not in USERS:
                        USERS[uid] = value
                    await fetch(uid)

                async def rechecked(uid, fetch):
                    if uid not in USERS:
                        value = await fetch(uid)
                        if uid not in USERS:
                            USERS[uid] = value

                async def locked(uid, fetch):
                    async with _lock:
                        if uid not in USERS:
                            USERS[uid] = await fetch(uid)

                async def constant(n, fetch):
                    if n in LIMITS:
                        await fetch(n)

                class Registry:
                    pending = []

                    def __init__(self):
                        self.done = []

                    async def drain(self, handle):
                        for item in self.pending:
                            await handle(item)
                        self.pending.clear()

                    async def finish(self, item, handle):
                        if item not in self.done:
                            await handle(item)
                            self.done.append(item)
            """,
        },
    )
    findings = lint(root, "AM302")
    assert codes(findings) == [
        ("service.py", 10, "AM302"),
        ("service.py", 16, "AM302"),
        ("service.py", 47, "AM302"),
    ]
    assert "`app.cache.USERS` is read (`uid not in USERS`) before `await fetch(uid)`" in findings[0]["message"]


# -- AM303 ---------------------------------------------------------------------


def test_am303_thread_local_imported_and_through_sync_helpers(project_copy):
    root = project_copy("thread_local_app")
    findings = lint(root, "AM303", unsafe_fixes=True)
    assert [(f["path"].split("/")[-1], f["line"], f["fixable"]) for f in findings] == [
        ("views.py", 5, False),
        ("views.py", 6, False),
        ("views.py", 7, False),
    ]
    assert "python -m codemods.contextvars . --name tl.state:_request" in findings[0]["message"]
    # Through the sync helpers of state.py.
    assert "via set_locale (threading.local _request)" in findings[1]["message"]
    assert "via current_locale (threading.local _request)" in findings[2]["message"]


def test_am303_quiet_in_sync_code_and_on_other_threading_objects(tmp_path):
    root = make_project(
        tmp_path,
        {
            "worker.py": """
                import threading

                _local = threading.local()
                _lock = threading.Lock()

                def work():
                    _local.conn = object()
                    return _local.conn

                async def handler():
                    def inner():
                        return _local.conn
                    return _lock.locked(), inner
            """,
        },
    )
    assert lint(root, "AM303") == []
