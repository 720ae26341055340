"""Comment suppressions: flake8's `# noqa` and Fixit's `# lint-ignore`.

`# noqa` silences every finding on its line, `# noqa: AM101,AM102` only those codes
(flake8 semantics). `# lint-ignore: RuleName` (or `lint-fixme`) works on the line of
the finding or on comment lines directly above it, as in Fixit.
"""

from __future__ import annotations

import re

NOQA = re.compile(
    r"#\s*noqa(?::[\s]?(?P<codes>[A-Z][A-Z0-9]*(?:[,\s]+[A-Z][A-Z0-9]*)*))?",
    re.IGNORECASE,
)
LINT_IGNORE = re.compile(r"#\s*lint-(?:ignore|fixme)(?:(?::\s*|\s+)(?P<names>\w+(?:,\s*\w+)*))?")


class Suppressions:
    def __init__(self, lines: list[str]):
        self.lines = lines

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
        return any(code.startswith(c.upper()) for c in re.split(r"[,\s]+", codes) if c)

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
