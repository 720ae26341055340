"""When awaited calls can really overlap: what AM501 and AM502 share.

Gathering awaits helps only when each one waits for something and nothing orders
them. So a call is never proposed when

- its order matters by nature (`send`, `commit`, `sleep`, `handle_*`, ...), also
  when it is wrapped (`await maybe_async(self.session.set_state(x))`);
- it only waits for something to start (`await server.start()`) or yields once
  (`await asyncio.sleep(0)`);
- it never suspends: a project `async def` that awaits nothing that waits
  (`Project.may_suspend`, a whole-project fact from `asyncmigrate/suspension.py`);
- its receiver serialises its calls, by resolved class (a connection, cursor,
  session, client, lock or file class) or by name when no class is known (asyncpg
  raises "another operation is in progress"); classes built for concurrent calls
  (`aiohttp.ClientSession`) are the exception;
- its receiver's type is unknown: two unknown objects may be one connection, so
  the safe answer is no finding.

Each rule adds its own shape checks (the loop's iterable, one receiver shared by
every iteration, names bound earlier in a run) and skips code whose comments say
the order is intended (`says_order_is_intended`). The words are
`knowledge/naming.toml`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable, NamedTuple

import libcst as cst

from asyncmigrate.catalogue import NAMING
from asyncmigrate.index.refpath import cst_ref_path
from asyncmigrate.index.values import split_id
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
    callee = rule.call_target(call)
    if callee is not None:
        if callee.kind == "external" and is_zero_sleep(callee.name, _literal_zeros(call), len(call.args)):
            return "start-only"
        if (
            callee.kind == "function"
            and rule.project.call_kind(callee.name) == "async"
            and not rule.project.may_suspend(callee.name)
        ):
            return "never suspends"
    kind = receiver_of(rule, call).kind
    if kind in ("serial", "unknown"):
        return f"{kind} receiver"
    return None


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
