"""Which project coroutines can suspend: the fact behind AM501/AM502's "these awaits
could overlap".

Gathering two awaits saves time only if each waits for something (I/O, a timer, a
lock, another task). An `async def` that only computes and returns, or only awaits
other such coroutines, runs to completion the moment it is awaited; gathering it
is noise. A coroutine *suspends* when it

- awaits anything outside the project (an external coroutine, a future), except a
  zero sleep (`asyncio.sleep(0)`: one turn of the loop, nothing waited for;
  `[start_only_awaits] zero_sleeps` in `knowledge/naming.toml`);
- uses `async for`, `async with` or an async comprehension;
- awaits something that is not a call, or a call the resolver cannot name, or a
  project callable that is not a plain coroutine function (unknown counts as
  suspending);
- awaits a project coroutine that suspends, or is a method with an override that
  suspends (a call through the base may run the override), or is a stub (`pass`,
  `...`, `raise NotImplementedError`, `@abstractmethod`): its real body is elsewhere.

It is a least fixed point over the call graph (mutual recursion that never reaches
a suspension point does not suspend), computed once per state of the index,
knowledge and configuration, and memoised like `Reachabilities` (in memory and in
`ProjectIndex.derived`). The index does not count awaits, so the few coroutines the
index shows no suspension in are checked against their file's `ast` (when the file
on disk still has the indexed content) for awaits of non-calls and stub bodies.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any, Iterable

from .catalogue import NAMING
from .index.store import content_hash
from .index.values import split_id

if TYPE_CHECKING:
    from .analysis import Project
    from .callgraph import CallSite

#: Bump when the analysis changes: cached results of an older one are stale.
_VERSION = 1
_NAME = "never_suspending"


class Suspensions:
    """The memo of one project's suspension fact (see the module docstring)."""

    def __init__(self, project: "Project"):
        self.project = project
        self._memo: tuple[str, frozenset[str]] | None = None

    def key(self) -> str:
        return f"{_VERSION}:{self.project.index.fingerprint}:{self.project.analysis_key}"

    def never_suspending(self) -> frozenset[str]:
        """Ids of the project coroutines whose call never suspends."""
        key = self.key()
        if self._memo is not None and self._memo[0] == key:
            return self._memo[1]
        index = self.project.index
        entry = index.derived.get(_NAME)
        if isinstance(entry, dict) and entry.get("key") == key and isinstance(entry.get("ids"), list):
            result = frozenset(entry["ids"])
        else:
            result = frozenset(_compute(self.project))
            index.save_derived(_NAME, {"key": key, "ids": sorted(result)})
        self._memo = (key, result)
        return result


def is_zero_sleep(qualified: str, arguments: Iterable[Iterable[Any]], count: int) -> bool:
    """`asyncio.sleep(0)`: from the call's literal 0 arguments (`quick`) and count."""
    if qualified not in NAMING.zero_sleeps:
        return False
    return any(
        value == 0 and not isinstance(value, bool) and (keyword is None and count == 1 or keyword in ("delay", "seconds"))
        for keyword, value in arguments
    )


def _compute(project: "Project") -> set[str]:
    graph = project.call_graph
    coroutines = [fid for fid in graph.functions if project.call_kind(fid) == "async"]
    known = set(coroutines)
    suspends: set[str] = set()
    depends: dict[str, set[str]] = {}
    for fid in coroutines:
        fn = project.resolver.function(fid) or {}
        deps = set(graph.overrides(fid))
        direct = any(use[0].startswith("async") for use in fn.get("uses", ()))
        awaited = [site for site in graph.calls_from(fid) if site.awaited]
        if fn.get("awaits") and not awaited and not direct:
            direct = True  # it awaits something that is not a call
        for site in awaited:
            target = _awaited_coroutine(project, site)
            if target is None:
                direct = True
            elif target:
                deps.add(target)
        if direct:
            suspends.add(fid)
        else:
            depends[fid] = deps
    # The index cannot tell `await fut` next to awaited calls, nor a stub body:
    # the file's syntax can, for the few coroutines that look like they never suspend.
    for fid in _read_from_source(project, depends):
        suspends.add(fid)
        depends.pop(fid)
    changed = True
    while changed:
        changed = False
        for fid, deps in depends.items():
            if fid not in suspends and any(d in suspends or d not in known for d in deps):
                suspends.add(fid)
                changed = True
    return set(depends) - suspends


def _awaited_coroutine(project: "Project", site: "CallSite") -> str | None:
    """For one awaited call: the project coroutine it runs, "" when it never
    suspends by itself (a zero sleep), None when it may suspend."""
    callee = site.callee
    if callee is None:
        return None
    if callee.kind == "external":
        return "" if is_zero_sleep(callee.name, site.quick, site.nargs) else None
    if callee.kind == "function" and project.call_kind(callee.name) == "async":
        return callee.name
    return None


def _read_from_source(project: "Project", candidates: dict[str, set[str]]) -> set[str]:
    """The candidates whose syntax shows a suspension the index does not record: an
    await of something other than a recorded call, or a stub body."""
    index = project.index
    by_module: dict[str, list[str]] = {}
    for fid in candidates:
        by_module.setdefault(split_id(fid)[0], []).append(fid)
    paths = {id(summary): rel for rel, summary in index.by_path.items()}
    found: set[str] = set()
    for module, fids in by_module.items():
        summary = index.module(module)
        tree = _tree(project, paths.get(id(summary)))
        if summary is None or tree is None:
            continue  # no trustworthy source (an editor buffer, a snippet): the index's word
        nodes = {
            (node.lineno, node.col_offset + 1): node
            for node in ast.walk(tree)
            if isinstance(node, ast.AsyncFunctionDef)
        }
        for fid in fids:
            fn = summary["functions"][split_id(fid)[1]]
            node = nodes.get((fn["line"], fn["col"]))
            if node is None:
                found.add(fid)
                continue
            recorded = sum(1 for site in project.call_graph.calls_from(fid) if site.awaited)
            if _is_stub(node) or _own_awaits(node) != recorded:
                found.add(fid)
    return found


def _tree(project: "Project", rel: str | None) -> ast.Module | None:
    """The syntax of file `rel`, if the file on disk is still what the index read."""
    index = project.index
    if rel is None:
        return None
    try:
        data = (index.root / rel).read_bytes()
    except OSError:
        return None
    if content_hash(data) != index.hashes.get(rel):
        return None
    try:
        return ast.parse(data)
    except (SyntaxError, ValueError, RecursionError):
        return None


def _own_awaits(function: ast.AsyncFunctionDef) -> int:
    """The awaits a function's own body makes (a nested def's decorators and
    defaults run in it, its body does not)."""
    count = 0
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Await):
            count += 1
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            stack.extend(node.decorator_list)
            stack.extend(d for d in (*node.args.defaults, *node.args.kw_defaults) if d is not None)
            continue
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.ClassDef):
            stack.extend((*node.decorator_list, *node.bases, *(k.value for k in node.keywords)))
            continue
        stack.extend(ast.iter_child_nodes(node))
    return count


def _is_stub(function: ast.AsyncFunctionDef) -> bool:
    """An interface method whose real body is an override somewhere else."""
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name in ("abstractmethod", "overload"):
            return True
    body = list(function.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        body = body[1:]
    for statement in body:
        if isinstance(statement, ast.Pass):
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) and statement.value.value is Ellipsis:
            continue
        if isinstance(statement, ast.Raise) and statement.exc is not None:
            exc = statement.exc.func if isinstance(statement.exc, ast.Call) else statement.exc
            if getattr(exc, "id", getattr(exc, "attr", "")) == "NotImplementedError":
                continue
        return False
    return True

