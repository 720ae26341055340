"""Configuration: `[tool.asyncmigrate]` in pyproject.toml, read as TOML only.

Loading configuration never executes code, so the CI gate is safe on untrusted pull
requests. Unknown keys are errors: a misspelt `ignroe` that silently does nothing is
worse than a failed run.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

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
    ".eggs",
    "*.egg-info",
)

TEST_MARKERS = ("auto", "asyncio", "anyio", "none")
GATHER_STYLES = ("gather", "taskgroup")


@dataclass
class Config:
    """The effective settings for one run, with their defaults."""

    root: Path
    select: list[str] = field(default_factory=lambda: ["AM"])
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    #: qualified-name glob -> replacement hint ("" when none was given)
    blocking_calls: dict[str, str] = field(default_factory=dict)
    #: qualified-name globs of extra coroutine functions
    async_calls: list[str] = field(default_factory=list)
    bridge: str = "asgiref"
    stop_at: list[str] = field(default_factory=list)
    test_marker: str = "auto"
    #: how AM501's unsafe fix runs loop iterations concurrently (taskgroup: 3.11+)
    gather_style: str = "gather"
    source: Path | None = None

    @property
    def excludes(self) -> tuple[str, ...]:
        return DEFAULT_EXCLUDES + tuple(self.exclude)

    @property
    def fingerprint(self) -> str:
        """Changes whenever any setting does (a key for cached analyses)."""
        settings = json.dumps(asdict(self), default=str, sort_keys=True)
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
    "blocking-calls",
    "async-calls",
    "bridge",
    "stop-at",
    "test-marker",
    "gather-style",
}


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise UsageError(f"cannot read configuration {path}: {e.strerror}") from e
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{path}: invalid TOML: {e}") from e


def config_table(path: Path, data: dict[str, Any], explicit: bool) -> dict[str, Any] | None:
    """The asyncmigrate table of a TOML document.

    A pyproject.toml keeps it under `[tool.asyncmigrate]`; a file named with
    `--config` may also be a bare table (an `asyncmigrate.toml`).
    """
    table = data.get("tool", {}).get("asyncmigrate")
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
    table = config_table(path, read_toml(path), explicit)
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
        elif key == "blocking-calls":
            config.blocking_calls = _blocking_calls(value, path)
        elif key == "async-calls":
            config.async_calls = _string_list(key, value, path)
        elif key == "bridge":
            config.bridge = _choice(key, value, tuple(BRIDGES), path)
        elif key == "stop-at":
            config.stop_at = _string_list(key, value, path)
        elif key == "test-marker":
            config.test_marker = _choice(key, value, TEST_MARKERS, path)
        elif key == "gather-style":
            config.gather_style = _choice(key, value, GATHER_STYLES, path)
    return config
