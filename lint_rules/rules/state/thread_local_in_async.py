"""AM303: `threading.local()` state used from async code."""

from __future__ import annotations


import libcst as cst
from fixit import Invalid, LintRule, Valid

from asyncmigrate.analysis import Project
from asyncmigrate.index.refpath import cst_ref_path
from lint_rules.rule import ProjectRule
from asyncmigrate.shared_state import (
    SharedState,
    thread_local_at,
    thread_local_label,
    thread_local_reachability,
)

from .contextvar_fix import ContextVarFix
from .helper_chain import helper_chain


class ThreadLocalInAsync(ContextVarFix, ProjectRule, LintRule):
    """
    ## What it does
    Finds `threading.local()` objects read or written in an `async def`.

    Names are resolved, never matched: `self._local`, `obj._local`, a parameter or
    a comprehension variable named like the module's `_local` are other objects.

    The object may be defined in another module (`from app.state import _local`,
    `state._local.user`), or be an instance of a project class that subclasses
    `threading.local`. Calls from an `async def` to sync project functions that use
    one, at any depth, are reported too, with the chain (`greet -> set_locale
    (threading.local _request)`).

    ## Why is this bad?
    A `threading.local` keeps one value per thread. Every task on an event loop runs
    in the same thread, so they all share one value: a request reads the user,
    transaction or locale that another request stored.

    ## Example
    ```python
    import threading

    _request = threading.local()

    async def handle(request):
        _request.user = await authenticate(request)
        return await render()  # reads _request.user
    ```

    ## Use instead
    ```python
    import contextvars

    _request_user = contextvars.ContextVar("_request_user")

    async def handle(request):
        _request_user.set(await authenticate(request))
        return await render()  # reads _request_user.get()
    ```
    `python -m codemods.contextvars PATH --name module:_request` converts each
    attribute into its own ContextVar across the project.

    ## Fix safety
    With `--unsafe-fixes`, when no other module uses the object, the fix converts
    it in this module: `obj.attr` becomes `obj_attr.get()`, `obj.attr = v`
    becomes `obj_attr.set(v)`, and `getattr(obj, "attr", default)` becomes
    `obj_attr.get(default)`. Reading an attribute that was never set raises
    `LookupError` instead of `AttributeError`. Threads started with their own
    context (`asyncio.to_thread` copies it) now see the caller's values.
    """

    CODE = "AM303"
    NEEDS_ASYNC_DEF = True
    AUTOFIX = True
    UNSAFE_FIX = True

    VALID = [
        Valid(
            """
            import threading
            _local = threading.local()
            def worker():
                _local.conn = connect()
            """
        ),
        Valid(
            """
            import contextvars
            user = contextvars.ContextVar("user")
            async def handle():
                return user.get()
            """
        ),
        Valid(
            """
            import threading
            _ctx = threading.local()
            class Worker:
                def __init__(self, ctx):
                    self._ctx = ctx
                async def run(self, job, _local=None):
                    self._ctx.job = job
                    return [_ctx.name for _ctx in job.steps], job.start(_ctx=self._ctx)
            """
        ),
        Valid(
            """
            import threading
            lock = threading.Lock()
            async def handle():
                return lock.locked()
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import threading
            _state = threading.local()
            async def handle(request):
                _state.user = request.user
                return getattr(_state, "user", None)
            """,
            expected_replacement="""
            import contextvars

            _state_user = contextvars.ContextVar("_state_user")
            async def handle(request):
                _state_user.set(request.user)
                return _state_user.get(None)
            """,
        ),
        Invalid(
            """
            import threading
            _local = threading.local()
            def current_user():
                return getattr(_local, "user", None)
            def greeting():
                return f"hello {current_user()}"
            async def handle(request):
                return greeting()
            """
        ),
        Invalid(
            """
            import threading
            class RequestState(threading.local):
                user = None
            state = RequestState()
            async def handle(request):
                return state.user
            """
        ),
    ]


    @classmethod
    def prepare(cls, project: Project) -> None:
        if project.has_async_code:
            thread_local_reachability(project)

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[tuple[str | None, str]] = set()
        #: Name nodes that are no variable: attribute names (`self._local`),
        #: keywords (`f(_local=1)`), `global`/`nonlocal` declarations
        self._not_variables: set[int] = set()
        #: per enclosing comprehension: the names its `for`s bind, and the nodes
        #: of its first iterable (evaluated outside, where they do not bind)
        self._comprehensions: list[tuple[set[str], set[int]]] = []

    def visit_Module(self, node: cst.Module) -> None:
        super().visit_Module(node)
        self._seen = set()
        self._not_variables = set()
        self._comprehensions = []

    def visit_Call(self, node: cst.Call) -> None:
        if not self.in_async_function:
            return
        found = helper_chain(self, node, thread_local_label, thread_local_reachability)
        if found is None:
            return
        _, chain = found
        self.report(
            node,
            f"threading.local used via {' -> '.join(chain)}: every task on the event loop "
            "runs in one thread and shares it; use a contextvars.ContextVar",
        )

    # Children are visited whatever a visit_ method returns (the engines batch
    # rules), so names that are no variable are set aside here, before their turn.
    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self._not_variables.add(id(node.keyword))

    def visit_Global(self, node: cst.Global) -> None:
        self._not_variables.update(id(item.name) for item in node.names)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self._not_variables.update(id(item.name) for item in node.names)

    def _enter_comprehension(self, node: cst.CSTNode) -> None:
        # The element is visited before the `for`s: take every target now.
        first: cst.CompFor = node.for_in  # type: ignore[attr-defined]
        names: set[str] = set()
        level: cst.CompFor | None = first
        while level is not None:
            names.update(n.value for n in _target_names(level.target))
            level = level.inner_for_in
        self._comprehensions.append((names, _node_ids(first.iter)))

    def _leave_comprehension(self, original_node: cst.CSTNode) -> None:
        self._comprehensions.pop()

    # (each spelled out: the visitor tables only take methods under their own name)
    def visit_ListComp(self, node: cst.ListComp) -> None:
        self._enter_comprehension(node)

    def visit_SetComp(self, node: cst.SetComp) -> None:
        self._enter_comprehension(node)

    def visit_DictComp(self, node: cst.DictComp) -> None:
        self._enter_comprehension(node)

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self._enter_comprehension(node)

    def leave_ListComp(self, original_node: cst.ListComp) -> None:
        self._leave_comprehension(original_node)

    def leave_SetComp(self, original_node: cst.SetComp) -> None:
        self._leave_comprehension(original_node)

    def leave_DictComp(self, original_node: cst.DictComp) -> None:
        self._leave_comprehension(original_node)

    def leave_GeneratorExp(self, original_node: cst.GeneratorExp) -> None:
        self._leave_comprehension(original_node)

    def visit_Name(self, node: cst.Name) -> None:
        if id(node) not in self._not_variables:
            self._check(node)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._not_variables.add(id(node.attr))
        self._check(node)

    def _check(self, node: cst.Name | cst.Attribute) -> None:
        """Report `node` if it names a thread-local object."""
        if not self.in_async_function:
            return
        path = cst_ref_path(node)
        if path is None or "()" in path:
            return
        if any(path[0] in names and id(node) not in outside for names, outside in self._comprehensions):
            return  # the comprehension's own variable
        owner = self._owner(path)
        if owner is None:
            return
        key = (self.index_scope, owner[1])
        if key in self._seen:
            return
        self._seen.add(key)
        message = (
            f"`{'.'.join(path)}` is a threading.local: every task on the event loop runs "
            "in one thread and shares it; use a contextvars.ContextVar"
        )
        if owner[0] == "class":
            self.report(node, message)
        else:
            self.report_with_conversion(node, message, owner[0], owner[1])

    def _owner(self, path: list[str]) -> tuple[str, str] | None:
        """(defining module, name) of a module-level thread local, or ("class", repr)
        for a module global that is an instance of a threading.local subclass."""
        module = self.context.module
        state = SharedState.of(self.project)
        state.facts(module, source=lambda: self._module.bytes)
        owner = thread_local_at(self.project, module, self.index_scope, path)
        if owner is not None:
            return owner
        if len(path) == 1 and self.project.resolver.is_module_global(module, self.index_scope, path[0]):
            # Only the module's own object is shared: a local instance is not.
            value = self.project.resolver.value_of(module, self.index_scope, path)
            if state.thread_local_instance(value):
                return ("class", path[0])
        return None


def _target_names(target: cst.BaseExpression) -> list[cst.Name]:
    if isinstance(target, cst.Name):
        return [target]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for e in target.elements for n in _target_names(e.value)]
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    return []


def _node_ids(node: cst.CSTNode) -> set[int]:
    found: set[int] = set()

    class Collector(cst.CSTVisitor):
        def on_visit(self, child: cst.CSTNode) -> bool:
            found.add(id(child))
            return True

    node.visit(Collector())
    return found
