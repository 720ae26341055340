"""Configuration: `[tool.asyncmigrate]` in pyproject.toml, read as TOML only.

Loading configuration never executes code, so the CI gate is safe on untrusted pull
requests. Unknown keys are errors: a misspelt `ignroe` that silently does nothing is
worse than a failed run.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

import pathspec

from .catalogue import BRIDGES
from .errors import UsageError

#: Directories never indexed or linted (the usual virtualenv, VCS and build dirs).
DEFAULT_EXCLUDES = (
    ".git",
    ".hg",
    ".svn",
    ".tox",
    ".nox",
    ".venv",
    "venv",
    ".env",
    "env",
    "__pycache__",
    "build",
    "dist",
    "node_modules",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".asyncmigrate_cache",
    "site-packages",
    "__pypackages__",
    ".eggs",
    "*.egg-info",
)

TEST_MARKERS = ("auto", "asyncio", "anyio", "none")
GATHER_STYLES = ("gather", "taskgroup")
#: Python versions a project can target, as Ruff spells them
TARGET_VERSIONS = tuple(f"py3{minor}" for minor in range(7, 15))
#: Settings that choose which findings are shown, not what any analysis computes:
#: left out of the fingerprint that keys cached analyses, so `--select` does not
#: invalidate them.
_PRESENTATION = frozenset(
    {"select", "ignore", "extend_select", "extend_ignore", "per_file_ignores", "source"}
)


@dataclass
class Config:
    """The effective settings for one run, with their defaults."""

    root: Path
    select: list[str] = field(default_factory=lambda: ["AM"])
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    extend_ignore: list[str] = field(default_factory=list)
    #: path glob (gitignore syntax, relative to the root) -> code prefixes
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    #: "py311": the oldest Python the project runs on (from `requires-python`
    #: when not set); None when unknown
    target_version: str | None = None
    #: name globs of functions that run only at start-up (added to naming.toml's)
    startup_functions: list[str] = field(default_factory=list)
    #: declared types the code does not say: `mod:Cls.attr` or `mod:func.local` ->
    #: `mod:Cls`, `pkg.mod.Cls` or `list[mod:Cls]`
    types: dict[str, str] = field(default_factory=dict)
    exclude: list[str] = field(default_factory=list)
    extend_exclude: list[str] = field(default_factory=list)
    #: skip what .gitignore files (and .git/info/exclude) ignore
    respect_gitignore: bool = True
    #: apply the excludes to paths named on the command line too
    force_exclude: bool = False
    #: qualified-name glob -> replacement hint ("" when none was given)
    blocking_calls: dict[str, str] = field(default_factory=dict)
    #: qualified-name globs of extra coroutine functions
    async_calls: list[str] = field(default_factory=list)
    #: the user's library swaps (same schema as knowledge/swaps.toml)
    swaps: list[dict[str, Any]] = field(default_factory=list)
    bridge: str = "asgiref"
    stop_at: list[str] = field(default_factory=list)
    #: methods asyncify may convert although they may override a third-party method
    allow_override: list[str] = field(default_factory=list)
    test_marker: str = "auto"
    #: how AM501's unsafe fix runs loop iterations concurrently (taskgroup: 3.11+)
    gather_style: str = "gather"
    source: Path | None = None

    @property
    def excludes(self) -> tuple[str, ...]:
        return DEFAULT_EXCLUDES + tuple(self.exclude) + tuple(self.extend_exclude)

    def ignored_in(self, rel: str) -> tuple[str, ...]:
        """The code prefixes that `per-file-ignores` ignores in file `rel` (relative
        to the root, with forward slashes)."""
        specs = _per_file_specs(tuple((glob, tuple(codes)) for glob, codes in self.per_file_ignores.items()))
        return tuple(code for spec, codes in specs if spec.match_file(rel) for code in codes)

    @property
    def fingerprint(self) -> str:
        """Changes whenever a setting that an analysis may read does (a key for
        cached analyses): every setting but those that only filter findings."""
        settings = {k: v for k, v in asdict(self).items() if k not in _PRESENTATION}
        settings = json.dumps(settings, default=str, sort_keys=True)
        return hashlib.blake2b(settings.encode(), digest_size=12).hexdigest()


def _string_list(key: str, value: Any, source: Path) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise UsageError(f"{source}: `{key}` must be a string or a list of strings")


def _blocking_calls(value: Any, source: Path) -> dict[str, str]:
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return dict(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return {pattern: "" for pattern in value}
    raise UsageError(
        f"{source}: `blocking-calls` must be a table of pattern = \"hint\" or a list "
        "of patterns"
    )


def _choice(key: str, value: Any, choices: tuple[str, ...], source: Path) -> str:
    if value not in choices:
        raise UsageError(
            f"{source}: `{key}` must be one of {', '.join(choices)}, not {value!r}"
        )
    return value


_KEYS = {
    "select",
    "extend-select",
    "ignore",
    "exclude",
    "extend-exclude",
    "respect-gitignore",
    "force-exclude",
    "blocking-calls",
    "async-calls",
    "bridge",
    "stop-at",
    "allow-override",
    "test-marker",
    "gather-style",
    "extend-ignore",
    "per-file-ignores",
    "target-version",
    "startup-functions",
    "types",
    "swaps",
}


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise UsageError(f"cannot read configuration {path}: {e.strerror}") from e
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{path}: invalid TOML: {e}") from e
    except UnicodeDecodeError as e:  # TOML is UTF-8 only
        raise UsageError(f"{path}: invalid TOML: not UTF-8 ({e.reason} at byte {e.start})") from e


def config_table(path: Path, data: dict[str, Any], explicit: bool) -> dict[str, Any] | None:
    """The asyncmigrate table of a TOML document.

    A pyproject.toml keeps it under `[tool.asyncmigrate]`; a file named with
    `--config` may also be a bare table (an `asyncmigrate.toml`).
    """
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise UsageError(f"{path}: `tool` must be a table")
    table = tool.get("asyncmigrate")
    if table is None and explicit and "tool" not in data:
        table = data
    if table is not None and not isinstance(table, dict):
        raise UsageError(f"{path}: [tool.asyncmigrate] must be a table")
    return table


def load_config(root: Path, config_file: Path | None = None) -> Config:
    """Settings for the project at `root`, from `config_file` or root/pyproject.toml."""
    explicit = config_file is not None
    path = config_file if explicit else root / "pyproject.toml"
    config = Config(root=root)
    if not explicit and not path.is_file():
        return config
    if explicit and not path.is_file():
        raise UsageError(f"configuration file not found: {path}")
    data = read_toml(path)
    config.target_version = _requires_python(data)
    table = config_table(path, data, explicit)
    if table is None:
        return config
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise UsageError(
            f"{path}: unknown key(s) in [tool.asyncmigrate]: {', '.join(unknown)} "
            f"(known: {', '.join(sorted(_KEYS))})"
        )
    config.source = path
    for key, value in table.items():
        if key == "select":
            config.select = _string_list(key, value, path)
        elif key == "extend-select":
            config.extend_select = _string_list(key, value, path)
        elif key == "ignore":
            config.ignore = _string_list(key, value, path)
        elif key == "exclude":
            config.exclude = _string_list(key, value, path)
        elif key == "extend-exclude":
            config.extend_exclude = _string_list(key, value, path)
        elif key in ("respect-gitignore", "force-exclude"):
            if not isinstance(value, bool):
                raise UsageError(f"{path}: `{key}` must be true or false")
            setattr(config, key.replace("-", "_"), value)
        elif key == "blocking-calls":
            config.blocking_calls = _blocking_calls(value, path)
        elif key == "async-calls":
            config.async_calls = _string_list(key, value, path)
        elif key == "bridge":
            config.bridge = _choice(key, value, tuple(BRIDGES), path)
        elif key == "stop-at":
            config.stop_at = _string_list(key, value, path)
        elif key == "allow-override":
            config.allow_override = _string_list(key, value, path)
        elif key == "test-marker":
            config.test_marker = _choice(key, value, TEST_MARKERS, path)
        elif key == "gather-style":
            config.gather_style = _choice(key, value, GATHER_STYLES, path)
        elif key == "extend-ignore":
            config.extend_ignore = _string_list(key, value, path)
        elif key == "per-file-ignores":
            config.per_file_ignores = _per_file_ignores(value, path)
        elif key == "target-version":
            config.target_version = _choice(key, value, TARGET_VERSIONS, path)
        elif key == "startup-functions":
            config.startup_functions = _string_list(key, value, path)
        elif key == "types":
            config.types = _declared_types(value, path)
        elif key == "swaps":
            config.swaps = _swaps(value, path)
    check_gather_style(config, path)
    return config


def check_gather_style(config: Config, where: object) -> None:
    """`asyncio.TaskGroup` exists from Python 3.11: a fix that writes it must not
    reach code that runs on an older one."""
    target = config.target_version
    if config.gather_style == "taskgroup" and target and TARGET_VERSIONS.index(target) < TARGET_VERSIONS.index("py311"):
        raise UsageError(
            f"{where}: `gather-style = \"taskgroup\"` needs target-version py311 or newer "
            f"(asyncio.TaskGroup is new in 3.11), not {target}"
        )


@functools.lru_cache(maxsize=16)
def _per_file_specs(table: tuple[tuple[str, tuple[str, ...]], ...]) -> list[tuple[pathspec.PathSpec, tuple[str, ...]]]:
    return [
        (pathspec.PathSpec.from_lines("gitwildmatch", [glob]), tuple(c.upper() for c in codes))
        for glob, codes in table
    ]


def _per_file_ignores(value: Any, source: Path) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        raise UsageError(f"{source}: `per-file-ignores` must be a table of \"glob\" = [codes]")
    return {glob: _string_list(f"per-file-ignores.{glob}", codes, source) for glob, codes in value.items()}


#: `types` values: a class (`mod:Cls` or dotted), or a container of them (`list[mod:Cls]`)
DECLARED_TYPE = re.compile(r"(?:(?P<container>\w+)\[(?P<items>[\w.]+(?::[\w.]+)?)\])|(?P<cls>[\w.]+(?::[\w.]+)?)")


def _declared_types(value: Any, source: Path) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise UsageError(f"{source}: `types` must be a table of \"module:Qual.name\" = \"type\"")
    for target, declared in value.items():
        if ":" not in target or DECLARED_TYPE.fullmatch(declared.strip()) is None:
            raise UsageError(
                f"{source}: `types`: {target!r} = {declared!r}: expected \"module:Class.attr\" (or "
                "\"module:function.local\") = \"module:Class\", \"pkg.module.Class\" or \"list[module:Class]\""
            )
    return {target: declared.strip() for target, declared in value.items()}


def _swaps(value: Any, source: Path) -> list[dict[str, Any]]:
    """`[[tool.asyncmigrate.swaps]]`: the user's library swaps, checked against the
    bundled table's schema (`asyncmigrate/swaps.py`)."""
    from .swaps import validate

    if not isinstance(value, list):
        raise UsageError(f"{source}: `swaps` must be an array of tables ([[tool.asyncmigrate.swaps]])")
    for n, family in enumerate(value):
        problem = validate(family, f"{source}: swaps[{n}]")
        if problem:
            raise UsageError(problem)
    return value


def _requires_python(data: dict[str, Any]) -> str | None:
    """The target version implied by `[project] requires-python` (its lower bound),
    as Ruff infers it."""
    spec = data.get("project", {}).get("requires-python") if isinstance(data.get("project"), dict) else None
    match = re.search(r">=?\s*3\.(\d+)", spec) if isinstance(spec, str) else None
    version = f"py3{match.group(1)}" if match else None
    return version if version in TARGET_VERSIONS else None
