"""Precision of AM2xx-AM4xx on real-world lookalikes (issue 13), through the CLI, on
the `fixtures/precision_app` project.

Module state is matched by resolution, never by bare name: `self._ctx`,
`obj._ctx`, a parameter or a comprehension variable named like the module's
`_ctx = threading.local()` (or `_cache = {}`) is another object. A blocking
expression is one finding, at its outermost call (`open(p).read()`), and a literal
mode names the file's class (`io.BufferedReader` for "rb"). The fixture marks every
expected finding with `# expect: CODE`; every other line must stay quiet.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from asyncmigrate.catalogue import AsyncApiCatalogue
from asyncmigrate.index.summary import summarize
from conftest import lint_json

EXPECT = re.compile(r"#\s*expect:\s*((?:AM\d{3}(?:,\s*)?)+)")


@pytest.fixture
def app(project_copy) -> Path:
    return project_copy("precision_app")


@pytest.fixture
def findings(app) -> list[dict]:
    _, found = lint_json(str(app), "--select", "AM2,AM3,AM4", "--no-cache")
    return found


def _rel(app: Path, finding: dict) -> str:
    return Path(finding["path"]).relative_to(app).as_posix()


def _line(app: Path, rel: str, text: str) -> int:
    lines = [n for n, line in enumerate((app / rel).read_text().splitlines(), 1) if text in line]
    assert len(lines) == 1, f"{text!r} is not on exactly one line of {rel}"
    return lines[0]


def _at(app: Path, findings: list[dict], rel: str, text: str) -> list[dict]:
    line = _line(app, rel, text)
    return [f for f in findings if _rel(app, f) == rel and f["line"] == line]


def test_every_finding_is_where_the_fixture_expects_it_and_nowhere_else(app, findings):
    expected = []
    for path in sorted(app.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = EXPECT.search(line)
            for code in re.findall(r"AM\d{3}", match.group(1) if match else ""):
                expected.append((path.relative_to(app).as_posix(), number, code))
    assert {code for *_, code in expected} == {"AM201", "AM204", "AM250", "AM301", "AM302", "AM303", "AM402"}
    assert sorted((_rel(app, f), f["line"], f["code"]) for f in findings) == sorted(expected)


def test_instance_attributes_parameters_and_comprehension_variables_are_not_module_state(app, findings):
    # Worker, Recorder and Client keep `_ctx`, `_request`, `_results`, `_cache` of
    # their own; `run_all` and `warm` bind them as comprehension variables,
    # `inspect` and `shadowed` as parameters: none of that is the module's.
    worker = (app / "jobs/worker.py").read_text().splitlines()
    classes_end = _line(app, "jobs/worker.py", "def job_names(jobs):")
    in_classes = [
        f for f in findings if _rel(app, f) == "jobs/worker.py" and f["line"] < classes_end
    ]
    assert in_classes == [], [worker[f["line"] - 1] for f in in_classes]
    cache_findings = [f for f in findings if _rel(app, f) == "jobs/cache.py"]
    assert {f["line"] for f in cache_findings} == {
        _line(app, "jobs/cache.py", "_cache[key] = await fetch(key)  # expect"),
        _line(app, "jobs/cache.py", "context._results[job_id] = await fetch(job_id)"),
    }
    # A sync helper's comprehension variable is not the thread-local either.
    assert _at(app, findings, "jobs/worker.py", "return job_names(jobs)") == []


def test_a_module_attribute_in_a_sync_helper_is_resolved_to_the_thread_local(app, findings):
    (finding,) = _at(app, findings, "jobs/worker.py", "return request_id()")
    assert finding["code"] == "AM303"
    assert "via request_id (threading.local context._request)" in finding["message"]
    (direct,) = _at(app, findings, "jobs/worker.py", "context._request.user = job.owner")
    assert "jobs.context:_request" in direct["message"]


def test_one_finding_per_blocking_expression_at_its_outermost_call(app, findings):
    for text, name in [
        ("return open(path).read()", "io.TextIOWrapper.read"),
        ('return open(path, "rb").read()  #', "io.BufferedReader.read"),
        ('return open(path, "rb").read().splitlines()', "io.BufferedReader.read"),
        ('return path.open("rb").read()', "io.BufferedReader.read"),
    ]:
        (finding,) = _at(app, findings, "jobs/files.py", text)
        source = (app / "jobs/files.py").read_text().splitlines()[finding["line"] - 1]
        assert finding["column"] == source.index(text.split("(")[0].replace("return ", "")) + 1
        assert f"`{name}`" in finding["message"], finding["message"]


def test_a_literal_mode_names_the_file_class(app, findings):
    def named(text: str) -> str:
        (finding,) = _at(app, findings, "jobs/files.py", text)
        return finding["message"].split("`")[1]

    assert named("out.write(data)") == "io.BufferedWriter.write"
    assert named("log.seek(0)") == "io.BufferedRandom.seek"
    assert named('with open(path, "wb") as out:') == "builtins.open"
    # `file` is opened "wb", then "rb": each `with` block knows its own mode.
    assert named("file.write(data)") == "io.BufferedWriter.write"
    assert named("return file.read()") == "io.BufferedReader.read"
    # A mode that is not a literal keeps the answer for an unknown mode.
    assert named("return open(path, mode).read()") == "io.TextIOWrapper.read"


def test_transitive_chains_through_a_binary_file_keep_their_shape(app, findings):
    (finding,) = _at(app, findings, "jobs/files.py", "return load_blob(path)")
    assert finding["code"] == "AM250"
    assert "via load_blob -> builtins.open:" in finding["message"]


def test_a_project_method_named_like_a_loop_runner_is_no_event_loop(app, findings):
    # AM401: called from async code it starts no loop; AM402: a sync function
    # that calls it does not run a loop, so its get_event_loop() may be a callback's.
    assert _at(app, findings, "jobs/files.py", "return Scheduler().run_forever(jobs)") == []
    assert _at(app, findings, "jobs/files.py", "asyncio.get_event_loop().call_soon(print, jobs)") == []


def test_the_index_records_a_literal_mode_and_forgets_it_when_modes_differ():
    source = (
        "def f(p, m):\n"
        "    a = open(p, 'rb')\n"
        "    b = open(p, mode='w')\n"
        "    c = open(p, m)\n"
        "    with open(p, 'wb') as out:\n"
        "        pass\n"
        "    with open(p, 'r') as out:\n"
        "        pass\n"
    )
    local = summarize(source, "m", False)["functions"]["f"]["locals"]
    assert local["a"] == ["call", ["open"], {"1": "rb"}]
    assert local["b"] == ["call", ["open"], {"mode": "w"}]
    assert local["c"] == ["call", ["open"]]
    assert local["out"] == ["enter", ["open"]]  # two modes: as for an unknown one


@pytest.mark.parametrize(
    "mode, cls",
    [
        ("r", "io.TextIOWrapper"), ("w", "io.TextIOWrapper"), ("a+", "io.TextIOWrapper"),
        ("rb", "io.BufferedReader"), ("wb", "io.BufferedWriter"), ("ab", "io.BufferedWriter"),
        ("xb", "io.BufferedWriter"), ("r+b", "io.BufferedRandom"), ("wb+", "io.BufferedRandom"),
    ],
)
def test_the_mode_decides_what_open_returns(mode, cls):
    catalogue = AsyncApiCatalogue()
    assert catalogue.return_type("builtins.open", {"1": mode}) == cls
    assert catalogue.return_type("pathlib.Path.open", {"0": mode}) == cls
    assert catalogue.return_type("builtins.open", {"0": mode}) == "io.TextIOWrapper"  # the path
    assert catalogue.return_type("builtins.open") == "io.TextIOWrapper"


@pytest.mark.parametrize(
    "text, note",
    [
        ('app["schema"] = read_schema("schema.json")  # expect: AM250 start-up in async_setup', "; start-up only (in async_setup)"),
        ("time.sleep(0.1)", "; start-up only (runs only from async_setup)"),
        ('app["workers"]', "; start-up only (in boot_workers)"),
        ('app["schema"] = read_schema("schema.json")  # expect: AM250\n', None),
        ('return read_schema("schema.json")', None),
    ],
)
def test_findings_reached_only_from_start_up_code_say_so(app, findings, text, note):
    """Built-in start-up names (`async_setup`), the configured `startup-functions`
    (`boot_*`), and functions only they call are marked; `refresh`, which a request
    handler also calls, is not."""
    source = (app / "jobs/lifecycle.py").read_text()
    line = source[: source.index(text)].count("\n") + 1
    (found,) = [f for f in findings if _rel(app, f) == "jobs/lifecycle.py" and f["line"] == line]
    if note is None:
        assert "start-up" not in found["message"]
    else:
        assert found["message"].endswith(note)
