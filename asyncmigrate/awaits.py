"""Where code suspends, read from a LibCST tree.

`first_suspension` finds the first `await`, `async for` or `async with` of a block
(not inside a nested function or lambda, which suspend on their own): a `threading`
lock held across one blocks the event loop (AM207).

`async_part` tells when a generator expression is an async generator: Python makes
`(... for x in xs)` one when `await` or `async for` appears anywhere in it, nested
comprehensions included, except in its first iterable (evaluated in the enclosing
scope) and inside a nested generator expression or lambda (their own scopes: a
nested async generator expression is only a value). Handed to a builtin that
iterates with plain `for` (`any`, `list`, `str.join`) it raises TypeError, which
AM104 reports and asyncify checks its result for.
"""

from __future__ import annotations

import libcst as cst


class _AsyncPart(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found: cst.CSTNode | None = None

    def on_visit(self, node: cst.CSTNode) -> bool:
        return self.found is None and super().on_visit(node)

    def visit_Await(self, node: cst.Await) -> bool:
        self.found = node
        return False

    def visit_CompFor(self, node: cst.CompFor) -> None:
        if node.asynchronous is not None:
            self.found = node

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> bool:
        node.for_in.iter.visit(self)  # the nested one's first iterable runs in this scope
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


class _Suspension(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found: cst.CSTNode | None = None

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.found is not None or isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return False
        if isinstance(node, cst.Await) or (
            isinstance(node, (cst.For, cst.With, cst.CompFor)) and node.asynchronous is not None
        ):
            self.found = node
            return False
        return True


def first_suspension(block: cst.CSTNode) -> cst.CSTNode | None:
    """The first `await`, `async for` or `async with` in `block` that suspends the
    coroutine running it; None when the block never suspends."""
    finder = _Suspension()
    block.visit(finder)
    return finder.found


def async_part(genexp: cst.GeneratorExp) -> cst.CSTNode | None:
    """The first `await` (or async `for` clause) that makes `genexp` an async
    generator; None when it is a plain generator."""
    finder = _AsyncPart()
    first = genexp.for_in
    if first.asynchronous is not None:
        return first
    for part in (genexp.elt, first.target, *first.ifs):
        part.visit(finder)
    if first.inner_for_in is not None:
        first.inner_for_in.visit(finder)
    return finder.found
