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


def ast_ref_path(node: ast.AST) -> list[str] | None:
    """The reference path of an `ast` expression, or None when it is not a plain reference."""
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
        else:
            return None
    segments.reverse()
    return segments


def cst_ref_path(node: cst.BaseExpression) -> list[str] | None:
    """The reference path of a LibCST expression, or None when it is not a plain reference."""
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
        else:
            return None
    segments.reverse()
    return segments


#: the first segment of a call path whose receiver is not a reference
#: (`self[name].ping()`, `(a or b).close()` are `["?", "ping"]`, `["?", "close"]`)
UNNAMED_RECEIVER = "?"


def written(path: Iterable[str]) -> str:
    """A reference path as the source wrote it: `["Repo", "()", "load"]` -> `Repo().load`;
    an unnamed receiver shows as `(...)`."""
    text = ""
    for segment in path:
        if segment == UNNAMED_RECEIVER and not text:
            segment = "(...)"
        text += segment if segment == "()" or not text else f".{segment}"
    return text
