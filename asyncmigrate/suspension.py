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

`Suspensions.waits_only_when(fid)` answers a narrower question for coroutines that
do suspend: is every suspension point under a once-only guard (`if component not
in hass.config.components: await setup(...)`, `if self._client is None: ...`)?
Then it waits on a cache miss only: called in a loop with the guard's arguments the
same in every iteration, only the first iteration waits.

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
from . import syntax
from .fileio import read_source
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
        self._guards: dict[str, tuple[str, ...] | None] = {}

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

    def waits_only_when(self, fid: str) -> tuple[str, ...] | None:
        """The names a project coroutine's once-only guards read, when every await,
        `async with` and `async for` of its own body is under one; else None. Read
        from the file's syntax on demand (a rule asks about few callees)."""
        if fid not in self._guards:
            self._guards[fid] = _once_guards(self.project, fid)
        return self._guards[fid]


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


def _once_guards(project: "Project", fid: str) -> tuple[str, ...] | None:
    module, qualname = split_id(fid)
    summary = project.index.module(module)
    if summary is None or qualname not in summary.get("functions", {}):
        return None
    rel = next((r for r, s in project.index.by_path.items() if s is summary), None)
    tree = _tree(project, rel)
    if tree is None:
        return None
    fn = summary["functions"][qualname]
    node = next(
        (
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.AsyncFunctionDef) and (n.lineno, n.col_offset + 1) == (fn["line"], fn["col"])
        ),
        None,
    )
    if node is None:
        return None
    names: set[str] = set()
    points = 0

    def walk(statements: list[ast.stmt], guard: frozenset[str] | None) -> bool:
        """False at a suspension point outside every once-only guard; `guard` is
        the names the innermost enclosing guards read (None: not guarded)."""
        nonlocal points
        for statement in statements:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            if isinstance(statement, ast.If):
                if _suspends_in(statement.test) and guard is None:
                    return False
                once = _once_test(statement.test)
                inner = guard if once is None else (guard or frozenset()) | once
                if not walk(statement.body, inner) or not walk(statement.orelse, guard):
                    return False
                continue
            if isinstance(statement, (ast.AsyncWith, ast.AsyncFor)) or any(
                _suspends_in(child) for child in _header(statement)
            ):
                if guard is None:
                    return False
                points += 1
                names.update(guard)
            for block in ("body", "orelse", "finalbody"):
                if not walk(getattr(statement, block, []) or [], guard):
                    return False
            for handler in getattr(statement, "handlers", []) or []:
                if not walk(handler.body, guard):
                    return False
        return True

    if not walk(node.body, None) or not points:
        return None
    return tuple(sorted(names))


def _header(statement: ast.stmt) -> list[ast.AST]:
    """The expressions a statement evaluates itself (not its nested blocks)."""
    return [
        child
        for child in ast.iter_child_nodes(statement)
        if not isinstance(child, (ast.stmt, ast.excepthandler))
    ]


def _suspends_in(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Await) for n in ast.walk(node) if not isinstance(n, ast.Lambda))


def _once_test(test: ast.expr) -> set[str] | None:
    """The names read by a once-only test (`x not in cache`, `x is None`, `not x`)."""
    once = (
        isinstance(test, ast.UnaryOp)
        and isinstance(test.op, ast.Not)
        or isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and (
            isinstance(test.ops[0], ast.NotIn)
            or isinstance(test.ops[0], ast.Is)
            and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value is None
        )
    )
    if not once or _suspends_in(test):
        return None
    return {n.id for n in ast.walk(test) if isinstance(n, ast.Name)}


def _tree(project: "Project", rel: str | None) -> ast.Module | None:
    """The syntax of file `rel`, if the file on disk is still what the index read."""
    index = project.index
    if rel is None:
        return None
    try:
        data = read_source(index.root / rel)
    except OSError:
        return None
    if content_hash(data) != index.hashes.get(rel):
        return None
    try:
        return syntax.parse(data)
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

