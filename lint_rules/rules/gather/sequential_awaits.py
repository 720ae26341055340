"""AM502: consecutive independent awaits that could run concurrently."""

from __future__ import annotations

from typing import Any

import libcst as cst
from fixit import Invalid, LintRule, Valid

from asyncmigrate.analysis import Project
from lint_rules.rule import ProjectRule

from .independent_awaits import (
    cannot_overlap,
    gather_of,
    names_in,
    receiver,
    receiver_of,
    says_order_is_intended,
    serial_arguments,
    with_asyncio,
)


class SequentialAwaits(ProjectRule, LintRule):
    """
    ## What it does
    Finds consecutive `x = await f()` statements that do not depend on each other.

    A run of two or more statements `name = await call(...)` is reported when no
    call reads a name bound earlier in the run, the calls do not share a receiver
    (`self.repo.a()` and `self.repo.b()` may serialize on one connection) nor an
    object that one is called on and the other is given (`validate(request)`,
    `request.json()`), and none
    is an ordered operation (`send`, `commit`, `sleep`, ...; methods named like
    `handle_*`, `save*` or `update*` count as ordered too). Only awaits that can
    really overlap join a run: the awaited coroutine can suspend (not a project
    `async def` that only computes and returns), it does more than wait for
    something to start, and its receiver's class is known and is not one
    connection, cursor, session, client, lock or file (by class, or by name);
    two receivers of one class may be one object, and so may one connection
    handed to both calls (`q1(conn)`, `q2(conn)`). An unknown receiver is not
    reported: `r1 = await cur1.fetchall(); r2 = await cur2.fetchall()` may be two
    cursors of one connection. Nor is a run with a comment on or right above it
    that says the order is intended ("one at a time", "in order", ...). Bare
    `await f()` statements are not reported: they are usually done for their
    effect, in order.

    ## Why is this bad?
    The second request starts only after the first one finished, so the latencies
    add up, where running them concurrently costs only the slowest one.

    ## Example
    ```python
    async def dashboard(uid, users: UserService, shop: ShopService):
        profile = await users.get(uid)
        orders = await shop.recent_orders(uid)
        return render(profile, orders)
    ```

    ## Use instead
    ```python
    async def dashboard(uid, users: UserService, shop: ShopService):
        profile, orders = await asyncio.gather(users.get(uid), shop.recent_orders(uid))
        return render(profile, orders)
    ```

    ## Fix safety
    The fix is unsafe (`--unsafe-fixes`): the calls overlap and may finish in any
    order, which changes behaviour when one has a side effect the other relies on,
    and with `gather` a failure of one no longer prevents the other. Runs with a
    comment between the statements are reported without a fix.
    """

    CODE = "AM502"
    AUTOFIX = True
    UNSAFE_FIX = True

    VALID = [
        Valid(
            """
            async def load(uid, users, orders):
                user = await users.get(uid)
                recent = await orders.recent(user.id)
            """
        ),
        Valid(
            """
            async def load(self, uid):
                user = await self.repo.user(uid)
                prefs = await self.repo.prefs(uid)
            """
        ),
        Valid(
            """
            async def save(conn, a, b):
                x = await conn.fetchval(a)
                y = await conn.fetchval(b)
            """
        ),
        Valid(
            """
            async def webhook(self, request):
                valid = await self.validate(request)
                payload = await request.json()
            """
        ),
        Valid(
            """
            async def steps(start, finish):
                await start()
                await finish()
            """
        ),
        Valid(
            """
            async def both(cur1, cur2):
                r1 = await cur1.fetchall()
                r2 = await cur2.fetchall()
            """
        ),
        Valid(
            """
            async def dashboard(uid, users, shop):
                profile = await users.get(uid)
                orders = await shop.recent_orders(uid)
                return profile, orders
            """
        ),
        Valid(
            """
            import asyncio
            async def fetch(key):
                await asyncio.sleep(0.1)
                return key
            async def cached(key):
                return key
            async def page():
                a = await cached("a")
                b = await fetch("b")
            """
        ),
        Valid(
            """
            import asyncio
            async def fetch(key):
                await asyncio.sleep(0.1)
                return key
            async def page():
                # in order: b's backend reads what a's wrote
                a = await fetch("a")
                b = await fetch("b")
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import asyncio
            class UserService:
                async def get(self, uid):
                    await asyncio.sleep(0.1)
            class ShopService:
                async def recent_orders(self, uid):
                    await asyncio.sleep(0.1)
            async def dashboard(uid, users: UserService, shop: ShopService):
                profile = await users.get(uid)
                orders = await shop.recent_orders(uid)
                return profile, orders
            """,
            expected_replacement="""
            import asyncio
            class UserService:
                async def get(self, uid):
                    await asyncio.sleep(0.1)
            class ShopService:
                async def recent_orders(self, uid):
                    await asyncio.sleep(0.1)
            async def dashboard(uid, users: UserService, shop: ShopService):
                profile, orders = await asyncio.gather(users.get(uid), shop.recent_orders(uid))
                return profile, orders
            """,
        ),
        Invalid(
            """
            async def page(fetch_a, fetch_b, fetch_c):
                a = await fetch_a()
                b = await fetch_b()
                c = await fetch_c()
                return a, b, c
            """,
            expected_replacement="""
            import asyncio

            async def page(fetch_a, fetch_b, fetch_c):
                a, b, c = await asyncio.gather(fetch_a(), fetch_b(), fetch_c())
                return a, b, c
            """,
        ),
    ]

    @classmethod
    def wants_file(cls, project: Project, summary: dict[str, Any], text: str) -> bool:
        return bool(summary.get("has_async")) and "await" in text

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        if self.in_async_function:
            self._check_block(node)

    @classmethod
    def prepare(cls, project: Project) -> None:
        project.may_suspend("")  # the whole-project suspension fact, once, before workers fork

    def _check_block(self, block: cst.IndentedBlock) -> None:
        run: list[tuple[cst.SimpleStatementLine, str, cst.Call]] = []
        for statement in [*block.body, None]:
            item = _awaited_assign(statement)
            if item is not None and cannot_overlap(self, item[2]) is not None:
                item = None
            if item is not None and run and not self._joins(run, item):
                self._report_run(block, run)
                run = []
            if item is None:
                self._report_run(block, run)
                run = []
            else:
                run.append(item)

    def _joins(self, run: list[tuple[cst.SimpleStatementLine, str, cst.Call]], item) -> bool:
        _, name, call = item
        bound = {n for _, n, _ in run}
        if name in bound or names_in(call) & bound:
            return False
        mine = receiver(call)
        if mine and any(receiver(c) == mine for _, _, c in run):
            return False
        # One connection (or lock, ...) handed to both calls serialises them.
        if serial_arguments(self, call) & {a for _, _, c in run for a in serial_arguments(self, c)}:
            return False
        # Two receivers of one class may be one object (`a.load()`, `b.load()`).
        kind = receiver_of(self, call)
        if kind.type is not None and any(receiver_of(self, c).type == kind.type for _, _, c in run):
            return False
        # An object one call is made on and another call is handed
        # (`validate(request)`, `request.json()`) is shared too.
        # (`self` reaches every attribute of the object: only an exact shared
        # receiver counts there.)
        roots = {r[0] for r in (receiver(c) for _, _, c in run) if r} - {"self", "cls"}
        if mine and mine[0] not in ("self", "cls") and any(mine[0] in names_in(c) for _, _, c in run):
            return False
        return not roots & names_in(call)

    def _report_run(self, block: cst.IndentedBlock, run) -> None:
        if len(run) < 2 or any(says_order_is_intended(line) for line, _, _ in run):
            return
        first = run[0][0]
        names = [name for _, name, _ in run]
        message = (
            f"{len(run)} independent awaits run one after another "
            f"({', '.join(names)}); `{', '.join(names)} = await asyncio.gather(...)` "
            "runs them concurrently"
        )
        if any(_has_comment(line) for line, _, _ in run[1:]) or _trailing_comment(run[0][0]):
            self.report(first.body[0], message)
            return
        target = cst.Tuple([cst.Element(cst.Name(n)) for n in names], lpar=[], rpar=[])
        merged = first.with_changes(
            body=[cst.Assign([cst.AssignTarget(target)], gather_of([c for _, _, c in run]))],
            trailing_whitespace=run[-1][0].trailing_whitespace,
        )
        body = list(block.body)
        start = body.index(first)
        body[start : start + len(run)] = [merged]
        module = self._module.deep_replace(block, block.with_changes(body=body))
        summary = self.project.index.module(self.context.module)
        self.report_with_module_fix(first.body[0], message, with_asyncio(module, summary))


def _awaited_assign(statement: cst.CSTNode | None) -> tuple[cst.SimpleStatementLine, str, cst.Call] | None:
    """`name = await call(...)` on a line of its own, with a gatherable call."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    assign = statement.body[0]
    if not isinstance(assign, cst.Assign) or len(assign.targets) != 1:
        return None
    target = assign.targets[0].target
    if not isinstance(target, cst.Name) or not isinstance(assign.value, cst.Await):
        return None
    call = assign.value.expression
    if not isinstance(call, cst.Call):
        return None
    if any(isinstance(arg.value, cst.Await) for arg in call.args):
        return None
    return statement, target.value, call


def _has_comment(line: cst.SimpleStatementLine) -> bool:
    return any(l.comment is not None for l in line.leading_lines) or _trailing_comment(line)


def _trailing_comment(line: cst.SimpleStatementLine) -> bool:
    return line.trailing_whitespace.comment is not None
