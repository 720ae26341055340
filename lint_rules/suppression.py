"""Comment suppressions: flake8's `# noqa` and Fixit's `# lint-ignore`.

`# noqa` silences every finding on its line, `# noqa: AM101,AM102` only those codes
(flake8 semantics). `# lint-ignore: RuleName` (or `lint-fixme`) works on the line of
the finding or on comment lines directly above it, as in Fixit.
"""

from __future__ import annotations

import io
import re
import tokenize
from typing import Iterable, Iterator

NOQA = re.compile(
    r"#\s*noqa(?::[\s]?(?P<codes>[A-Z][A-Z0-9]*(?:[,\s]+[A-Z][A-Z0-9]*)*))?",
    re.IGNORECASE,
)
LINT_IGNORE = re.compile(r"#\s*lint-(?:ignore|fixme)(?:(?::\s*|\s+)(?P<names>\w+(?:,\s*\w+)*))?")


class Suppressions:
    def __init__(self, lines: list[str]):
        self.lines = lines
        #: (line, code prefix written in a `# noqa: ...`) that silenced a finding
        self.used: set[tuple[int, str]] = set()

    def _line(self, number: int) -> str:
        return self.lines[number - 1] if 0 < number <= len(self.lines) else ""

    def noqa(self, line: int, code: str) -> bool:
        if "#" not in self._line(line):
            return False
        match = NOQA.search(self._line(line))
        if match is None:
            return False
        codes = match.group("codes")
        if not codes:
            return True
        matching = [c.upper() for c in re.split(r"[,\s]+", codes) if c and code.startswith(c.upper())]
        self.used.update((line, c) for c in matching)
        return bool(matching)

    def lint_ignore(self, line: int, rule_name: str) -> bool:
        candidates = [self._line(line)]
        above = line - 1
        while above > 0 and self._line(above).lstrip().startswith("#"):
            candidates.append(self._line(above))
            above -= 1
        for text in candidates:
            match = LINT_IGNORE.search(text)
            if match is None:
                continue
            names = match.group("names")
            if not names:
                return True
            wanted = {rule_name, rule_name.lower()}
            for name in (n.strip() for n in names.split(",")):
                if name.removesuffix("Rule") in wanted:
                    return True
        return False

    def suppressed(self, line: int, code: str, rule_name: str) -> bool:
        """Whether a finding that starts on `line` is silenced by a comment."""
        return self.noqa(line, code) or self.lint_ignore(line, rule_name)


def noqa_comments(text: str) -> Iterator[tuple[int, int, list[str]]]:
    """(line, column, codes) of every `# noqa: CODES` comment: real comments only
    (from the tokenizer), not text inside strings; 1-based positions."""
    if "noqa" not in text.lower():
        return
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        match = NOQA.search(token.string)
        if match is None or not match.group("codes"):
            continue
        codes = [c.upper() for c in re.split(r"[,\s]+", match.group("codes")) if c]
        yield token.start[0], token.start[1] + match.start() + 1, codes


def unused_noqa(text: str, used: set[tuple[int, str]], checked: Iterable[str]) -> Iterator[tuple[int, int, list[str]]]:
    """`# noqa` codes that silenced nothing, among those asyncmigrate owns and ran:
    a code of another tool (flake8's E501) or of a rule not selected is not ours
    to judge."""
    checked = tuple(checked)
    for line, column, codes in noqa_comments(text):
        unused = [
            c for c in codes
            if (line, c) not in used and any(code.startswith(c) for code in checked)
        ]
        if unused:
            yield line, column, unused
