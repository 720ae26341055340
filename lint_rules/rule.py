"""What every asyncmigrate lint rule shares: the project context and scope tracking.

A rule is a Fixit `LintRule` that also inherits `ProjectRule`. `ProjectRule` is a
mixin rather than a `LintRule` subclass so that Fixit, which collects every
`LintRule` subclass it finds in `lint_rules`, does not mistake it for a rule.

The project context reaches a rule through `ProjectContextProvider`, a LibCST
metadata provider. Under Fixit its `gen_cache` builds (or loads from the on-disk
cache) the project index; under asyncmigrate's own runner the runner hands the
context in directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Mapping, NamedTuple, Optional, Sequence, Union

import libcst as cst
from libcst.metadata import BaseMetadataProvider, PositionProvider

from asyncmigrate.analysis import Project
from asyncmigrate.index.refpath import cst_ref_path
from asyncmigrate.index.values import Value
from asyncmigrate.project import find_root


@dataclass
class FileContext:
    """The file being linted and the project it belongs to."""

    project: Project
    module: str
    path: Path


_projects: dict[Path, Project] = {}


def project_for(path: Path) -> Project:
    """One `Project` per root for the life of the process (Fixit lints file by file).

    A path that is not on disk (Fixit's rule examples, stdin) gets a project of its
    own holding only that source.
    """
    if not path.exists():
        return Project.for_snippet(path.parent)
    root = find_root(path)
    if root not in _projects:
        _projects[root] = Project.load(root)
    return _projects[root]


class ProjectContextProvider(BaseMetadataProvider[FileContext]):
    """Attaches the `FileContext` to the Module node; costs nothing per node."""

    @classmethod
    def gen_cache(
        cls, root_path: Path, paths: list[str], timeout: Optional[int] = None, **_: Any
    ) -> Mapping[str, object]:
        cache = {}
        for path in paths:
            file_path = Path(path)
            if not file_path.is_absolute():
                file_path = Path(root_path) / file_path
            project = project_for(file_path)
            cache[path] = FileContext(project, project.module_for(file_path), file_path)
        return cache

    def _gen_impl(self, module: cst.Module) -> None:
        context: FileContext = self.cache  # type: ignore[assignment]
        context.module = context.project.overlay(context.path, module.bytes)
        self.set_metadata(module, context)


class Scope(NamedTuple):
    kind: str  # "class", "function" or "lambda"
    qualname: str
    is_async: bool
    node: cst.CSTNode


class ProjectRule:
    """Mixin for rules that ask the project index about names.

    Subclasses that define `visit_FunctionDef`, `leave_FunctionDef`, `visit_Lambda`,
    `leave_Lambda`, `visit_ClassDef` or `leave_ClassDef` must call `super()` so the
    scope stack stays right.
    """

    CODE: ClassVar[str] = ""
    #: off-by-default rules run only when selected explicitly
    DEFAULT_ENABLED: ClassVar[bool] = True
    #: fixes that change behaviour run only with --unsafe-fixes
    UNSAFE_FIX: ClassVar[bool] = False

    #: every finding is inside an `async def`: files without one are never parsed
    NEEDS_ASYNC_DEF: ClassVar[bool] = False

    @classmethod
    def wants_file(cls, project: Project, summary: dict[str, Any], text: str) -> bool:
        """A cheap check before parsing: False when the file cannot have findings."""
        return not cls.NEEDS_ASYNC_DEF or bool(summary.get("has_async"))

    @classmethod
    def prepare(cls, project: Project) -> None:
        """Run once per project before any file (and before worker processes fork):
        compute the whole-project analyses the rule needs, so workers share them."""

    METADATA_DEPENDENCIES: ClassVar[Sequence[Any]] = (ProjectContextProvider,)

    #: Set by asyncmigrate's runner: report without position metadata (added later
    #: for the few files that have findings) and suppress by comments itself.
    fast_mode: bool = False

    def __init__(self) -> None:
        super().__init__()
        self.scopes: list[Scope] = []
        self._context: FileContext | None = None
        #: fast-mode reports: (node, message, replacement, enclosing scope)
        self.pending: list[tuple[cst.CSTNode, str, Any, str]] = []

    _visitor_names: ClassVar[dict[type, list[str]]] = {}

    def get_visitors(self) -> Mapping[str, Any]:
        """The visit_/leave_ methods, found once per class.

        libcst's default inspects every attribute of every instance (evaluating
        properties) for every file; the fast runner builds rules per file.
        """
        if not self.fast_mode:
            return super().get_visitors()  # type: ignore[misc]
        cls = type(self)
        names = ProjectRule._visitor_names.get(cls)
        if names is None:
            names = [
                name
                for name in dir(cls)
                if name.startswith(("visit_", "leave_"))
                and callable(getattr(cls, name))
                and not getattr(getattr(cls, name), "_is_no_op", False)
            ]
            ProjectRule._visitor_names[cls] = names
        return {name: getattr(self, name) for name in names}

    # -- context ---------------------------------------------------------------

    @property
    def context(self) -> FileContext:
        if self._context is None:
            self._context = self.get_metadata(ProjectContextProvider, self._module)  # type: ignore[attr-defined]
        return self._context

    @property
    def project(self) -> Project:
        return self.context.project

    def visit_Module(self, node: cst.Module) -> None:
        self._module = node
        self._context = None
        self.scopes = []

    # -- scopes ----------------------------------------------------------------

    def _qualname(self, name: str) -> str:
        for scope in reversed(self.scopes):
            if scope.kind != "lambda":
                return f"{scope.qualname}.{name}"
        return name

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.scopes.append(Scope("class", self._qualname(node.name.value), False, node))

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.scopes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.scopes.append(
            Scope("function", self._qualname(node.name.value), node.asynchronous is not None, node)
        )

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scopes.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.scopes.append(Scope("lambda", "<lambda>", False, node))

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.scopes.pop()

    @property
    def code_scope(self) -> Scope | None:
        """The innermost function or lambda: the code that runs a statement."""
        for scope in reversed(self.scopes):
            if scope.kind != "class":
                return scope
        return None

    @property
    def in_async_function(self) -> bool:
        scope = self.code_scope
        return scope is not None and scope.kind == "function" and scope.is_async

    @property
    def in_sync_code(self) -> bool:
        """Module level, a class body, or a sync def (not a lambda: it is a value)."""
        scope = self.code_scope
        return scope is None or (scope.kind == "function" and not scope.is_async)

    @property
    def index_scope(self) -> str | None:
        """The function whose locals name lookups start from (lambdas see through)."""
        for scope in reversed(self.scopes):
            if scope.kind == "function":
                return scope.qualname
        return None

    # -- resolution ------------------------------------------------------------

    def value_of(self, node: cst.BaseExpression) -> Value | None:
        path = cst_ref_path(node)
        if path is None:
            return None
        return self.project.resolver.value_of(self.context.module, self.index_scope, path)

    def call_target(self, call: cst.Call) -> Value | None:
        return self.value_of(call.func)

    # -- reporting -------------------------------------------------------------

    def report(
        self,
        node: cst.CSTNode,
        message: Optional[str] = None,
        *,
        position: Any = None,
        replacement: Union[cst.CSTNode, cst.RemovalSentinel, None] = None,
    ) -> None:
        if self.fast_mode:
            scope = next((s.qualname for s in reversed(self.scopes) if s.kind != "lambda"), "")
            self.pending.append((node, message or "", replacement, scope))
            return
        # Under Fixit, show the stable code too: users search for "AM101".
        super().report(  # type: ignore[misc]
            node, f"{self.CODE} {message}", position=position, replacement=replacement
        )

    def report_with_module_fix(self, node: cst.CSTNode, message: str, new_module: cst.Module) -> None:
        """Report at `node` with a fix that rewrites the whole module.

        Fixes that edit imports cannot be a replacement of `node`: Fixit and the
        fast engine apply a fix by node identity. The finding keeps `node`'s
        position but replaces the Module (the engine applies one such fix per
        round and loops).
        """
        if self.fast_mode:
            # The engine reads a Module replacement as a whole-module fix.
            self.report(node, message, replacement=new_module)
            return
        if self.ignore_lint(node):  # type: ignore[attr-defined]
            return
        position = self.get_metadata(PositionProvider, node)  # type: ignore[attr-defined]
        self.report(self._module, message, position=position, replacement=new_module)
