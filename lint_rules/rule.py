"""What every asyncmigrate lint rule shares: the project context and scope tracking.

A rule is a Fixit `LintRule` that also inherits `ProjectRule`. `ProjectRule` is a
mixin rather than a `LintRule` subclass so that Fixit, which collects every
`LintRule` subclass it finds in `lint_rules`, does not mistake it for a rule.

The project context reaches a rule through `ProjectContextProvider`, a LibCST
metadata provider. Under Fixit its `gen_cache` builds (or loads from the on-disk
cache) the project index; under asyncmigrate's own runner the runner hands the
context in directly.

A rule never asks which engine runs it. It reports through `self.reporter`, which
is `FixitReporter` unless the engine that runs the rule sets another one (the fast
engine collects findings and positions them itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Any, ClassVar, Mapping, NamedTuple, Optional, Sequence, Union

import libcst as cst
from libcst.metadata import BaseMetadataProvider, PositionProvider

from asyncmigrate.analysis import Project
from asyncmigrate.index.refpath import cst_call_path, cst_ref_path
from asyncmigrate.index.values import Value, nested_qualname
from asyncmigrate.project import find_root, relpath

from .suppression import Suppressions


@dataclass
class FileContext:
    """The file being linted and the project it belongs to."""

    project: Project
    module: str
    path: Path


_projects: dict[Path, Project] = {}


def project_for(path: Path) -> Project | None:
    """One `Project` per root for the life of the process (Fixit lints file by file);
    None for a path that is not on disk (Fixit's rule examples, stdin), which gets a
    project of its own once its text is known."""
    if not path.exists():
        return None
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
            cache[path] = (project_for(file_path), file_path)
        return cache

    def _gen_impl(self, module: cst.Module) -> None:
        project, path = self.cache  # type: ignore[misc]
        if project is None:
            project = Project.for_snippet(path, module.bytes)
        project, name = project.for_source(path, module.bytes)
        self.set_metadata(module, FileContext(project, name, path))


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

    #: How findings leave the rule (`FixitReporter`); the engine running it may set its own.
    reporter: ClassVar["Reporter"]

    def __init__(self) -> None:
        super().__init__()
        self.scopes: list[Scope] = []
        self._context: FileContext | None = None

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
        enclosing = next((s.qualname for s in reversed(self.scopes) if s.kind != "lambda"), None)
        return nested_qualname(enclosing, name)

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
        """What `call` calls; a callee through subscripts (`self[name].ping`) too."""
        path = cst_call_path(call.func)
        if path is None:
            return None
        return self.project.resolver.value_of(self.context.module, self.index_scope, path)

    # -- reporting -------------------------------------------------------------

    def report(
        self,
        node: cst.CSTNode,
        message: Optional[str] = None,
        *,
        position: Any = None,
        replacement: Union[cst.CSTNode, cst.RemovalSentinel, None] = None,
    ) -> None:
        self.reporter.report(self, node, message or "", position, replacement)

    def report_with_module_fix(
        self, node: cst.CSTNode, message: str, new_module: "cst.Module | Callable[[], cst.Module]"
    ) -> None:
        """Report at `node` with a fix that rewrites the whole module.

        Fixes that edit imports cannot be a replacement of `node`: Fixit and the
        fast engine apply a fix by node identity. The finding keeps `node`'s
        position but replaces the Module (the engine applies one such fix per
        round and loops). `new_module` may be a function that builds it: import
        edits run LibCST metadata over the whole module, so the fast engine builds
        the fix only when it applies it (a plain lint never does).
        """
        self.reporter.report_module_fix(self, node, message, new_module)

    @property
    def enclosing_qualname(self) -> str:
        """The class or function a finding is in (lambdas see through), "" at module level."""
        return next((s.qualname for s in reversed(self.scopes) if s.kind != "lambda"), "")


class ModuleFix:
    """A whole-module fix built on first use (`report_with_module_fix`)."""

    def __init__(self, build: Callable[[], cst.Module]):
        self._build = build
        self._module: cst.Module | None = None

    @property
    def module(self) -> cst.Module:
        if self._module is None:
            self._module = self._build()
        return self._module


def module_fix(replacement: Any) -> cst.Module | None:
    """The Module a whole-module fix replaces the file with (built if lazy), or None
    when `replacement` is a node-level fix."""
    if isinstance(replacement, ModuleFix):
        return replacement.module
    return replacement if isinstance(replacement, cst.Module) else None


class Reporter:
    """How a rule's findings are delivered; the engine that runs the rule chooses."""

    def report(self, rule: ProjectRule, node: cst.CSTNode, message: str, position: Any, replacement: Any) -> None:
        raise NotImplementedError

    def report_module_fix(self, rule: ProjectRule, node: cst.CSTNode, message: str, new_module: cst.Module) -> None:
        raise NotImplementedError


class FixitReporter(Reporter):
    """Under Fixit: `LintRule.report`, with the stable code in front of the message
    (users search for "AM101")."""

    def report(self, rule, node, message, position, replacement):
        # Fixit reads only its own `# lint-ignore`; the CLI and flake8 honour
        # `# noqa: AM101` too, so a suppression must not depend on the route.
        start = position or rule.get_metadata(PositionProvider, node)  # type: ignore[attr-defined]
        line = getattr(start, "start", start).line
        if _suppressions(rule).noqa(line, rule.CODE):
            return
        context = rule.context
        if rule.CODE.startswith(context.project.config.ignored_in(relpath(context.path, context.project.root))):
            return
        super(ProjectRule, rule).report(  # type: ignore[misc]
            node, f"{rule.CODE} {message}", position=position, replacement=replacement
        )

    def report_module_fix(self, rule, node, message, new_module):
        # Fixit keys a fix by the reported node, so the Module is reported, at the
        # position of `node`; Fixit's own suppression check must then see `node`.
        if rule.ignore_lint(node):  # type: ignore[attr-defined]
            return
        position = rule.get_metadata(PositionProvider, node)  # type: ignore[attr-defined]
        if callable(new_module):  # Fixit needs the replacement when it is reported
            new_module = new_module()
        self.report(rule, rule._module, message, position, new_module)


def _suppressions(rule: ProjectRule) -> Suppressions:
    """The comment suppressions of the module `rule` is visiting, read once per module."""
    module = rule._module  # type: ignore[attr-defined]
    found = getattr(rule, "_suppressions_of", None)
    if found is None or found[0] is not module:
        found = rule._suppressions_of = (module, Suppressions(module.code.splitlines()))  # type: ignore[attr-defined]
    return found[1]


ProjectRule.reporter = FixitReporter()
