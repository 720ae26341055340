"""The index store: an unchanged file is recognised from its metadata, and a run
reads only the summaries it asks for."""

from __future__ import annotations

import os
import sqlite3

from asyncmigrate.config import Config
from asyncmigrate.index.store import CACHE_FILE, ProjectIndex, cache_dir

FILES = {
    "app/__init__.py": "",
    "app/a.py": "import asyncio\n\n\nasync def a():\n    await asyncio.sleep(1)\n",
    "app/b.py": "from .a import a\n\n\ndef b():\n    return a\n",
    "app/c.py": "X = 1\n",
}
#: an mtime well in the past: files this old are recognised by their metadata
PAST = 1_600_000_000


def _project(tmp_path):
    root = tmp_path / "proj"
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
        os.utime(root / rel, (PAST, PAST))
    (root / "pyproject.toml").write_text("")
    return root


def test_unchanged_files_are_not_read_again(tmp_path):
    root = _project(tmp_path)
    config = Config(root=root)
    first = ProjectIndex.build(config)
    assert (first.stats.parsed, first.stats.hashed) == (len(FILES), len(FILES))
    second = ProjectIndex.build(config)
    assert (second.stats.parsed, second.stats.hashed, second.stats.cached) == (0, 0, len(FILES))
    assert second.fingerprint == first.fingerprint
    # Same content, other metadata: hashed again, not parsed again.
    os.utime(root / "app/c.py", (PAST + 10, PAST + 10))
    third = ProjectIndex.build(config)
    assert (third.stats.parsed, third.stats.hashed) == (0, 1)
    # Other content of the same size and mtime is still seen when the inode
    # changes (an editor that writes a new file and renames it over the old one).
    replacement = root / "app/c.tmp"
    replacement.write_text("X = 2\n")
    os.utime(replacement, (PAST + 10, PAST + 10))
    os.replace(replacement, root / "app/c.py")
    fourth = ProjectIndex.build(config)
    assert fourth.stats.parsed == 1
    assert fourth.fingerprint != first.fingerprint


def test_a_recently_changed_file_is_hashed_each_time(tmp_path):
    """Its mtime could stay the same through another edit within the clock's
    granularity, so its metadata is not trusted."""
    root = _project(tmp_path)
    (root / "app/c.py").write_text("X = 3\n")
    ProjectIndex.build(Config(root=root))
    assert ProjectIndex.build(Config(root=root)).stats.hashed == 1


def test_summaries_are_read_when_asked_for(tmp_path):
    root = _project(tmp_path)
    config = Config(root=root)
    built = ProjectIndex.build(config)
    index = ProjectIndex.build(config)
    assert index.by_path._fetched == {}  # nothing read yet
    assert index.module("app.b") == built.module("app.b")
    assert set(index.by_path._fetched) == {"app/b.py"}
    assert sorted(s["name"] for s in index.summaries()) == sorted(s["name"] for s in built.summaries())
    assert "app.a" in index.by_name and index.module_for_path(root / "app/a.py")["name"] == "app.a"


def test_an_overlay_does_not_change_the_index(tmp_path):
    root = _project(tmp_path)
    index = ProjectIndex.build(Config(root=root))
    view = index.overlaid("app/c.py", ["app.c"], b"def added(): ...\n")
    assert "added" in view.module("app.c")["functions"]
    assert "added" not in index.module("app.c")["functions"]
    assert view.fingerprint != index.fingerprint


def test_deleted_files_leave_the_cache(tmp_path):
    root = _project(tmp_path)
    ProjectIndex.build(Config(root=root))
    (root / "app/c.py").unlink()
    index = ProjectIndex.build(Config(root=root))
    assert index.module("app.c") is None
    db = sqlite3.connect(cache_dir(root) / CACHE_FILE)
    assert "app/c.py" not in {rel for (rel,) in db.execute("SELECT rel FROM modules")}
    db.close()


def test_derived_results_are_kept_per_project_state(tmp_path):
    root = _project(tmp_path)
    index = ProjectIndex.build(Config(root=root))
    index.save_derived("answer", {"key": "k", "value": 42})
    assert ProjectIndex.build(Config(root=root)).derived["answer"]["value"] == 42
    (root / "app/c.py").write_text("X = 4\n")
    assert "answer" not in ProjectIndex.build(Config(root=root)).derived


def test_without_a_cache_nothing_is_written(tmp_path):
    root = _project(tmp_path)
    index = ProjectIndex.build(Config(root=root), use_cache=False)
    index.save_derived("answer", {"key": "k"})
    assert index.derived["answer"] == {"key": "k"}
    assert not cache_dir(root).exists()
