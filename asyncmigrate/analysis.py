"""The questions rules and codemods ask about a project, answered in one place.

`Project` joins the configuration, the cached index, call resolution and the
catalogue of async APIs. Rules never look at another module's syntax; they ask
`Project` ("is this call a coroutine function?") and get answers that hold across
the whole project.
"""

from __future__ import annotations

import fnmatch
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .catalogue import AsyncApiCatalogue, BlockingCatalogue
from .config import Config, load_config
from .index.resolve import Resolver
from .index.store import ProjectIndex
from .index.values import Value, split_id
from .project import module_names, relpath

if TYPE_CHECKING:
    from .callgraph import CallGraph
    from .catalogue import BlockingEntry
    from .reachability import Reachability

#: Top-level packages of the async libraries the catalogue knows.
ASYNC_LIBRARIES = frozenset(
    {"asyncio", "aiohttp", "httpx", "anyio", "trio", "aiofiles", "asyncpg", "aiosqlite", "motor"}
)
_ASYNC_CONTEXT_MANAGER_DECORATORS = {"contextlib.asynccontextmanager"}


class Project:
    def __init__(self, config: Config, index: ProjectIndex):
        self.config = config
        self.index = index
        self.catalogue = AsyncApiCatalogue(config.async_calls)
        self.blocking_catalogue = BlockingCatalogue(
            self.catalogue.normalize, config.blocking_calls
        )
        self.resolver = Resolver(index, self.catalogue)
        self._decorators: dict[str, list[str]] = {}

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
    def for_snippet(cls, root: Path) -> "Project":
        """A project with nothing indexed, for code that is not on disk."""
        return cls(Config(root=root), ProjectIndex(root=root))

    @property
    def root(self) -> Path:
        return self.config.root

    def overlay(self, path: Path, source: bytes) -> str:
        """Make the index agree with `source` for `path`; returns the module name."""
        rel = relpath(path, self.root)
        names = module_names(rel, self.root) or [path.stem]
        before = self.index.by_path.get(rel)
        summary = self.index.replace_source(rel, names, source)
        if summary is not before:
            self.resolver = Resolver(self.index, self.catalogue)
            self._decorators.clear()
            self.__dict__.pop("call_graph", None)
            self.__dict__.pop("blocking_reachability", None)
        return summary["name"]

    def module_for(self, path: Path) -> str:
        """The canonical module name of a file (indexed or not)."""
        summary = self.index.module_for_path(path)
        if summary is not None:
            return summary["name"]
        names = module_names(relpath(path, self.root), self.root)
        return names[0] if names else path.stem

    # -- functions -----------------------------------------------------------

    def decorators(self, fid: str) -> list[str]:
        """The qualified names of a function's decorators (`contextlib.contextmanager`)."""
        if fid not in self._decorators:
            fn = self.resolver.function(fid)
            module, _ = split_id(fid)
            names = []
            for written in fn["decorators"] if fn else ():
                value = self.resolver.value_of(module, fn["parent"], written.split("."))
                names.append(value.qualified if value is not None else written)
            self._decorators[fid] = names
        return self._decorators[fid]

    def _has_decorator(self, fid: str, names: set[str]) -> bool:
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
            if name in _ASYNC_CONTEXT_MANAGER_DECORATORS:
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
            and self._has_decorator(value.name, _ASYNC_CONTEXT_MANAGER_DECORATORS)
        )

    def is_task_factory(self, value: Value | None) -> bool:
        return bool(
            value is not None
            and value.kind == "external"
            and self.catalogue.is_task_factory(value.name)
        )

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

    @cached_property
    def call_graph(self) -> "CallGraph":
        """The project call graph, built on first use (whole-project analyses only)."""
        from .callgraph import CallGraph

        return CallGraph(self)

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

    @cached_property
    def blocking_reachability(self) -> "Reachability":
        """Sync project functions that reach a blocking call, with the shortest chain."""
        from .reachability import Reachability

        def leaf(site) -> str | None:
            return site.callee.qualified if self.blocking_entry(site.callee) else None

        return Reachability.cached(
            self, "blocking_reachability", self.blocking_catalogue.fingerprint, leaf
        )

    @cached_property
    def has_async_code(self) -> bool:
        return any(s.get("has_async") for s in self.index.summaries())

    def calls_coroutine_from_sync(self, summary: dict[str, Any]) -> bool:
        """Whether a module's sync code (sync functions, top-level statements) calls a
        coroutine function: decided from the index, without parsing the file."""
        module = summary.get("name")
        scopes = [(q, f["calls"]) for q, f in summary.get("functions", {}).items() if not f["is_async"]]
        scopes.append((None, summary.get("module_calls", [])))
        for scope, calls in scopes:
            for call in calls:
                target = self.resolver.call_target(module, scope, call[0])
                if self.is_coroutine_function(target):
                    return True
        return False

    @cached_property
    def async_only_names(self) -> frozenset[str]:
        """Names of project classes usable only with `async with`/`async for`, and of
        async generator and `@asynccontextmanager` functions."""
        names = set()
        for summary in self.index.summaries():
            module = summary.get("name")
            for qualname, cls in summary.get("classes", {}).items():
                cid = f"{module}:{qualname}"
                if self.supports_only_async_with(Value("instance", cid)) or self.supports_only_async_for(
                    Value("instance", cid)
                ):
                    names.add(cls["name"])
            for qualname, fn in summary.get("functions", {}).items():
                value = Value("function", f"{module}:{qualname}")
                if self.is_async_generator_function(value) or self.is_async_context_factory(value):
                    names.add(fn["name"])
        return frozenset(names)

    def imports_async_library(self, summary: dict[str, Any]) -> bool:
        imported = summary.get("imports", {}).values()
        return any(
            target.split(".")[0] in ASYNC_LIBRARIES or target.startswith("redis.asyncio")
            for target in imported
        )

    def describe(self, value: Value) -> str:
        """How a message names a value: `pkg.mod.Cls.meth`."""
        return value.qualified
