"""Reference paths: an expression as the segments that name it.

`self.repo.fetch` is `["self", "repo", "fetch"]`, `Cls().run` is
`["Cls", "()", "run"]`, `super().save` is `["super", "()", "save"]`. The index makes
them from the stdlib `ast` (it reads every file); rules and codemods make them from
the LibCST tree they visit. The two must agree segment for segment, because a rule
meets the index only through these paths, so they live side by side here.
"""

from __future__ import annotations

import ast
from typing import Iterable

import libcst as cst


def ast_ref_path(node: ast.AST, subscripts: bool = False) -> list[str] | None:
    """The reference path of an `ast` expression, or None when it is not a plain
    reference. With `subscripts`, `x[...]` is a `[]` segment (see `ast_call_path`)."""
    segments: list[str] = []
    while True:
        if isinstance(node, ast.Name):
            segments.append(node.id)
            break
        if isinstance(node, ast.Attribute):
            segments.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            segments.append("()")
            node = node.func
        elif subscripts and isinstance(node, ast.Subscript):
            segments.append("[]")
            node = node.value
        else:
            return None
    segments.reverse()
    return segments


def cst_ref_path(node: cst.BaseExpression, subscripts: bool = False) -> list[str] | None:
    """The reference path of a LibCST expression, or None when it is not a plain
    reference. With `subscripts`, `x[...]` is a `[]` segment (see `ast_call_path`)."""
    segments: list[str] = []
    while True:
        if isinstance(node, cst.Name):
            segments.append(node.value)
            break
        if isinstance(node, cst.Attribute):
            segments.append(node.attr.value)
            node = node.value
        elif isinstance(node, cst.Call):
            segments.append("()")
            node = node.func
        elif subscripts and isinstance(node, cst.Subscript):
            segments.append("[]")
            node = node.value
        else:
            return None
    segments.reverse()
    return segments


#: the first segment of a call path whose receiver is not a reference
#: (`(a or b).close()` is `["?", "close"]`)
UNNAMED_RECEIVER = "?"


def ast_call_path(func: ast.AST) -> list[str] | None:
    """The path a call's callee is recorded under: its reference path, through
    subscripts too (`self[name].ping` is `["self", "[]", "ping"]`: the resolver reads
    `[]` as `__getitem__`). Only calls use it: everywhere else a subscript is not a
    reference."""
    return ast_ref_path(func, subscripts=True)


def cst_call_path(func: cst.BaseExpression) -> list[str] | None:
    """`ast_call_path` of a LibCST callee (the two must agree, as above)."""
    return cst_ref_path(func, subscripts=True)


def written(path: Iterable[str]) -> str:
    """A reference path as the source wrote it: `["Repo", "()", "load"]` -> `Repo().load`;
    an unnamed receiver shows as `(...)`."""
    text = ""
    for segment in path:
        if segment == UNNAMED_RECEIVER and not text:
            segment = "(...)"
        if segment == "[]":
            segment = "[...]"
        text += segment if segment in ("()", "[...]") or not text else f".{segment}"
    return text
