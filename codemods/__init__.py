"""LibCST codemods: `asyncify` (sync call chains to async) and the rule fixers."""
