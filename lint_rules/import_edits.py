"""Import edits for fixes, through LibCST's AddImportsVisitor/RemoveImportsVisitor.

Imported lazily: `libcst.codemod` pulls in `libcst.matchers` (about 0.2 s), which a
lint run that fixes nothing should not pay on every start.
"""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst

#: (module, name or None, asname or None), as RemoveImportsVisitor takes them
ImportSpec = tuple[str, "str | None", "str | None"]


def edit_imports(
    module: cst.Module, add: Iterable[str] = (), remove: Iterable[ImportSpec] = ()
) -> cst.Module:
    """`module` with `import X` added for each of `add` (when missing) and each of
    `remove` dropped when nothing uses it any more."""
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor

    context = CodemodContext()
    add, remove = list(add), list(remove)
    for name in add:
        AddImportsVisitor.add_needed_import(context, name)
    for spec in remove:
        RemoveImportsVisitor.remove_unused_import(context, *spec)
    if add:
        module = AddImportsVisitor(context).transform_module(module)
    if remove:
        module = RemoveImportsVisitor(context).transform_module(module)
    return module
