"""Import edits for fixes, through LibCST's AddImportsVisitor/RemoveImportsVisitor,
at a cost that does not grow with the module.

Those visitors walk, and RemoveImportsVisitor runs scope analysis over, the whole
module: seconds for a 2,000-line module, once per fix round (issue 17 measured 95 s
for a 290 KB one). Imports live at the top level, so the visitors get only the
module's head (its statements up to the last top-level import, and a stand-in for
the statement after them), and whether a name
is still used is answered by the stdlib parser over the whole module, which is fast.

Imported lazily: `libcst.codemod` pulls in `libcst.matchers` (about 0.2 s), which a
lint run that fixes nothing should not pay on every start.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable

import libcst as cst

#: (module, name or None, asname or None), as RemoveImportsVisitor takes them
ImportSpec = tuple[str, "str | None", "str | None"]


def edit_imports(
    module: cst.Module, add: Iterable[str] = (), remove: Iterable[ImportSpec] = ()
) -> cst.Module:
    """`module` with `import X` added for each of `add` (when missing) and each of
    `remove` dropped when nothing uses it any more. An import that is not at the top
    level is kept (conservative: an unused import is harmless)."""
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor

    add, remove = list(add), list(remove)
    if remove:
        used = _used_names(module.code)
        remove = [spec for spec in remove if _bound_name(spec) not in used]
    if not add and not remove:
        return module
    last_import = max((i for i, s in enumerate(module.body) if _is_import(s)), default=0)
    rest = list(module.body[last_import + 1:])
    # The statement after the imports stands in as `pass` with its leading lines,
    # which the visitors adjust (a blank line after a new import block).
    stand_in = [cst.SimpleStatementLine([cst.Pass()], leading_lines=rest[0].leading_lines)] if rest else []
    head = module.with_changes(body=[*module.body[: last_import + 1], *stand_in])
    context = CodemodContext()
    for name in add:
        AddImportsVisitor.add_needed_import(context, name)
    for spec in remove:
        RemoveImportsVisitor.remove_unused_import(context, *spec)
    if add:
        head = AddImportsVisitor(context).transform_module(head)
    if remove:
        head = RemoveImportsVisitor(context).transform_module(head)
    body = list(head.body)
    if rest:
        rest[0] = rest[0].with_changes(leading_lines=body.pop().leading_lines)
    return module.with_changes(body=[*body, *rest])


def _is_import(statement: cst.CSTNode) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and any(
        isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body
    )


def _bound_name(spec: ImportSpec) -> str:
    module, name, asname = spec
    return asname or name or module.split(".")[0]


def _used_names(code: str) -> set[str]:
    """Every name the module reads, besides what its imports bind: names, and names
    a string refers to (`__all__` entries, string annotations like "time.struct_time")."""
    from asyncmigrate import syntax

    try:
        tree = syntax.parse(code)  # newer syntax in its downlevel form
    except (SyntaxError, ValueError):
        return _EVERYTHING
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) < 200:
            used.update(m.group(1) or m.group(2) for m in _STRING_REFERENCE.finditer(node.value))
    return used


#: a string that may name an import: all of it an identifier, or `name.attr`
_STRING_REFERENCE = re.compile(r"^([A-Za-z_]\w*)$|\b([A-Za-z_]\w*)\.\w")


class _Everything(frozenset):
    def __contains__(self, item: object) -> bool:
        return True


#: when the module cannot be read, every name counts as used: nothing is removed
_EVERYTHING = _Everything()
