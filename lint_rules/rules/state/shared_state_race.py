"""AM302: shared mutable state read, then mutated after an `await` (check-then-act)."""

from __future__ import annotations

from typing import Any, NamedTuple

import libcst as cst
from fixit import Invalid, LintRule, Valid

from asyncmigrate.analysis import Project
from asyncmigrate.catalogue import NAMING, STATE
from asyncmigrate.index.refpath import cst_ref_path
from asyncmigrate.index.values import join_id
from lint_rules.rule import ProjectRule
from asyncmigrate.shared_state import SharedState


class _Event(NamedTuple):
    kind: str  # "read", "write", "await"
    key: str
    node: cst.CSTNode
    locks: frozenset[int]
    #: the statement or condition the event is part of (for messages)
    context: cst.CSTNode
    #: the item it reads or writes (`USERS[uid]`, `uid in USERS`: the code of
    #: `uid`), None for the whole object
    slot: str | None = None


class SharedStateRace(ProjectRule, LintRule):
    """
    ## What it does
    Finds shared mutable state read, then mutated after an `await` in the same coroutine.

    Shared state is a module-level or class-level mutable container (`CACHE = {}`,
    `class Registry: items = []`, `defaultdict(...)`, `deque()`, ... also imported
    from another module), or a module global that the coroutine rebinds with
    `global`. A read is any use of it (`key in CACHE`, `CACHE.get(key)`,
    `len(QUEUE)`; names are resolved, so `self._cache` or a local named like the
    global `_cache` is not it); a mutation is an item assignment or deletion, a mutating method
    (`append`, `pop`, `update`, `setdefault`, ...), or a rebinding. Nothing is
    reported when there is no `await` between the two, when the coroutine checks
    again after the `await`, or when both happen under the same `async with lock:`.

    ## Why is this bad?
    Code between two `await`s runs without interruption, but an `await` lets every
    other task run. A decision taken on what the state looked like before the
    `await` (`if key not in CACHE`) is stale after it: two requests both miss the
    cache and both fetch, a counter loses an update, an item is handed out twice.

    ## Example
    ```python
    _cache = {}

    async def get_user(uid):
        if uid not in _cache:
            _cache[uid] = await db.fetch_user(uid)
        return _cache[uid]
    ```

    ## Use instead
    ```python
    _cache = {}
    _cache_lock = asyncio.Lock()

    async def get_user(uid):
        async with _cache_lock:
            if uid not in _cache:
                _cache[uid] = await db.fetch_user(uid)
        return _cache[uid]
    ```
    or cache the task (`_cache.setdefault(uid, asyncio.ensure_future(...))`) so
    that concurrent callers share one fetch.

    ## Fix safety
    No automatic fix: whether to lock, re-check or restructure is a design choice.
    """

    CODE = "AM302"

    VALID = [
        Valid(
            """
            _cache = {}
            async def get(key, fetch):
                value = await fetch(key)
                _cache[key] = value
                return _cache[key]
            """
        ),
        Valid(
            """
            _seen = set()
            async def visit(url, fetch):
                if url in _seen:
                    return
                _seen.add(url)
                await fetch(url)
            """
        ),
        Valid(
            """
            import asyncio
            _cache = {}
            _lock = asyncio.Lock()
            async def get(key, fetch):
                async with _lock:
                    if key not in _cache:
                        _cache[key] = await fetch(key)
                return _cache[key]
            """
        ),
        Valid(
            """
            LIMITS = (1, 2, 3)
            async def get(key, fetch):
                if key in LIMITS:
                    await fetch(key)
            """
        ),
        Valid(
            """
            _cache = {}
            class Client:
                def __init__(self):
                    self._cache = {}
                async def get(self, key, fetch):
                    if key not in self._cache:
                        self._cache[key] = await fetch(key)
                    return {_cache: 1 for _cache in self._cache}
            """
        ),
        Valid(
            """
            async def get(key, fetch):
                cache = {}
                if key not in cache:
                    cache[key] = await fetch(key)
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            _cache = {}
            async def get(key, fetch):
                if key not in _cache:
                    _cache[key] = await fetch(key)
                return _cache[key]
            """
        ),
        Invalid(
            """
            from collections import defaultdict
            class Registry:
                sessions = defaultdict(list)
                async def join(self, room, user, notify):
                    members = self.sessions[room]
                    await notify(members)
                    self.sessions[room].append(user)
            """
        ),
        Invalid(
            """
            _client = None
            async def client(connect):
                global _client
                if _client is None:
                    _client = await connect()
                return _client
            """
        ),
        Invalid(
            """
            counts = {}
            async def hit(key, delay):
                counts[key] = counts.get(key, 0) + await delay()
            """
        ),
    ]

    @classmethod
    def wants_file(cls, project: Project, summary: dict[str, Any], text: str) -> bool:
        return bool(summary.get("has_async")) and "await" in text

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        super().visit_FunctionDef(node)
        if node.asynchronous is not None:
            _Analysis(self, node).run()


class _Analysis:
    """One coroutine's reads, writes and awaits, in evaluation order."""

    def __init__(self, rule: SharedStateRace, function: cst.FunctionDef):
        self.rule = rule
        self.function = function
        self.project = rule.project
        self.state = SharedState.of(self.project)
        self.module = rule.context.module
        self.scope = rule.index_scope
        self.state.facts(self.module, source=lambda: rule._module.bytes)
        self.events: list[_Event] = []
        self.locks: list[int] = []
        self.context: cst.CSTNode | None = None
        self.globals: set[str] = set()
        self.reported: set[str] = set()
        self._keys: dict[tuple[str, ...], str | None] = {}
        #: names bound by the comprehensions being walked: never the module's
        self.shadowed: list[set[str]] = []

    # -- what an expression names ------------------------------------------------

    def key(self, node: cst.BaseExpression) -> str | None:
        path = cst_ref_path(node)
        if path is None or "()" in path:
            return None
        if any(path[0] in names for names in self.shadowed):
            return None
        path_t = tuple(path)
        if path_t not in self._keys:
            self._keys[path_t] = self._resolve(path)
        return self._keys[path_t]

    def _resolve(self, path: list[str]) -> str | None:
        resolver = self.project.resolver
        if len(path) == 1:
            name = path[0]
            if name in self.globals:
                return join_id(self.module, name)
            if not self._is_global_name(name):
                return None
            owner = self.state.global_owner(self.module, name)
            if owner and self.state.is_mutable_global(owner):
                return join_id(owner[0], owner[1])
            return None
        base = resolver.value_of(self.module, self.scope, path[:-1])
        if base is None:
            return None
        if base.kind == "module":
            if self.project.index.module(base.name) is None:
                return None
            owner = self.state.global_owner(base.name, path[-1])
            if owner and self.state.is_mutable_global(owner):
                return join_id(owner[0], owner[1])
            return None
        if base.kind in ("instance", "class"):
            cid = self.state.class_mutable(base.name, path[-1])
            return f"{cid}.{path[-1]}" if cid else None
        return None

    def _is_global_name(self, name: str) -> bool:
        return self.project.resolver.is_module_global(self.module, self.scope, name)

    def is_lock(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Call):
            node = node.func
        value = self.rule.value_of(node)
        if value is not None and value.kind == "external_instance" and value.name in STATE.lock_classes:
            return True
        path = cst_ref_path(node)
        return bool(path) and any(w in path[-1].lower() for w in NAMING.lock_words)

    # -- the walk ----------------------------------------------------------------

    def emit(self, kind: str, key: str, node: cst.CSTNode, slot: cst.CSTNode | None = None) -> None:
        text = self.rule._module.code_for_node(slot) if slot is not None else None
        self.events.append(_Event(kind, key, node, frozenset(self.locks), self.context or node, text))

    def run(self) -> None:
        for statement in self.function.body.body:
            self.walk(statement)
        self.report()

    def walk(self, node: cst.CSTNode) -> None:
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            return  # runs later, if at all
        if isinstance(node, (cst.If, cst.While)):
            self.context = node.test
            self.walk(node.test)
            mark = len(self.events)
            self.walk(node.body)
            if isinstance(node, cst.If) and _terminates(node.body):
                # The code after the `if` runs only when the branch did not.
                self.scan(self.events)
                del self.events[mark:]
            if node.orelse is not None:
                self.walk(node.orelse)
            return
        if isinstance(node, cst.Comparison) and len(node.comparisons) == 1:
            target = node.comparisons[0]
            key = self.key(target.comparator) if isinstance(target.operator, (cst.In, cst.NotIn)) else None
            if key is not None:
                self.walk(node.left)
                self.emit("read", key, target.comparator, node.left)
                return
        if isinstance(node, cst.Subscript):
            key = self.key(_container(node.value))
            if key is not None and len(node.slice) == 1:
                self.walk(node.slice[0])
                self.emit("read", key, node, node.slice[0].slice)
                return
        if isinstance(node, cst.BaseSmallStatement):
            self.context = node
        if isinstance(node, cst.Global):
            self.globals.update(n.name.value for n in node.names)
            return
        if isinstance(node, cst.Await):
            self.walk(node.expression)
            self.emit("await", "", node)
            return
        if isinstance(node, cst.With):
            for item in node.items:
                self.walk(item.item)
            locked = [id(item) for item in node.items if self.is_lock(item.item)]
            if node.asynchronous is not None:
                self.emit("await", "", node)
            self.locks += locked
            self.walk(node.body)
            del self.locks[len(self.locks) - len(locked) :]
            return
        if isinstance(node, cst.For):
            self.walk(node.iter)
            if node.asynchronous is not None:
                self.emit("await", "", node)
            self.store(node.target)
            self.walk(node.body)
            if node.orelse is not None:
                self.walk(node.orelse)
            return
        if isinstance(node, cst.Assign):
            self.walk(node.value)
            for target in node.targets:
                self.store(target.target)
            return
        if isinstance(node, cst.AnnAssign):
            if node.value is not None:
                self.walk(node.value)
                self.store(node.target)
            return
        if isinstance(node, cst.AugAssign):
            self.load(node.target)
            self.walk(node.value)
            self.store(node.target)
            return
        if isinstance(node, cst.Del):
            self.store(node.target)
            return
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            method = node.func.attr.value
            if method in STATE.mutating_methods or method in STATE.keyed_reads:
                key = self.key(_container(node.func.value))
                if key is not None:
                    for arg in node.args:
                        self.walk(arg)
                    slot = node.args[0].value if node.args and method in STATE.keyed_methods else None
                    self.emit("write" if method in STATE.mutating_methods else "read", key, node, slot)
                    return
        if isinstance(node, (cst.Name, cst.Attribute)):
            key = self.key(node)
            if key is not None:
                self.emit("read", key, node)
                return
            if isinstance(node, cst.Attribute):
                self.walk(node.value)  # not `.attr`: an attribute name is no variable
                return
        if isinstance(node, cst.Arg):
            self.walk(node.value)
            return
        if isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
            # Its `for` targets are its own variables; the first iterable is
            # evaluated outside, before they exist.
            first = node.for_in
            self.walk(first.iter)
            names: set[str] = set()
            level: cst.CompFor | None = first
            while level is not None:
                names.update(_bound_names(level.target))
                level = level.inner_for_in
            self.shadowed.append(names)
            for condition in first.ifs:
                self.walk(condition)
            if first.inner_for_in is not None:
                self.walk(first.inner_for_in)
            for part in ("elt", "key", "value"):
                if hasattr(node, part):
                    self.walk(getattr(node, part))
            self.shadowed.pop()
            return
        if isinstance(node, cst.CompFor):
            self.walk(node.iter)
            for condition in node.ifs:
                self.walk(condition)
            if node.inner_for_in is not None:
                self.walk(node.inner_for_in)
            return
        for child in node.children:
            self.walk(child)

    def load(self, target: cst.BaseExpression) -> None:
        self.walk(target)

    def store(self, target: cst.BaseExpression) -> None:
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self.store(element.value)
            return
        if isinstance(target, cst.StarredElement):
            self.store(target.value)
            return
        if isinstance(target, cst.Name):
            if target.value in self.globals:
                self.emit("write", join_id(self.module, target.value), target)
            return
        if isinstance(target, cst.Subscript):
            key = self.key(_container(target.value))
            for element in target.slice:
                self.walk(element)
            if key is not None:
                slot = target.slice[0].slice if len(target.slice) == 1 else None
                self.emit("write", key, target, slot)
            else:
                self.walk(target.value)
            return
        if isinstance(target, cst.Attribute):
            self.walk(target.value)

    # -- the finding -------------------------------------------------------------

    def report(self) -> None:
        self.scan(self.events)

    def scan(self, events: list[_Event]) -> None:
        last_read: dict[str, _Event] = {}
        awaited: dict[str, _Event] = {}
        reported = self.reported
        for event in events:
            if event.kind == "read":
                last_read[event.key] = event
                awaited.pop(event.key, None)
            elif event.kind == "await":
                for key in last_read:
                    awaited.setdefault(key, event)
            elif event.key in awaited and event.key not in reported:
                read = last_read[event.key]
                if read.locks & event.locks:
                    continue
                if read.slot is not None and event.slot is not None and read.slot != event.slot:
                    continue  # another item of the container
                reported.add(event.key)
                self._report(event, read, awaited[event.key])

    def _report(self, write: _Event, read: _Event, pause: _Event) -> None:
        module = self.rule._module
        name = write.key.replace(":", ".")
        read_text = _snippet(module, read.context)
        pause_text = _snippet(module, pause.node)
        how = "rebound" if isinstance(write.node, cst.Name) else "mutated"
        self.rule.report(
            write.node,
            f"`{name}` is read (`{read_text}`) before `{pause_text}` and {how} here "
            "after it: other tasks run at the await, so the check is stale "
            "(check-then-act); re-check after the await or hold an asyncio.Lock "
            "across both",
        )


def _bound_names(target: cst.BaseExpression) -> set[str]:
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        return {n for e in target.elements for n in _bound_names(e.value)}
    if isinstance(target, cst.StarredElement):
        return _bound_names(target.value)
    return set()


def _terminates(body: cst.BaseSuite) -> bool:
    """The block always leaves (return, raise, continue, break at its end)."""
    statements = body.body if isinstance(body, cst.IndentedBlock) else [body]
    if not statements:
        return False
    last = statements[-1]
    if isinstance(last, cst.SimpleStatementLine):
        return isinstance(last.body[-1], (cst.Return, cst.Raise, cst.Continue, cst.Break))
    if isinstance(last, cst.SimpleStatementSuite):
        return isinstance(last.body[-1], (cst.Return, cst.Raise, cst.Continue, cst.Break))
    return False


def _container(node: cst.BaseExpression) -> cst.BaseExpression:
    """`X[a][b]` -> `X`: mutating an item of a shared container mutates shared state."""
    while isinstance(node, cst.Subscript):
        node = node.value
    return node


def _snippet(module: cst.Module, node: cst.CSTNode, limit: int = 40) -> str:
    text = " ".join(module.code_for_node(node).split())
    if isinstance(node, cst.With):
        text = text.split(":")[0]
    elif isinstance(node, cst.For):
        text = text.split(":")[0]
    return text if len(text) <= limit else text[: limit - 3] + "..."
