"""Python source as this Python's `ast` reads it, whatever version it was written for.

The index, the rules' `ast` helpers and the output checks use the stdlib parser,
which only knows the running version (3.11 here). LibCST's native parser reads up to
3.14, so code written for a newer Python is first rewritten by LibCST into an
equivalent this `ast` accepts, keeping every call, name and line:

- PEP 695/696 type parameters are dropped (`class Box[T = int]:` -> `class Box:`) and
  `type X = v` becomes `X = v`;
- PEP 758 `except A, B:` becomes `except (A, B):`;
- a PEP 701 f-string this Python rejects (nested same quotes, comments, backslashes)
  and a PEP 750 t-string become the tuple of their expressions, `(  e1,  e2,)`, each
  expression at the line and column it had.

Only the constructs the running parser rejects change, and they keep the columns of
what follows them (blanks pad what was dropped), so facts keyed by position (the
index's calls, asyncify's edits) still match the LibCST tree. A statement that still does not parse is reported
by the caller (AM001), never guessed at.
"""

from __future__ import annotations

import ast
from typing import Any

import libcst as cst


def parse(source: bytes | str) -> ast.Module:
    """The module's `ast`, through `downlevel` when this Python cannot read it.
    Raises SyntaxError (or ValueError for NUL bytes) when neither parser can."""
    try:
        return ast.parse(source)
    except SyntaxError as error:
        lowered = downlevel(source)
        if lowered is None:
            raise
        try:
            return ast.parse(lowered)
        except SyntaxError:
            raise error from None


def compile_error(source: bytes | str, filename: str) -> str | None:
    """Why `source` does not byte-compile (None when it does), for a tool's output
    before it is written: `compile` without running it, so `await` outside `async
    def` is caught too; newer syntax is compiled in its `downlevel` form."""
    try:
        compile(source, filename, "exec", dont_inherit=True)
        return None
    except (SyntaxError, ValueError) as error:
        lowered = downlevel(source) if isinstance(error, SyntaxError) else None
        if lowered is None:
            return str(error)
        try:
            compile(lowered, filename, "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as lowered_error:
            return str(lowered_error)  # the real fault, not "newer than this Python"
        return None


def downlevel(source: bytes | str) -> str | None:
    """`source` rewritten into syntax the running Python parses, or None when LibCST
    cannot read it either (not Python at all, a real syntax error)."""
    try:
        module = cst.parse_module(source)
        return module.visit(_Downlevel(module)).code
    except Exception:  # noqa: BLE001 - any failure in LibCST means "cannot read it"
        return None


def _parses(code: str) -> bool:
    try:
        ast.parse(f"(\n{code}\n)", mode="eval")
    except (SyntaxError, ValueError):
        return False
    return True


class _Downlevel(cst.CSTTransformer):
    """Rewrites only what the running parser rejects, keeping columns where it can
    (see the module docstring)."""

    def __init__(self, module: cst.Module):
        super().__init__()
        self.module = module
        #: strings that are parts of an implicit concatenation (`f"..." "..."`):
        #: one that becomes a tuple is converted by the whole concatenation
        self._concatenated: set[int] = set()
        self._pending: set[int] = set()

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        return self._without_type_parameters(updated)

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        return self._without_type_parameters(updated)

    def _without_type_parameters(self, node: Any) -> Any:
        if node.type_parameters is None:
            return node
        dropped = self.module.code_for_node(node.type_parameters)
        dropped += self.module.code_for_node(node.whitespace_after_type_parameters)
        kept = self.module.code_for_node(node.whitespace_after_name)
        lines = dropped.count("\n")
        node = node.with_changes(
            type_parameters=None,
            whitespace_after_type_parameters=cst.SimpleWhitespace(""),
            whitespace_after_name=cst.SimpleWhitespace(kept + (" " * len(dropped) if not lines else "")),
        )
        if not lines:
            return node
        # type parameters over several lines: the lines move inside the parentheses
        if isinstance(node, cst.FunctionDef):
            return node.with_changes(whitespace_before_params=_line_breaks(lines, node.whitespace_before_params))
        if isinstance(node.lpar, cst.LeftParen):
            return node.with_changes(lpar=node.lpar.with_changes(whitespace_after=_line_breaks(lines, node.lpar.whitespace_after)))
        return node.with_changes(lpar=cst.LeftParen(whitespace_after=_line_breaks(lines)), rpar=cst.RightParen())

    def leave_TypeAlias(self, original: cst.TypeAlias, updated: cst.TypeAlias) -> cst.Assign:
        # `type X[T] = v` -> `X        = v`: the value keeps its columns
        code = self.module.code_for_node
        after = updated.whitespace_after_equals
        head = len(code(updated)) - len(code(updated.value)) - len(code(after)) - 1
        if updated.semicolon is not cst.MaybeSentinel.DEFAULT:
            head -= len(code(updated.semicolon))
        pad = cst.SimpleWhitespace(" " * max(1, head - len(updated.name.value)))
        target = cst.AssignTarget(updated.name, whitespace_before_equal=pad, whitespace_after_equal=after)
        return cst.Assign(targets=[target], value=updated.value, semicolon=updated.semicolon)

    def leave_ExceptHandler(self, original: Any, updated: Any) -> Any:
        return _parenthesized_types(updated)

    def leave_ExceptStarHandler(self, original: Any, updated: Any) -> Any:
        return _parenthesized_types(updated)

    def leave_FormattedString(self, original: cst.FormattedString, updated: cst.BaseExpression) -> cst.BaseExpression:
        if _parses(self.module.code_for_node(original)):
            return updated
        return self._tuple_or_pending(original, updated)

    def leave_TemplatedString(self, original: Any, updated: Any) -> cst.BaseExpression:
        return self._tuple_or_pending(original, updated)

    def _tuple_or_pending(self, original: Any, updated: Any) -> cst.BaseExpression:
        if id(original) in self._concatenated:
            self._pending.add(id(updated))
            return updated
        return _as_tuple(updated)

    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> None:
        self._concatenated.update((id(node.left), id(node.right)))

    def leave_ConcatenatedString(self, original: Any, updated: Any) -> cst.BaseExpression:
        """`f"{x}" "y"` whose f-string becomes a tuple: `(  x,)+"y"` (only strings
        may stand side by side), for the whole chain at once."""
        chain, node = [], updated
        while isinstance(node, cst.ConcatenatedString):
            chain.append((node.left, node.whitespace_between))
            node = node.right
        if not any(id(part) in self._pending for part, _ in chain) and id(node) not in self._pending:
            return updated
        if id(original) in self._concatenated:  # the enclosing chain converts it
            self._pending.add(id(updated))
            return updated
        expression = _as_tuple(node) if id(node) in self._pending else node
        for part, between in reversed(chain):
            part = _as_tuple(part) if id(part) in self._pending else part
            if isinstance(between, cst.SimpleWhitespace) and between.value:
                between = cst.SimpleWhitespace(between.value[1:])
            operator = cst.Add(whitespace_before=between, whitespace_after=cst.SimpleWhitespace(""))
            expression = cst.BinaryOperation(part, operator, expression)
        return expression.with_changes(lpar=updated.lpar, rpar=updated.rpar)


def _as_tuple(string: Any) -> cst.BaseExpression:
    """A formatted or templated string as the tuple of its expressions (format specs
    too), every expression at the column and line it had: the rest of the string
    becomes blanks, with `(`, `,` and `)` where its quotes and braces were."""
    pieces = [(string.start, False)]
    _pieces(string.parts, pieces)
    pieces.append((string.end, False))
    if not any(keep for _, keep in pieces):
        return string
    out: list[str] = []
    after_expression = False
    for text, keep in pieces:
        if keep:
            out.append(text)
            after_expression = True
            continue
        blank = [c if c == "\n" else " " for c in text]
        if after_expression:
            at = next((i for i, c in enumerate(blank) if c != "\n"), None)
            if at is not None:
                blank[at] = ","
                after_expression = False
        out.append("".join(blank))
    code = "".join(out)
    code = "(" + code[1:-1] + ")"
    replacement = cst.parse_expression(code)
    return replacement.with_changes(lpar=[*string.lpar, *replacement.lpar], rpar=[*replacement.rpar, *string.rpar])


def _pieces(parts: Any, out: list[tuple[str, bool]]) -> None:
    """The source of a string's parts as (text, is an expression) pieces, in order."""
    empty = cst.Module([])
    for part in parts or ():
        expression = getattr(part, "expression", None)
        if expression is None:
            out.append((empty.code_for_node(part), False))
            continue
        out.append(("{" + empty.code_for_node(part.whitespace_before_expression), False))
        out.append((empty.code_for_node(expression), True))
        tail = empty.code_for_node(part.whitespace_after_expression)
        if part.equal is not None:
            tail += empty.code_for_node(part.equal)
        if part.conversion is not None:
            tail += "!" + part.conversion
        if part.format_spec is not None:
            out.append((tail + ":", False))
            _pieces(part.format_spec, out)
            tail = ""
        out.append((tail + "}", False))


def _line_breaks(count: int, existing: Any = None) -> cst.ParenthesizedWhitespace:
    """`count` more line breaks inside parentheses (where dropped lines go), before
    those of the `existing` whitespace there."""
    if isinstance(existing, cst.ParenthesizedWhitespace):
        return existing.with_changes(empty_lines=[*(cst.EmptyLine(indent=False) for _ in range(count)), *existing.empty_lines])
    return cst.ParenthesizedWhitespace(
        first_line=cst.TrailingWhitespace(),
        empty_lines=[cst.EmptyLine(indent=False) for _ in range(count - 1)],
        indent=False,
        last_line=cst.SimpleWhitespace(""),
    )


def _parenthesized_types(handler: Any) -> Any:
    """`except A, B:` -> `except(A, B):` (the space becomes the parenthesis)."""
    kind = handler.type
    if isinstance(kind, cst.Tuple) and not kind.lpar:
        parenthesized = kind.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return handler.with_changes(type=parenthesized, whitespace_after_except=cst.SimpleWhitespace(""))
    return handler
