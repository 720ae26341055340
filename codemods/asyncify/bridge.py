"""The sync bridge: how code that must stay sync calls a function that became async.

- `asgiref` (default): `async_to_sync(f)(args)`. It runs the coroutine on a new event
  loop in a worker thread when the calling thread has none, and it keeps working
  when the caller itself is running inside `sync_to_async` (Django-style stacks).
- `asyncio`: `asyncio.run(f(args))`: standard library only, but it always starts a
  fresh event loop, so it fails if a loop is already running in the thread.

Neither may run inside a running event loop; the plan reports those places instead.
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor

BRIDGES = ("asgiref", "asyncio")


def bridge_call(context: CodemodContext, bridge: str, call: cst.Call) -> cst.Call:
    """`call` (to a coroutine function) rewritten to run to completion from sync code."""
    if bridge == "asyncio":
        AddImportsVisitor.add_needed_import(context, "asyncio")
        return cst.Call(func=cst.parse_expression("asyncio.run"), args=[cst.Arg(call)])
    AddImportsVisitor.add_needed_import(context, "asgiref.sync", "async_to_sync")
    wrapped = cst.Call(func=cst.Name("async_to_sync"), args=[cst.Arg(call.func)])
    return call.with_changes(func=wrapped)
