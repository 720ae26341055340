"""Lint one file fast: parse once, run every selected rule in one batched pass.

Speed comes from doing less, not from doing it cleverly:
- a rule's `wants_file` check (on the cached index summary and the raw text) skips
  the parse entirely for files that cannot have its findings;
- no metadata provider runs on the whole tree up front: rules track their scopes
  themselves, and positions are computed only for files that have findings;
- comment suppressions are read from the text, not from parent-node metadata.
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from asyncmigrate import syntax
from asyncmigrate.analysis import Project
from asyncmigrate.project import relpath
from lint_rules.diagnostics import PARSE_ERROR, UNUSED_NOQA, Diagnostic, TextEdit
from lint_rules.rule import FileContext, ModuleFix, ProjectContextProvider, Reporter, module_fix

from .source import decode_source
from .suppression import Suppressions, unused_noqa

#: Whole-module fixes (AM201's import edits) take one round each.
MAX_FIX_ROUNDS = 32


@dataclass
class Finding:
    diagnostic: Diagnostic
    node: cst.CSTNode | None = None
    replacement: Any = None


@dataclass
class FileResult:
    path: Path
    display: str
    diagnostics: list[Diagnostic]
    #: the rewritten source when fixes changed the file
    fixed: bytes | None = None
    fixes_applied: int = 0
    original: bytes | None = None
    #: the findings that fixes removed, as reported before each fix round
    fixed_diagnostics: list[Diagnostic] = field(default_factory=list)
    #: the content hash of the text linted (set by the runner, for its cache)
    source_hash: str | None = None


def _error(display: str, message: str, line: int = 1, column: int = 1) -> Diagnostic:
    return Diagnostic(display, line, column, line, column, PARSE_ERROR, message)


def _not_indexed(syntax_error: str) -> str:
    """AM001 for a statement LibCST reads but this Python's parser does not."""
    running = ".".join(map(str, sys.version_info[:2]))
    return (
        f"statement not analysed: Python {running}, which runs asyncmigrate, cannot parse it "
        f"({syntax_error}); if it is newer syntax (PEP 695 generics, 3.12 f-strings), run "
        "asyncmigrate under a Python that has it, or findings in it and through it are missed"
    )


def _order(finding: Finding) -> tuple[int, int, str]:
    return (finding.diagnostic.line, finding.diagnostic.column, finding.diagnostic.code)


class _Replacer(cst.CSTTransformer):
    """Swap reported nodes for their fixes; a replaced node's children are not
    visited, so overlapping fixes apply in a later round."""

    def __init__(self, replacements: dict[cst.CSTNode, Any]):
        super().__init__()
        self.replacements = replacements

    def on_visit(self, node: cst.CSTNode) -> bool:
        return node not in self.replacements

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> Any:
        return self.replacements.get(original_node, updated_node)


class PendingReports(Reporter):
    """Collects a rule's findings unpositioned: positions are computed afterwards,
    only for files that have findings, and comment suppressions are read from text."""

    def __init__(self) -> None:
        #: (node, message, replacement, enclosing scope)
        self.found: list[tuple[cst.CSTNode, str, Any, str]] = []

    def report(self, rule, node, message, position, replacement):
        self.found.append((node, message, replacement, rule.enclosing_qualname))

    def report_module_fix(self, rule, node, message, new_module):
        # A Module replacement is read as a whole-module fix positioned at `node`,
        # built only if it is applied.
        fix = ModuleFix(new_module) if callable(new_module) else new_module
        self.report(rule, node, message, None, fix)


class _Visitors:
    """A rule's visit_/leave_ methods for `cst.visit_batched`, found once per class:
    libcst's default inspects every attribute of every instance (evaluating
    properties) for every file, and the engine builds rules per file."""

    _names: dict[type, list[str]] = {}

    def __init__(self, rule: Any):
        self.rule = rule

    def get_visitors(self) -> dict[str, Any]:
        cls = type(self.rule)
        names = self._names.get(cls)
        if names is None:
            names = self._names[cls] = [
                name
                for name in dir(cls)
                if name.startswith(("visit_", "leave_"))
                and callable(getattr(cls, name))
                and not getattr(getattr(cls, name), "_is_no_op", False)
            ]
        return {name: getattr(self.rule, name) for name in names}


class FileLinter:
    """Runs a set of rule classes over files of one project."""

    #: Set by the runner for SARIF: give each fixable Diagnostic its replacement
    #: text (one extra transform of the file per fixable finding).
    fix_texts: bool = False
    #: Set by the runner when AM002 is selected: report `# noqa: AM...` codes
    #: that silenced nothing.
    unused_noqa: bool = False

    def __init__(
        self, project: Project, rule_classes: Sequence[type], *, unsafe_fixes: bool = False
    ):
        self.project = project
        self.rule_classes = list(rule_classes)
        self.unsafe_fixes = unsafe_fixes
        for rule_class in self.rule_classes:
            rule_class.prepare(project)

    def _fix_allowed(self, rule_class: type) -> bool:
        return self.unsafe_fixes or not rule_class.UNSAFE_FIX

    def findings(self, path: Path, display: str, source: bytes) -> tuple[list[Finding], cst.Module | None]:
        """Findings for `source` (the content of `path`), suppressions applied."""
        try:
            text = decode_source(source)
        except (SyntaxError, UnicodeDecodeError, LookupError) as e:
            return [Finding(_error(display, f"cannot decode file: {e}"))], None
        suppressions = Suppressions(text.splitlines())
        findings, module = self._rule_findings(path, display, source, text, suppressions)
        ignored = self.project.config.ignored_in(relpath(path, self.project.root))
        if ignored:
            findings = [f for f in findings if not f.diagnostic.code.startswith(ignored)]
        if self.unused_noqa and not any(f.diagnostic.code == PARSE_ERROR for f in findings):
            codes = [rule.CODE for rule in self.rule_classes]
            for line, column, unused in unused_noqa(text, suppressions.used, codes):
                message = f"unused `noqa` directive: {', '.join(unused)} silences nothing on this line"
                findings.append(Finding(Diagnostic(display, line, column, line, column, UNUSED_NOQA, message)))
            findings.sort(key=_order)
        return findings, module

    def _rule_findings(
        self, path: Path, display: str, source: bytes, text: str, suppressions: Suppressions
    ) -> tuple[list[Finding], cst.Module | None]:
        project, module_name = self.project.for_source(path, source)
        summary = project.index.module(module_name) or {}
        if summary.get("error"):
            line, column = summary.get("error_at", (1, 1))
            return [Finding(_error(display, summary["error"], line, column))], None
        # Statements the index could not read (syntax newer than this Python) are
        # reported: the rules see them without the index's facts, so a finding in
        # them, or through them in another file, may be missing.
        unindexed = [Finding(_error(display, _not_indexed(why), line)) for line, why in summary.get("partial", ())]
        wanted = [r for r in self.rule_classes if r.wants_file(project, summary, text)]
        if not wanted:
            return unindexed, None
        try:
            module = cst.parse_module(source)
        except cst.ParserSyntaxError as e:
            message = f"SyntaxError: {e.message}"
            return [Finding(_error(display, message, e.raw_line, e.raw_column + 1))], None
        context = FileContext(project, module_name, path)
        rules = []
        for rule_class in wanted:
            rule = rule_class()
            rule.reporter = PendingReports()
            rule.metadata = {ProjectContextProvider: {module: context}}
            rules.append(rule)
        cst.visit_batched(module, [_Visitors(rule) for rule in rules])
        if not any(rule.reporter.found for rule in rules):
            return unindexed, module
        positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        findings = unindexed
        for rule in rules:
            for node, message, replacement, scope in rule.reporter.found:
                where = positions[node]
                line, column = where.start.line, where.start.column + 1
                if suppressions.suppressed(line, rule.CODE, rule.name):
                    continue
                fix = replacement if self._fix_allowed(type(rule)) else None
                # A Module replacement is a whole-module fix (import edits) for a
                # finding positioned at `node` (ProjectRule.report_with_module_fix).
                fixed_node = module if isinstance(fix, (cst.Module, ModuleFix)) else node
                diagnostic = Diagnostic(
                    display,
                    line,
                    column,
                    where.end.line,
                    where.end.column + 1,
                    rule.CODE,
                    message,
                    fixable=fix is not None,
                    scope=scope,
                    edits=_fix_edits(module, fixed_node, module_fix(fix) or fix, where) if self.fix_texts else None,
                )
                findings.append(Finding(diagnostic, fixed_node, fix))
        findings.sort(key=_order)
        return findings, module

    def lint(self, path: Path, display: str, source: bytes) -> FileResult:
        findings, _ = self.findings(path, display, source)
        return FileResult(path, display, [f.diagnostic for f in findings])

    def fix(self, path: Path, display: str, source: bytes) -> FileResult:
        """Apply fixes until none is left (or MAX_FIX_ROUNDS); report what remains.

        A round whose result does not compile is discarded, and the findings it
        tried to fix are reported unfixed.
        """
        current = source
        applied: list[Diagnostic] = []
        #: the findings of `current` once a round stops (every `break` below
        #: comes before `current` changes): not linted a second time
        remaining: list[Finding] | None = None
        for _ in range(MAX_FIX_ROUNDS):
            findings, module = self.findings(path, display, current)
            remaining = findings
            fixing = [f for f in findings if f.replacement is not None]
            # Whole-module fixes each start from the unfixed module: one per round.
            try:
                whole = [f for f in fixing if module_fix(f.replacement) is not None]
                fixing = whole[:1] or fixing
                fixable = {f.node: module_fix(f.replacement) or f.replacement for f in fixing}
                if not fixable or module is None:
                    break
                candidate = module.visit(_Replacer(fixable)).bytes
            except Exception:  # noqa: BLE001 - LibCST cannot build this fix (an
                # indentation it cannot reproduce): the findings stay, unfixed
                break
            if candidate == current or not _valid_rewrite(candidate, current, path):
                break
            current = candidate
            remaining = None
            applied += [f.diagnostic for f in fixing]
        if remaining is None:
            remaining, _ = self.findings(path, display, current)
        diagnostics = [f.diagnostic for f in remaining]
        if current == source:
            return FileResult(path, display, diagnostics)
        return FileResult(path, display, diagnostics, current, len(applied), source, applied)


def _fix_edits(
    module: cst.Module, node: cst.CSTNode, replacement: Any, where: Any
) -> tuple[TextEdit, ...] | None:
    """The fix of one finding as text edits (for SARIF), taken from the fixed file
    rather than rendered from the replacement node alone: a node renders its nested
    blocks without the indentation of where it sits.

    Usually one edit of the finding's own span; a fix that reaches beyond it (an
    added import, a removed line) is given as the changed lines.
    """
    if replacement is None:
        return None
    before = module.code
    after = module.visit(_Replacer({node: replacement})).code
    lines = before.splitlines(keepends=True)
    start = sum(len(line) for line in lines[: where.start.line - 1]) + where.start.column
    end = sum(len(line) for line in lines[: where.end.line - 1]) + where.end.column
    tail = len(before) - end
    if after[:start] == before[:start] and after[len(after) - tail :] == before[end:]:
        text = after[start : len(after) - tail]
        return (TextEdit(where.start.line, where.start.column + 1, where.end.line, where.end.column + 1, text),)
    new_lines = after.splitlines(keepends=True)
    edits = []
    matcher = difflib.SequenceMatcher(None, lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            # line i (0-based) starts at (i + 1, 1); the end of the file is the
            # start of the line after the last
            edits.append(TextEdit(i1 + 1, 1, i2 + 1, 1, "".join(new_lines[j1:j2])))
    return tuple(edits)


def _valid_rewrite(candidate: bytes, before: bytes, path: Path) -> bool:
    """A fix is kept only if its result compiles (newer syntax in its downlevel
    form), or, for a file that did not compile before either, if it breaks nothing
    more."""
    if syntax.compile_error(candidate, str(path)) is None:
        return True
    return syntax.compile_error(before, str(path)) is not None and _lib_parses(candidate)


def _lib_parses(source: bytes) -> bool:
    try:
        cst.parse_module(source)
    except cst.ParserSyntaxError:
        return False
    return True
