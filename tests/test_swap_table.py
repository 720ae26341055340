"""The library-swap table (knowledge/swaps.toml) names real APIs.

Checked against the installed libraries on both sides of each swap (test extras:
requests, httpx, redis, aiosqlite; a family whose library is missing is skipped with
the reason): every sync name and target exists, and every method the table awaits
is a coroutine function on the async class, so a swap never awaits a sync method or
misses an async one. This imports the libraries, never user code.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

from asyncmigrate.swaps import SwapTable, bundled

TABLE = SwapTable()


def _resolve(dotted: str):
    parts = dotted.split(".")
    for n in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:n]))
        except ImportError:
            continue
        for part in parts[n:]:
            obj = getattr(obj, part)
        return obj
    raise ImportError(dotted)


def _awaitable(function) -> bool:
    """A coroutine function, or one that says it returns an awaitable (redis's
    commands are plain functions shared by both clients, returning the client's
    `execute_command` coroutine in the async one)."""
    if inspect.iscoroutinefunction(inspect.unwrap(function)):
        return True  # aiosqlite's awaitable context managers wrap an async def
    if getattr(function, "__module__", "").startswith("redis.commands"):
        return True
    return "Awaitable" in str(inspect.signature(function).return_annotation)


def _family_or_skip(name: str):
    family = TABLE.family(name)
    roots = {n.split(".")[0] for n in (*family.calls, *family.types)}
    roots |= {s.to.split(".")[0] for s in family.types.values()}
    for root in roots:
        pytest.importorskip(root, reason=f"swap family {name} needs {root} installed to be checked")
    return family


@pytest.mark.parametrize("name", [f["family"] for f in bundled()])
def test_every_name_in_a_swap_family_exists_on_both_sides(name):
    family = _family_or_skip(name)
    for sync, swap in family.calls.items():
        _resolve(sync)
        target = swap.target if swap.form != "client" else f"{swap.client}.{swap.target}"
        _resolve(target)
    for new in family.names.values():
        _resolve(new)
    for sync_name, swap in family.types.items():
        sync_cls, async_cls = _resolve(sync_name), _resolve(swap.to)
        if not inspect.isclass(sync_cls):  # `threading.Lock` is a factory of `_thread.lock`
            sync_cls = type(sync_cls())
        methods = swap.awaited | swap.keep | set(swap.rename) | swap.async_iter | set(swap.unmapped)
        for method in methods | set(swap.unmapped_args):
            assert hasattr(sync_cls, method) or method in {"ok", "reason"} or sync_name.endswith("Response"), f"{sync_name}.{method}"
        for method in swap.awaited:
            new = swap.rename.get(method, method)
            assert _awaitable(getattr(async_cls, new)), f"{swap.to}.{new} is not awaitable"
        for method in swap.keep | swap.async_iter:
            new = swap.rename.get(method, method)
            assert hasattr(async_cls, new), f"{swap.to}.{new}"
            assert not _awaitable(getattr(async_cls, new)), f"{swap.to}.{new} is awaitable"


def test_redis_awaits_every_command_but_the_ones_it_keeps():
    _family_or_skip("redis")
    import redis.asyncio

    swap = TABLE.type_swap("redis.Redis")[1]
    for name in ("get", "setex", "delete", "hgetall", "publish"):
        assert swap.is_async_method(name)
        assert _awaitable(getattr(redis.asyncio.Redis, name))
    for name in swap.keep:
        assert not _awaitable(getattr(redis.asyncio.Redis, name)), name
