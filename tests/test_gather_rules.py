"""AM501-AM503 and the gather fix: each supported shape, the TaskGroup variant,
refusal on dependent iterations, and the latency win measured by running it."""

from __future__ import annotations

import asyncio
import importlib
import sys
import textwrap
import time
from pathlib import Path

from conftest import FIXTURES, lint_json, run_cli
from inprocess_lint import lint

EXPECTED = FIXTURES / "gather_app" / "expected"


def located(findings: list[dict]) -> list[tuple[int, str]]:
    return [(f["line"], f["code"]) for f in findings]


def test_findings_on_the_fixture(project_copy):
    root = project_copy("gather_app/input")
    status, findings = lint_json(str(root), "--select", "AM5")
    assert status == 1
    # all_prices (append), warm (bare await), sizes (comprehension), and the two
    # consecutive awaits; running_total and numbered depend on earlier iterations.
    assert located(findings) == [(6, "AM501"), (12, "AM501"), (17, "AM501"), (35, "AM502")]
    assert not any(f["fixable"] for f in findings)  # unsafe: only with --unsafe-fixes


def test_safe_fix_run_leaves_the_unsafe_gather_alone(project_copy):
    root = project_copy("gather_app/input")
    before = (root / "gather_app/prices.py").read_text()
    lint(root, "AM5", fix=True)
    assert (root / "gather_app/prices.py").read_text() == before


def test_gather_fix_on_each_shape_and_refusal_on_dependent_iterations(project_copy):
    root = project_copy("gather_app/input")
    result = run_cli(str(root), "--select", "AM5", "--fix", "--unsafe-fixes")
    assert result.returncode == 0, result.stdout + result.stderr
    fixed = (root / "gather_app/prices.py").read_text()
    assert fixed == (EXPECTED / "prices_gather.py").read_text()
    compile(fixed, "prices.py", "exec")
    # The dependent loops are untouched.
    assert "total = await add_price(item, total)" in fixed
    assert 'labels.append(await fetch_price(f"{len(labels)}-{item}"))' in fixed
    assert lint(root, "AM5", fix=True, unsafe_fixes=True) == []
    assert (root / "gather_app/prices.py").read_text() == fixed


def test_taskgroup_variant_selected_by_config(project_copy):
    root = project_copy("gather_app/input")
    with open(root / "pyproject.toml", "a") as f:
        f.write('\n[tool.asyncmigrate]\ngather-style = "taskgroup"\n')
    assert lint(root, "AM5", fix=True, unsafe_fixes=True) == []
    fixed = (root / "gather_app/prices.py").read_text()
    assert fixed == (EXPECTED / "prices_taskgroup.py").read_text()
    if sys.version_info >= (3, 11):
        results = _run_prices(root, "all_prices", ["a", "bb", "ccc"])
        assert results == [1, 2, 3]


def test_bad_gather_style_is_a_configuration_error(project_copy):
    root = project_copy("gather_app/input")
    with open(root / "pyproject.toml", "a") as f:
        f.write('\n[tool.asyncmigrate]\ngather-style = "threads"\n')
    result = run_cli(str(root), "--select", "AM5")
    assert result.returncode == 2
    assert "gather-style" in result.stderr


def _run_prices(root: Path, function: str, items: list[str]):
    """Import the (copied) fixture in this process and run one coroutine."""
    for name in [m for m in sys.modules if m == "gather_app" or m.startswith("gather_app.")]:
        del sys.modules[name]
    sys.path.insert(0, str(root))
    try:
        module = importlib.import_module("gather_app.prices")
        return asyncio.run(getattr(module, function)(items))
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == "gather_app" or m.startswith("gather_app.")]:
            del sys.modules[name]


def test_gather_fix_cuts_wall_time_of_five_50ms_calls(project_copy):
    root = project_copy("gather_app/input")
    items = ["a", "bb", "ccc", "dddd", "eeeee"]

    start = time.perf_counter()
    before = _run_prices(root, "all_prices", items)
    sequential = time.perf_counter() - start

    lint(root, "AM501", fix=True, unsafe_fixes=True)

    start = time.perf_counter()
    after = _run_prices(root, "all_prices", items)
    concurrent = time.perf_counter() - start

    assert before == after == [1, 2, 3, 4, 5]
    assert sequential >= 0.25  # five 50 ms round trips, one after another
    assert concurrent * 3 <= sequential, (sequential, concurrent)


def test_am502_keeps_dependent_and_shared_receiver_awaits(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "svc"\n')
    (tmp_path / "svc.py").write_text(
        textwrap.dedent(
            """\
            async def page(self: "Page", uid, users: "Users", orders: "Orders", cdn: "Cdn"):
                user = await users.get(uid)
                history = await orders.for_user(user.id)
                banner = await cdn.banner(uid)
                a = await self.repo.one(uid)
                b = await self.repo.two(uid)
                return user, history, banner, a, b


            class Users:
                async def get(self, uid): ...


            class Orders:
                async def for_user(self, uid): ...


            class Cdn:
                async def banner(self, uid): ...


            class Repo:
                async def one(self, uid): ...

                async def two(self, uid): ...


            class Page:
                def __init__(self):
                    self.repo = Repo()
            """
        )
    )
    findings = lint(tmp_path, "AM502")
    # `history` needs `user`; `banner` and `a` are independent of `history`; `b`
    # shares `self.repo` with `a`.
    assert located(findings) == [(3, "AM502")]
    assert "3 independent awaits run one after another (history, banner, a)" in findings[0]["message"]


def test_am503_off_by_default(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "svc"\n')
    (tmp_path / "svc.py").write_text(
        textwrap.dedent(
            """\
            import asyncio


            async def tax(price):
                return price * 1.2


            async def tick():
                await asyncio.sleep(0)


            class Base:
                async def handle(self):
                    return None


            class Child(Base):
                async def handle(self):
                    return 1
            """
        )
    )
    assert lint(tmp_path, "AM") == []
    findings = lint(tmp_path, "AM503")
    assert located(findings) == [(4, "AM503")]
