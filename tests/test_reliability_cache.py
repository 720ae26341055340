"""The index cache cannot be forged, and a broken one is never trusted nor fatal.

The cache holds facts the rules trust: a cache that says a file makes no calls hides
the file's blocking calls. So it lives in the user's cache directory, never in the
work tree a pull request controls, and whatever is found there is checked before it
is used: anything odd is one line on stderr and a rebuild, never a crash, never a
write outside the cache folder.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from conftest import BLOCKING_APP, run_cli

from asyncmigrate.index import store

APP = BLOCKING_APP
FINDING = "app.py:5:5: AM201"


@pytest.fixture
def proj(blocking_app: Path) -> Path:
    return blocking_app


def _lint(proj: Path, *args: str):
    result = run_cli("app.py", *args, cwd=proj)
    assert "Traceback" not in result.stderr, result.stderr
    assert (proj / "app.py").read_bytes() == APP
    return result


def _cache_file(proj: Path) -> Path:
    return store.cache_dir(proj) / store.CACHE_FILE


def _execute(proj: Path, sql: str, *params) -> list[tuple]:
    db = sqlite3.connect(_cache_file(proj), isolation_level=None)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def _set_summary_text(proj: Path, text: str) -> None:
    """Replace the cached summary of app.py by `text`, and drop the cached findings
    (which would otherwise answer without the summary being read)."""
    _execute(proj, "UPDATE modules SET summary = ? WHERE rel = 'app.py'", text)
    _execute(proj, "DELETE FROM results")


def _summary(proj: Path) -> dict:
    return json.loads(_execute(proj, "SELECT summary FROM modules WHERE rel = 'app.py'")[0][0])


def _forged(proj: Path) -> dict:
    """The real cached summary of app.py, with the handler's call records removed
    under the file's true content hash: read as it is, it would hide the AM201."""
    summary = _summary(proj)
    summary["functions"]["handler"]["calls"] = []
    return summary


def _forge(proj: Path) -> None:
    _set_summary_text(proj, json.dumps(_forged(proj)))


def _assert_finds_and_rebuilds(proj: Path, reason: str) -> None:
    result = _lint(proj)
    assert result.returncode == 1 and FINDING in result.stdout, result.stdout + result.stderr
    line = f"asyncmigrate: cache ignored ({reason}"
    assert [text for text in result.stderr.splitlines() if text.startswith(line)], result.stderr
    assert result.stderr.count("cache ignored") == 1


def test_the_cache_is_outside_the_work_tree(proj, private_cache):
    assert _lint(proj).returncode == 1
    cache = _cache_file(proj)
    assert cache.is_file() and private_cache in cache.parents
    assert sorted(p.name for p in proj.iterdir()) == ["app.py", "pyproject.toml"]
    assert store.cache_dir(proj).stat().st_mode & 0o077 == 0  # the user's alone


def test_the_forgery_would_hide_the_finding_if_it_were_trusted(proj):
    """What the other tests defend against: the user's own cache is trusted, so
    editing it does hide findings (which is why nothing else may write it)."""
    _lint(proj)
    _forge(proj)
    assert _lint(proj).returncode == 0


def test_forged_cached_findings_would_hide_the_finding_too(proj):
    """The findings cache is trusted the same way (and lives in the same place)."""
    _lint(proj)
    _execute(proj, "UPDATE results SET value = '[]'")
    assert _lint(proj).returncode == 0


def test_a_cache_committed_to_the_work_tree_is_never_read(proj, tmp_path, monkeypatch):
    _lint(proj)
    forged = tmp_path / "forged.sqlite3"
    _forge(proj)
    _cache_file(proj).rename(forged)
    committed = proj / ".asyncmigrate_cache"
    committed.mkdir()
    (committed / store.CACHE_FILE).write_bytes(forged.read_bytes())
    (committed / "index.json").write_text(json.dumps({"files": {"app.py": {"summary": _forged_json()}}}))
    for fresh in (False, True):  # with the user's own cache, and on a machine without one
        if fresh:
            monkeypatch.setenv(store.CACHE_ENV, str(tmp_path / "empty-cache"))
        result = _lint(proj)
        assert result.returncode == 1 and FINDING in result.stdout
    assert (committed / store.CACHE_FILE).read_bytes() == forged.read_bytes()


def _forged_json() -> dict:
    return {"functions": {"handler": {"calls": []}}}


@pytest.mark.parametrize(
    "text, reason",
    [
        ("{not json", "not valid JSON"),
        ("[1]", "malformed entry for app.py"),
        ('"x"', "malformed entry for app.py"),
        ("null", "malformed entry for app.py"),
    ],
)
def test_a_summary_of_the_wrong_shape_is_rebuilt(proj, text, reason):
    _lint(proj)
    _set_summary_text(proj, text)
    _assert_finds_and_rebuilds(proj, reason)
    # The rebuilt cache is sound again: the next run is silent about it.
    assert "cache ignored" not in _lint(proj).stderr


def test_a_cache_of_another_version_is_rebuilt(proj):
    _lint(proj)
    _execute(proj, "UPDATE meta SET value = '0/0' WHERE key = 'key'")
    _assert_finds_and_rebuilds(proj, "written by another version")
    assert "cache ignored" not in _lint(proj).stderr


def test_a_derived_analysis_of_the_wrong_shape_is_recomputed(proj):
    _lint(proj)
    _execute(proj, "UPDATE derived SET value = '[]'")
    _execute(proj, "DELETE FROM results")
    _assert_finds_and_rebuilds(proj, "derived `")
    assert "cache ignored" not in _lint(proj).stderr


@pytest.mark.parametrize("value", ["{not json", '[[1, 2]]', '[[1, 1, 1, 1, "AM201", "m", "no", ""]]', '{}'])
def test_cached_findings_of_the_wrong_shape_are_not_used(proj, value):
    _lint(proj)
    _execute(proj, "UPDATE results SET value = ?", value)
    _assert_finds_and_rebuilds(proj, "malformed findings of app.py")
    assert "cache ignored" not in _lint(proj).stderr


@pytest.mark.parametrize(
    "field, value, reason",
    [
        ("functions", [], "malformed field `functions`"),
        ("imports", "time", "malformed field `imports`"),
        ("has_async", None, "malformed field `has_async`"),
        ("name", 3, "malformed summary"),
        ("schema", 1, "malformed summary"),
        ("surprise", 1, "malformed field `surprise`"),  # a field no summary has
    ],
)
def test_a_summary_field_of_the_wrong_type_is_rebuilt(proj, field, value, reason):
    _lint(proj)
    summary = _summary(proj)
    summary[field] = value
    _set_summary_text(proj, json.dumps(summary))
    _assert_finds_and_rebuilds(proj, reason)


def test_deep_nesting_is_rejected_without_a_crash(proj):
    _lint(proj)
    depth = 200_000
    _set_summary_text(proj, "[" * depth + "]" * depth)
    _assert_finds_and_rebuilds(proj, "nested too deeply")


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe\x00" * 200, b"SQLite format 3\x00" + b"\x07" * 4000])
def test_a_cache_that_is_not_a_database_is_rebuilt(proj, content):
    _lint(proj)
    _cache_file(proj).write_bytes(content)
    _assert_finds_and_rebuilds(proj, "not a")
    assert "cache ignored" not in _lint(proj).stderr


def test_a_truncated_database_is_rebuilt(proj):
    _lint(proj)
    cache = _cache_file(proj)
    data = cache.read_bytes()
    cache.write_bytes(data[: len(data) // 2])
    result = _lint(proj)
    assert result.returncode == 1 and FINDING in result.stdout
    assert result.stderr.count("cache ignored") <= 1
    second = _lint(proj)
    assert FINDING in second.stdout and "cache ignored" not in second.stderr


def test_an_empty_database_file_is_filled_again(proj):
    _lint(proj)
    _cache_file(proj).write_bytes(b"")
    result = _lint(proj)
    assert result.returncode == 1 and FINDING in result.stdout
    assert _execute(proj, "SELECT rel FROM modules") == [("app.py",)]


def test_a_cache_file_that_is_a_symlink_is_not_followed(proj, tmp_path):
    _lint(proj)
    cache = _cache_file(proj)
    cache.unlink()
    cache.symlink_to("/dev/zero")  # followed, it would be read until memory runs out
    _assert_finds_and_rebuilds(proj, f"{store.CACHE_FILE} is a symlink")
    # The rebuild replaced the link, not what it points to.
    assert cache.is_file() and not cache.is_symlink()

    # A link to a forged cache elsewhere is not read either.
    forged = tmp_path / "forged.sqlite3"
    _forge(proj)
    cache.rename(forged)
    cache.symlink_to(forged)
    before = forged.read_bytes()
    _assert_finds_and_rebuilds(proj, f"{store.CACHE_FILE} is a symlink")
    assert forged.read_bytes() == before


def test_a_cache_file_that_is_a_fifo_does_not_hang(proj):
    _lint(proj)
    cache = _cache_file(proj)
    cache.unlink()
    os.mkfifo(cache)
    _assert_finds_and_rebuilds(proj, f"{store.CACHE_FILE}: not a regular file (a FIFO)")


def test_a_cache_over_the_size_bound_is_not_read(proj):
    _lint(proj)
    cache = _cache_file(proj)
    with open(cache, "r+b") as f:  # sparse: no disk is used
        f.truncate(store.MAX_CACHE_BYTES + 1)
    _assert_finds_and_rebuilds(proj, f"{store.CACHE_FILE}: larger than the 512 MiB limit")


def test_a_symlinked_cache_folder_writes_nothing_outside(proj, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    folder = store.cache_dir(proj)
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.symlink_to(elsewhere, target_is_directory=True)
    for _ in range(2):
        _assert_finds_and_rebuilds(proj, f"{folder} is a symlink")
    assert list(elsewhere.iterdir()) == []
    assert folder.is_symlink()


def test_a_symlinked_in_tree_cache_folder_writes_nothing_outside(proj, tmp_path):
    """The old in-tree location is not used at all: a `.asyncmigrate_cache` link a
    pull request commits (to the user's home, say) gets nothing written through it."""
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    (proj / ".asyncmigrate_cache").symlink_to(elsewhere, target_is_directory=True)
    assert _lint(proj).returncode == 1
    assert _lint(proj).returncode == 1
    assert list(elsewhere.iterdir()) == []


def test_a_cache_folder_writable_by_others_is_not_trusted(proj):
    _lint(proj)
    folder = store.cache_dir(proj)
    folder.chmod(0o777)
    _assert_finds_and_rebuilds(proj, f"{folder} is writable by other users")


def test_no_cache_neither_reads_nor_writes(proj):
    _lint(proj)
    _forge(proj)
    before = _cache_file(proj).read_bytes()
    result = _lint(proj, "--no-cache")
    assert result.returncode == 1 and "cache ignored" not in result.stderr
    assert _cache_file(proj).read_bytes() == before


def test_the_cache_directory_can_be_set(proj, tmp_path, monkeypatch):
    chosen = tmp_path / "chosen"
    monkeypatch.setenv(store.CACHE_ENV, str(chosen))
    _lint(proj)
    assert _cache_file(proj).is_file() and chosen in _cache_file(proj).parents
    monkeypatch.delenv(store.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert store.cache_dir(proj).parent == tmp_path / "xdg" / "asyncmigrate"
