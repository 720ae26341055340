"""Which rules run: Ruff's selection model, and the check that every selector names a code.

Codes are selected by prefix (`AM`, `AM2`, `AM201`); the longest matching prefix
between the selected and the ignored ones wins. Rules that are off by default run
only when their exact code is selected. `per-file-ignores` maps path globs
(gitignore syntax, relative to the project root) to the prefixes ignored there.

A selector that names no code is an error, never a silent green run: a CI gate
with `--select AM999` (or `E501`, or `select = ["AM9"]`) would otherwise pass forever.
"""

from __future__ import annotations

from typing import Iterable

from asyncmigrate.config import Config
from asyncmigrate.errors import UsageError

from .docs import FRAMEWORK_CODES
from .rules import ALL_RULES

#: Codes of the engine itself (AM001, AM002) that run only when selected by their
#: exact code.
_OFF_BY_DEFAULT = {code.CODE for code in FRAMEWORK_CODES if not getattr(code, "DEFAULT_ENABLED", True)}


def known_codes() -> list[str]:
    return sorted({code.CODE for code in (*FRAMEWORK_CODES, *ALL_RULES)})


def _prefixes() -> list[str]:
    return sorted({code[:n] for code in known_codes() for n in range(2, len(code) + 1)})


def check_codes(codes: Iterable[str], where: str) -> None:
    """Raise a usage error for the first selector in `codes` that names no code."""
    prefixes = set(_prefixes())
    for code in codes:
        if code.upper() in prefixes:
            continue
        close = _closest(code.upper())
        hint = f"; did you mean `{close}`?" if close else " (asyncmigrate's codes are AM001-AM503: `asyncmigrate rules` lists them)"
        raise UsageError(f"{where}: unknown rule code or prefix `{code}`{hint}")


def _edits(a: str, b: str) -> int:
    """Levenshtein distance: codes are short, and a typo is one or two edits."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]


def _closest(code: str) -> str | None:
    """The known code or prefix a mistyped selector most likely meant."""
    candidates = _prefixes() if len(code) < 5 else known_codes()
    best = min(candidates, key=lambda c: (_edits(code, c), c))
    return best if _edits(code, best) <= 2 else None


def check_config(config: Config) -> None:
    """Every selector of the configuration file names a code."""
    where = f"{config.source}: " if config.source else ""
    for key, codes in (
        ("select", config.select),
        ("extend-select", config.extend_select),
        ("ignore", config.ignore),
        ("extend-ignore", config.extend_ignore),
    ):
        check_codes(codes, f"{where}{key}")
    for glob, codes in config.per_file_ignores.items():
        check_codes(codes, f"{where}per-file-ignores[{glob!r}]")


def rule_enabled(config: Config, code: str, default_on: bool = True) -> bool:
    """Whether `code` runs under `config`: the longest matching prefix between the
    selected and the ignored ones wins; off-by-default codes need their exact code."""
    selected = [*config.select, *config.extend_select]
    ignored = [*config.ignore, *config.extend_ignore]
    best_select = max((len(p) for p in selected if code.startswith(p)), default=-1)
    best_ignore = max((len(p) for p in ignored if code.startswith(p)), default=-1)
    if best_select < 0 or best_ignore >= best_select:
        return False
    if not default_on or code in _OFF_BY_DEFAULT:
        return code in selected
    return True


def select_rules(config: Config) -> list[type]:
    """The rule classes that run under `config`, in code order."""
    return [rule for rule in ALL_RULES if rule_enabled(config, rule.CODE, rule.DEFAULT_ENABLED)]
