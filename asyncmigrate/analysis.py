"""The questions rules and codemods ask about a project, answered in one place.

`Project` joins the configuration, the cached index, call resolution and the
catalogue of async APIs. Rules never look at another module's syntax; they ask
`Project` ("is this call a coroutine function?") and get answers that hold across
the whole project.
"""

from __future__ import annotations

import copy
import fnmatch
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .callgraph import MODULE_SCOPE, CallGraph
from .catalogue import NAMING, AsyncApiCatalogue, BlockingCatalogue, NameSet
from .config import Config, load_config
from .index import records
from .swaps import SwapTable
from .index.resolve import Resolver
from .index.store import ProjectIndex, content_hash
from .index.values import Value, join_id, split_id
from .project import module_names, relpath
from .reachability import LeafTest, Reachabilities, Reachability
from .suspension import Suspensions

if TYPE_CHECKING:
    from .typeengine import TypeEngine
    from .catalogue import BlockingEntry


class Project:
    """One project's configuration, index, resolver and whole-project analyses.

    Whole-project analyses (the call graph, the reachability chains, the names of
    async-only objects) describe the project as indexed, and are computed once per
    run. Linting a text that differs from the indexed file (a fix round, an editor
    buffer) goes through `for_source`: a view of the project whose index and
    resolver see that text, while the analyses stay the ones of `base`.
    """

    def __init__(self, config: Config, index: ProjectIndex):
        self.config = config
        self.index = index
        self.catalogue = AsyncApiCatalogue(config.async_calls)
        self.catalogue.swaps = SwapTable(self.catalogue.normalize, config.swaps)
        self.blocking_catalogue = BlockingCatalogue(
            self.catalogue.normalize, config.blocking_calls
        )
        self.resolver = Resolver(index, self.catalogue, config.types)
        #: the project whose whole-project analyses this one uses (itself, or the
        #: project a `for_source` view was made from)
        self.base: Project = self

    @classmethod
    def load(
        cls,
        root: Path,
        *,
        config: Config | None = None,
        config_file: Path | None = None,
        use_cache: bool = True,
        jobs: int = 1,
    ) -> "Project":
        if config is None:
            config = load_config(root, config_file)
        return cls(config, ProjectIndex.build(config, use_cache=use_cache, jobs=jobs))

    @classmethod
    def for_snippet(cls, path: Path, source: bytes) -> "Project":
        """A project of one text that is not on disk (a rule example, stdin)."""
        root = path.parent
        rel = relpath(path, root)
        index = ProjectIndex.of_source(root, rel, module_names(rel, root) or [path.stem], source)
        return cls(Config(root=root), index)

    @property
    def root(self) -> Path:
        return self.config.root

    def for_source(self, path: Path, source: bytes) -> tuple["Project", str]:
        """The project as a rule linting `source` (the text of `path`) must see it,
        and the module name of `path`: this project itself when the index already
        holds that text, else a view whose index and resolver hold it."""
        rel = relpath(path, self.root)
        names = module_names(rel, self.root) or [path.stem]
        indexed = self.index.by_path.get(rel)
        if indexed is not None and self.index.hashes.get(rel) == content_hash(source):
            return self, indexed["name"]
        view = copy.copy(self)
        view.index = self.index.overlaid(rel, names, source)
        view.resolver = Resolver(view.index, self.catalogue, self.config.types)
        return view, view.index.by_path[rel]["name"]

    @property
    def type_engine(self) -> "TypeEngine":
        """The second type tier (pyrefly), run at most once per project state."""
        return self.base._type_engine

    @cached_property
    def _type_engine(self) -> "TypeEngine":
        from .typeengine import TypeEngine

        return TypeEngine(self.root)

    def with_sources(self, sources: dict[str, bytes]) -> "Project":
        """The project as it would be with each file `rel` holding `sources[rel]` (a
        codemod's result before it is written), for checking that result."""
        index = self.index
        for rel, source in sorted(sources.items()):
            names = module_names(rel, self.root) or [Path(rel).stem]
            index = index.overlaid(rel, names, source)
        # A project of its own: its whole-project analyses see the new texts.
        return type(self)(self.config, index)

    def module_for(self, path: Path) -> str:
        """The canonical module name of a file (indexed or not)."""
        summary = self.index.module_for_path(path)
        if summary is not None:
            return summary["name"]
        names = module_names(relpath(path, self.root), self.root)
        return names[0] if names else path.stem

    # -- whole-project analyses ----------------------------------------------

    @property
    def call_graph(self) -> "CallGraph":
        """The project call graph, built on first use (whole-project analyses only)."""
        return self.base._call_graph

    @cached_property
    def _call_graph(self) -> "CallGraph":
        return CallGraph(self.index, self.resolver)

    @cached_property
    def analysis_key(self) -> str:
        """What every cached analysis depends on besides the files: the knowledge
        base and the configuration."""
        return f"{self.blocking_catalogue.fingerprint}:{self.config.fingerprint}"

    @cached_property
    def _reachabilities(self) -> Reachabilities:
        return Reachabilities(self.index, lambda: self.call_graph, self.resolver, self.analysis_key)

    def reachability(self, name: str, leaf: LeafTest) -> Reachability:
        """The reachability analysis `name`: which sync functions reach a call that
        `leaf` labels, through which shortest chain (see `reachability.py`)."""
        return self.base._reachabilities.get(name, leaf)

    @cached_property
    def _suspensions(self) -> Suspensions:
        return Suspensions(self)

    def may_suspend(self, fid: str) -> bool:
        """Whether awaiting project coroutine `fid` (or an override of it) can
        suspend; False for one that only computes and returns (`suspension.py`)."""
        return fid not in self.base._suspensions.never_suspending()

    def waits_only_when(self, fid: str) -> tuple[str, ...] | None:
        """The names that once-only guards over every suspension point of project
        coroutine `fid` read (`if name not in cache: await load(name)`), or None
        (`suspension.py`)."""
        return self.base._suspensions.waits_only_when(fid)

    # -- functions -----------------------------------------------------------

    def decorators(self, fid: str) -> list[str]:
        """The qualified names of a function's decorators (`contextlib.contextmanager`)."""
        return self.resolver.decorators(fid)

    def _has_decorator(self, fid: str, names: NameSet) -> bool:
        return any(d in names for d in self.decorators(fid))

    def call_kind(self, fid: str) -> str | None:
        """What calling project function `fid` gives, after its decorators: "async"
        (a coroutine), "sync", "asyncgen", or None when a decorator makes it unknown
        or not a plain call (a property, a fixture, a context-manager factory)."""
        fn = self.resolver.function(fid)
        if fn is None:
            return None
        if fn["is_async"]:
            kind: str | None = "asyncgen" if fn["is_generator"] else "async"
        else:
            kind = "sync"
        module, _ = split_id(fid)
        # Decorators apply bottom-up: the one nearest the `def` first.
        for written in reversed(fn["decorators"]):
            value = self.resolver.value_of(module, fn["parent"], written.split("."))
            name = value.qualified if value is not None else written
            if name in self.catalogue.async_context_manager_decorators:
                return None
            effect = self.catalogue.decorator_effect(name)
            if effect is None and value is not None and value.kind == "function":
                continue  # a project decorator: read as a forwarding wrapper
            if effect == "to_sync":
                kind = "sync"
            elif effect == "to_async":
                kind = "async"
            elif effect != "preserve":
                return None
        return kind

    def is_coroutine_function(self, value: Value | None) -> bool:
        """Calling `value` returns a coroutine that does nothing until awaited."""
        if value is None:
            return False
        if value.kind == "function":
            return self.call_kind(value.name) == "async" or self._configured_async(
                value.qualified
            )
        if value.kind == "external":
            return self.catalogue.is_coroutine_function(value.name)
        return False

    def _configured_async(self, qualified: str) -> bool:
        return any(fnmatch.fnmatchcase(qualified, p) for p in self.config.async_calls)

    def is_async_generator_function(self, value: Value | None) -> bool:
        return value is not None and value.kind == "function" and self.call_kind(value.name) == "asyncgen"

    def is_async_context_factory(self, value: Value | None) -> bool:
        """A function decorated with `@asynccontextmanager`."""
        return bool(
            value is not None
            and value.kind == "function"
            and self._has_decorator(value.name, self.catalogue.async_context_manager_decorators)
        )

    def is_task_factory(self, value: Value | None) -> bool:
        return bool(
            value is not None
            and value.kind == "external"
            and self.catalogue.is_task_factory(value.name)
        )

    def bind_arguments(
        self, value: Value | None, through_class: bool, arguments: list[str | None]
    ) -> tuple[str, dict[str, Any], list[dict[str, Any] | None]] | None:
        """Bind a call's arguments to the parameters of the project function `value`
        (a class runs its `__init__`). `arguments` are, in order, None for a
        positional argument, else the keyword, `*` or `**`. `self` and `cls` are bound
        already, except for a method called through its class (`Repo.save(repo, x)`,
        `through_class`). Returns the function id, its summary and, per argument, the
        parameter it binds to (None: `*args`/`**kwargs` take it, or it follows a `*`
        and its position is unknown); None when `value` is no project function."""
        fid = value.name if value is not None and value.kind == "function" else None
        if value is not None and value.kind == "class":
            fid, through_class = self.resolver.method_in_mro(value.name, "__init__"), False
        fn = self.resolver.function(fid) if fid else None
        if fn is None:
            return None
        params = fn["params"]
        if fn["kind"] == "classmethod" or (fn["kind"] in ("method", "property") and not through_class):
            params = params[1:]
        positional = [p for p in params if p["kind"] == "pos"]
        by_name = {p["name"]: p for p in params if p["kind"] in ("pos", "kw")}
        bound: list[dict[str, Any] | None] = []
        position = 0
        for argument in arguments:
            if argument in ("*", "**"):
                positional = []  # later positions are unknown
                bound.append(None)
            elif argument is None:
                bound.append(positional[position] if position < len(positional) else None)
                position += 1
            else:
                bound.append(by_name.get(argument))
        return fid, fn, bound

    def plain_value_arguments(
        self, value: Value | None, through_class: bool, arguments: list[str | None]
    ) -> list[bool]:
        """Per argument of a call of `value` (as `bind_arguments` takes them), whether
        its parameter is annotated with a type a coroutine can never be (`int`,
        `str`, a project class with no `__await__` and no base outside the project).
        Unknown or unannotated parameters are False."""
        found = self.bind_arguments(value, through_class, arguments)
        if found is None:
            return [False] * len(arguments)
        fid, fn, bound = found
        module, _ = split_id(fid)
        return [
            param is not None and self._plain_annotation(module, fn["parent"], param["annotation"])
            for param in bound
        ]

    def _plain_annotation(self, module: str, scope: str | None, annotation: str | None) -> bool:
        if not annotation:
            return False
        value = self.resolver.value_of(module, scope, annotation.split("."))
        if value is None:
            return False
        if value.kind == "external":
            return value.name in self.catalogue.plain_value_types
        if value.kind != "class":
            return False
        known = all(":" in cid for cid in self.resolver.mro(value.name))  # no outside base
        return known and not self._has_method(value.name, "__await__")

    # -- instances -----------------------------------------------------------

    def _has_method(self, cid: str, name: str) -> bool:
        return self.resolver.method_in_mro(cid, name) is not None

    def supports_only_async_with(self, value: Value | None) -> bool:
        """`with value:` fails at run time but `async with value:` works."""
        if value is None:
            return False
        if value.kind == "instance":
            return self._has_method(value.name, "__aenter__") and not self._has_method(
                value.name, "__enter__"
            )
        if value.kind == "external_instance":
            return self.catalogue.is_async_only_context_manager(value.name)
        return False

    def supports_only_async_for(self, value: Value | None) -> bool:
        """`for x in value:` fails at run time but `async for` works."""
        if value is None:
            return False
        if value.kind == "instance":
            return self._has_method(value.name, "__aiter__") and not self._has_method(
                value.name, "__iter__"
            )
        if value.kind == "external_instance":
            return self.catalogue.is_async_only_iterable(value.name)
        return False

    # -- blocking calls ------------------------------------------------------

    def blocking_entry(self, value: Value | None) -> "BlockingEntry | None":
        """The catalogue (or configured) entry for calling `value`, if it blocks."""
        if value is None:
            return None
        if value.kind == "external":
            return self.blocking_catalogue.match(value.name)
        if value.kind in ("function", "class"):
            return self.blocking_catalogue.match_configured(value.qualified)
        return None

    def startup_root(self, fid: str) -> str | None:
        """The start-up function (`async_setup_entry`, `main`, `lifespan`; naming.toml
        and `startup-functions`) that is the only way function `fid` runs, or
        "module import"; None when it may run per request (any other caller, or none
        the index can see: a handler that a framework calls)."""
        return self.base._startup_only.get(fid)

    @cached_property
    def _startup_only(self) -> dict[str, str]:
        patterns = (*NAMING.startup_names, *self.config.startup_functions)
        graph = self.call_graph
        found = {
            fid: split_id(fid)[1]
            for fid in graph.functions
            if any(fnmatch.fnmatchcase(split_id(fid)[1].rsplit(".", 1)[-1], p) for p in patterns)
        }
        callers = {fid: {site.caller for site in graph.calls_to(fid)} for fid in graph.functions}
        changed = True
        while changed:
            changed = False
            for fid, who in callers.items():
                if fid in found or not who:
                    continue
                if all(c in found or split_id(c)[1] == MODULE_SCOPE for c in who):
                    found[fid] = next((found[c] for c in sorted(who) if c in found), "module import")
                    changed = True
        return found

    @property
    def blocking_reachability(self) -> Reachability:
        """Sync project functions that reach a blocking call, with the shortest chain."""

        def leaf(site) -> str | None:
            entry = self.blocking_entry(site.callee)
            if entry is None or entry.returns_at_once(site.quick, site.nargs):
                return None
            return site.callee.qualified

        return self.reachability("blocking_reachability", leaf)

    @property
    def has_async_code(self) -> bool:
        return self.base._has_async_code

    @cached_property
    def _has_async_code(self) -> bool:
        return any(s.get("has_async") for s in self.index.summaries())

    def calls_coroutine_from_sync(self, summary: dict[str, Any]) -> bool:
        """Whether a module's sync code (sync functions, top-level statements) calls a
        coroutine function: decided from the index, without parsing the file."""
        module = summary.get("name")
        scopes = [(q, f["calls"]) for q, f in summary.get("functions", {}).items() if not f["is_async"]]
        scopes.append((None, summary.get("module_calls", [])))
        for scope, calls in scopes:
            for call in records.calls(calls):
                target = self.resolver.call_target(module, scope, call.path)
                if self.is_coroutine_function(target):
                    return True
        return False

    @property
    def async_only_names(self) -> frozenset[str]:
        """Names of project classes usable only with `async with`/`async for`, and of
        async generator and `@asynccontextmanager` functions."""
        return self.base._async_only_names

    @cached_property
    def _async_only_names(self) -> frozenset[str]:
        names = set()
        for summary in self.index.summaries():
            module = summary.get("name")
            for qualname, cls in summary.get("classes", {}).items():
                cid = join_id(module, qualname)
                if self.supports_only_async_with(Value("instance", cid)) or self.supports_only_async_for(
                    Value("instance", cid)
                ):
                    names.add(cls["name"])
            for qualname, fn in summary.get("functions", {}).items():
                value = Value("function", join_id(module, qualname))
                if self.is_async_generator_function(value) or self.is_async_context_factory(value):
                    names.add(fn["name"])
        return frozenset(names)

    def imports_async_library(self, summary: dict[str, Any]) -> bool:
        imported = summary.get("imports", {}).values()
        return any(self.catalogue.is_async_library(target) for target in imported)

    def describe(self, value: Value) -> str:
        """How a message names a value: `pkg.mod.Cls.meth`."""
        return value.qualified
