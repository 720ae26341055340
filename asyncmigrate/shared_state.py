"""Which state of a module is shared by every task on the event loop.

The facts behind AM301-AM303 and the ContextVar conversion: module globals bound to
mutable containers, `threading.local()` objects, mutable class-level attributes,
and the module globals that a function rebinds (`global x; x = ...`). They come
from the stdlib `ast` of one module (the index summary does not keep literals), are
cached per project by the file's content hash, and are asked for by module name,
so a rule linting `api.py` can ask about the `state.py` it imports from.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, NamedTuple

from .catalogue import NAMING, STATE
from . import syntax
from .fileio import read_source
from .index.values import Value, split_id

from .index.refpath import written

if TYPE_CHECKING:
    from .analysis import Project
    from .reachability import Reachability

# The tables (mutable containers, thread-locals) are `knowledge/state.toml`; the
# words that guess intent from names are `knowledge/naming.toml`.


def is_cache_name(name: str) -> bool:
    """A global named as a cache, registry, setting or default: shared by the whole
    process on purpose, not request state."""
    name = name.lower()
    return any(word in name for word in NAMING.process_wide_words)


def is_configuring_name(name: str) -> bool:
    """A function that configures the process (`load_configuration`, `set_global_locale`)."""
    return is_lifecycle_name(name) or any(word in name.lower() for word in NAMING.configuring_words)


def is_lifecycle_name(name: str) -> bool:
    """An async function that runs once per process (startup, shutdown, an entry
    point): the globals it sets are process-wide configuration, not request state."""
    name = name.strip("_").lower()
    return any(name == n or name.startswith(n + "_") for n in NAMING.lifecycle_names)


class Rebinding(NamedTuple):
    """`global name` and then `name = ...` (or `name += ...`) in a function."""

    name: str
    line: int
    #: `+=` and friends: a counter, not a value that a request owns
    augmented: bool
    #: a lazily built singleton (`if name is None: name = ...`) or a cache: the
    #: function tests the global before it rebinds it, or calls it a cache
    lazy: bool


@dataclass
class ModuleFacts:
    #: module-level names bound to a mutable container
    mutable_globals: set[str] = field(default_factory=set)
    #: module-level names bound to `threading.local()`
    thread_locals: set[str] = field(default_factory=set)
    #: module-level names bound more than once at module level
    rebound_at_import: set[str] = field(default_factory=set)
    #: class qualname -> class-body attributes bound to a mutable container
    class_mutables: dict[str, set[str]] = field(default_factory=dict)
    #: class qualname -> attributes assigned through the instance (`self.x = ...`)
    instance_attrs: dict[str, set[str]] = field(default_factory=dict)
    #: function qualname -> the globals it rebinds
    rebindings: dict[str, list[Rebinding]] = field(default_factory=dict)
    #: function qualname -> the reference paths it reads (`_local.user` ->
    #: ("_local", "user")), in its own body, not nested functions; a name bound by a
    #: comprehension is that comprehension's own, so it is left out there
    refs_used: dict[str, set[tuple[str, ...]]] = field(default_factory=dict)


def _path(node: ast.AST) -> list[str] | None:
    segments: list[str] = []
    while isinstance(node, ast.Attribute):
        segments.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    segments.append(node.id)
    return segments[::-1]


def _guards(test: ast.AST, name: str) -> bool:
    """`name is None`, `not name`, `name is None or ...`: a lazy-initialisation test."""
    if isinstance(test, ast.BoolOp):
        return any(_guards(v, name) for v in test.values)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return isinstance(test.operand, ast.Name) and test.operand.id == name
    if isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == name:
        return any(isinstance(op, (ast.Is, ast.Eq)) for op in test.ops) and any(
            isinstance(c, ast.Constant) and c.value is None for c in test.comparators
        )
    return False


class _FactsBuilder:
    def __init__(self, project: "Project | None", module: str):
        self.project = project
        self.module = module
        self.facts = ModuleFacts()

    def factory(self, value: ast.AST | None) -> str | None:
        """'mutable', 'local' (threading.local) or None for what `value` builds."""
        if isinstance(value, (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)):
            return "mutable"
        if not isinstance(value, ast.Call):
            return None
        path = _path(value.func)
        if path is None:
            return None
        qualified = ".".join(path)
        if self.project is not None:
            resolved = self.project.resolver.value_of(self.module, None, path)
            if resolved is not None and resolved.kind in ("external", "module"):
                qualified = resolved.name
            elif resolved is not None:
                return None
        elif len(path) == 1 and f"builtins.{path[0]}" in STATE.mutable_factories:
            qualified = f"builtins.{path[0]}"
        if qualified in STATE.mutable_factories:
            return "mutable"
        if qualified in STATE.thread_local_classes:
            return "local"
        return None

    def module_body(self, body: list[ast.stmt]) -> None:
        bound: dict[str, int] = {}
        for statement in _flatten(body):
            targets: list[ast.AST] = []
            value = None
            if isinstance(statement, ast.Assign):
                targets, value = statement.targets, statement.value
            elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
                targets, value = [statement.target], statement.value
            elif isinstance(statement, ast.AugAssign):
                targets = [statement.target]
            kind = self.factory(value) if value is not None else None
            for target in targets:
                if isinstance(target, ast.Name):
                    bound[target.id] = bound.get(target.id, 0) + 1
                    if kind == "mutable":
                        self.facts.mutable_globals.add(target.id)
                    elif kind == "local":
                        self.facts.thread_locals.add(target.id)
            if isinstance(statement, ast.ClassDef):
                self.class_body(statement, statement.name)
            elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.function(statement, statement.name)
        self.facts.rebound_at_import = {n for n, count in bound.items() if count > 1}

    def class_body(self, node: ast.ClassDef, qualname: str) -> None:
        mutables = self.facts.class_mutables.setdefault(qualname, set())
        for statement in node.body:
            if isinstance(statement, ast.Assign) and self.factory(statement.value) == "mutable":
                mutables.update(t.id for t in statement.targets if isinstance(t, ast.Name))
            elif (
                isinstance(statement, ast.AnnAssign)
                and isinstance(statement.target, ast.Name)
                and self.factory(statement.value) == "mutable"
            ):
                mutables.add(statement.target.id)
            elif isinstance(statement, ast.ClassDef):
                self.class_body(statement, f"{qualname}.{statement.name}")
            elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.function(statement, f"{qualname}.{statement.name}", owner=qualname)

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, qualname: str, owner: str | None = None) -> None:
        declared: set[str] = set()
        rebindings: list[Rebinding] = []
        first = node.args.args[0].arg if owner and node.args.args else None

        tested: set[str] = set()

        def walk(statements: list[ast.stmt], guarded: frozenset[str]) -> None:
            for statement in statements:
                if isinstance(statement, ast.Global):
                    declared.update(statement.names)
                elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    self.function(statement, f"{qualname}.{statement.name}")
                    continue
                elif isinstance(statement, ast.ClassDef):
                    self.class_body(statement, f"{qualname}.{statement.name}")
                    continue
                targets: list[ast.AST] = []
                if isinstance(statement, ast.Assign):
                    targets = statement.targets
                elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
                    targets = [statement.target]
                for target in targets:
                    for leaf in _target_leaves(target):
                        if isinstance(leaf, ast.Name) and leaf.id in declared:
                            rebindings.append(
                                Rebinding(
                                    leaf.id,
                                    statement.lineno,
                                    isinstance(statement, ast.AugAssign),
                                    leaf.id in guarded or leaf.id in tested or is_cache_name(leaf.id),
                                )
                            )
                        elif (
                            first
                            and isinstance(leaf, ast.Attribute)
                            and isinstance(leaf.value, ast.Name)
                            and leaf.value.id == first
                        ):
                            self.facts.instance_attrs.setdefault(owner, set()).add(leaf.attr)
                if isinstance(statement, (ast.If, ast.While)):
                    tested.update(n.id for n in ast.walk(statement.test) if isinstance(n, ast.Name))
                if isinstance(statement, ast.If):
                    names = {n for n in declared if _guards(statement.test, n)}
                    walk(statement.body, guarded | names)
                    walk(statement.orelse, guarded)
                    continue
                for block in ("body", "orelse", "finalbody"):
                    walk(getattr(statement, block, []) or [], guarded)
                for handler in getattr(statement, "handlers", []) or []:
                    walk(handler.body, guarded)
                for case in getattr(statement, "cases", []) or []:
                    walk(case.body, guarded)

        walk(node.body, frozenset())
        if rebindings:
            self.facts.rebindings[qualname] = rebindings
        self.facts.refs_used[qualname] = _refs_used(node.body)


_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


def _refs_used(body: list[ast.stmt]) -> set[tuple[str, ...]]:
    """The reference paths a function body reads, each rooted at a name that is not
    bound by an enclosing comprehension (`[x.y for x in xs]` reads `xs`, not `x`)."""
    found: set[tuple[str, ...]] = set()

    def visit(node: ast.AST, shadowed: frozenset[str]) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            return  # runs later, if at all: its own facts
        if isinstance(node, (ast.Attribute, ast.Name)):
            path = _path(node)
            if path is not None:
                if path[0] not in shadowed and isinstance(getattr(node, "ctx", None), ast.Load):
                    found.add(tuple(path))
                elif path[0] not in shadowed and len(path) > 1:
                    found.add(tuple(path[:-1]))  # `_local.user = v` reads `_local`
                return
        if isinstance(node, _COMPREHENSIONS):
            # The first iterable is evaluated outside; the rest sees the targets.
            generators = node.generators
            visit(generators[0].iter, shadowed)
            inner = shadowed | {
                n.id for g in generators for n in ast.walk(g.target) if isinstance(n, ast.Name)
            }
            for position, generator in enumerate(generators):
                if position:
                    visit(generator.iter, inner)
                for condition in generator.ifs:
                    visit(condition, inner)
            for part in ("elt", "key", "value"):
                if hasattr(node, part):
                    visit(getattr(node, part), inner)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, shadowed)

    for statement in body:
        visit(statement, frozenset())
    return found


def _target_leaves(target: ast.AST) -> list[ast.AST]:
    if isinstance(target, (ast.Tuple, ast.List)):
        return [leaf for element in target.elts for leaf in _target_leaves(element)]
    if isinstance(target, ast.Starred):
        return _target_leaves(target.value)
    return [target]


def _flatten(body: list[ast.stmt]) -> list[ast.stmt]:
    """Module-level statements, looking into top-level `if`/`try` blocks."""
    out: list[ast.stmt] = []
    for statement in body:
        out.append(statement)
        if isinstance(statement, (ast.If, ast.Try)):
            for block in ("body", "orelse", "finalbody"):
                out += _flatten(getattr(statement, block, []) or [])
            for handler in getattr(statement, "handlers", []) or []:
                out += _flatten(handler.body)
    return out


def facts_from_source(source: str | bytes, module: str, project: "Project | None" = None) -> ModuleFacts:
    builder = _FactsBuilder(project, module)
    try:
        tree = syntax.parse(source)
    except (SyntaxError, ValueError):
        return builder.facts
    builder.module_body(tree.body)
    return builder.facts


class SharedState:
    """Per-project access to `ModuleFacts` by module name (cached by content hash)."""

    def __init__(self, project: "Project", facts: dict[tuple[str, str], ModuleFacts] | None = None):
        self.project = project
        #: (module, content hash) -> facts: shared by a project and its views
        self._facts: dict[tuple[str, str], ModuleFacts] = {} if facts is None else facts
        self._rel: dict[str, str] = {}

    @classmethod
    def of(cls, project: "Project") -> "SharedState":
        """The shared state of `project`; a `for_source` view shares its base's facts
        (they are keyed by content) but looks modules up in its own index."""
        state = project.__dict__.get("_shared_state")
        if state is None or state.project is not project:
            base = project.base if project.base is not project else None
            facts = cls.of(base)._facts if base is not None else None
            state = project.__dict__["_shared_state"] = cls(project, facts)
        return state

    def rel_path(self, module: str) -> str | None:
        if module not in self._rel:
            self._rel = {s.get("name"): rel for rel, s in self.project.index.by_path.items()}
        return self._rel.get(module)

    def facts(self, module: str, source: "Callable[[], bytes] | None" = None) -> ModuleFacts:
        """The facts of `module`; `source()` gives its text when it is not the file's
        (an editor buffer, a rule example), called only when not cached."""
        summary = self.project.index.module(module)
        if summary is None:
            return ModuleFacts()
        module = summary["name"]
        rel = self.rel_path(module)
        digest = self.project.index.hashes.get(rel or "", "")
        key = (module, digest)
        if key not in self._facts:
            if source is not None:
                text = source()
            else:
                try:
                    text = read_source(self.project.root / rel) if rel else b""
                except OSError:
                    text = b""
            self._facts[key] = facts_from_source(text, module, self.project)
        return self._facts[key]

    # -- questions -------------------------------------------------------------

    def rebindings(self, fid: str) -> list[Rebinding]:
        """The globals function `fid` rebinds as request-like state (not counters,
        not lazily built singletons)."""
        module, qualname = split_id(fid)
        fn = self.project.resolver.function(fid)
        if fn is None or not fn.get("global_decls"):
            return []
        if is_configuring_name(fn["name"]):
            return []
        return [
            r
            for r in self.facts(module).rebindings.get(qualname, [])
            if not r.augmented and not r.lazy and not is_cache_name(r.name)
        ]

    def global_owner(self, module: str, name: str, depth: int = 0) -> tuple[str, str] | None:
        """The (module, name) that defines module-level `name` of `module`, following
        `from x import name` re-exports."""
        summary = self.project.index.module(module)
        if summary is None or depth > 8:
            return None
        module = summary["name"]
        imported = summary.get("imports", {}).get(name)
        if imported is None:
            return (module, name) if name in summary.get("global_names", ()) else None
        source, _, attr = imported.rpartition(".")
        if not source or self.project.index.module(source) is None:
            return None
        return self.global_owner(source, attr, depth + 1)

    def is_mutable_global(self, owner: tuple[str, str]) -> bool:
        return owner[1] in self.facts(owner[0]).mutable_globals

    def is_thread_local(self, owner: tuple[str, str]) -> bool:
        return owner[1] in self.facts(owner[0]).thread_locals

    def thread_local_instance(self, value: Value | None) -> bool:
        """An instance of a project class that subclasses `threading.local`."""
        if value is None or value.kind != "instance":
            return False
        return any(base in STATE.thread_local_classes for base in self.project.resolver.mro(value.name))

    def class_mutable(self, cid: str, attr: str) -> str | None:
        """The class (id) whose body binds `attr` to a mutable container, when
        instances do not shadow it; None otherwise."""
        resolver = self.project.resolver
        for entry in resolver.mro(cid):
            if ":" not in entry:
                return None
            module, qualname = split_id(entry)
            facts = self.facts(module)
            if attr in facts.instance_attrs.get(qualname, ()):
                return None
            if attr in facts.class_mutables.get(qualname, ()):
                for sub in resolver.subclasses(entry) | {cid}:
                    sub_module, sub_qual = split_id(sub)
                    if attr in self.facts(sub_module).instance_attrs.get(sub_qual, ()):
                        return None
                return entry
            cls = resolver.class_(entry)
            if cls and (attr in cls["methods"] or attr in cls["attrs"]):
                return None
        return None



def is_sync_project_function(project: "Project", value) -> bool:
    if value is None or value.kind != "function":
        return False
    fn = project.resolver.function(value.name)
    return fn is not None and not fn["is_async"]


def rebinding_label(project: "Project") -> "Callable[[str], str | None]":
    """What sync function `fid` itself does to shared state: `global NAME`, or None."""
    state = SharedState.of(project)

    def label(fid: str) -> str | None:
        rebinds = state.rebindings(fid)
        return f"global {rebinds[0].name}" if rebinds else None

    return label


def thread_local_label(project: "Project") -> "Callable[[str], str | None]":
    """What sync function `fid` itself uses: `threading.local NAME`, or None."""

    def label(fid: str) -> str | None:
        used = thread_locals_used(project, fid)
        return f"threading.local {used[0]}" if used else None

    return label


def _direct_use_leaf(project: "Project", label: "Callable[[str], str | None]"):
    """A leaf test for `Reachability`: a call to a sync function that `label` names."""
    def leaf(site) -> str | None:
        if not is_sync_project_function(project, site.callee):
            return None
        what = label(site.callee.name)
        return f"{written(site.path)} ({what})" if what else None

    return leaf


def usage_chain(
    fid: str,
    first: str,
    label: "Callable[[str], str | None]",
    reach: "Callable[[], Reachability]",
) -> list[str] | None:
    """The chain a message shows for a call (written `first`) to sync function `fid`:
    what `fid` does itself, else the shortest chain below it; None when neither."""
    what = label(fid)
    if what:
        return [f"{first} ({what})"]
    hops = reach().chain(fid)
    return [first, *hops] if hops else None


def rebinding_reachability(project: "Project") -> "Reachability":
    """Sync functions that reach a function rebinding a global (AM301's chains)."""
    leaf = _direct_use_leaf(project, rebinding_label(project))
    return project.reachability("global_rebinding_reachability", leaf)


def loop_runner(project: "Project", site) -> str | None:
    """The label of a call that starts an event loop (`asyncio.run`, a resolved
    `*.run_until_complete`, an `@async_to_sync` function), or None."""
    callee = site.callee
    if callee is not None and callee.kind == "external" and project.catalogue.is_loop_runner(callee.name):
        return callee.name
    if (
        callee is not None
        and callee.kind == "external_instance"
        and project.catalogue.is_loop_wrapper(callee.name)
        and not site.awaited  # `await self.send(...)`: the attribute holds a coroutine function there
    ):
        # calling what `async_to_sync(f)` made: `async_to_sync(f)(x)`, `run = ...; run()`
        return callee.name
    if callee is not None and callee.kind == "function":
        # `@async_to_sync` (the catalogue's "to_sync" decorators): calling the
        # function runs its coroutine to completion on a loop of its own.
        if any(project.catalogue.decorator_effect(d) == "to_sync" for d in project.decorators(callee.name)):
            return f"{written(site.path)} (@async_to_sync)"
        return None
    return None


def loop_reachability(project: "Project") -> "Reachability":
    """Sync functions that start an event loop, directly or through sync helpers
    (the project's own bridges: AM401's chains)."""
    return project.reachability("nested_loop_reachability", lambda site: loop_runner(project, site))


def rebound_global(project: "Project", fid: str) -> tuple[str, str] | None:
    """The (module, name) of the global that sync function `fid` ends up rebinding,
    following the shortest chain of `rebinding_reachability`."""
    state = SharedState.of(project)
    reach = rebinding_reachability(project)
    current, seen = fid, set()
    while current not in seen:
        seen.add(current)
        rebinds = state.rebindings(current)
        if rebinds:
            return split_id(current)[0], rebinds[0].name
        following = [
            site.callee.name
            for site in project.call_graph.calls_from(current)
            if site.callee is not None and site.callee.kind == "function"
            and (state.rebindings(site.callee.name) or site.callee.name in reach)
        ]
        if not following:
            return None
        current = min(following, key=lambda f: len(reach.chain(f) or ()))
    return None


def thread_local_at(
    project: "Project", module: str, scope: str | None, path: "list[str] | tuple[str, ...]"
) -> tuple[str, str] | None:
    """The (module, name) of the module-level `threading.local()` that reference path
    `path` (no calls) names inside function `scope`, or None.

    By resolution, never by bare name: `_local` is the global only where no
    enclosing function binds it (a local or parameter named `_local` is not), and
    `state._local` only when `state` resolves to a project module; `self._local`
    and `obj._local` are attributes of objects, never the module's global.
    """
    state = SharedState.of(project)
    if len(path) == 1:
        if not project.resolver.is_module_global(module, scope, path[0]):
            return None
        owner = state.global_owner(module, path[0])
    else:
        base = project.resolver.value_of(module, scope, list(path[:-1]))
        if base is None or base.kind != "module" or project.index.module(base.name) is None:
            return None
        owner = state.global_owner(base.name, path[-1])
    return owner if owner is not None and state.is_thread_local(owner) else None


def thread_locals_used(project: "Project", fid: str) -> list[str]:
    """The module-level `threading.local()` objects that function `fid` uses, as
    written there (`_local`, `state._local`)."""
    if project.resolver.function(fid) is None:
        return []
    module, qualname = split_id(fid)
    facts = SharedState.of(project).facts(module)
    found: set[str] = set()
    for path in facts.refs_used.get(qualname, ()):
        for end in range(1, len(path) + 1):
            if thread_local_at(project, module, qualname, path[:end]) is not None:
                found.add(".".join(path[:end]))
                break
    return sorted(found)


def thread_local_reachability(project: "Project") -> "Reachability":
    """Sync functions that reach a function using a `threading.local()` (AM303)."""
    leaf = _direct_use_leaf(project, thread_local_label(project))
    return project.reachability("thread_local_reachability", leaf)
