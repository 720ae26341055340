"""AM201-AM207, AM210 and AM250 through the CLI, on the `fixtures/blocking` project.

The fixture marks every call that must be reported with `# expect: CODE`; every
other line must stay quiet (lookalike methods, async equivalents, hand-offs to
threads, nested sync defs and lambdas). The AM250 chains are spelled out here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import lint_json

EXPECT = re.compile(r"#\s*expect:\s*((?:AM\d{3}(?:,\s*)?)+)")


def expected_findings(root: Path) -> list[tuple[str, int, str]]:
    found = []
    for path in sorted(root.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = EXPECT.search(line)
            for code in re.findall(r"AM\d{3}", match.group(1) if match else ""):
                found.append((path.relative_to(root).as_posix(), number, code))
    return found


def line_of(path: Path, text: str) -> int:
    lines = [n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line]
    assert len(lines) == 1, f"{text!r} is not on exactly one line of {path}"
    return lines[0]


@pytest.fixture
def blocking(project_copy) -> Path:
    return project_copy("blocking")


def findings(root: Path, select: str = "AM2") -> list[dict]:
    status, diagnostics = lint_json(str(root), "--select", select, "--no-cache")
    assert status == (1 if diagnostics else 0)
    return diagnostics


def relative(root: Path, diagnostics: list[dict]) -> list[tuple[str, int, str]]:
    return sorted(
        (Path(d["path"]).relative_to(root).as_posix(), d["line"], d["code"]) for d in diagnostics
    )


def test_every_family_is_reported_exactly_where_expected(blocking):
    expected = expected_findings(blocking)
    codes = {code for _, _, code in expected}
    assert codes == {"AM201", "AM202", "AM203", "AM204", "AM205", "AM206", "AM207", "AM210", "AM250"}
    assert relative(blocking, findings(blocking)) == sorted(expected)


def test_transitive_messages_name_the_shortest_chain(blocking):
    api = blocking / "inventory" / "api.py"
    chains = {
        "return load_item(sku)": "load_item -> _repo.fetch_row -> sqlite3.Cursor.execute",
        "services.restock(sku, qty)": (
            "services.restock -> _repo.update_qty -> sqlite3.Connection.execute"
        ),
        "via_service = services.legacy_price(sku)": (
            "services.legacy_price -> inventory.legacy.LegacyClient.lookup"
        ),
        # a call through the base class runs the override that writes to disk
        "store.save(name, data)": "store.save -> FileStorage.save -> pathlib.Path.write_bytes",
        "[parse(p) for p": "parse -> builtins.open",
        # three modules and a cycle: record -> check_levels -> restock -> record
        'audit.record("restock", sku)': (
            "audit.record -> check_levels -> services.restock -> _repo.update_qty"
            " -> sqlite3.Connection.execute"
        ),
    }
    by_line = {d["line"]: d for d in findings(api, "AM250")}
    assert len(by_line) == len(chains)
    for call, chain in chains.items():
        message = by_line[line_of(api, call)]["message"]
        assert message.startswith(f"blocking call via {chain}: "), message


def test_configured_blocking_calls(blocking):
    api = blocking / "inventory" / "api.py"
    (diagnostic,) = findings(api, "AM210")
    assert diagnostic["line"] == line_of(api, "LegacyClient().lookup(sku)")
    assert diagnostic["message"] == (
        "`inventory.legacy.LegacyClient.lookup` is configured as blocking "
        "(`inventory.legacy.*.lookup`); use inventory.legacy.LegacyClient.alookup"
    )


def test_without_configuration_the_configured_calls_are_not_blocking(blocking):
    pyproject = blocking / "pyproject.toml"
    pyproject.write_text(re.sub(r"(?m)^blocking-calls = .*$", "", pyproject.read_text()))
    api = blocking / "inventory" / "api.py"
    lines = {(d["line"], d["code"]) for d in findings(blocking) if d["path"].endswith("api.py")}
    assert (line_of(api, "LegacyClient().lookup(sku)"), "AM210") not in lines
    assert (line_of(api, "via_service = services.legacy_price(sku)"), "AM250") not in lines
    assert (line_of(api, "return load_item(sku)"), "AM250") in lines


def test_a_configured_project_function_is_a_leaf_of_transitive_chains(blocking):
    pyproject = blocking / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('"vendor_sdk.*" = ""', '"inventory.repo.row_to_dict" = ""')
    )
    api = blocking / "inventory" / "api.py"
    by_line = {d["line"]: d["message"] for d in findings(api, "AM250")}
    # load_item calls row_to_dict itself: a shorter chain than the one through fetch_row
    assert by_line[line_of(api, "return load_item(sku)")].startswith(
        "blocking call via load_item -> inventory.repo.row_to_dict:"
    )


def test_noqa_silences_one_finding(blocking):
    sleeping = blocking / "families" / "sleeping.py"
    text = sleeping.read_text().replace("clock.sleep(1)  # expect: AM201", "clock.sleep(1)  # noqa: AM201")
    sleeping.write_text(text)
    lines = [d["line"] for d in findings(sleeping)]
    assert line_of(sleeping, "clock.sleep(1)") not in lines
    assert line_of(sleeping, "    time.sleep(1)  # expect") in lines


def test_linting_one_file_still_sees_the_whole_project(blocking):
    api = blocking / "inventory" / "api.py"
    expected = [e for e in expected_findings(blocking) if e[0] == "inventory/api.py"]
    got = findings(api)
    assert sorted((d["line"], d["code"]) for d in got) == sorted((l, c) for _, l, c in expected)
