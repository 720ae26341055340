"""AM401 (nested event loops, through sync bridges across modules) and AM402
(`asyncio.get_event_loop()`), on the `loops` fixture project."""

from __future__ import annotations

import textwrap

from conftest import lint_json, run_cli
from inprocess_lint import lint


def findings_by_line(findings: list[dict], code: str) -> dict[tuple[str, int], str]:
    return {(f["path"].split("/")[-1], f["line"]): f["message"] for f in findings if f["code"] == code}


def test_am401_direct_decorated_and_transitive_bridges(project_copy):
    root = project_copy("loops")
    status, findings = lint_json(str(root), "--select", "AM401")
    assert status == 1
    found = findings_by_line(findings, "AM401")
    assert sorted(found) == [("api.py", 9), ("api.py", 17), ("api.py", 21)]
    assert "via build_report -> legacy.fetch_all -> asyncio.run" in found[("api.py", 9)]
    assert "`refresh()` (decorated with @async_to_sync)" in found[("api.py", 17)]
    assert "`asyncio.run()`" in found[("api.py", 21)]
    # `await asyncio.to_thread(build_report, urls)` (line 13) runs the bridge in a
    # worker thread: not reported; neither is the sync `main()` script in legacy.py.


def test_am401_chain_through_a_method_and_a_loop_variable(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "svc"\n')
    pkg = tmp_path / "svc"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "sync_api.py").write_text(
        textwrap.dedent(
            """\
            import asyncio


            async def _load(key):
                return key


            class Client:
                def __init__(self):
                    self.loop = asyncio.new_event_loop()

                def load(self, key):
                    return self.loop.run_until_complete(_load(key))
            """
        )
    )
    (pkg / "views.py").write_text(
        textwrap.dedent(
            """\
            from svc.sync_api import Client

            client = Client()


            def lookup(key):
                return client.load(key)


            async def view(key):
                return lookup(key)


            def script(key):
                return lookup(key)
            """
        )
    )
    found = findings_by_line(lint(tmp_path, "AM4"), "AM401")
    assert list(found) == [("views.py", 11)]
    assert "via lookup -> client.load -> asyncio.AbstractEventLoop.run_until_complete" in found[("views.py", 11)]


def test_am402_fix_in_coroutine_and_report_in_sync_code(project_copy):
    root = project_copy("loops")
    findings = lint(root, "AM402")
    found = {(f["path"].split("/")[-1], f["line"], f["fixable"]) for f in findings}
    assert found == {("api.py", 25, True), ("legacy.py", 20, False)}
    result = run_cli(str(root), "--select", "AM402", "--fix")
    assert result.returncode == 1  # legacy.py's sync finding has no fix
    api = (root / "loops/api.py").read_text()
    assert "return asyncio.get_running_loop().time() + seconds" in api
    assert "get_event_loop" not in api
    assert "loop = asyncio.get_event_loop()" in (root / "loops/legacy.py").read_text()


def test_am402_quiet_in_callbacks_of_a_running_loop(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "cb"\n')
    (tmp_path / "cb.py").write_text(
        textwrap.dedent(
            """\
            import asyncio


            def on_data(data):
                asyncio.get_event_loop().call_soon(print, data)


            async def main():
                asyncio.get_running_loop().call_soon(on_data, b"x")


            if __name__ == "__main__":
                asyncio.run(main())
            """
        )
    )
    assert lint(tmp_path, "AM4") == []
