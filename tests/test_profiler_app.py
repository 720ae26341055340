"""`asyncmigrate profile -- CMD`: the fixture app (fixtures/profiled_app) blocks its
loop in five ways; the report names each at its file:line with a plausible duration
and says nothing about the code that awaits properly."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from conftest import FIXTURES, REPO
from profiled_app_runner import markers, profile, profile_app

SCHEMA = json.loads((REPO / "asyncmigrate" / "profiler" / "report.schema.json").read_text())


@pytest.fixture(scope="module")
def profiled(tmp_path_factory: pytest.TempPathFactory):
    """The fixture app profiled once through the CLI: (app dir, process, report)."""
    base = tmp_path_factory.mktemp("profiled")
    app = base / "profiled_app"
    shutil.copytree(FIXTURES / "profiled_app", app, ignore=shutil.ignore_patterns("__pycache__"))
    result, report = profile_app(app, base / "report.json")
    return app, result, report


def site_at(report: dict, file: str, line: int) -> dict:
    hits = [site for site in report["sites"] if site["file"] == file and site["line"] == line]
    assert hits, f"no site at {file}:{line}; sites: {[(s['file'], s['line']) for s in report['sites']]}"
    return hits[0]


def test_report_follows_the_schema(profiled) -> None:
    _, _, report = profiled
    jsonschema.validate(report, SCHEMA)
    assert report["version"] == 1 and report["threshold_ms"] == 25.0
    totals = [site["total_ms"] for site in report["sites"]]
    assert totals == sorted(totals, reverse=True)


def test_every_blocking_form_is_named_at_its_line(profiled) -> None:
    app, _, report = profiled
    blocks = markers(app / "profiled_app")["BLOCKS"]
    assert set(blocks) == {"sleep", "socket", "file", "cpu", "pbkdf2"}
    expected_calls = {
        "sleep": "time.sleep",
        "socket": "socket.socket.recv",
        "pbkdf2": "hashlib.pbkdf2_hmac",
        "cpu": None,
    }
    for name, (file, line) in blocks.items():
        site = site_at(report, file, line)
        assert site["count"] == 1, name
        if name in expected_calls:
            assert site["call"] == expected_calls[name], (name, site)
    assert site_at(report, *blocks["file"])["call"] == "io.FileIO.writelines"


def test_durations_are_plausible(profiled) -> None:
    app, _, report = profiled
    blocks = markers(app / "profiled_app")["BLOCKS"]
    # the sleep is 200 ms, the upstream answers after 150 ms; the rest is "long enough"
    bounds = {"sleep": (150, 2000), "socket": (100, 2000)}
    for name, (file, line) in blocks.items():
        site = site_at(report, file, line)
        low, high = bounds.get(name, (25, 5000))
        assert low <= site["total_ms"] <= high, (name, site)
        assert site["max_ms"] == site["total_ms"]


def test_nothing_is_reported_where_the_app_awaits(profiled) -> None:
    app, _, report = profiled
    found = markers(app / "profiled_app")
    expected = set(found["BLOCKS"].values())
    awaiting = set(found["AWAITS"].values())
    in_app = [s for s in report["sites"] if s["file"].startswith(str(app.resolve()))]
    assert not {(s["file"], s["line"]) for s in in_app} & awaiting
    assert not [s for s in report["sites"] if "wait_politely" in (s["coroutine"] or "")]
    # Only the blocking functions block. (Within them, another slow line, say the
    # open() before a write on a slow disk, would be a true finding too.)
    blocking_functions = {s["function"] for s in in_app if (s["file"], s["line"]) in expected}
    assert len(blocking_functions) == len(expected)
    assert {s["function"] for s in in_app} == blocking_functions


def test_site_names_function_coroutine_and_stack(profiled) -> None:
    app, _, report = profiled
    file, line = markers(app / "profiled_app")["BLOCKS"]["sleep"]
    site = site_at(report, file, line)
    assert site["function"] == "profiled_app.services.retry:backoff"
    assert site["coroutine"] == "profiled_app.handlers:refresh_inventory"
    functions = [entry.rsplit(" in ", 1)[1] for entry in site["stack"]]
    assert functions == [
        "profiled_app.handlers:refresh_inventory",
        "profiled_app.services.inventory:refresh",
        "profiled_app.services.retry:backoff",
    ]
    assert site["stack"][-1] == f"{file}:{line} in profiled_app.services.retry:backoff"


def test_table_is_printed_on_stderr(profiled) -> None:
    _, result, _ = profiled
    assert "Event-loop blocking" in result.stderr
    assert "time.sleep" in result.stderr
    assert "report:" in result.stderr


def test_exit_status_is_the_commands(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    result = profile("-q", "-o", str(report), "--", sys.executable, "-c",
                     "import asyncio; asyncio.run(asyncio.sleep(0)); raise SystemExit(3)", cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    data = json.loads(report.read_text())
    assert data["sites"] == [] and data["exit_code"] == 3 and data["processes"] == 1


def test_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("asyncmigrate")
    if not script.exists():
        pytest.skip("asyncmigrate console script not installed next to the interpreter")
    result = subprocess.run([str(script), "profile", "-q", "-o", str(tmp_path / "r.json"), "--",
                             sys.executable, "-c", "raise SystemExit(5)"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 5, result.stderr
    assert json.loads((tmp_path / "r.json").read_text())["version"] == 1


def test_unknown_command_and_missing_command(tmp_path: Path) -> None:
    result = profile("-o", str(tmp_path / "r.json"), "--", "no-such-command-anywhere", cwd=tmp_path)
    assert result.returncode == 127
    assert "command not found" in result.stderr
    result = profile("-o", str(tmp_path / "r.json"), cwd=tmp_path)
    assert result.returncode == 2
    assert "after `--`" in result.stderr
    result = profile("python", "app.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "asyncmigrate profile -- python app.py" in result.stderr


def test_every_python_process_of_the_command_is_watched(tmp_path: Path) -> None:
    """A program that starts another Python program: both loops are watched, the
    partial reports are merged, and a sitecustomize the bootstrap shadows still runs."""
    (tmp_path / "child.py").write_text(
        "import asyncio, time\n"
        "async def main():\n"
        "    time.sleep(0.05)  # child blocks\n"
        "asyncio.run(main())\n"
    )
    (tmp_path / "parent.py").write_text(
        "import asyncio, os, subprocess, sys, time\n"
        "async def main():\n"
        "    time.sleep(0.05)  # parent blocks\n"
        "asyncio.run(main())\n"
        "subprocess.run([sys.executable, 'child.py'], check=True)\n"
        "print('site', os.environ.get('USER_SITECUSTOMIZE_RAN'))\n"
    )
    site_dir = tmp_path / "usersite"
    site_dir.mkdir()
    (site_dir / "sitecustomize.py").write_text("import os\nos.environ['USER_SITECUSTOMIZE_RAN'] = 'yes'\n")
    report = tmp_path / "r.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(site_dir)]))
    result = subprocess.run([sys.executable, "-m", "asyncmigrate.profiler", "-q", "-o", str(report), "--",
                             sys.executable, "parent.py"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "site yes" in result.stdout
    data = json.loads(report.read_text())
    assert data["processes"] == 2
    assert {(Path(s["file"]).name, s["line"]) for s in data["sites"]} == {("parent.py", 3), ("child.py", 3)}
