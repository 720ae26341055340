"""AM301: a module global rebound in async code, or in a sync helper it calls."""

from __future__ import annotations


import libcst as cst
from fixit import Invalid, LintRule, Valid

from asyncmigrate.analysis import Project
from lint_rules.rule import ProjectRule
from asyncmigrate.shared_state import (
    is_cache_name,
    is_configuring_name,
    rebinding_label,
    rebinding_reachability,
    rebound_global,
)

from .contextvar_fix import ContextVarFix
from .helper_chain import helper_chain
from lint_rules.rules.gather.independent_awaits import names_in


class GlobalStateInAsync(ContextVarFix, ProjectRule, LintRule):
    """
    ## What it does
    Finds module globals rebound in async code, or in sync helpers that async code calls.

    It reports `global x; x = ...` in an `async def`, and every call from an
    `async def` to a sync project function that rebinds a global, directly or
    through other sync functions in any module; the message shows the chain, e.g.
    `authenticate -> login -> context.set_user (global current_user)`. Counters
    (`x += 1`), lazily built singletons and caches (a global that the function
    tests before rebinding it, as in `if _pool is None: _pool = ...`), globals named
    as process-wide (`*cache*`, `*registry*`, `*config*`, `*settings*`,
    `*default*`, `*global*`), functions that configure the process
    (`load_config`, `set_global_locale`, `setup_*`, `init_*`) or run once per
    process (`main`, `startup`, `lifespan`, `on_shutdown`, ...) are not reported,
    and neither is state only set at import time.

    ## Why is this bad?
    Under a thread-per-request server a global that holds "the current user" was
    already wrong, but rarely visible. On an event loop every concurrent request
    runs on one thread and shares it: as soon as a request awaits, another request
    overwrites the value, and the first one reads the second one's user.

    ## Example
    ```python
    current_user = None

    async def authenticate(token):
        global current_user
        current_user = await users.lookup(token)
    ```

    ## Use instead
    ```python
    import contextvars

    current_user = contextvars.ContextVar("current_user", default=None)

    async def authenticate(token):
        current_user.set(await users.lookup(token))
    ```
    Every task runs in its own copy of the context, so each request sees its own
    value. `python -m codemods.contextvars PATH --name module:current_user` does the
    conversion across the whole project, `from module import current_user`
    importers included.

    ## Fix safety
    With `--unsafe-fixes`, a finding in the module that defines the global is fixed
    by the ContextVar conversion when no other module uses the global (otherwise
    run the codemod, which rewrites them all). It changes behaviour on purpose: a
    value set in one task is no longer seen by tasks started before it, nor by
    other threads. It is refused when the global is mutated in place
    (`CACHE[k] = v`), where `.get()` would still share one object.
    """

    CODE = "AM301"
    NEEDS_ASYNC_DEF = True
    AUTOFIX = True
    UNSAFE_FIX = True

    VALID = [
        Valid(
            """
            _pool = None
            async def pool():
                global _pool
                if _pool is None:
                    _pool = make_pool()
                return _pool
            """
        ),
        Valid(
            """
            requests_served = 0
            async def handle(request):
                global requests_served
                requests_served += 1
            """
        ),
        Valid(
            """
            settings = None
            def configure(value):
                global settings
                settings = value
            configure({"debug": True})
            async def handle(request):
                return settings
            """
        ),
        Valid(
            """
            engine = None
            async def startup():
                global engine
                engine = create_engine()
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            current_user = None
            async def authenticate(token):
                global current_user
                current_user = token
            async def whoami():
                return current_user
            """,
            expected_replacement="""
            import contextvars

            current_user = contextvars.ContextVar("current_user", default=None)
            async def authenticate(token):
                current_user.set(token)
            async def whoami():
                return current_user.get()
            """,
        ),
        Invalid(
            """
            current_user = None
            def set_user(name):
                global current_user
                current_user = name
            def login(token):
                set_user(token)
            async def authenticate(token):
                login(token)
            """
        ),
        Invalid(
            """
            session = {}
            async def remember(key, value):
                global session
                session = {key: value}
                session["other"] = 1
            """
        ),
    ]


    @classmethod
    def prepare(cls, project: Project) -> None:
        if project.has_async_code:
            rebinding_reachability(project)

    def __init__(self) -> None:
        super().__init__()
        #: per function: names declared `global`, and the `if` tests around us
        self._frames: list[tuple[set[str], list[cst.BaseExpression]]] = []

    def visit_Module(self, node: cst.Module) -> None:
        super().visit_Module(node)
        self._frames = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        super().visit_FunctionDef(node)
        self._frames.append((set(), []))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._frames.pop()
        super().leave_FunctionDef(original_node)

    def visit_Global(self, node: cst.Global) -> None:
        if self._frames:
            self._frames[-1][0].update(n.name.value for n in node.names)

    def visit_If(self, node: cst.If) -> None:
        # Every test seen so far counts, not only the enclosing ones: a global that
        # the coroutine checks before rebinding is a cache or a lazy singleton.
        if self._frames:
            self._frames[-1][1].append(node.test)

    def visit_While(self, node: cst.While) -> None:
        if self._frames:
            self._frames[-1][1].append(node.test)

    def _checked_function(self) -> bool:
        """In an `async def` that is not a once-per-process hook."""
        if not self.in_async_function:
            return False
        scope = self.code_scope
        assert scope is not None and isinstance(scope.node, cst.FunctionDef)
        return not is_configuring_name(scope.node.name.value)

    # -- direct rebinding --------------------------------------------------------

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._check_target(target.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._check_target(node.target)

    def _check_target(self, target: cst.BaseExpression) -> None:
        if not self._frames or not self._checked_function():
            return
        declared, tests = self._frames[-1]
        names = [target] if isinstance(target, cst.Name) else (
            [e.value for e in target.elements if isinstance(e.value, cst.Name)]
            if isinstance(target, (cst.Tuple, cst.List))
            else []
        )
        for name in names:
            if name.value not in declared or is_cache_name(name.value):
                continue
            if any(name.value in names_in(t) for t in tests):
                continue
            message = (
                f"global `{name.value}` is rebound in async code: concurrent requests "
                "share it, so one request overwrites another's value; use a "
                "contextvars.ContextVar"
            )
            self.report_with_conversion(name, message, self.context.module, name.value)

    # -- through sync helpers ----------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        if not self._checked_function():
            return
        found = helper_chain(self, node, rebinding_label, rebinding_reachability)
        if found is None:
            return
        target, chain = found
        owner = rebound_global(self.project, target.name)
        hint = (
            f" (`python -m codemods.contextvars . --name {owner[0]}:{owner[1]}`)" if owner else ""
        )
        self.report(
            node,
            f"global state rebound via {' -> '.join(chain)}: concurrent requests share "
            f"it, so one request overwrites another's value; use a contextvars.ContextVar{hint}",
        )
