"""Inputs that would hang the run, fill its memory, or be skipped without a word.

Only regular files are read, and only up to `MAX_SOURCE_BYTES`; anything else is
AM001 with the reason. What cannot be walked is said on stderr. A statement the
running Python cannot parse is AM001, never a silent pass. A broken pyproject.toml
is one line and exit 2.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from conftest import BLOCKING_APP, lint_json, run_cli

from asyncmigrate import fileio
from asyncmigrate.project import PathFilter

BLOCKING = BLOCKING_APP


@pytest.fixture
def proj(blocking_app: Path) -> Path:
    return blocking_app


def _by_file(findings: list[dict]) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    for f in findings:
        found.setdefault(os.path.basename(f["path"]), []).append((f["code"], f["message"]))
    return found


def test_a_fifo_named_x_py_does_not_hang(proj):
    os.mkfifo(proj / "x.py")
    for paths in (["."], ["x.py", "app.py"]):
        status, findings = lint_json(*paths, cwd=proj)  # run_cli's timeout fails a hang
        found = _by_file(findings)
        assert status == 1
        assert found["x.py"] == [("AM001", "cannot read file: not a regular file (a FIFO)")]
        assert [code for code, _ in found["app.py"]] == ["AM201"]


def test_a_symlink_to_dev_zero_is_not_read(proj):
    (proj / "z.py").symlink_to("/dev/zero")
    for paths in (["."], ["z.py"]):
        status, findings = lint_json(*paths, cwd=proj)
        assert status == 1
        assert _by_file(findings)["z.py"] == [("AM001", "cannot read file: not a regular file (a character device)")]


def test_a_device_named_on_the_command_line_is_reported(proj):
    status, findings = lint_json("/dev/null", "app.py", cwd=proj)
    assert status == 1
    assert _by_file(findings)["null"] == [("AM001", "cannot read file: not a regular file (a character device)")]


def test_a_file_over_the_size_limit_is_reported_not_read(proj):
    huge = proj / "generated.py"
    with open(huge, "wb") as f:  # sparse: nothing is written to disk
        f.truncate(fileio.MAX_SOURCE_BYTES + 1)
    for args in (["."], [".", "--fix"]):
        result = run_cli(*args, "--format", "json", cwd=proj)
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert '"AM001"' in result.stdout and "larger than the 10 MiB limit" in result.stdout
    assert huge.stat().st_size == fileio.MAX_SOURCE_BYTES + 1
    assert (proj / "app.py").read_bytes() != BLOCKING  # --fix still fixed the other file


def test_read_source_takes_regular_files_only(tmp_path):
    (tmp_path / "a.py").write_bytes(b"x = 1\n")
    assert fileio.read_source(tmp_path / "a.py") == b"x = 1\n"
    with pytest.raises(OSError, match="not a regular file \\(a directory\\)"):
        fileio.read_source(tmp_path)
    with pytest.raises(OSError, match="larger than"):
        fileio.read_source(tmp_path / "a.py", limit=3)
    (tmp_path / "link.py").symlink_to(tmp_path / "a.py")
    assert fileio.read_source(tmp_path / "link.py") == b"x = 1\n"
    with pytest.raises(OSError) as error:
        fileio.read_source(tmp_path / "link.py", follow_symlinks=False)
    assert error.value.errno == errno.ELOOP


def test_a_named_directory_without_python_files_is_reported(proj):
    (proj / "docs").mkdir()
    (proj / "docs" / "index.md").write_text("# docs\n")
    result = run_cli("docs", "app.py", cwd=proj)
    assert result.returncode == 1
    assert "warning: docs holds no Python files to check" in result.stderr
    alone = run_cli("docs", cwd=proj)
    assert alone.returncode == 2 and "no Python files to check in docs" in alone.stderr


def test_an_unreadable_directory_is_reported_once(proj, monkeypatch, capsys):
    (proj / "locked").mkdir()
    (proj / "locked" / "hidden.py").write_bytes(BLOCKING)
    real_scandir = os.scandir

    def scandir(path=".", *args):
        if os.path.basename(os.fspath(path)) == "locked":
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path, *args)

    monkeypatch.setattr(os, "scandir", scandir)
    walk = PathFilter(proj, []).walk
    assert [p.name for p in walk(proj)] == ["app.py"]
    assert [p.name for p in walk(proj)] == ["app.py"]
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        f"warning: cannot read directory {proj / 'locked'}: Permission denied; the files in it are not checked"
    ]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any directory")
def test_an_unreadable_directory_is_reported_on_stderr(proj):
    locked = proj / "locked"
    locked.mkdir()
    (locked / "hidden.py").write_bytes(BLOCKING)
    locked.chmod(0)
    try:
        result = run_cli(".", cwd=proj)
    finally:
        locked.chmod(0o755)
    assert result.returncode == 1
    assert result.stderr.count("warning: cannot read directory") == 1


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\xff\xfe[tool]\n", "invalid TOML: not UTF-8"),
        (b"[tool.asyncmigrate\n", "invalid TOML"),
        (b"tool = 1\n", "`tool` must be a table"),
        (b"[tool]\nasyncmigrate = 3\n", "[tool.asyncmigrate] must be a table"),
        (b"[tool.asyncmigrate]\nselect = 3\n", "select"),
    ],
)
def test_a_broken_pyproject_is_one_line_and_exit_2(proj, content, message):
    (proj / "pyproject.toml").write_bytes(content)
    for args in (["app.py"], ["app.py", "--fix"]):
        result = run_cli(*args, cwd=proj)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
        assert (proj / "app.py").read_bytes() == BLOCKING


NEWER = b"""\
import time


async def handler[T](item: T) -> T:
    time.sleep(1)
    return item
"""


def test_newer_syntax_is_analysed_and_fixed(proj):
    """PEP 695 under Python 3.11: the AM201 inside the generic function is found,
    and its fix is written (checked in the downlevel form, since 3.11 cannot
    compile the file)."""
    (proj / "modern.py").write_bytes(NEWER)
    status, findings = lint_json("modern.py", cwd=proj)
    assert status == 1
    assert [(f["line"], f["code"]) for f in findings] == [(5, "AM201")]
    result = run_cli("modern.py", "--fix", cwd=proj)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (proj / "modern.py").read_bytes() == NEWER.replace(
        b"import time\n", b"import asyncio\n"
    ).replace(b"time.sleep(1)", b"await asyncio.sleep(1)")


def test_a_file_no_parser_reads_is_am001(proj):
    (proj / "broken.py").write_bytes(b"def f[:\n    pass\n")
    status, findings = lint_json("broken.py", cwd=proj)
    assert status == 1
    assert [f["code"] for f in findings] == ["AM001"]
    assert findings[0]["message"].startswith("SyntaxError")
