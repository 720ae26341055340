"""What one module declares, extracted from its syntax tree without running it.

The summary is plain JSON-able data so the index can cache it per file content.
It uses the stdlib `ast` parser: the index reads every file of the project, and `ast`
parses several times faster than LibCST. Rules and codemods work on LibCST trees of
the files they lint or rewrite, and meet the index through qualified names
(`module:Class.method`) and reference paths, never through node identity.

A *reference path* is a list of segments naming a value as written in the source:
`self.repo.fetch` is `["self", "repo", "fetch"]`, `Cls().run` is
`["Cls", "()", "run"]`, `super().save` is `["super", "()", "save"]`.

A *type expression* says how a variable got its value:
`["builtin", name]` (a display or literal: `[]` is a `list`), `["either", texpr,
texpr]` (a conditional expression), `["iter", texpr]` (an item of iterating over
it; a generator's `yields` says what its items are),
`["call", path, literals?]` (the result of calling path), `["inst", dotted, items?]` (an
instance of an annotated type; `items`: the class of its items, for `list[Conn]`), `["ref", path]` (the same value as path), `["enter",
path, literals?]` (bound by `with path() as x`), `["alias", qualified]` (a function-local import), `["narrow",
declared, call]` (an annotated attribute also assigned a constructor call).
`literals` are the call's string arguments that read as a file mode (`{"1": "rb"}`,
`{"mode": "wb"}`): what `open(p, "rb")` returns depends on its mode.

A call is recorded as `[path, line, col, awaited, refs?, outer?, quick?, nargs?]`:
`refs` are the plain references passed as arguments, `outer` the path of the call
that receives this call's result as an argument (`asyncio.run(main())` ->
`["asyncio", "run"]`), `quick` its literal False and 0 arguments as `[keyword or
None, value]` and `nargs` its number of arguments (what makes
`pool.shutdown(wait=False)` return at once). A function's `uses` are the implicit protocol calls: `["with", path, line,
col, item]` (a with statement calls `__enter__`/`__exit__` of path's value),
`["for", path, line, col]` (a for statement iterates path's value) and `["compfor",
path, line, col]` (a comprehension does; the position is the iterable's), and
`["yieldfrom", path or None, line, col, stmt_line?, stmt_col?]` (with the
statement's position when `yield from x` is a whole statement); async forms are named `"async with"` and so on.
The module's `value_refs` are references stored rather than called or passed
(`HANDLERS = {"a": handle}`, `return handle`): `[enclosing function or None, path,
line, col]`. Calls in
a lambda are the lambda's, not the enclosing function's: the module's
`lambda_calls` lists them as `[enclosing function or None, path, line, col]`.
Module-level dispatch tables (`HANDLERS = {"a": handle_a}`, lists and tuples too) are
`tables`: name -> `[[path, line, col], ...]`; their calls `HANDLERS[key](...)` are
`table_calls` (`[enclosing function or None, name, line, col, awaited, runner?]`,
with the runner's path for a bridge `async_to_sync(HANDLERS[key])(...)`), and
`table_escapes` names the tables used any other way. A function's `aliases` are its
locals that only hold functions and are only called (`reader = _readline`, `reader =
partial(_readsegment, ...)`): name -> `[[path, line, col], ...]`.
"""

from __future__ import annotations

import ast
import re
from typing import Any, Iterable

from ..syntax import downlevel
from .refpath import UNNAMED_RECEIVER, ast_call_path, ast_ref_path
from .values import nested_qualname

SCHEMA = 13

#: a string argument that reads as a file mode ("rb", "w+", "a"): recorded with
#: the call that binds a variable, since it decides what `open()` returns
FILE_MODE = re.compile(r"[rwxabtU+]{1,4}")

def annotation_name(node: ast.AST | None) -> str | None:
    """The class an annotation names, unwrapping Optional, `X | None` and quotes."""
    node = _unwrapped(node)
    if node is None:
        return None
    if isinstance(node, ast.Subscript):
        outer = ast_ref_path(node.value)
        if outer and outer[-1] in ("Optional", "Annotated", "Final", "ClassVar"):
            inner = node.slice
            if isinstance(inner, ast.Tuple):
                inner = inner.elts[0]
            return annotation_name(inner)
        if outer and outer[-1] == "Union" and isinstance(node.slice, ast.Tuple):
            sides = [s for s in node.slice.elts if not _is_none(s)]
            return annotation_name(sides[0]) if len(sides) == 1 else None
        if outer and "()" not in outer and outer[-1] not in ("type", "Type", "Callable", "Literal"):
            return ".".join(outer)  # a generic: `Pool[Any]` is a Pool
        return None
    path = ast_ref_path(node)
    if path and "()" not in path:
        return ".".join(path)
    return None


#: generic containers whose first type argument is what iterating over them gives
_ITERABLES = {
    "list", "List", "Sequence", "MutableSequence", "Iterable", "Iterator", "Collection",
    "Deque", "deque", "set", "Set", "frozenset", "FrozenSet", "AbstractSet", "MutableSet",
    "Generator", "Reversible", "tuple", "Tuple",
}


def annotation_items(node: ast.AST | None) -> str | None:
    """The class of the items of a container annotation (`list[Conn]`,
    `Deque[Waiter]`, `tuple[Conn, ...]`, `Iterator[Row]`), through Optional."""
    node = _unwrapped(node)
    if not isinstance(node, ast.Subscript):
        return None
    outer = ast_ref_path(node.value) or [""]
    inner = node.slice
    if outer[-1] == "Optional":
        return annotation_items(inner)
    if outer[-1] not in _ITERABLES:
        return None
    if isinstance(inner, ast.Tuple):
        is_variadic = len(inner.elts) == 2 and isinstance(inner.elts[1], ast.Constant) and inner.elts[1].value is Ellipsis
        if outer[-1].lower() == "tuple" and not is_variadic:
            return None  # a fixed tuple's items differ
        inner = inner.elts[0]
    return annotation_name(inner)


def _annotated(node: ast.AST | None) -> list[Any] | None:
    """`["inst", class]`, or `["inst", class, items]` for a container annotation."""
    name = annotation_name(node)
    if name is None:
        return None
    items = annotation_items(node)
    return ["inst", name, items] if items else ["inst", name]


def _param(arg: ast.arg, kind: str) -> dict[str, Any]:
    param = {"name": arg.arg, "annotation": annotation_name(arg.annotation), "kind": kind}
    items = annotation_items(arg.annotation)
    if items:
        param["items"] = items  # what iterating over it gives
    return param


def _unwrapped(node: ast.AST | None) -> ast.AST | None:
    """An annotation without its quotes and its `| None` (None when it is a union of
    several other types, or does not parse)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            node = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        sides = [s for s in (node.left, node.right) if not _is_none(s)]
        return _unwrapped(sides[0]) if len(sides) == 1 else None
    return node


def _is_none(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


#: displays and literals -> the builtin class of their value
_BUILTIN_DISPLAYS = {
    ast.List: "list", ast.ListComp: "list", ast.Dict: "dict", ast.DictComp: "dict",
    ast.Set: "set", ast.SetComp: "set", ast.Tuple: "tuple", ast.JoinedStr: "str",
}


def type_expr(value: ast.AST) -> list[Any] | None:
    """How a variable bound to `value` gets its type, or None when unknown."""
    if isinstance(value, ast.Await):
        value = value.value
    builtin = _BUILTIN_DISPLAYS.get(type(value))
    if builtin is None and isinstance(value, ast.Constant) and value.value is not None:
        builtin = type(value.value).__name__
    if builtin is not None:
        return ["builtin", builtin]
    if isinstance(value, ast.IfExp):
        body, orelse = type_expr(value.body), type_expr(value.orelse)
        return ["either", body, orelse] if body and orelse else None
    if isinstance(value, ast.Call):
        path = ast_ref_path(value.func)
        if path and path[-1] == "TypeVar":
            # `T = TypeVar("T", bound=Base)`: a `x: T` is used as a Base.
            bound = next((k.value for k in value.keywords if k.arg == "bound"), None)
            name = annotation_name(bound)
            return ["ref", name.split(".")] if name else None
        if not path:
            return None
        literals = mode_literals(value)
        return ["call", path, literals] if literals else ["call", path]
    path = ast_ref_path(value)
    if path:
        return ["ref", path]
    return None


def mode_literals(call: ast.Call) -> dict[str, str]:
    """The arguments of `call` that read as a file mode, by position or keyword."""
    found: dict[str, str] = {}
    for position, arg in enumerate(call.args[:2]):
        if isinstance(arg, ast.Starred):
            break  # the positions after it are unknown
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and FILE_MODE.fullmatch(arg.value):
            found[str(position)] = arg.value
    for keyword in call.keywords:
        value = keyword.value
        if keyword.arg == "mode" and isinstance(value, ast.Constant) and isinstance(value.value, str):
            found["mode"] = value.value
    return found


def _decorator_path(node: ast.AST) -> str:
    """A decorator as a dotted name; `@fixture(scope=...)` is named by its factory."""
    if isinstance(node, ast.Call):
        node = node.func
    path = ast_ref_path(node)
    return ".".join(path) if path else "<expr>"


class _FunctionState:
    __slots__ = ("summary", "types", "conflicts", "may_alias")

    def __init__(self, summary: dict[str, Any]):
        self.summary = summary
        self.types: dict[str, Any] = {}
        self.conflicts: set[str] = set()
        #: a local is assigned a reference: only then is `_local_aliases` worth its walk
        self.may_alias = False


class ModuleSummarizer(ast.NodeVisitor):
    """Builds the summary of one module; see `summarize`."""

    def __init__(self, module_name: str, is_package: bool):
        self.module_name = module_name
        self.is_package = is_package
        self.imports: dict[str, str] = {}
        self.star_imports: list[str] = []
        self.functions: dict[str, dict[str, Any]] = {}
        self.classes: dict[str, dict[str, Any]] = {}
        self.globals: dict[str, Any] = {}
        self.global_names: set[str] = set()
        self._global_conflicts: set[str] = set()
        # Scope stack entries: ("class", qualname) or ("function", _FunctionState)
        self._scopes: list[tuple[str, Any]] = []
        self.has_async = False
        #: `__all__` when it is a literal list of names: what `import *` takes
        self.exports: list[str] | None = None
        #: (class qualname, attribute) pairs whose type comes from an annotation
        self._annotated: set[tuple[str, str]] = set()
        #: calls made by top-level code (including `if __name__ == "__main__":`)
        self.module_calls: list[list[Any]] = []
        self.lambda_calls: list[list[Any]] = []
        self.value_refs: list[list[Any]] = []
        #: module-level dispatch tables: name -> [[path, line, col], ...] of functions
        self.tables: dict[str, list[list[Any]]] = {}
        #: `TABLE[key](...)` calls: [enclosing function or None, name, line, col, awaited]
        self.table_calls: list[list[Any]] = []
        self._lambda_depth = 0
        #: id(call node) -> path of the call it is a positional argument of
        self._outer: dict[int, list[str]] = {}
        #: id(yield from node) -> position of the statement it is the whole of
        self._yield_from_statements: dict[int, tuple[int, int]] = {}

    # -- scope helpers -------------------------------------------------------

    def _qualname(self, name: str) -> str:
        if not self._scopes:
            return nested_qualname(None, name)
        kind, item = self._scopes[-1]
        return nested_qualname(item if kind == "class" else item.summary["qualname"], name)

    def _function(self) -> _FunctionState | None:
        for kind, item in reversed(self._scopes):
            if kind == "function":
                return item
            return None
        return None

    def _enclosing_class(self) -> str | None:
        if self._scopes and self._scopes[-1][0] == "class":
            return self._scopes[-1][1]
        return None

    def _bind(self, name: str, texpr: list[Any] | None) -> None:
        """Record that `name` is bound in the current scope, with a type if known."""
        if self._lambda_depth:
            return  # a lambda's own scope
        fn = self._function()
        if fn is not None:
            fn.summary["local_names"].append(name)
            target, conflicts = fn.types, fn.conflicts
        elif self._scopes:  # class body: class attribute
            owner = self._scopes[-1][1]
            if texpr is not None and (owner, name) not in self._annotated:
                self.classes[owner]["attrs"][name] = texpr
                if texpr[0] == "inst":
                    self._annotated.add((owner, name))
            return
        else:
            self.global_names.add(name)
            target, conflicts = self.globals, self._global_conflicts
        if name in conflicts:
            return
        if texpr is None:
            if name in target:
                del target[name]
                conflicts.add(name)
            elif fn is not None:
                conflicts.add(name)
            return
        if name in target and target[name] != texpr:
            if texpr[0] in ("call", "enter") and target[name][:2] == texpr[:2]:
                # The same call with other literals (`f` opened "rb", then "w"):
                # the type without them, as for an unknown mode.
                target[name] = texpr[:2]
                return
            del target[name]
            conflicts.add(name)
        elif name not in conflicts:
            target[name] = texpr

    def _bind_target(self, target: ast.AST, texpr: list[Any] | None) -> None:
        if isinstance(target, ast.Name):
            self._bind(target.id, texpr)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._bind_target(element, None)
        elif isinstance(target, ast.Starred):
            self._bind_target(target.value, None)
        elif isinstance(target, ast.Attribute):
            self._bind_attribute(target, texpr)

    def _bind_attribute(
        self, target: ast.Attribute, texpr: list[Any] | None, annotated: bool = False
    ) -> None:
        """`self.x = ...` inside a method types the attribute `x` of the class.

        An annotation (`self.x: Conn | None = None`, or `x: Conn` in the class body)
        is authoritative: later plain assignments (`self.x = None`) do not undo it.
        """
        fn = self._function()
        if fn is None or texpr is None:
            return
        summary = fn.summary
        owner = summary["owner"]
        if owner is None or not summary["params"]:
            return
        first = summary["params"][0]["name"]
        if isinstance(target.value, ast.Name) and target.value.id == first:
            # A parameter's annotation is only visible inside the method: inline it.
            if texpr[0] == "ref" and len(texpr[1]) == 1:
                for param in summary["params"]:
                    if param["name"] == texpr[1][0] and param["annotation"]:
                        texpr = ["inst", param["annotation"], *([param["items"]] if param.get("items") else [])]
                        break
                else:
                    local = fn.types.get(texpr[1][0])
                    if local is None:
                        return
                    texpr = local
            attrs = self.classes[owner]["attrs"]
            key = (owner, target.attr)
            if annotated:
                self._annotated.add(key)
                attrs[target.attr] = texpr
            elif key in self._annotated:
                self._narrow(attrs, target.attr, texpr)
                return
            elif target.attr in attrs and attrs[target.attr] != texpr:
                current = attrs[target.attr]
                # The same call with other literals keeps the type without them.
                same_call = current is not None and current[0] in ("call", "enter") and current[:2] == texpr[:2]
                attrs[target.attr] = texpr[:2] if same_call else None  # conflicting: unknown
            elif target.attr not in attrs:
                attrs[target.attr] = texpr

    @staticmethod
    def _narrow(attrs: dict[str, Any], name: str, texpr: list[Any]) -> None:
        """An annotated attribute assigned a constructor call (`self.pool: Executor`
        then `self.pool = MyExecutor()`): keep both, so resolution can take the
        more specific class when it is a subclass of the declared one, and a
        subclass's override wins. Two different constructors: the declaration."""
        current = attrs.get(name)
        if current is None or texpr[0] != "call":
            return
        if current[0] == "narrow":
            if current[2] != texpr:
                attrs[name] = current[1]
            return
        attrs[name] = ["narrow", current, texpr]

    # -- imports -------------------------------------------------------------

    def _resolve_relative(self, module: str | None, level: int) -> str:
        if level == 0:
            return module or ""
        base = self.module_name.split(".")
        if not self.is_package:
            base = base[:-1]
        if level > 1:
            base = base[: len(base) - (level - 1)] if level - 1 <= len(base) else []
        if module:
            base = base + module.split(".")
        return ".".join(base)

    def _import_binding(self, local: str, qualified: str) -> None:
        fn = self._function()
        if fn is not None:
            self._bind(local, ["alias", qualified])
        elif not self._scopes:
            self.imports[local] = qualified
            self.global_names.add(local)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self._import_binding(alias.asname, alias.name)
            else:
                top = alias.name.split(".")[0]
                self._import_binding(top, top)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = self._resolve_relative(node.module, node.level)
        for alias in node.names:
            if alias.name == "*":
                if not self._scopes:
                    self.star_imports.append(base)
                continue
            qualified = f"{base}.{alias.name}" if base else alias.name
            self._import_binding(alias.asname or alias.name, qualified)

    # -- definitions ---------------------------------------------------------

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        qualname = self._qualname(node.name)
        if self._function() is not None:
            self._bind(node.name, None)
        elif not self._scopes:
            self.global_names.add(node.name)
        # A generic base (`Base[Conn]`, `Generic[T]`) is its class; its arguments
        # are kept: `Generic[T]` names the class's type parameters, `Base[Conn]`
        # says what they are for this subclass.
        bases = [
            p for p in (ast_ref_path(b.value if isinstance(b, ast.Subscript) else b) for b in node.bases) if p
        ]
        base_args: dict[str, list[str | None]] = {}
        for base in node.bases:
            path = ast_ref_path(base.value) if isinstance(base, ast.Subscript) else None
            if path and "()" not in path:
                elts = base.slice.elts if isinstance(base.slice, ast.Tuple) else [base.slice]
                base_args[".".join(path)] = [annotation_name(e) for e in elts]
        self.classes[qualname] = {
            "qualname": qualname,
            "name": node.name,
            "line": node.lineno,
            "bases": bases,
            "base_args": base_args,
            "methods": {},
            "attrs": {},
            "decorators": [_decorator_path(d) for d in node.decorator_list],
        }
        for decorator in node.decorator_list:
            self.visit(decorator)
        for base in node.bases:
            self.visit(base)
        self._scopes.append(("class", qualname))
        for statement in node.body:
            self.visit(statement)
        self._scopes.pop()

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        is_async = isinstance(node, ast.AsyncFunctionDef)
        if is_async:
            self.has_async = True
        owner = self._enclosing_class()
        parent_fn = self._function()
        qualname = self._qualname(node.name)
        decorators = [_decorator_path(d) for d in node.decorator_list]
        kind = "function"
        if owner is not None:
            kind = "method"
            for decorator in decorators:
                last = decorator.rsplit(".", 1)[-1]
                if last in ("staticmethod", "classmethod"):
                    kind = last
                elif last in ("property", "cached_property") or last in (
                    "setter",
                    "getter",
                    "deleter",
                ):
                    kind = "property"
        args = node.args
        params = []
        for arg in (*args.posonlyargs, *args.args):
            params.append(
                _param(arg, "pos")
            )
        if args.vararg:
            params.append({"name": args.vararg.arg, "annotation": None, "kind": "*"})
        for arg in args.kwonlyargs:
            params.append(
                _param(arg, "kw")
            )
        if args.kwarg:
            params.append({"name": args.kwarg.arg, "annotation": None, "kind": "**"})
        summary: dict[str, Any] = {
            "qualname": qualname,
            "name": node.name,
            "line": node.lineno,
            "end_line": node.end_lineno,
            "col": node.col_offset + 1,
            "is_async": is_async,
            "is_generator": False,
            "awaits": False,
            "decorators": decorators,
            "params": params,
            "returns": annotation_name(node.returns),
            "owner": owner,
            "parent": parent_fn.summary["qualname"] if parent_fn else None,
            "kind": kind,
            "locals": {},
            "local_names": [],
            "calls": [],
            "uses": [],
        }
        # The def binds its name in the enclosing scope.
        if parent_fn is not None:
            self._bind(node.name, None)
        elif owner is not None:
            self.classes[owner]["methods"].setdefault(node.name, qualname)
        else:
            self.global_names.add(node.name)
        self.functions[qualname] = summary
        for decorator in node.decorator_list:
            self.visit(decorator)
        for default in (*args.defaults, *args.kw_defaults):
            if default is not None:
                self.visit(default)
        state = _FunctionState(summary)
        self._scopes.append(("function", state))
        for statement in node.body:
            self.visit(statement)
        self._scopes.pop()
        summary["locals"] = state.types
        summary["local_names"] = sorted(set(summary["local_names"]))
        aliases = _local_aliases(node) if state.may_alias else None
        if aliases:
            summary["aliases"] = aliases

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function

    def visit_Lambda(self, node: ast.Lambda) -> None:
        # A lambda is its own scope; its calls are not made by the enclosing function.
        self._lambda_depth += 1
        self.visit(node.body)
        self._lambda_depth -= 1

    def _record_use(self, use: list[Any]) -> None:
        fn = self._function()
        if fn is not None and not self._lambda_depth and (use[1] is not None or use[0] == "yieldfrom"):
            fn.summary["uses"].append(use)

    # -- bindings ------------------------------------------------------------

    def _record_value_ref(self, node: ast.AST | None) -> None:
        path = ast_ref_path(node) if isinstance(node, (ast.Name, ast.Attribute)) else None
        if path is None or self._lambda_depth or getattr(node, "ctx", None).__class__ is not ast.Load:
            return
        fn = self._function()
        scope = fn.summary["qualname"] if fn is not None else None
        self.value_refs.append([scope, path, node.lineno, node.col_offset + 1])

    def visit_Dict(self, node: ast.Dict) -> None:
        for value in node.values:
            self._record_value_ref(value)
        self.generic_visit(node)

    def _visit_display(self, node: ast.List | ast.Tuple | ast.Set) -> None:
        for element in node.elts:
            self._record_value_ref(element)
        self.generic_visit(node)

    visit_List = visit_Tuple = visit_Set = _visit_display

    def visit_Return(self, node: ast.Return) -> None:
        self._record_value_ref(node.value)
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        if not self._scopes and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            self.exports = _string_list(node.value)
        self._record_value_ref(node.value)
        self._record_table(node)
        fn = self._function()
        if fn is not None and not self._lambda_depth and not fn.may_alias:
            fn.may_alias = len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and _alias_ref(node) is not None
        self.visit(node.value)
        texpr = type_expr(node.value)
        for target in node.targets:
            if not isinstance(target, ast.Name):
                self.visit(target)
            self._bind_target(target, texpr)

    def _record_table(self, node: ast.Assign) -> None:
        """`HANDLERS = {"a": handle_a, ...}` at module level: a dispatch table (a dict,
        list or tuple display of plain references), called as `HANDLERS[key](...)`."""
        if self._scopes or len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
            return
        value = node.value
        elements = value.values if isinstance(value, ast.Dict) else getattr(value, "elts", None)
        if not isinstance(value, (ast.Dict, ast.List, ast.Tuple)) or not elements:
            return
        members = []
        for element in elements:
            path = ast_ref_path(element) if isinstance(element, (ast.Name, ast.Attribute)) else None
            if path is None:
                return
            members.append([path, element.lineno, element.col_offset + 1])
        self.tables[node.targets[0].id] = members

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        annotated = _annotated(node.annotation)
        ann = annotated[1] if annotated else None
        texpr = annotated or (type_expr(node.value) if node.value else None)
        if isinstance(node.target, ast.Attribute):
            self.visit(node.target)
            self._bind_attribute(node.target, texpr, annotated=ann is not None)
            return
        if not isinstance(node.target, ast.Name):
            self.visit(node.target)
        self._bind_target(node.target, texpr)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        if isinstance(node.target, ast.Name):
            if self._function() is not None:
                self._function().summary["local_names"].append(node.target.id)
        else:
            self.visit(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self._bind_target(node.target, type_expr(node.value))

    def _visit_for(self, node: ast.For | ast.AsyncFor) -> None:
        if isinstance(node, ast.AsyncFor):
            self._mark_awaits()
        kind = "async for" if isinstance(node, ast.AsyncFor) else "for"
        self._record_use([kind, ast_ref_path(node.iter), node.lineno, node.col_offset + 1])
        self.visit(node.iter)
        iterable = type_expr(node.iter) if isinstance(node, ast.For) else None
        self._bind_target(node.target, ["iter", iterable] if iterable else None)
        for statement in (*node.body, *node.orelse):
            self.visit(statement)

    visit_For = _visit_for
    visit_AsyncFor = _visit_for

    def _visit_with(self, node: ast.With | ast.AsyncWith) -> None:
        if isinstance(node, ast.AsyncWith):
            self._mark_awaits()
        for position, item in enumerate(node.items):
            kind = "async with" if isinstance(node, ast.AsyncWith) else "with"
            self._record_use(
                [kind, ast_ref_path(item.context_expr), node.lineno, node.col_offset + 1, position]
            )
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                texpr = None
                if isinstance(item.context_expr, ast.Call):
                    path = ast_ref_path(item.context_expr.func)
                    literals = mode_literals(item.context_expr)
                    texpr = (["enter", path, literals] if literals else ["enter", path]) if path else None
                self._bind_target(item.optional_vars, texpr)
        for statement in node.body:
            self.visit(statement)

    visit_With = _visit_with
    visit_AsyncWith = _visit_with

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self._bind(node.name, None)
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        fn = self._function()
        if fn is not None:
            fn.summary.setdefault("global_decls", []).extend(node.names)

    # -- expressions ---------------------------------------------------------

    def _mark_awaits(self) -> None:
        fn = self._function()
        if fn is not None and not self._lambda_depth:
            fn.summary["awaits"] = True

    def visit_Await(self, node: ast.Await) -> None:
        self._mark_awaits()
        if isinstance(node.value, ast.Call):
            self._record_call(node.value, awaited=True)
            self._visit_call_children(node.value)
        else:
            self.visit(node.value)

    def _mark_generator(self) -> None:
        fn = self._function()
        if fn is not None and not self._lambda_depth:
            fn.summary["is_generator"] = True

    def visit_Yield(self, node: ast.Yield) -> None:
        self._mark_generator()
        fn = self._function()
        if fn is not None and not self._lambda_depth and node.value is not None:
            # What the generator yields, when every yield agrees (else None).
            texpr = type_expr(node.value)
            yields = fn.summary.get("yields", texpr)
            fn.summary["yields"] = texpr if yields == texpr else None
        self.generic_visit(node)

    def visit_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.YieldFrom):  # `yield from x` as a statement
            self._yield_from_statements[id(node.value)] = (node.lineno, node.col_offset + 1)
        self.generic_visit(node)

    def visit_YieldFrom(self, node: ast.YieldFrom) -> None:
        self._mark_generator()
        use = ["yieldfrom", ast_ref_path(node.value), node.value.lineno, node.value.col_offset + 1]
        statement = self._yield_from_statements.pop(id(node), None)
        if statement:
            use += list(statement)
        self._record_use(use)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        self._record_call(node, awaited=False)
        self._visit_call_children(node)

    def _visit_call_children(self, node: ast.Call) -> None:
        self.visit(node.func)
        outer = ast_ref_path(node.func)
        for arg in node.args:
            if outer and isinstance(arg, ast.Call):
                self._outer[id(arg)] = outer
            self.visit(arg)
        for keyword in node.keywords:
            if outer and isinstance(keyword.value, ast.Call):
                self._outer[id(keyword.value)] = outer
            self.visit(keyword.value)

    def _record_call(self, node: ast.Call, awaited: bool) -> None:
        fn = self._function()
        if fn is None and any(kind == "function" for kind, _ in self._scopes):
            return  # the body of a class made inside a function: not tracked
        # A top-level class body runs at import time, as module-level code does.
        self._record_table_call(node, fn, awaited)
        path = ast_call_path(node.func)
        if path is None and isinstance(node.func, ast.Attribute) and not self._lambda_depth:
            # `(a or b).close()`: the receiver has no reference path, but the
            # method's name is known, and a converted method of that name must not
            # be called here un-awaited (asyncify's unknown receivers).
            path = [UNNAMED_RECEIVER, node.func.attr]
        if path is None:
            return
        refs = [p for p in (ast_ref_path(a) for a in _value_args(node)) if p and "()" not in p]
        if self._lambda_depth:
            scope = fn.summary["qualname"] if fn is not None else None
            self.lambda_calls.append([scope, path, node.lineno, node.col_offset + 1])
            return
        call = [path, node.lineno, node.col_offset + 1, awaited]
        outer = self._outer.pop(id(node), None)
        quick = _quick_return_args(node)
        if refs or outer or quick:
            call.append(refs)
        if outer or quick:
            call.append(outer)
        if quick:
            call += [quick, len(node.args) + len(node.keywords)]
        (fn.summary["calls"] if fn is not None else self.module_calls).append(call)

    def _record_table_call(self, node: ast.Call, fn: Any, awaited: bool) -> None:
        """`TABLE[key](...)`, or `runner(TABLE[key])(...)` (a bridge, with the
        runner's path), for the dispatch tables of the module."""
        if self._lambda_depth:
            return
        func, runner = node.func, None
        if isinstance(func, ast.Call) and len(func.args) == 1 and not func.keywords:
            runner = ast_ref_path(func.func)
            func = func.args[0]
            if runner is None:
                return
        if isinstance(func, ast.Subscript) and isinstance(func.value, ast.Name):
            scope = fn.summary["qualname"] if fn is not None else None
            call = [scope, func.value.id, node.lineno, node.col_offset + 1, awaited]
            self.table_calls.append(call + [runner] if runner else call)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        if node.is_async:
            self._mark_awaits()
        kind = "async compfor" if node.is_async else "compfor"
        self._record_use([kind, ast_ref_path(node.iter), node.iter.lineno, node.iter.col_offset + 1])
        self.generic_visit(node)


def _string_list(node: ast.AST) -> list[str] | None:
    """The strings of a literal list or tuple of string constants, else None."""
    if isinstance(node, (ast.List, ast.Tuple)) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts
    ):
        return [e.value for e in node.elts]  # type: ignore[attr-defined]
    return None


def _quick_return_args(node: ast.Call) -> list[list[Any]]:
    """`[keyword or None, value]` of the literal False and 0 arguments: the ones that
    can make a blocking call return at once (`shutdown(wait=False)`, `join(0)`)."""
    found = []
    arguments = [(None, a) for a in node.args] + [(k.arg, k.value) for k in node.keywords]
    for keyword, value in arguments:
        if isinstance(value, ast.Constant) and value.value is not None and not isinstance(value.value, str):
            if value.value is False or (not isinstance(value.value, bool) and value.value == 0):
                found.append([keyword, value.value])
    return found


def _value_args(node: ast.Call) -> Iterable[ast.AST]:
    for arg in node.args:
        yield arg.value if isinstance(arg, ast.Starred) else arg
    for keyword in node.keywords:
        yield keyword.value


def summarize(source: bytes | str, module_name: str, is_package: bool) -> dict[str, Any]:
    """The JSON-able summary of a module; `error` is set when it does not parse."""
    try:
        return _summarize(source, module_name, is_package)
    except RecursionError:
        message = "too deeply nested to analyse (Python's own parser gives up too)"
        return {"schema": SCHEMA, "name": module_name, "error": message}


def _summarize(source: bytes | str, module_name: str, is_package: bool) -> dict[str, Any]:
    skipped: list[list[Any]] = []
    try:
        statements = ast.parse(source).body
    except SyntaxError as e:
        statements = _statements_of_newer_syntax(source, skipped)
        if statements is None:
            return {
                "schema": SCHEMA,
                "name": module_name,
                "error": f"SyntaxError: {e.msg}",
                "error_at": [e.lineno or 1, e.offset or 1],
            }
    except ValueError as e:  # NUL bytes: a binary file named .py
        return {"schema": SCHEMA, "name": module_name, "error": f"not Python source: {e}"}
    summarizer = ModuleSummarizer(module_name, is_package)
    for statement in statements:
        summarizer.visit(statement)
    return {
        "partial": skipped,
        "schema": SCHEMA,
        "name": module_name,
        "is_package": is_package,
        "imports": summarizer.imports,
        "star_imports": summarizer.star_imports,
        "exports": summarizer.exports,
        "functions": summarizer.functions,
        "classes": summarizer.classes,
        "globals": summarizer.globals,
        "global_names": sorted(summarizer.global_names),
        # A statement skipped for newer syntax may hold async code: assume it may.
        "has_async": summarizer.has_async or bool(skipped),
        "module_calls": summarizer.module_calls,
        "lambda_calls": summarizer.lambda_calls,
        "value_refs": summarizer.value_refs,
        "tables": summarizer.tables,
        "table_calls": summarizer.table_calls,
        "table_escapes": _table_escapes(statements, summarizer),
    }


def _local_aliases(node: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, list[list[Any]]]:
    """Locals that hold a function and are only ever called (`reader = _readline`, or
    `reader = partial(_readsegment, ...)`, then `reader(sock, buf)`): name ->
    `[[path, line, col], ...]` of the references assigned. Any other use of the local
    (passed, returned, stored, read in a nested scope) means it escapes: not listed."""
    assigned: dict[str, list[list[Any]]] = {}
    escaped: set[str] = set()
    statements = [n for statement in node.body for n in _walk_own_scope(statement)]
    for child in statements:
        if isinstance(child, ast.Assign) and len(child.targets) == 1 and isinstance(child.targets[0], ast.Name):
            name, ref = child.targets[0].id, _alias_ref(child)
            if ref is None:
                escaped.add(name)
            else:
                assigned.setdefault(name, []).append([ast_ref_path(ref), ref.lineno, ref.col_offset + 1])
    if not assigned:
        return {}
    called = {id(c.func) for c in statements if isinstance(c, ast.Call)}
    targets = {id(c.targets[0]) for c in statements if isinstance(c, ast.Assign)}
    # `reader: Callable[...]` declares the local; it binds nothing
    targets |= {id(c.target) for c in statements if isinstance(c, ast.AnnAssign) and c.value is None}
    for child in statements:
        if isinstance(child, ast.Name) and child.id in assigned:
            if isinstance(child.ctx, ast.Load) and id(child) not in called:
                escaped.add(child.id)
            elif not isinstance(child.ctx, ast.Load) and id(child) not in targets:
                escaped.add(child.id)  # bound another way (for, with, augmented)
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            for inner in ast.walk(child):
                if isinstance(inner, ast.Name) and inner.id in assigned:
                    escaped.add(inner.id)  # a closure may call it from anywhere
        elif isinstance(child, (ast.Global, ast.Nonlocal)):
            escaped.update(child.names)
    return {name: refs for name, refs in assigned.items() if name not in escaped}


def _alias_ref(node: ast.Assign) -> ast.Name | ast.Attribute | None:
    """The reference `name = ref` (or `name = partial(ref, ...)`) assigns, if it is one."""
    value = node.value
    if isinstance(value, ast.Call) and value.args and (ast_ref_path(value.func) or [""])[-1] == "partial":
        value = value.args[0]
    if isinstance(value, (ast.Name, ast.Attribute)):
        path = ast_ref_path(value)
        if path and "()" not in path:
            return value
    return None


def _walk_own_scope(node: ast.AST):
    """`ast.walk`, not entering nested functions, lambdas and classes (they are
    yielded, their bodies are not)."""
    todo = [node]
    while todo:
        current = todo.pop()
        yield current
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        todo.extend(ast.iter_child_nodes(current))


def _table_escapes(statements: list[ast.stmt], summarizer: "ModuleSummarizer") -> list[str]:
    """Dispatch tables used other than as `TABLE[key](...)` (read, passed, rebound,
    called in a lambda): their functions may be called from anywhere."""
    if not summarizer.tables:
        return []
    def subscripts_called(root: ast.AST) -> set[int]:
        found = set()
        for c in ast.walk(root):
            if not isinstance(c, ast.Call):
                continue
            func = c.func
            if isinstance(func, ast.Call) and len(func.args) == 1 and not func.keywords:
                func = func.args[0]  # a bridge: runner(TABLE[key])(...)
            if isinstance(func, ast.Subscript):
                found.add(id(func.value))
        return found

    called = set().union(*(subscripts_called(s) for s in statements)) - {
        i for s in statements for lam in ast.walk(s) if isinstance(lam, ast.Lambda)
        for i in subscripts_called(lam)
    }
    stores: dict[str, int] = {}
    escapes = set()
    for statement in statements:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and node.id in summarizer.tables:
                if isinstance(node.ctx, ast.Store):
                    stores[node.id] = stores.get(node.id, 0) + 1
                elif id(node) not in called:
                    escapes.add(node.id)
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                escapes.update(n for n in node.names if n in summarizer.tables)
    escapes.update(name for name, count in stores.items() if count > 1)
    return sorted(escapes)


def _statements_of_newer_syntax(source: bytes | str, skipped: list[list[Any]]) -> list[ast.stmt] | None:
    """Top-level statements of a module written for a newer Python than this one.

    The module is read in its `syntax.downlevel` form (LibCST rewrites PEP 695
    generics, 3.12 f-strings, t-strings, `except A, B` into what this Python parses).
    Should a statement still not parse, each top-level statement is re-parsed alone,
    so only that one is missing from the summary (`[first line, the stdlib parser's
    message]` of each goes to `skipped`, the summary's `partial`). None when LibCST
    rejects the module too.
    """
    import libcst

    lowered = downlevel(source)
    if lowered is None:
        return None  # not Python at all: binary data, a bad encoding, a syntax error
    try:
        return ast.parse(lowered).body
    except SyntaxError:
        module = libcst.parse_module(lowered)
    statements: list[ast.stmt] = []
    line = 1 + len(module.header)  # comment and blank lines before the first statement
    for node in module.body:
        code = module.code_for_node(node)
        try:
            parsed = ast.parse(code).body
        except SyntaxError as e:
            skipped.append([line + _leading_line_count(node), f"SyntaxError: {e.msg}"])
        else:
            for statement in parsed:
                ast.increment_lineno(statement, line - 1)
            statements.extend(parsed)
        line += code.count("\n")
    return statements


def _leading_line_count(node: Any) -> int:
    return len(getattr(node, "leading_lines", ()))
