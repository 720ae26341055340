"""The public contract of `python -m lint_rules`: exit statuses, selection,
suppression, configuration, and bad input (never a traceback, never data loss)."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from conftest import lint_json, run_cli

from asyncmigrate.index import store

BUGGY = textwrap.dedent(
    """\
    import asyncio

    async def main():
        asyncio.sleep(1)
        asyncio.create_task(main())
    """
)


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "app.py").write_text(BUGGY)
    return tmp_path


def codes(findings: list[dict]) -> list[str]:
    return [f["code"] for f in findings]


def test_exit_statuses(proj):
    (proj / "clean.py").write_text("import asyncio\nasync def f():\n    await asyncio.sleep(1)\n")
    assert run_cli("clean.py", cwd=proj).returncode == 0
    assert run_cli("app.py", cwd=proj).returncode == 1
    missing = run_cli("nope.py", cwd=proj)
    assert missing.returncode == 2
    assert "path does not exist: nope.py" in missing.stderr
    assert run_cli("app.py", "--format", "yaml", cwd=proj).returncode == 2


def test_select_and_ignore_prefixes(proj):
    assert codes(lint_json("app.py", cwd=proj)[1]) == ["AM101", "AM103"]
    assert codes(lint_json("app.py", "--select", "AM103", cwd=proj)[1]) == ["AM103"]
    assert codes(lint_json("app.py", "--ignore", "AM10", cwd=proj)[1]) == []
    assert codes(lint_json("app.py", "--select", "AM1", "--ignore", "AM101", cwd=proj)[1]) == ["AM103"]
    assert codes(lint_json("app.py", "--select", "am101,AM103", cwd=proj)[1]) == ["AM101", "AM103"]


def test_config_select_ignore_and_cli_override(proj):
    (proj / "pyproject.toml").write_text("[tool.asyncmigrate]\nignore = ['AM103']\n")
    assert codes(lint_json("app.py", cwd=proj)[1]) == ["AM101"]
    # --config names another file; a bare table is accepted there.
    (proj / "strict.toml").write_text("select = ['AM103']\n")
    assert codes(lint_json("app.py", "--config", "strict.toml", cwd=proj)[1]) == ["AM103"]


@pytest.mark.parametrize(
    "comment, expected",
    [
        ("  # noqa", []),
        ("  # noqa: AM101", []),
        ("  # noqa: AM103", ["AM101"]),
        ("  # NOQA:AM101,AM999", []),
        ("  # lint-ignore: UnawaitedCoroutine", []),
        ("  # lint-ignore: DroppedTask", ["AM101"]),
    ],
)
def test_suppression_comments(proj, comment, expected):
    (proj / "app.py").write_text(
        "import asyncio\nasync def main():\n    asyncio.sleep(1)" + comment + "\n"
    )
    assert codes(lint_json("app.py", cwd=proj)[1]) == expected


def test_lint_ignore_on_line_above(proj):
    (proj / "app.py").write_text(
        "import asyncio\nasync def main():\n    # lint-ignore: UnawaitedCoroutine\n    asyncio.sleep(1)\n"
    )
    assert codes(lint_json("app.py", cwd=proj)[1]) == []


@pytest.mark.parametrize(
    "config, message",
    [
        ("[tool.asyncmigrate]\nignroe = ['AM1']\n", "unknown key(s) in [tool.asyncmigrate]: ignroe"),
        ("[tool.asyncmigrate\n", "invalid TOML"),
        ("[tool.asyncmigrate]\nbridge = 'threads'\n", "`bridge` must be one of asgiref, asyncio"),
        ("[tool.asyncmigrate]\nselect = 3\n", "`select` must be a string or a list of strings"),
    ],
)
def test_bad_configuration_is_a_usage_error(proj, config, message):
    (proj / "pyproject.toml").write_text(config)
    result = run_cli("app.py", cwd=proj)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_config_file_is_a_usage_error(proj):
    result = run_cli("app.py", "--config", "absent.toml", cwd=proj)
    assert result.returncode == 2
    assert "configuration file not found: absent.toml" in result.stderr


def test_bad_files_are_reported_and_the_run_goes_on(proj):
    (proj / "syntax.py").write_text("def broken(:\n    pass\n")
    (proj / "latin.py").write_bytes(
        b"# -*- coding: latin-1 -*-\nimport asyncio\nasync def f():\n    s = 'caf\xe9'\n    asyncio.sleep(1)\n"
    )
    (proj / "undecodable.py").write_bytes(b"s = 'caf\xe9'\n")
    (proj / "empty.py").write_bytes(b"")
    (proj / "binary.py").write_bytes(b"\x00\x01\x02\xff")
    (proj / "deep.py").write_text("x = " + "1+" * 20000 + "1\n")
    (proj / "dangling.py").symlink_to(proj / "nowhere.py")
    (proj / "loop_a.py").symlink_to(proj / "loop_b.py")
    (proj / "loop_b.py").symlink_to(proj / "loop_a.py")
    status, findings = lint_json(".", cwd=proj)
    assert status == 1
    by_file = {(Path(f["path"]).name, f["code"], f["line"]) for f in findings}
    assert ("syntax.py", "AM001", 1) in by_file
    assert ("latin.py", "AM101", 5) in by_file  # decoded through its coding cookie
    assert ("undecodable.py", "AM001", 1) in by_file
    assert ("binary.py", "AM001", 1) in by_file
    assert ("deep.py", "AM001", 1) in by_file
    assert ("dangling.py", "AM001", 1) in by_file
    assert ("loop_a.py", "AM001", 1) in by_file
    assert ("app.py", "AM101", 4) in by_file  # the good file is still linted
    assert not any(name == "empty.py" for name, _, _ in by_file)
    messages = {Path(f["path"]).name: f["message"] for f in findings if f["code"] == "AM001"}
    assert messages["syntax.py"].startswith("SyntaxError: ")
    assert messages["dangling.py"].startswith("cannot read file: ")


def test_fix_preserves_bom_crlf_tabs_and_encoding(proj):
    path = proj / "crlf.py"
    path.write_bytes(b"\xef\xbb\xbfimport asyncio\r\nasync def f():\r\n\tasyncio.sleep(1)  # why\r\n")
    latin = proj / "latin.py"
    latin.write_bytes(b"# -*- coding: latin-1 -*-\nimport asyncio\nasync def f():\n    s = '\xe9'\n    asyncio.sleep(1)\n")
    result = run_cli("crlf.py", "latin.py", "--fix", cwd=proj)
    assert result.returncode == 0, result.stdout + result.stderr
    assert path.read_bytes() == b"\xef\xbb\xbfimport asyncio\r\nasync def f():\r\n\tawait asyncio.sleep(1)  # why\r\n"
    assert latin.read_bytes().endswith(b"s = '\xe9'\n    await asyncio.sleep(1)\n")


def test_fix_leaves_unparsable_file_untouched(proj):
    broken = proj / "broken.py"
    broken.write_bytes(b"async def f(:\n    asyncio.sleep(1)\n")
    result = run_cli("broken.py", "--fix", cwd=proj)
    assert result.returncode == 1
    assert broken.read_bytes() == b"async def f(:\n    asyncio.sleep(1)\n"


def test_no_cache_writes_no_cache_dir(proj):
    cache = store.cache_dir(proj)
    assert run_cli("app.py", "--no-cache", cwd=proj).returncode == 1
    assert not cache.exists()
    assert run_cli("app.py", cwd=proj).returncode == 1
    # The cache is the user's, outside the work tree (never committed, never forged).
    assert (cache / store.CACHE_FILE).is_file()
    assert not (proj / ".asyncmigrate_cache").exists()


def test_parallel_run_matches_serial(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    for i in range(30):
        (tmp_path / f"m{i}.py").write_text(BUGGY if i % 3 == 0 else "x = 1\n")
    serial = lint_json(".", "--jobs", "1", cwd=tmp_path)[1]
    parallel = lint_json(".", "--jobs", "2", cwd=tmp_path)[1]
    assert serial == parallel
    assert len(serial) == 20


def test_asyncmigrate_lint_is_the_same_command(proj):
    result = run_cli("lint", "app.py", "--format", "json", cwd=proj, module="asyncmigrate")
    assert result.returncode == 1
    assert codes(json.loads(result.stdout)) == ["AM101", "AM103"]


def test_text_format(proj):
    result = run_cli("app.py", cwd=proj)
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "app.py:4:5: AM101 [*] coroutine `asyncio.sleep()` is never awaited: its result is dropped"
    )
    assert lines[-1] == "Found 2 findings in 1 files checked. 1 fixable with `--fix`."
    assert os.linesep not in lines[0]


NEW_SYNTAX = '''\
import asyncio

type Alias[T] = list[T]

def first[T](xs: list[T]) -> T:
    return xs[0]

async def handler(cmd, name):
    match cmd:
        case {"op": "sleep", "secs": secs}:
            asyncio.sleep(secs)
    print(f"{f'{name!r:>{10}}'}", t"{name}")
    try:
        pass
    except* ValueError:
        pass
'''


def test_syntax_up_to_314_is_linted_whatever_python_runs(proj):
    """PEP 695 generics, 3.12 nested f-strings, t-strings, match, except*: LibCST
    parses them on any supported Python, and the index reads them in their
    `asyncmigrate.syntax.downlevel` form when the running interpreter's own parser
    is older, so nothing is skipped and the fix is checked as well."""
    (proj / "modern.py").write_text(NEW_SYNTAX)
    status, findings = lint_json("modern.py", cwd=proj)
    assert [(f["line"], f["code"]) for f in findings] == [(11, "AM101")]
    result = run_cli("modern.py", "--fix", cwd=proj)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "            await asyncio.sleep(secs)\n" in (proj / "modern.py").read_text()
