"""The catalogue of APIs outside the project: one home for what rules and codemods
know about the standard library and popular libraries.

The knowledge itself is data (`knowledge/*.toml`); this module only loads it and
answers questions by qualified name. Names are normalised through the `aliases`
table on both sides, so `asyncio.locks.Lock` and `asyncio.Lock` are one name.

`AsyncApiCatalogue` and `BlockingCatalogue` are per project (configuration extends
them); the project-independent tables are loaded once, here: `STATE`, `PROTOCOLS`,
`NAMING` and `BRIDGES`. `knowledge_fingerprint()` covers every knowledge file.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
import sys
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Iterable, Mapping, NamedTuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable


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


def knowledge_dir() -> Traversable:
    """The directory of the bundled `*.toml` knowledge files."""
    return resources.files("asyncmigrate.knowledge")


@lru_cache(maxsize=None)
def _load(name: str) -> dict:
    return tomllib.loads(knowledge_dir().joinpath(name).read_text("utf-8"))


def knowledge_fingerprint() -> str:
    """A digest of every knowledge file, name and raw bytes: it changes whenever any
    bundled table can change an answer, so it can key cached analyses."""
    digest = hashlib.blake2b(digest_size=12)
    for entry in sorted(knowledge_dir().iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            data = entry.read_bytes()
            digest.update(f"{entry.name}:{len(data)}\n".encode())
            digest.update(data)
    return digest.hexdigest()


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

    def returns_at_once(self, arguments: Iterable[tuple[str | None, Any]], count: int) -> bool:
        """The non-blocking forms, from the call's literal arguments as `(keyword or
        None, value)` and the number of arguments: `lock.acquire(blocking=False)`, `queue.get(False)`,
        `pool.shutdown(wait=False)`, `thread.join(timeout=0)`, `event.wait(0)`."""
        for keyword, value in arguments:
            if self.nonblocking_flag and value is False and keyword in (None, self.nonblocking_flag):
                return True
            if (
                self.zero_timeout
                and not isinstance(value, bool)
                and value == 0
                and (keyword == "timeout" or (keyword is None and count == 1))
            ):
                return True
        return False

    def describe(self, qualified: str) -> str:
        """The message for one call: `requests.get` makes a blocking HTTP request..."""
        text = self.message.replace("{name}", qualified)
        if not self.replacement:
            return text
        # A user's hint is shown as written ("use myapp.db.aquery").
        lead = "" if self.code == CONFIGURED_CODE else "use "
        return f"{text}; {lead}{self.replacement}"


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
        # Call resolution (factory return types) is data too: every file counts.
        patterns = "\n".join(f"{e.patterns}={e.replacement}" for e in self.configured)
        text = f"{knowledge_fingerprint()}\0{patterns}"
        return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


class AsyncApiCatalogue:
    """What is known about async APIs: coroutine functions, async-only context
    managers and iterables, task factories, factory return types, decorators, and
    the calls that consume coroutines or callbacks.

    The tables after `loop_runners` are matched as written (the resolver has
    already normalised the names it gives)."""

    def __init__(self, extra_coroutines: Iterable[str] = ()):
        data = _load("async_apis.toml")
        self.aliases: dict[str, str] = dict(
            sorted(data["aliases"].items(), key=lambda kv: -len(kv[0]))
        )
        #: the library swaps (`asyncmigrate.swaps.SwapTable`, set by the project):
        #: their async classes' awaited methods are coroutines
        self.swaps = None
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
        modes = data["file_modes"]
        #: file openers -> the position of their mode argument
        self.file_openers: dict[str, int] = {norm(k): v for k, v in modes["openers"].items()}
        self._file_classes = {
            kind: norm(modes[kind]) for kind in ("text", "binary_read", "binary_write", "binary_update")
        }
        self.loop_runners = NameSet(norm(n) for n in data["loop_runners"]["names"])
        #: external methods that run a loop whatever their class (`run_until_complete`)
        self.loop_runner_methods = frozenset(data["loop_runners"]["methods"])
        #: calls that make a function which runs a loop when called (`async_to_sync`)
        self.loop_wrappers = NameSet(norm(n) for n in data["loop_runners"]["wrappers"])
        decorators = data["decorators"]
        self._decorator_effects = [
            (NameSet(decorators[kind]), kind) for kind in ("preserve", "to_sync", "to_async", "not_called")
        ]
        #: decorators that work unchanged on a coroutine function
        self.coroutine_safe_decorators = NameSet(decorators["coroutine_safe"])
        #: decorators that make a generator function a (async) context-manager factory
        self.context_manager_decorators = NameSet(decorators["context_manager"])
        self.async_context_manager_decorators = NameSet(decorators["async_context_manager"])
        self.implicit_loop_getters = NameSet(data["implicit_loop_getters"]["names"])
        #: calls that consume a coroutine object passed to them
        self.coroutine_consumers = NameSet(data["coroutine_consumers"]["names"])
        #: calls that use their argument as a plain value
        self.value_consumers = NameSet(data["value_consumers"]["names"])
        #: classes a coroutine is never an instance of (`int`, `str`, `list`)
        self.plain_value_types = frozenset(data["plain_value_types"]["names"])
        callbacks = data["callbacks"]
        #: calls that call a callable synchronously in the caller
        self.sync_callbacks = NameSet(callbacks["sync"])
        #: calls that call a callable on another thread, or after the loop has stopped
        self.thread_callbacks = NameSet(callbacks["thread"])
        #: calls that accept a coroutine function as a value
        self.coroutine_function_consumers = NameSet(callbacks["coroutine_function"])
        #: test-case bases whose runner never awaits a test method, and those that do
        self.sync_test_cases = NameSet(data["test_cases"]["sync"])
        self.async_test_cases = NameSet(data["test_cases"]["async"])
        libraries = data["async_libraries"]
        self._async_packages = frozenset(libraries["packages"])
        self._async_modules = tuple(libraries["modules"])

    def is_async_library(self, module: str) -> bool:
        """Whether importing `module` makes the importer async code."""
        return module.split(".")[0] in self._async_packages or module.startswith(self._async_modules)

    def is_loop_runner(self, name: str) -> bool:
        """Whether calling `name` runs an event loop until a coroutine completes."""
        name = self.normalize(name)
        return name in self.loop_runners or name.rsplit(".", 1)[-1] in self.loop_runner_methods

    def is_loop_wrapper(self, name: str) -> bool:
        """Whether calling `name` makes a function that runs a loop (`async_to_sync`)."""
        return self.normalize(name) in self.loop_wrappers

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
        name = self.normalize(name)
        return name in self.coroutines or (self.swaps is not None and self.swaps.is_coroutine_method(name))

    def is_task_factory(self, name: str) -> bool:
        return self.normalize(name) in self.task_factories

    def is_async_only_context_manager(self, class_name: str) -> bool:
        return self.normalize(class_name) in self.async_context_managers

    def is_async_only_iterable(self, class_name: str) -> bool:
        return self.normalize(class_name) in self.async_iterables

    def return_type(self, function_name: str, literals: dict[str, str] | None = None) -> str | None:
        """The class of what calling `function_name` returns. `literals` are the
        call's string-literal arguments by position ("0", "1") or keyword: a file
        opener's mode among them decides the file class."""
        name = self.normalize(function_name)
        position = self.file_openers.get(name)
        if position is not None and literals:
            mode = literals.get("mode", literals.get(str(position)))
            if mode is not None:
                return self.file_class(mode)
        return self.returns.get(name)

    def file_class(self, mode: str) -> str:
        """The class `open(..., mode)` returns: binary modes are buffered (reader,
        writer, or random access with "+"), text modes a TextIOWrapper."""
        if "b" not in mode:
            return self._file_classes["text"]
        if "+" in mode:
            return self._file_classes["binary_update"]
        return self._file_classes["binary_read" if "r" in mode else "binary_write"]


class StateKnowledge:
    """`knowledge/state.toml`: what makes state shared by the tasks on a loop, what
    changes it and what guards it."""

    def __init__(self, data: dict):
        containers = data["mutable_containers"]
        #: calls that build a fresh mutable container
        self.mutable_factories = frozenset(containers["factories"])
        #: methods that change a container in place
        self.mutating_methods = frozenset(containers["mutating_methods"])
        #: methods whose first argument names the item they touch
        self.keyed_methods = frozenset(containers["keyed_methods"])
        #: methods that read a container without changing it
        self.keyed_reads = frozenset(containers["keyed_reads"])
        self.thread_local_classes = frozenset(data["thread_locals"]["classes"])
        #: context managers that serialize the tasks holding them
        self.lock_classes = frozenset(data["locks"]["classes"])


class ProtocolKnowledge:
    """`knowledge/protocols.toml`: method names with protocol meaning."""

    def __init__(self, data: dict):
        by_statement = data["async_dunders"]
        #: sync dunder -> its async form (`__enter__` -> `__aenter__`)
        self.async_dunders: Mapping[str, str] = MappingProxyType(
            {sync: async_ for table in by_statement.values() for sync, async_ in table.items()}
        )
        #: the dunders that change together, one tuple per protocol
        self.protocols: tuple[tuple[str, ...], ...] = tuple(tuple(t) for t in by_statement.values())
        #: methods that drive or finish a coroutine by hand
        self.coroutine_methods = frozenset(data["coroutine"]["methods"])
        #: bases that add no methods beyond `object`'s
        self.marker_bases = frozenset(data["marker_bases"]["names"])
        iteration = data["sync_iteration"]
        #: builtins that read a whole iterable with plain `for` (`list`, `str.join`)
        self.eager_iterators = frozenset(iteration["eager"])
        #: every builtin that iterates with plain `for`, the eager ones included
        self.sync_iterators = self.eager_iterators | frozenset(iteration["lazy"])


class NamingHeuristics:
    """`knowledge/naming.toml`: tool policy, words that guess a name's intent where
    types cannot tell. The matching is the callers'."""

    def __init__(self, data: dict):
        self.process_wide_words = tuple(data["process_wide_state"]["words"])
        self.configuring_words = tuple(data["configuring_functions"]["words"])
        self.lifecycle_names = tuple(data["lifecycle_functions"]["names"])
        self.lock_words = tuple(data["locks"]["words"])
        self.startup_names = tuple(data["startup_functions"]["names"])
        ordered = data["ordered_calls"]
        self.ordered_methods = frozenset(ordered["methods"])
        self.ordered_prefixes = tuple(ordered["prefixes"])
        self.ordered_words = tuple(ordered["words"])
        self.serial_receivers = frozenset(ordered["serial_receivers"])
        self.coroutine_prefixes = tuple(ordered["coroutine_prefixes"])
        self.serial_types = tuple(ordered["serial_types"])
        self.rarely_waiting_words = tuple(data["rarely_waiting_calls"]["words"])
        self.concurrent_types = frozenset(ordered["concurrent_types"])
        start = data["start_only_awaits"]
        self.start_only_methods = frozenset(start["methods"])
        self.zero_sleeps = frozenset(start["zero_sleeps"])
        self.intended_order_phrases = tuple(data["intended_order"]["phrases"])
        self.intended_order_exceptions = tuple(data["intended_order"]["not_phrases"])


class Bridge(NamedTuple):
    """How sync code runs a coroutine function to completion (`[bridges]` in
    `knowledge/async_apis.toml`)."""

    name: str
    #: the qualified name of the function that runs it
    function: str
    #: "function": `function(f)(args)`; "call": `function(f(args))`
    wraps: str
    #: "name": `from module import function`; "module": `import module`
    imports: str
    #: the distribution code using it must depend on ("" for the standard library)
    package: str = ""


STATE = StateKnowledge(_load("state.toml"))
PROTOCOLS = ProtocolKnowledge(_load("protocols.toml"))
NAMING = NamingHeuristics(_load("naming.toml"))
#: the `bridge` choices, in order, and how each one runs a coroutine function
BRIDGES: Mapping[str, Bridge] = MappingProxyType(
    {name: Bridge(name, **facts) for name, facts in _load("async_apis.toml")["bridges"].items()}
)
