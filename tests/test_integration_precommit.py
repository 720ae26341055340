"""The pre-commit hooks of `.pre-commit-hooks.yaml`, run by real pre-commit on a
throwaway git repository, the way a user's `.pre-commit-config.yaml` would.

pre-commit builds the hook's virtualenv by pip-installing this checkout (from a
snapshot commit of the working tree), so this test needs the package index.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

JOBS = "import asyncio\n\n\nasync def refresh():\n    await asyncio.sleep(0)\n"
CLEAN = "from app.jobs import refresh\n\n\nasync def handler():\n    await refresh()\n"
# The coroutine function is defined in another module than the one committed.
VIOLATION = "from app.jobs import refresh\n\n\nasync def handler():\n    refresh()\n"


def git(*args: str, cwd: Path, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def snapshot_checkout(target: Path, env: dict[str, str]) -> str:
    """Commit the checkout's working tree (tracked and new, unignored files) in a
    fresh repository, so pre-commit installs exactly what is being tested."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for rel in filter(None, listed):
        source = REPO / rel
        if source.is_file():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / rel)
    git("init", "-q", cwd=target, env=env)
    git("add", "-A", cwd=target, env=env)
    git("commit", "-q", "-m", "snapshot", cwd=target, env=env)
    return git("rev-parse", "HEAD", cwd=target, env=env).stdout.strip()


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, str]]:
    """The snapshot repository and a pre-commit home shared by the tests, so the
    hook environment is built once."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs git and a git checkout")
    base = tmp_path_factory.mktemp("pre-commit")
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(base / "home"),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    hooks = base / "hooks"
    hooks.mkdir()
    return hooks, snapshot_checkout(hooks, env), env


def _app(proj: Path, main: str, pre_commit_config: str) -> Path:
    """A two-module project whose `app/main.py` is `main`."""
    (proj / "app").mkdir(parents=True)
    (proj / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "0"\n')
    (proj / "app" / "__init__.py").write_text("")
    (proj / "app" / "jobs.py").write_text(JOBS)
    (proj / "app" / "main.py").write_text(main)
    (proj / ".pre-commit-config.yaml").write_text(pre_commit_config)
    return proj


@pytest.fixture
def project(tmp_path: Path, hook_repo) -> tuple[Path, dict[str, str]]:
    hooks, rev, env = hook_repo
    proj = _app(
        tmp_path / "proj",
        CLEAN,
        f"repos:\n"
        f"  - repo: {hooks}\n"
        f"    rev: {rev}\n"
        f"    hooks:\n"
        f"      - id: asyncmigrate-fix\n"
        f"        stages: [manual]\n"
        f"      - id: asyncmigrate-lint\n",
    )
    git("init", "-q", cwd=proj, env=env)
    subprocess.run(
        [sys.executable, "-m", "pre_commit", "install", "--install-hooks"],
        cwd=proj, env=env, capture_output=True, text=True, timeout=600, check=True,
    )
    git("add", "-A", cwd=proj, env=env)
    first = git("commit", "-m", "init", cwd=proj, env=env)
    assert "asyncmigrate lint" in first.stderr and "Passed" in first.stderr
    return proj, env


def test_lint_hook_rejects_a_violation_and_passes_a_clean_commit(project):
    proj, env = project
    (proj / "app" / "main.py").write_text(VIOLATION)
    git("add", "app/main.py", cwd=proj, env=env)
    rejected = git("commit", "-m", "forget await", cwd=proj, env=env, check=False)
    assert rejected.returncode == 1
    # git shows the hook's output on stderr
    assert "asyncmigrate lint" in rejected.stderr and "Failed" in rejected.stderr
    assert "app/main.py:5:5: AM101 [*] coroutine `app.jobs.refresh()` is never awaited" in rejected.stderr
    assert "init" in git("log", "--format=%s", cwd=proj, env=env).stdout.split()[0]

    (proj / "app" / "main.py").write_text(CLEAN.replace("handler", "handle"))
    git("add", "app/main.py", cwd=proj, env=env)
    accepted = git("commit", "-m", "rename", cwd=proj, env=env)
    assert "Passed" in accepted.stderr
    assert git("log", "--format=%s", cwd=proj, env=env).stdout.split()[0] == "rename"


def test_fix_hook_applies_the_safe_fix(project):
    proj, env = project
    (proj / "app" / "main.py").write_text(VIOLATION)
    git("add", "app/main.py", cwd=proj, env=env)
    run = subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "asyncmigrate-fix", "--hook-stage", "manual"],
        cwd=proj, env=env, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 1  # pre-commit fails a hook that modified files
    assert "files were modified by this hook" in run.stdout
    assert "fixed 1 in app/main.py" in run.stdout
    assert (proj / "app" / "main.py").read_text() == CLEAN


def _readme_recipe() -> str:
    """The `.pre-commit-config.yaml` block of the README's pre-commit section."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("### pre-commit", 1)[1]
    return section.split("```yaml\n", 1)[1].split("```", 1)[0]


def test_the_readme_recipe_runs_as_written(tmp_path: Path, hook_repo):
    hooks, _, env = hook_repo
    # The README's `rev` must name something that exists in asyncmigrate's repository.
    git("branch", "-f", "main", "HEAD", cwd=hooks, env=env)
    recipe = _readme_recipe()
    lines = recipe.splitlines(keepends=True)
    repo_lines = [i for i, line in enumerate(lines) if line.lstrip().startswith("- repo:")]
    assert len(repo_lines) == 1
    indent = lines[repo_lines[0]].split("- repo:")[0]
    lines[repo_lines[0]] = f"{indent}- repo: {hooks}\n"
    proj = _app(tmp_path / "proj", VIOLATION, "".join(lines))
    git("init", "-q", cwd=proj, env=env)
    subprocess.run(
        [sys.executable, "-m", "pre_commit", "install"],
        cwd=proj, env=env, capture_output=True, text=True, timeout=600, check=True,
    )
    git("add", "-A", cwd=proj, env=env)
    rejected = git("commit", "-m", "init", cwd=proj, env=env, check=False)
    assert rejected.returncode == 1, rejected.stdout + rejected.stderr
    assert "app/main.py:5:5: AM101 [*] coroutine `app.jobs.refresh()` is never awaited" in rejected.stderr


def test_per_file_ignores_hold_when_pre_commit_names_files_one_by_one(project):
    """pre-commit passes `tests/test_main.py` as named; the glob `tests/**` of
    `per-file-ignores` still matches it by its path in the project, while the same
    violation in `app/` is still rejected."""
    proj, env = project
    (proj / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0"\n\n'
        '[tool.asyncmigrate]\nper-file-ignores = { "tests/**" = ["AM101"] }\n'
    )
    (proj / "tests").mkdir()
    (proj / "tests" / "test_main.py").write_text(VIOLATION)
    git("add", "-A", cwd=proj, env=env)
    accepted = git("commit", "-m", "test forgets await", cwd=proj, env=env, check=False)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "asyncmigrate lint" in accepted.stderr and "Passed" in accepted.stderr

    (proj / "app" / "main.py").write_text(VIOLATION)
    git("add", "app/main.py", cwd=proj, env=env)
    rejected = git("commit", "-m", "app forgets await", cwd=proj, env=env, check=False)
    assert rejected.returncode == 1
    assert "app/main.py:5:5: AM101" in rejected.stderr
    assert "tests/test_main.py" not in rejected.stderr
