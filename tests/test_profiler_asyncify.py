"""End to end: profile the fixture app, `asyncify --profile` it, profile it again: the
converted app no longer blocks its loop at the sites asyncify converted, and what it
left for a human (pure-Python CPU work) is still measured."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import FIXTURES, run_cli
from profiled_app_runner import markers, profile_app


def test_profile_asyncify_profile_again(tmp_path: Path) -> None:
    app = tmp_path / "profiled_app"
    shutil.copytree(FIXTURES / "profiled_app", app, ignore=shutil.ignore_patterns("__pycache__"))
    blocks = markers(app / "profiled_app")["BLOCKS"]
    before_path = tmp_path / "before" / "report.json"
    before_path.parent.mkdir()
    _, before = profile_app(app, before_path)
    in_app = str(app.resolve())
    assert {(s["file"], s["line"]) for s in before["sites"] if s["file"].startswith(in_app)} >= set(blocks.values())

    converted = run_cli(".", "--profile", str(before_path), "--offload", cwd=app, module="codemods.asyncify")
    assert converted.returncode == 0, converted.stdout + converted.stderr
    # pure-Python work has no call to make async: asyncify says so
    _, cpu_line = blocks["cpu"]
    assert f"scoring.py:{cpu_line}" in converted.stdout + converted.stderr

    after_path = tmp_path / "after" / "report.json"
    after_path.parent.mkdir()
    _, after = profile_app(app, after_path)
    remaining = [s for s in after["sites"] if s["file"].startswith(in_app)]
    for name, site in blocks.items():
        if name != "cpu":
            assert site not in {(s["file"], s["line"]) for s in remaining}, (
                f"{name} still blocks the loop after asyncify: {after['sites']}")
    assert {s["function"] for s in remaining} <= {"profiled_app.services.scoring:score"}
