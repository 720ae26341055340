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


def _forged(proj: Path) -> dict:
    """The real cache of `proj`, with the handler's call records removed under the
    file's true content hash: read as it is, it would hide the AM201."""
    payload = json.loads(_cache_file(proj).read_text())
    summary = payload["files"]["app.py"]["summary"]
    summary["functions"]["handler"]["calls"] = []
    return payload


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
    _cache_file(proj).write_text(json.dumps(_forged(proj)))
    assert _lint(proj).returncode == 0


def test_a_cache_committed_to_the_work_tree_is_never_read(proj, tmp_path, monkeypatch):
    _lint(proj)
    forged = _forged(proj)
    committed = proj / ".asyncmigrate_cache"
    committed.mkdir()
    (committed / "index.json").write_text(json.dumps(forged))
    for fresh in (False, True):  # with the user's own cache, and on a machine without one
        if fresh:
            monkeypatch.setenv(store.CACHE_ENV, str(tmp_path / "empty-cache"))
        result = _lint(proj)
        assert result.returncode == 1 and FINDING in result.stdout
    assert json.loads((committed / "index.json").read_text()) == forged


@pytest.mark.parametrize(
    "edit, reason",
    [
        (lambda p: {**p, "files": []}, "`files` is not an object"),
        (lambda p: {**p, "files": {"app.py": {"hash": 5, "summary": {}}}}, "malformed entry for app.py"),
        (lambda p: {**p, "files": {"app.py": "x"}}, "malformed entry for app.py"),
        (lambda p: {**p, "fingerprint": None}, "`fingerprint` is not a string"),
        (lambda p: {**p, "derived": []}, "`derived` is not an object"),
        (lambda p: [p], "not a JSON object"),
        (lambda p: {**p, "key": "0/0"}, "written by another version"),
    ],
)
def test_a_cache_of_the_wrong_shape_is_rebuilt(proj, edit, reason):
    _lint(proj)
    _cache_file(proj).write_text(json.dumps(edit(json.loads(_cache_file(proj).read_text()))))
    _assert_finds_and_rebuilds(proj, reason)
    # The rebuilt cache is sound again: the next run is silent about it.
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
    payload = json.loads(_cache_file(proj).read_text())
    payload["files"]["app.py"]["summary"][field] = value
    _cache_file(proj).write_text(json.dumps(payload))
    _assert_finds_and_rebuilds(proj, reason)


def test_deep_nesting_is_rejected_without_a_crash(proj):
    _lint(proj)
    depth = 200_000
    key = json.dumps(store._CACHE_KEY)
    _cache_file(proj).write_text('{"key": %s, "files": %s%s}' % (key, "[" * depth, "]" * depth))
    _assert_finds_and_rebuilds(proj, "nested too deeply")


@pytest.mark.parametrize("content", [b"", b"{not json", b"\xff\xfe\x00", b"null"])
def test_a_cache_that_is_not_json_is_rebuilt(proj, content):
    _lint(proj)
    _cache_file(proj).write_bytes(content)
    reason = "not a JSON object" if content == b"null" else "not valid JSON"
    _assert_finds_and_rebuilds(proj, reason)


def test_a_cache_file_that_is_a_symlink_is_not_followed(proj, tmp_path):
    _lint(proj)
    cache = _cache_file(proj)
    cache.unlink()
    cache.symlink_to("/dev/zero")  # followed, it would be read until memory runs out
    _assert_finds_and_rebuilds(proj, "index.json is a symlink")
    # The rebuild replaced the link, not what it points to.
    assert cache.is_file() and not cache.is_symlink()

    # A link to a forged cache elsewhere is not read either.
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(_forged(proj)))
    cache.unlink()
    cache.symlink_to(forged)
    before = forged.read_bytes()
    _assert_finds_and_rebuilds(proj, "index.json is a symlink")
    assert forged.read_bytes() == before


def test_a_cache_file_that_is_a_fifo_does_not_hang(proj):
    _lint(proj)
    cache = _cache_file(proj)
    cache.unlink()
    os.mkfifo(cache)
    _assert_finds_and_rebuilds(proj, "index.json: not a regular file (a FIFO)")


def test_a_cache_over_the_size_bound_is_not_read(proj):
    _lint(proj)
    cache = _cache_file(proj)
    with open(cache, "r+b") as f:  # sparse: no disk is used
        f.truncate(store.MAX_CACHE_BYTES + 1)
    _assert_finds_and_rebuilds(proj, "index.json: larger than the 512 MiB limit")


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
    _cache_file(proj).write_text(json.dumps(_forged(proj)))
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
