"""When two awaited calls may run concurrently: what AM501 and AM502 share.

Two awaits can be gathered when neither uses a value the other produces and
nothing orders them. Order hides in the receiver: one database connection,
websocket, stream or lock serializes its operations (asyncpg raises "another
operation is in progress"), and some operations exist to be ordered (`send`,
`commit`, `sleep`). Those calls are never proposed for gathering.
"""

from __future__ import annotations

import libcst as cst

from asyncmigrate.catalogue import NAMING
from lint_rules.import_edits import edit_imports
from asyncmigrate.index.refpath import cst_ref_path


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
    """A call whose order matters, or whose receiver serializes its calls (the words
    are `[ordered_calls]` in `knowledge/naming.toml`)."""
    path = cst_ref_path(call.func)
    if path is None:
        return True
    if path[-1] in NAMING.ordered_methods:
        return True
    method = path[-1].lstrip("_").lower()
    if len(path) > 1 and (
        method.startswith(NAMING.ordered_prefixes) or any(w in method for w in NAMING.ordered_words)
    ):
        return True
    return any(segment.lower().lstrip("_") in NAMING.serial_receivers for segment in path[:-1])


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
