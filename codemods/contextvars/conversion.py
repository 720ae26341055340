"""Turn a module global (or a `threading.local()`) into `contextvars.ContextVar`s,
across the whole project.

Shared by `python -m codemods.contextvars` and the unsafe fixes of AM301/AM303, so
the two can never disagree. A conversion is all or nothing: every module that
reads, rebinds or imports the global changes together, or nothing changes and the
reason is given. The reason is always a place where `.get()` would not behave like
the global did:

- the object is mutated in place (`CACHE[k] = v`, `USERS.append(u)`,
  `CONFIG.debug = True`): every context would share that one object, so the
  conversion would look request-scoped while it is not;
- the name is bound in a way that cannot become `.set()` (tuple unpacking, `for`
  targets, `del`, a second module-level binding);
- a module that uses it is outside the paths being rewritten.

`from mod import G` importers keep their import (it now binds the ContextVar, so
every read sees the current value instead of the value at import time) and read
`G.get()`. For `threading.local()`, each attribute becomes its own ContextVar named
`<local>_<attr>`; importers import those instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import (
    Assignment,
    GlobalScope,
    ImportAssignment,
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    ScopeProvider,
)

from asyncmigrate import syntax
from asyncmigrate.catalogue import STATE
from asyncmigrate.shared_state import SharedState

if TYPE_CHECKING:
    from asyncmigrate.analysis import Project


class ConversionRefused(Exception):
    """The global cannot become a ContextVar safely; the message says why."""


@dataclass
class Conversion:
    target: str
    kind: str  # "global" or "thread_local"
    #: relative path -> new source, for the files that change
    changes: dict[str, bytes] = field(default_factory=dict)
    #: set when the global already is a ContextVar (a second run)
    already_done: bool = False
    #: the ContextVar names created
    variables: list[str] = field(default_factory=list)


def _dotted(node: cst.BaseExpression | None) -> str:
    if node is None:
        return ""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def _call(receiver: cst.BaseExpression, method: str, args: Iterable[cst.BaseExpression] = ()) -> cst.Call:
    return cst.Call(
        func=cst.Attribute(value=receiver, attr=cst.Name(method)),
        args=[cst.Arg(a) for a in args],
    )


_AUG_TO_BIN = {
    cst.AddAssign: cst.Add, cst.SubtractAssign: cst.Subtract, cst.MultiplyAssign: cst.Multiply,
    cst.DivideAssign: cst.Divide, cst.FloorDivideAssign: cst.FloorDivide,
    cst.ModuloAssign: cst.Modulo, cst.PowerAssign: cst.Power, cst.BitOrAssign: cst.BitOr,
    cst.BitAndAssign: cst.BitAnd, cst.BitXorAssign: cst.BitXor,
    cst.LeftShiftAssign: cst.LeftShift, cst.RightShiftAssign: cst.RightShift,
    cst.MatrixMultiplyAssign: cst.MatrixMultiply,
}


def _augmented(receiver: cst.BaseExpression, op: cst.BaseAugOp, value: cst.BaseExpression) -> cst.Call:
    binary = cst.BinaryOperation(
        left=_call(receiver, "get"), operator=_AUG_TO_BIN[type(op)](), right=value
    )
    return _call(receiver, "set", [binary])


class _FileEdits(cst.CSTTransformer):
    """Replace original nodes (by identity) using functions of the updated node."""

    def __init__(self, edits: dict[cst.CSTNode, Callable[[cst.CSTNode], object]]):
        super().__init__()
        self.edits = edits

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        edit = self.edits.get(original_node)
        return edit(updated_node) if edit is not None else updated_node


class _FileAnalysis:
    """One module's part of a conversion: the edits, or a refusal."""

    def __init__(self, converter: "_Converter", rel: str, module_name: str, is_package: bool, source: bytes):
        self.converter = converter
        self.rel = rel
        self.module_name = module_name
        self.is_package = is_package
        self.module = cst.parse_module(source)
        self.wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
        self.scopes = self.wrapper.resolve(ScopeProvider)
        self.parents = self.wrapper.resolve(ParentNodeProvider)
        self.positions = self.wrapper.resolve(PositionProvider)
        self.edits: dict[cst.CSTNode, Callable[[cst.CSTNode], object]] = {}
        #: thread-local mode: attributes this module uses
        self.attrs: set[str] = set()
        #: thread-local mode: import aliases to rewrite (ImportFrom -> alias)
        self.import_aliases: list[tuple[cst.ImportFrom, cst.ImportAlias]] = []
        self.definition: cst.CSTNode | None = None
        self.touched = False
        self.needs_contextvars = False

    # -- helpers -----------------------------------------------------------------

    def where(self, node: cst.CSTNode) -> str:
        return f"{self.rel}:{self.positions[node].start.line}"

    def refuse(self, node: cst.CSTNode, why: str) -> None:
        raise ConversionRefused(f"{self.where(node)}: {why}")

    def absolute(self, node: cst.ImportFrom) -> str:
        module = _dotted(node.module) if node.module is not None else ""
        level = len(node.relative)
        if level == 0:
            return module
        base = self.module_name.split(".")
        if not self.is_package:
            base = base[:-1]
        if level > 1:
            base = base[: len(base) - (level - 1)]
        return ".".join([*base, *([module] if module else [])])

    def in_function(self, node: cst.CSTNode) -> bool:
        current = self.parents.get(node)
        while current is not None and not isinstance(current, cst.Module):
            if isinstance(current, (cst.FunctionDef, cst.Lambda)):
                return True
            current = self.parents.get(current)
        return False

    def is_target(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The statement that stores into `node`, when `node` is an assignment target."""
        parent = self.parents.get(node)
        if isinstance(parent, cst.AssignTarget) and parent.target is node:
            return self.parents[parent]
        if isinstance(parent, (cst.AugAssign, cst.AnnAssign)) and parent.target is node:
            return parent
        if isinstance(parent, cst.Del) and parent.target is node:
            return parent
        if isinstance(parent, (cst.Tuple, cst.List, cst.Element, cst.StarredElement)):
            # Inside a tuple target: unpacking.
            while isinstance(parent, (cst.Tuple, cst.List, cst.Element, cst.StarredElement)):
                parent = self.parents.get(parent)
            if isinstance(parent, (cst.AssignTarget, cst.For, cst.CompFor, cst.Del)):
                return parent
        if isinstance(parent, (cst.For, cst.CompFor)) and parent.target is node:
            return parent
        if isinstance(parent, cst.AsName) and parent.name is node:
            return parent
        return None

    # -- the analysis ------------------------------------------------------------

    def run(self) -> None:
        conv = self.converter
        roots = self.find_roots()
        for scope, local, root_nodes in roots:
            self.bind(scope, local, root_nodes)
        self.module_attributes()
        if conv.kind == "thread_local" and self.import_aliases:
            self.touched = True

    def find_roots(self) -> list[tuple[object, str, set[cst.CSTNode]]]:
        """(scope, local name, the binding nodes that bring the global in)."""
        conv = self.converter
        found: dict[tuple[int, str], tuple[object, str, set[cst.CSTNode]]] = {}
        for node, scope in self.scopes.items():
            if not isinstance(node, cst.ImportFrom) or scope is None or isinstance(node.names, cst.ImportStar):
                continue
            source = self.absolute(node)
            for alias in node.names:
                name = _dotted(alias.name)
                if conv.is_alias(source, name):
                    local = alias.evaluated_alias or name
                    entry = found.setdefault((id(scope), local), (scope, local, set()))
                    entry[2].add(node)
                    if conv.kind == "thread_local":
                        self.import_aliases.append((node, alias))
        if self.module_name == conv.module:
            global_scope = next(s for s in self.scopes.values() if isinstance(s, GlobalScope))
            module_level = [
                a for a in global_scope.assignments[conv.name] if not self.in_function(a.node)
            ]
            if len(module_level) != 1 or not isinstance(module_level[0], Assignment):
                raise ConversionRefused(
                    f"{self.rel}: `{conv.name}` is bound {len(module_level)} times at module "
                    "level; a ContextVar needs one definition"
                )
            definition = module_level[0].node
            statement = self.parents[definition]
            if isinstance(statement, cst.AssignTarget):
                statement = self.parents[statement]
            if not isinstance(statement, (cst.Assign, cst.AnnAssign)) or (
                isinstance(statement, cst.Assign) and len(statement.targets) != 1
            ) or statement.value is None:
                self.refuse(definition, f"`{conv.name}` is not defined by a plain `{conv.name} = value`")
            self.definition = statement
            entry = found.setdefault((id(global_scope), conv.name), (global_scope, conv.name, set()))
            entry[2].add(definition)
        return list(found.values())

    def bind(self, scope, local: str, root_nodes: set[cst.CSTNode]) -> None:
        assignments = list(scope.assignments[local])
        references = set()
        for assignment in assignments:
            references |= set(assignment.references)
            node = assignment.node
            if node in root_nodes:
                continue
            if isinstance(assignment, ImportAssignment):
                self.refuse(node, f"`{local}` is imported again here")
            if not self.in_function(node):
                self.refuse(node, f"`{local}` is rebound at module level")
            statement = self.is_target(node)
            if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
                self.write(statement, local)
            elif isinstance(statement, cst.AugAssign):
                self.write(statement, local)
            else:
                self.refuse(node, f"`{local}` is bound by {_binding_kind(statement)}, which `.set()` cannot express")
        for access in references:
            node = access.node
            if not isinstance(node, cst.Name):
                self.refuse(node, f"`{local}` is used in a string annotation")
            self.read(node, cst.Name(local))
        # `global G` declarations go: the function now calls G.set().
        if isinstance(scope, GlobalScope):
            for candidate in self.parents:
                if isinstance(candidate, cst.Global) and any(n.name.value == local for n in candidate.names):
                    self.drop_global(candidate, local)

    def module_attributes(self) -> None:
        """`mod.G` through `import pkg.mod` / `from pkg import mod`."""
        conv = self.converter
        for node, scope in self.scopes.items():
            if not isinstance(node, cst.Attribute) or scope is None:
                continue
            if not isinstance(node.value, (cst.Name, cst.Attribute)):
                continue
            dotted = _dotted(node.value)
            if not dotted:
                continue
            head = dotted.split(".")[0]
            qualified = self.imported_module(scope, head)
            if qualified is None:
                continue
            module = ".".join([qualified, *dotted.split(".")[1:]])
            if not conv.is_alias(module, node.attr.value):
                continue
            statement = self.is_target(node)
            if statement is None:
                self.read(node, node)
            elif isinstance(statement, cst.Assign) and len(statement.targets) == 1:
                self.write(statement, None, node)
            elif isinstance(statement, cst.AugAssign):
                self.write(statement, None, node)
            else:
                self.refuse(node, f"`{dotted}.{node.attr.value}` is bound in a way `.set()` cannot express")

    def imported_module(self, scope, head: str) -> str | None:
        assignments = scope[head] if head in scope else ()
        if not assignments or any(not isinstance(a, ImportAssignment) for a in assignments):
            return None
        modules = set()
        for assignment in assignments:
            imp = assignment.node
            if isinstance(imp, cst.Import):
                for alias in imp.names:
                    full = _dotted(alias.name)
                    if alias.evaluated_alias == head:
                        modules.add(full)
                    elif alias.asname is None and full.split(".")[0] == head:
                        modules.add(head)
            elif isinstance(imp, cst.ImportFrom) and not isinstance(imp.names, cst.ImportStar):
                base = self.absolute(imp)
                for alias in imp.names:
                    if (alias.evaluated_alias or _dotted(alias.name)) == head:
                        modules.add(f"{base}.{_dotted(alias.name)}" if base else _dotted(alias.name))
        return modules.pop() if len(modules) == 1 else None

    # -- edits -----------------------------------------------------------------

    def read(self, node: cst.BaseExpression, receiver: cst.BaseExpression) -> None:
        """A use of the global's value (`node` is the Name or `mod.G` Attribute)."""
        conv = self.converter
        parent = self.parents.get(node)
        if conv.kind == "thread_local":
            self.thread_local_use(node, parent)
            return
        if isinstance(parent, cst.Attribute) and parent.value is node:
            if self.is_target(parent) is not None:
                self.refuse(parent, f"`{conv.name}` is mutated in place (attribute `{parent.attr.value}` is set); {conv.MUTATED}")
            grand = self.parents.get(parent)
            if parent.attr.value in STATE.mutating_methods and isinstance(grand, cst.Call) and grand.func is parent:
                self.refuse(parent, f"`{conv.name}` is mutated in place (`.{parent.attr.value}()`); {conv.MUTATED}")
        if isinstance(parent, cst.Subscript) and parent.value is node and self.is_target(parent) is not None:
            self.refuse(parent, f"`{conv.name}` is mutated in place (item assignment); {conv.MUTATED}")
        self.edits[node] = lambda updated: _call(updated, "get")
        self.touched = True

    def write(self, statement: cst.CSTNode, local: str | None, attribute: cst.Attribute | None = None) -> None:
        if self.converter.kind == "thread_local":
            self.refuse(statement, "the `threading.local()` object itself is rebound")

        def edit(updated: cst.CSTNode) -> cst.CSTNode:
            if isinstance(updated, cst.Assign):
                target = updated.targets[0].target
                return cst.Expr(_call(target, "set", [updated.value]))
            assert isinstance(updated, cst.AugAssign)
            return cst.Expr(_augmented(updated.target, updated.operator, updated.value))

        self.edits[statement] = edit
        self.touched = True

    def drop_global(self, node: cst.Global, local: str) -> None:
        def edit(updated: cst.CSTNode) -> object:
            assert isinstance(updated, cst.Global)
            names = [n for n in updated.names if n.name.value != local]
            if not names:
                return cst.RemoveFromParent()
            names[-1] = names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            return updated.with_changes(names=names)

        self.edits[node] = edit
        self.touched = True

    def thread_local_use(self, node: cst.BaseExpression, parent: cst.CSTNode | None) -> None:
        conv = self.converter
        if isinstance(parent, cst.Attribute) and parent.value is node:
            attr = parent.attr.value
            self.attrs.add(attr)
            var = conv.variable(attr)
            receiver = self.var_receiver(node, var)
            statement = self.is_target(parent)
            if statement is None:
                self.edits[parent] = lambda updated: _call(receiver, "get")
            elif isinstance(statement, cst.Assign) and len(statement.targets) == 1:
                self.edits[statement] = lambda updated: cst.Expr(_call(receiver, "set", [updated.value]))
            elif isinstance(statement, cst.AugAssign):
                self.edits[statement] = lambda updated: cst.Expr(
                    _augmented(receiver, updated.operator, updated.value)
                )
            else:
                self.refuse(parent, f"`{conv.name}.{attr}` is bound in a way `.set()` cannot express")
            self.touched = True
            return
        if isinstance(parent, cst.Arg):
            call = self.parents.get(parent)
            if (
                isinstance(call, cst.Call)
                and isinstance(call.func, cst.Name)
                and call.func.value in ("getattr", "setattr")
                and call.args[0] is parent
                and len(call.args) >= 2
                and isinstance(call.args[1].value, cst.SimpleString)
            ):
                attr = call.args[1].value.evaluated_value
                if isinstance(attr, bytes):
                    attr = attr.decode()
                self.attrs.add(attr)
                receiver = self.var_receiver(node, conv.variable(attr))
                if call.func.value == "getattr" and len(call.args) in (2, 3):
                    self.edits[call] = lambda updated: _call(receiver, "get", rest_updated(updated, 2))
                    self.touched = True
                    return
                if call.func.value == "setattr" and len(call.args) == 3:
                    self.edits[call] = lambda updated: _call(receiver, "set", rest_updated(updated, 2))
                    self.touched = True
                    return
        self.refuse(node, f"`{conv.name}` is used other than through its attributes; convert it by hand")

    def var_receiver(self, node: cst.BaseExpression, var: str) -> cst.BaseExpression:
        if isinstance(node, cst.Attribute):  # mod.L.attr -> mod.L_attr
            return node.with_changes(attr=cst.Name(var))
        return cst.Name(var)

    # -- result ----------------------------------------------------------------

    def render(self, variables: dict[str, str]) -> bytes | None:
        conv = self.converter
        module = self.module
        if self.definition is not None:
            self.edits[self.definition_line()] = self.definition_edit(variables)
            self.needs_contextvars = True
        if conv.kind == "thread_local":
            for imp, alias in self.import_aliases:
                self.edits[alias] = self.alias_edit(alias, sorted(self.attrs), variables)
        if not self.edits:
            return None
        module = module.visit(_FileEdits(self.edits))
        context = CodemodContext()
        if self.needs_contextvars:
            AddImportsVisitor.add_needed_import(context, "contextvars")
            module = AddImportsVisitor(context).transform_module(module)
        if conv.kind == "thread_local" and self.definition is not None:
            context = CodemodContext(
                full_module_name=self.module_name, full_package_name=self.module_name.rpartition(".")[0]
            )
            RemoveImportsVisitor.remove_unused_import(context, "threading")
            RemoveImportsVisitor.remove_unused_import(context, "threading", "local")
            module = RemoveImportsVisitor(context).transform_module(module)
        return module.bytes

    def definition_line(self) -> cst.CSTNode:
        assert self.definition is not None
        if self.converter.kind == "global":
            return self.definition
        line = self.parents[self.definition]
        if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
            self.refuse(self.definition, "the `threading.local()` definition shares its line")
        return line

    def definition_edit(self, variables: dict[str, str]) -> Callable[[cst.CSTNode], object]:
        conv = self.converter

        def contextvar(name: str, default: cst.BaseExpression | None) -> cst.Call:
            args = [cst.Arg(cst.SimpleString(f"\"{name}\""))]
            if default is not None:
                args.append(
                    cst.Arg(
                        default,
                        keyword=cst.Name("default"),
                        equal=cst.AssignEqual(
                            whitespace_before=cst.SimpleWhitespace(""),
                            whitespace_after=cst.SimpleWhitespace(""),
                        ),
                    )
                )
            return cst.Call(func=cst.parse_expression("contextvars.ContextVar"), args=args)

        if conv.kind == "global":

            def edit(updated: cst.CSTNode) -> cst.CSTNode:
                if isinstance(updated, cst.AnnAssign):
                    annotation = cst.Annotation(
                        cst.Subscript(
                            value=cst.parse_expression("contextvars.ContextVar"),
                            slice=[cst.SubscriptElement(cst.Index(updated.annotation.annotation))],
                        )
                    )
                    return updated.with_changes(
                        annotation=annotation, value=contextvar(conv.name, updated.value)
                    )
                assert isinstance(updated, cst.Assign)
                return updated.with_changes(value=contextvar(conv.name, updated.value))

            return edit

        def edit_line(updated: cst.CSTNode) -> object:
            assert isinstance(updated, cst.SimpleStatementLine)
            lines = []
            for position, var in enumerate(sorted(variables.values())):
                statement = cst.parse_statement(f"{var} = contextvars.ContextVar(\"{var}\")")
                if position == 0:
                    statement = statement.with_changes(leading_lines=updated.leading_lines)
                lines.append(statement)
            return cst.FlattenSentinel(lines) if lines else cst.RemoveFromParent()

        return edit_line

    def alias_edit(self, alias: cst.ImportAlias, attrs: list[str], variables: dict[str, str]):
        def edit(updated: cst.CSTNode) -> object:
            if not attrs:
                return cst.RemoveFromParent()
            names = [cst.ImportAlias(name=cst.Name(variables[a])) for a in attrs]
            return cst.FlattenSentinel(names) if len(names) > 1 else names[0]

        return edit


def _binding_kind(statement: cst.CSTNode | None) -> str:
    kinds = {
        cst.AssignTarget: "tuple unpacking",
        cst.Assign: "a multiple assignment",
        cst.For: "a `for` target",
        cst.CompFor: "a comprehension target",
        cst.Del: "`del`",
        cst.AsName: "an `as` target",
        cst.AnnAssign: "an annotated assignment",
    }
    return kinds.get(type(statement), "a binding") if statement is not None else "a binding"


def rest_updated(updated: cst.CSTNode, skip: int) -> list[cst.BaseExpression]:
    assert isinstance(updated, cst.Call)
    return [a.value for a in updated.args[skip:]]


class _Converter:
    MUTATED = (
        "`.get()` would hand every context the same object, so the state would stay "
        "shared; keep it a global (guard it with an asyncio.Lock, e.g. for a cache) "
        "or set a fresh copy per request by hand"
    )

    def __init__(self, project: "Project", target: str):
        self.project = project
        module, sep, name = target.partition(":")
        if not sep or not module or not name or "." in name:
            raise ConversionRefused(f"`{target}`: expected MODULE:NAME (a module-level name)")
        summary = project.index.module(module)
        if summary is None or "functions" not in summary:
            raise ConversionRefused(f"`{target}`: no module `{module}` in the project")
        self.module = summary["name"]
        self.name = name
        self.summary = summary
        facts = SharedState.of(project).facts(self.module)
        self.kind = "thread_local" if name in facts.thread_locals else "global"
        self.aliases = self._aliases()

    def _aliases(self) -> set[tuple[str, str]]:
        """(module, name) pairs bound to the global: its definition and re-exports."""
        pairs = {(self.module, self.name)}
        changed = True
        while changed:
            changed = False
            for summary in self.project.index.summaries():
                for local, qualified in summary.get("imports", {}).items():
                    source, _, attr = qualified.rpartition(".")
                    found = self.project.index.module(source)
                    if found is not None and (found["name"], attr) in pairs:
                        pair = (summary["name"], local)
                        if pair not in pairs:
                            pairs.add(pair)
                            changed = True
        return pairs

    def is_alias(self, module: str, name: str) -> bool:
        found = self.project.index.module(module)
        return found is not None and (found["name"], name) in self.aliases

    def variable(self, attr: str) -> str:
        return f"{self.name}_{attr}"

    def local_names(self) -> set[str]:
        return {name for _, name in self.aliases}


def convert(
    project: "Project",
    target: str,
    *,
    sources: dict[str, bytes] | None = None,
    writable: Callable[[str], bool] | None = None,
) -> Conversion:
    """Plan the conversion of `target` (`module:NAME`); raise ConversionRefused.

    `sources` overrides file contents by relative path (an editor buffer, a file
    being fixed); `writable(rel)` says whether a file may change.
    """
    converter = _Converter(project, target)
    conversion = Conversion(target, converter.kind)
    sources = dict(sources or {})
    state = SharedState.of(project)
    def_rel = state.rel_path(converter.module)
    def_source = sources.get(def_rel) if def_rel else None
    if def_source is None and def_rel:
        def_source = (project.root / def_rel).read_bytes()
    if _already_converted(def_source or b"", converter) or converted_thread_local(project, target):
        conversion.already_done = True
        return conversion
    if converter.name not in converter.summary.get("global_names", ()):
        raise ConversionRefused(f"`{target}`: `{converter.name}` is not a module-level name of `{converter.module}`")
    names = [n.encode() for n in converter.local_names()]
    analyses: list[_FileAnalysis] = []
    for rel, summary in sorted(project.index.by_path.items()):
        if "functions" not in summary:
            continue  # a file that does not parse (reported by the lint run)
        source = sources.get(rel)
        if source is None:
            try:
                source = (project.root / rel).read_bytes()
            except OSError:
                continue
        if not any(n in source for n in names):
            continue
        try:
            analysis = _FileAnalysis(converter, rel, summary["name"], bool(summary.get("is_package")), source)
        except cst.ParserSyntaxError as e:
            raise ConversionRefused(f"{rel} mentions `{converter.name}` but does not parse: {e.message}") from e
        analysis.run()
        if analysis.touched or analysis.definition is not None:
            analyses.append(analysis)
    attrs = sorted({a for analysis in analyses for a in analysis.attrs})
    variables = {a: converter.variable(a) for a in attrs}
    if converter.kind == "thread_local" and not attrs:
        raise ConversionRefused(f"`{target}`: no attribute of the threading.local() is used")
    for analysis in analyses:
        rendered = analysis.render(variables)
        if rendered is None:
            continue
        if writable is not None and not writable(analysis.rel):
            raise ConversionRefused(
                f"{analysis.rel} uses `{converter.name}` but is outside the paths being rewritten"
            )
        error = syntax.compile_error(rendered, analysis.rel)
        if error is not None:  # pragma: no cover - a bug in the conversion
            raise ConversionRefused(f"{analysis.rel}: the result does not compile ({error})")
        conversion.changes[analysis.rel] = rendered
    conversion.variables = list(variables.values()) if variables else [converter.name]
    return conversion


def _already_converted(source: bytes, converter: _Converter) -> bool:
    text = source.decode("utf-8", "replace")
    if converter.kind == "global":
        return f"{converter.name} = contextvars.ContextVar(" in text or (
            f"{converter.name}: contextvars.ContextVar[" in text
        )
    return False


def converted_thread_local(project: "Project", target: str) -> bool:
    """A second run on a converted threading.local: its `<name>_<attr>` vars exist."""
    module, _, name = target.partition(":")
    summary = project.index.module(module)
    if summary is None:
        return False
    names = summary.get("global_names", ())
    return name not in names and any(n.startswith(f"{name}_") for n in names)
