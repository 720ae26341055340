"""The catalogue of APIs outside the project: one home for what rules and codemods
know about the standard library and popular libraries.

The knowledge itself is data (`knowledge/*.toml`); this module only loads it and
answers questions by qualified name. Names are normalised through the `aliases`
table on both sides, so `asyncio.locks.Lock` and `asyncio.Lock` are one name.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
import sys
from functools import lru_cache
from importlib import resources
from typing import Iterable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class NameSet:
    """Qualified names and `*`/`?` globs, matched as one set."""

    def __init__(self, patterns: Iterable[str]):
        self.exact: set[str] = set()
        globs = []
        for pattern in patterns:
            if any(ch in pattern for ch in "*?["):
                globs.append(fnmatch.translate(pattern))
            else:
                self.exact.add(pattern)
        self._regex = re.compile("|".join(globs)) if globs else None

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        if name in self.exact:
            return True
        return bool(self._regex and self._regex.match(name))


@lru_cache(maxsize=None)
def _load(name: str) -> dict:
    text = resources.files("asyncmigrate.knowledge").joinpath(name).read_text("utf-8")
    return tomllib.loads(text)


class BlockingEntry:
    """One family of blocking calls from `knowledge/blocking.toml` (or configuration)."""

    def __init__(self, data: dict):
        self.family: str = data["family"]
        self.code: str = data["code"]
        self.patterns: list[str] = list(data["names"])
        self.names = NameSet(self.patterns)
        #: may hold `{name}`, the qualified name of the call (see `describe`)
        self.message: str = data["message"]
        self.replacement: str = data.get("replacement", "")
        #: a drop-in awaitable with the same signature (`asyncio.sleep`), if any
        self.async_equivalent: str | None = data.get("async_equivalent")
        #: the argument that, given a literal False, makes the call return at once
        self.nonblocking_flag: str | None = data.get("nonblocking_flag")
        #: a literal 0 timeout makes the call return at once (`join(timeout=0)`)
        self.zero_timeout: bool = data.get("zero_timeout", False)

    def describe(self, qualified: str) -> str:
        """The message for one call: `requests.get` makes a blocking HTTP request..."""
        text = self.message.replace("{name}", qualified)
        if not self.replacement:
            return text
        # A user's hint is shown as written ("use myapp.db.aquery").
        lead = "" if self.code == CONFIGURED_CODE else "use "
        return f"{text}; {lead}{self.replacement}"


_FINGERPRINTED = ("blocking.toml", "async_apis.toml")

#: The code of user-configured blocking calls (`blocking-calls` in configuration).
CONFIGURED_CODE = "AM210"


class BlockingCatalogue:
    """What blocks the event loop, by qualified name. `match` answers for one call.

    The bundled entries come first; `configured` (pattern -> replacement hint, from
    `blocking-calls`) adds one AM210 entry per pattern, so each keeps its own hint.
    """

    def __init__(self, normalize=lambda name: name, configured: dict[str, str] | None = None):
        self.normalize = normalize
        self.entries = [BlockingEntry(e) for e in _load("blocking.toml")["entry"]]
        self.configured = [
            BlockingEntry(
                {
                    "family": "configured",
                    "code": CONFIGURED_CODE,
                    "names": [pattern],
                    "message": "`{name}` is configured as blocking (`" + pattern + "`)",
                    "replacement": hint,
                }
            )
            for pattern, hint in (configured or {}).items()
        ]

    def match(self, qualified: str) -> BlockingEntry | None:
        name = self.normalize(qualified)
        for entry in self.entries:
            if name in entry.names:
                return entry
        return self.match_configured(qualified)

    def match_configured(self, qualified: str) -> BlockingEntry | None:
        """Only the user's patterns: they also name project functions."""
        for entry in self.configured:
            if qualified in entry.names or self.normalize(qualified) in entry.names:
                return entry
        return None

    @property
    def fingerprint(self) -> str:
        """Changes whenever what `match` answers can change (for cached analyses)."""
        # Call resolution (factory return types) is data too: both files count.
        knowledge = resources.files("asyncmigrate.knowledge")
        text = "".join(knowledge.joinpath(n).read_text("utf-8") for n in _FINGERPRINTED)
        patterns = "\n".join(f"{e.patterns}={e.replacement}" for e in self.configured)
        return hashlib.blake2b(f"{text}\0{patterns}".encode(), digest_size=12).hexdigest()


class AsyncApiCatalogue:
    """What is known about async APIs: coroutine functions, async-only context
    managers and iterables, task factories, and factory return types."""

    def __init__(self, extra_coroutines: Iterable[str] = ()):
        data = _load("async_apis.toml")
        self.aliases: dict[str, str] = dict(
            sorted(data["aliases"].items(), key=lambda kv: -len(kv[0]))
        )
        norm = self.normalize
        self.coroutines = NameSet(
            [norm(n) for n in data["coroutines"]["names"]] + list(extra_coroutines)
        )
        self.async_context_managers = NameSet(
            norm(n) for n in data["async_context_managers"]["names"]
        )
        self.async_iterables = NameSet(norm(n) for n in data["async_iterables"]["names"])
        self.task_factories = NameSet(norm(n) for n in data["task_factories"]["names"])
        self.returns: dict[str, str] = {
            norm(k): norm(v) for k, v in data["returns"].items()
        }
        self.loop_runners = NameSet(norm(n) for n in data["loop_runners"]["names"])
        decorators = data["decorators"]
        self._decorator_effects = [
            (NameSet(decorators[kind]), kind) for kind in ("preserve", "to_sync", "to_async", "not_called")
        ]

    def is_loop_runner(self, name: str) -> bool:
        """Whether calling `name` runs an event loop until a coroutine completes."""
        name = self.normalize(name)
        return name in self.loop_runners or name.rsplit(".", 1)[-1] in (
            "run_until_complete",
            "run_forever",
        )

    def decorator_effect(self, name: str) -> str | None:
        """What a decorator does to calls of what it wraps: "preserve", "to_sync",
        "to_async", "not_called", or None when it is not known."""
        name = self.normalize(name)
        for names, kind in self._decorator_effects:
            if name in names:
                return kind
        return None

    def normalize(self, name: str) -> str:
        for prefix, replacement in self.aliases.items():
            if name == prefix or name.startswith(prefix + "."):
                return replacement + name[len(prefix) :]
        return name

    def is_coroutine_function(self, name: str) -> bool:
        return self.normalize(name) in self.coroutines

    def is_task_factory(self, name: str) -> bool:
        return self.normalize(name) in self.task_factories

    def is_async_only_context_manager(self, class_name: str) -> bool:
        return self.normalize(class_name) in self.async_context_managers

    def is_async_only_iterable(self, class_name: str) -> bool:
        return self.normalize(class_name) in self.async_iterables

    def return_type(self, function_name: str) -> str | None:
        return self.returns.get(self.normalize(function_name))
