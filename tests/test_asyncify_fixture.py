"""asyncify on the fixture shop, end to end through the command line: the output
tree matches the expected tree file by file, compiles, and a second run is a no-op."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FIXTURES, assert_compiles, run_cli, run_python

EXPECTED = FIXTURES / "asyncify_shop" / "expected"
#: what `python -m shop.app` prints, sync or converted
SHOP_OUTPUT = "{'price': 3}\n7\n"


def _sources(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".asyncmigrate_cache" not in p.parts and "__pycache__" not in p.parts
    }


def asyncify(*args: str, cwd: Path):
    return run_cli(*args, cwd=cwd, module="codemods.asyncify")


def test_output_matches_expected_tree(project_copy):
    root = project_copy("asyncify_shop/input")
    result = asyncify(".", cwd=root)
    assert result.returncode == 0, result.stderr
    got, want = _sources(root), _sources(EXPECTED)
    assert sorted(got) == sorted(want)
    for rel in want:
        assert got[rel] == want[rel], rel
    assert_compiles(root)
    assert "16 function(s) converted" in result.stderr
    # The dict of handlers converts together; the dispatch through it is awaited.
    assert "stored as a value" not in result.stderr
    # idempotent: nothing left to change
    again = asyncify(".", "--check", cwd=root)
    assert again.returncode == 0, again.stderr
    assert _sources(root) == want


def test_converted_shop_still_runs_and_its_tests_pass(project_copy):
    pytest.importorskip("asgiref")
    pytest.importorskip("pytest_asyncio")
    root = project_copy("asyncify_shop/input")
    before = run_python("-m", "shop.app", cwd=root)
    assert before.returncode == 0, before.stderr
    assert asyncify(".", "--no-cache", cwd=root).returncode == 0
    after = run_python("-m", "shop.app", cwd=root)
    assert after.returncode == 0, after.stderr
    assert after.stdout == before.stdout == SHOP_OUTPUT
    tests = run_python("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=root)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "3 passed" in tests.stdout


def test_a_staged_migration_runs_at_every_stage_and_ends_as_the_one_shot_result(project_copy):
    """`--max-layer 0`, `1`, ... then a full run, as the README's workflow says: after
    each run the program prints what the sync original printed and its converted
    tests pass (no `with` over an async context manager, no bridge inside a running
    loop), each run removes the bridges the new layer made unnecessary, and the end
    state is exactly the one-shot result."""
    pytest.importorskip("asgiref")
    pytest.importorskip("pytest_asyncio")
    root = project_copy("asyncify_shop/input")
    layers = json.loads(asyncify(".", "--plan", "--format", "json", "--no-cache", cwd=root).stdout)["layers"]
    assert [layer["layer"] for layer in layers] == [0, 1, 2, 3]
    for stage in [*(str(layer["layer"]) for layer in layers), None]:
        args = ("--max-layer", stage) if stage is not None else ()
        result = asyncify(".", *args, "--no-cache", cwd=root)
        assert result.returncode == 0, result.stderr
        program = run_python("-m", "shop.app", cwd=root)
        assert (program.returncode, program.stdout) == (0, SHOP_OUTPUT), (stage, program.stderr)
        tests = run_python("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=root)
        assert tests.returncode == 0, (stage, tests.stdout + tests.stderr)
        if stage == "0":
            assert "row = async_to_sync(self.store.load)(key)" in (root / "shop/service.py").read_text()
        if stage == "1":  # the layer-0 bridge in `price` is an await again
            assert "row = await self.store.load(key)" in (root / "shop/service.py").read_text()
    assert _sources(root) == _sources(EXPECTED)


def test_many_files_are_rewritten_in_parallel(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'many'\n")
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "base.py").write_text("import time\n\n\ndef wait():\n    time.sleep(0)\n")
    for i in range(12):
        (pkg / f"m{i}.py").write_text(f"from .base import wait\n\n\ndef f{i}():\n    wait()\n")
    result = asyncify(".", "--jobs", "2", "--no-cache", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for i in range(12):
        assert (
            pkg / f"m{i}.py"
        ).read_text() == f"from .base import wait\n\n\nasync def f{i}():\n    await wait()\n"



def test_check_and_diff_write_nothing(project_copy):
    root = project_copy("asyncify_shop/input")
    before = _sources(root)
    check = asyncify(".", "--check", "--no-cache", cwd=root)
    assert check.returncode == 1
    diff = asyncify("shop", "--diff", "--no-cache", cwd=root)
    assert diff.returncode == 0
    assert "+async def main():" in diff.stdout
    assert "tests/test_service.py" not in diff.stdout  # outside PATH: analysed only
    assert _sources(root) == before


def test_asyncmigrate_subcommand(project_copy):
    root = project_copy("asyncify_shop/input")
    result = run_cli("asyncify", ".", "--check", cwd=root, module="asyncmigrate")
    assert result.returncode == 1, result.stderr
