"""When awaited calls can really overlap: what AM501 and AM502 share.

Gathering awaits helps only when each one waits for something and nothing orders
them. So a call is never proposed when

- its order matters by nature (`send`, `commit`, `sleep`, `handle_*`, ...), also
  when it is wrapped (`await maybe_async(self.session.set_state(x))`);
- it only waits for something to start (`await server.start()`) or yields once
  (`await asyncio.sleep(0)`);
- it never suspends: a project `async def` that awaits nothing that waits
  (`Project.may_suspend`, a whole-project fact from `asyncmigrate/suspension.py`),
  or it rarely waits (it builds or validates from configuration: cached look-ups);
- the coroutine holds a lock (`async with self._lock:`): the calls serialise on it;
- its receiver serialises its calls, by resolved class (a connection, cursor,
  session, client, lock or file class) or by name when no class is known (asyncpg
  raises "another operation is in progress"); classes built for concurrent calls
  (`aiohttp.ClientSession`) are the exception. The same goes for such an object,
  or any library object, handed to each call as an argument (`serial_arguments`);
- its receiver's type is unknown: two unknown objects may be one connection, so
  the safe answer is no finding.

Each rule adds its own shape checks (the loop's iterable, one receiver shared by
every iteration, names bound earlier in a run) and skips code whose comments say
the order is intended (`says_order_is_intended`). The words are
`knowledge/naming.toml`.
"""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Iterable, NamedTuple

import libcst as cst

from asyncmigrate.catalogue import NAMING
from asyncmigrate.index.refpath import cst_ref_path
from asyncmigrate.index.values import nested_qualname, split_id
from asyncmigrate.suspension import is_zero_sleep
from lint_rules.import_edits import edit_imports

if TYPE_CHECKING:
    from lint_rules.rule import ProjectRule


def names_in(node: cst.CSTNode) -> set[str]:
    """Every plain name an expression reads (attribute names excluded)."""
    found: set[str] = set()

    class Collector(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            found.add(name.value)

        def visit_Attribute(self, attribute: cst.Attribute) -> bool:
            attribute.value.visit(self)
            return False

        def visit_Arg(self, arg: cst.Arg) -> bool:
            arg.value.visit(self)
            return False

    node.visit(Collector())
    return found


def receiver(call: cst.Call) -> tuple[str, ...] | None:
    """`self.repo.get(x)` -> ("self", "repo"); `fetch(x)` -> ()."""
    path = cst_ref_path(call.func)
    if path is None:
        return None
    return tuple(path[:-1])


def is_ordered(call: cst.Call) -> bool:
    """A call whose order matters by its method name (`[ordered_calls]`); also when
    the call is an argument of the awaited one, or is made on a receiver named like
    a connection, stream or lock (`maybe_async(session.set_state(x))`). The awaited
    call's own receiver is `receiver_of`'s question."""
    if _ordered_name(call):
        return True
    return any(
        isinstance(arg.value, cst.Call)
        and (_ordered_name(arg.value) or _serial_by_name(cst_ref_path(arg.value.func) or []))
        for arg in call.args
    )


def _ordered_name(call: cst.Call) -> bool:
    path = cst_ref_path(call.func)
    if path is None:
        return True
    if path[-1] in NAMING.ordered_methods:
        return True
    method = path[-1].lstrip("_").lower()
    for prefix in NAMING.coroutine_prefixes:
        if method.startswith(prefix):
            method = method[len(prefix):]
    return len(path) > 1 and (
        method.startswith(NAMING.ordered_prefixes) or any(w in method for w in NAMING.ordered_words)
    )


def _serial_by_name(path: list[str]) -> bool:
    return any(segment.lower().lstrip("_") in NAMING.serial_receivers for segment in path[:-1])


class Receiver(NamedTuple):
    """What a call is made on.

    kind: "none" (a plain function), "module", "class" (a class's own method),
    "concurrent" (a class built for concurrent calls), "known" (an object of a
    known class), "serial" (one connection, cursor, session, client, lock or file),
    "unknown".
    """

    kind: str
    path: tuple[str, ...]
    #: the receiver's class, when known
    type: str | None = None


def receiver_of(rule: "ProjectRule", call: cst.Call) -> Receiver:
    path = cst_ref_path(call.func)
    if path is None:
        return Receiver("unknown", ())
    segments = tuple(path[:-1])
    if not segments:
        return Receiver("none", ())
    value = rule.project.resolver.value_of(rule.context.module, rule.index_scope, list(segments))
    if value is None:
        return Receiver("unknown", segments)
    if value.kind == "module":
        return Receiver("module", segments)
    if value.kind in ("instance", "external_instance", "super"):
        if value.kind == "external_instance" and value.name in NAMING.concurrent_types:
            return Receiver("concurrent", segments, value.name)
        if _serial_by_name(path) or any(_serial_type(c) for c in _classes(rule, value.name)):
            return Receiver("serial", segments, value.name)
        return Receiver("known", segments, value.name)
    if value.kind == "class":
        return Receiver("serial" if _serial_by_name(path) else "class", segments, value.name)
    return Receiver("unknown", segments)


def serial_arguments(rule: "ProjectRule", call: cst.Call) -> set[str]:
    """The arguments of `call` that may serialise it, as written (`self.conn`): one
    connection, cursor, lock, ... (by name or resolved class), or an object of a
    third-party class not known to run concurrent calls (`validate(api)`,
    `scenes(api)` both use one `SmartThings` client). `run_query(conn, q)` acts on
    `conn` as much as `conn.fetch(q)` does."""
    found = set()
    for arg in call.args:
        path = cst_ref_path(arg.value)
        if not path or "()" in path:
            continue
        if path[-1].lower().lstrip("_") in NAMING.serial_receivers:
            found.add(".".join(path))
            continue
        value = rule.project.resolver.value_of(rule.context.module, rule.index_scope, path)
        if value is None or value.kind not in ("instance", "external_instance"):
            continue
        if value.name in NAMING.concurrent_types:
            continue
        if any(_serial_type(c) for c in _classes(rule, value.name)) or (
            value.kind == "external_instance" and _library_class(value.name)
        ):
            found.add(".".join(path))
    return found


def _library_class(name: str) -> bool:
    """A third-party class: the standard library's data types (`bool`, `datetime`)
    are values, not clients (its connections and sockets are serial by name)."""
    return name.split(".", 1)[0] not in (*sys.stdlib_module_names, "builtins")


def _classes(rule: "ProjectRule", name: str) -> list[str]:
    """A class and, for a project class, its bases (`MyConn(asyncpg.Connection)`)."""
    if ":" not in name:
        return [name]
    return [c for c in rule.project.resolver.mro(name) if c not in ("object", "builtins.object")] or [name]


def _serial_type(name: str) -> bool:
    last = split_id(name)[1] if ":" in name else name
    last = last.rsplit(".", 1)[-1].lower()
    return any(word in last for word in NAMING.serial_types)


def cannot_overlap(rule: "ProjectRule", call: cst.Call) -> str | None:
    """Why awaiting `call` gains nothing from running it concurrently with other
    awaits, or None when it may overlap."""
    if is_ordered(call):
        return "ordered"
    path = cst_ref_path(call.func) or []
    if path and path[-1] in NAMING.start_only_methods:
        return "start-only"
    if path and any(word in path[-1].lower() for word in NAMING.rarely_waiting_words):
        return "rarely waits"
    callee = rule.call_target(call)
    if callee is not None:
        if callee.kind == "external" and is_zero_sleep(callee.name, _literal_zeros(call), len(call.args)):
            return "start-only"
        if callee.kind == "function" and rule.project.call_kind(callee.name) == "async":
            if not rule.project.may_suspend(callee.name):
                return "never suspends"
            if _holds_lock(rule, callee.name):
                return "holds a lock"
    kind = receiver_of(rule, call).kind
    if kind in ("serial", "unknown"):
        return f"{kind} receiver"
    return None


def _holds_lock(rule: "ProjectRule", fid: str) -> bool:
    """Project coroutine `fid` runs (part of) its body under a lock: `async with
    self._lock:` as the index records it, or, for a function of the linted file,
    any `async with` whose expression names a lock (`hass.data[CONFIG_LOCK]`)."""
    fn = rule.project.resolver.function(fid) or {}
    for use in fn.get("uses", ()):
        if use[0].endswith("with") and use[1] and any(w in use[1][-1].lower() for w in NAMING.lock_words):
            return True
    module, qualname = split_id(fid)
    if module != rule.context.module:
        return False
    node = _functions_of(rule._module).get(qualname)
    if node is None:
        return False
    return any(
        isinstance(statement, cst.With)
        and statement.asynchronous is not None
        and any(_names_a_lock(item.item) for item in statement.items)
        for statement in _own_statements(node)
    )


def _names_a_lock(expression: cst.BaseExpression) -> bool:
    words = set()
    stack: list[cst.CSTNode] = [expression]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Name):
            words.add(node.value.lower())
        stack.extend(node.children)
    return any(w in word for word in words for w in NAMING.lock_words)


_FUNCTIONS: dict[int, tuple[cst.Module, dict[str, cst.FunctionDef]]] = {}


def _functions_of(module: cst.Module) -> dict[str, cst.FunctionDef]:
    """The linted module's functions by qualname (`nested_qualname`'s naming)."""
    cached = _FUNCTIONS.get(id(module))
    if cached is not None and cached[0] is module:
        return cached[1]
    found: dict[str, cst.FunctionDef] = {}

    class Collector(cst.CSTVisitor):
        def __init__(self) -> None:
            self.stack: list[str] = []

        def _enter(self, node: cst.FunctionDef | cst.ClassDef) -> None:
            qualname = nested_qualname(self.stack[-1] if self.stack else None, node.name.value)
            if isinstance(node, cst.FunctionDef):
                found.setdefault(qualname, node)
            self.stack.append(qualname)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            self._enter(node)

        def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
            self.stack.pop()

        def visit_ClassDef(self, node: cst.ClassDef) -> None:
            self._enter(node)

        def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
            self.stack.pop()

    module.visit(Collector())
    _FUNCTIONS.clear()  # one module at a time: the one being linted
    _FUNCTIONS[id(module)] = (module, found)
    return found


def _own_statements(function: cst.FunctionDef):
    """The statements of a function's body, nested blocks included, nested defs not."""
    stack: list[cst.CSTNode] = [function.body]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if isinstance(node, cst.BaseStatement):
            yield node
        stack.extend(node.children)


def _literal_zeros(call: cst.Call) -> list[tuple[str | None, int]]:
    found = []
    for arg in call.args:
        if isinstance(arg.value, cst.Integer) and arg.value.evaluated_value == 0:
            found.append((arg.keyword.value if arg.keyword else None, 0))
    return found


def _phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str]:
    """Each phrase at the start of a word, its words joined by spaces, `-` or `_`."""
    alternatives = [
        r"[\s_\-]+".join(re.escape(word) for word in re.split(r"[\s_\-]+", phrase.lower()))
        for phrase in phrases
    ]
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(alternatives) + ")")


_INTENDED = _phrase_pattern(NAMING.intended_order_phrases)
_NOT_INTENDED = _phrase_pattern(NAMING.intended_order_exceptions)


def says_order_is_intended(node: cst.CSTNode) -> bool:
    """A comment on `node`, inside it, or right above it (its leading lines) says
    the awaits run one after another on purpose (`[intended_order]`)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Comment):
            text = _NOT_INTENDED.sub(" ", current.value.lower())
            if _INTENDED.search(text):
                return True
        stack.extend(current.children)
    return False


def gather_of(arguments: list[cst.BaseExpression]) -> cst.Await:
    """`await asyncio.gather(a, b, ...)`."""
    return cst.Await(
        cst.Call(
            func=cst.Attribute(value=cst.Name("asyncio"), attr=cst.Name("gather")),
            args=[cst.Arg(a) for a in arguments],
        )
    )


def gather_over(call: cst.Call, comp_for: cst.CompFor) -> cst.Await:
    """`await asyncio.gather(*(call for target in iterable))`."""
    generator = cst.GeneratorExp(elt=call, for_in=comp_for)
    return cst.Await(
        cst.Call(
            func=cst.Attribute(value=cst.Name("asyncio"), attr=cst.Name("gather")),
            args=[cst.Arg(generator, star="*")],
        )
    )


def with_asyncio(module: cst.CSTNode, summary: dict | None) -> cst.Module:
    """`module` with `import asyncio`. AddImportsVisitor resolves scope metadata for
    the whole module (seconds on a large one), so it runs only when the module does
    not already import asyncio at top level."""
    assert isinstance(module, cst.Module)
    if summary is not None and summary.get("imports", {}).get("asyncio") == "asyncio":
        return module
    return edit_imports(module, add=["asyncio"])
