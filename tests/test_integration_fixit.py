"""The rules under real Fixit: `fixit lint`, `fixit fix`, `fixit test lint_rules`,
`# lint-ignore`, and the rules loading in `fixit lsp` (editor integration)."""

from __future__ import annotations

import json
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import FIXTURES, lint_json
from lint_rules import ALL_RULES

FIXIT_CONFIG = '\n[tool.fixit]\nroot = true\nenable = ["lint_rules"]\n'
# shop/services/orders.py@18:8 UnawaitedCoroutine: AM101 message (has autofix)
FIXIT_LINE = re.compile(
    r"^(?P<path>\S+)@(?P<line>\d+):(?P<col>\d+) (?P<rule>\w+): "
    r"(?P<code>AM\d{3}) (?P<msg>.*?)(?: \(has autofix\))?$"
)


def fixit(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fixit", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )


@pytest.fixture
def demo(project_copy) -> Path:
    demo = project_copy("demo")
    with open(demo / "pyproject.toml", "a") as f:
        f.write(FIXIT_CONFIG)
    return demo


def parse(stdout: str) -> list[tuple]:
    found = []
    for line in stdout.splitlines():
        match = FIXIT_LINE.match(line)
        assert match, line
        found.append((match["path"], int(match["line"]), int(match["col"]) + 1, match["code"], match["msg"]))
    return sorted(found)


def test_fixit_lint_reports_what_the_runner_reports(demo):
    """Fixit runs every rule of lint_rules, off-by-default ones too: compare with a
    runner that has them selected."""
    off = ", ".join(f'"{rule.CODE}"' for rule in ALL_RULES if not rule.DEFAULT_ENABLED)
    config = demo / "pyproject.toml"
    table = "[tool.asyncmigrate]\n"
    config.write_text(config.read_text().replace(table, f"{table}extend-select = [{off}]\n"))
    result = fixit("lint", "shop", cwd=demo)
    assert result.returncode == 1, result.stderr
    _, ours = lint_json("shop", cwd=demo)
    assert parse(result.stdout) == sorted(
        (f["path"], f["line"], f["column"], f["code"], f["message"]) for f in ours
    )


def test_fixit_fix_writes_the_same_fixes(demo):
    result = fixit("fix", "--automatic", "shop", cwd=demo)
    assert result.returncode == 0, result.stderr
    expected_root = FIXTURES / "demo_fixed" / "shop"
    for expected in expected_root.rglob("*.py"):
        rel = expected.relative_to(expected_root)
        assert (demo / "shop" / rel).read_text() == expected.read_text(), rel


def test_lint_ignore_comment(demo):
    orders = demo / "shop" / "services" / "orders.py"
    call = '        mail(user_key, "receipt")'
    text = orders.read_text().replace(call, f"        # lint-ignore: UnawaitedCoroutine\n{call}")
    orders.write_text(text)
    result = fixit("lint", "shop/services/orders.py", cwd=demo)
    assert [f[1] for f in parse(result.stdout) if f[3] == "AM101"] == [18, 19, 34]


def test_fixit_test_runs_every_rule_example(tmp_path):
    result = fixit("test", "lint_rules", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    examples = sum(len(rule.VALID) + len(rule.INVALID) for rule in ALL_RULES)
    assert f"Ran {examples} tests" in result.stderr
    assert result.stderr.rstrip().endswith("OK")


def _lsp_message(payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _lsp_reader(stream, messages: queue.Queue) -> None:
    while True:
        headers = {}
        while True:
            line = stream.readline()
            if not line:
                return
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        messages.put(json.loads(stream.read(int(headers["content-length"]))))


def _lsp_diagnostics(root: Path, path: Path, text: str) -> list[dict]:
    """The diagnostics `fixit lsp` publishes when an editor opens `path` with `text`."""
    pytest.importorskip("pygls", reason="fixit lsp needs fixit[lsp]")
    uri = path.as_uri()
    server = subprocess.Popen(
        [sys.executable, "-m", "fixit", "lsp", "--debounce-interval", "0"],
        cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    messages: queue.Queue = queue.Queue()
    threading.Thread(target=_lsp_reader, args=(server.stdout, messages), daemon=True).start()

    def send(payload: dict) -> None:
        server.stdin.write(_lsp_message({"jsonrpc": "2.0", **payload}))
        server.stdin.flush()

    try:
        send({"id": 1, "method": "initialize",
              "params": {"processId": None, "rootUri": root.as_uri(), "capabilities": {}}})
        send({"method": "initialized", "params": {}})
        send({"method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": uri, "languageId": "python", "version": 1, "text": text}}})
        while True:
            message = messages.get(timeout=60)
            if message.get("method") == "textDocument/publishDiagnostics":
                break
        send({"id": 2, "method": "shutdown"})
        send({"method": "exit"})
    finally:
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    assert message["params"]["uri"] == uri
    return message["params"]["diagnostics"]


def _am101_lines(diagnostics: list[dict]) -> list[tuple]:
    return sorted(
        (d["range"]["start"]["line"] + 1, d["code"], d["message"].split()[0])
        for d in diagnostics
        if d["code"] == "UnawaitedCoroutine"
    )


def test_rules_load_in_fixit_lsp(demo):
    """An editor opening a file gets the AM findings as LSP diagnostics."""
    orders = demo / "shop" / "services" / "orders.py"
    found = _am101_lines(_lsp_diagnostics(demo, orders, orders.read_text()))
    assert found == [(18, "UnawaitedCoroutine", "AM101"), (19, "UnawaitedCoroutine", "AM101"),
                     (21, "UnawaitedCoroutine", "AM101"), (33, "UnawaitedCoroutine", "AM101")]


def test_noqa_holds_in_fixit_lsp(demo):
    """`# noqa: AM101` silences a finding in the editor as on the command line."""
    orders = demo / "shop" / "services" / "orders.py"
    lines = orders.read_text().splitlines(keepends=True)
    lines[17] = lines[17].rstrip("\n") + "  # noqa: AM101\n"
    found = _am101_lines(_lsp_diagnostics(demo, orders, "".join(lines)))
    assert found == [(19, "UnawaitedCoroutine", "AM101"), (21, "UnawaitedCoroutine", "AM101"),
                     (33, "UnawaitedCoroutine", "AM101")]
