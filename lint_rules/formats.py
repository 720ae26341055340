"""Output formats of the lint run. `--format json` is a public contract (see README).

- `text`: `path:line:column: CODE [*] message`, then a summary line; on a terminal
  (or with `--color always`) in colour, with the source line under each finding.
- `concise`: `text` without source excerpts; `full`: `text` with them, always.
- `json`: one array, one object per finding (the README documents the fields).
- `sarif`: SARIF 2.1.0 for code-scanning services (GitHub uploads it as-is).
- `github`: GitHub Actions workflow commands, which the runner turns into inline
  annotations on the pull request.
- `gitlab`: a GitLab Code Quality report; `junit`: JUnit XML, one test suite per
  file; `pylint`: `path:line: [CODE] message`. Each is laid out as Ruff's format of
  the same name, so CI set up for Ruff takes it unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence
from urllib.parse import quote
from xml.etree import ElementTree

import click

from asyncmigrate import __version__
from lint_rules.diagnostics import Diagnostic

from . import ALL_RULES
from . import docs

if TYPE_CHECKING:
    pass

FORMATS = ("text", "json", "sarif", "github", "gitlab", "junit", "pylint", "concise", "full")
#: The formats meant for people: colour, source excerpts, the summary line.
TEXT_FORMATS = ("text", "concise", "full")
#: The formats `--statistics` can print its counts in (as Ruff's).
STATISTICS_FORMATS = (*TEXT_FORMATS, "json")

#: Where the README (the user manual, with the rule table under "Rules") is
#: published: the package's page on PyPI shows it. SARIF rules link here.
README_URL = "https://pypi.org/project/asyncmigrate/"

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _no_source(display: str) -> list[str]:
    return []


@dataclass
class RenderOptions:
    """How a report is shown. The defaults give the plain text that scripts and the
    tests read, byte for byte."""

    #: ANSI styles (text formats only; never in a file)
    color: bool = False
    #: no summary line (`--quiet`)
    quiet: bool = False
    #: the source lines a finding's position refers to, by its display path
    sources: Callable[[str], list[str]] = _no_source
    #: lines shown after the findings, before the summary (the `--show-fixes` table)
    appendix: Sequence[str] = field(default_factory=list)


# -- text ------------------------------------------------------------------------


class _Style:
    """Ruff's palette, or nothing when colour is off."""

    def __init__(self, color: bool):
        self.color = color

    def __call__(self, text: str, **style: Any) -> str:
        return click.style(text, **style) if self.color else text

    def finding(self, d: Diagnostic) -> str:
        if not self.color:
            return d.text()
        sep = self(":", fg="cyan")
        mark = f" [{self('*', fg='cyan')}]" if d.fixable else ""
        code = self(d.code, fg="red", bold=True)
        return f"{self(d.path, bold=True)}{sep}{d.line}{sep}{d.column}{sep} {code}{mark} {d.message}"


def _shown(text: str) -> str:
    """A source line as the terminal should print it: tabs expanded, control
    characters as their visible symbols (they would move the cursor)."""
    return "".join(
        chr(0x2400 + ord(c)) if ord(c) < 0x20 else c for c in text.expandtabs(4)
    )


def _cells(text: str) -> int:
    """Terminal columns taken by `text`: wide East Asian characters take two,
    combining marks none."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def _excerpt(d: Diagnostic, lines: list[str], style: _Style) -> list[str]:
    """The finding's first source line with a caret under its span, as Ruff's full
    output; a span that runs on is underlined to the end of that line."""
    if not 0 < d.line <= len(lines):
        return [""]
    source = lines[d.line - 1]
    end = d.end_column if d.end_line == d.line else len(source.rstrip()) + 1
    start_cells = _cells(_shown(source[: d.column - 1]))
    width = max(1, _cells(_shown(source[: max(end, d.column) - 1])) - start_cells)
    number = str(d.line)
    pad = " " * len(number)
    bar = style("|", fg="blue", bold=True)
    carets = style("^" * width + " " + d.code, fg="red", bold=True)
    return [
        f"{pad} {bar}",
        f"{style(number, fg='blue', bold=True)} {bar} {_shown(source)}".rstrip(),
        f"{pad} {bar} {' ' * start_cells}{carets}",
        f"{pad} {bar}",
        "",
    ]


def summary_line(diagnostics: Sequence[Diagnostic], files: int) -> str:
    if not diagnostics:
        return f"All checks passed ({files} files checked)."
    fixable = sum(d.fixable for d in diagnostics)
    noun = "finding" if len(diagnostics) == 1 else "findings"
    summary = f"Found {len(diagnostics)} {noun} in {files} files checked."
    if fixable:
        summary += f" {fixable} fixable with `--fix`."
    return summary


def _text_report(
    body: list[str], diagnostics: Sequence[Diagnostic], files: int, options: RenderOptions
) -> str:
    lines = list(body)
    if options.appendix:
        lines += ["", *options.appendix, ""]
    if not options.quiet:
        lines.append(summary_line(diagnostics, files))
    return "".join(line + "\n" for line in lines)


def _text(
    diagnostics: Sequence[Diagnostic], files: int, options: RenderOptions, excerpts: bool
) -> str:
    style = _Style(options.color)
    body = []
    for d in diagnostics:
        body.append(style.finding(d))
        if excerpts:
            body += _excerpt(d, options.sources(d.path), style)
    return _text_report(body, diagnostics, files, options)


def render_text(diagnostics: Sequence[Diagnostic], files: int, options: RenderOptions) -> str:
    """Excerpts come with colour: a terminal gets them, a pipe keeps one line each."""
    return _text(diagnostics, files, options, excerpts=options.color)


def render_concise(diagnostics: Sequence[Diagnostic], files: int, options: RenderOptions) -> str:
    return _text(diagnostics, files, options, excerpts=False)


def render_full(diagnostics: Sequence[Diagnostic], files: int, options: RenderOptions) -> str:
    return _text(diagnostics, files, options, excerpts=True)


def render_json(diagnostics: Sequence[Diagnostic], files: int, options: RenderOptions) -> str:
    return json.dumps([d.to_json() for d in diagnostics], indent=2) + "\n"


# -- statistics and the fix summary ------------------------------------------------


def statistics(diagnostics: Sequence[Diagnostic]) -> list[dict[str, Any]]:
    """Counts per code, most frequent first (then by code), as Ruff's `--statistics`;
    `fixable` when `--fix` would fix every finding of the code."""
    counts = Counter(d.code for d in diagnostics)
    return [
        {
            "code": code,
            "name": docs.name_of(code),
            "count": count,
            "fixable": all(d.fixable for d in diagnostics if d.code == code),
        }
        for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def render_statistics(
    fmt: str, diagnostics: Sequence[Diagnostic], files: int, options: RenderOptions
) -> str:
    """flake8's `--statistics` layout, with Ruff's fix marks; JSON for `--format json`."""
    rows = statistics(diagnostics)
    if fmt == "json":
        return json.dumps(rows, indent=2) + "\n"
    style = _Style(options.color)
    count_width = max((len(str(r["count"])) for r in rows), default=1)
    code_width = max((len(r["code"]) for r in rows), default=0)
    any_fixable = any(r["fixable"] for r in rows)
    body = []
    for r in rows:
        mark = (f"[{style('*', fg='cyan')}] " if r["fixable"] else "[ ] ") if any_fixable else ""
        count = style(f"{r['count']:>{count_width}}", bold=True)
        code = style(f"{r['code']:<{code_width}}", fg="red", bold=True)
        body.append(f"{count}\t{code}\t{mark}{r['name']}".rstrip())
    return _text_report(body, diagnostics, files, options)


def fix_summary(fixes: Sequence[Diagnostic], applied: bool, color: bool = False) -> list[str]:
    """`--show-fixes`: per file, how many findings of each code were fixed (or would
    be), as Ruff's fix summary. Empty when there is nothing to list."""
    if not fixes:
        return []
    style = _Style(color)
    noun = "finding" if len(fixes) == 1 else "findings"
    header = f"Fixed {len(fixes)} {noun}:" if applied else f"Would fix {len(fixes)} {noun} with `--fix`:"
    lines = [style(header, fg="green", bold=True)]
    by_file: dict[str, Counter[str]] = {}
    for d in fixes:
        by_file.setdefault(d.path, Counter())[d.code] += 1
    width = max(len(str(n)) for counts in by_file.values() for n in counts.values())
    for path in sorted(by_file):
        lines.append(f"{style('-', fg='cyan')} {style(path, bold=True)}{style(':', fg='cyan')}")
        for code, count in sorted(by_file[path].items(), key=lambda item: (-item[1], item[0])):
            name = docs.name_of(code)
            label = f"{style(code, fg='red', bold=True)}" + (f" ({name})" if name else "")
            lines.append(f"    {count:>{width}} \u00d7 {label}")
    return lines


# -- SARIF ---------------------------------------------------------------------


def _descriptor(doc: docs.RuleDoc) -> dict[str, Any]:
    return {
        "id": doc.code,
        "name": doc.name,
        "shortDescription": {"text": doc.summary},
        "fullDescription": {"text": doc.description},
        "help": {"text": doc.description, "markdown": doc.explanation},
        "helpUri": f"{README_URL}#rules",
        "defaultConfiguration": {"level": "error"},
    }


def sarif_rules() -> list[dict[str, Any]]:
    """Every rule (and AM001, which every run checks), in code order."""
    return [_descriptor(docs.rule_doc(rule)) for rule in (*docs.FRAMEWORK_CODES, *ALL_RULES)]


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


def render_sarif(diagnostics: Sequence[Diagnostic], files: int, options: RenderOptions) -> str:
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


def render_github(diagnostics: Sequence[Diagnostic], files: int, options: RenderOptions) -> str:
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


# -- GitLab, JUnit, Pylint ----------------------------------------------------------


def _project_path(path: str) -> str:
    """The path GitLab resolves against the repository: relative to `CI_PROJECT_DIR`
    (as Ruff does; the working directory outside GitLab), posix separators."""
    base = os.environ.get("CI_PROJECT_DIR") or os.getcwd()
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute, base)
    except ValueError:  # another drive (Windows)
        relative = os.pardir
    return Path(absolute if relative.startswith(os.pardir) else relative).as_posix()


def render_gitlab(diagnostics: Sequence[Diagnostic], files: int, options: RenderOptions) -> str:
    """A GitLab Code Quality report. A fingerprint is the baseline's key of the
    finding (file, code, enclosing function, the line's text; no line number), so
    GitLab matches a finding across commits that move it; identical keys are told
    apart by order, as in Ruff."""
    from .baseline import fingerprint as line_fingerprint

    seen: set[str] = set()
    issues = []
    for d in diagnostics:
        path = _project_path(d.path)
        lines = options.sources(d.path)
        text = lines[d.line - 1] if 0 < d.line <= len(lines) else ""
        key = "\0".join((path, d.code, d.scope, line_fingerprint(text)))
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        while digest in seen:
            digest = hashlib.sha256(f"{digest}\0{key}".encode("utf-8")).hexdigest()
        seen.add(digest)
        issues.append(
            {
                "check_name": d.code,
                # GitLab's widget does not show check_name: the code leads the text.
                "description": f"{d.code}: {d.message}",
                "fingerprint": digest,
                "severity": "major",
                "location": {"path": path, "lines": {"begin": d.line, "end": d.end_line}},
            }
        )
    return json.dumps(issues, indent=2) + "\n"


def render_junit(diagnostics: Sequence[Diagnostic], files: int, options: RenderOptions) -> str:
    """JUnit XML as Ruff writes it: a test suite per file, a failed test case per
    finding, and one passing case when there is nothing to report (a report with no
    test at all reads as a broken job to some CI servers)."""
    root = ElementTree.Element(
        "testsuites",
        name="asyncmigrate",
        tests=str(len(diagnostics) or 1),
        failures=str(len(diagnostics)),
        errors="0",
    )
    by_file: dict[str, list[Diagnostic]] = {}
    for d in diagnostics:
        by_file.setdefault(d.path, []).append(d)
    if not by_file:
        suite = ElementTree.SubElement(
            root, "testsuite", name="asyncmigrate", tests="1", disabled="0", errors="0",
            failures="0", package="asyncmigrate",
        )
        ElementTree.SubElement(suite, "testcase", name="No errors found", classname="asyncmigrate")
    for path, found in by_file.items():
        suite = ElementTree.SubElement(
            root, "testsuite", name=path, tests=str(len(found)), disabled="0", errors="0",
            failures=str(len(found)), package="asyncmigrate",
        )
        classname = os.path.splitext(Path(path).as_posix())[0]
        for d in found:
            case = ElementTree.SubElement(
                suite, "testcase", name=f"asyncmigrate.{d.code}", classname=classname,
                line=str(d.line), column=str(d.column),
            )
            failure = ElementTree.SubElement(case, "failure", message=d.message)
            failure.text = f"line {d.line}, col {d.column}, {d.message}"
    ElementTree.indent(root, space="    ")
    body = ElementTree.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def render_pylint(diagnostics: Sequence[Diagnostic], files: int, options: RenderOptions) -> str:
    return "".join(f"{d.path}:{d.line}: [{d.code}] {d.message}\n" for d in diagnostics)


RENDERERS: dict[str, Callable[[Sequence[Diagnostic], int, RenderOptions], str]] = {
    "text": render_text,
    "concise": render_concise,
    "full": render_full,
    "json": render_json,
    "sarif": render_sarif,
    "github": render_github,
    "gitlab": render_gitlab,
    "junit": render_junit,
    "pylint": render_pylint,
}


def render(
    fmt: str, diagnostics: Sequence[Diagnostic], files: int, options: RenderOptions | None = None
) -> str:
    return RENDERERS[fmt](diagnostics, files, options or RenderOptions())
