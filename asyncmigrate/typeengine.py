"""The second tier of type resolution: pyrefly, for receivers the index cannot type.

The index's own resolver (`index/resolve.py`) is fast and sees constructors,
annotations, `self`, literals, conditional expressions and generator items. It does
not solve generics (`ObjectPool(Generic[T])` handing out the `T` its factory
returns) or infer what an unannotated method returns from its body. pyrefly does,
statically: it never imports or runs project code, and it is asked never to query
an interpreter (`--skip-interpreter-query`, site-packages given explicitly).

One `pyrefly check --report-trace` run over the project gives the type of every
binding site (`with pool.get() as client`, `x = factory()`); this module turns them
into the type of each function-local name whose bindings agree. It is asked only
for the functions that hold a call the first tier could not resolve and whose
method name matters, and only once per run. When pyrefly is not installed or fails,
it says so once on stderr and the first tier's answer stands.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from functools import cached_property
from pathlib import Path
from typing import Any

from . import syntax
from .fileio import read_source

#: pyrefly's options for this use: types of unannotated code too, never an interpreter
PYREFLY_ARGS = (
    "--skip-interpreter-query",
    "--check-unannotated-defs",
    "--infer-return-types", "checked",
    "--output-format", "min-text",
)
#: the trace of a project larger than this is not read (a bound on memory)
MAX_TRACE_BYTES = 1 << 30
TIMEOUT_SECONDS = 600


def pyrefly_command() -> str | None:
    """The pyrefly executable beside this interpreter (the `types` extra), or on PATH."""
    here = Path(sys.executable).with_name("pyrefly")
    if here.exists():
        return str(here)
    return shutil.which("pyrefly")


class TypeEngine:
    """Local-variable types from pyrefly, per module file (relative path)."""

    def __init__(self, root: Path, command: str | None = None):
        self.root = root
        self.command = command if command is not None else pyrefly_command()
        self.unavailable: str | None = None if self.command else "pyrefly is not installed"
        self._locals: dict[tuple[str, str], dict[str, str]] = {}
        self._trees: dict[str, ast.Module | None] = {}

    def _tree(self, rel: str) -> ast.Module | None:
        """The syntax tree of file `rel`, parsed once."""
        if rel not in self._trees:
            try:
                self._trees[rel] = syntax.parse(read_source(self.root / rel))
            except (OSError, SyntaxError, ValueError):
                self._trees[rel] = None
        return self._trees[rel]

    @cached_property
    def _trace(self) -> dict[str, dict[str, str]]:
        """rel path -> {"line:col-endcol" (1-based): type} for the project's modules."""
        if self.command is None:
            return {}
        with tempfile.TemporaryDirectory(prefix="asyncmigrate-pyrefly-") as tmp:
            out = Path(tmp) / "trace.json"
            args = [
                self.command, "check", *PYREFLY_ARGS,
                "--site-packages-path", sysconfig.get_paths()["purelib"],
                "--report-trace", str(out), "-o", os.devnull, str(self.root),
            ]
            try:
                subprocess.run(
                    args, cwd=self.root, capture_output=True, timeout=TIMEOUT_SECONDS,
                    env={**os.environ, "PYREFLY_COLOR": "never"}, stdin=subprocess.DEVNULL,
                )
                if not out.exists() or out.stat().st_size > MAX_TRACE_BYTES:
                    raise OSError("no usable trace")
                data = json.loads(out.read_text(encoding="utf-8"))
            except (OSError, ValueError, subprocess.SubprocessError) as e:
                self.unavailable = f"pyrefly failed ({type(e).__name__}: {e})"
                return {}
        found: dict[str, dict[str, str]] = {}
        root = str(self.root.resolve())
        for module in data.get("modules", []) if isinstance(data, dict) else []:
            path = module.get("path") if isinstance(module, dict) else None
            types = module.get("types") if isinstance(module, dict) else None
            if isinstance(path, str) and isinstance(types, dict) and path.startswith(root + os.sep):
                found[Path(path).relative_to(root).as_posix()] = {
                    k: v for k, v in types.items() if isinstance(v, str)
                }
        return found

    def local_types(self, rel: str, qualname: str) -> dict[str, str]:
        """Names bound in function `qualname` of file `rel` whose every binding
        pyrefly types the same (and knows): name -> type as pyrefly prints it
        (`Client`, `Client | None`). Asked per call site, so memoized."""
        key = (rel, qualname)
        if key not in self._locals:
            self._locals[key] = self._local_types(rel, qualname)
        return self._locals[key]

    def _local_types(self, rel: str, qualname: str) -> dict[str, str]:
        types = self._trace.get(rel)
        if not types:
            return {}
        function = _function_node(self._tree(rel), qualname)
        if function is None:
            return {}
        seen: dict[str, set[str]] = {}
        for node in _own_scope(function):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                key = f"{node.lineno}:{node.col_offset + 1}-{node.end_col_offset + 1}"
                seen.setdefault(node.id, set()).add(types.get(key, "Unknown"))
        return {
            name: next(iter(kinds))
            for name, kinds in seen.items()
            if len(kinds) == 1 and "Unknown" not in kinds and "Any" not in kinds
        }


def _function_node(tree: ast.Module | None, qualname: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    if tree is None:
        return None
    body: list[Any] = tree.body
    node = None
    for part in qualname.split("."):
        if part == "<locals>":
            continue
        node = next(
            (n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == part),
            None,
        )
        if node is None:
            return None
        body = node.body
    return node if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None


def _own_scope(function: ast.AST):
    todo = list(ast.iter_child_nodes(function))
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            todo.extend(ast.iter_child_nodes(node))
