"""Output formats of the lint run. `--format json` is a public contract (see README)."""

from __future__ import annotations

import json
from typing import Sequence

from asyncmigrate.diagnostics import Diagnostic

FORMATS = ("text", "json")


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


RENDERERS = {"text": render_text, "json": render_json}


def render(fmt: str, diagnostics: Sequence[Diagnostic], files: int) -> str:
    return RENDERERS[fmt](diagnostics, files)
