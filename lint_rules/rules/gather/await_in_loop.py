"""AM501: awaits in a loop whose iterations are independent."""

from __future__ import annotations

from typing import Any

import libcst as cst
from fixit import Invalid, LintRule, Valid

from asyncmigrate.analysis import Project
from asyncmigrate.index.refpath import cst_ref_path
from lint_rules.rule import ProjectRule

from .independent_awaits import (
    cannot_overlap,
    gather_over,
    names_in,
    receiver_of,
    says_order_is_intended,
    serial_arguments,
    with_asyncio,
)

#: A literal iterable with fewer elements runs the body at most once: nothing to
#: overlap. (Two iterations already gain from gathering.)
MIN_ITERATIONS = 2


class AwaitInLoop(ProjectRule, LintRule):
    """
    ## What it does
    Finds awaits in a loop whose iterations are independent, which could run concurrently.

    The shapes are `for x in xs: await f(x)`, `for x in xs: out.append(await f(x))`
    and `[await f(x) for x in xs]`. The iterations are independent when the
    awaited call uses only the loop variable and values from before the loop (not
    the list being built, nor anything an earlier iteration produced), and the body
    does nothing else. Only awaits that can really overlap are reported:

    - the awaited coroutine can suspend (a project `async def` that only computes
      and returns, or only awaits such coroutines, gains nothing);
    - the call's order does not matter (`send`, `write`, `commit`, `sleep`,
      `acquire`, methods named like `handle_*`, `dispatch*`, `save*`, `update*`,
      ...) and it does more than wait for something to start (`start()`,
      `asyncio.sleep(0)`);
    - every iteration does not act on one shared object: a receiver outside the
      loop (`device.regroup(x)`, `self.hooks.run(x)`, or a connection handed to
      each call, `run_query(conn, x)`) serialises the calls unless
      its class is built for concurrent calls (`aiohttp.ClientSession`,
      `httpx.AsyncClient`); a receiver or callable taken from the iterable
      (`item.refresh()`, `callback(event)`) may be one object twice, or a list of
      handlers run in order; an unknown receiver is not reported;
    - the iterations differ (the call reads the loop variable) and there are at
      least two (`for x in ("eu",):` is not reported);
    - no comment on the loop or right above it says the order is intended ("one
      at a time", "sequential", "no gather", "rate limit", ...).

    ## Why is this bad?
    Each iteration waits for the previous one: five 50 ms requests take 250 ms,
    where running them concurrently takes about 50 ms.

    ## Example
    ```python
    async def load_all(ids):
        users = []
        for uid in ids:
            users.append(await fetch_user(uid))
        return users
    ```

    ## Use instead
    ```python
    async def load_all(ids):
        users = await asyncio.gather(*(fetch_user(uid) for uid in ids))
        return users
    ```
    With `gather-style = "taskgroup"` in `[tool.asyncmigrate]` (Python 3.11+),
    the fix writes an `asyncio.TaskGroup` instead, which cancels the other calls
    when one fails.

    ## Fix safety
    The fix is unsafe (`--unsafe-fixes`): the calls now overlap. They run in any
    order, all start before the first finishes (mind rate limits and pool sizes),
    and with `gather` one failure no longer stops the calls after it. Loops whose
    iterations depend on each other are not reported, so never rewritten.
    """

    CODE = "AM501"
    AUTOFIX = True
    UNSAFE_FIX = True

    VALID = [
        Valid(
            """
            async def total(ids, fetch):
                total = 0
                for uid in ids:
                    total = await fetch(uid, total)
                return total
            """
        ),
        Valid(
            """
            async def send_all(ws, messages):
                for message in messages:
                    await ws.send(message)
            """
        ),
        Valid(
            """
            import asyncio
            async def poll(urls, fetch):
                for url in urls:
                    await fetch(url)
                    await asyncio.sleep(1)
            """
        ),
        Valid(
            """
            async def chain(ids, fetch):
                out = []
                for uid in ids:
                    out.append(await fetch(uid, out))
            """
        ),
        Valid(
            """
            async def price(item):
                return len(item)

            async def prices(items):
                out = []
                for item in items:
                    out.append(await price(item))
                return out
            """
        ),
        Valid(
            """
            async def notify(users, send_email):
                # one at a time: the mail API rate-limits us
                for user in users:
                    await send_email(user.address)
            """
        ),
        Valid(
            """
            async def warm(fetch):
                for region in ("eu",):
                    await fetch(region)
            """
        ),
        Valid(
            """
            async def regroup_all(device, groups):
                for group in groups:
                    await device.regroup(group)
            """
        ),
        Valid(
            """
            async def refresh_all(devices):
                for device in devices:
                    await device.refresh()
            """
        ),
        Valid(
            """
            async def fire(callbacks, event):
                for callback in callbacks:
                    await callback(event)
            """
        ),
        Valid(
            """
            async def launch(apps, start_server):
                for app in apps:
                    await start_server(app)
            """
        ),
        Valid(
            """
            async def sizes(client, urls):
                return [await client.get(url) for url in urls if url]
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import asyncio
            async def load_all(ids, fetch_user):
                users = []
                for uid in ids:
                    users.append(await fetch_user(uid))
                return users
            """,
            expected_replacement="""
            import asyncio
            async def load_all(ids, fetch_user):
                users = await asyncio.gather(*(fetch_user(uid) for uid in ids))
                return users
            """,
        ),
        Invalid(
            """
            import asyncio
            async def refresh(cached, stale, fetch):
                rows = list(cached)
                for key in stale:
                    rows.append(await fetch(key))
                return rows
            """,
            expected_replacement="""
            import asyncio
            async def refresh(cached, stale, fetch):
                rows = list(cached)
                rows.extend(await asyncio.gather(*(fetch(key) for key in stale)))
                return rows
            """,
        ),
        Invalid(
            """
            async def notify(users, send_email):
                for user in users:
                    await send_email(user.address)
            """,
            expected_replacement="""
            import asyncio

            async def notify(users, send_email):
                await asyncio.gather(*(send_email(user.address) for user in users))
            """,
        ),
        Invalid(
            """
            import asyncio
            import httpx
            async def sizes(client: httpx.AsyncClient, urls):
                return [await client.get(url) for url in urls if url]
            """,
            expected_replacement="""
            import asyncio
            import httpx
            async def sizes(client: httpx.AsyncClient, urls):
                return await asyncio.gather(*(client.get(url) for url in urls if url))
            """,
        ),
    ]

    @classmethod
    def wants_file(cls, project: Project, summary: dict[str, Any], text: str) -> bool:
        return bool(summary.get("has_async")) and "await" in text

    @classmethod
    def prepare(cls, project: Project) -> None:
        project.may_suspend("")  # the whole-project suspension fact, once, before workers fork

    def __init__(self) -> None:
        super().__init__()
        self._blocks: list[cst.BaseSuite | cst.Module] = []
        self._statements: list[cst.CSTNode] = []
        self._constants: dict[str, cst.BaseExpression] = {}

    def visit_Module(self, node: cst.Module) -> None:
        super().visit_Module(node)
        self._blocks = [node]
        self._statements = []
        self._constants = _module_constants(node)

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self._statements.append(node)

    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine) -> None:
        self._statements.pop()

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._blocks.append(node)

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock) -> None:
        self._blocks.pop()

    # -- for statements ----------------------------------------------------------

    def visit_For(self, node: cst.For) -> None:
        if not self.in_async_function or node.asynchronous is not None or node.orelse is not None:
            return
        if not isinstance(node.body, cst.IndentedBlock) or len(node.body.body) != 1:
            return
        line = node.body.body[0]
        if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
            return
        statement = line.body[0]
        if not isinstance(statement, cst.Expr):
            return
        if self._short(node.iter) or says_order_is_intended(node):
            return
        value = statement.value
        targets = names_in(node.target)
        if isinstance(value, cst.Await):
            call = self._independent(value, targets, set())
            if call is not None:
                self._report_for(node, call, None)
            return
        if (
            isinstance(value, cst.Call)
            and isinstance(value.func, cst.Attribute)
            and value.func.attr.value == "append"
            and isinstance(value.func.value, cst.Name)
            and len(value.args) == 1
            and isinstance(value.args[0].value, cst.Await)
        ):
            out = value.func.value.value
            call = self._independent(value.args[0].value, targets, {out})
            if call is not None and out not in targets and out not in names_in(node.iter):
                self._report_for(node, call, out)

    def _independent(self, awaited: cst.Await, targets: set[str], produced: set[str]) -> cst.Call | None:
        """The awaited call, when it reads nothing an earlier iteration produced."""
        call = awaited.expression
        if not isinstance(call, cst.Call):
            return None
        if names_in(call) & produced or not names_in(call) & targets:
            return None  # reads an earlier result, or repeats one call
        if any(isinstance(n, cst.Await) for n in _descendants(call)):
            return None
        if names_in(call.func) & targets:
            return None  # a callable or receiver from the iterable: maybe one object twice
        # One receiver for every iteration (`device.regroup(x)`, `self.hooks.run(e)`)
        # works on one object's state: the iterations are ordered by it, unless its
        # class is made for concurrent calls.
        if receiver_of(self, call).kind not in ("none", "module", "concurrent"):
            return None
        if any(not set(a.split(".")[:1]) & targets for a in serial_arguments(self, call)):
            return None  # one connection (or lock, ...) handed to every iteration
        if cannot_overlap(self, call) is not None or self._waits_once(call, targets):
            return None
        return call

    def _waits_once(self, call: cst.Call, targets: set[str]) -> bool:
        """The callee waits only behind once-only guards (`if component not in
        loaded: await setup(component)`) over arguments that are the same in every
        iteration: only the first iteration waits."""
        callee = self.call_target(call)
        if callee is None or callee.kind != "function":
            return False
        guards = self.project.waits_only_when(callee.name)
        fn = self.project.resolver.function(callee.name)
        if guards is None or fn is None:
            return False
        params = [p["name"] for p in fn["params"] if p["kind"] in ("pos", "kw")]
        positional = [p["name"] for p in fn["params"] if p["kind"] == "pos"]
        if fn["kind"] in ("method", "classmethod") and len(cst_ref_path(call.func) or ()) > 1:
            positional = positional[1:]  # bound to the receiver
        passed: dict[str, cst.BaseExpression] = {}
        for position, arg in enumerate(call.args):
            if arg.star:
                return False
            name = arg.keyword.value if arg.keyword else (positional[position] if position < len(positional) else None)
            if name is None:
                return False
            passed[name] = arg.value
        bound_inside = set(fn.get("local_names", ())) | set(fn.get("locals", {}))
        for name in guards:
            if name in passed:
                if names_in(passed[name]) & targets:
                    return False
            elif name in bound_inside and name not in params:
                return False  # a value computed inside: may differ per call
        return True

    def _short(self, iterable: cst.BaseExpression) -> bool:
        """A literal (or a module constant bound to one) with fewer than
        MIN_ITERATIONS elements, or `range(n)` with a literal n below it."""
        if isinstance(iterable, cst.Name):
            iterable = self._constants.get(iterable.value, iterable)
        if isinstance(iterable, (cst.List, cst.Tuple, cst.Set)):
            elements = iterable.elements
            return not any(isinstance(e, cst.StarredElement) for e in elements) and len(elements) < MIN_ITERATIONS
        if (
            isinstance(iterable, cst.Call)
            and isinstance(iterable.func, cst.Name)
            and iterable.func.value == "range"
            and len(iterable.args) == 1
            and isinstance(iterable.args[0].value, cst.Integer)
        ):
            return iterable.args[0].value.evaluated_value < MIN_ITERATIONS
        return False

    def _report_for(self, node: cst.For, call: cst.Call, out: str | None) -> None:
        message = (
            "awaits in a loop run one after another, but the iterations are independent; "
            "run them concurrently with asyncio.gather (or a TaskGroup)"
        )
        block = self._blocks[-1] if self._blocks else None
        fixed = self._fixed_for(node, call, out, block)
        if fixed is None:
            self.report(node, message)
        else:
            self.report_with_module_fix(node, message, fixed)

    def _fixed_for(
        self, node: cst.For, call: cst.Call, out: str | None, block: cst.BaseSuite | cst.Module | None
    ) -> cst.Module | None:
        if block is None or node not in block.body:
            return None
        body = list(block.body)
        index = body.index(node)
        comp_for = cst.CompFor(target=node.target, iter=node.iter)
        taskgroup = self.project.config.gather_style == "taskgroup"
        start = index
        if out is None:
            if taskgroup:
                new = [_taskgroup_loop(node, call)]
            else:
                new = [cst.SimpleStatementLine([cst.Expr(gather_over(call, comp_for))])]
        else:
            fresh = index > 0 and _is_empty_list(body[index - 1], out)
            if fresh:
                start = index - 1
            if taskgroup:
                tasks = "tasks"
                new = [
                    _taskgroup_collect(node, call, tasks),
                    cst.parse_statement(
                        f"{out} = [task.result() for task in {tasks}]"
                        if fresh
                        else f"{out}.extend(task.result() for task in {tasks})"
                    ),
                ]
            elif fresh:
                new = [
                    cst.SimpleStatementLine(
                        [cst.Assign([cst.AssignTarget(cst.Name(out))], gather_over(call, comp_for))]
                    )
                ]
            else:
                extend = cst.Call(
                    func=cst.Attribute(value=cst.Name(out), attr=cst.Name("extend")),
                    args=[cst.Arg(gather_over(call, comp_for))],
                )
                new = [cst.SimpleStatementLine([cst.Expr(extend)])]
        new[0] = new[0].with_changes(leading_lines=body[start].leading_lines)
        body[start : index + 1] = new
        return with_asyncio(self._module.deep_replace(block, block.with_changes(body=body)), self._summary())

    def _summary(self) -> dict | None:
        return self.project.index.module(self.context.module)

    # -- list comprehensions -----------------------------------------------------

    def visit_ListComp(self, node: cst.ListComp) -> None:
        if not self.in_async_function or not isinstance(node.elt, cst.Await):
            return
        comp = node.for_in
        if comp.asynchronous is not None or comp.inner_for_in is not None:
            return
        if any(isinstance(n, cst.Await) for c in comp.ifs for n in _descendants(c)):
            return
        call = self._independent(node.elt, names_in(comp.target), set())
        if call is None or self._short(comp.iter):
            return
        if says_order_is_intended(self._statements[-1] if self._statements else node):
            return
        message = (
            "awaits in a list comprehension run one after another, but they are "
            "independent; asyncio.gather runs them concurrently"
        )
        replacement = gather_over(call, comp.with_changes(whitespace_before=cst.SimpleWhitespace(" ")))
        module = self._module.deep_replace(node, replacement)
        assert isinstance(module, cst.Module)
        self.report_with_module_fix(node, message, with_asyncio(module, self._summary()))


def _descendants(node: cst.CSTNode):
    stack = list(node.children)
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current.children)


def _module_constants(module: cst.Module) -> dict[str, cst.BaseExpression]:
    """Module-level names bound once, to a literal list, tuple or set."""
    found: dict[str, cst.BaseExpression] = {}
    seen: set[str] = set()
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign):
                targets, value = [t.target for t in small.targets], small.value
            elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                targets, value = [small.target], getattr(small, "value", None)
            else:
                continue
            for target in targets:
                if isinstance(target, cst.Name):
                    name = target.value
                    if name in seen or not isinstance(value, (cst.List, cst.Tuple, cst.Set)):
                        found.pop(name, None)
                    else:
                        found[name] = value
                    seen.add(name)
    return found


def _is_empty_list(statement: cst.CSTNode, name: str) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    assign = statement.body[0]
    return (
        isinstance(assign, cst.Assign)
        and len(assign.targets) == 1
        and isinstance(assign.targets[0].target, cst.Name)
        and assign.targets[0].target.value == name
        and isinstance(assign.value, cst.List)
        and not assign.value.elements
    )


def _taskgroup_loop(node: cst.For, call: cst.Call) -> cst.With:
    create = cst.SimpleStatementLine(
        [cst.Expr(cst.Call(func=cst.parse_expression("tg.create_task"), args=[cst.Arg(call)]))]
    )
    loop = node.with_changes(body=node.body.with_changes(body=[create]), leading_lines=[])
    return _taskgroup([loop])


def _taskgroup_collect(node: cst.For, call: cst.Call, tasks: str) -> cst.With:
    create = cst.Call(func=cst.parse_expression("tg.create_task"), args=[cst.Arg(call)])
    comp = cst.ListComp(elt=create, for_in=cst.CompFor(target=node.target, iter=node.iter))
    statement = cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(tasks))], comp)])
    return _taskgroup([statement])


def _taskgroup(body: list[cst.BaseStatement]) -> cst.With:
    return cst.With(
        items=[
            cst.WithItem(
                item=cst.parse_expression("asyncio.TaskGroup()"),
                asname=cst.AsName(name=cst.Name("tg")),
            )
        ],
        body=cst.IndentedBlock(body=body),
        asynchronous=cst.Asynchronous(),
    )

