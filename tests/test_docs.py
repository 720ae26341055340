"""The README's rule table is generated from the rules and must be current."""

import inspect
import re

from conftest import REPO
from lint_rules import ALL_RULES
from asyncmigrate.swaps import swap_table
from lint_rules.docs import rule_table

SECTIONS = ["## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Fix safety"]


def test_readme_rule_table_is_current():
    readme = (REPO / "README.md").read_text()
    match = re.search(r"<!-- rules-table:start[^>]*-->\n(.*?)\n<!-- rules-table:end -->", readme, re.S)
    assert match, "README.md lacks the rules-table markers"
    assert match.group(1) == rule_table(markdown=True), (
        "README rule table is stale: paste `asyncmigrate rules --format markdown` between the markers"
    )


def test_readme_swap_table_is_current():
    readme = (REPO / "README.md").read_text()
    match = re.search(r"<!-- swaps-table:start[^>]*-->\n(.*?)\n<!-- swaps-table:end -->", readme, re.S)
    assert match, "README.md lacks the swaps-table markers"
    assert match.group(1) == swap_table(), (
        "README swap table is stale: run `python -m lint_rules.docs README.md`"
    )


def test_every_rule_documents_itself_like_ruff():
    codes = [rule.CODE for rule in ALL_RULES]
    assert len(codes) == len(set(codes))
    for rule in ALL_RULES:
        doc = inspect.getdoc(rule) or ""
        positions = [doc.find(section) for section in SECTIONS]
        assert -1 not in positions, f"{rule.__name__} lacks a section"
        assert positions == sorted(positions), f"{rule.__name__} sections out of order"
        assert re.fullmatch(r"AM\d{3}", rule.CODE)
        assert rule.VALID and rule.INVALID
