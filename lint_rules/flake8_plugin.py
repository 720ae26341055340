"""flake8 adapter (`flake8 --select AM`): the same engine and project index as
`python -m lint_rules`, findings converted to flake8's tuples. It owns no logic.

flake8 hands plugins one file at a time; the project that file belongs to (found
upward from it, configured by its `[tool.asyncmigrate]`) is loaded once per process
from the cached index, so cross-module rules see the whole project here too.
flake8 applies `# noqa` itself; the engine applies it and `# lint-ignore` as well.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator

from asyncmigrate import __version__
from asyncmigrate.fileio import read_source

from .runner import linter_for


class AsyncMigrateChecker:
    name = "asyncmigrate"
    version = __version__

    # flake8 classifies a plugin by its parameters: asking for `tree` makes this an
    # AST plugin, run once per file. The tree itself is not used: the rules need
    # LibCST's, which the engine builds.
    def __init__(self, tree: ast.AST, filename: str, lines: list[str]):
        self.filename = filename
        self.lines = lines

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        path = Path(self.filename)
        if path.is_file():
            source = read_source(path)
        else:  # stdin: flake8 has already decoded it
            path = Path.cwd() / (path.name if path.suffix == ".py" else "stdin.py")
            source = "".join(self.lines).encode("utf-8")
        result = linter_for(path).lint(path, self.filename, source)
        for d in result.diagnostics:
            yield d.line, d.column - 1, f"{d.code} {d.message}", type(self)
