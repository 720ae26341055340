"""A finding as every output format, the baseline and the flake8 adapter see it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple


class TextEdit(NamedTuple):
    """Replace line:column up to (not including) end_line:end_column with `text`;
    1-based, columns in code points."""

    line: int
    column: int
    end_line: int
    end_column: int
    text: str


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
    #: the fix as text edits of the file (None when there is no fix, or the run
    #: did not ask for them); SARIF `fixes`
    edits: tuple[TextEdit, ...] | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["scope"], data["edits"]
        return data

    def text(self) -> str:
        mark = " [*]" if self.fixable else ""
        return f"{self.path}:{self.line}:{self.column}: {self.code}{mark} {self.message}"


#: The code of a file that cannot be read or parsed. Other rules cannot run on it.
PARSE_ERROR = "AM001"
#: A `# noqa: AM...` that suppresses nothing (Ruff's RUF100); off by default.
UNUSED_NOQA = "AM002"
#: An unexpected exception while checking one file (a rule's or LibCST's bug): the
#: file is reported as not checked, and the run goes on with the others.
INTERNAL_ERROR = "AM003"
