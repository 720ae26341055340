"""What the direct blocking-call rules (AM201-AM207, AM210) share.

Each of those rules is one family of the blocking catalogue
(`asyncmigrate/knowledge/blocking.toml`, plus the user's `blocking-calls`). A call is
matched by the qualified name its target resolves to (imports, aliases, receiver
types), never by a bare method name, and only where it runs on the event loop: in
the body of an `async def`, not in a nested sync `def` or `lambda`. A callable that
is handed to `asyncio.to_thread`, `run_in_executor` or `functools.partial` is not
called there, so it is never a finding.

One expression is one finding: in `open(p).read()` the blocking `.read()` is
reported, and the `open(p)` it is made on is part of it. A literal mode types the
file (`open(p, "rb").read()` is `io.BufferedReader.read`), as the index does for
`f = open(p, "rb")`.
"""

from __future__ import annotations

from typing import Any, Iterator

import libcst as cst

from asyncmigrate.analysis import Project
from asyncmigrate.catalogue import BlockingEntry
from asyncmigrate.index import records
from asyncmigrate.index.summary import FILE_MODE
from asyncmigrate.index.values import Value, join_id
from lint_rules.rule import ProjectRule


def returns_at_once(call: cst.Call, entry: BlockingEntry) -> bool:
    """The non-blocking forms (`pool.shutdown(wait=False)`, `event.wait(0)`), decided
    by the catalogue entry from the call's literal False and 0 arguments, as the
    index records them for the AM250 chains."""
    literals = []
    for arg in call.args:
        keyword = arg.keyword.value if arg.keyword is not None else None
        value = arg.value
        if isinstance(value, cst.Name) and value.value == "False":
            literals.append((keyword, False))
        elif isinstance(value, (cst.Integer, cst.Float)) and value.evaluated_value == 0:
            literals.append((keyword, 0))
    return entry.returns_at_once(literals, len(call.args))


def receiver_calls(call: cst.Call) -> Iterator[cst.Call]:
    """The calls `call` is made on: `open(p)` in `open(p).read()`, and theirs."""
    node = call.func
    while isinstance(node, cst.Attribute):
        node = node.value
        if isinstance(node, cst.Call):
            yield node
            node = node.func


def mode_literals(call: cst.Call) -> dict[str, str]:
    """The LibCST side of `summary.mode_literals`: the string arguments of `call`
    that read as a file mode, by position ("0", "1") or as `mode`."""
    found: dict[str, str] = {}
    positional = [a for a in call.args if a.keyword is None]
    for position, arg in enumerate(positional[:2]):
        if arg.star:
            break  # the positions after it are unknown
        if isinstance(arg.value, cst.SimpleString):
            text = arg.value.evaluated_value
            if isinstance(text, str) and FILE_MODE.fullmatch(text):
                found[str(position)] = text
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "mode" and isinstance(arg.value, cst.SimpleString):
            text = arg.value.evaluated_value
            if isinstance(text, str):
                found["mode"] = text
    return found


def startup_note(rule: ProjectRule) -> str:
    """"; start-up only (...)" when the `async def` the rule is in runs only from
    start-up code (`Project.startup_root`), so per-request blocking reads first."""
    scope = rule.index_scope
    if scope is None:
        return ""
    root = rule.project.startup_root(join_id(rule.context.module, scope))
    if root is None:
        return ""
    if root == scope:
        return f"; start-up only (in {root})"
    return f"; start-up only (runs only from {root})"


def async_call_targets(project: Project, summary: dict[str, Any]) -> Iterator[Value]:
    """What the module's `async def` bodies call, from the index (no parse needed).

    Nested sync defs are functions of their own in the index, and lambdas' calls are
    not their enclosing function's, so these are exactly the calls that run on the
    event loop.
    """
    module = summary.get("name")
    for qualname, fn in summary.get("functions", {}).items():
        if not fn["is_async"]:
            continue
        for call in records.calls(fn["calls"]):
            target = project.resolver.call_target(module, qualname, call.path)
            if target is not None:
                yield target


def async_use_values(project: Project, summary: dict[str, Any], kinds: tuple[str, ...]) -> Iterator[Value]:
    """What the module's `async def` bodies use in statements of `kinds` (`with`,
    `for`, `compfor`), from the index: `async_call_targets`' twin for `with x:` and
    `for y in x:`."""
    module = summary.get("name")
    for qualname, fn in summary.get("functions", {}).items():
        if not fn["is_async"]:
            continue
        for use in records.uses(fn):
            if use.kind in kinds and use.path:
                value = project.resolver.value_of(module, qualname, list(use.path))
                if value is not None:
                    yield value


def external_method(project: Project, value: Value | None, name: str) -> Value | None:
    """`value.name` when `value` is an instance of an outside class (`Cls.__iter__`,
    which a plain `for` calls; the catalogue lists the classes whose iteration
    blocks, `django.db.models.QuerySet`), else None."""
    if value is None or value.kind != "external_instance":
        return None
    return project.resolver.attribute(value, name)


def swap_note(project, target: Value) -> str:
    """`; asyncify swaps it (requests -> httpx.AsyncClient.get)` when a library swap
    covers the call (knowledge/swaps.toml)."""
    if target.kind != "external":
        return ""
    swap = project.catalogue.swaps.call(target.name)
    if swap is None or swap.unmapped or swap.unmapped_args:
        return ""  # not claimed where the call's arguments may keep it (`wait(5)`)
    new = swap.target if swap.form == "factory" else (
        f"{swap.client}.{swap.target}" if swap.form == "client"
        else f"{project.catalogue.swaps.type_swap(target.name.rpartition('.')[0])[1].to}.{swap.target}"
    )
    return f"; `asyncmigrate asyncify` swaps it for `{new}` (family `{swap.family}`)"

class BlockingCallRule(ProjectRule):
    """Reports calls in async code that the catalogue files under this rule's CODE.

    Subclasses may override `on_blocking` to add a fix.
    """

    @classmethod
    def wants_file(cls, project: Project, summary: dict[str, Any], text: str) -> bool:
        if not summary.get("has_async"):
            return False
        for target in async_call_targets(project, summary):
            entry = project.blocking_entry(target)
            if entry is not None and entry.code == cls.CODE:
                return True
        for value in async_use_values(project, summary, ("for", "compfor")):
            entry = project.blocking_entry(external_method(project, value, "__iter__"))
            if entry is not None and entry.code == cls.CODE:
                return True
        return False

    def __init__(self) -> None:
        super().__init__()
        #: calls that a reported call is made on (`open(p)` in `open(p).read()`)
        self._covered: set[int] = set()
        #: per enclosing `with`: the names its items bind to a call (`as f`)
        self._with_calls: list[dict[str, cst.Call]] = []

    def visit_Module(self, node: cst.Module) -> None:
        super().visit_Module(node)
        self._covered = set()
        self._with_calls = []

    def visit_With(self, node: cst.With) -> None:
        # Inside the block `f` is what this item opened, even when the function
        # opens `f` elsewhere in another mode (the index then knows no mode).
        self._with_calls.append({
            item.asname.name.value: item.item
            for item in node.items
            if isinstance(item.item, cst.Call)
            and item.asname is not None
            and isinstance(item.asname.name, cst.Name)
        })

    def leave_With(self, original_node: cst.With) -> None:
        self._with_calls.pop()

    def visit_Call(self, node: cst.Call) -> None:
        # The outer call is visited first: it covers the calls it is made on.
        if not self.in_async_function or id(node) in self._covered:
            return
        target = self.typed_call_target(node)
        entry = self.entry_for(target)
        if entry is None or entry.code != self.CODE or returns_at_once(node, entry):
            return
        assert target is not None
        self._covered.update(id(inner) for inner in receiver_calls(node))
        self.on_blocking(node, target, entry)

    def typed_call_target(self, call: cst.Call) -> Value | None:
        """`call_target`, with the receiver typed by its literal file mode when it is
        a file opener's call, made right there (`open(p, "rb").read` ->
        `io.BufferedReader.read`) or bound by the enclosing `with ... as f`."""
        func = call.func
        receiver_call = func.value if isinstance(func, cst.Attribute) else None
        if isinstance(receiver_call, cst.Name):
            receiver_call = next(
                (calls[receiver_call.value] for calls in reversed(self._with_calls) if receiver_call.value in calls),
                None,
            )
        if isinstance(func, cst.Attribute) and isinstance(receiver_call, cst.Call):
            resolver = self.project.resolver
            literals = mode_literals(receiver_call)
            opener = self.call_target(receiver_call) if literals else None
            if (
                opener is not None
                and opener.kind == "external"
                and resolver.catalogue.normalize(opener.name) in resolver.catalogue.file_openers
            ):
                receiver = resolver.call_result(opener, 0, literals)
                if receiver is not None:
                    return resolver.attribute(receiver, func.attr.value)
        return self.call_target(call)

    def entry_for(self, target: Value | None) -> BlockingEntry | None:
        return self.project.blocking_entry(target)

    def message(self, target: Value, entry: BlockingEntry) -> str:
        return entry.describe(self.project.describe(target)) + swap_note(self.project, target) + startup_note(self)

    def on_blocking(self, call: cst.Call, target: Value, entry: BlockingEntry) -> None:
        self.report(call, self.message(target, entry))

    # `for row in Product.objects.filter(...)`: iterating runs the query
    def visit_For(self, node: cst.For) -> None:
        if node.asynchronous is None:
            self._iterated(node.iter)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        if node.asynchronous is None:
            self._iterated(node.iter)

    def _iterated(self, iterable: cst.BaseExpression) -> None:
        if not self.in_async_function:
            return
        target = external_method(self.project, self.value_of(iterable), "__iter__")
        entry = self.entry_for(target)
        if target is not None and entry is not None and entry.code == self.CODE:
            self.report(iterable, self.message(target, entry))
