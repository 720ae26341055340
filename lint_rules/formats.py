"""Output formats of the lint run. `--format json` is a public contract (see README).

- `text`: `path:line:column: CODE [*] message`, then a summary line.
- `json`: one array, one object per finding (the README documents the fields).
- `sarif`: SARIF 2.1.0 for code-scanning services (GitHub uploads it as-is).
- `github`: GitHub Actions workflow commands, which the runner turns into inline
  annotations on the pull request.
"""

from __future__ import annotations

import inspect
import json
import os
import re
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import quote

from asyncmigrate import __version__
from lint_rules.diagnostics import PARSE_ERROR, Diagnostic

from . import ALL_RULES
from . import docs

FORMATS = ("text", "json", "sarif", "github")

#: Where the README (the user manual, with the rule table under "Rules") is
#: published: the package's page on PyPI shows it. SARIF rules link here.
README_URL = "https://pypi.org/project/asyncmigrate/"

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def render_text(diagnostics: Sequence[Diagnostic], files: int) -> str:
    lines = [d.text() for d in diagnostics]
    if diagnostics:
        fixable = sum(d.fixable for d in diagnostics)
        noun = "finding" if len(diagnostics) == 1 else "findings"
        summary = f"Found {len(diagnostics)} {noun} in {files} files checked."
        if fixable:
            summary += f" {fixable} fixable with `--fix`."
        lines.append(summary)
    else:
        lines.append(f"All checks passed ({files} files checked).")
    return "\n".join(lines) + "\n"


def render_json(diagnostics: Sequence[Diagnostic], files: int) -> str:
    return json.dumps([d.to_json() for d in diagnostics], indent=2) + "\n"


# -- SARIF ---------------------------------------------------------------------


def _descriptor(code: str, name: str, short: str, full: str, markdown: str) -> dict[str, Any]:
    return {
        "id": code,
        "name": name,
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "help": {"text": full, "markdown": markdown},
        "helpUri": f"{README_URL}#rules",
        "defaultConfiguration": {"level": "error"},
    }


def sarif_rules() -> list[dict[str, Any]]:
    """Every rule (and AM001, which no rule class reports), in code order."""
    parse_error = "A file that cannot be read, decoded or parsed; other rules cannot run on it."
    rules = [_descriptor(PARSE_ERROR, "ParseError", parse_error, parse_error, parse_error)]
    for rule in ALL_RULES:
        doc = inspect.getdoc(rule) or ""
        full = " ".join(_section(doc, title) for title in ("What it does", "Why is this bad?"))
        rules.append(_descriptor(rule.CODE, rule.__name__, docs.summary(rule), full.strip(), doc))
    return rules


def _section(doc: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", doc, re.S | re.M)
    return " ".join(match.group(1).split()) if match else ""


def _uri(path: str) -> str:
    """A relative URI reference for a relative path (resolved against the checkout by
    code scanning), a file: URI for an absolute one."""
    normal = os.path.normpath(path)
    if os.path.isabs(normal):
        return Path(normal).as_uri()
    return quote(Path(normal).as_posix())


def _region(d: Diagnostic) -> dict[str, int]:
    # Columns are code points (LibCST's), declared by the run's columnKind; the end
    # column is exclusive in both.
    return {
        "startLine": d.line,
        "startColumn": d.column,
        "endLine": d.end_line,
        "endColumn": d.end_column,
    }


def _result(d: Diagnostic, rule_index: dict[str, int]) -> dict[str, Any]:
    location = {"artifactLocation": {"uri": _uri(d.path)}, "region": _region(d)}
    result: dict[str, Any] = {
        "ruleId": d.code,
        "level": "error",
        "message": {"text": d.message},
        "locations": [{"physicalLocation": location}],
    }
    if d.code in rule_index:
        result["ruleIndex"] = rule_index[d.code]
    if d.edits:
        replacements = [
            {
                "deletedRegion": {
                    "startLine": e.line,
                    "startColumn": e.column,
                    "endLine": e.end_line,
                    "endColumn": e.end_column,
                },
                "insertedContent": {"text": e.text},
            }
            for e in d.edits
        ]
        change = {"artifactLocation": {"uri": _uri(d.path)}, "replacements": replacements}
        result["fixes"] = [
            {"description": {"text": f"Apply the {d.code} fix"}, "artifactChanges": [change]}
        ]
    return result


def render_sarif(diagnostics: Sequence[Diagnostic], files: int) -> str:
    rules = sarif_rules()
    rule_index = {rule["id"]: i for i, rule in enumerate(rules)}
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "asyncmigrate",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": README_URL,
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": [_result(d, rule_index) for d in diagnostics],
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"


# -- GitHub Actions --------------------------------------------------------------


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(diagnostics: Sequence[Diagnostic], files: int) -> str:
    lines = []
    for d in diagnostics:
        props = ",".join(
            f"{key}={_escape_property(str(value))}"
            for key, value in (
                ("file", Path(os.path.normpath(d.path)).as_posix()),
                ("line", d.line),
                ("col", d.column),
                ("endLine", d.end_line),
                ("endColumn", d.end_column),
                ("title", d.code),
            )
        )
        lines.append(f"::error {props}::{_escape_data(d.message)}")
    return "".join(line + "\n" for line in lines)


RENDERERS = {
    "text": render_text,
    "json": render_json,
    "sarif": render_sarif,
    "github": render_github,
}


def render(fmt: str, diagnostics: Sequence[Diagnostic], files: int) -> str:
    return RENDERERS[fmt](diagnostics, files)
