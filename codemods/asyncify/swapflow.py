"""Where a swapped client goes: it may only live where the resolver follows it.

After a swap, every use of a client must change with it (`session.get(...)` gains an
`await`). The planner sees the uses the shared resolution types: a local name, an
attribute of `self`, a module global, a `with ... as` target. A client that leaves
those homes (returned, passed to a call, put in a container, assigned to a name the
resolver does not type) would be used somewhere the plan cannot see, so its family
is not swapped and the reason says where it went.

Keyword names and the statement around a call (for a per-call client) come from
the same parse (the index keeps neither), and so do the other questions the planner
asks of a call's arguments and a parameter's uses (`call_arguments`,
`only_called`). This reads one file's `ast`, once per state of the file; nothing is
imported or run.
"""

from __future__ import annotations

import ast
from functools import cached_property, lru_cache
from pathlib import Path
from typing import NamedTuple

from asyncmigrate import syntax
from asyncmigrate.index.refpath import ast_ref_path
from asyncmigrate.index.values import nested_qualname


#: statements a per-call client can wrap (`async with Client() as client: <stmt>`)
_WRAPPABLE = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Expr, ast.Return)


class CallShape(NamedTuple):
    """What the `ast` says about one call: its keyword names (`**` for a `**`
    argument), why no statement of its own holds it ("" when one does, so a
    per-call client can wrap that statement), and how many positional arguments
    it passes (a `*` argument counts as one)."""

    keywords: tuple[str, ...]
    wrappable: str
    positional: int


class _File:
    """One file's `ast`, parsed once for every question the swap planner asks."""

    def __init__(self, tree: ast.Module):
        self.tree = tree
        self.parent: dict[int, ast.AST] = {}
        self.calls: dict[tuple[int, int], ast.Call] = {}
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                self.parent[id(child)] = node
            if isinstance(node, ast.Call):
                self.calls[(node.lineno, node.col_offset + 1)] = node

    @cached_property
    def references(self) -> list["Reference"]:
        return list(_references(self.tree))

    @cached_property
    def shapes(self) -> dict[tuple[int, int], CallShape]:
        return {at: CallShape(tuple(k.arg or "**" for k in call.keywords), self._wrappable(call), len(call.args))
                for at, call in self.calls.items()}

    def _wrappable(self, call: ast.Call) -> str:
        node: ast.AST = call
        while True:
            parent = self.up(node)
            if parent is None or isinstance(parent, ast.Module):
                return "it is module-level code"
            if isinstance(parent, ast.Lambda):
                return "it is in a lambda"
            if isinstance(parent, ast.GeneratorExp):
                return "it is in a generator expression"
            if isinstance(parent, ast.stmt) and not isinstance(node, ast.stmt):
                return "" if isinstance(parent, _WRAPPABLE) else "it is in the header of a compound statement"
            node = parent

    def up(self, node: ast.AST) -> ast.AST | None:
        return self.parent.get(id(node))

    @cached_property
    def functions(self) -> dict[tuple[int, str], ast.AST]:
        """Function definitions by (line of `def`, name), as the index records them."""
        return {
            (node.lineno, node.name): node
            for node in ast.walk(self.tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        }

    def scope(self, node: ast.AST) -> ast.AST:
        """The innermost function (or the module) holding `node`."""
        current = self.up(node)
        while current is not None and not isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Module)):
            current = self.up(current)
        return current or self.tree

    def owner_class(self, function: ast.AST) -> ast.ClassDef | None:
        parent = self.up(function)
        return parent if isinstance(parent, ast.ClassDef) else None


@lru_cache(maxsize=128)
def _parse(path: str, stamp: tuple[int, int]) -> _File | None:
    try:
        return _File(syntax.parse(Path(path).read_bytes()))
    except (OSError, SyntaxError, ValueError):
        return None


def call_arguments(path: Path, line: int, column: int) -> list[tuple[str | None, tuple[str, ...] | None]] | None:
    """The arguments of the call at `line`:`column`, in order: (keyword or None,
    reference path or None); `*x` is ("*", None) and `**x` is ("**", None). None
    when no call is there."""
    f = _file(path)
    call = f.calls.get((line, column)) if f is not None else None
    if call is None:
        return None
    def plain(node: ast.AST) -> tuple[str, ...] | None:
        ref = ast_ref_path(node)
        return tuple(ref) if ref is not None and "()" not in ref else None

    found: list[tuple[str | None, tuple[str, ...] | None]] = [
        ("*", None) if isinstance(arg, ast.Starred) else (None, plain(arg)) for arg in call.args
    ]
    found += [(k.arg, plain(k.value)) if k.arg else ("**", None) for k in call.keywords]
    return found


def only_called(path: Path, line: int, name: str, param: str) -> bool:
    """Whether parameter `param` of the function `name` defined at `line` is only
    ever called, directly in that function's own body: never rebound, read as a
    value, or used in a nested function, lambda or generator expression (where an
    `await` could not follow it)."""
    f = _file(path)
    if f is None:
        return False
    function = f.functions.get((line, name))
    if function is None:
        return False
    called = False
    todo: list[ast.AST] = list(function.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.GeneratorExp)):
            if any(isinstance(n, ast.Name) and n.id == param for n in ast.walk(node)):
                return False
            continue
        if isinstance(node, (ast.Global, ast.Nonlocal)) and param in node.names:
            return False
        if isinstance(node, ast.Name) and node.id == param:
            parent = f.up(node)
            if not (isinstance(node.ctx, ast.Load) and isinstance(parent, ast.Call) and parent.func is node):
                return False
            called = True
        todo.extend(ast.iter_child_nodes(node))
    return called


def _file(path: Path) -> _File | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return _parse(str(path), (info.st_mtime_ns, info.st_size))


class Reference(NamedTuple):
    """A dotted name read in code (`requests.HTTPError`, `r.ok`), as the index
    would write its path, with the function it is read in (None: module level)."""

    scope: str | None
    path: tuple[str, ...]
    line: int
    column: int


def _references(tree: ast.Module):
    """Every maximal dotted read and every attribute prefix of it, with the function
    it is read in (decorators, bases, defaults and annotations are read in the
    enclosing scope; class bodies resolve like module level)."""

    def walk(node: ast.AST, scope: str | None, cls: str | None):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            is_class = isinstance(node, ast.ClassDef)
            heads = [*node.decorator_list, *(node.bases + [k.value for k in node.keywords] if is_class else [node.args])]
            if not is_class and node.returns is not None:
                heads.append(node.returns)
            for head in heads:
                yield from walk(head, scope, cls)
            inner = nested_qualname(cls if cls is not None else scope, node.name)
            for stmt in node.body:
                yield from walk(stmt, scope, inner) if is_class else walk(stmt, inner, None)
            return
        if isinstance(node, (ast.Attribute, ast.Name)) and isinstance(node.ctx, ast.Load):
            path = ast_ref_path(node)
            if path is not None:
                yield Reference(scope, tuple(path), node.lineno, node.col_offset + 1)
                if isinstance(node, ast.Attribute):
                    yield from walk(node.value, scope, cls)
                return
        for child in ast.iter_child_nodes(node):
            yield from walk(child, scope, cls)

    yield from walk(tree, None, None)


def references(path: Path) -> list[Reference]:
    f = _file(path)
    return f.references if f is not None else []


def call_shape(path: Path, line: int, column: int) -> CallShape | None:
    f = _file(path)
    return f.shapes.get((line, column)) if f is not None else None


def _use_problem(f: _File, node: ast.AST, load: bool = False) -> str | None:
    """Why a value at `node` (the client, or a `load` of the name it was stored
    under) leaves the places the plan follows; None when it is used in place."""
    parent = f.up(node)
    if isinstance(parent, ast.Attribute) and parent.value is node:
        return None  # client.method(...), client.attribute
    if isinstance(parent, ast.withitem) and parent.context_expr is node:
        return None
    if isinstance(parent, (ast.For, ast.comprehension)) and parent.iter is node:
        return None
    if isinstance(parent, ast.Expr):
        return None  # made and dropped
    if isinstance(parent, ast.Compare) or (isinstance(parent, (ast.If, ast.While, ast.IfExp, ast.Assert)) and parent.test is node):
        return None  # `if client is None`, `if client:`
    if isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.Not):
        return None
    if isinstance(parent, ast.Return):
        return "it is returned, and the callers' uses of it are not followed"
    if isinstance(parent, (ast.Call, ast.keyword, ast.Starred)):
        return "it is passed to a call, where its uses are not followed"
    if isinstance(parent, (ast.List, ast.Tuple, ast.Set, ast.Dict)):
        return "it is put in a container, where its uses are not followed"
    if isinstance(parent, (ast.Yield, ast.YieldFrom)):
        return "it is yielded, and the consumer's uses of it are not followed"
    if isinstance(parent, (ast.Assign, ast.AnnAssign, ast.NamedExpr, ast.AugAssign)):
        if load:
            return "it is assigned to another name, whose uses are not followed"
        return None if _home(f, parent) is not None else "it is assigned where its uses are not followed"
    if isinstance(parent, ast.Subscript):
        return None if parent.value is node else "it is used as an index"
    return f"it is used in a `{type(parent).__name__}` expression the plan does not follow"


def _home(f: _File, assign: ast.AST) -> tuple[str, str] | None:
    """`("name", n)` or `("attr", n)` for `n = value` / `self.n = value`."""
    targets = getattr(assign, "targets", None) or [getattr(assign, "target", None)]
    if len(targets) != 1:
        return None
    target = targets[0]
    if isinstance(target, ast.Name):
        return ("name", target.id)
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
        return ("attr", target.attr)
    return None


def _loads(f: _File, kind: str, name: str, scope: ast.AST):
    if kind == "name":
        for node in ast.walk(scope):
            if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load):
                yield node
        return
    cls = f.owner_class(scope)
    for node in ast.walk(cls if cls is not None else scope):
        if (
            isinstance(node, ast.Attribute) and node.attr == name and isinstance(node.ctx, ast.Load)
            and isinstance(node.value, ast.Name) and node.value.id == "self"
        ):
            yield node


def escape(path: Path, line: int, column: int) -> str | None:
    """Why the object the call at `line`:`column` returns may be used where the plan
    cannot see it; None when every use of it is in place."""
    f = _file(path)
    if f is None:
        return "its file could not be read again"
    call = f.calls.get((line, column))
    if call is None:
        return "its call was not found"
    problem = _use_problem(f, call)
    if problem:
        return problem
    parent = f.up(call)
    home = None
    if isinstance(parent, (ast.Assign, ast.AnnAssign, ast.NamedExpr)):
        home = _home(f, parent)
    elif isinstance(parent, ast.withitem) and isinstance(parent.optional_vars, ast.Name):
        home = ("name", parent.optional_vars.id)
    if home is None:
        return None
    scope = f.scope(call)
    for load in _loads(f, *home, scope):
        problem = _use_problem(f, load, load=True)
        if problem:
            shown = home[1] if home[0] == "name" else f"self.{home[1]}"
            return f"`{shown}` (line {load.lineno}): {problem}"
    return None
