"""The rules' documentation, read from their docstrings by one function (`rule_doc`),
so that `asyncmigrate rule`, the README rule table (`asyncmigrate rules`) and SARIF's
rule descriptors cannot drift apart."""

from __future__ import annotations

import difflib
import inspect
import re
from dataclasses import dataclass
from typing import Any

from . import ALL_RULES
from .diagnostics import INTERNAL_ERROR, PARSE_ERROR, UNUSED_NOQA


@dataclass(frozen=True)
class RuleDoc:
    """One code's documentation. `explanation` is the docstring as written: markdown
    with Ruff's sections (What it does / Why is this bad? / Example / Use instead /
    Fix safety)."""

    code: str
    name: str
    explanation: str
    #: "safe", "unsafe" (only with `--unsafe-fixes`) or "no"
    fix: str
    default_enabled: bool

    def section(self, title: str) -> str:
        """A section's text on one line (whitespace collapsed); "" when absent."""
        match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", self.explanation, re.S | re.M)
        return " ".join(match.group(1).split()) if match else ""

    @property
    def summary(self) -> str:
        """The first sentence of "What it does"."""
        sentence = re.split(r"(?<=[.:])\s", self.section("What it does"), maxsplit=1)[0]
        return sentence.rstrip(":.") + "."

    @property
    def description(self) -> str:
        """What it does and why that is a problem, on one line (SARIF's full description)."""
        return " ".join(
            text for text in (self.section("What it does"), self.section("Why is this bad?")) if text
        )

    def text(self) -> str:
        """`asyncmigrate rule CODE`: a heading, fix and default status, the explanation
        (as `ruff rule` prints it)."""
        fix = {
            "safe": "Fix is available: `--fix` applies it.",
            "unsafe": "Fix is available with `--fix --unsafe-fixes` (it can change behaviour).",
        }.get(self.fix, "No fix is available.")
        default = (
            "Enabled by default."
            if self.default_enabled
            else f"Off by default: enable it with its exact code (`--select {self.code}`)."
        )
        return f"# {self.name} ({self.code})\n\n{fix}\n{default}\n\n{self.explanation.strip()}\n"

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "summary": self.summary,
            "fix": self.fix,
            "default_enabled": self.default_enabled,
            "explanation": self.explanation.strip(),
        }


def rule_doc(rule: type) -> RuleDoc:
    """The documentation of a rule class (or of a framework code below)."""
    if not getattr(rule, "AUTOFIX", False):
        fix = "no"
    else:
        fix = "unsafe" if getattr(rule, "UNSAFE_FIX", False) else "safe"
    return RuleDoc(
        code=rule.CODE,
        name=rule.__name__,
        explanation=inspect.getdoc(rule) or "",
        fix=fix,
        default_enabled=getattr(rule, "DEFAULT_ENABLED", True),
    )


# Codes the framework reports rather than a rule class; documented the same way so
# `asyncmigrate rule AM001` and `--statistics` can name them.


class ParseError:
    """
    ## What it does
    Reports a file that cannot be read, decoded or parsed: a syntax error, a wrong or
    unknown encoding, a binary file named `.py`, an unreadable file, a dangling
    symlink. The message gives the reason (for a syntax error, the parser's message
    and position).

    ## Why is this bad?
    No other rule can run on the file, so a gate that skipped it quietly would pass
    without having checked it. The run goes on with the other files.

    ## Example
    ```python
    def broken(:
        pass
    ```

    ## Use instead
    ```python
    def repaired():
        pass
    ```

    ## Fix safety
    There is no fix: the file has to be repaired by hand.
    """

    CODE = PARSE_ERROR


class UnusedNoqa:
    """
    ## What it does
    Reports a `# noqa: AM...` code that silences nothing on its line (Ruff's RUF100).
    Only codes of rules that ran are judged: another tool's code (`E501`) or a rule
    that was not selected is left alone.

    ## Why is this bad?
    A stale suppression outlives the finding it was written for and silently hides
    the next real finding on that line.

    ## Example
    ```python
    async def nap():
        await asyncio.sleep(1)  # noqa: AM201
    ```

    ## Use instead
    ```python
    async def nap():
        await asyncio.sleep(1)
    ```

    ## Fix safety
    There is no fix: delete the code (or the whole comment) by hand.
    """

    CODE = UNUSED_NOQA
    DEFAULT_ENABLED = False


class InternalError:
    """
    ## What it does
    Reports a file that could not be checked because asyncmigrate itself failed on
    it: a rule or the parser library raised an unexpected exception. The message
    names the exception and where it was raised.

    ## Why is this bad?
    The file was not checked, so a gate must not pass as if it had been; the other
    files are still checked. It is a bug in asyncmigrate, not in your code: please
    report it, with the file (or a reduced copy) that triggers it.

    ## Example
    ```python
    class C:
    \f\tpass  # a form feed before the indentation once crashed a fix
    ```

    ## Use instead
    Nothing to change in your code: report the bug. A `# noqa` cannot silence it,
    since the rules never finished reading the file.

    ## Fix safety
    There is no fix.
    """

    CODE = INTERNAL_ERROR


FRAMEWORK_CODES = (ParseError, UnusedNoqa, InternalError)


def rule_docs() -> list[RuleDoc]:
    """Every documented code, in code order."""
    return sorted((rule_doc(rule) for rule in (*FRAMEWORK_CODES, *ALL_RULES)), key=lambda d: d.code)


def find(query: str) -> RuleDoc | None:
    """The documentation of a code (`am101` too) or a rule name (`UnawaitedCoroutine`)."""
    wanted = query.strip().upper()
    return next((d for d in rule_docs() if wanted in (d.code, d.name.upper())), None)


def close_matches(query: str) -> list[str]:
    """The known codes that look like `query` (a code or a rule name), for "did you
    mean": the codes it begins first (`AM10` is most likely AM101), then difflib's."""
    docs = rule_docs()
    wanted = query.strip().upper()
    by_key = {**{d.name.upper(): d.code for d in docs}, **{d.code: d.code for d in docs}}
    prefixed = [d.code for d in docs if wanted and d.code.startswith(wanted)]
    similar = difflib.get_close_matches(wanted, list(by_key), n=3, cutoff=0.6)
    return list(dict.fromkeys([*prefixed, *(by_key[key] for key in similar)]))[:3]


def name_of(code: str) -> str:
    """A code's rule name; "" for a code nobody documents."""
    return next((d.name for d in rule_docs() if d.code == code), "")


def rule_table(markdown: bool = True) -> str:
    """The rules (not the framework codes) as a table; the README embeds it."""
    rows = [
        (d.code, d.name, d.summary, d.fix, "" if d.default_enabled else "off by default")
        for d in map(rule_doc, ALL_RULES)
    ]
    if not markdown:
        return "\n".join(f"{c}  {n:<28} fix: {f:<6} {s} {d}".rstrip() for c, n, s, f, d in rows)
    lines = ["| code | rule | finds | fix |", "|---|---|---|---|"]
    for code, name, text, fix, default in rows:
        note = f" ({default})" if default else ""
        text = text.replace("|", r"\|")
        lines.append(f"| {code} | `{name}` | {text}{note} | {fix} |")
    return "\n".join(lines)

START = "<!-- rules-table:start"
END = "<!-- rules-table:end -->"


SWAPS_START = "<!-- swaps-table:start"
SWAPS_END = "<!-- swaps-table:end -->"


def _between(text: str, start: str, end: str, table: str) -> str:
    head, _, rest = text.partition(start)
    marker, _, rest = rest.partition("\n")
    _, _, tail = rest.partition(end)
    return f"{head}{start}{marker}\n{table}\n{end}{tail}"


def update_readme(text: str) -> str:
    """`text` with the generated tables (rules, library swaps) regenerated."""
    from asyncmigrate.swaps import swap_table

    text = _between(text, START, END, rule_table(markdown=True))
    return _between(text, SWAPS_START, SWAPS_END, swap_table())


if __name__ == "__main__":  # python -m lint_rules.docs README.md
    import sys
    from pathlib import Path

    readme = Path(sys.argv[1])
    readme.write_text(update_readme(readme.read_text()))
