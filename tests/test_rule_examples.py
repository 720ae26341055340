"""Every rule's VALID and INVALID examples (with expected fixes) run as tests, through
Fixit's own harness, so the documentation examples can never be wrong."""

from fixit.testing import add_lint_rule_tests_to_module

from lint_rules import ALL_RULES

add_lint_rule_tests_to_module(globals(), [rule() for rule in ALL_RULES])
