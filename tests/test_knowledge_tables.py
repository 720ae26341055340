"""API knowledge is data: every table lives in `asyncmigrate/knowledge/*.toml`, is
loaded by `asyncmigrate/catalogue.py`, and is covered by `knowledge_fingerprint()`.
No Python module keeps its own copy, so a table cannot drift from the data."""

from __future__ import annotations

import ast
import shutil
import sys
from pathlib import Path

from asyncmigrate import catalogue
from asyncmigrate.catalogue import BRIDGES, NAMING, PROTOCOLS, STATE, AsyncApiCatalogue, BlockingCatalogue
from conftest import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KNOWLEDGE = Path(catalogue.__file__).parent / "knowledge"
#: qualified-name prefixes of the APIs the knowledge files describe
API_PREFIXES = (
    "asyncio.", "threading.", "_threading_local.", "builtins.", "collections.",
    "contextlib.", "contextvars.", "functools.", "typing.", "typing_extensions.", "abc.",
    "weakref.", "concurrent.", "signal.", "atexit.", "asgiref.", "anyio.", "trio.",
    "pytest.", "pytest_asyncio.",
)


def _toml(name: str) -> dict:
    return tomllib.loads((KNOWLEDGE / name).read_text("utf-8"))


def test_the_moved_tables_load_from_the_knowledge_files():
    state, protocols, naming, apis = (
        _toml(n) for n in ("state.toml", "protocols.toml", "naming.toml", "async_apis.toml")
    )
    assert STATE.mutable_factories == set(state["mutable_containers"]["factories"])
    assert STATE.mutating_methods == set(state["mutable_containers"]["mutating_methods"])
    assert STATE.keyed_methods == set(state["mutable_containers"]["keyed_methods"])
    assert STATE.keyed_reads == set(state["mutable_containers"]["keyed_reads"])
    assert STATE.thread_local_classes == set(state["thread_locals"]["classes"])
    assert STATE.lock_classes == set(state["locks"]["classes"])
    assert "collections.defaultdict" in STATE.mutable_factories and "append" in STATE.mutating_methods

    assert dict(PROTOCOLS.async_dunders) == {
        "__enter__": "__aenter__", "__exit__": "__aexit__",
        "__iter__": "__aiter__", "__next__": "__anext__",
    }
    assert PROTOCOLS.protocols == (("__enter__", "__exit__"), ("__iter__", "__next__"))
    assert PROTOCOLS.coroutine_methods == set(protocols["coroutine"]["methods"])
    assert PROTOCOLS.marker_bases == set(protocols["marker_bases"]["names"])

    assert NAMING.lifecycle_names == tuple(naming["lifecycle_functions"]["names"])
    assert NAMING.ordered_prefixes == tuple(naming["ordered_calls"]["prefixes"])
    assert "cache" in NAMING.process_wide_words and "conn" in NAMING.serial_receivers

    apis_catalogue = AsyncApiCatalogue()
    assert apis_catalogue.coroutine_consumers.exact == set(apis["coroutine_consumers"]["names"])
    assert apis_catalogue.sync_callbacks.exact == set(apis["callbacks"]["sync"])
    assert apis_catalogue.thread_callbacks.exact == set(apis["callbacks"]["thread"])
    assert apis_catalogue.value_consumers.exact == set(apis["value_consumers"]["names"])
    assert apis_catalogue.loop_runner_methods == set(apis["loop_runners"]["methods"])
    assert apis_catalogue.is_loop_runner("somelib.Loop.run_forever")
    assert apis_catalogue.is_async_library("redis.asyncio.client")
    assert apis_catalogue.is_async_library("aiohttp.web") and not apis_catalogue.is_async_library("redis")


def test_one_decorator_table_answers_both_questions():
    """`[decorators]` says what a decorator does to calls and whether asyncify may
    keep it on a converted function (the former SAFE_DECORATORS)."""
    apis = AsyncApiCatalogue()
    assert apis.decorator_effect("functools.lru_cache") == "preserve"
    assert "functools.lru_cache" not in apis.coroutine_safe_decorators
    assert apis.decorator_effect("builtins.staticmethod") == "preserve"
    assert "builtins.staticmethod" in apis.coroutine_safe_decorators
    assert "pytest.mark.parametrize" in apis.coroutine_safe_decorators
    assert "contextlib.asynccontextmanager" in apis.async_context_manager_decorators


def test_bridges_are_defined_once():
    from asyncmigrate import config
    from codemods.asyncify import bridge

    assert tuple(BRIDGES) == ("asgiref", "asyncio")
    assert bridge.BRIDGES is BRIDGES and config.BRIDGES is BRIDGES
    assert dict(_toml("async_apis.toml")["bridges"]["asyncio"]) == {
        "function": "asyncio.run", "wraps": "call", "imports": "module", "package": ""
    }


def test_the_fingerprint_covers_every_knowledge_file(tmp_path, monkeypatch):
    names = sorted(p.name for p in KNOWLEDGE.glob("*.toml"))
    assert {"async_apis.toml", "blocking.toml", "naming.toml", "protocols.toml", "state.toml"} <= set(names)
    before = catalogue.knowledge_fingerprint()
    blocking_before = BlockingCatalogue().fingerprint
    for name in names:
        copy = tmp_path / name.removesuffix(".toml")
        shutil.copytree(KNOWLEDGE, copy)
        monkeypatch.setattr(catalogue, "knowledge_dir", lambda copy=copy: copy)
        assert catalogue.knowledge_fingerprint() == before
        with open(copy / name, "a", encoding="utf-8") as f:
            f.write("\n# edited\n")
        assert catalogue.knowledge_fingerprint() != before, name
        assert BlockingCatalogue().fingerprint != blocking_before, name


def _tables(tree: ast.Module):
    """(name, line, string constants) of each collection literal bound at module or
    class level: `X = {...}`, `X = frozenset({...})`, `X: dict = {...}`."""
    bodies = [tree.body] + [n.body for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    for body in bodies:
        for node in body:
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets, value = [node.target], node.value
            else:
                continue
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.args:
                if value.func.id in ("frozenset", "set", "tuple", "dict", "list"):
                    value = value.args[0]
            if not isinstance(value, (ast.Set, ast.Dict, ast.Tuple, ast.List)):
                continue
            strings = [
                n.value for n in ast.walk(value) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            ]
            name = ", ".join(ast.unparse(t) for t in targets)
            yield name, node.lineno, strings


def test_no_python_module_keeps_a_table_of_api_knowledge():
    dunders = set(PROTOCOLS.async_dunders) | set(PROTOCOLS.async_dunders.values())
    found = []
    for package in ("asyncmigrate", "lint_rules", "codemods"):
        for path in sorted((REPO / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for name, line, strings in _tables(tree):
                api = [s for s in strings if s.startswith(API_PREFIXES)]
                protocol = [s for s in strings if s in dunders]
                if api or protocol:
                    found.append(f"{path.relative_to(REPO)}:{line} {name}: {(api + protocol)[:3]}")
    assert found == [], "move these into asyncmigrate/knowledge/*.toml:\n" + "\n".join(found)
