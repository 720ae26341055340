"""The per-file rewrite: applies one file's `FileEdits` with LibCST.

The transformer decides nothing about the program: the plan already did, from the
whole project. It finds the places the plan names (by position, as the index counts
them) and rewrites them, keeping every comment and all formatting. Imports are
added and dropped with LibCST's `AddImportsVisitor` / `RemoveImportsVisitor`.
"""

from __future__ import annotations

import re

import libcst as cst
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import PositionProvider

from asyncmigrate.catalogue import PROTOCOLS
from asyncmigrate.index.refpath import cst_call_path, cst_ref_path
from asyncmigrate.index.values import nested_qualname

from .bridge import bridge_call, unbridged_call
from .edits import DefEdit, FileEdits, SiteEdit, call_key, ref_key, stmt_key
from .swapedit import client_name, module_of, swapped_call, with_client

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
#: builtins that consume a whole iterable at once: an async generator expression
#: handed to one becomes a list comprehension (`any`/`all` stop early, so not them)

def _parens(node: cst.BaseExpression) -> cst.BaseExpression:
    """`await f()` used as a primary (`(await f()).x`) needs parentheses."""
    if isinstance(node, cst.Await) and not node.lpar:
        return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return node


def _dotted(name: str) -> cst.BaseExpression:
    return cst.parse_expression(name)


class AsyncifyCommand(VisitorBasedCodemodCommand):
    DESCRIPTION = (
        "Apply an asyncify plan to one file: async def, await, async with/for, "
        "asynccontextmanager, pytest markers and sync bridges."
    )
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, context: CodemodContext, edits: FileEdits, source: str):
        super().__init__(context)
        self.edits = edits
        self.lines = _LINE_BREAK.split(source)
        self.scopes: list[str] = []
        self.defs: list[DefEdit | None] = []
        self.generator_exps = 0
        self._outermost_for: set[int] = set()
        #: per generator expression being visited: the "makes it an async generator"
        #: notes of its body; kept by node for the call that consumes it
        self._genexp_notes: list[list[tuple[int, str]]] = []
        self._async_genexps: dict[int, list[tuple[int, str]]] = {}
        self.applied: set[str] = set()
        self.notes: list[tuple[int, str]] = []
        #: per statement being visited: the per-call clients (class, constructor
        #: arguments, their code) its swaps need around it (None: a compound
        #: statement, whose header cannot be wrapped)
        self.statements: list[list[tuple[str, list[cst.Arg], list[str]]] | None] = []
        self._client_name: str | None = None
        self._has_refs = any(edit.kind in ("swap name", "swap attr") for edit in edits.sites.values())

    # -- positions -------------------------------------------------------------

    def _at(self, node: cst.CSTNode) -> tuple[int, int]:
        """Line and column of `node` as `ast` counts them (1-based, UTF-8 bytes)."""
        start = self.get_metadata(PositionProvider, node).start
        text = self.lines[start.line - 1] if start.line <= len(self.lines) else ""
        return start.line, len(text[: start.column].encode("utf-8")) + 1

    def _site(self, key: str) -> SiteEdit | None:
        edit = self.edits.sites.get(key)
        if edit is not None:
            self.applied.add(key)
        return edit

    # -- scopes ------------------------------------------------------------------

    def _qualname(self, name: str) -> str:
        return nested_qualname(self.scopes[-1] if self.scopes else None, name)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.scopes.append(self._qualname(node.name.value))

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.ClassDef:
        self.scopes.pop()
        return updated_node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        qualname = self._qualname(node.name.value)
        self.scopes.append(qualname)
        self.defs.append(self.edits.defs.get(qualname))

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        qualname = self.scopes.pop()
        edit = self.defs.pop()
        if edit is None:
            return updated_node
        self.applied.add(f"def:{qualname}")
        if edit.make_async and updated_node.asynchronous is None:
            updated_node = updated_node.with_changes(asynchronous=cst.Asynchronous())
        if edit.rename:
            updated_node = updated_node.with_changes(name=cst.Name(edit.rename))
        decorators = [self._decorator(d, edit) for d in updated_node.decorators]
        if edit.marker and not any(
            f"mark.{edit.marker}" in self.module.code_for_node(d.decorator) for d in decorators
        ):
            AddImportsVisitor.add_needed_import(self.context, "pytest")
            decorators.insert(0, cst.Decorator(_dotted(f"pytest.mark.{edit.marker}")))
        return updated_node.with_changes(decorators=decorators)

    def _decorator(self, decorator: cst.Decorator, edit: DefEdit) -> cst.Decorator:
        expr = decorator.decorator
        target = expr.func if isinstance(expr, cst.Call) else expr
        path = cst_ref_path(target) or []
        replacement: cst.BaseExpression | None = None
        if edit.asynccontextmanager and path[-1:] == ["contextmanager"]:
            if isinstance(target, cst.Name):
                AddImportsVisitor.add_needed_import(
                    self.context, "contextlib", "asynccontextmanager"
                )
                RemoveImportsVisitor.remove_unused_import(
                    self.context, "contextlib", "contextmanager"
                )
                replacement = cst.Name("asynccontextmanager")
            elif isinstance(target, cst.Attribute):
                replacement = target.with_changes(attr=cst.Name("asynccontextmanager"))
        elif edit.async_fixture and path in (["pytest", "fixture"], ["fixture"]):
            AddImportsVisitor.add_needed_import(self.context, "pytest_asyncio")
            if path == ["fixture"]:
                RemoveImportsVisitor.remove_unused_import(self.context, "pytest", "fixture")
            replacement = _dotted("pytest_asyncio.fixture")
        if replacement is None:
            return decorator
        if isinstance(expr, cst.Call):
            return decorator.with_changes(decorator=expr.with_changes(func=replacement))
        return decorator.with_changes(decorator=replacement)

    def leave_Raise(self, original_node: cst.Raise, updated_node: cst.Raise) -> cst.Raise:
        edit = self.defs[-1] if self.defs else None
        if edit is None or not edit.stop_iteration or updated_node.exc is None:
            return updated_node
        exc = updated_node.exc
        name = exc.func if isinstance(exc, cst.Call) else exc
        if isinstance(name, cst.Name) and name.value == "StopIteration":
            new_name = name.with_changes(value="StopAsyncIteration")
            exc = exc.with_changes(func=new_name) if isinstance(exc, cst.Call) else new_name
            return updated_node.with_changes(exc=exc)
        return updated_node

    # -- expressions ---------------------------------------------------------------

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self.generator_exps += 1
        self._outermost_for.add(id(node.for_in))
        self._genexp_notes.append([])

    # The outermost iterable of a generator expression runs in the enclosing scope:
    # an await there does not make the expression an async generator.
    def visit_CompFor_iter(self, node: cst.CompFor) -> None:
        if id(node) in self._outermost_for:
            self.generator_exps -= 1

    def leave_CompFor_iter(self, node: cst.CompFor) -> None:
        if id(node) in self._outermost_for:
            self.generator_exps += 1

    def leave_GeneratorExp(
        self, original_node: cst.GeneratorExp, updated_node: cst.GeneratorExp
    ) -> cst.GeneratorExp:
        self.generator_exps -= 1
        notes = self._genexp_notes.pop()
        if notes and self._genexp_notes:
            self._genexp_notes[-1].extend(notes)  # an async generator inside one is async too
        elif notes:
            self._async_genexps[id(updated_node)] = notes
        return updated_node

    def _genexp_note(self, line: int, text: str) -> None:
        note = (line, text)
        self.notes.append(note)
        if self._genexp_notes:
            self._genexp_notes[-1].append(note)

    def _eagerly_consumed(self, call: cst.Call) -> cst.Call:
        """`", ".join(str(await f(x)) for x in xs)` hands a builtin consumer an async
        generator (a TypeError); a list comprehension awaits in the same order and
        the consumer gets what it got before. Other consumers keep the note."""
        positional = [arg for arg in call.args if arg.keyword is None]
        if len(positional) != 1 or positional[0].star or call.args[0] is not positional[0]:
            return call  # `sorted(gen, key=...)` is fine; `f(*gen)`, two iterables are not
        genexp = positional[0].value
        notes = self._async_genexps.get(id(genexp))
        func = call.func
        # by the written name: the check of the result (AM104) resolves it
        eager = (isinstance(func, cst.Name) and f"builtins.{func.value}" in PROTOCOLS.eager_iterators) or (
            isinstance(func, cst.Attribute) and func.attr.value == "join"
        )
        if notes is None or not eager:
            return call
        del self._async_genexps[id(genexp)]
        self.notes = [note for note in self.notes if not any(note is n for n in notes)]
        listed = cst.ListComp(elt=genexp.elt, for_in=genexp.for_in)
        return call.with_changes(args=[positional[0].with_changes(value=listed), *call.args[1:]])

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        updated_node = updated_node.with_changes(value=_parens(updated_node.value))
        return self._renamed(original_node, updated_node)

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        return self._renamed(original_node, updated_node)

    def _renamed(self, original_node, updated_node):
        """A name or attribute read that changes with a library swap."""
        if not self._has_refs:
            return updated_node
        line, col = self._at(original_node)
        edit = self._site(ref_key(line, col, cst_ref_path(original_node)))
        if edit is None:
            return updated_node
        if edit.kind == "swap attr" and isinstance(updated_node, cst.Attribute):
            return updated_node.with_changes(attr=cst.Name(edit.detail))
        AddImportsVisitor.add_needed_import(self.context, module_of(edit.detail))
        self._drop_import(original_node, edit.origin)
        return _dotted(edit.detail)

    def leave_Subscript(
        self, original_node: cst.Subscript, updated_node: cst.Subscript
    ) -> cst.Subscript:
        return updated_node.with_changes(value=_parens(updated_node.value))

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        updated_node = self._eagerly_consumed(updated_node.with_changes(func=_parens(updated_node.func)))
        line, col = self._at(original_node)
        edit = self._site(call_key(line, col, cst_call_path(original_node.func)))
        if edit is None:
            return updated_node
        if edit.kind in ("await", "replace", "offload") and self.generator_exps:
            self._genexp_note(line, "await inside a generator expression makes it an async generator: check its consumer")
        if edit.kind == "await":
            return cst.Await(updated_node)
        if edit.kind == "replace":
            AddImportsVisitor.add_needed_import(self.context, edit.detail.rpartition(".")[0])
            self._drop_import(original_node.func, edit.origin)
            return cst.Await(updated_node.with_changes(func=_dotted(edit.detail)))
        if edit.kind == "swap":
            if self._client_name is None:
                self._client_name = client_name(self.module.code)
            node, client = swapped_call(self.context, edit.detail, updated_node, self._client_name)
            if client is not None:
                opened = self.statements[-1] if self.statements else None
                shown = [cst.Module([]).code_for_node(a) for a in client[1]]
                if opened is None or (opened and opened[0][2] != shown):
                    why = "no statement of its own" if opened is None else "its statement opens another client"
                    self.notes.append((line, f"a per-call client cannot wrap this call ({why}): not swapped"))
                    return updated_node
                opened.append((*client, shown))
            self._drop_import(original_node.func, edit.origin)
            return node
        if edit.kind == "offload":
            AddImportsVisitor.add_needed_import(self.context, "asyncio")
            args = [cst.Arg(updated_node.func), *updated_node.args]
            return cst.Await(cst.Call(func=_dotted("asyncio.to_thread"), args=args))
        if edit.kind == "bridge":
            return bridge_call(self.context, edit.detail, updated_node)
        if edit.kind == "unbridge":
            return unbridged_call(self.context, edit.detail, updated_node)
        return updated_node

    def _drop_import(self, func: cst.BaseExpression, origin: str) -> None:
        """The import of a replaced blocking API, if nothing else uses it."""
        module, _, name = origin.rpartition(".")
        if isinstance(func, cst.Name) and module:
            RemoveImportsVisitor.remove_unused_import(self.context, module, name)
        elif isinstance(func, cst.Attribute):
            written = cst_ref_path(func.value)
            if written and len(written) == 1 and module.split(".")[0] == written[0]:
                RemoveImportsVisitor.remove_unused_import(self.context, written[0])

    # -- statements ------------------------------------------------------------------

    def leave_With(self, original_node: cst.With, updated_node: cst.With) -> cst.With:
        line, col = self._at(original_node)
        if updated_node.asynchronous is None and self._site(stmt_key("with", line, col)):
            return updated_node.with_changes(asynchronous=cst.Asynchronous())
        return updated_node

    def leave_For(self, original_node: cst.For, updated_node: cst.For) -> cst.For:
        line, col = self._at(original_node)
        if updated_node.asynchronous is None and self._site(stmt_key("for", line, col)):
            return updated_node.with_changes(asynchronous=cst.Asynchronous())
        return updated_node

    def leave_CompFor(self, original_node: cst.CompFor, updated_node: cst.CompFor) -> cst.CompFor:
        line, col = self._at(original_node.iter)
        if updated_node.asynchronous is None and self._site(stmt_key("comp", line, col)):
            if self.generator_exps:
                self._genexp_note(line, "`async for` in a generator expression makes it an async generator: check its consumer")
            return updated_node.with_changes(asynchronous=cst.Asynchronous())
        return updated_node

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.SimpleStatementLine):
            self.statements.append([])
        elif isinstance(node, cst.BaseCompoundStatement):
            self.statements.append(None)
        return super().on_visit(node)

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode):
        result = super().on_leave(original_node, updated_node)
        if isinstance(original_node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            self.statements.pop()
        return result

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement:
        clients = self.statements[-1]
        if clients:
            # One client for the statement, closed when it ends (what `requests.get`
            # does with its own Session).
            return with_client(updated_node, clients[0], self._client_name or "client")
        return self._yield_from(original_node, updated_node)

    def _yield_from(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement:
        """`yield from agen()` -> `async for item in agen(): yield item`."""
        body = updated_node.body
        if len(body) != 1 or not isinstance(body[0], cst.Expr):
            return updated_node
        value = body[0].value
        if not isinstance(value, cst.Yield) or not isinstance(value.value, cst.From):
            return updated_node
        line, col = self._at(original_node)
        if not self._site(stmt_key("yieldfrom", line, col)):
            return updated_node
        name = "item"
        while re.search(rf"\b{name}\b", self.module.code):
            name = f"_{name}"
        inner = cst.SimpleStatementLine(
            [cst.Expr(cst.Yield(cst.Name(name)))],
            trailing_whitespace=updated_node.trailing_whitespace,
        )
        return cst.For(
            target=cst.Name(name),
            iter=value.value.item,
            body=cst.IndentedBlock([inner]),
            asynchronous=cst.Asynchronous(),
            leading_lines=updated_node.leading_lines,
        )

    # -- results ---------------------------------------------------------------------

    def missing(self) -> list[tuple[int, str]]:
        """Planned edits whose place was not found (the file changed since indexing)."""
        found = []
        for key, edit in self.edits.sites.items():
            if key not in self.applied:
                found.append(
                    (
                        edit.line,
                        f"planned {edit.kind} not applied: the code at this line is not what the index saw",
                    )
                )
        for qualname in self.edits.defs:
            if f"def:{qualname}" not in self.applied:
                found.append((0, f"planned change to `{qualname}` not applied: no such def"))
        return found
