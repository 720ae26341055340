"""The input side of the command line: which files are read (.gitignore, excludes,
virtualenvs, paths named directly, --force-exclude), text read from stdin as an
editor sends it, the mode of the files we write, and `python -m` inside a project
that has its own `lint_rules/` or `codemods/` package."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from asyncmigrate import fileio
from asyncmigrate._mainguard import main_module
from conftest import REPO, run_cli

BLOCKING = "import time\n\n\nasync def handler():\n    time.sleep(1)\n"
FIXED = "import asyncio\n\n\nasync def handler():\n    await asyncio.sleep(1)\n"


def _project(root: Path, files: dict[str, str], config: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(f"[tool.asyncmigrate]\n{config}")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _paths(*args: str, cwd: Path) -> tuple[int, list[str], str]:
    result = run_cli(*args, "--format", "json", cwd=cwd)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, sorted({f["path"] for f in json.loads(result.stdout)}), result.stderr


# -- which files a walk reads -------------------------------------------------


def test_gitignore_files_and_info_exclude_are_respected(tmp_path):
    root = _project(tmp_path / "proj", {
        "app.py": BLOCKING,
        "generated/client.py": BLOCKING,
        "pkg/__init__.py": "",
        "pkg/local_settings.py": BLOCKING,
        "pkg/kept.py": BLOCKING,
        "pkg/scratch.py": BLOCKING,
        ".gitignore": "generated/\n*.log\n",
        "pkg/.gitignore": "local_*.py\n",
        ".git/info/exclude": "scratch.py\n",
    })
    _, paths, _ = _paths(".", cwd=root)
    assert paths == ["./app.py", "./pkg/kept.py"]
    # Ruff's switch, on the command line and in the configuration.
    everything = ["./app.py", "./generated/client.py", "./pkg/kept.py",
                  "./pkg/local_settings.py", "./pkg/scratch.py"]
    assert _paths(".", "--no-respect-gitignore", cwd=root)[1] == everything
    (root / "pyproject.toml").write_text("[tool.asyncmigrate]\nrespect-gitignore = false\n")
    assert _paths(".", cwd=root)[1] == everything
    assert _paths(".", "--respect-gitignore", cwd=root)[1] == ["./app.py", "./pkg/kept.py"]


def test_a_negated_gitignore_pattern_re_includes(tmp_path):
    root = _project(tmp_path / "proj", {
        "a_test.py": BLOCKING,
        "b_test.py": BLOCKING,
        ".gitignore": "*_test.py\n!b_test.py\n",
    })
    (root / ".git").mkdir()
    assert _paths(".", cwd=root)[1] == ["./b_test.py"]


def test_the_outer_repository_gitignore_applies_but_cannot_empty_the_project(tmp_path):
    """A project in a directory the enclosing repository ignores (vendored, a home
    directory under git that ignores `*`) is still linted; the outer ignore file's
    other patterns still apply inside it."""
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("*\n!*/\n")
    root = _project(tmp_path / "vendor" / "proj", {"app.py": BLOCKING})
    assert _paths(".", cwd=root)[1] == ["./app.py"]
    (tmp_path / ".gitignore").write_text("vendor/\ngen/\n")
    _project(root, {"gen/x.py": BLOCKING})
    assert _paths(".", cwd=root)[1] == ["./app.py"]


def test_virtualenvs_of_any_name_and_pypackages_are_skipped(tmp_path):
    root = _project(tmp_path / "proj", {
        "app.py": BLOCKING,
        "tools-env/pyvenv.cfg": "home = /usr/bin\n",
        "tools-env/lib/python3.12/site-packages/dep.py": BLOCKING,
        "__pypackages__/3.12/lib/dep.py": BLOCKING,
    })
    assert _paths(".", cwd=root)[1] == ["./app.py"]


def test_exclude_and_extend_exclude_add_to_the_defaults(tmp_path):
    root = _project(tmp_path / "proj", {
        "app.py": BLOCKING,
        "build/out.py": BLOCKING,
        "migrations/0001.py": BLOCKING,
        "scripts/run.py": BLOCKING,
        "scripts/sub/deep.py": BLOCKING,
        "legacy.py": BLOCKING,
    }, config='exclude = ["migrations"]\nextend-exclude = ["scripts/*.py"]\n')
    # `build` (a default) stays excluded; `scripts/*.py` is anchored at the root and
    # does not cross a `/` (gitignore syntax).
    _, paths, _ = _paths(".", cwd=root)
    assert paths == ["./app.py", "./legacy.py", "./scripts/sub/deep.py"]
    _, paths, _ = _paths(".", "--extend-exclude", "/legacy.py", "--exclude", "deep.py", cwd=root)
    assert paths == ["./app.py"]


def test_unknown_or_mistyped_keys_are_errors(tmp_path):
    root = _project(tmp_path / "proj", {"app.py": BLOCKING}, config='force-exclude = "yes"\n')
    result = run_cli(".", cwd=root)
    assert result.returncode == 2
    assert "`force-exclude` must be true or false" in result.stderr


# -- paths named on the command line ------------------------------------------


def test_a_named_excluded_path_is_linted_and_its_contents_still_filtered(tmp_path):
    root = _project(tmp_path / "proj", {
        "app.py": "",
        "build/bad.py": BLOCKING,
        "build/node_modules/dep.py": BLOCKING,
        "build/build/nested.py": BLOCKING,
        "generated/client.py": BLOCKING,
        ".gitignore": "generated/\n",
    })
    # Before: `lint build` printed "All checks passed (0 files checked)".
    assert _paths("build", cwd=root)[:2] == (1, ["build/bad.py"])
    assert _paths("build/bad.py", cwd=root)[:2] == (1, ["build/bad.py"])
    assert _paths("generated", cwd=root)[:2] == (1, ["generated/client.py"])


def test_force_exclude_skips_named_paths_and_says_so(tmp_path):
    root = _project(tmp_path / "proj", {
        "app.py": BLOCKING,
        "build/bad.py": BLOCKING,
        "generated/client.py": BLOCKING,
        ".gitignore": "generated/\n",
    })
    status, paths, stderr = _paths("build/bad.py", "generated/client.py", "app.py", "--force-exclude", cwd=root)
    assert (status, paths) == (1, ["app.py"])
    assert "warning: build/bad.py is excluded: it is in build/, which matches the exclude pattern `build`" in stderr
    assert "warning: generated/client.py is excluded: it is in generated/, which is ignored by .gitignore (`generated/`)" in stderr
    # Nothing left to check is an error, never a green run.
    result = run_cli("build", "--force-exclude", cwd=root)
    assert result.returncode == 2
    assert "warning: build is excluded" in result.stderr
    assert "error: no Python files to check: every path named is excluded" in result.stderr
    assert result.stdout == ""
    # The configuration key, and the flag that turns it off.
    (root / "pyproject.toml").write_text("[tool.asyncmigrate]\nforce-exclude = true\n")
    assert run_cli("build/bad.py", cwd=root).returncode == 2
    assert _paths("build/bad.py", "--no-force-exclude", cwd=root)[:2] == (1, ["build/bad.py"])


def test_a_run_over_no_file_is_an_error(tmp_path):
    root = _project(tmp_path / "proj", {"docs/index.md": "# docs\n", "gen/x.py": BLOCKING, ".gitignore": "x.py\n"})
    for path in ("docs", "gen"):
        result = run_cli(path, cwd=root)
        assert result.returncode == 2, result.stdout
        assert f"error: no Python files to check in {path}" in result.stderr


# -- stdin, as an editor sends it ---------------------------------------------


def _stdin(text: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "lint_rules", *args],
        input=text.encode(), capture_output=True, cwd=cwd, env=env, timeout=300,
    )


@pytest.fixture
def editor_project(tmp_path):
    return _project(tmp_path / "proj", {
        "pkg/__init__.py": "",
        "pkg/api.py": "async def fetch():\n    return 1\n",
        "pkg/views.py": "def show():\n    return 1\n",
    })


def test_stdin_is_linted_as_the_named_file_of_its_project(editor_project):
    # The file does not exist on disk; the other modules of the project do.
    text = "from pkg.api import fetch\n\n\nasync def main():\n    fetch()\n"
    result = _stdin(text, "-", "--stdin-filename", "pkg/new_module.py", "--format", "json", cwd=editor_project)
    assert result.returncode == 1, result.stderr
    [finding] = json.loads(result.stdout)
    assert finding["path"] == "pkg/new_module.py"
    assert finding["code"] == "AM101"
    assert "pkg.api.fetch" in finding["message"]  # resolved across modules
    assert not (editor_project / "pkg" / "new_module.py").exists()


def test_stdin_text_replaces_the_file_on_disk(editor_project):
    """The editor's buffer wins over the saved file of the same name."""
    result = _stdin(BLOCKING, "-", "--stdin-filename", "pkg/views.py", "--format", "json", cwd=editor_project)
    assert result.returncode == 1
    assert [(f["path"], f["code"]) for f in json.loads(result.stdout)] == [("pkg/views.py", "AM201")]
    assert _stdin("x = 1\n", "-", "--stdin-filename", "pkg/views.py", cwd=editor_project).returncode == 0


@pytest.mark.parametrize("name", ["pkg/views.py", "pkg/not_on_disk.py"])
def test_stdin_fix_prints_the_fixed_text_and_writes_nothing(editor_project, name):
    before = {p: p.read_bytes() for p in editor_project.rglob("*.py")}
    result = _stdin(BLOCKING, "-", "--stdin-filename", name, "--fix", cwd=editor_project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == FIXED
    stderr = result.stderr.decode()
    assert f"fixed 1 in {name}" in stderr
    assert "All checks passed (1 files checked)." in stderr
    assert {p: p.read_bytes() for p in editor_project.rglob("*.py")} == before


def test_stdin_fix_keeps_the_text_when_nothing_is_fixed(editor_project):
    text = "from pkg.api import fetch\r\n\r\nfetch()\r\n"
    result = _stdin(text, "-", "--stdin-filename", "pkg/new.py", "--fix", cwd=editor_project)
    assert result.returncode == 1  # the finding is left, and reported on stderr
    assert result.stdout == text.encode()
    assert "pkg/new.py:3:1: AM102" in result.stderr.decode()


def test_stdin_diff_and_default_name(editor_project):
    result = _stdin(BLOCKING, "-", "--stdin-filename", "pkg/views.py", "--diff", cwd=editor_project)
    assert result.returncode == 1
    assert result.stdout.decode().startswith("--- a/pkg/views.py\n+++ b/pkg/views.py\n")
    result = _stdin(BLOCKING, "-", "--format", "json", cwd=editor_project)
    assert [f["path"] for f in json.loads(result.stdout)] == ["-"]


def test_stdin_usage_errors(editor_project):
    mixed = _stdin(BLOCKING, "-", "pkg", cwd=editor_project)
    assert mixed.returncode == 2
    assert b"cannot be combined with other paths" in mixed.stderr
    lone = run_cli("pkg", "--stdin-filename", "pkg/x.py", cwd=editor_project)
    assert lone.returncode == 2
    assert "pass `-` as the path" in lone.stderr


def test_stdin_force_exclude(editor_project):
    result = _stdin(BLOCKING, "-", "--stdin-filename", "build/gen.py", "--force-exclude", cwd=editor_project)
    assert result.returncode == 2
    assert b"warning: build/gen.py is excluded" in result.stderr
    result = _stdin(BLOCKING, "-", "--stdin-filename", "build/gen.py", "--format", "json", cwd=editor_project)
    assert result.returncode == 1


# -- the files we write -------------------------------------------------------


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_a_new_file_gets_the_umask_mode_and_an_existing_one_keeps_its_own(tmp_path, umask_022):
    new = tmp_path / "new.json"
    fileio.atomic_write_bytes(new, b"{}")
    assert stat.S_IMODE(new.stat().st_mode) == 0o644
    for mode in (0o600, 0o755, 0o640):
        existing = tmp_path / f"existing-{mode:o}.py"
        existing.write_bytes(b"old")
        existing.chmod(mode)
        fileio.atomic_write_bytes(existing, b"new")
        assert stat.S_IMODE(existing.stat().st_mode) == mode
        assert existing.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


def test_a_symlink_is_written_through(tmp_path):
    target = tmp_path / "real.py"
    target.write_bytes(b"old")
    link = tmp_path / "link.py"
    link.symlink_to(target)
    fileio.atomic_write_bytes(link, b"new")
    assert link.is_symlink()
    assert target.read_bytes() == b"new"


def test_baseline_written_by_the_cli_gets_the_umask_mode(tmp_path, umask_022):
    root = _project(tmp_path / "proj", {"app.py": BLOCKING})
    result = run_cli(".", "--write-baseline", "baseline.json", cwd=root)  # inherits the umask
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE((root / "baseline.json").stat().st_mode) == 0o644


# -- python -m inside a project with its own lint_rules/ or codemods/ ----------


@pytest.fixture
def shadowing_project(tmp_path):
    """Packages named like ours (and like a dependency), each leaving a mark and
    exiting if it is ever imported."""
    root = _project(tmp_path / "proj", {"app.py": BLOCKING})
    for package in ("lint_rules", "codemods", "click"):
        (root / package).mkdir()
        (root / package / "__init__.py").write_text(
            "import pathlib\n"
            f"pathlib.Path(__file__).parent.parent.joinpath('IMPORTED-{package}').touch()\n"
            f"raise SystemExit('the project package {package} was imported')\n"
        )
    return root


def _installed_guard() -> Path | None:
    import site

    for directory in site.getsitepackages():
        if (Path(directory) / "asyncmigrate_guard.pth").is_file():
            return Path(directory) / "asyncmigrate_guard.pth"
    return None


@pytest.mark.parametrize("pythonpath", [None, str(REPO)])
def test_python_m_runs_our_package_not_the_projects(shadowing_project, pythonpath):
    if _installed_guard() is None:
        pytest.fail("asyncmigrate_guard.pth is not installed: reinstall the package (pip install -e .)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    commands = {
        "lint_rules": (["app.py", "--format", "json"], 1),
        "codemods.asyncify": (["app.py", "--diff"], 0),
        "codemods.contextvars": (["--help"], 0),
        "asyncmigrate": (["lint", "app.py"], 1),
    }
    for module, (args, status) in commands.items():
        result = subprocess.run(
            [sys.executable, "-m", module, *args],
            cwd=shadowing_project, env=env, capture_output=True, text=True, timeout=300,
        )
        assert result.returncode == status, (module, result.stderr)
        assert "was imported" not in result.stderr
    assert json.loads(subprocess.run(
        [sys.executable, "-m", "lint_rules", "app.py", "--format", "json"],
        cwd=shadowing_project, env=env, capture_output=True, text=True, timeout=300,
    ).stdout)[0]["code"] == "AM201"
    assert sorted(p.name for p in shadowing_project.glob("IMPORTED-*")) == []


def test_other_python_m_runs_keep_the_working_directory(shadowing_project):
    """The guard acts only for our modules: the user's own `import codemods` works."""
    (shadowing_project / "mine").mkdir()
    (shadowing_project / "mine" / "__init__.py").write_text("")
    (shadowing_project / "mine" / "__main__.py").write_text("import codemods\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-m", "mine"], cwd=shadowing_project, env=env,
                            capture_output=True, text=True, timeout=60)
    assert "the project package codemods was imported" in result.stderr
    assert (shadowing_project / "IMPORTED-codemods").exists()


@pytest.mark.parametrize(("argv", "module"), [
    (["python", "-m", "lint_rules", "."], "lint_rules"),
    (["python", "-mcodemods.asyncify", "src"], "codemods.asyncify"),
    (["python", "-X", "dev", "-W", "error", "-B", "-m", "lint_rules"], "lint_rules"),
    (["python", "-Xdev", "-um", "asyncmigrate", "lint"], "asyncmigrate"),
    (["python", "--check-hash-based-pycs", "always", "-m", "lint_rules"], "lint_rules"),
    (["python", "-c", "import lint_rules", "-m", "lint_rules"], None),
    (["python", "app.py", "-m", "lint_rules"], None),
    (["python", "-", "-m", "lint_rules"], None),
    (["python"], None),
])
def test_the_guard_reads_the_module_from_the_command_line(argv, module):
    assert main_module(argv) == module


def test_the_build_backend_adds_the_guard_to_a_wheel(tmp_path):
    sys.path.insert(0, str(REPO / "build_backend"))
    try:
        import asyncmigrate_build as backend
    finally:
        sys.path.remove(str(REPO / "build_backend"))
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("demo/__init__.py", "")
        z.writestr("demo-1.0.dist-info/RECORD", "demo/__init__.py,sha256=x,0\ndemo-1.0.dist-info/RECORD,,\n")
    backend.add_pth(str(wheel))
    backend.add_pth(str(wheel))  # idempotent
    with zipfile.ZipFile(wheel) as z:
        assert z.read("asyncmigrate_guard.pth").decode() == backend.PTH_LINE
        record = z.read("demo-1.0.dist-info/RECORD").decode().splitlines()
        assert sorted(z.namelist()) == ["asyncmigrate_guard.pth", "demo-1.0.dist-info/RECORD", "demo/__init__.py"]
    assert record[0] == "demo/__init__.py,sha256=x,0"
    assert record[1].startswith("asyncmigrate_guard.pth,sha256=")
    assert record[-1] == "demo-1.0.dist-info/RECORD,,"
    # The line site runs is valid Python that loads the guard only for our modules.
    compile(backend.PTH_LINE, "asyncmigrate_guard.pth", "exec")
