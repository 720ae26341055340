"""The coroutine rules (AM1xx) on the multi-module demo project, through the CLI."""

from __future__ import annotations

import json
from conftest import FIXTURES, lint_json, run_cli

# (path, line, column, code): every finding in fixtures/demo/shop, and nothing else.
# Negative cases in the same files (awaited, gathered, stored in a list, handed to
# create_task, returned from a sync factory, sync methods) must stay silent.
EXPECTED = [
    ("shop/app.py", 20, 5, "AM102"),  # main() dropped under `if __name__ == "__main__":`
    ("shop/db/base.py", 32, 16, "AM101"),  # cls.connect() returned un-awaited (cls -> classmethod)
    ("shop/db/users.py", 11, 9, "AM101"),  # super().save() in a subclass in another module
    ("shop/db/users.py", 18, 9, "AM102"),  # self.save() from a sync method
    ("shop/services/orders.py", 18, 9, "AM101"),  # self.audit = db.Repository() (package re-export)
    ("shop/services/orders.py", 19, 12, "AM101"),  # notify.send_email() as an `if` test
    ("shop/services/orders.py", 21, 9, "AM101"),  # `from .notify import send_email as mail`
    ("shop/services/orders.py", 33, 16, "AM101"),  # repo: UserRepo annotation; inherited fetch
    ("shop/services/orders.py", 46, 25, "AM250"),  # function-local import; blocks two calls down
    ("shop/streams.py", 17, 5, "AM104"),  # with asyncio.Lock()
    ("shop/streams.py", 19, 5, "AM104"),  # for over an async generator method
    ("shop/streams.py", 23, 5, "AM104"),  # with an @asynccontextmanager function
    ("shop/streams.py", 30, 5, "AM103"),  # loop.create_task() dropped (loop from get_event_loop)
    ("shop/streams.py", 34, 5, "AM103"),  # asyncio.create_task() dropped
]


def test_exact_findings_on_demo(project_copy):
    demo = project_copy("demo")
    status, findings = lint_json("shop", cwd=demo)
    assert status == 1
    got = [(f["path"], f["line"], f["column"], f["code"]) for f in findings]
    assert got == EXPECTED


def test_json_contract_fields(project_copy):
    demo = project_copy("demo")
    _, findings = lint_json("shop/services/orders.py", cwd=demo)
    first = findings[0]
    assert set(first) == {
        "path", "line", "column", "end_line", "end_column", "code", "message", "fixable"
    }
    assert first["path"] == "shop/services/orders.py"
    assert first["message"] == (
        "coroutine `shop.db.base.Repository.save()` is never awaited: its result is dropped"
    )
    assert first["fixable"] is True
    assert (first["end_line"], first["end_column"]) == (18, 40)


def test_one_file_still_sees_the_whole_project(project_copy):
    """pre-commit passes only changed files; resolution must still cross modules."""
    demo = project_copy("demo")
    _, findings = lint_json("shop/db/users.py", cwd=demo)
    assert [(f["line"], f["code"]) for f in findings] == [(11, "AM101"), (18, "AM102")]
    assert "shop.db.base.Repository.save" in findings[0]["message"]


def test_paths_are_joined_as_given(project_copy):
    demo = project_copy("demo")
    _, findings = lint_json(str(demo / "shop" / "db"), cwd=demo.parent)
    assert {f["path"] for f in findings} == {str(demo / "shop" / "db" / "base.py"), str(demo / "shop" / "db" / "users.py")}


def test_fix_gives_expected_tree_compiles_and_is_idempotent(project_copy):
    demo = project_copy("demo")
    first = run_cli("shop", "--fix", cwd=demo)
    assert first.returncode == 1  # AM102, AM103 and AM250 have no fix and remain
    assert "fixed 4 in shop/services/orders.py" in first.stderr
    expected_root = FIXTURES / "demo_fixed" / "shop"
    expected = sorted(p.relative_to(expected_root) for p in expected_root.rglob("*.py"))
    actual_root = demo / "shop"
    actual = sorted(p.relative_to(actual_root) for p in actual_root.rglob("*.py"))
    assert actual == expected
    for rel in expected:
        text = (actual_root / rel).read_text()
        assert text == (expected_root / rel).read_text(), rel
        compile(text, str(rel), "exec")
    remaining = json.loads(run_cli("shop", "--format", "json", cwd=demo).stdout)
    assert sorted({f["code"] for f in remaining}) == ["AM102", "AM103", "AM250"]
    before = {rel: (actual_root / rel).read_bytes() for rel in expected}
    second = run_cli("shop", "--fix", cwd=demo)
    assert "fixed" not in second.stderr
    assert {rel: (actual_root / rel).read_bytes() for rel in expected} == before


def test_diff_prints_and_writes_nothing(project_copy):
    demo = project_copy("demo")
    before = (demo / "shop" / "streams.py").read_bytes()
    result = run_cli("shop/streams.py", "--diff", cwd=demo)
    assert result.returncode == 1
    assert "-    with _lock:" in result.stdout
    assert "+    async with _lock:" in result.stdout
    assert result.stdout.startswith("--- a/shop/streams.py\n+++ b/shop/streams.py\n")
    assert (demo / "shop" / "streams.py").read_bytes() == before


def test_config_exclude_skips_broken_scratch_dir(project_copy):
    """fixtures/demo excludes `scratch` (a file that does not parse) in its config."""
    demo = project_copy("demo")
    _, findings = lint_json(".", cwd=demo)
    assert not any("scratch" in f["path"] for f in findings)
    result = run_cli("scratch/broken.py", "--format", "json", cwd=demo)
    # Naming an excluded file explicitly still lints it (as Ruff does without --force-exclude).
    assert json.loads(result.stdout)[0]["code"] == "AM001"

