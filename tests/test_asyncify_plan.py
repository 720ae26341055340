"""`asyncify --plan`: the migration layers, bottom-up, in every format; writes nothing."""

from __future__ import annotations

import json

from click.testing import CliRunner

from codemods.asyncify.cli import asyncify_command
from conftest import FIXTURES


def run(root, *args):
    """In process (the command line contract itself is covered by the fixture tests)."""
    result = CliRunner(mix_stderr=False).invoke(asyncify_command, [str(root), "--no-cache", *args])
    result.returncode = result.exit_code
    return result


def plan(root, *args):
    return run(root, "--plan", *args)


def test_json_plan_is_exact_and_writes_nothing(project_copy):
    root = project_copy("asyncify_shop/input")
    before = {p: p.read_bytes() for p in root.rglob("*.py")}
    result = plan(root, "--format", "json")
    assert result.returncode == 0, result.stderr
    expected = json.loads((FIXTURES / "asyncify_shop" / "plan.json").read_text())
    assert json.loads(result.stdout) == expected
    assert {p: p.read_bytes() for p in root.rglob("*.py")} == before
    layers = expected["layers"]
    assert [layer["layer"] for layer in layers] == list(range(len(layers)))
    assert "shop.storage:Store.load" in [f["function"] for f in layers[0]["functions"]]
    assert layers[-1]["functions"][0]["function"] == "shop.app:main"
    assert layers[-1]["bridges"] == [
        {
            "caller": "shop.app:<module>",
            "callee": "shop.app:main",
            "path": "shop/app.py",
            "line": 18,
        }
    ]


def test_text_dot_mermaid(project_copy):
    root = project_copy("asyncify_shop/input")
    text = plan(root)
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("Migration plan: 16 function(s) in 4 layer(s)")
    assert "Layer 0: 3 function(s)" in text.stdout
    dot = plan(root, "--format", "dot")
    assert dot.stdout.startswith("digraph asyncify {")
    assert '"shop.app:main" -> "shop.service:OrderService.checkout";' in dot.stdout
    mermaid = plan(root, "--format", "mermaid")
    assert mermaid.stdout.startswith("graph BT\n")
    assert "classDef layer3" in mermaid.stdout


def test_max_layer_converts_the_bottom_and_bridges_the_rest(project_copy):
    root = project_copy("asyncify_shop/input")
    result = plan(root, "--max-layer", "0", "--format", "json")
    data = json.loads(result.stdout)
    assert [layer["layer"] for layer in data["layers"]] == [0]
    bridges = {(b["caller"], b["line"]) for b in data["layers"][0]["bridges"]}
    assert ("shop.service:OrderService.price", 18) in bridges
    applied = run(root, "--max-layer", "0", "--jobs", "1")
    assert applied.returncode == 0, applied.stderr
    service = (root / "shop" / "service.py").read_text()
    assert "row = async_to_sync(self.store.load)(key)" in service
    assert "    def price(self, key):" in service
