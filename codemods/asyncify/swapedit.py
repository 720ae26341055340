"""Rewriting one swapped call (the plan's "swap" site edits) with LibCST.

A factory call gets its new callee (`requests.Session()` -> `httpx.AsyncClient()`),
a method call its new name on the same receiver (`close` -> `aclose`), and a call
that makes its own client (`requests.get(url)`) becomes `await client.get(url)`
inside `async with httpx.AsyncClient() as client:` around its statement. Renamed
keywords (`allow_redirects` -> `follow_redirects`) are renamed at every swapped call.
"""

from __future__ import annotations

import json
import re

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor


def module_of(dotted: str) -> str:
    """The module part of an API name: the components before the first class
    (`redis.asyncio.Redis.from_url` -> `redis.asyncio`), or all but the last."""
    parts = dotted.split(".")
    for n, part in enumerate(parts[1:], 1):
        if part[:1].isupper():
            return ".".join(parts[:n])
    return ".".join(parts[:-1]) or parts[0]


def _keywords(call: cst.Call, renames: dict[str, str]) -> cst.Call:
    args = []
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in renames:
            arg = arg.with_changes(keyword=cst.Name(renames[arg.keyword.value]))
        args.append(arg)
    return call.with_changes(args=args)


def _client_arguments(call: cst.Call, names: list[str]) -> tuple[cst.Call, list[cst.Arg]]:
    """The call without the keywords its per-call client takes, and those keywords."""
    kept, moved = [], []
    for arg in call.args:
        (moved if arg.keyword is not None and arg.keyword.value in names else kept).append(arg)
    if kept:
        kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    if moved:
        moved[-1] = moved[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return call.with_changes(args=kept), moved


def swapped_call(
    context: CodemodContext, detail: str, call: cst.Call, client_name: str
) -> tuple[cst.BaseExpression, tuple[str, list[cst.Arg]] | None]:
    """The rewritten call, and the client (class, constructor arguments) its
    statement must open, or None."""
    spec = json.loads(detail)
    call = _keywords(call, spec["keywords"])
    form, target = spec["form"], spec["target"]
    client = None
    if form == "factory":
        AddImportsVisitor.add_needed_import(context, module_of(target))
        call = call.with_changes(func=cst.parse_expression(target))
    elif form == "method" and isinstance(call.func, cst.Attribute):
        if call.func.attr.value != target:
            call = call.with_changes(func=call.func.with_changes(attr=cst.Name(target)))
    elif form == "client":
        AddImportsVisitor.add_needed_import(context, module_of(spec["client"]))
        call, moved = _client_arguments(call, spec["client_keywords"])
        client = (spec["client"], moved)
        call = call.with_changes(func=cst.Attribute(cst.Name(client_name), cst.Name(target)))
    return (cst.Await(call) if spec["await"] else call), client


def with_client(
    statement: cst.SimpleStatementLine, client: tuple[str, list[cst.Arg]], name: str
) -> cst.With:
    """`async with Client(...) as name:` around one statement line."""
    body = statement.with_changes(leading_lines=[])
    return cst.With(
        items=[
            cst.WithItem(
                cst.Call(cst.parse_expression(client[0]), args=client[1]),
                asname=cst.AsName(cst.Name(name)),
            )
        ],
        body=cst.IndentedBlock([body]),
        asynchronous=cst.Asynchronous(),
        leading_lines=statement.leading_lines,
    )


def client_name(code: str) -> str:
    """A name for a per-call client that the module does not use."""
    n = 0
    while True:
        for name in ("client", "http_client", "_client"):
            name = f"{name}{n or ''}"
            if not re.search(rf"\b{name}\b", code):
                return name
        n += 1
