"""Every asyncmigrate rule, one Fixit `LintRule` per file, in one folder per family.

The families follow the code ranges: `coroutines` (AM1xx), `blocking` (AM2xx),
`state` (AM3xx), `loop` (AM4xx), `gather` (AM5xx). Each family's `__init__` lists its
rules; a file that is not a rule is that family's helper.
"""

from . import blocking, coroutines, gather, loop, state

#: Every rule, in code order. The runner, the flake8 adapter and the docs read this.
ALL_RULES = tuple(
    sorted(
        coroutines.RULES + blocking.RULES + state.RULES + loop.RULES + gather.RULES,
        key=lambda rule: rule.CODE,
    )
)
