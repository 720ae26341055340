"""Library swaps: which blocking client API becomes which async one (`knowledge/swaps.toml`).

The table is data, so the planner, the transformer, the coroutine catalogue (which
must know that `redis.asyncio.Redis.get` returns a coroutine for the self-check) and
the README all read the same facts. Users extend it with `[[tool.asyncmigrate.swaps]]`
in the same schema; `validate` checks a family before it is used, so a typo is a
usage error rather than a swap that silently does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .catalogue import _load

#: the keys a family and a type entry may have
FAMILY_KEYS = frozenset(
    {"family", "requirement", "python", "follow", "keywords", "unmapped_keywords", "client_keywords", "calls", "client_calls", "types", "names"}
)
TYPE_KEYS = frozenset({"to", "await", "rename", "keep", "async_iter", "unmapped", "unmapped_args", "with", "iterate"})


@dataclass(frozen=True)
class CallSwap:
    """What one call of a swappable API becomes."""

    family: str
    #: "factory" (callee renamed), "method" (method renamed on the same receiver)
    #: or "client" (a per-call client around the statement)
    form: str
    #: the new dotted callee (factory), the new method name (method, client)
    target: str
    awaited: bool
    #: why the call cannot be swapped ("" when it can)
    unmapped: str = ""
    #: the client class of a "client" call
    client: str = ""
    #: why a call that passes any argument cannot be swapped ("" when it can)
    unmapped_args: str = ""


@dataclass
class TypeSwap:
    name: str
    to: str
    awaited: frozenset[str]
    all_awaited: bool
    rename: dict[str, str]
    keep: frozenset[str]
    keep_all: bool
    async_iter: frozenset[str]
    unmapped: dict[str, str]
    with_: str
    iterate: str
    #: method -> why a call of it with arguments has no async form (`wait(5)`)
    unmapped_args: dict[str, str] = field(default_factory=dict)

    def attribute(self, name: str) -> tuple[str, str]:
        """An attribute read on an instance: (new name, why it cannot swap or "")."""
        if name in self.unmapped:
            return name, f"`{self.name}.{name}`: {self.unmapped[name]}"
        return self.rename.get(name, name), ""

    def method(self, family: str, name: str) -> CallSwap:
        new = self.rename.get(name, name)
        if name in self.unmapped:
            return CallSwap(family, "method", new, False, f"`{self.name}.{name}`: {self.unmapped[name]}")
        with_args = self.unmapped_args.get(name, "")
        if with_args:
            with_args = f"`{self.name}.{name}(...)` with arguments: {with_args}"
        if name in self.awaited or (self.all_awaited and name not in self.keep and name not in self.async_iter):
            return CallSwap(family, "method", new, True, unmapped_args=with_args)
        if name in self.keep or name in self.async_iter or self.keep_all or name in self.rename:
            return CallSwap(family, "method", new, False, unmapped_args=with_args)
        return CallSwap(
            family, "method", new, False,
            f"`{self.name}.{name}` has no known counterpart on `{self.to}` (add it to the swap's `await` or `keep`)",
        )

    def is_async_method(self, name: str) -> bool:
        """Whether `name`, a method of the async class, returns a coroutine."""
        originals = {new: old for old, new in self.rename.items()}
        old = originals.get(name, name)
        if old in self.unmapped or old in self.async_iter:
            return False
        return old in self.awaited or (self.all_awaited and old not in self.keep)


@dataclass
class Family:
    name: str
    requirement: str
    python: str
    keywords: dict[str, str]
    unmapped_keywords: dict[str, str]
    #: keywords a per-call client takes on its constructor instead (`verify=`)
    client_keywords: frozenset[str] = frozenset()
    calls: dict[str, CallSwap] = field(default_factory=dict)
    types: dict[str, TypeSwap] = field(default_factory=dict)
    #: names read (not called) that change with the swap: exceptions, annotations
    names: dict[str, str] = field(default_factory=dict)
    #: the family only follows: its calls never make code async (a lock is not
    #: I/O); it swaps only when every use is in code that becomes async anyway
    follow: bool = False


def _type(name: str, data: dict[str, Any]) -> TypeSwap:
    awaited = list(data.get("await", ()))
    keep = list(data.get("keep", ()))
    return TypeSwap(
        name=name,
        to=data["to"],
        awaited=frozenset(a for a in awaited if a != "*"),
        all_awaited="*" in awaited,
        rename=dict(data.get("rename", {})),
        keep=frozenset(k for k in keep if k != "*"),
        keep_all="*" in keep,
        async_iter=frozenset(data.get("async_iter", ())),
        unmapped=dict(data.get("unmapped", {})),
        with_=data.get("with", "no `with` form is known"),
        iterate=data.get("iterate", "no `for` form is known"),
        unmapped_args=dict(data.get("unmapped_args", {})),
    )


def _family(data: dict[str, Any], normalize: Callable[[str], str]) -> Family:
    name = data["family"]
    family = Family(
        name,
        data.get("requirement", ""),
        str(data.get("python", "3.8")),
        dict(data.get("keywords", {})),
        dict(data.get("unmapped_keywords", {})),
        frozenset(data.get("client_keywords", ())),
        follow=bool(data.get("follow", False)),
    )
    for sync, spec in data.get("calls", {}).items():
        family.calls[normalize(sync)] = CallSwap(name, "factory", spec["to"], bool(spec.get("await", False)))
    client_calls = data.get("client_calls", {})
    for sync, method in client_calls.get("names", {}).items():
        family.calls[normalize(sync)] = CallSwap(name, "client", method, True, client=client_calls["client"])
    for sync, spec in data.get("types", {}).items():
        family.types[normalize(sync)] = _type(sync, spec)
    family.names = {normalize(sync): new for sync, new in data.get("names", {}).items()}
    return family


def validate(data: Any, where: str) -> str | None:
    """What is wrong with one family's table, None when nothing is."""
    if not isinstance(data, dict):
        return f"{where}: a swap must be a table"
    unknown = sorted(set(data) - FAMILY_KEYS)
    if unknown:
        return f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(FAMILY_KEYS))})"
    if not isinstance(data.get("family"), str):
        return f"{where}: `family` (a name) is required"
    if not isinstance(data.get("follow", False), bool):
        return f"{where}: `follow` must be true or false"
    for sync, spec in data.get("calls", {}).items():
        if not isinstance(spec, dict) or not isinstance(spec.get("to"), str):
            return f"{where}: calls.{sync!r} must be {{ to = \"module.name\", await = true|false }}"
    client_calls = data.get("client_calls")
    if client_calls is not None and (
        not isinstance(client_calls, dict) or not isinstance(client_calls.get("client"), str)
        or not isinstance(client_calls.get("names", {}), dict)
    ):
        return f"{where}: client_calls needs `client` (a class) and `names` (function = method)"
    for sync, spec in data.get("types", {}).items():
        if not isinstance(spec, dict) or not isinstance(spec.get("to"), str):
            return f"{where}: types.{sync!r} needs `to` (the async class)"
        bad = sorted(set(spec) - TYPE_KEYS)
        if bad:
            return f"{where}: types.{sync!r}: unknown key(s) {', '.join(bad)} (known: {', '.join(sorted(TYPE_KEYS))})"
    return None


def bundled() -> list[dict[str, Any]]:
    return list(_load("swaps.toml")["swap"])


class SwapTable:
    """The bundled families, then the user's (a user family of the same name wins)."""

    def __init__(self, normalize: Callable[[str], str] = lambda n: n, configured: Iterable[dict] = ()):
        self.normalize = normalize
        families: dict[str, Family] = {}
        for data in [*bundled(), *configured]:
            family = _family(data, normalize)
            families[family.name] = family
        self.families = families
        self._calls: dict[str, CallSwap] = {}
        self._types: dict[str, tuple[Family, TypeSwap]] = {}
        self._async_types: dict[str, TypeSwap] = {}
        for family in families.values():
            self._calls.update(family.calls)
            for name, swap in family.types.items():
                self._types[name] = (family, swap)
                self._async_types[normalize(swap.to)] = swap

    def call(self, qualified: str) -> CallSwap | None:
        """The swap of a call whose callee resolves to `qualified`."""
        name = self.normalize(qualified)
        found = self._calls.get(name)
        if found is not None:
            return found
        owner, _, method = name.rpartition(".")
        entry = self._types.get(owner)
        if entry is None:
            return None
        return entry[1].method(entry[0].name, method)

    def type_swap(self, class_name: str) -> tuple[Family, TypeSwap] | None:
        return self._types.get(self.normalize(class_name))

    def is_coroutine_method(self, qualified: str) -> bool:
        """Whether `qualified` is an awaited method of a swap's async class."""
        owner, _, method = self.normalize(qualified).rpartition(".")
        swap = self._async_types.get(owner)
        return swap is not None and swap.is_async_method(method)

    def family(self, name: str) -> Family:
        return self.families[name]


def swap_table(table: SwapTable | None = None) -> str:
    """The bundled swaps as a Markdown table (the README embeds it; a test keeps it
    current)."""
    table = table or SwapTable()
    lines = ["| family | needs | calls | instances | not swapped (the family stays sync) |", "|---|---|---|---|---|"]
    for family in table.families.values():
        calls = [
            f"`{sync}` → `{spec.client}` per call (`.{spec.target}`)" if spec.form == "client"
            else f"`{sync}` → {'`await ' if spec.awaited else '`'}{spec.target}`"
            for sync, spec in family.calls.items()
        ]
        if any(s.form == "client" for s in family.calls.values()):
            clients = [c for c in calls if "per call" in c]
            calls = [c for c in calls if "per call" not in c]
            calls.append(f"{len(clients)} module functions (`{next(iter(s for s, v in family.calls.items() if v.form == 'client'))}`, ...) → one `async with` client per call")
        instances = []
        for sync, swap in family.types.items():
            forms = [f for f, ok in (("async with", swap.with_ == "async with"), ("async for", swap.iterate == "async for")) if ok]
            awaited = "every method but " + ", ".join(f"`{k}`" for k in sorted(swap.keep)) if swap.all_awaited else ", ".join(f"`{m}`" for m in sorted(swap.awaited))
            renamed = ", ".join(f"`{a}` → `{b}`" for a, b in sorted(swap.rename.items()))
            parts = [p for p in (f"awaits {awaited}" if awaited else "", f"renames {renamed}" if renamed else "", " and ".join(forms)) if p]
            instances.append(f"`{sync}` → `{swap.to}`" + (f": {'; '.join(parts)}" if parts else ""))
        refused = [f"`{k}=`" for k in sorted(family.unmapped_keywords)]
        refused += [f"`{t.rpartition('.')[2]}.{m}`" for t, s in family.types.items() for m in sorted(s.unmapped)]
        refused += [f"`{t.rpartition('.')[2]}.{m}(...)` with arguments" for t, s in family.types.items() for m in sorted(s.unmapped_args)]
        refused += [f"`with` over `{t.rpartition('.')[2]}`" for t, s in family.types.items() if s.with_ not in ("async with",) and "not a context manager" not in s.with_]
        if family.follow:
            refused.append("any use in code that stays sync (it follows: never a reason to make code async)")
        needs = f"`{family.requirement}`" if family.requirement else "the standard library"
        lines.append(
            f"| {family.name} | {needs} (Python ≥ {family.python}) | {'<br>'.join(calls)} | {'<br>'.join(instances)} | {', '.join(refused) or '–'} |"
        )
    return "\n".join(lines)
