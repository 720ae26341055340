"""A finding as every output format, the baseline and the flake8 adapter see it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(order=True)
class Diagnostic:
    """One finding. Lines and columns are 1-based; `path` is as the user named it."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    code: str
    message: str
    fixable: bool = False
    #: the enclosing function's qualified name ("" at module level); baseline key
    scope: str = field(default="", compare=False)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["scope"]
        return data

    def text(self) -> str:
        mark = " [*]" if self.fixable else ""
        return f"{self.path}:{self.line}:{self.column}: {self.code}{mark} {self.message}"


#: The code of a file that cannot be read or parsed. Other rules cannot run on it.
PARSE_ERROR = "AM001"
