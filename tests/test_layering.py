"""The layout is the architecture: dependencies point one way, with no import circle.

Layers, bottom up: the core package `asyncmigrate` (index, resolver, catalogue,
configuration, analyses), then `codemods` (which may use the core), then
`lint_rules` (which may use the core and the codemods' fixers, e.g. the ContextVar
conversion behind AM301's fix). Only `asyncmigrate/cli.py`, the command table,
names the upper layers, and only as strings it imports on demand.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import lint_rules
from conftest import REPO

PACKAGES = ("asyncmigrate", "lint_rules", "codemods")
#: package -> the packages it may import
ALLOWED = {
    "asyncmigrate": {"asyncmigrate"},
    "codemods": {"asyncmigrate", "codemods"},
    "lint_rules": {"asyncmigrate", "codemods", "lint_rules"},
}
#: the lazy command table: it names the upper layers as "module:attr" strings
COMMAND_TABLE = "asyncmigrate.cli"


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if "bootstrap" in path.parts:  # the profiler's sitecustomize, run in the user's program
                continue
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Modules of the three packages that `name` imports at run time (at module level
    or inside functions; not under `if TYPE_CHECKING:`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                child = f"{source}.{alias.name}"
                found.add(child if child in modules else source)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {m for m in found if m.split(".")[0] in PACKAGES and m != name}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def test_dependencies_point_one_way():
    wrong = []
    for module, imported in _graph().items():
        if module == COMMAND_TABLE:
            continue
        allowed = ALLOWED[module.split(".")[0]]
        wrong += [f"{module} -> {target}" for target in imported if target.split(".")[0] not in allowed]
    assert wrong == []


def test_the_command_table_names_subcommands_only_as_strings():
    imported = _graph()[COMMAND_TABLE]
    assert {m for m in imported if not m.startswith("asyncmigrate")} == set()


def test_no_import_circle():
    graph = _graph()
    # Importing a module runs its package's __init__ first: that is no circle of
    # the code's making, so a package's edges to its own submodules do not count.
    edges = {
        module: {t for t in targets if not t.startswith(module + ".")}
        for module, targets in graph.items()
    }
    circles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for target in sorted(edges.get(module, ())):
            if state.get(target) == 1:
                circles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module)
    assert circles == []


def _loaded_after(statement: str) -> set[str]:
    code = (
        f"import sys; {statement}; "
        f"print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}} & {set(PACKAGES)!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_each_layer_imports_in_isolation():
    core = "import asyncmigrate.analysis, asyncmigrate.shared_state, asyncmigrate.reachability, asyncmigrate.cli"
    assert _loaded_after(core) == {"asyncmigrate"}
    codemods = "import codemods.asyncify, codemods.asyncify.cli, codemods.contextvars, codemods.contextvars.cli"
    assert _loaded_after(codemods) == {"asyncmigrate", "codemods"}


def test_rules_live_in_family_folders_and_are_reexported_for_fixit():
    families = {"coroutines": "AM1", "blocking": "AM2", "state": "AM3", "loop": "AM4", "gather": "AM5"}
    for rule in lint_rules.ALL_RULES:
        family = rule.__module__.split(".")[2]
        assert rule.__module__.startswith("lint_rules.rules."), rule
        assert rule.CODE.startswith(families[family]), (rule, family)
        # Fixit collects the LintRule classes of the package's __init__ only.
        assert getattr(lint_rules, rule.__name__) is rule


def test_fixit_collects_every_rule_from_lint_rules():
    from fixit.config import find_rules
    from fixit.ftypes import QualifiedRule

    collected = set(find_rules(QualifiedRule("lint_rules")))
    assert collected == set(lint_rules.ALL_RULES)
