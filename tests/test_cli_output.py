"""The output side of `asyncmigrate lint` (Ruff's conventions: `--statistics`,
`--exit-zero`, `-q`, `--show-fixes`, `--output-file`, the gitlab/junit/pylint
formats, colour and source excerpts on a terminal), `asyncmigrate rule CODE`, and
shell completion; all through the command line, as users and CI run them."""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree

import pytest

from conftest import REPO, lint_json, run_cli
from lint_rules import ALL_RULES, UnawaitedCoroutine

ANSI = "\x1b["


@pytest.fixture
def demo(project_copy) -> Path:
    """A copy of the demo project; the runs take `shop` from inside it."""
    return project_copy("demo")


def findings_of(demo: Path) -> list[dict]:
    return lint_json("shop", cwd=demo)[1]


def run_on_tty(*args: str, cwd: Path, **env: str) -> tuple[int, str]:
    """`python -m lint_rules args...` with stdout on a pseudo-terminal."""
    import pty

    environment = dict(os.environ, PYTHONPATH=str(REPO))
    environment.pop("NO_COLOR", None)
    environment.update(env)
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "lint_rules", *args],
        cwd=cwd, stdout=slave, stderr=subprocess.PIPE, env=environment,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    process.communicate(timeout=300)
    # The terminal turns "\n" into "\r\n".
    return process.returncode, b"".join(chunks).decode().replace("\r\n", "\n")


# -- asyncmigrate rule -------------------------------------------------------------


def test_rule_explains_one_rule_like_ruff_rule():
    result = run_cli("rule", "AM101", module="asyncmigrate")
    assert result.returncode == 0, result.stderr
    head, explanation = result.stdout.split("\n\n", 1)
    assert head == "# UnawaitedCoroutine (AM101)"
    assert "Fix is available: `--fix` applies it.\nEnabled by default.\n\n" in explanation
    assert explanation.endswith(inspect.getdoc(UnawaitedCoroutine).strip() + "\n")

    # Names and lower case find it too; fix and default status follow the rule.
    off = run_cli("rule", "asyncwithoutawait", module="asyncmigrate")
    assert off.stdout.startswith("# AsyncWithoutAwait (AM503)\n")
    assert "Off by default: enable it with its exact code (`--select AM503`)." in off.stdout
    unsafe = run_cli("rule", "am501", module="asyncmigrate")
    assert "Fix is available with `--fix --unsafe-fixes`" in unsafe.stdout
    # Codes the framework reports are explained as well.
    parse_error = run_cli("rule", "AM001", module="asyncmigrate")
    assert parse_error.stdout.startswith("# ParseError (AM001)\n")
    assert "No fix is available." in parse_error.stdout


def test_rule_json_and_all():
    one = run_cli("rule", "AM201", "--format", "json", module="asyncmigrate")
    assert one.returncode == 0, one.stderr
    explained = json.loads(one.stdout)
    assert explained["code"] == "AM201" and explained["name"] == "BlockingSleep"
    assert explained["fix"] == "safe" and explained["default_enabled"] is True
    assert explained["explanation"].startswith("## What it does\n")
    assert set(explained) == {"code", "name", "summary", "fix", "default_enabled", "explanation"}

    every = json.loads(run_cli("rule", "--all", "--output-format", "json", module="asyncmigrate").stdout)
    codes = [e["code"] for e in every]
    assert codes == sorted(["AM001", "AM002", "AM003", *(rule.CODE for rule in ALL_RULES)])

    text = run_cli("rule", "--all", module="asyncmigrate").stdout
    headings = re.findall(r"^# (\w+) \((AM\d{3})\)$", text, re.M)
    assert [code for _, code in headings] == codes
    assert "\n\n# CoroutineCalledFromSync (AM102)\n" in text


def test_unknown_rule_is_a_usage_error_with_suggestions():
    typo = run_cli("rule", "AM10", module="asyncmigrate")
    assert typo.returncode == 2
    assert typo.stdout == ""
    assert "error: unknown rule code: AM10; did you mean AM101, AM102 or AM103?" in typo.stderr
    name = run_cli("rule", "UnawaitedCorutine", module="asyncmigrate")
    assert name.returncode == 2 and "did you mean AM101?" in name.stderr
    nothing_alike = run_cli("rule", "XYZ123", module="asyncmigrate")
    assert nothing_alike.returncode == 2 and "did you mean" not in nothing_alike.stderr
    assert run_cli("rule", module="asyncmigrate").returncode == 2
    assert run_cli("rule", "AM101", "--all", module="asyncmigrate").returncode == 2


def test_rule_table_sarif_and_rule_read_the_same_docstrings(demo):
    """`rule`, `rules` (the README table) and SARIF's descriptors say the same."""
    explained = json.loads(run_cli("rule", "--all", "--format", "json", module="asyncmigrate").stdout)
    by_code = {e["code"]: e for e in explained}
    table = run_cli("rules", "--format", "markdown", module="asyncmigrate").stdout
    sarif = json.loads(run_cli("shop", "--format", "sarif", cwd=demo).stdout)
    descriptors = {d["id"]: d for d in sarif["runs"][0]["tool"]["driver"]["rules"]}
    for rule in ALL_RULES:
        doc = by_code[rule.CODE]
        assert f"| {rule.CODE} | `{rule.__name__}` | {doc['summary']}" in table
        assert descriptors[rule.CODE]["shortDescription"]["text"] == doc["summary"]
        assert descriptors[rule.CODE]["help"]["markdown"] == doc["explanation"]
    assert descriptors["AM001"]["shortDescription"]["text"] == by_code["AM001"]["summary"]


# -- --statistics, --exit-zero, --quiet --------------------------------------------


def test_statistics_count_per_code_most_frequent_first(demo):
    findings = findings_of(demo)
    counts = Counter(f["code"] for f in findings)
    result = run_cli("shop", "--statistics", cwd=demo)
    assert result.returncode == 1
    *rows, summary = result.stdout.splitlines()
    assert summary.startswith(f"Found {len(findings)} findings in ")
    parsed = [row.split("\t") for row in rows]
    assert [(code.strip(), int(count)) for count, code, _ in parsed] == sorted(
        counts.items(), key=lambda item: (-item[1], item[0])
    )
    width = len(str(max(counts.values())))
    assert all(len(count) == width for count, _, _ in parsed)
    by_code = {code.strip(): label for _, code, label in parsed}
    assert by_code["AM101"] == "[*] UnawaitedCoroutine"
    assert by_code["AM102"] == "[ ] CoroutineCalledFromSync"

    as_json = json.loads(run_cli("shop", "--statistics", "--format", "json", cwd=demo).stdout)
    assert as_json[0] == {"code": "AM101", "name": "UnawaitedCoroutine", "count": counts["AM101"], "fixable": True}
    assert {s["code"]: s["count"] for s in as_json} == counts

    quiet = run_cli("shop", "--statistics", "-q", cwd=demo)
    assert quiet.stdout.splitlines() == rows
    unsupported = run_cli("shop", "--statistics", "--format", "sarif", cwd=demo)
    assert unsupported.returncode == 2
    assert "--statistics prints in text, concise, full, json" in unsupported.stderr


def test_exit_zero_reports_but_passes_and_errors_still_fail(demo):
    result = run_cli("shop", "--exit-zero", cwd=demo)
    assert result.returncode == 0
    assert result.stdout == run_cli("shop", cwd=demo).stdout
    assert run_cli("shop", "--exit-zero", "--diff", cwd=demo).returncode == 0
    assert run_cli("nope", "--exit-zero", cwd=demo).returncode == 2
    assert run_cli("shop", "--exit-zero", "--format", "yaml", cwd=demo).returncode == 2


def test_quiet_prints_only_the_findings(demo):
    full = run_cli("shop", cwd=demo).stdout.splitlines()
    quiet = run_cli("shop", "-q", cwd=demo)
    assert quiet.returncode == 1
    assert quiet.stdout.splitlines() == full[:-1]
    assert run_cli("shop", "--quiet", "--select", "AM402", cwd=demo).stdout == ""
    fixed = run_cli("shop", "--fix", "--quiet", cwd=demo)
    assert fixed.stderr == ""
    assert "fixed" not in fixed.stdout and "Found" not in fixed.stdout


# -- --show-fixes ------------------------------------------------------------------


def test_show_fixes_lists_available_fixes_per_file(demo):
    findings = findings_of(demo)
    fixable = [f for f in findings if f["fixable"]]
    result = run_cli("shop", "--show-fixes", cwd=demo)
    lines = result.stdout.splitlines()
    start = lines.index(f"Would fix {len(fixable)} findings with `--fix`:")
    assert lines[start - 1] == "" and lines[-2] == ""
    table = lines[start + 1 : -2]
    names = {rule.CODE: rule.__name__ for rule in ALL_RULES}
    expected = []
    for path in sorted({f["path"] for f in fixable}):
        expected.append(f"- {path}:")
        counts = Counter(f["code"] for f in fixable if f["path"] == path)
        for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
            expected.append(f"    {count} \u00d7 {code} ({names[code]})")
    assert table == expected
    # The findings above the table are the plain report's, unchanged.
    assert lines[: start - 1] == run_cli("shop", cwd=demo).stdout.splitlines()[:-1]

    # A machine format keeps stdout to itself: the table goes to stderr.
    as_json = run_cli("shop", "--show-fixes", "--format", "json", cwd=demo)
    assert json.loads(as_json.stdout) == findings
    assert f"Would fix {len(fixable)} findings with `--fix`:" in as_json.stderr


def test_show_fixes_with_fix_lists_what_was_fixed(demo):
    fixable = [f for f in findings_of(demo) if f["fixable"]]
    result = run_cli("shop", "--fix", "--show-fixes", cwd=demo)
    lines = result.stdout.splitlines()
    assert f"Fixed {len(fixable)} findings:" in lines
    assert "- shop/streams.py:" in lines
    assert "    3 \u00d7 AM104 (SyncWithOrForOnAsync)" in lines
    assert lines[-1].startswith(f"Found {len(findings_of(demo))} findings in ")


# -- --output-file -----------------------------------------------------------------


def test_output_file_gets_the_report_atomically(demo):
    expected = run_cli("shop", "--format", "json", cwd=demo).stdout
    result = run_cli("shop", "--format", "json", "-o", "reports/lint.json", cwd=demo)
    assert result.returncode == 1
    assert result.stdout == ""
    report = demo / "reports" / "lint.json"
    assert report.read_text() == expected
    assert os.listdir(report.parent) == ["lint.json"]  # no temporary file left behind

    # Text in a file is never coloured, even when asked.
    run_cli("shop", "--output-file", "reports/lint.txt", "--color", "always", cwd=demo)
    assert (demo / "reports" / "lint.txt").read_text() == run_cli("shop", cwd=demo).stdout

    # An existing report is replaced and keeps its mode.
    report.chmod(0o640)
    run_cli("shop", "--format", "pylint", "-o", str(report), cwd=demo)
    assert report.read_text().startswith("shop/")
    assert stat.S_IMODE(report.stat().st_mode) == 0o640


def test_output_file_is_created_with_the_umask_mode(demo):
    umask = os.umask(0)
    os.umask(umask)
    run_cli("shop", "-o", "new-report.txt", cwd=demo)
    assert stat.S_IMODE((demo / "new-report.txt").stat().st_mode) == 0o666 & ~umask


def test_output_file_that_cannot_be_written_is_a_usage_error(demo):
    result = run_cli("shop", "-o", "shop/app.py/report.json", cwd=demo)
    assert result.returncode == 2
    assert "cannot write shop/app.py/report.json" in result.stderr
    assert "Traceback" not in result.stderr


# -- gitlab, junit, pylint ---------------------------------------------------------


def test_gitlab_code_quality_report(demo, monkeypatch):
    findings = findings_of(demo)
    result = run_cli("shop", "--format", "gitlab", cwd=demo)
    assert result.returncode == 1
    issues = json.loads(result.stdout)
    assert len(issues) == len(findings)
    for issue, finding in zip(issues, findings):
        assert set(issue) >= {"description", "check_name", "fingerprint", "severity", "location"}
        assert issue["check_name"] == finding["code"]
        assert issue["description"] == f"{finding['code']}: {finding['message']}"
        assert issue["severity"] == "major"
        assert issue["location"]["path"] == finding["path"]
        assert issue["location"]["lines"]["begin"] == finding["line"]
    assert len({i["fingerprint"] for i in issues}) == len(issues)

    # Paths are relative to the GitLab checkout; a fingerprint does not depend on
    # the line, so a finding keeps it when code above it moves.
    monkeypatch.setenv("CI_PROJECT_DIR", str(demo.parent))
    moved = demo / "shop" / "app.py"
    moved.write_text("\n\n" + moved.read_text())
    again = json.loads(run_cli("shop", "--format", "gitlab", cwd=demo).stdout)
    assert [i["location"]["path"] for i in again] == [f"demo/{f['path']}" for f in findings]
    assert again[0]["location"]["lines"]["begin"] == issues[0]["location"]["lines"]["begin"] + 2
    monkeypatch.setenv("CI_PROJECT_DIR", str(demo))
    same_root = json.loads(run_cli("shop", "--format", "gitlab", cwd=demo).stdout)
    assert [i["fingerprint"] for i in same_root] == [i["fingerprint"] for i in issues]


def test_junit_report_parses_one_suite_per_file(demo):
    findings = findings_of(demo)
    result = run_cli("shop", "--format", "junit", cwd=demo)
    assert result.returncode == 1
    assert result.stdout.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ElementTree.fromstring(result.stdout.split("\n", 1)[1])
    assert root.tag == "testsuites"
    assert root.get("tests") == root.get("failures") == str(len(findings))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == list(dict.fromkeys(f["path"] for f in findings))
    cases = [case for suite in suites for case in suite.findall("testcase")]
    assert len(cases) == len(findings)
    for case, finding in zip(cases, findings):
        assert case.get("name") == f"asyncmigrate.{finding['code']}"
        assert case.get("classname") == finding["path"].removesuffix(".py")
        assert (case.get("line"), case.get("column")) == (str(finding["line"]), str(finding["column"]))
        failure = case.find("failure")
        assert failure.get("message") == finding["message"]
        assert failure.text == f"line {finding['line']}, col {finding['column']}, {finding['message']}"

    clean = run_cli("shop", "--format", "junit", "--select", "AM402", cwd=demo)
    assert clean.returncode == 0
    (case,) = ElementTree.fromstring(clean.stdout.split("\n", 1)[1]).iter("testcase")
    assert case.get("name") == "No errors found" and case.find("failure") is None


def test_pylint_format(demo):
    findings = findings_of(demo)
    result = run_cli("shop", "--format", "pylint", cwd=demo)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{f['path']}:{f['line']}: [{f['code']}] {f['message']}" for f in findings
    ]


# -- colour and source excerpts ----------------------------------------------------


def test_full_format_shows_the_source_under_each_finding(demo):
    findings = findings_of(demo)
    full = run_cli("shop", "--format", "full", cwd=demo)
    assert ANSI not in full.stdout
    blocks = full.stdout.split("\n\n")
    assert len(blocks) == len(findings) + 1  # and the summary
    for block, finding in zip(blocks, findings):
        heading, top, source, carets, bottom = block.splitlines()
        assert heading.startswith(f"{finding['path']}:{finding['line']}:{finding['column']}: {finding['code']}")
        number = str(finding["line"])
        line = (demo / finding["path"]).read_text().splitlines()[finding["line"] - 1]
        assert source == f"{number} | {line}".rstrip()
        assert top == bottom == " " * len(number) + " |"
        width = (finding["end_column"] if finding["end_line"] == finding["line"] else len(line.rstrip()) + 1) - finding["column"]
        assert carets == " " * len(number) + " | " + " " * (finding["column"] - 1) + "^" * max(width, 1) + " " + finding["code"]
    assert run_cli("shop", "--format", "concise", cwd=demo).stdout == run_cli("shop", cwd=demo).stdout


def test_excerpt_aligns_carets_after_tabs_and_wide_characters(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "app.py").write_text(
        "import time\n\nasync def f():\n\tlabel = '\u6f22\u5b57'; time.sleep(1)\n"
    )
    result = run_cli("app.py", "--format", "full", "--select", "AM201", cwd=tmp_path)
    lines = result.stdout.splitlines()
    assert lines[2] == "4 |     label = '\u6f22\u5b57'; time.sleep(1)"
    # four columns for the tab, two each for the wide characters
    assert lines[3] == "  | " + " " * (4 + len("label = '") + 4 + len("'; ")) + "^" * len("time.sleep(1)") + " AM201"


def test_color_always_styles_text_and_adds_excerpts(demo):
    findings = findings_of(demo)
    plain = run_cli("shop", cwd=demo).stdout
    assert ANSI not in plain  # not a terminal: today's bytes
    colored = run_cli("shop", "--color", "always", cwd=demo).stdout
    assert ANSI in colored
    stripped = re.sub(r"\x1b\[[0-9;]*m", "", colored)
    assert stripped == run_cli("shop", "--format", "full", cwd=demo).stdout
    first = findings[0]
    assert f"\x1b[31m\x1b[1m{first['code']}\x1b[0m" in colored
    assert "^^^" in colored
    # --color never, and machine formats, are never styled.
    assert run_cli("shop", "--color", "never", cwd=demo).stdout == plain
    assert ANSI not in run_cli("shop", "--color", "always", "--format", "json", cwd=demo).stdout
    assert ANSI not in run_cli("shop", "--color", "always", "--format", "pylint", cwd=demo).stdout


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_a_terminal_gets_colour_unless_no_color(demo):
    status, on_tty = run_on_tty("shop", cwd=demo)
    assert status == 1
    assert ANSI in on_tty and "^^^" in on_tty
    _, no_color = run_on_tty("shop", cwd=demo, NO_COLOR="1")
    assert no_color == run_cli("shop", cwd=demo).stdout
    _, forced = run_on_tty("shop", "--color", "always", cwd=demo, NO_COLOR="1")
    assert ANSI in forced


# -- shell completion --------------------------------------------------------------


def _console_script() -> Path:
    script = Path(sys.executable).parent / "asyncmigrate"
    if not script.exists():
        pytest.skip("the asyncmigrate console script is not installed (pip install -e .)")
    return script


@pytest.mark.parametrize(
    "shell, expected",
    [
        ("bash", "complete -o nosort -F _asyncmigrate_completion asyncmigrate"),
        ("zsh", "#compdef asyncmigrate"),
        ("fish", "complete --no-files --command asyncmigrate"),
    ],
)
def test_shell_completion_script(shell, expected):
    env = dict(os.environ, _ASYNCMIGRATE_COMPLETE=f"{shell}_source")
    result = subprocess.run([_console_script()], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout


def test_shell_completion_completes_commands_codes_and_formats():
    def complete(words: str) -> list[str]:
        env = dict(
            os.environ,
            _ASYNCMIGRATE_COMPLETE="bash_complete",
            COMP_WORDS=words,
            COMP_CWORD=str(len(words.split()) - (0 if words.endswith(" ") else 1)),
        )
        result = subprocess.run([_console_script()], capture_output=True, text=True, env=env, timeout=60)
        assert result.returncode == 0, result.stderr
        return [line.split(",", 1)[1] for line in result.stdout.splitlines()]

    assert complete("asyncmigrate ru") == ["rule", "rules"]
    assert complete("asyncmigrate rule AM20") == [f"AM20{n}" for n in range(1, 8)]
    assert "gitlab" in complete("asyncmigrate lint --format ")


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
def test_bash_sources_the_completion_script(tmp_path):
    """The README's bash set-up, end to end: source the script, complete a code."""
    script = tmp_path / "complete.bash"
    env = dict(os.environ, _ASYNCMIGRATE_COMPLETE="bash_source")
    script.write_text(subprocess.run([_console_script()], capture_output=True, text=True, env=env, timeout=60).stdout)
    env = dict(os.environ, PATH=f"{_console_script().parent}{os.pathsep}{os.environ.get('PATH', '')}")
    probe = (
        f". {script}; COMP_WORDS=(asyncmigrate rule AM40); COMP_CWORD=2; "
        '_asyncmigrate_completion asyncmigrate; echo "${COMPREPLY[@]}"'
    )
    result = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert result.stdout.split() == ["AM401", "AM402"], result.stderr
