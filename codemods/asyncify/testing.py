"""How the project runs async tests: the marker a converted test gets.

`test-marker` in config chooses; "auto" looks at the project: pytest-asyncio's
auto mode needs no marker, a project that already marks tests `anyio` gets
`@pytest.mark.anyio`, otherwise `@pytest.mark.asyncio` (pytest-asyncio strict
mode, where async fixtures also need `@pytest_asyncio.fixture`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from asyncmigrate.analysis import Project
from asyncmigrate.index.values import split_id

_AUTO_MODE = re.compile(r"""asyncio_mode\s*=\s*["']?auto""")


@dataclass
class TestStyle:
    #: "asyncio", "anyio", or None (pytest-asyncio auto mode: no marker)
    marker: str | None = "asyncio"
    #: async fixtures need @pytest_asyncio.fixture (strict mode)
    needs_async_fixture: bool = True

    def is_test(self, fid: str, fn: dict) -> bool:
        module, _ = split_id(fid)
        base = module.rsplit(".", 1)[-1]
        in_test_module = base.startswith("test_") or base.endswith("_test")
        in_test_class = fn["owner"] is None or fn["owner"].split(".")[-1].startswith("Test")
        return in_test_module and in_test_class and fn["name"].startswith("test")

    @staticmethod
    def is_fixture(decorators: list[str]) -> bool:
        return "pytest.fixture" in decorators


def detect_style(project: Project, configured: str) -> TestStyle:
    if configured == "auto":
        configured = _detect(project)
    if configured == "asyncio":
        return TestStyle("asyncio", True)
    if configured == "anyio":
        return TestStyle("anyio", False)
    return TestStyle(None, False)


def _detect(project: Project) -> str:
    for name in ("pyproject.toml", "pytest.ini", "setup.cfg", "tox.ini"):
        try:
            text = (project.root / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if _AUTO_MODE.search(text):
            return "none"
    markers = {
        d.rsplit(".", 1)[-1]
        for s in project.index.summaries()
        for fn in s.get("functions", {}).values()
        for d in fn["decorators"]
        if ".mark." in f".{d}"
    }
    return "anyio" if "anyio" in markers and "asyncio" not in markers else "asyncio"
