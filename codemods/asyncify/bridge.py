"""The sync bridge: how code that must stay sync calls a function that became async.

- `asgiref` (default): `async_to_sync(f)(args)`. It runs the coroutine on a new event
  loop in a worker thread when the calling thread has none, and it keeps working
  when the caller itself is running inside `sync_to_async` (Django-style stacks).
- `asyncio`: `asyncio.run(f(args))`: standard library only, but it always starts a
  fresh event loop, so it fails if a loop is already running in the thread.

Neither may run inside a running event loop; the plan reports those places instead.
The bridges and their facts are data (`[bridges]` in `knowledge/async_apis.toml`),
shared with the configuration's `bridge` option.
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor

from asyncmigrate.catalogue import BRIDGES

__all__ = ["BRIDGES", "bridge_call", "unbridged_call"]


def bridge_call(context: CodemodContext, bridge: str, call: cst.Call) -> cst.Call:
    """`call` (to a coroutine function) rewritten to run to completion from sync code."""
    facts = BRIDGES[bridge]
    module, _, name = facts.function.rpartition(".")
    if facts.imports == "module":
        AddImportsVisitor.add_needed_import(context, module)
        runner: cst.BaseExpression = cst.parse_expression(facts.function)
    else:
        AddImportsVisitor.add_needed_import(context, module, name)
        runner = cst.Name(name)
    if facts.wraps == "call":
        return cst.Call(func=runner, args=[cst.Arg(call)])
    wrapped = cst.Call(func=runner, args=[cst.Arg(call.func)])
    return call.with_changes(func=wrapped)


def unbridged_call(context: CodemodContext, bridge: str, call: cst.Call) -> cst.BaseExpression:
    """The inverse of `bridge_call`, for a caller that became async: `await f(args)`
    (the bridge's import goes when nothing else uses it)."""
    facts = BRIDGES[bridge]
    module, _, name = facts.function.rpartition(".")
    if facts.imports == "module":
        RemoveImportsVisitor.remove_unused_import(context, module)
    else:
        RemoveImportsVisitor.remove_unused_import(context, module, name)
    if facts.wraps == "call":
        return cst.Await(call.args[0].value)
    wrapped = call.func
    assert isinstance(wrapped, cst.Call)  # the plan keys this edit on `runner(f)(args)`
    return cst.Await(call.with_changes(func=wrapped.args[0].value))
