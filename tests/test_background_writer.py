"""A user keeps saving files while `lint --fix` and `asyncify` run (an editor, a
`git checkout`): every user edit survives, every file is its old text, its new
text or the user's, no temporary file is left, and a re-run once the user stops
reaches the uninterrupted result."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import REPO
from test_asyncify_interrupt import _make_project, _tree
from test_reliability_interrupt import FIXED, ORIGINAL
from test_reliability_interrupt import _tree as _lint_tree


class _User(threading.Thread):
    """Saves one of `files` every `every` seconds, the way editors do (a new file
    moved over the old one), appending a numbered comment; remembers what it saved
    last in each file."""

    def __init__(self, root: Path, files: list[str], every: float, seed: int):
        super().__init__(daemon=True)
        self.root, self.files, self.every = root, files, every
        self.random = random.Random(seed)
        self.stop = threading.Event()
        self.saved: dict[str, str] = {}
        self.scratch = root.parent / f"{root.name}-editor"
        self.scratch.mkdir()

    def run(self) -> None:
        n = 0
        while not self.stop.wait(self.every):
            rel = self.random.choice(self.files)
            path = self.root / rel
            text = path.read_text() + f"# user edit {n}\n"
            draft = self.scratch / "draft"
            draft.write_text(text)
            os.replace(draft, path)
            self.saved[rel] = text
            n += 1

    def finish(self) -> dict[str, str]:
        self.stop.set()
        self.join()
        return self.saved


def _start(root: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *args], cwd=root, env=dict(os.environ, PYTHONPATH=str(REPO)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _run_while_user_saves(root: Path, user: _User, delay: float, *args: str) -> dict[str, str]:
    """Run `python ARGS` in `root` with `user` saving files from `delay` seconds on;
    the run must end as a finished or findings run, without a traceback. Returns
    what the user saved last in each file."""
    run = _start(root, *args)
    time.sleep(delay)
    user.start()
    _, err = run.communicate(timeout=300)
    saved = user.finish()
    assert run.returncode in (0, 1), err
    assert "Traceback" not in err
    assert saved, f"the user saved nothing while {' '.join(args)} ran"
    return saved


def _last_edit(text: str) -> str:
    return [line for line in text.splitlines() if line.startswith("# user edit")][-1]


def test_lint_fix_never_loses_an_edit_saved_while_it_runs(tmp_path, private_cache):
    root = _lint_tree(tmp_path / "tree")
    names = sorted(p.name for p in root.glob("m*.py"))
    user = _User(root, names, every=0.02, seed=1)
    saved = _run_while_user_saves(root, user, 0.5, "-m", "asyncmigrate", "lint", ".", "--fix", "--jobs", "2")
    for name in names:
        text = (root / name).read_text()
        if name in saved:  # the user's last save, fixed or not, never an older text
            assert text in (saved[name], saved[name].replace("    asyncio.sleep(1)", "    await asyncio.sleep(1)"))
            assert _last_edit(text) == _last_edit(saved[name])
        else:
            assert text in (ORIGINAL, FIXED), name
    assert not list(root.rglob("*.tmp")) and not list(private_cache.rglob("*.tmp"))
    again = _start(root, "-m", "asyncmigrate", "lint", ".", "--fix")
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    for name in names:
        expected = FIXED + "".join(line + "\n" for line in saved.get(name, "").splitlines() if line.startswith("#"))
        assert (root / name).read_text() == expected


def test_asyncify_never_loses_an_edit_saved_while_it_runs(tmp_path):
    """asyncify writes all its files or none: with the user saving throughout, the
    files nobody edited are all old or all new, and the edited ones keep the edit."""
    root = tmp_path / "project"
    _make_project(root)
    before = _tree(root)
    reference = tmp_path / "reference"
    _make_project(reference)
    done = _start(reference, "-m", "codemods.asyncify", ".", "--no-cache", "--bridge", "asyncio")
    assert done.wait(timeout=300) == 0
    after = _tree(reference)

    modules = [rel for rel in before if rel.startswith("pkg/m")]
    user = _User(root, modules, every=0.05, seed=2)
    saved = _run_while_user_saves(root, user, 0.3, "-m", "codemods.asyncify", ".", "--no-cache", "--bridge", "asyncio")
    now = _tree(root)
    untouched = {rel: now[rel] for rel in now if rel not in saved}
    states = {rel: "old" if text == before[rel] else "new" if text == after[rel] else "other" for rel, text in untouched.items()}
    assert len(set(states.values())) == 1 and "other" not in states.values(), states
    for rel, text in saved.items():
        assert _last_edit(now[rel].decode()) == _last_edit(text)
    assert not list(root.rglob("*.tmp"))

    again = _start(root, "-m", "codemods.asyncify", ".", "--no-cache", "--bridge", "asyncio")
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    final = _tree(root)
    for rel, text in after.items():
        edits = "".join(line + "\n" for line in saved.get(rel, "").splitlines() if line.startswith("# user edit"))
        assert final[rel] == text + edits.encode(), rel
