"""The rule table, generated from the rules themselves so the docs cannot drift."""

from __future__ import annotations

import inspect
import re

from . import ALL_RULES


def _section(doc: str, title: str) -> str:
    match = re.search(rf"## {re.escape(title)}\n(.*?)(?=\n## |\Z)", doc, re.S)
    return " ".join(match.group(1).split()) if match else ""


def summary(rule: type) -> str:
    """The first sentence of the rule's "What it does" section."""
    text = _section(inspect.getdoc(rule) or "", "What it does")
    sentence = re.split(r"(?<=[.:])\s", text, maxsplit=1)[0]
    return sentence.rstrip(":.") + "."


def fix_kind(rule: type) -> str:
    if not getattr(rule, "AUTOFIX", False):
        return "no"
    return "unsafe" if rule.UNSAFE_FIX else "safe"


def rule_table(markdown: bool = True) -> str:
    rows = [
        (rule.CODE, rule.__name__, summary(rule), fix_kind(rule),
         "" if rule.DEFAULT_ENABLED else "off by default")
        for rule in ALL_RULES
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


def update_readme(text: str) -> str:
    """`text` with the table between the rules-table markers regenerated."""
    head, _, rest = text.partition(START)
    marker, _, rest = rest.partition("\n")
    _, _, tail = rest.partition(END)
    return f"{head}{START}{marker}\n{rule_table(markdown=True)}\n{END}{tail}"


if __name__ == "__main__":  # python -m lint_rules.docs README.md
    import sys
    from pathlib import Path

    readme = Path(sys.argv[1])
    readme.write_text(update_readme(readme.read_text()))
