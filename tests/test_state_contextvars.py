"""`python -m codemods.contextvars`: exact output on a multi-module fixture with
`from x import G` importers, idempotence, refusals, threading.local, and the
behaviour it exists for: two concurrent requests each see their own user."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import FIXTURES, run_cli, write_files

CODEMOD = "codemods.contextvars"


def python_files(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text()
        for p in sorted(root.rglob("*.py"))
        if ".asyncmigrate_cache" not in p.parts and "__pycache__" not in p.parts
    }


def serve(root: Path) -> list[dict]:
    """Run the fixture's server: two concurrent requests on one event loop."""
    result = subprocess.run(
        [sys.executable, "-m", "webapp.server"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_global_to_contextvar_exact_output_and_second_run_is_a_noop(project_copy):
    root = project_copy("state_app/input")
    result = run_cli(".", "--name", "webapp.context:current_user", cwd=root, module=CODEMOD)
    assert result.returncode == 0, result.stderr
    assert "3 file(s)" in result.stderr
    expected = python_files(FIXTURES / "state_app" / "expected")
    assert python_files(root) == expected
    for rel, text in expected.items():
        compile(text, rel, "exec")
    again = run_cli(".", "--name", "webapp.context:current_user", cwd=root, module=CODEMOD)
    assert again.returncode == 0, again.stderr
    assert "already a ContextVar" in again.stderr
    assert python_files(root) == expected
    check = run_cli(".", "--name", "webapp.context:current_user", "--check", cwd=root, module=CODEMOD)
    assert check.returncode == 0


def test_concurrent_requests_see_their_own_user_only_after_the_codemod(project_copy):
    root = project_copy("state_app/input")
    before = serve(root)
    # One request overwrote the other's user; the `from ... import` importer even
    # kept the value from import time.
    assert [r["user"] for r in before] == ["bob", "bob"]
    assert before[0]["audit"] == "None did profile"

    result = run_cli(".", "--name", "webapp.context:current_user", cwd=root, module=CODEMOD)
    assert result.returncode == 0, result.stderr
    after = serve(root)
    for response in after:
        user = response["token"].removeprefix("token-")
        assert response["user"] == response["via_helper"] == user
        assert response["audit"] == f"{user} did profile"


def test_diff_writes_nothing(project_copy):
    root = project_copy("state_app/input")
    before = python_files(root)
    result = run_cli(".", "--name", "webapp.context:current_user", "--diff", cwd=root, module=CODEMOD)
    assert result.returncode == 0
    assert "+current_user = contextvars.ContextVar(\"current_user\", default=None)" in result.stdout
    assert "-    return f\"{current_user} did {action}\"" in result.stdout
    assert python_files(root) == before


def test_thread_local_becomes_one_contextvar_per_attribute(project_copy):
    root = project_copy("thread_local_app")
    result = run_cli(".", "--name", "tl.state:_request", cwd=root, module=CODEMOD)
    assert result.returncode == 0, result.stderr
    assert (root / "tl/state.py").read_text() == textwrap.dedent(
        """\
        import contextvars

        _request_locale = contextvars.ContextVar("_request_locale")
        _request_user = contextvars.ContextVar("_request_user")


        def set_locale(lang):
            _request_locale.set(lang)


        def current_locale():
            return _request_locale.get("en")
        """
    )
    assert (root / "tl/views.py").read_text() == textwrap.dedent(
        """\
        from tl.state import _request_user, current_locale, set_locale


        async def greet(user, lang):
            _request_user.set(user)
            set_locale(lang)
            return f"{_request_user.get()} ({current_locale()})"
        """
    )
    program = (
        "import asyncio\nfrom tl.views import greet\n"
        "async def main():\n    print(await asyncio.gather(greet('alice', 'fr'), greet('bob', 'de')))\n"
        "asyncio.run(main())\n"
    )
    ran = subprocess.run([sys.executable, "-c", program], cwd=root, capture_output=True, text=True, timeout=60)
    assert ran.stdout.strip() == "['alice (fr)', 'bob (de)']", ran.stderr
    again = run_cli(".", "--name", "tl.state:_request", "--check", cwd=root, module=CODEMOD)
    assert again.returncode == 0, again.stderr


def write_project(root: Path, files: dict[str, str]) -> Path:
    (root / "pyproject.toml").write_text('[project]\nname = "app"\n')
    return write_files(root, files, strip=True)


def test_refuses_a_global_mutated_in_place(tmp_path):
    root = write_project(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/cache.py": """
                _cache = {}

                def reset():
                    global _cache
                    _cache = {}
            """,
            "app/users.py": """
                from app.cache import _cache

                async def get(uid, fetch):
                    if uid not in _cache:
                        _cache[uid] = await fetch(uid)
                    return _cache[uid]
            """,
        },
    )
    before = python_files(root)
    result = run_cli(".", "--name", "app.cache:_cache", cwd=root, module=CODEMOD)
    assert result.returncode == 1
    assert "app/users.py:5: `_cache` is mutated in place (item assignment)" in result.stderr
    assert "asyncio.Lock" in result.stderr
    assert python_files(root) == before


def test_refuses_when_a_user_is_outside_path_and_on_unpackable_bindings(tmp_path):
    root = write_project(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/ctx.py": """
                user = None
                role = None

                def login(name, r):
                    global user, role
                    user, role = name, r
            """,
            "scripts/report.py": """
                import app.ctx

                def who():
                    return app.ctx.user
            """,
        },
    )
    before = python_files(root)
    outside = run_cli("app", "--name", "app.ctx:user", cwd=root, module=CODEMOD)
    assert outside.returncode == 1
    assert "app/ctx.py:6: `user` is bound by tuple unpacking" in outside.stderr
    assert python_files(root) == before
    (root / "app/ctx.py").write_text("user = None\n\ndef login(name):\n    global user\n    user = name\n")
    outside = run_cli("app", "--name", "app.ctx:user", cwd=root, module=CODEMOD)
    assert outside.returncode == 1
    assert "scripts/report.py uses `user` but is outside the paths being rewritten" in outside.stderr
    assert (root / "app/ctx.py").read_text().startswith("user = None")


def test_module_attribute_access_and_global_statements(tmp_path):
    root = write_project(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/ctx.py": """
                user = None
                role = None

                def login(name, r):
                    global user, role
                    user = name
                    role = r
            """,
            "app/report.py": """
                import app.ctx
                from app import ctx as c

                def who():
                    return app.ctx.user, c.user

                def force(name):
                    c.user = name
            """,
        },
    )
    result = run_cli(".", "--name", "app.ctx:user", cwd=root, module=CODEMOD)
    assert result.returncode == 0, result.stderr
    assert (root / "app/ctx.py").read_text() == textwrap.dedent(
        """\
        import contextvars

        user = contextvars.ContextVar("user", default=None)
        role = None

        def login(name, r):
            global role
            user.set(name)
            role = r
        """
    )
    assert (root / "app/report.py").read_text() == textwrap.dedent(
        """\
        import app.ctx
        from app import ctx as c

        def who():
            return app.ctx.user.get(), c.user.get()

        def force(name):
            c.user.set(name)
        """
    )


def test_usage_errors(tmp_path):
    root = write_project(tmp_path, {"m.py": "x = 1\n"})
    missing = run_cli("nope", "--name", "m:x", cwd=root, module=CODEMOD)
    assert missing.returncode == 2
    bad = run_cli(".", "--name", "m.x", cwd=root, module=CODEMOD)
    assert bad.returncode == 1 and "expected MODULE:NAME" in bad.stderr
