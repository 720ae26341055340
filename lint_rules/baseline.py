"""Baselines: freeze today's findings so that the gate fails only on new ones.

A finding is keyed by its file, its code, the enclosing function's qualified name
and a fingerprint of its line's text with whitespace normalized, never by line
number, so that edits elsewhere in the file do not resurface it. Keys are counted:
two identical findings in one function need two entries, and a third one is new.

Paths are stored relative to the baseline file's directory, so the gate matches
whether it is run as `lint .`, `lint src` or by pre-commit on single files.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, NamedTuple

from lint_rules.diagnostics import Diagnostic
from asyncmigrate.errors import UsageError
from asyncmigrate.fileio import write_result

from .engine import FileResult
from .source import SourceLines

VERSION = 1


class BaselineKey(NamedTuple):
    path: str
    code: str
    scope: str
    fingerprint: str


def fingerprint(line_text: str) -> str:
    normalized = " ".join(line_text.split())
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()[:16]


class KeyMaker:
    """Keys for the diagnostics of one run, relative to the baseline's directory."""

    def __init__(self, baseline_file: Path, results: Iterable[FileResult]):
        self.base = os.path.abspath(baseline_file.parent)
        self._source_lines = SourceLines(results)
        #: the display paths of the files this run checked
        self.displays = list(self._source_lines.results)

    def path(self, display: str) -> str:
        absolute = os.path.abspath(display)
        rel = os.path.relpath(absolute, self.base)
        if rel.startswith(os.pardir):
            return Path(absolute).as_posix()
        return Path(rel).as_posix()

    def key(self, d: Diagnostic) -> BaselineKey:
        lines = self._source_lines(d.path)
        text = lines[d.line - 1] if 0 < d.line <= len(lines) else ""
        return BaselineKey(self.path(d.path), d.code, d.scope, fingerprint(text))


@dataclass
class Comparison:
    new: list[Diagnostic]
    #: baselined findings, in the files and codes checked, that are gone
    fixed: list[dict[str, str]]


def write(baseline_file: Path, diagnostics: Iterable[Diagnostic], keys: KeyMaker) -> int:
    entries = []
    for d in diagnostics:
        key = keys.key(d)
        entries.append({**key._asdict(), "message": d.message})
    entries.sort(key=lambda e: (e["path"], e["code"], e["scope"], e["fingerprint"], e["message"]))
    data = {"version": VERSION, "tool": "asyncmigrate", "findings": entries}
    write_result(
        baseline_file, (json.dumps(data, indent=2) + "\n").encode("utf-8"),
        f"baseline {baseline_file}",
    )
    return len(entries)


def load(baseline_file: Path) -> list[dict[str, str]]:
    try:
        data = json.loads(baseline_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"baseline not found: {baseline_file} (create it with --write-baseline)"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise UsageError(f"cannot read baseline {baseline_file}: {e}") from None
    fields = BaselineKey._fields
    entries = data.get("findings") if isinstance(data, dict) else None
    if (
        not isinstance(data, dict)
        or data.get("version") != VERSION
        or not isinstance(entries, list)
        or not all(isinstance(e, dict) and all(isinstance(e.get(f), str) for f in fields) for e in entries)
    ):
        raise UsageError(
            f"{baseline_file} is not an asyncmigrate baseline (version {VERSION}); "
            "write it again with --write-baseline"
        )
    return entries


def compare(
    entries: list[dict[str, str]],
    diagnostics: Iterable[Diagnostic],
    keys: KeyMaker,
    codes: set[str],
) -> Comparison:
    remaining = Counter(BaselineKey(*(e[f] for f in BaselineKey._fields)) for e in entries)
    new = []
    for d in diagnostics:
        key = keys.key(d)
        if remaining[key] > 0:
            remaining[key] -= 1
        else:
            new.append(d)
    # Only a file that was checked, for a code that was checked, can show a finding
    # as gone: pre-commit names a few files, and --select narrows the codes.
    checked = {keys.path(display) for display in keys.displays}
    fixed = []
    for entry in entries:
        key = BaselineKey(*(entry[f] for f in BaselineKey._fields))
        if remaining[key] > 0 and key.path in checked and key.code in codes:
            remaining[key] -= 1
            fixed.append(entry)
    return Comparison(new, fixed)
